//! Lightning `CSVLogger` `metrics.csv` with the columns Lightning's `ThroughputMonitor` logs
//! (`train/time`, `train/batches`, `train/samples`, cumulative since the start of training),
//! read by the one reader of the format ([`metrics_schema::lightning_csv`]).
//!
//! Each logged row closes an interval of batches; every batch in it gets the interval's mean
//! time. Lightning measures no data wait, so all of it counts as compute, and percentiles are
//! of interval means, not of single batches.

use std::{path::Path, time::Duration};

use metrics_schema::{
    lightning_csv::{CsvError, MetricsCsv, TrainCounters},
    text::open_input,
};

use crate::{BatchTiming, Error, ThroughputRecorder};

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

/// Feeds the batches of a `metrics.csv` (`-` is standard input) to `recorder`.
///
/// The counters are cumulative. When `train/time` and `train/batches` both go back, a new fit
/// started in the same file: the counters restart there, and a warning says so. When only one
/// of them goes back, or `train/samples` does while batches rise, the file contradicts itself:
/// that is an error naming the line, and so is a batch over an hour
/// ([`TrainCounters`] makes these checks for every reader).
pub fn read_metrics_csv(path: &Path, recorder: &mut ThroughputRecorder) -> Result<LightningStats, Error> {
    let (reader, _) = open_input(path).map_err(|cause| Error::Io { path: path.to_owned(), cause })?;
    let bad = |line: u64, message: String| Error::BadLine { path: path.to_owned(), line, message };
    let csv_error = |err: CsvError| match err {
        CsvError::Io { line, cause, .. } => bad(line, format!("cannot read this line: {cause}")),
        CsvError::Malformed { line, message, .. } => bad(line, message),
        other => bad(0, other.to_string()),
    };
    let mut csv = MetricsCsv::new(reader).map_err(csv_error)?;
    let Some(columns) = csv.counter_columns() else {
        return Err(Error::Unusable {
            path: path.to_owned(),
            message: "no train/time, train/batches and train/samples columns (Lightning's ThroughputMonitor)"
                .to_owned(),
        });
    };
    let mut counters = TrainCounters::default();
    let mut stats = LightningStats::default();
    while let Some(row) = csv.next_row().map_err(csv_error)? {
        // The one row rule: a row without train/time is passed over, a bad counter is an error.
        let Some(step) = counters.advance_row(&row, columns).map_err(|message| bad(row.line, message))? else {
            continue;
        };
        if step.restart {
            stats.restarts += 1;
            stats.warnings.push(format!(
                "{}:{}: train/time and train/batches start again (a new fit in the same file); \
                 read as a restart of the counters",
                path.display(),
                row.line
            ));
        }
        if let Some(interval) = step.interval {
            for _ in 0..interval.batches {
                recorder.record(BatchTiming {
                    compute: Duration::from_secs_f64(interval.seconds_per_batch),
                    samples: interval.samples_per_batch,
                    ..BatchTiming::default()
                });
            }
            stats.intervals += 1;
        }
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
    use crate::RecorderSettings;

    fn read(text: &str) -> Result<LightningStats, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        std::fs::write(&path, text).unwrap();
        let mut recorder = ThroughputRecorder::new(RecorderSettings { memory_every: 0, ..Default::default() });
        read_metrics_csv(&path, &mut recorder)
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
