//! Schema ids: `ocrperf.<kind>.v<major>`.

use std::{fmt, str::FromStr};

use crate::Error;

/// The kinds of report ocrperf knows. Each feature adds its kind here when it lands, so that
/// any reader (the regression gate above all) can tell "unknown" from "malformed".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ReportKind {
    /// `ocrperf info`: the host description alone.
    HostInfo,
    /// `cargo xtask phaseN`: the steps of one phase and how they went.
    Phase,
    /// `ocrperf targets digest|gen`: SHA-256 of each DBNet map, and parity with a reference.
    TargetsDigest,
    /// `ocrperf targets bench`: DBNet target generation speed and cache behaviour.
    TargetsBench,
    /// `ocrperf trace analyze`: steps, data wait, GPU activity and recommendations from traces.
    TraceAnalysis,
    /// `ocrperf trace diff`: per-step, per-op and per-kernel changes between two traces.
    TraceDiff,
    /// `ocrperf monitor`: per-metric statistics and alerts of a monitored run.
    MonitorSummary,
    /// `ocrperf throughput`: samples/s, batch-time percentiles, data wait and the verdict.
    Throughput,
    /// `ocrperf baseline`: a run's steady-state metrics and its bottlenecks.
    Baseline,
    /// `ocrperf regress`: a run against a baseline, with a verdict per metric.
    Regress,
    /// A plain list of named metrics (custom benchmarks, `cargo xtask perf-gate`).
    Metrics,
}

impl ReportKind {
    /// Every kind, in a stable order.
    pub const ALL: &'static [ReportKind] = &[
        ReportKind::HostInfo,
        ReportKind::Phase,
        ReportKind::TargetsDigest,
        ReportKind::TargetsBench,
        ReportKind::TraceAnalysis,
        ReportKind::TraceDiff,
        ReportKind::MonitorSummary,
        ReportKind::Throughput,
        ReportKind::Baseline,
        ReportKind::Regress,
        ReportKind::Metrics,
    ];

    /// The kind as written inside a schema id.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::HostInfo => "host-info",
            ReportKind::Phase => "phase",
            ReportKind::TargetsDigest => "targets-digest",
            ReportKind::TargetsBench => "targets-bench",
            ReportKind::TraceAnalysis => "trace-analysis",
            ReportKind::TraceDiff => "trace-diff",
            ReportKind::MonitorSummary => "monitor-summary",
            ReportKind::Throughput => "throughput",
            ReportKind::Baseline => "baseline",
            ReportKind::Regress => "regress",
            ReportKind::Metrics => "metrics",
        }
    }

    fn known_list() -> String {
        let names: Vec<_> = Self::ALL.iter().map(|kind| kind.as_str()).collect();
        names.join(", ")
    }
}

impl fmt::Display for ReportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed `schema` field, such as `ocrperf.trace-analysis.v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SchemaId {
    /// What the report is.
    pub kind: ReportKind,
    /// The major version of its layout; readers refuse majors newer than their own.
    pub major: u32,
}

impl SchemaId {
    /// The common prefix of every ocrperf schema id.
    pub const PREFIX: &'static str = "ocrperf.";
}

impl fmt::Display for SchemaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}.v{}", Self::PREFIX, self.kind, self.major)
    }
}

impl FromStr for SchemaId {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidSchemaId(text.to_owned());
        let rest = text.strip_prefix(Self::PREFIX).ok_or_else(invalid)?;
        let (kind, version) = rest.rsplit_once('.').ok_or_else(invalid)?;
        let major = version
            .strip_prefix('v')
            .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse().ok())
            .ok_or_else(invalid)?;
        let kind = ReportKind::ALL
            .iter()
            .copied()
            .find(|known| known.as_str() == kind)
            .ok_or_else(|| Error::UnknownKind { kind: kind.to_owned(), known: ReportKind::known_list() })?;
        Ok(SchemaId { kind, major })
    }
}

crate::text_serde::serde_as_text!(SchemaId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_kind() {
        for &kind in ReportKind::ALL {
            let id = SchemaId { kind, major: 3 };
            let text = id.to_string();
            assert_eq!(text, format!("ocrperf.{}.v3", kind.as_str()));
            assert_eq!(text.parse::<SchemaId>().unwrap(), id);
        }
    }

    #[test]
    fn refuses_malformed_ids() {
        for bad in [
            "",
            "ocrperf",
            "ocrperf.phase",
            "ocrperf.phase.1",
            "ocrperf.phase.v",
            "other.phase.v1",
            "ocrperf.phase.v1x",
            "ocrperf.phase.v-1",
        ] {
            let err = bad.parse::<SchemaId>().unwrap_err();
            assert!(matches!(err, Error::InvalidSchemaId(ref s) if s == bad), "{bad}: {err}");
        }
    }

    #[test]
    fn names_unknown_kinds_and_lists_known_ones() {
        let err = "ocrperf.teleport.v1".parse::<SchemaId>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown report kind `teleport` (known: host-info, phase, targets-digest, targets-bench, trace-analysis, trace-diff, monitor-summary, throughput, baseline, regress, metrics); is it from a newer ocrperf?"
        );
    }
}
