//! Readers for what training runs leave behind: JSONL batch events and Lightning `CSVLogger`
//! files, and the recording of a Kineto trace's steps. Each feeds a
//! [`ThroughputRecorder`](crate::ThroughputRecorder). [`InputKind`] tells the formats apart.

pub mod jsonl;
pub mod kineto;
pub mod lightning;

use std::path::Path;

/// The kinds of file `ocrperf throughput` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputKind {
    /// JSONL batch events (`*.jsonl`, `*.jsonl.gz`, anything else, and `-`).
    Events,
    /// A Kineto trace (`*.json`, `*.json.gz`).
    Trace,
    /// Lightning's `metrics.csv` (`*.csv`).
    LightningCsv,
}

impl InputKind {
    /// The kind of `path`, from its name: `.csv` is Lightning's log, `.json` and `.json.gz` a
    /// trace, everything else (`.jsonl`, `.jsonl.gz`, `-` for standard input) batch events.
    pub fn of(path: &Path) -> InputKind {
        let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        if name.ends_with(".csv") || name.ends_with(".csv.gz") {
            InputKind::LightningCsv
        } else if name.ends_with(".json") || name.ends_with(".json.gz") {
            InputKind::Trace
        } else {
            InputKind::Events
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_names() {
        for (name, kind) in [
            ("run/metrics.csv", InputKind::LightningCsv),
            ("t.pt.trace.json", InputKind::Trace),
            ("T.JSON.GZ", InputKind::Trace),
            ("batches.jsonl", InputKind::Events),
            ("batches.jsonl.gz", InputKind::Events),
            ("-", InputKind::Events),
        ] {
            assert_eq!(InputKind::of(Path::new(name)), kind, "{name}");
        }
    }
}
