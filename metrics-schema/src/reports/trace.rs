//! Reports of `ocrperf trace`: the analysis of PyTorch profiler traces, and the diff of two.
//!
//! Field names of `steps`, `dataloader`, `gpu`, `top_ops`, `top_kernels`, `recommendations`,
//! `ranks` and `stragglers` are a contract with other tools: rename nothing, only add.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Better, MetricsBuilder, Report, ReportKind, ToMetrics, Unit};

/// `ocrperf trace analyze`: one trace, or one run's rank traces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceAnalysisReport {
    /// The trace the detailed sections describe (the lowest rank for a run).
    pub file: String,
    /// Its rank, from `distributedInfo` or the file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
    /// How the trace was read.
    pub read: ReadSummary,
    /// The time window every fraction is relative to.
    pub window: WindowSummary,
    /// `ProfilerStep#N` durations.
    pub steps: StepStats,
    /// Time in `enumerate(DataLoader)…` spans.
    pub dataloader: DataloaderStats,
    /// Device activity.
    pub gpu: GpuStats,
    /// Time in collectives, on the device (NCCL, RCCL, HCCL) or on the host (gloo, MPI, UCC).
    #[serde(default)]
    pub communication: CommunicationStats,
    /// Where each step's wall time went.
    pub breakdown: StepBreakdown,
    /// HTA's temporal breakdown (idle / compute / non-compute of the kernel span), per device.
    pub temporal: Vec<TemporalBreakdown>,
    /// Caching-allocator high-water marks, where the trace has `[memory]` events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Vec<MemoryHighWater>>,
    /// Host ops by self time.
    pub top_ops: Vec<OpStat>,
    /// Kernels by total time, with the op that launched them.
    pub top_kernels: Vec<KernelStat>,
    /// What to change, most severe first.
    pub recommendations: Vec<Recommendation>,
    /// One entry per rank when a run's traces were analysed together.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranks: Vec<RankSummary>,
    /// Ranks that hold the others back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stragglers: Vec<Straggler>,
    /// Caveats a reader should know (no steps found, damaged input, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// How much was read and how fast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadSummary {
    /// Uncompressed JSON bytes read (over all ranks).
    pub bytes: u64,
    /// Trace events read (over all ranks).
    pub events: u64,
    /// Wall time to read and analyse.
    pub seconds: f64,
    /// Uncompressed megabytes (10⁶ bytes) per second.
    pub mb_per_s: f64,
    /// Set when the trace was damaged and read with `--lenient`: what was analysed stops there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damage: Option<DamageSummary>,
}

/// Where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DamageSummary {
    /// The damaged file.
    pub file: String,
    /// Uncompressed byte offset.
    pub offset: u64,
    /// What was wrong.
    pub message: String,
}

/// The analysis window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowSummary {
    /// `profiler_steps` (first step's start to last step's end) or `whole_trace`.
    pub source: String,
    /// Length in milliseconds.
    pub duration_ms: f64,
}

/// Step durations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepStats {
    /// Number of `ProfilerStep#N` spans (0 when the trace has none).
    pub count: usize,
    /// Mean duration.
    pub mean_ms: f64,
    /// Median duration.
    pub median_ms: f64,
    /// 95th percentile (linear interpolation, as NumPy).
    pub p95_ms: f64,
    /// Longest step.
    pub max_ms: f64,
}

/// Data-loading time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataloaderStats {
    /// Covered time per step.
    pub ms_per_step: f64,
    /// Covered time (union of the spans, clipped to the window) over the window's length.
    pub fraction: f64,
}

/// Device activity over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuStats {
    /// Union of kernel, memcpy and memset intervals over the window's length (mean over
    /// devices when there are several).
    pub busy_fraction: f64,
    /// `1 − busy_fraction`.
    pub idle_fraction: f64,
    /// Summed kernel durations.
    pub kernel_ms: f64,
    /// Summed copy durations.
    pub memcpy_ms: f64,
    /// Summed fill durations.
    pub memset_ms: f64,
    /// Summed durations of kernels that are not communication.
    pub compute_ms: f64,
    /// Summed durations of communication (NCCL/RCCL/HCCL) kernels.
    pub communication_ms: f64,
    /// The same per device, when the trace has several.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceGpuStats>,
}

