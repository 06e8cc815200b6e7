//! Lightning `CSVLogger`'s `metrics.csv`: the one reader of the format ([`MetricsCsv`], with the
//! csv crate, so quoting and escaping are read as Python's csv module writes them) and the one
//! reading of the cumulative counters Lightning's `ThroughputMonitor` logs ([`TrainCounters`]).
//! `ocrperf throughput` and the regression gate both read through them.
//!
//! The header is the union of every key logged (Lightning rewrites the file when a new key
//! appears); rows are sparse, an empty cell meaning "not logged in this row".

use std::io::{self, BufRead, Read};

use crate::{MAX_STEP_SECONDS, text::MAX_LINE};

/// Lightning `ThroughputMonitor`'s cumulative seconds of training.
pub const TRAIN_TIME: &str = "train/time";
/// Lightning `ThroughputMonitor`'s cumulative batches.
pub const TRAIN_BATCHES: &str = "train/batches";
/// Lightning `ThroughputMonitor`'s cumulative samples.
pub const TRAIN_SAMPLES: &str = "train/samples";

/// The most batches one logged row may close: Lightning logs every few dozen steps, so more
/// than this between two rows is a damaged file, not a run.
pub const MAX_BATCHES_PER_ROW: u64 = 10_000_000;

/// Why a `metrics.csv` could not be read on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CsvError {
    /// Reading failed (a cut-short gzip stream, a device error, a stop request).
    #[error("line {line}: cannot read on: {cause}")]
    Io {
        /// 1-based line.
        line: u64,
        /// Byte offset of the line's start.
        offset: u64,
        /// The I/O error.
        #[source]
        cause: io::Error,
    },
    /// The text is not a CSV table.
    #[error("line {line}: {message}")]
    Malformed {
        /// 1-based line.
        line: u64,
        /// Byte offset of the line's start.
        offset: u64,
        /// What is wrong, one sentence.
        message: String,
    },
}

/// One row and where it was.
#[derive(Debug)]
pub struct Row<'a> {
    record: &'a csv::StringRecord,
    /// 1-based line of the row's start.
    pub line: u64,
    /// Byte offset of the row's start.
    pub offset: u64,
}

impl<'a> Row<'a> {
    /// The cell of `column` (empty when not logged in this row).
    pub fn get(&self, column: usize) -> &'a str {
        self.record.get(column).unwrap_or_default()
    }

    /// Every cell, in column order.
    pub fn cells(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.record.iter()
    }
}

/// A `metrics.csv` read row by row: its header first, every line at most [`MAX_LINE`] bytes,
/// each row with its line (a byte-order mark is consumed by the opener,
/// [`decode`](crate::text::decode)).
pub struct MetricsCsv<R> {
    csv: csv::Reader<LineLimit<R>>,
    columns: Vec<String>,
    record: csv::StringRecord,
    last_line: u64,
}

impl<R> std::fmt::Debug for MetricsCsv<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsCsv").field("columns", &self.columns).field("line", &self.last_line).finish()
    }
}

impl<R: BufRead> MetricsCsv<R> {
    /// Reads the header of `reader` (opened with [`open_input`](crate::text::open_input)).
    ///
    /// # Errors
    /// [`CsvError`] when the header cannot be read.
    pub fn new(reader: R) -> Result<Self, CsvError> {
        let mut csv =
            csv::ReaderBuilder::new().has_headers(true).from_reader(LineLimit { inner: reader, since_newline: 0 });
        let columns = csv.headers().map_err(|err| csv_error(err, 1))?.iter().map(str::to_owned).collect();
        Ok(MetricsCsv { csv, columns, record: csv::StringRecord::new(), last_line: 1 })
    }

    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The index of the column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|column| column == name)
    }

    /// Where `ThroughputMonitor`'s three counters are; `None` unless the file has all three.
    pub fn counter_columns(&self) -> Option<CounterColumns> {
        Some(CounterColumns {
            time: self.column(TRAIN_TIME)?,
            batches: self.column(TRAIN_BATCHES)?,
            samples: self.column(TRAIN_SAMPLES)?,
        })
    }

    /// The next row, or `None` at the end of the file.
    ///
    /// # Errors
    /// [`CsvError`] with the line: a row with another number of fields than the header, text
    /// that is not UTF-8, a line over [`MAX_LINE`], a failed read.
    pub fn next_row(&mut self) -> Result<Option<Row<'_>>, CsvError> {
        let next_line = self.last_line + 1;
        match self.csv.read_record(&mut self.record) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(err) => return Err(csv_error(err, next_line)),
        }
        // The csv crate gives the first record after the header the header's own position; a
        // record is always at least one line after the previous one.
        let (line, offset) =
            self.record.position().map_or((next_line, 0), |position| (position.line().max(next_line), position.byte()));
        self.last_line = line;
        Ok(Some(Row { record: &self.record, line, offset }))
    }
}

