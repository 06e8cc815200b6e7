//! Lightning `CSVLogger`'s `metrics.csv` (`<save_dir>/<name>/version_<N>/metrics.csv`).
//!
//! The header is the union of every key logged (Lightning rewrites the file when a new key
//! appears); rows are sparse (a training row leaves the validation columns empty and the other
//! way round) and a step can have several rows. Each non-empty cell is one sample of its
//! column at that row's `step`. `epoch` and `step` themselves are not metrics.

use std::path::Path;

use metrics_schema::lightning_csv::{CsvError, MetricsCsv, TrainCounters};

use super::ReadOptions;
use crate::{Error, Hint, Place, Point, RunMetrics, SourceFile};

/// Columns that index rows rather than measure anything.
const INDEX_COLUMNS: &[&str] = &["step", "epoch"];

/// Checks that `path` is a Lightning `metrics.csv`: a header with a `step` column.
///
/// # Errors
/// [`Error::Unsupported`] for another kind of CSV, [`Error::Io`] when it cannot be read.
pub fn check_header(path: &Path) -> Result<(), Error> {
    open(path, &ReadOptions::default()).map(drop)
}

/// The file's rows, after a header with a `step` column.
fn open<'a>(
    path: &Path,
    options: &ReadOptions<'a>,
) -> Result<(MetricsCsv<Box<dyn std::io::BufRead + 'a>>, usize), Error> {
    let not_lightning = || Error::Unsupported {
        path: path.to_owned(),
        message: "a CSV file without a `step` column is not a Lightning metrics.csv".to_owned(),
    };
    let csv = match MetricsCsv::new(super::open_text(path, options)?) {
        Ok(csv) => csv,
        // A header that is not CSV text is not Lightning's either.
        Err(CsvError::Malformed { .. }) => return Err(not_lightning()),
        Err(err) => return Err(csv_error(path, err)),
    };
    let step = csv.column("step").ok_or_else(not_lightning)?;
    Ok((csv, step))
}

/// Reads a `metrics.csv` into `run`. Where the file has the counters of Lightning's
/// `ThroughputMonitor` (`train/time`, `train/batches`, `train/samples`), they are checked as
/// `ocrperf throughput` checks them ([`TrainCounters::advance_row`]): a row with `train/time`
/// and an empty, NaN or negative counter, counters that contradict each other, or a batch over
/// an hour, are damage at their line.
///
/// # Errors
/// [`Error::Unsupported`] without a `step` column, [`Error::Damaged`] naming the line for a row
/// with the wrong number of fields, a cell that is not a number, or impossible counters.
pub fn read(path: &Path, options: &ReadOptions<'_>, run: &mut RunMetrics) -> Result<(), Error> {
    let (mut csv, step_column) = open(path, options)?;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    run.files.push(SourceFile { path: path.display().to_string(), format: "lightning-csv", bytes });
    let damaged = |place: Place, message: String| Error::damaged(path, place, message);
    let names = csv.columns().to_vec();
    let counter_columns = csv.counter_columns();
    let mut counters = TrainCounters::default();
    let durations: Vec<bool> = names.iter().map(|name| super::is_duration(name, Hint::default())).collect();
    let source = path.display().to_string();
    while let Some(row) = csv.next_row().map_err(|err| csv_error(path, err))? {
        let place = Place::Line { line: row.line, offset: row.offset };
        let step_text = row.get(step_column);
        if step_text.is_empty() {
            continue;
        }
        let step = step_text.parse::<f64>().ok().filter(|step| step.is_finite()).ok_or_else(|| {
            damaged(place, format!("step `{}` is not a number", metrics_schema::text::shown(step_text)))
        })? as i64;
        for (column, cell) in row.cells().enumerate() {
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
        if let Some(columns) = counter_columns {
            // The one row rule `throughput` applies: a row without train/time (a validation
            // row) is passed over; one with it needs every counter, or it is damage at its line.
            counters.advance_row(&row, columns).map_err(|message| damaged(place, message))?;
        }
    }
    Ok(())
}

fn csv_error(path: &Path, err: CsvError) -> Error {
    match err {
        CsvError::Io { line, offset, cause } => super::read_error(path, Place::Line { line, offset }, cause),
        CsvError::Malformed { line, offset, message } => Error::damaged(path, Place::Line { line, offset }, message),
        other => Error::damaged(path, Place::File, other.to_string()),
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
    fn throughput_counters_are_checked_as_throughput_checks_them() {
        let header = "epoch,step,train/time,train/batches,train/samples\n";
        let run = read_text(&format!("{header}0,9,5,10,80\n0,19,10,20,160\n")).unwrap();
        assert_eq!(run.series["train/time"].values(), [5.0, 10.0]);
        // A batch over an hour: the limit `ocrperf throughput` applies holds here too.
        let err = read_text(&format!("{header}0,9,5,10,80\n0,10,3700,11,88\n")).unwrap_err().to_string();
        assert!(err.ends_with("metrics.csv:3: 3695 s per batch, beyond the limit of 3600 s (one hour)"), "{err}");
        let err = read_text(&format!("{header}0,9,5,10,80\n0,19,3,20,160\n")).unwrap_err().to_string();
        assert!(err.ends_with("metrics.csv:3: train/time goes back from 5 to 3 while the other counters go on; these columns only grow (a restart resets train/time and train/batches together)"), "{err}");
        // A new fit in the same file restarts the counters.
        assert!(read_text(&format!("{header}0,9,5,10,80\n0,9,5,10,80\n0,9,4,9,72\n")).is_ok());
        // A row with train/time needs its counters: an empty or NaN one is not passed over.
        let err = read_text(&format!("{header}0,9,5,10,80\n0,19,10,,160\n")).unwrap_err().to_string();
        assert!(err.ends_with("metrics.csv:3: bad train/batches `` (a finite number, not negative)"), "{err}");
        let err = read_text(&format!("{header}0,9,5,10,nan\n")).unwrap_err().to_string();
        assert!(err.ends_with("metrics.csv:2: bad train/samples `nan` (a finite number, not negative)"), "{err}");
        // A validation row, without train/time, is passed over.
        let run = read_text(&format!("{header}0,9,5,10,80\n0,9,,,\n0,19,10,20,160\n")).unwrap();
        assert_eq!(run.series["train/time"].values(), [5.0, 10.0]);
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
        long.push_str(&"9".repeat(metrics_schema::text::MAX_LINE + 10));
        let err = read_text(&long).unwrap_err().to_string();
        assert!(err.contains("line longer than 1 MiB"), "{err}");
    }
}