impl GpuStats {
    /// No activity.
    pub fn idle() -> GpuStats {
        GpuStats {
            busy_fraction: 0.0,
            idle_fraction: 1.0,
            kernel_ms: 0.0,
            memcpy_ms: 0.0,
            memset_ms: 0.0,
            compute_ms: 0.0,
            communication_ms: 0.0,
            devices: Vec::new(),
        }
    }
}

/// One device's activity: the same fields as [`GpuStats`], for that device alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceGpuStats {
    /// Device index.
    pub device: i32,
    /// Its figures (`devices` stays empty).
    #[serde(flatten)]
    pub stats: GpuStats,
}

/// Time in collectives. With a device backend (NCCL and its kin) it is the communication
/// kernels' time, as `gpu.communication_ms`; with a host backend (gloo, MPI, UCC) collectives
/// are host work (`gloo:all_reduce` annotations, `c10d::` and `record_param_comms` ops), and it
/// is the time those spans cover.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommunicationStats {
    /// `distributedInfo.backend` (`nccl`, `gloo`, `mpi`, `ucc`), where the trace records it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// True when collectives run on the host (a host backend, or no backend recorded, no
    /// communication kernels and host collective spans).
    pub on_host: bool,
    /// Collective time per step.
    pub ms_per_step: f64,
    /// Collective time as a share of the window.
    pub fraction: f64,
}

/// Each step's wall time split into parts that add up to it.
///
/// Priority order: time when any device is busy is `gpu`; of the rest, time inside a data
/// loader span is `data_wait`, then inside a host-side collective `communication` (host
/// backends only), then inside a synchronising call `sync`, then inside any other host span
/// `host`, and what remains is `other`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepBreakdown {
    /// Each part's share of all steps' time.
    pub fractions: BreakdownParts,
    /// One row per step.
    pub per_step: Vec<StepParts>,
}

/// Fractions of step time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakdownParts {
    /// A device is busy (GPU-bound).
    pub gpu: f64,
    /// Waiting for the next batch.
    pub data_wait: f64,
    /// In a host-side collective (gloo, MPI, UCC), with the devices idle.
    #[serde(default)]
    pub communication: f64,
    /// Blocked in a synchronising call with the devices idle.
    pub sync: f64,
    /// Host-side compute (ops, Python overhead inside ops, launches) with the devices idle.
    pub host: f64,
    /// Nothing recorded.
    pub other: f64,
}

/// One step's parts, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepParts {
    /// The `N` of `ProfilerStep#N` (0 for a trace without steps).
    pub step: u64,
    /// Wall time.
    pub duration_ms: f64,
    /// Devices busy.
    pub gpu_ms: f64,
    /// Data wait.
    pub data_wait_ms: f64,
    /// Host-side collectives.
    #[serde(default)]
    pub communication_ms: f64,
    /// Synchronisation.
    pub sync_ms: f64,
    /// Host-side compute.
    pub host_ms: f64,
    /// Unaccounted.
    pub other_ms: f64,
}

/// HTA's `get_temporal_breakdown` for one device, computed the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemporalBreakdown {
    /// Device index.
    pub device: i32,
    /// From the first device activity's start to the last one's end.
    pub kernel_time_ms: f64,
    /// Percentage of that span with no activity.
    pub idle_pct: f64,
    /// Percentage covered by compute kernels.
    pub compute_pct: f64,
    /// The rest: copies, fills and communication not overlapped by compute.
    pub non_compute_pct: f64,
}

/// Caching-allocator figures for one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryHighWater {
    /// `cpu` or `cuda:N`.
    pub device: String,
    /// Highest `Total Allocated`.
    pub peak_allocated_bytes: u64,
    /// Highest `Total Reserved`.
    pub peak_reserved_bytes: u64,
    /// The device's memory from `deviceProperties`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_bytes: Option<u64>,
    /// True when the trace has no `Total Allocated` (PyTorch 1.x): the peak is then of the
    /// bytes allocated *during* the trace (a running sum of each event's `Bytes`), not counting
    /// what was allocated before profiling began.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_deltas: bool,
}

/// One host op.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpStat {
    /// Op name (`ProfilerStep#*` for all steps).
    pub name: String,
    /// Calls.
    pub count: u64,
    /// Duration minus direct children on the same thread.
    pub self_ms: f64,
    /// Duration.
    pub total_ms: f64,
}

