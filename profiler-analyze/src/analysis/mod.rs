//! The analyses of one trace. Every figure is computed from the compact [`Trace`] in a few
//! linear passes plus sorts; nothing here reads the file again.

mod breakdown;
mod classes;
mod gpu;
mod intervals;
mod ops;
pub(crate) mod recommend;
mod steps;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use metrics_schema::{
    CommunicationStats, DataloaderStats, GpuStats, KernelStat, MemoryHighWater, OpStat, Recommendation, StepBreakdown,
    StepStats, TemporalBreakdown,
};

use classes::{HOST_BACKENDS, HOST_COMMUNICATION};
use intervals::IntervalSet;
use steps::Steps;

use crate::trace::{CpuKind, EventId, GpuKind, NO_ID, Nanos, Trace};

/// Everything computed about one trace, before it is cut down to a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// True when the window comes from `ProfilerStep#N` spans.
    pub has_steps: bool,
    /// Window length in milliseconds.
    pub window_ms: f64,
    /// Step durations.
    pub steps: StepStats,
    /// Data-loader time.
    pub dataloader: DataloaderStats,
    /// Device activity.
    pub gpu: GpuStats,
    /// Collectives, on the device or the host.
    pub communication: CommunicationStats,
    /// Per-step time breakdown.
    pub breakdown: StepBreakdown,
    /// HTA-style temporal breakdown per device.
    pub temporal: Vec<TemporalBreakdown>,
    /// `[memory]` high-water marks.
    pub memory: Option<Vec<MemoryHighWater>>,
    /// All ops, by self time.
    pub ops: Vec<OpStat>,
    /// All kernels, by total time.
    pub kernels: Vec<KernelStat>,
    /// Findings, most severe first.
    pub recommendations: Vec<Recommendation>,
    /// Busy share of each device over the window, in [`OCCUPANCY_BINS`] equal bins.
    pub occupancy: Vec<(i32, Vec<f64>)>,
    /// Contradictions that were read anyway (a step number seen twice with other times).
    pub warnings: Vec<String>,
    /// Caveats a reader of the figures should know (steps that overlap).
    pub notes: Vec<String>,
}

/// One `ProfilerStep#N` of a trace, with its data wait: what a throughput view needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepTiming {
    /// The `N` of `ProfilerStep#N`.
    pub number: u64,
    /// Start, in trace nanoseconds.
    pub start_ns: i64,
    /// Length in nanoseconds.
    pub duration_ns: i64,
    /// The part of the step inside `enumerate(DataLoader)…` spans (their union).
    pub data_wait_ns: i64,
}

/// The trace's steps in time order, each with its data wait, by the same step and DataLoader
/// name rules as [`analyze`]. Empty when the trace has no `ProfilerStep#N` spans.
pub fn step_timings(trace: &Trace) -> Vec<StepTiming> {
    step_timings_with_warnings(trace).0
}

/// [`step_timings`], and the warnings [`Analysis::warnings`] would hold about them (a step
/// number seen twice with other times, counted once).
pub fn step_timings_with_warnings(trace: &Trace) -> (Vec<StepTiming>, Vec<String>) {
    let classes = classes::NameClasses::of(trace);
    let steps = Steps::find(trace, &classes);
    if !steps.from_profiler {
        return (Vec::new(), Vec::new());
    }
    let loading = steps::dataloader_intervals(trace, &classes);
    let timings = steps
        .steps
        .iter()
        .map(|step| StepTiming {
            number: step.number,
            start_ns: step.start,
            duration_ns: step.end - step.start,
            data_wait_ns: loading.covered(step.start, step.end),
        })
        .collect();
    (timings, steps.warnings)
}

/// Resolution of [`Analysis::occupancy`].
pub const OCCUPANCY_BINS: usize = 400;

/// Analyses one trace.
pub fn analyze(trace: &Trace) -> Analysis {
    let classes = classes::NameClasses::of(trace);
    let steps = Steps::find(trace, &classes);
    let dataloader_spans = steps::dataloader_intervals(trace, &classes);
    let dataloader = steps::dataloader_stats(&steps, &dataloader_spans);
    let activity = gpu::DeviceActivity::collect(trace);
    let gpu_stats = gpu::gpu_stats(trace, &classes, &steps, &activity);
    let launching = device_scalar_reads(trace, &classes);
    let host_collectives = IntervalSet::union_of(
        trace.cpu.iter().filter(|span| classes.has(span.name, HOST_COMMUNICATION)).map(|span| (span.start, span.end)),
    );
    let communication = communication_stats(trace, &steps, &gpu_stats, &host_collectives);
    let order = ops::thread_order(trace);
    let layers = breakdown::Layers::build(
        trace,
        &order,
        &classes,
        &launching,
        &activity,
        &dataloader_spans,
        communication.on_host.then_some(&host_collectives),
    );
    let breakdown = breakdown::step_breakdown(&steps, &layers);
    let memory = memory_high_water(trace);
    let ops = ops::op_stats(trace, &order, &classes, &steps);
    drop(order);
    let kernels = ops::kernel_stats(trace, &steps);
    let mut analysis = Analysis {
        has_steps: steps.from_profiler,
        window_ms: ms(steps.window_len()),
        steps: steps.stats(),
        dataloader,
        gpu: gpu_stats,
        communication,
        breakdown,
        temporal: gpu::temporal_breakdown(trace, &classes, &steps),
        memory,
        ops,
        kernels,
        recommendations: Vec::new(),
        occupancy: occupancy(&steps, &activity),
        warnings: steps.warnings.clone(),
        notes: steps.notes.clone(),
    };
    analysis.recommendations = recommend::recommend(&recommend::Context {
        trace,
        classes: &classes,
        launching: &launching,
        steps: &steps,
        analysis: &analysis,
    });
    analysis
}

