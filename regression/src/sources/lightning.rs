//! Lightning `CSVLogger`'s `metrics.csv` (`<save_dir>/<name>/version_<N>/metrics.csv`).
//!
//! The header is the union of every key logged (Lightning rewrites the file when a new key
//! appears); rows are sparse (a training row leaves the validation columns empty and the other
//! way round) and a step can have several rows. Each non-empty cell is one sample of its
//! column at that row's `step`. `epoch` and `step` themselves are not metrics.

use std::{
    io::{self, BufRead, Read},
    path::Path,
};

use super::{ReadOptions, lines::MAX_LINE};
use crate::{Error, Hint, Place, Point, RunMetrics, SourceFile};

/// Columns that index rows rather than measure anything.
const INDEX_COLUMNS: &[&str] = &["step", "epoch"];

/// Checks that `path` is a Lightning `metrics.csv`: a header with a `step` column.
///
/// # Errors
/// [`Error::Unsupported`] for another kind of CSV, [`Error::Io`] when it cannot be read.
pub fn check_header(path: &Path) -> Result<(), Error> {
    let reader = super::open_text(path, &ReadOptions::default())?;
    let mut first = Vec::new();
    reader.take(MAX_LINE as u64).read_until(b'\n', &mut first).map_err(|cause| Error::io(path, cause))?;
    let first = String::from_utf8_lossy(&first);
    let has_step =
        first.trim_start_matches('\u{feff}').trim_end().split(',').any(|name| name.trim_matches('"') == "step");
    if has_step {
        Ok(())
    } else {
        Err(Error::Unsupported {
            path: path.to_owned(),
            message: "a CSV file without a `step` column is not a Lightning metrics.csv".to_owned(),
        })
    }
}

/// Reads a `metrics.csv` into `run`.
///
/// # Errors
/// [`Error::Unsupported`] without a `step` column, [`Error::Damaged`] naming the line for a row
/// with the wrong number of fields or a cell that is not a number.
pub fn read(path: &Path, options: &ReadOptions<'_>, run: &mut RunMetrics) -> Result<(), Error> {
    check_header(path)?;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    run.files.push(SourceFile { path: path.display().to_string(), format: "lightning-csv", bytes });
    let reader = super::open_text(path, options)?;
    let mut csv =
        csv::ReaderBuilder::new().has_headers(true).from_reader(LineLimit { inner: reader, since_newline: 0 });
    let damaged = |place: Place, message: String| Error::damaged(path, place, message);
    let headers = csv.headers().map_err(|err| csv_error(path, &err))?.clone();
    let names: Vec<String> = headers.iter().map(|name| name.trim_start_matches('\u{feff}').to_owned()).collect();
    let step_column = names.iter().position(|name| name == "step").unwrap_or(0);
    let durations: Vec<bool> = names.iter().map(|name| super::is_duration(name, Hint::default())).collect();
    let source = path.display().to_string();
    let mut record = csv::StringRecord::new();
    // The csv crate gives the first record after the header the header's own position; a
    // record is always at least one line after the previous one.
    let mut last_line = 1;
    loop {
        match csv.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(err) => return Err(csv_error(path, &err)),
        }
        let place = record.position().map_or(Place::File, |position| {
            last_line = position.line().max(last_line + 1);
            Place::Line { line: last_line, offset: position.byte() }
        });
        let step_text = record.get(step_column).unwrap_or_default();
        if step_text.is_empty() {
            continue;
        }
        let step = step_text.parse::<f64>().ok().filter(|step| step.is_finite()).ok_or_else(|| {
            damaged(place, format!("step `{}` is not a number", metrics_schema::text::shown(step_text)))
        })? as i64;
        for (column, cell) in record.iter().enumerate() {
            let name = &names[column];
            if cell.is_empty() || INDEX_COLUMNS.contains(&name.as_str()) {
                continue;
            }
            let value: f64 = cell.parse().map_err(|_| {
                damaged(place, format!("column `{name}`: `{}` is not a number", metrics_schema::text::shown(cell)))
            })?;
            if value < 0.0 && durations[column] {
                return Err(damaged(place, super::negative_duration(name, value)));
            }
            // NaN and infinities are kept as logged: the summary leaves them out and says so.
            run.push(name, Point { step, wall_time: f64::NAN, value }, Hint::default(), &source);
        }
    }
}