/// One kernel, under one launching op.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelStat {
    /// Kernel name.
    pub name: String,
    /// The op that launched it (through `External id`), empty when unknown.
    pub op: String,
    /// Launches.
    pub count: u64,
    /// Summed duration.
    pub total_ms: f64,
    /// Mean duration.
    pub mean_ms: f64,
}

/// How urgent a recommendation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Costs noticeable time.
    Warning,
    /// The main bottleneck.
    Critical,
}

impl Severity {
    /// As written in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// A finding and what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Stable id (`dataloader-bound`, `host-sync`, ...).
    pub id: String,
    /// How urgent.
    pub severity: Severity,
    /// One line.
    pub title: String,
    /// The numbers behind it.
    pub evidence: BTreeMap<String, f64>,
    /// What to change.
    pub suggestion: String,
}

/// One rank of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankSummary {
    /// Rank.
    pub rank: u32,
    /// Its trace.
    pub file: String,
    /// Its steps.
    pub steps: StepStats,
    /// Its data loading.
    pub dataloader: DataloaderStats,
    /// Its devices.
    pub gpu: GpuStats,
    /// Its collectives.
    #[serde(default)]
    pub communication: CommunicationStats,
}

/// A rank that holds the others back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Straggler {
    /// Rank.
    pub rank: u32,
    /// Why, in words, with the numbers.
    pub reason: String,
    /// Its non-communication time per step above the other ranks' median.
    pub excess_ms_per_step: f64,
}

impl Report for TraceAnalysisReport {
    const KIND: ReportKind = ReportKind::TraceAnalysis;
    const MAJOR: u32 = 1;
}

impl ToMetrics for TraceAnalysisReport {
    fn collect_metrics(&self, out: &mut MetricsBuilder) {
        out.scope("trace", |trace| {
            trace.add("steps.mean_ms", self.steps.mean_ms, Unit::Milliseconds, Better::Lower);
            trace.add("steps.p95_ms", self.steps.p95_ms, Unit::Milliseconds, Better::Lower);
            trace.add("dataloader.fraction", self.dataloader.fraction, Unit::Ratio, Better::Lower);
            trace.add("gpu.busy_fraction", self.gpu.busy_fraction, Unit::Ratio, Better::Higher);
            for rank in &self.ranks {
                trace.add(
                    &format!("rank{}.steps.mean_ms", rank.rank),
                    rank.steps.mean_ms,
                    Unit::Milliseconds,
                    Better::Lower,
                );
            }
        });
    }
}

/// `ocrperf trace diff A B`: what changed between two traces or runs, per step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceDiffReport {
    /// The baseline.
    pub a: DiffSide,
    /// The candidate.
    pub b: DiffSide,
    /// Step time and its parts, per step.
    pub steps: Vec<DiffRow>,
    /// Host ops by self time per step, largest change first.
    pub ops: Vec<DiffRow>,
    /// Kernels by time per step, largest change first.
    pub kernels: Vec<DiffRow>,
    /// Caveats a reader should know (one side has no steps, so per-step figures are not
    /// compared, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One side of a diff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffSide {
    /// The trace (or the detailed rank's trace).
    pub file: String,
    /// Its steps.
    pub steps: StepStats,
}

/// One compared quantity, per step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffRow {
    /// What is compared.
    pub name: String,
    /// Milliseconds per step in A.
    pub a_ms: f64,
    /// Milliseconds per step in B.
    pub b_ms: f64,
    /// `b_ms − a_ms`.
    pub delta_ms: f64,
    /// `b_ms / a_ms` (absent when A has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// Calls per step in A and B, for ops and kernels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count_per_step: Option<[f64; 2]>,
}

impl Report for TraceDiffReport {
    const KIND: ReportKind = ReportKind::TraceDiff;
    const MAJOR: u32 = 1;
}

impl ToMetrics for TraceDiffReport {
    fn collect_metrics(&self, out: &mut MetricsBuilder) {
        if let Some(step) = self.steps.first() {
            out.add("trace_diff.step.delta_ms", step.delta_ms, Unit::Milliseconds, Better::Lower);
        }
    }
}
