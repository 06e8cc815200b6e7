//! The report payloads of the tools that exist so far. Each capability adds its own here.

mod baseline;
mod monitor;
mod regress;
mod targets;
mod throughput;
mod trace;

pub use baseline::{BaselineMetric, BaselineReport, Direction, LevelShift, MetricKind, RunInfo, SourcesRead};
pub use monitor::{
    AlertEvent, AlertLine, AlertState, DiskSample, GpuProcess, GpuSample, HostSample, MONITOR_METRICS,
    MONITOR_SAMPLES_SCHEMA, MetricSummary, MonitorHeader, MonitorLine, MonitorOverhead, MonitorSample,
    MonitorSummaryReport, NetSample, ProcessSample,
};
pub use regress::{
    Comparison, DecisionRule, GateSettings, MetricsReport, RegressReport, RegressSide, Verdict, VerdictCounts,
};
pub use targets::{CacheReport, EpochReport, FileDigest, ParitySummary, TargetsBenchReport, TargetsDigestReport};
pub use throughput::{BatchEvent, Bottleneck, MemoryStats, Percentiles, ThroughputReport};
pub use trace::{
    BreakdownParts, CommunicationStats, DamageSummary, DataloaderStats, DeviceGpuStats, DiffRow, DiffSide, GpuStats,
    KernelStat, MemoryHighWater, OpStat, RankSummary, ReadSummary, Recommendation, Severity, StepBreakdown, StepParts,
    StepStats, Straggler, TemporalBreakdown, TraceAnalysisReport, TraceDiffReport, WindowSummary,
};

use serde::{Deserialize, Serialize};

use crate::{Better, MetricsBuilder, Report, ReportKind, ToMetrics, Unit};

/// `ocrperf info`: the envelope's `host` is the whole content, so the payload is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInfoReport {}

impl Report for HostInfoReport {
    const KIND: ReportKind = ReportKind::HostInfo;
    const MAJOR: u32 = 1;
}

impl ToMetrics for HostInfoReport {
    fn collect_metrics(&self, _out: &mut MetricsBuilder) {}
}

/// `cargo xtask phaseN`: one phase's steps and whether the phase passed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseReport {
    /// `phase1`, `phase2` or `phase3`.
    pub phase: String,
    /// True only when every step passed.
    pub passed: bool,
    /// The steps in the order they ran.
    pub steps: Vec<PhaseStep>,
}

/// One step of a phase: one crate's checks and its demo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseStep {
    /// The step's name.
    pub name: String,
    /// The workspace crate the step exercises.
    #[serde(rename = "crate")]
    pub crate_name: String,
    /// How it went.
    pub status: StepStatus,
    /// The figure that matters most, as shown in the table (`412 images/s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_figure: Option<String>,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Wall time of the step.
    pub seconds: f64,
}

/// The outcome of a phase step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StepStatus {
    /// Checks and demo passed.
    Passed,
    /// Checks or demo failed.
    Failed,
    /// The crate is not in the workspace yet.
    Missing,
    /// Not run, because an earlier step failed.
    Skipped,
}

impl StepStatus {
    /// The status as written in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Passed => "passed",
            StepStatus::Failed => "failed",
            StepStatus::Missing => "missing",
            StepStatus::Skipped => "skipped",
        }
    }
}

impl Report for PhaseReport {
    const KIND: ReportKind = ReportKind::Phase;
    const MAJOR: u32 = 1;
}

impl ToMetrics for PhaseReport {
    fn collect_metrics(&self, out: &mut MetricsBuilder) {
        out.scope(&self.phase, |phase| {
            for step in &self.steps {
                phase.add(&format!("{}.seconds", step.name), step.seconds, Unit::Seconds, Better::Lower);
            }
        });
    }
}
