//! JSONL batch events, read by the one reader of the format
//! ([`metrics_schema::batch_events::BatchEventReader`]).

use std::{path::Path, time::Duration};

use metrics_schema::{
    batch_events::{BatchEventError, BatchEventReader},
    text::{LineError, MAX_LINE, open_input},
};

use crate::{BatchTiming, Error, ThroughputRecorder};

/// Counts of one file's lines, and what looked wrong but was kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JsonlStats {
    /// Events recorded.
    pub events: u64,
    /// Bad lines skipped (only with `skip_bad_lines`).
    pub skipped: u64,
    /// Contradictions that were read anyway, each with its first place and count (steps
    /// repeated or going backwards).
    pub warnings: Vec<String>,
}

/// Feeds every event of `path` (`-` is standard input; gzip is recognised) to `recorder`. A
/// bad line is an error naming `file:line`, unless `skip_bad_lines`, which counts it instead; a
/// header of another schema is always an error. Blank lines and a byte-order mark are
/// ignored; a line longer than [`MAX_LINE`] is an error.
pub fn read_events(path: &Path, recorder: &mut ThroughputRecorder, skip_bad_lines: bool) -> Result<JsonlStats, Error> {
    let (reader, _) = open_input(path).map_err(|cause| Error::Io { path: path.to_owned(), cause })?;
    let mut events = BatchEventReader::new(reader);
    let mut stats = JsonlStats::default();
    let bad = |line: u64, message: String| Error::BadLine { path: path.to_owned(), line, message };
    let (mut last_step, mut backwards, mut first_backwards) = (None::<u64>, 0u64, 0u64);
    loop {
        let at = match events.next_event() {
            Ok(Some(at)) => at,
            Ok(None) => break,
            Err(BatchEventError::BadLine { .. }) if skip_bad_lines => {
                stats.skipped += 1;
                continue;
            }
            Err(
                BatchEventError::BadLine { line, message, .. } | BatchEventError::WrongSchema { line, message, .. },
            ) => {
                return Err(bad(line, message));
            }
            Err(BatchEventError::Read(err)) => return Err(line_error(path, err)),
            Err(other) => return Err(bad(0, other.to_string())),
        };
        let event = at.event;
        if last_step.is_some_and(|last| event.step <= last) {
            backwards += 1;
            if first_backwards == 0 {
                first_backwards = at.line;
            }
        }
        last_step = Some(event.step);
        recorder.record(BatchTiming {
            data_wait: Duration::from_secs_f64(event.data_wait_s),
            compute: Duration::from_secs_f64(event.compute_s),
            samples: event.batch_size,
            bytes: None,
            accelerator_bytes: event.gpu_mem_bytes,
        });
        stats.events += 1;
    }
    if backwards > 0 {
        stats.warnings.push(format!(
            "{}:{first_backwards}: `step` repeats or goes backwards ({backwards} {}); two runs in one file? \
             every line was counted",
            path.display(),
            if backwards == 1 { "line" } else { "lines" }
        ));
    }
    if stats.events == 0 {
        return Err(Error::Unusable { path: path.to_owned(), message: "no batch events".to_owned() });
    }
    Ok(stats)
}

