//! `ocrperf baseline`: the steady-state performance of one run, for people and for the gate.
//!
//! A baseline keeps, per metric, enough of the samples to test a later run against it without
//! the original files: the steady-state [`Distribution`], and the means of consecutive blocks of
//! samples (the unit the regression gate's significance test uses, because neighbouring steps
//! of a training run are not independent).

use serde::{Deserialize, Serialize};

use crate::{
    Better, DamageSummary, Distribution, MetricsBuilder, Recommendation, Report, ReportKind, Timestamp, ToMetrics, Unit,
};

/// Which way a metric improves, or `info`: a metric with no performance direction (a learning
/// rate, an epoch counter), which is described but never gated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Larger is better (throughput, scores).
    Higher,
    /// Smaller is better (times, waits, losses).
    Lower,
    /// No direction: never gated.
    Info,
}

impl Direction {
    /// As written in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Higher => "higher",
            Direction::Lower => "lower",
            Direction::Info => "info",
        }
    }

    /// The gated direction, `None` for `info`.
    pub fn better(self) -> Option<Better> {
        match self {
            Direction::Higher => Some(Better::Higher),
            Direction::Lower => Some(Better::Lower),
            Direction::Info => None,
        }
    }
}

impl From<Better> for Direction {
    fn from(better: Better) -> Direction {
        match better {
            Better::Higher => Direction::Higher,
            Better::Lower => Direction::Lower,
        }
    }
}

/// The run a baseline (or one side of a comparison) describes: what the sources say about it.
/// Every field is optional because trackers record different things.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The run's name (W&B display name, MLflow run name, a directory name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The tracker's id for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What wrote the sources: `wandb`, `mlflow`, `tensorboard`, `lightning`, `ocrperf`; several
    /// joined with `+`.
    pub tool: String,
    /// When the run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// The machine it ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Its CPU model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    /// Its GPU models, one entry per device.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<String>,
    /// The git commit of the training code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
}

/// Whether a metric was a series of samples or one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Many samples over the run (per step, per interval).
    Series,
    /// One value for the run (a report's summary figure).
    Scalar,
}

/// One metric of a baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineMetric {
    /// The metric's name, as the gate matches it (`perf/samples_per_sec`, `throughput.samples_per_s`).
    pub name: String,
    /// What it counts.
    pub unit: Unit,
    /// Which way is better, or `info`.
    pub better: Direction,
    /// Why it has that direction (`report`, `name: *_per_s`, `thresholds file`, ...).
    pub direction_from: String,
    /// The file it came from.
    pub source: String,
    /// Series or scalar.
    pub kind: MetricKind,
    /// Steady-state samples (1 for a scalar).
    pub samples: u64,
    /// Samples left out at the start as warm-up.
    pub warmup: u64,
    /// The steady-state samples summarised.
    pub distribution: Distribution,
    /// Samples per block (0 for a scalar).
    #[serde(default)]
    pub block_size: u64,
    /// Means of consecutive blocks of `block_size` steady-state samples, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub block_means: Vec<f64>,
    /// Lag-1 autocorrelation of `block_means`: how far they still are from independent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_autocorrelation: Option<f64>,
    /// One value per run (each run's steady-state median), when the baseline summarises several
    /// repeated runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<f64>,
    /// One value per run (each run's steady-state mean), when the baseline summarises several
    /// repeated runs: what the gate's runs rule compares (a median would not see stalls).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub run_means: Vec<f64>,
    /// A clear level shift inside the steady state (one run only), if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_shift: Option<LevelShift>,
    /// True for a rate (events per second) whose block means and run means are harmonic: a
    /// run's rate is its events over its time, which the plain mean of per-step rates
    /// overstates when some steps are slow.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub harmonic: bool,
    /// Means of the warm-up's blocks (one run only), in order, blocked from the warm-up's end so
    /// that the block next to the steady state is whole: the gate puts back what a current run
    /// cut beyond the baseline's warm-up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warmup_block_means: Vec<f64>,
}

/// A level shift inside one run's steady state: the series moved from one level to another and
/// stayed there (a slower data source from some step on, a thermal throttle).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LevelShift {
    /// The sample (counted from the series' first sample, warm-up included) where the new level
    /// starts.
    pub at_sample: u64,
    /// The steady state's samples in all.
    pub of_samples: u64,
    /// The mean before it.
    pub before: f64,
    /// The mean from it on.
    pub after: f64,
}

impl BaselineMetric {
    /// The figure that stands for the metric in summaries: the steady-state median.
    pub fn typical(&self) -> f64 {
        self.distribution.p50
    }

    /// The steady-state mean the gate judges: the mean of the block means (every full block
    /// weighs the same; harmonic for a rate), or the distribution's mean where there are no
    /// blocks.
    pub fn steady_mean(&self) -> f64 {
        let blocks = self.block_means.len() as f64;
        if self.block_means.is_empty() {
            self.distribution.mean
        } else if self.harmonic {
            blocks / self.block_means.iter().map(|x| 1.0 / x).sum::<f64>()
        } else {
            let sum = self.block_means.iter().sum::<f64>();
            // Summed after dividing when the plain sum overflows (values near f64::MAX).
            if sum.is_finite() { sum / blocks } else { self.block_means.iter().map(|x| x / blocks).sum() }
        }
    }
}

/// How much was read to make a baseline, and how fast.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourcesRead {
    /// Files read.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Wall time to read them.
    pub seconds: f64,
    /// Megabytes (10⁶ bytes) per second.
    pub mb_per_s: f64,
}

/// `ocrperf baseline`: one run's steady-state performance and what holds it back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineReport {
    /// The run described.
    pub run: RunInfo,
    /// The files read, with their formats (`path (format)`).
    pub sources: Vec<String>,
    /// How much was read.
    pub read: SourcesRead,
    /// Repeated runs summarised together (1 for one run).
    pub runs: u32,
    /// The warm-up rule applied to every series, in words.
    pub warmup_rule: String,
    /// Per metric, gated ones first, then by name.
    pub metrics: Vec<BaselineMetric>,
    /// The bottleneck analysis the sources support, most severe first.
    pub findings: Vec<Recommendation>,
    /// What `--lenient` skipped: the first damage in each damaged file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub damage: Vec<DamageSummary>,
    /// Caveats a reader should know.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Report for BaselineReport {
    const KIND: ReportKind = ReportKind::Baseline;
    const MAJOR: u32 = 1;
}

impl ToMetrics for BaselineReport {
    fn collect_metrics(&self, out: &mut MetricsBuilder) {
        for metric in &self.metrics {
            if let Some(better) = metric.better.better() {
                out.add(&metric.name, metric.typical(), metric.unit, better);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_round_trips_and_info_is_not_gated() {
        for (direction, text) in [(Direction::Higher, "higher"), (Direction::Lower, "lower"), (Direction::Info, "info")]
        {
            assert_eq!(serde_json::to_value(direction).unwrap(), text);
            assert_eq!(direction.as_str(), text);
        }
        assert_eq!(Direction::Info.better(), None);
        assert_eq!(Direction::from(Better::Lower), Direction::Lower);
    }
}
