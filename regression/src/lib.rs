//! Baselines of training runs, read from wherever their numbers already live, and a
//! statistical gate that fails a change which makes training or the input pipeline slower.
//!
//! - [`sources`] reads every place a run's numbers live into one [`RunMetrics`] (named
//!   series of (step, wall time, value), scalars, findings, run metadata): ocrperf reports,
//!   monitor samples and batch events; Lightning `metrics.csv`; MLflow's file and SQLite
//!   stores; TensorBoard event files (CRC-checked TFRecords, `simple_value` and tensor
//!   scalars); W&B run logs (`.wandb`: the LevelDB-style log and its protobuf records). Each
//!   reader streams; damage is an error naming the file and the byte offset or line, or with
//!   `lenient`, a record of what was skipped.
//! - [`build_baseline`] summarises a run (or repeated runs) per metric: direction (from the
//!   source, the thresholds file, or [`direction`]'s name rules), warm-up cut ([`Warmup`]),
//!   steady-state distribution and block means; and the bottleneck `findings`.
//! - [`compare`] is the gate (the rule is in [`gate`]'s docs and in every report);
//!   [`Thresholds`] is its settings file; [`render`] turns verdicts into JUnit XML and GitHub
//!   annotations, and a baseline into a Markdown page with [`charts`].
//!
//! What it does not do: fetch runs over the network (W&B's export API is not used: read an
//! offline or synced run directory instead), draw tables for a terminal (the front ends do),
//! or decide exit codes.
//!
//! # Example
//!
//! ```
//! use regression::{BaselineOptions, Hint, Point, RunMetrics, Thresholds, Warmup, build_baseline, compare};
//!
//! let run = |step_ms: f64| {
//!     let mut run = RunMetrics::default();
//!     for step in 0..200 {
//!         let value = step_ms * (1.0 + 0.02 * ((step * 37 % 11) as f64 / 11.0 - 0.5));
//!         run.push("perf/step_time_ms", Point { step, wall_time: f64::NAN, value }, Hint::default(), "example");
//!     }
//!     run
//! };
//! let thresholds = Thresholds::default();
//! let options = BaselineOptions { warmup: Warmup::Auto, thresholds: &thresholds, read_seconds: 0.0 };
//! let baseline = build_baseline(&[run(100.0)], &options);
//! let slower = build_baseline(&[run(112.0)], &options);
//! let verdict = compare(&baseline, &slower, ["main", "pr"], &thresholds);
//! assert_eq!(verdict.verdict, metrics_schema::Verdict::Regressed);
//! ```

pub mod charts;
mod consistency;
pub mod direction;
mod error;
pub(crate) mod findings;
pub mod gate;
pub mod render;
mod run;
pub mod sources;
pub mod stats;
pub mod study;
mod summarize;
#[cfg(test)]
mod test_support;
mod thresholds;
mod warmup;

use std::path::{Path, PathBuf};

pub use error::{Damage, Error, Place};
pub use gate::compare;
use metrics_schema::{BaselineReport, Envelope, ReportKind};
pub use run::{Hint, Point, RunMetrics, Scalar, Series, SourceFile};
pub use sources::{ReadOptions, SourceSpec};
pub use summarize::{BaselineOptions, build_baseline, build_current, slow_down};
pub use thresholds::{
    DEFAULT_ALPHA, DEFAULT_THRESHOLD, MetricRule, MetricSettings, TAIL_FACTOR, Thresholds, default_noise_floor, is_tail,
};
pub use warmup::Warmup;

/// One side of a comparison: a baseline file, or sources to summarise.
#[derive(Debug)]
pub enum Side {
    /// A `baseline.json`.
    Baseline(Box<Envelope<BaselineReport>>),
    /// The runs the sources hold.
    Runs(Vec<RunMetrics>),
}

/// Whether `path` is a baseline file (`ocrperf.baseline.*`, gzipped or not), judged from its
/// first bytes (or its top-level keys, when `schema` is not among them).
pub fn is_baseline_file(path: &Path) -> bool {
    path.is_file() && sources::report::file_schema(path).is_some_and(|id| id.kind == ReportKind::Baseline)
}

/// The baseline file a path stands for: itself, or the `baseline.json` (or `.json.gz`) inside
/// a directory that `ocrperf baseline -o DIR` wrote.
fn baseline_file_of(path: &Path) -> Option<PathBuf> {
    if path.is_dir() {
        ["baseline.json", "baseline.json.gz"].iter().map(|name| path.join(name)).find(|file| is_baseline_file(file))
    } else {
        is_baseline_file(path).then(|| path.to_owned())
    }
}

/// Reads one side: a baseline file (or the directory `baseline -o` wrote) given alone, or the
/// runs under the sources.
///
/// # Errors
/// [`Error::Report`] for an unreadable baseline, [`Error::Damaged`] for a baseline whose
/// summary does not agree with the values it holds (edited by hand), [`Error::Setting`] for a
/// baseline given with other sources, and whatever [`sources::load`] returns.
pub fn load_side(spec: &SourceSpec, options: &ReadOptions<'_>) -> Result<Side, Error> {
    let baselines: Vec<PathBuf> = spec.paths.iter().filter_map(|path| baseline_file_of(path)).collect();
    match (baselines.as_slice(), spec.paths.len()) {
        ([], _) => sources::load(spec, options).map(Side::Runs),
        ([path], 1) => read_baseline(path, options).map(|envelope| Side::Baseline(Box::new(envelope))),
        ([path, ..], _) => Err(Error::Setting(format!(
            "{}: a baseline file stands for a whole side; give it alone, not with other sources",
            path.display()
        ))),
    }
}

/// Reads a `baseline.json` (gzip and a BOM recognised) and checks that its summary agrees with
/// the values it holds.
fn read_baseline(path: &Path, options: &ReadOptions<'_>) -> Result<Envelope<BaselineReport>, Error> {
    let text = sources::read_text(path, metrics_schema::text::MAX_TEXT_FILE, options)?;
    let mut envelope =
        Envelope::<BaselineReport>::from_json(&text).map_err(|cause| Error::Report { path: path.to_owned(), cause })?;
    for metric in &envelope.report.metrics {
        if let Err(message) = consistency::check(metric) {
            let place = consistency::line_of(&text, &metric.name)
                .map_or(Place::File, |(line, offset)| Place::Line { line, offset });
            return Err(Error::damaged(
                path,
                place,
                format!("metric `{}`: {message}; was the file edited by hand?", metric.name),
            ));
        }
    }
    for gpu in &mut envelope.report.run.gpus {
        *gpu = run::normalise_gpu_name(gpu);
    }
    Ok(envelope)
}