fn csv_error(err: csv::Error, line_if_unknown: u64) -> CsvError {
    let (line, offset) =
        err.position().map_or((line_if_unknown, 0), |position| (position.line().max(1), position.byte()));
    let malformed = |message: String| CsvError::Malformed { line, offset, message };
    let text = err.to_string();
    match err.into_kind() {
        csv::ErrorKind::Io(cause) if cause.get_ref().is_some_and(|inner| inner.is::<LineTooLong>()) => {
            malformed(LineTooLong.to_string())
        }
        csv::ErrorKind::Io(cause) => CsvError::Io { line, offset, cause },
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            malformed(format!("row has {len} fields, the header has {expected_len}"))
        }
        csv::ErrorKind::Utf8 { .. } => malformed("not UTF-8 text".to_owned()),
        _ => malformed(text),
    }
}

/// A line past [`MAX_LINE`] bytes, as the error [`LineLimit`] stops the csv parser with.
#[derive(Debug, thiserror::Error)]
#[error("line longer than {} MiB; is this the right file?", MAX_LINE >> 20)]
struct LineTooLong;

/// Fails a read once a line grows past [`MAX_LINE`]: the csv parser would otherwise buffer a
/// file without newlines whole.
struct LineLimit<R> {
    inner: R,
    since_newline: usize,
}

impl<R: BufRead> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        for &byte in &buf[..read] {
            if byte == b'\n' {
                self.since_newline = 0;
            } else {
                self.since_newline += 1;
            }
        }
        if self.since_newline > MAX_LINE {
            return Err(io::Error::new(io::ErrorKind::InvalidData, LineTooLong));
        }
        Ok(read)
    }
}

/// The columns of `ThroughputMonitor`'s counters in a file ([`MetricsCsv::counter_columns`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterColumns {
    /// `train/time`.
    pub time: usize,
    /// `train/batches`.
    pub batches: usize,
    /// `train/samples`.
    pub samples: usize,
}

/// Batches that one logged row of the `ThroughputMonitor` counters closes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Batches since the previous row.
    pub batches: u64,
    /// Their mean seconds per batch (at most [`MAX_STEP_SECONDS`]).
    pub seconds_per_batch: f64,
    /// Samples per batch (the interval's samples over its batches, rounded down).
    pub samples_per_batch: u64,
}

/// What one logged row of the counters means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CounterRow {
    /// `train/time` and `train/batches` both went back: a new fit in the same file, and the
    /// counters start again from zero before this row.
    pub restart: bool,
    /// The batches this row closes; `None` when no batch or no time passed since the last.
    pub interval: Option<Interval>,
}

/// The cumulative counters of Lightning's `ThroughputMonitor` (`train/time`, `train/batches`,
/// `train/samples`), turned into intervals of batches with the checks every reader makes: a
/// counter that goes back alone is a contradiction, an interval of more than
/// [`MAX_BATCHES_PER_ROW`] batches is damage, and a batch over [`MAX_STEP_SECONDS`] is
/// refused, never clamped.
#[derive(Debug, Clone, Default)]
pub struct TrainCounters {
    time: f64,
    batches: u64,
    samples: u64,
}

