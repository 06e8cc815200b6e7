//! Each step's wall time split into GPU-bound, data wait, synchronisation, host compute, other.

use metrics_schema::{BreakdownParts, StepBreakdown, StepParts};

use rustc_hash::FxHashSet as HashSet;

use super::{
    classes::{AUTOGRAD, DATALOADER, HOST_COMMUNICATION, NameClasses, STEP},
    gpu::DeviceActivity,
    intervals::IntervalSet,
    ms,
    steps::Steps,
};
use crate::trace::{EventId, Nanos, Trace};

/// The disjoint layers of the breakdown, in priority order.
#[derive(Debug)]
pub(crate) struct Layers {
    pub(crate) gpu: IntervalSet,
    pub(crate) data_wait: IntervalSet,
    pub(crate) communication: IntervalSet,
    pub(crate) sync: IntervalSet,
    pub(crate) host: IntervalSet,
}

impl Layers {
    /// `order` is [`super::ops::thread_order`]: spans sorted per thread, so each thread's
    /// spans merge in one pass and only the merged intervals are sorted across threads.
    pub(crate) fn build(
        trace: &Trace,
        order: &[u32],
        classes: &NameClasses,
        launching: &HashSet<EventId>,
        activity: &DeviceActivity,
        dataloader: &IntervalSet,
        host_collectives: Option<&IntervalSet>,
    ) -> Layers {
        let mut sync = Vec::new();
        let mut host = Vec::new();
        let mut thread = u32::MAX;
        let loop_threads = training_loop_threads(trace, classes);
        // Host collectives are their own layer only with a host backend; with NCCL the c10d
        // ops merely enqueue kernels and stay host work.
        let not_host =
            if host_collectives.is_some() { STEP | DATALOADER | HOST_COMMUNICATION } else { STEP | DATALOADER };
        for &index in order {
            let span = &trace.cpu[index as usize];
            if !loop_threads.is_empty() && !loop_threads.contains(&span.thread) {
                continue;
            }
            if span.thread != thread {
                thread = span.thread;
                // A new thread's spans may start before the last one's ended.
                sync.push((0, 0));
                host.push((0, 0));
            }
            let interval = (span.start, span.end);
            if classes.is_sync(span.kind, span.name, launching.contains(&span.external_id)) {
                extend_sorted(&mut sync, interval);
            } else if !classes.has(span.name, not_host) {
                extend_sorted(&mut host, interval);
            }
        }
        let gpu = activity.any_busy.clone();
        let data_wait = dataloader.subtract(&gpu);
        let claimed = gpu.union(&data_wait);
        // A host backend's collectives, on whichever thread gloo runs them: the step waits for them.
        let communication = host_collectives.map_or_else(IntervalSet::default, |set| set.subtract(&claimed));
        let claimed = claimed.union(&communication);
        let sync = IntervalSet::union_of(sync).subtract(&claimed);
        let claimed = claimed.union(&sync);
        let host = IntervalSet::union_of(host).subtract(&claimed);
        Layers { gpu, data_wait, communication, sync, host }
    }
}

/// The threads whose work the step waits for: those that run the `ProfilerStep` spans (the
/// training loop) and the autograd engine's backward threads. Helper threads such as the
/// pin-memory thread work alongside the loop, so their spans are not step time. Empty when the
/// trace has no steps: then every thread counts.
fn training_loop_threads(trace: &Trace, classes: &NameClasses) -> HashSet<u32> {
    let steps: HashSet<u32> =
        trace.cpu.iter().filter(|span| classes.has(span.name, STEP)).map(|span| span.thread).collect();
    if steps.is_empty() {
        return steps;
    }
    let mut threads = steps;
    threads.extend(trace.cpu.iter().filter(|span| classes.has(span.name, AUTOGRAD)).map(|span| span.thread));
    threads
}

/// Appends an interval that starts no earlier than the last one, merging when they touch.
fn extend_sorted(merged: &mut Vec<(Nanos, Nanos)>, (start, end): (Nanos, Nanos)) {
    match merged.last_mut() {
        Some(last) if start <= last.1 && last.1 > last.0 => last.1 = last.1.max(end),
        Some(last) if last.1 <= last.0 => *last = (start, end),
        _ => merged.push((start, end)),
    }
}

pub(crate) fn step_breakdown(steps: &Steps, layers: &Layers) -> StepBreakdown {
    let per_step: Vec<StepParts> = steps
        .steps
        .iter()
        .map(|step| {
            let part = |set: &IntervalSet| set.covered(step.start, step.end);
            let (gpu, data_wait, communication, sync, host) = (
                part(&layers.gpu),
                part(&layers.data_wait),
                part(&layers.communication),
                part(&layers.sync),
                part(&layers.host),
            );
            let duration = step.end - step.start;
            StepParts {
                step: step.number,
                duration_ms: ms(duration),
                gpu_ms: ms(gpu),
                data_wait_ms: ms(data_wait),
                communication_ms: ms(communication),
                sync_ms: ms(sync),
                host_ms: ms(host),
                other_ms: ms((duration - gpu - data_wait - communication - sync - host).max(0)),
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
        communication: share(|s| s.communication_ms),
        sync: share(|s| s.sync_ms),
        host: share(|s| s.host_ms),
        other: share(|s| s.other_ms),
    };
    StepBreakdown { fractions, per_step }
}
