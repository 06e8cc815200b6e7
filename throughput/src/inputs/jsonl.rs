//! JSONL batch events (`metrics_schema::BatchEvent`, one object per line).

use std::{io::BufRead, path::Path, time::Duration};

use serde::Deserialize;

use crate::{BatchTiming, Error, ThroughputMonitor};

/// The fields of a batch event, borrowed-free and ignoring unknown keys.
#[derive(Debug, Deserialize)]
struct Event {
    #[allow(dead_code, reason = "validated as present; the order of lines is the order of batches")]
    step: u64,
    batch_size: u64,
    data_wait_s: f64,
    compute_s: f64,
    #[serde(default)]
    gpu_mem_bytes: Option<u64>,
}

/// Counts of one file's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JsonlStats {
    /// Events recorded.
    pub events: u64,
    /// Bad lines skipped (only with `skip_bad_lines`).
    pub skipped: u64,
}

/// Feeds every event of `path` to `monitor`. A bad line is an error naming `file:line`, unless
/// `skip_bad_lines`, which counts it instead. Blank lines are ignored.
pub fn read_events(path: &Path, monitor: &mut ThroughputMonitor, skip_bad_lines: bool) -> Result<JsonlStats, Error> {
    let (mut reader, _) = super::open(path)?;
    let mut stats = JsonlStats::default();
    let mut line = Vec::with_capacity(256);
    let mut number = 0u64;
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line).map_err(|cause| Error::BadLine {
            path: path.to_owned(),
            line: number + 1,
            message: format!("cannot read this line: {cause}"),
        })?;
        if read == 0 {
            break;
        }
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse(&line) {
            Ok(timing) => {
                monitor.record(timing);
                stats.events += 1;
            }
            Err(_) if skip_bad_lines => stats.skipped += 1,
            Err(message) => return Err(Error::BadLine { path: path.to_owned(), line: number, message }),
        }
    }
    if stats.events == 0 {
        return Err(Error::Unusable { path: path.to_owned(), message: "no batch events".to_owned() });
    }
    Ok(stats)
}

fn parse(line: &[u8]) -> Result<BatchTiming, String> {
    let event: Event = serde_json::from_slice(line).map_err(|err| {
        let text = err.to_string();
        text.rfind(" at line ").map_or(text.clone(), |at| text[..at].to_owned())
    })?;
    let seconds = |name: &str, value: f64| {
        if value.is_finite() && value >= 0.0 {
            Ok(Duration::from_secs_f64(value.min(1e9)))
        } else {
            Err(format!("`{name}` must be a non-negative number of seconds, got {value}"))
        }
    };
    Ok(BatchTiming {
        data_wait: seconds("data_wait_s", event.data_wait_s)?,
        compute: seconds("compute_s", event.compute_s)?,
        samples: event.batch_size,
        bytes: None,
        accelerator_bytes: event.gpu_mem_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MonitorSettings;

    fn monitor() -> ThroughputMonitor {
        ThroughputMonitor::new(MonitorSettings { memory_every: 0, ..Default::default() })
    }

    #[test]
    fn reads_events_and_names_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(
            &path,
            "{\"step\": 0, \"batch_size\": 8, \"data_wait_s\": 0.01, \"compute_s\": 0.04, \"t_start\": 1.5}\n\n\
             {\"step\": 1, \"batch_size\": 8, \"data_wait_s\": 0.01, \"compute_s\": 0.04, \"gpu_mem_bytes\": 1000}\n\
             {\"step\": 2, \"batch_size\": 8, \"data_wait_s\": -1, \"compute_s\": 0.04}\n\
             {\"step\": 3, \"batch_size\": 8}\n",
        )
        .unwrap();
        let err = read_events(&path, &mut monitor(), false).unwrap_err().to_string();
        assert!(
            err.ends_with("events.jsonl:4: `data_wait_s` must be a non-negative number of seconds, got -1"),
            "{err}"
        );
        let mut m = monitor();
        let stats = read_events(&path, &mut m, true).unwrap();
        assert_eq!(stats, JsonlStats { events: 2, skipped: 2 });
        let report = m.report("x");
        assert_eq!((report.batches, report.samples), (2, 16));
        assert_eq!(report.memory.accelerator_peak_bytes, Some(1000));
        std::fs::write(&path, "{\"step\": 0}\n").unwrap();
        let err = read_events(&path, &mut monitor(), false).unwrap_err().to_string();
        assert!(err.contains("events.jsonl:1: missing field `batch_size`"), "{err}");
        std::fs::write(&path, "").unwrap();
        assert!(read_events(&path, &mut monitor(), false).unwrap_err().to_string().contains("no batch events"));
    }
}