impl TrainCounters {
    /// A counter cell as a number: finite and not negative (Lightning may write counts as
    /// `5.0`).
    ///
    /// # Errors
    /// A sentence naming the column and the cell.
    pub fn parse(name: &str, raw: &str) -> Result<f64, String> {
        match raw.parse::<f64>() {
            Ok(value) if value.is_finite() && value >= 0.0 => Ok(value),
            _ => Err(format!("bad {name} `{raw}` (a finite number, not negative)")),
        }
    }

    /// Takes one row of the file, the one rule for a row's counters that every reader applies:
    /// a row without `train/time` logs no counters (a validation row) and is passed over
    /// (`Ok(None)`); a row with it must have all three counters as finite numbers, not negative
    /// (an empty, NaN or negative `train/batches` or `train/samples` is an error, never skipped),
    /// and then goes through [`advance`](Self::advance).
    ///
    /// # Errors
    /// A sentence naming the column and the cell, or what [`advance`](Self::advance) refuses,
    /// for the caller to put after the file and `row.line`.
    pub fn advance_row(&mut self, row: &Row<'_>, columns: CounterColumns) -> Result<Option<CounterRow>, String> {
        let time = row.get(columns.time);
        if time.is_empty() {
            return Ok(None);
        }
        let time = Self::parse(TRAIN_TIME, time)?;
        // Lightning may write counts as `5.0`; a fraction is cut off.
        let batches = Self::parse(TRAIN_BATCHES, row.get(columns.batches))? as u64;
        let samples = Self::parse(TRAIN_SAMPLES, row.get(columns.samples))? as u64;
        self.advance(time, batches, samples).map(Some)
    }