/// [`metrics_schema::text::LineError`] as this crate's error, with the file and line.
pub(crate) fn line_error(path: &Path, err: LineError) -> Error {
    let (line, message) = match err {
        LineError::Io { line, cause, .. } => (line, format!("cannot read this line: {cause}")),
        LineError::TooLong { line, .. } => {
            (line, format!("longer than {} MiB without a newline; is this the right file?", MAX_LINE >> 20))
        }
        other => (0, other.to_string()),
    };
    Error::BadLine { path: path.to_owned(), line, message }
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
mod tests {
    use super::*;
    use crate::RecorderSettings;

    fn recorder() -> ThroughputRecorder {
        ThroughputRecorder::new(RecorderSettings { memory_every: 0, ..Default::default() })
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
        let err = read_events(&path, &mut recorder(), false).unwrap_err().to_string();
        assert!(
            err.ends_with("events.jsonl:4: `data_wait_s` must be a non-negative number of seconds, got -1"),
            "{err}"
        );
        let mut m = recorder();
        let stats = read_events(&path, &mut m, true).unwrap();
        assert_eq!((stats.events, stats.skipped), (2, 2));
        let report = m.report("x");
        assert_eq!((report.batches, report.samples), (2, 16));
        assert_eq!(report.memory.accelerator_peak_bytes, Some(1000));
        std::fs::write(&path, "{\"step\": 0}\n").unwrap();
        let err = read_events(&path, &mut recorder(), false).unwrap_err().to_string();
        assert!(err.contains("events.jsonl:1: missing field `batch_size`"), "{err}");
        std::fs::write(&path, "").unwrap();
        assert!(read_events(&path, &mut recorder(), false).unwrap_err().to_string().contains("no batch events"));
    }

    fn first_error(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, text).unwrap();
        let err = read_events(&path, &mut recorder(), false).unwrap_err().to_string();
        err.rsplit_once("events.jsonl").unwrap().1.to_owned()
    }

    #[test]
    fn impossible_values_are_refused_with_their_line() {
        let good = "{\"step\": 0, \"batch_size\": 8, \"data_wait_s\": 0.01, \"compute_s\": 0.04}\n";
        assert_eq!(
            first_error(&format!(
                "{good}{{\"step\": 1, \"batch_size\": 8, \"data_wait_s\": 1e308, \"compute_s\": 0.04}}\n"
            )),
            ":2: `data_wait_s` is 1e308 s, beyond the limit of 3600 s (one hour) per batch"
        );
        assert_eq!(
            first_error("{\"step\": 0, \"batch_size\": 0, \"data_wait_s\": 0.01, \"compute_s\": 0.04}\n"),
            ":1: `batch_size` is 0; a batch holds at least one sample"
        );
        assert_eq!(
            first_error(&format!("{good}{{\"step\": 1, \"batch_size\": 8, \"data_wait_s\": 0, \"compute_s\": 0}}\n")),
            ":2: `data_wait_s` + `compute_s` is 0 s; a batch takes some time (its rate would read 0 samples/s)"
        );
        assert_eq!(
            first_error(&format!(
                "{good}{{\"step\": 1, \"batch_size\": 8, \"data_wait_s\": 1800, \"compute_s\": 1801}}\n"
            )),
            ":2: the batch takes 3601 s (`data_wait_s` + `compute_s`), beyond the limit of 3600 s (one hour)"
        );
        // Never the 309 digits `{}` prints for -1e308.
        assert_eq!(
            first_error(&format!(
                "{good}{{\"step\": 1, \"batch_size\": 8, \"data_wait_s\": 0, \"compute_s\": -1e308}}\n"
            )),
            ":2: `compute_s` must be a non-negative number of seconds, got -1e308"
        );
    }

    #[test]
    fn a_header_is_read_and_a_wrong_schema_refused_even_when_skipping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let event = metrics_schema::BatchEvent {
            step: 0,
            batch_size: 8,
            data_wait_s: 0.01,
            compute_s: 0.04,
            t_start: None,
            gpu_mem_bytes: None,
        };
        metrics_schema::write_atomic(&path, |out| metrics_schema::batch_events::write_batch_events(out, &[event]))
            .unwrap();
        assert_eq!(read_events(&path, &mut recorder(), false).unwrap().events, 1);
        std::fs::write(&path, "{\"schema\":\"ocrperf.throughput.v1\"}\n").unwrap();
        let err = read_events(&path, &mut recorder(), true).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "events.jsonl:1: schema `ocrperf.throughput.v1`, not batch events (`ocrperf.batch-events.v1`); is \
                 this the right file?"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_bom_is_skipped_and_an_endless_line_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, "\u{feff}{\"step\": 0, \"batch_size\": 8, \"data_wait_s\": 0.01, \"compute_s\": 0.04}\n")
            .unwrap();
        assert_eq!(read_events(&path, &mut recorder(), false).unwrap().events, 1);
        assert_eq!(
            first_error(&"x".repeat(metrics_schema::text::MAX_LINE + 10)),
            ":1: longer than 1 MiB without a newline; is this the right file?"
        );
    }

    #[test]
    fn steps_going_backwards_are_read_with_a_warning_and_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let line = |step: u64| {
            format!("{{\"step\": {step}, \"batch_size\": 8, \"data_wait_s\": 0.01, \"compute_s\": 0.04}}\n")
        };
        std::fs::write(&path, [0, 1, 2, 1, 2, 3].map(line).concat()).unwrap();
        let stats = read_events(&path, &mut recorder(), false).unwrap();
        assert_eq!(stats.events, 6);
        assert_eq!(stats.warnings.len(), 1);
        assert!(stats.warnings[0].ends_with("events.jsonl:4: `step` repeats or goes backwards (1 line); two runs in one file? every line was counted"), "{}", stats.warnings[0]);
    }
}
