//! Each step's wall time split into GPU-bound, data wait, synchronisation, host compute, other.

use metrics_schema::{BreakdownParts, StepBreakdown, StepParts};

use super::{
    gpu::DeviceActivity,
    intervals::IntervalSet,
    ms,
    steps::{DATALOADER_PREFIX, STEP_PREFIX, Steps},
};
use crate::trace::{CpuKind, Trace};

/// Host calls that block until the device catches up. `aten::_local_scalar_dense` (under
/// `aten::item`) only counts when it launched device work: on a CPU tensor it is harmless.
pub(crate) fn is_sync(kind: CpuKind, name: &str, launched_device_work: bool) -> bool {
    match kind {
        CpuKind::Runtime => matches!(
            name,
            "cudaStreamSynchronize"
                | "cudaDeviceSynchronize"
                | "cudaEventSynchronize"
                | "cudaMemcpy"
                | "cuStreamSynchronize"
                | "cuCtxSynchronize"
                | "cuEventSynchronize"
                | "hipStreamSynchronize"
                | "hipDeviceSynchronize"
                | "hipEventSynchronize"
                | "hipMemcpy"
        ),
        CpuKind::Op => launched_device_work && matches!(name, "aten::item" | "aten::_local_scalar_dense"),
        CpuKind::Annotation => false,
    }
}

/// `External id`s of ops that made runtime calls.
pub(crate) fn launching_ops(trace: &Trace) -> rustc_hash::FxHashSet<i64> {
    trace
        .cpu
        .iter()
        .filter(|span| span.kind == CpuKind::Runtime && span.external_id != crate::trace::NO_ID)
        .map(|span| span.external_id)
        .collect()
}

/// The disjoint layers of the breakdown, in priority order.
#[derive(Debug)]
pub(crate) struct Layers {
    pub(crate) gpu: IntervalSet,
    pub(crate) data_wait: IntervalSet,
    pub(crate) sync: IntervalSet,
    pub(crate) host: IntervalSet,
}

impl Layers {
    pub(crate) fn build(trace: &Trace, activity: &DeviceActivity, dataloader: &IntervalSet) -> Layers {
        let mut sync = Vec::new();
        let mut host = Vec::new();
        let launching = launching_ops(trace);
        for span in &trace.cpu {
            let name = trace.names.get(span.name);
            if is_sync(span.kind, name, launching.contains(&span.external_id)) {
                sync.push((span.start, span.end));
            } else if !(name.starts_with(STEP_PREFIX) || name.starts_with(DATALOADER_PREFIX)) {
                host.push((span.start, span.end));
            }
        }
        let gpu = activity.any_busy.clone();
        let data_wait = dataloader.subtract(&gpu);
        let claimed = gpu.union(&data_wait);
        let sync = IntervalSet::union_of(sync).subtract(&claimed);
        let claimed = claimed.union(&sync);
        let host = IntervalSet::union_of(host).subtract(&claimed);
        Layers { gpu, data_wait, sync, host }
    }
}

pub(crate) fn step_breakdown(steps: &Steps, layers: &Layers) -> StepBreakdown {
    let per_step: Vec<StepParts> = steps
        .steps
        .iter()
        .map(|step| {
            let part = |set: &IntervalSet| set.covered(step.start, step.end);
            let (gpu, data_wait, sync, host) =
                (part(&layers.gpu), part(&layers.data_wait), part(&layers.sync), part(&layers.host));
            let duration = step.end - step.start;
            StepParts {
                step: step.number,
                duration_ms: ms(duration),
                gpu_ms: ms(gpu),
                data_wait_ms: ms(data_wait),
                sync_ms: ms(sync),
                host_ms: ms(host),
                other_ms: ms((duration - gpu - data_wait - sync - host).max(0)),
            }
        })
        .collect();
    let total: f64 = per_step.iter().map(|step| step.duration_ms).sum();
    let share = |field: fn(&StepParts) -> f64| {
        let part: f64 = per_step.iter().map(field).sum();
        if total > 0.0 { part / total } else { 0.0 }
    };
    let fractions = BreakdownParts {
        gpu: share(|s| s.gpu_ms),
        data_wait: share(|s| s.data_wait_ms),
        sync: share(|s| s.sync_ms),
        host: share(|s| s.host_ms),
        other: share(|s| s.other_ms),
    };
    StepBreakdown { fractions, per_step }
}