    /// Takes one logged row's counters.
    ///
    /// # Errors
    /// A sentence saying what is wrong, for the caller to put after the file and line.
    pub fn advance(&mut self, time: f64, batches: u64, samples: u64) -> Result<CounterRow, String> {
        let (time_back, batches_back) = (time < self.time, batches < self.batches);
        let restart = time_back && batches_back;
        if restart {
            *self = TrainCounters::default();
        } else if time_back || batches_back || (samples < self.samples && batches > self.batches) {
            let (name, before, after) = if time_back {
                (TRAIN_TIME, crate::format_number(self.time), crate::format_number(time))
            } else if batches_back {
                (TRAIN_BATCHES, self.batches.to_string(), batches.to_string())
            } else {
                (TRAIN_SAMPLES, self.samples.to_string(), samples.to_string())
            };
            return Err(format!(
                "{name} goes back from {before} to {after} while the other counters go on; these columns only \
                 grow (a restart resets {TRAIN_TIME} and {TRAIN_BATCHES} together)"
            ));
        }
        let new_batches = batches - self.batches;
        if new_batches > MAX_BATCHES_PER_ROW {
            return Err(format!(
                "{new_batches} batches since the previous row; more than {MAX_BATCHES_PER_ROW} is not a real log"
            ));
        }
        let interval = if new_batches > 0 && time > self.time {
            let seconds_per_batch = (time - self.time) / new_batches as f64;
            if seconds_per_batch > MAX_STEP_SECONDS {
                return Err(format!(
                    "{} s per batch, beyond the limit of {MAX_STEP_SECONDS} s (one hour)",
                    crate::format_number(seconds_per_batch)
                ));
            }
            let samples_per_batch = (samples - self.samples.min(samples)) / new_batches;
            Some(Interval { batches: new_batches, seconds_per_batch, samples_per_batch })
        } else {
            None
        };
        *self = TrainCounters { time, batches, samples };
        Ok(CounterRow { restart, interval })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Result<Vec<(u64, Vec<String>)>, String> {
        let mut csv = MetricsCsv::new(text.as_bytes()).map_err(|err| err.to_string())?;
        let mut seen = Vec::new();
        while let Some(row) = csv.next_row().map_err(|err| err.to_string())? {
            seen.push((row.line, row.cells().map(str::to_owned).collect()));
        }
        Ok(seen)
    }

    /// Each row's counter outcome: `None` passed over, the batches it closed, or the error.
    fn counter_rows(text: &str) -> Vec<Result<Option<u64>, String>> {
        let mut csv = MetricsCsv::new(text.as_bytes()).unwrap();
        let columns = csv.counter_columns().unwrap();
        let mut counters = TrainCounters::default();
        let mut seen = Vec::new();
        while let Some(row) = csv.next_row().unwrap() {
            let outcome = counters.advance_row(&row, columns);
            seen.push(outcome.map(|step| step.map(|step| step.interval.map_or(0, |interval| interval.batches))));
        }
        seen
    }

    #[test]
    fn a_row_with_train_time_needs_every_counter() {
        let header = "epoch,step,train/time,train/batches,train/samples,val/loss\n";
        assert_eq!(
            counter_rows(&format!("{header}0,9,5,10,80,\n0,9,,,,0.5\n0,19,10,20.0,160,\n")),
            [Ok(Some(10)), Ok(None), Ok(Some(10))]
        );
        let bad = |cells: &str| counter_rows(&format!("{header}{cells}\n")).remove(0).unwrap_err();
        assert_eq!(bad("0,9,5,,80,"), "bad train/batches `` (a finite number, not negative)");
        assert_eq!(bad("0,9,5,10,nan,"), "bad train/samples `nan` (a finite number, not negative)");
        assert_eq!(bad("0,9,5,-1,80,"), "bad train/batches `-1` (a finite number, not negative)");
        assert_eq!(bad("0,9,nan,10,80,"), "bad train/time `nan` (a finite number, not negative)");
        assert_eq!(MetricsCsv::new("step,train/time\n".as_bytes()).unwrap().counter_columns(), None);
    }

    #[test]
    fn rows_come_with_their_lines_and_quoting_is_python_s() {
        // Through the opener, which consumes the byte-order mark.
        let (reader, _) =
            crate::text::decode("\u{feff}epoch,step,\"a,b\"\n0,1,2\n0,2,\"x\ny\"\n0,3,\n".as_bytes()).unwrap();
        let csv = MetricsCsv::new(reader).unwrap();
        assert_eq!(csv.columns(), ["epoch", "step", "a,b"]);
        assert_eq!(csv.column("a,b"), Some(2));
        let seen = rows("epoch,step,\"a,b\"\n0,1,2\n0,2,\"x\ny\"\n0,3,\n").unwrap();
        let lines: Vec<u64> = seen.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [2, 3, 5]);
        assert_eq!(seen[1].1, ["0", "2", "x\ny"]);
        assert_eq!(rows("step,a,b\n1,2,3\n2,4\n").unwrap_err(), "line 3: row has 2 fields, the header has 3");
        let long = format!("step,a\n{}", "9".repeat(MAX_LINE + 10));
        assert_eq!(rows(&long).unwrap_err(), "line 2: line longer than 1 MiB; is this the right file?");
    }

    #[test]
    fn counters_become_intervals_and_restarts() {
        let mut counters = TrainCounters::default();
        let row = counters.advance(5.0, 10, 80).unwrap();
        assert_eq!(
            row,
            CounterRow {
                restart: false,
                interval: Some(Interval { batches: 10, seconds_per_batch: 0.5, samples_per_batch: 8 })
            }
        );
        assert_eq!(counters.advance(5.0, 10, 80).unwrap(), CounterRow { restart: false, interval: None });
        let row = counters.advance(2.0, 4, 32).unwrap();
        assert!(row.restart);
        assert_eq!(row.interval.map(|i| i.batches), Some(4));
        assert!(counters.advance(1.0, 8, 64).unwrap_err().starts_with("train/time goes back from 2 to 1"));
    }

    #[test]
    fn a_batch_over_an_hour_is_refused() {
        let mut counters = TrainCounters::default();
        assert_eq!(
            counters.advance(7200.5, 2, 16).unwrap_err(),
            "3600.25 s per batch, beyond the limit of 3600 s (one hour)"
        );
        assert!(TrainCounters::default().advance(7200.0, 2, 16).is_ok(), "exactly an hour is allowed");
        assert_eq!(
            TrainCounters::parse(TRAIN_TIME, "inf").unwrap_err(),
            "bad train/time `inf` (a finite number, not negative)"
        );
    }
}
