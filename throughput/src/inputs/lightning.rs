//! Lightning `CSVLogger` `metrics.csv` with the columns `ThroughputMonitor` logs
//! (`train/time`, `train/batches`, `train/samples`, cumulative since the start of training).
//!
//! Each logged row closes an interval of batches; every batch in it gets the interval's mean
//! time. Lightning measures no data wait, so all of it counts as compute, and percentiles are
//! of interval means, not of single batches.

use std::{path::Path, time::Duration};

use metrics_schema::{
    MAX_STEP_SECONDS,
    text::{Lines, open_input},
};

use crate::{BatchTiming, Error, ThroughputMonitor};

/// The most batches one logged row may close: Lightning logs every few dozen steps, so more
/// than this between two rows is a damaged file, not a run.
const MAX_BATCHES_PER_ROW: u64 = 10_000_000;

/// What a `metrics.csv` held.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LightningStats {
    /// Logged rows that closed an interval of batches.
    pub intervals: usize,
    /// Rows where `train/time` and `train/batches` both went back: a new `fit` in the same
    /// file, read as a fresh start of the counters.
    pub restarts: usize,
    /// What was read but looked wrong, each with its line.
    pub warnings: Vec<String>,
}

/// Feeds the batches of a `metrics.csv` (`-` is standard input).
///
/// The counters are cumulative. When `train/time` and `train/batches` both go back, a new fit
/// started in the same file: the counters restart there, and a warning says so. When only one
/// of them goes back, or `train/samples` does while batches rise, the file contradicts itself:
/// that is an error naming the line.
pub fn read_metrics_csv(path: &Path, monitor: &mut ThroughputMonitor) -> Result<LightningStats, Error> {
    let (reader, _) = open_input(path).map_err(|cause| Error::Io { path: path.to_owned(), cause })?;
    let mut lines = Lines::new(reader);
    let bad = |line: u64, message: String| Error::BadLine { path: path.to_owned(), line, message };
    let text_of =
        |line: &metrics_schema::text::Line<'_>| line.text().map(str::to_owned).map_err(|m| bad(line.number, m));
    let header = match lines.next_line().map_err(|err| super::jsonl::line_error(path, err))? {
        Some(line) => text_of(&line)?,
        None => String::new(),
    };
    let header: Vec<&str> = header.split(',').collect();
    let column = |name: &str| header.iter().position(|c| *c == name);
    let (Some(time), Some(batches), Some(samples)) =
        (column("train/time"), column("train/batches"), column("train/samples"))
    else {
        return Err(Error::Unusable {
            path: path.to_owned(),
            message: "no train/time, train/batches and train/samples columns (Lightning's ThroughputMonitor)"
                .to_owned(),
        });
    };
    let (mut last_time, mut last_batches, mut last_samples) = (0.0f64, 0u64, 0u64);
    let mut stats = LightningStats::default();
    while let Some(line) = lines.next_line().map_err(|err| super::jsonl::line_error(path, err))? {
        let number_of_line = line.number;
        let text = text_of(&line)?;
        let fields: Vec<&str> = text.split(',').collect();
        let field = |at: usize| fields.get(at).copied().unwrap_or("");
        if field(time).is_empty() {
            continue;
        }
        // Finite and not negative: a time, or a count (Lightning may write counts as `5.0`).
        let number = |at: usize, name: &str| {
            let raw = field(at);
            match raw.parse::<f64>() {
                Ok(value) if value.is_finite() && value >= 0.0 => Ok(value),
                _ => Err(bad(number_of_line, format!("bad {name} `{raw}` (a finite number, not negative)"))),
            }
        };
        let now = number(time, "train/time")?;
        let (count, seen) = (number(batches, "train/batches")? as u64, number(samples, "train/samples")? as u64);
        let (time_back, batches_back) = (now < last_time, count < last_batches);
        if time_back && batches_back {
            stats.restarts += 1;
            stats.warnings.push(format!(
                "{}:{number_of_line}: train/time and train/batches start again (a new fit in the same file); \
                 read as a restart of the counters",
                path.display()
            ));
            (last_time, last_batches, last_samples) = (0.0, 0, 0);
        } else if time_back || batches_back || (seen < last_samples && count > last_batches) {
            let (name, before, after) = if time_back {
                ("train/time", metrics_schema::format_number(last_time), metrics_schema::format_number(now))
            } else if batches_back {
                ("train/batches", last_batches.to_string(), count.to_string())
            } else {
                ("train/samples", last_samples.to_string(), seen.to_string())
            };
            return Err(bad(
                number_of_line,
                format!(
                    "{name} goes back from {before} to {after} while the other counters go on; \
                     these columns only grow (a restart resets train/time and train/batches together)"
                ),
            ));
        }
        let new_batches = count - last_batches;
        if new_batches > MAX_BATCHES_PER_ROW {
            return Err(bad(
                number_of_line,
                format!(
                    "{new_batches} batches since the previous row; more than {MAX_BATCHES_PER_ROW} is not a real log"
                ),
            ));
        }
        if new_batches > 0 && now > last_time {
            let per_batch = (now - last_time) / new_batches as f64;
            if per_batch > MAX_STEP_SECONDS {
                return Err(bad(
                    number_of_line,
                    format!(
                        "{} s per batch, beyond the limit of {MAX_STEP_SECONDS} s (one hour)",
                        metrics_schema::format_number(per_batch)
                    ),
                ));
            }
            let per_batch_samples = (seen - last_samples.min(seen)) / new_batches;
            for _ in 0..new_batches {
                monitor.record(BatchTiming {
                    compute: Duration::from_secs_f64(per_batch),
                    samples: per_batch_samples,
                    ..BatchTiming::default()
                });
            }
            stats.intervals += 1;
        }
        (last_time, last_batches, last_samples) = (now, count, seen);
    }
    if stats.intervals == 0 {
        return Err(Error::Unusable { path: path.to_owned(), message: "no logged train/time rows".to_owned() });
    }
    Ok(stats)
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
mod tests {
    use super::*;
    use crate::MonitorSettings;

    fn read(text: &str) -> Result<LightningStats, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        std::fs::write(&path, text).unwrap();
        let mut monitor = ThroughputMonitor::new(MonitorSettings { memory_every: 0, ..Default::default() });
        read_metrics_csv(&path, &mut monitor)
            .map_err(|err| err.to_string().rsplit_once("metrics.csv").unwrap().1.to_owned())
    }

    const HEADER: &str = "epoch,step,train/time,train/batches,train/samples\n";

    #[test]
    fn counters_going_back_alone_are_an_error_with_the_line() {
        let err = read(&format!("{HEADER}0,9,5,10,80\n0,19,3,20,160\n0,29,9,15,240\n")).unwrap_err();
        assert_eq!(
            err,
            ":3: train/time goes back from 5 to 3 while the other counters go on; these columns only grow \
             (a restart resets train/time and train/batches together)"
        );
        let err = read(&format!("{HEADER}0,9,5,10,80\n0,19,7,20,160\n0,29,9,15,240\n")).unwrap_err();
        assert!(err.starts_with(":4: train/batches goes back from 20 to 15"), "{err}");
    }

    #[test]
    fn a_new_fit_restarts_the_counters_with_a_warning() {
        let stats = read(&format!("{HEADER}0,9,5,10,80\n0,19,10,20,160\n0,9,5,10,80\n")).unwrap();
        assert_eq!((stats.intervals, stats.restarts), (3, 1));
        assert!(stats.warnings[0].ends_with(":4: train/time and train/batches start again (a new fit in the same file); read as a restart of the counters"), "{:?}", stats.warnings);
    }

    #[test]
    fn impossible_rows_are_refused() {
        let err = read(&format!("{HEADER}0,9,5,100000000000000,80\n")).unwrap_err();
        assert!(err.starts_with(":2: 100000000000000 batches since the previous row"), "{err}");
        let err = read(&format!("{HEADER}0,9,1e9,1,80\n")).unwrap_err();
        assert!(err.starts_with(":2: 1e9 s per batch, beyond the limit"), "{err}");
        // Never the 309 digits `{}` prints for 1e308.
        let err = read(&format!("{HEADER}0,9,1e308,1,80\n")).unwrap_err();
        assert!(err.starts_with(":2: 1e308 s per batch, beyond the limit"), "{err}");
        let err = read(&format!("{HEADER}0,9,1e308,0,0\n0,19,3,20,160\n")).unwrap_err();
        assert!(err.starts_with(":3: train/time goes back from 1e308 to 3 while"), "{err}");
    }
}
