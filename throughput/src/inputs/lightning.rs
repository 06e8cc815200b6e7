//! Lightning `CSVLogger` `metrics.csv` with the columns `ThroughputMonitor` logs
//! (`train/time`, `train/batches`, `train/samples`, cumulative since the start of training).
//!
//! Each logged row closes an interval of batches; every batch in it gets the interval's mean
//! time. Lightning measures no data wait, so all of it counts as compute, and percentiles are
//! of interval means, not of single batches.

use std::{path::Path, time::Duration};

use crate::{BatchTiming, Error, ThroughputMonitor};

/// Feeds the batches of a `metrics.csv`; returns how many intervals it had.
pub fn read_metrics_csv(path: &Path, monitor: &mut ThroughputMonitor) -> Result<usize, Error> {
    let bytes = super::read_all(path)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
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
    let mut intervals = 0;
    for (index, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        let field = |at: usize| fields.get(at).copied().unwrap_or("");
        if field(time).is_empty() {
            continue;
        }
        // Finite and not negative: a time, or a count (Lightning may write counts as `5.0`).
        let number = |at: usize, name: &str| {
            let raw = field(at);
            match raw.parse::<f64>() {
                Ok(value) if value.is_finite() && value >= 0.0 => Ok(value),
                _ => Err(Error::BadLine {
                    path: path.to_owned(),
                    line: index as u64 + 2,
                    message: format!("bad {name} `{raw}` (a finite number, not negative)"),
                }),
            }
        };
        let now = number(time, "train/time")?;
        let (count, seen) = (number(batches, "train/batches")? as u64, number(samples, "train/samples")? as u64);
        // A new run or fit restarts the counters.
        if count < last_batches || now < last_time {
            (last_time, last_batches, last_samples) = (0.0, 0, 0);
        }
        let new_batches = count - last_batches;
        if new_batches > 0 && now > last_time {
            let per_batch = (now - last_time) / new_batches as f64;
            let per_batch_samples = (seen - last_samples.min(seen)) / new_batches;
            for _ in 0..new_batches {
                monitor.record(BatchTiming {
                    compute: Duration::from_secs_f64(per_batch),
                    samples: per_batch_samples,
                    ..BatchTiming::default()
                });
            }
            intervals += 1;
        }
        (last_time, last_batches, last_samples) = (now, count, seen);
    }
    if intervals == 0 {
        return Err(Error::Unusable { path: path.to_owned(), message: "no logged train/time rows".to_owned() });
    }
    Ok(intervals)
}