fn csv_error(path: &Path, err: &csv::Error) -> Error {
    let place =
        err.position().map_or(Place::File, |position| Place::Line { line: position.line(), offset: position.byte() });
    match err.kind() {
        csv::ErrorKind::Io(cause)
            if cause.kind() == io::ErrorKind::InvalidData && cause.to_string().contains("line longer") =>
        {
            Error::damaged(path, place, cause.to_string())
        }
        csv::ErrorKind::Io(cause) => Error::damaged(path, place, format!("cannot read on: {cause}")),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            Error::damaged(path, place, format!("row has {len} fields, the header has {expected_len}"))
        }
        csv::ErrorKind::Utf8 { .. } => Error::damaged(path, place, "not UTF-8 text".to_owned()),
        _ => Error::damaged(path, place, err.to_string()),
    }
}

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
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("line longer than {} MiB; is this the right file?", MAX_LINE >> 20),
            ));
        }
        Ok(read)
    }
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<RunMetrics, Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        std::fs::write(&path, text).unwrap();
        let mut run = RunMetrics::default();
        read(&path, &ReadOptions::default(), &mut run).map(|()| run)
    }

    #[test]
    fn sparse_rows_and_several_rows_per_step() {
        let run = read_text(
            "epoch,step,train/loss,train/step_time_ms,val/hmean\n\
             0,9,0.9,101.5,\n\
             0,19,0.8,99.5,\n\
             0,19,,,0.61\n\
             1,29,nan,100.0,\n",
        )
        .unwrap();
        let loss = run.series["train/loss"].values();
        assert_eq!(&loss[..2], [0.9, 0.8]);
        assert!(loss.len() == 3 && loss[2].is_nan(), "a logged NaN is kept for the summary to count");
        assert_eq!(run.series["train/step_time_ms"].values(), [101.5, 99.5, 100.0]);
        assert_eq!(run.series["val/hmean"].points[0].step, 19);
        assert!(!run.series.contains_key("epoch") && !run.series.contains_key("step"));
    }

    #[test]
    fn bad_rows_name_their_line() {
        let err = read_text("step,a\n1,2\n2,x\n").unwrap_err().to_string();
        assert!(err.ends_with("metrics.csv:3: column `a`: `x` is not a number"), "{err}");
        let err = read_text("step,a,b\n1,2,3\n2,4\n").unwrap_err().to_string();
        assert!(err.ends_with("metrics.csv:3: row has 2 fields, the header has 3"), "{err}");
        let err = read_text("step,train/step_time_ms\n1,2\n2,-3\n").unwrap_err().to_string();
        assert!(
            err.ends_with(
                "metrics.csv:3: `train/step_time_ms` is -3, a negative duration; step times and durations cannot be \
                 below 0"
            ),
            "{err}"
        );
        let err = read_text("epoch,a\n1,2\n").unwrap_err().to_string();
        assert!(err.ends_with("a CSV file without a `step` column is not a Lightning metrics.csv"), "{err}");
        let mut negative_loss = read_text("step,train/loss\n1,-0.5\n").unwrap();
        assert_eq!(negative_loss.series.remove("train/loss").unwrap().values(), [-0.5], "not a duration");
        let mut long = "step,a\n".to_owned();
        long.push_str(&"9".repeat(MAX_LINE + 10));
        let err = read_text(&long).unwrap_err().to_string();
        assert!(err.contains("line longer than 1 MiB"), "{err}");
    }
}
