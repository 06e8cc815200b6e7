//! `ocrperf regress`: a current run against a baseline, metric by metric, with a verdict each.

use serde::{Deserialize, Serialize};

use crate::{Better, MetricsBuilder, Report, ReportKind, RunInfo, ToMetrics, Unit};

/// What the gate concluded about one metric, or about the whole comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Verdict {
    /// Worse, significantly and beyond the threshold.
    Regressed,
    /// Better, significantly and beyond the threshold.
    Improved,
    /// Neither.
    Unchanged,
    /// Could not be compared: a different host or GPU, too few samples, missing on one side.
    NotComparable,
}

impl Verdict {
    /// As written in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::NotComparable => "not comparable",
        }
    }
}

/// Which decision rule judged a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum DecisionRule {
    /// Several repeated runs a side: Mann–Whitney U on the runs' values.
    Runs,
    /// A series a side (before 0.2): Mann–Whitney U on block means. Kept so that older reports
    /// still read; no longer chosen.
    Blocks,
    /// Several samples a side (a series, or 2 to 4 runs' values): the ratio of the steady-state
    /// means, with Newey–West standard errors and Student's t.
    Mean,
    /// One value a side: the ratio against the threshold and the noise floor.
    SingleValue,
    /// No rule applied (the metric was not comparable).
    None,
}

impl DecisionRule {
    /// As written in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionRule::Runs => "runs",
            DecisionRule::Blocks => "blocks",
            DecisionRule::Mean => "mean",
            DecisionRule::SingleValue => "single-value",
            DecisionRule::None => "none",
        }
    }
}

/// One metric compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The metric's name.
    pub name: String,
    /// Its unit.
    pub unit: Unit,
    /// Which way is better.
    pub better: Better,
    /// The baseline's value as the rule judged it (the steady-state mean; the single value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    /// The current run's value, likewise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<f64>,
    /// Relative change of the current run against the baseline (0.12 = 12% larger), as
    /// estimated by the rule (the ratio of means; Hodges–Lehmann for the runs rule). Absent
    /// when the baseline is zero: then the absolute difference and the noise floor decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<f64>,
    /// The change of the steady-state medians: a secondary figure (stalls move the mean and
    /// leave the median).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_change: Option<f64>,
    /// Confidence interval of `change`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<[f64; 2]>,
    /// Two-sided p-value of the significance test (rank rules only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
    /// The relative change that counts (0.05 = a factor of 1.05 either way).
    pub threshold: f64,
    /// The smallest absolute difference that counts, in the metric's unit.
    pub noise_floor: f64,
    /// The rule that decided.
    pub rule: DecisionRule,
    /// Samples the rule used a side (runs, blocks or 1).
    pub n: [u64; 2],
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in words.
    pub reason: String,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressSide {
    /// What was given on the command line.
    pub label: String,
    /// The run, as its sources describe it.
    pub run: RunInfo,
    /// Repeated runs on this side.
    pub runs: u32,
}

/// The settings the gate ran with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateSettings {
    /// The default relative threshold.
    pub threshold: f64,
    /// Significance level of the rank tests.
    pub alpha: f64,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// Whether the host names must match.
    pub require_same_host: bool,
    /// The thresholds file, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds_file: Option<String>,
}

/// How many metrics got each verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictCounts {
    /// Regressed metrics.
    pub regressed: u64,
    /// Improved metrics.
    pub improved: u64,
    /// Unchanged metrics.
    pub unchanged: u64,
    /// Metrics that could not be compared.
    pub not_comparable: u64,
    /// Metrics with no direction (`info`) or ignored by the thresholds file: never gated.
    pub not_gated: u64,
}

/// `ocrperf regress`: the verdict of the performance gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressReport {
    /// The baseline side.
    pub baseline: RegressSide,
    /// The current side.
    pub current: RegressSide,
    /// The decision rule, in words.
    pub rule: String,
    /// The settings.
    pub settings: GateSettings,
    /// Regressed if any metric regressed; else improved if any improved; else unchanged if any
    /// was compared; else not comparable.
    pub verdict: Verdict,
    /// Metrics per verdict.
    pub counts: VerdictCounts,
    /// Why the whole comparison is not comparable (hosts or GPUs differ), when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// One entry per gated metric: regressions first, then improvements, then the rest, by name
    /// within each.
    pub comparisons: Vec<Comparison>,
}

impl Report for RegressReport {
    const KIND: ReportKind = ReportKind::Regress;
    const MAJOR: u32 = 1;
}

impl ToMetrics for RegressReport {
    fn collect_metrics(&self, out: &mut MetricsBuilder) {
        out.scope("regress", |r| {
            r.add("regressed", self.counts.regressed as f64, Unit::Count, Better::Lower);
            r.add("improved", self.counts.improved as f64, Unit::Count, Better::Higher);
        });
    }
}

/// `ocrperf.metrics.v1`: a plain list of named metrics, for numbers that no other report holds
/// (a custom benchmark, the project's own `cargo xtask perf-gate` rounds). The gate reads it like
/// any report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsReport {
    /// What was measured, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The metrics.
    pub metrics: Vec<crate::Metric>,
}

impl Report for MetricsReport {
    const KIND: ReportKind = ReportKind::Metrics;
    const MAJOR: u32 = 1;
}

impl ToMetrics for MetricsReport {
    fn collect_metrics(&self, out: &mut MetricsBuilder) {
        for metric in &self.metrics {
            out.add(&metric.name, metric.value, metric.unit, metric.better);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_and_rules_read_as_words() {
        assert_eq!(serde_json::to_value(Verdict::NotComparable).unwrap(), "not-comparable");
        assert_eq!(Verdict::NotComparable.as_str(), "not comparable");
        assert_eq!(serde_json::to_value(DecisionRule::SingleValue).unwrap(), "single-value");
        assert_eq!(DecisionRule::Blocks.as_str(), "blocks");
    }
}