/// Where the collectives run, and how long they take. A host backend's collectives are the
/// host spans; a device backend's are the communication kernels (`gpu.communication_ms`, as
/// before host backends were known). Without a recorded backend, host spans count only when
/// there are no communication kernels.
fn communication_stats(
    trace: &Trace,
    steps: &Steps,
    gpu: &GpuStats,
    host_collectives: &IntervalSet,
) -> CommunicationStats {
    let backend = trace.meta.backend.clone();
    let (lo, hi) = steps.window;
    let host_ns = host_collectives.covered(lo, hi);
    let on_host = match backend.as_deref() {
        Some(name) => HOST_BACKENDS.contains(&name),
        None => gpu.communication_ms == 0.0 && host_ns > 0,
    };
    let total_ms = if on_host { ms(host_ns) } else { gpu.communication_ms };
    let window_ms = ms(steps.window_len());
    CommunicationStats {
        backend,
        on_host,
        ms_per_step: total_ms / steps.per_step_divisor(),
        fraction: if window_ms > 0.0 { (total_ms / window_ms).min(1.0) } else { 0.0 },
    }
}

fn occupancy(steps: &Steps, activity: &gpu::DeviceActivity) -> Vec<(i32, Vec<f64>)> {
    let (lo, hi) = steps.window;
    let width = (hi - lo) as f64 / OCCUPANCY_BINS as f64;
    if width <= 0.0 {
        return Vec::new();
    }
    activity
        .busy
        .iter()
        .map(|(&device, busy)| {
            let bins = (0..OCCUPANCY_BINS)
                .map(|bin| {
                    let start = lo + (bin as f64 * width) as Nanos;
                    let end = lo + ((bin + 1) as f64 * width) as Nanos;
                    steps::fraction(busy.covered(start, end), end - start)
                })
                .collect();
            (device, bins)
        })
        .collect()
}

fn memory_high_water(trace: &Trace) -> Option<Vec<MemoryHighWater>> {
    if trace.memory.is_empty() {
        return None;
    }
    let peaks = trace
        .memory
        .iter()
        .map(|peak| {
            let is_cuda = peak.device_type == 1;
            let total = if is_cuda {
                trace.meta.devices.iter().find(|d| d.id == peak.device_id).and_then(|d| d.total_global_mem)
            } else {
                None
            };
            let from_deltas = peak.allocated == 0.0 && peak.net_allocated_peak > 0.0;
            MemoryHighWater {
                device: if is_cuda { format!("cuda:{}", peak.device_id) } else { "cpu".to_owned() },
                peak_allocated_bytes: if from_deltas { peak.net_allocated_peak } else { peak.allocated } as u64,
                peak_reserved_bytes: peak.reserved as u64,
                total_bytes: total.map(|t| t as u64),
                from_deltas,
            }
        })
        .collect();
    Some(peaks)
}

/// Milliseconds from nanoseconds.
pub(crate) fn ms(nanos: Nanos) -> f64 {
    nanos as f64 / 1e6
}

/// `External id`s of the scalar reads (`aten::item`, `aten::_local_scalar_dense`) that made
/// runtime calls, i.e. read a device tensor. Only those few ids are collected.
pub(crate) fn device_scalar_reads(trace: &Trace, classes: &classes::NameClasses) -> HashSet<EventId> {
    let reads: HashSet<EventId> = trace
        .cpu
        .iter()
        .filter(|span| {
            span.kind == CpuKind::Op && span.external_id != NO_ID && classes.has(span.name, classes::SCALAR_READ)
        })
        .map(|span| span.external_id)
        .collect();
    if reads.is_empty() {
        return reads;
    }
    trace
        .cpu
        .iter()
        .filter(|span| span.kind == CpuKind::Runtime && reads.contains(&span.external_id))
        .map(|span| span.external_id)
        .collect()
}

/// When the device work that starts at or after `from` was launched: the start of the runtime
/// call with the same `correlation`. Work that starts earlier was launched earlier still.
pub(crate) fn launch_times(trace: &Trace, from: Nanos) -> HashMap<EventId, Nanos> {
    let mut launches: HashMap<EventId, Nanos> = trace
        .gpu
        .iter()
        .filter(|span| span.start >= from && span.correlation != NO_ID)
        .map(|span| (span.correlation, span.start))
        .collect();
    for span in trace.cpu.iter().filter(|span| span.kind == CpuKind::Runtime) {
        if let Some(launched) = launches.get_mut(&span.correlation) {
            *launched = span.start;
        }
    }
    launches
}

/// Host-to-device copies from pageable memory: count and bytes inside the window.
pub(crate) fn pageable_copies(trace: &Trace, classes: &classes::NameClasses, lo: Nanos, hi: Nanos) -> (u64, f64) {
    trace
        .gpu
        .iter()
        .filter(|span| {
            span.kind == GpuKind::Memcpy
                && classes.has(span.name, classes::PAGEABLE_HTOD)
                && (lo..hi).contains(&span.start)
        })
        .fold((0, 0.0), |(count, bytes), span| (count + 1, bytes + f64::from(span.bytes)))
}
