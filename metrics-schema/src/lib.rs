//! The common vocabulary of ocrperf: the report envelope, metrics and host description that
//! every crate writes and the regression gate reads.
//!
//! Every JSON report that ocrperf produces is an [`Envelope`]: a top-level object with
//! `schema` (`ocrperf.<kind>.v<major>`), `tool_version`, `created_at` (RFC 3339, UTC), `host`
//! ([`HostInfo`]), optionally `git` ([`GitInfo`]), and the report's own fields *beside* them at
//! the top level. Reading a report checks its schema id first, so a file of another kind or of a
//! newer major version fails with a clear [`Error`] instead of a confusing field error. Unknown
//! extra fields are accepted, so older readers keep working when a report grows.
//!
//! Every report also implements [`ToMetrics`], which flattens it into [`Metric`]s with dotted
//! names (`throughput.samples_per_s`) and a direction ([`Better`]); that flat list is what a
//! regression gate compares between runs.
//!
//! Small shared pieces live here too, because every front end needs them the same way:
//! [`HumanDuration`] (durations written `200ms`, `1s`, `2m`), [`format_bytes`] (`125.8 GiB`), [`Distribution`] (summary
//! statistics from samples) and [`write_atomic`] (temp file + rename, so output is never
//! half-written).
//!
//! What this crate does not do: it measures nothing and renders nothing for people. Feature
//! crates compute reports; `cli` turns them into tables.
//!
//! # Example
//!
//! ```
//! use metrics_schema::{Envelope, HostInfo, HostInfoReport};
//!
//! let envelope = Envelope::new(HostInfoReport {}, HostInfo::detect(), None);
//! let json = serde_json::to_string(&envelope)?;
//! assert!(json.starts_with(r#"{"schema":"ocrperf.host-info.v1""#));
//!
//! let back: Envelope<HostInfoReport> = Envelope::from_json(&json)?;
//! assert_eq!(back.host, envelope.host);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod atomic;
pub mod batch_events;
mod bytes;
mod duration;
mod envelope;
mod error;
mod git;
mod host;
pub mod lightning_csv;
mod metric;
mod reports;
mod schema_id;
pub mod text;
mod text_serde;
mod timestamp;

/// The longest batch phase (data wait, compute) or training step any reader accepts: one hour.
/// A value beyond it is an error naming its place, never clamped or silently dropped, so the
/// statistics a report shows are always of what was recorded.
pub const MAX_STEP_SECONDS: f64 = 3600.0;

pub use atomic::{create_output_dir, write_atomic, write_set_atomic};
pub use bytes::{format_bytes, format_metric_value, format_number};
pub use duration::{DurationRange, HumanDuration};
pub use envelope::{Envelope, Report, peek_schema};
pub use error::Error;
pub use git::GitInfo;
pub use host::{GpuInfo, HostInfo};
pub use metric::{Better, Distribution, Metric, MetricsBuilder, ToMetrics, Unit};
pub use reports::{
    AlertEvent, AlertLine, AlertState, BaselineMetric, BaselineReport, BatchEvent, Bottleneck, BreakdownParts,
    CacheReport, CommunicationStats, Comparison, DamageSummary, DataloaderStats, DecisionRule, DeviceGpuStats, DiffRow,
    DiffSide, Direction, DiskSample, EpochReport, FileDigest, GateSettings, GpuProcess, GpuSample, GpuStats,
    HostInfoReport, HostSample, KernelStat, LevelShift, MONITOR_METRICS, MONITOR_SAMPLES_SCHEMA, MemoryHighWater,
    MemoryStats, MetricKind, MetricSummary, MetricsReport, MonitorHeader, MonitorLine, MonitorOverhead, MonitorSample,
    MonitorSummaryReport, NetSample, OpStat, ParitySummary, Percentiles, PhaseReport, PhaseStep, ProcessSample,
    RankSummary, ReadSummary, Recommendation, RegressReport, RegressSide, RunInfo, Severity, SourcesRead,
    StepBreakdown, StepParts, StepStats, StepStatus, Straggler, TargetsBenchReport, TargetsDigestReport,
    TemporalBreakdown, ThroughputReport, TraceAnalysisReport, TraceDiffReport, Verdict, VerdictCounts, WindowSummary,
};
pub use schema_id::{ReportKind, SchemaId};
pub use timestamp::Timestamp;

/// The version of the ocrperf tools, written into every report as `tool_version`.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
