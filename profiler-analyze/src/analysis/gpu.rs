//! Device activity: busy time over the window, time per activity kind, HTA's temporal breakdown.

use std::collections::BTreeMap;

use metrics_schema::{DeviceGpuStats, GpuStats, TemporalBreakdown};

use super::{
    classes::{COMMUNICATION, NameClasses},
    intervals::IntervalSet,
    ms,
    steps::{Steps, fraction},
};
use crate::trace::{GpuKind, GpuSpan, Nanos, Trace};

/// A kernel that is neither communication nor memory traffic counts as compute.
pub(crate) fn is_compute(span: &GpuSpan, classes: &NameClasses) -> bool {
    span.kind == GpuKind::Kernel && !classes.has(span.name, COMMUNICATION)
}

/// Per-device activity, built once and shared by the GPU, breakdown and recommendation code.
#[derive(Debug, Default)]
pub(crate) struct DeviceActivity {
    /// Device index → union of all its activity.
    pub(crate) busy: BTreeMap<i32, IntervalSet>,
    /// Union over all devices.
    pub(crate) any_busy: IntervalSet,
}

impl DeviceActivity {
    pub(crate) fn collect(trace: &Trace) -> DeviceActivity {
        let mut per_device: BTreeMap<i32, Vec<(Nanos, Nanos)>> = BTreeMap::new();
        for span in &trace.gpu {
            per_device.entry(i32::from(span.device)).or_default().push((span.start, span.end));
        }
        let busy: BTreeMap<i32, IntervalSet> =
            per_device.into_iter().map(|(device, spans)| (device, IntervalSet::union_of(spans))).collect();
        let any_busy = IntervalSet::union_of(busy.values().flat_map(|set| set.spans().iter().copied()));
        DeviceActivity { busy, any_busy }
    }
}

pub(crate) fn gpu_stats(trace: &Trace, classes: &NameClasses, steps: &Steps, activity: &DeviceActivity) -> GpuStats {
    let (lo, hi) = steps.window;
    let window = steps.window_len();
    let mut devices: Vec<DeviceGpuStats> = activity
        .busy
        .iter()
        .map(|(&device, busy)| {
            let busy_fraction = fraction(busy.covered(lo, hi), window);
            DeviceGpuStats {
                device,
                stats: GpuStats { busy_fraction, idle_fraction: 1.0 - busy_fraction, ..GpuStats::idle() },
            }
        })
        .collect();
    for span in &trace.gpu {
        let clipped = span.end.min(hi) - span.start.max(lo);
        if clipped <= 0 {
            continue;
        }
        let Some(device) = devices.iter_mut().find(|d| d.device == i32::from(span.device)) else { continue };
        let stats = &mut device.stats;
        let duration = ms(clipped);
        match span.kind {
            GpuKind::Kernel => {
                stats.kernel_ms += duration;
                if classes.has(span.name, COMMUNICATION) {
                    stats.communication_ms += duration;
                } else {
                    stats.compute_ms += duration;
                }
            }
            GpuKind::Memcpy => stats.memcpy_ms += duration,
            GpuKind::Memset => stats.memset_ms += duration,
        }
    }
    let sum = |field: fn(&GpuStats) -> f64| devices.iter().map(|d| field(&d.stats)).fold(0.0, |a, b| a + b);
    let busy_fraction = if devices.is_empty() { 0.0 } else { sum(|d| d.busy_fraction) / devices.len() as f64 };
    let totals = GpuStats {
        busy_fraction,
        idle_fraction: 1.0 - busy_fraction,
        kernel_ms: sum(|d| d.kernel_ms),
        memcpy_ms: sum(|d| d.memcpy_ms),
        memset_ms: sum(|d| d.memset_ms),
        compute_ms: sum(|d| d.compute_ms),
        communication_ms: sum(|d| d.communication_ms),
        devices: Vec::new(),
    };
    if devices.len() > 1 { GpuStats { devices, ..totals } } else { totals }
}

/// HTA's temporal breakdown per device: over the span from the first activity's start to the
/// last one's end, the idle part, the part covered by compute kernels, and the rest.
///
/// Like HTA with its default `include_last_profiler_step=False`, activity launched during the
/// last profiler step is left out when there are at least two steps. HTA takes that step's
/// start as the latest `ProfilerStep` start among host *and* GPU-side annotations, and the
/// GPU-side one starts with the step's first device work; so does this, to agree with it.
pub(crate) fn temporal_breakdown(trace: &Trace, classes: &NameClasses, steps: &Steps) -> Vec<TemporalBreakdown> {
    let cutoff = match steps.steps.as_slice() {
        [.., last] if steps.steps.len() >= 2 => {
            Some(trace.gpu_step_starts.iter().copied().fold(last.start, Nanos::max))
        }
        _ => None,
    };
    let launches = super::launch_times(trace, cutoff.unwrap_or(Nanos::MAX));
    let mut all: BTreeMap<i32, Vec<(Nanos, Nanos)>> = BTreeMap::new();
    let mut compute: BTreeMap<i32, Vec<(Nanos, Nanos)>> = BTreeMap::new();
    for span in &trace.gpu {
        if let Some(cutoff) = cutoff {
            let launched = if span.start < cutoff {
                span.start
            } else {
                launches.get(&span.correlation).copied().unwrap_or(span.start)
            };
            if launched >= cutoff {
                continue;
            }
        }
        all.entry(i32::from(span.device)).or_default().push((span.start, span.end));
        if is_compute(span, classes) {
            compute.entry(i32::from(span.device)).or_default().push((span.start, span.end));
        }
    }
    all.into_iter()
        .filter_map(|(device, spans)| {
            let busy = IntervalSet::union_of(spans);
            let (first, last) = busy.bounds()?;
            let span = last - first;
            let idle = span - busy.total();
            let compute = IntervalSet::union_of(compute.remove(&device).unwrap_or_default()).total();
            let pct = |part: Nanos| 100.0 * fraction(part, span);
            Some(TemporalBreakdown {
                device,
                kernel_time_ms: ms(span),
                idle_pct: pct(idle),
                compute_pct: pct(compute),
                non_compute_pct: pct(span - idle - compute),
            })
        })
        .collect()
}
