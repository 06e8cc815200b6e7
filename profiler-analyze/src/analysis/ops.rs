//! Host ops by self time, and kernels grouped with the op that launched them.

use rustc_hash::FxHashMap as HashMap;

use metrics_schema::{KernelStat, OpStat};

use super::{
    classes::{NameClasses, STEP},
    ms,
    steps::{STEP_PREFIX, Steps},
};
use crate::trace::{CpuKind, EventId, GpuKind, NO_ID, NameId, Nanos, Trace};

/// CPU span indices grouped by thread, and within a thread by start, longest first: the order
/// in which nesting is read. A counting sort by thread, then a stable sort per thread, which
/// is close to linear because each thread's spans are already nearly in time order in the file.
pub(crate) fn thread_order(trace: &Trace) -> Vec<u32> {
    let mut first = vec![0usize; trace.threads.len() + 1];
    for span in &trace.cpu {
        first[span.thread as usize + 1] += 1;
    }
    for thread in 1..first.len() {
        first[thread] += first[thread - 1];
    }
    let mut next = first.clone();
    let mut order = vec![0u32; trace.cpu.len()];
    for (index, span) in trace.cpu.iter().enumerate() {
        order[next[span.thread as usize]] = index as u32;
        next[span.thread as usize] += 1;
    }
    for range in first.windows(2) {
        order[range[0]..range[1]].sort_by_key(|&i| {
            let span = &trace.cpu[i as usize];
            (span.start, std::cmp::Reverse(span.end))
        });
    }
    order
}

/// Self and total time per op name, over ops that start inside the window, sorted by self time.
///
/// Self time is the duration minus the durations of direct children: spans on the same thread
/// that lie inside it (PyTorch's `_populate_cpu_children` rule; a partial overlap is no child).
pub(crate) fn op_stats(trace: &Trace, order: &[u32], classes: &NameClasses, steps: &Steps) -> Vec<OpStat> {
    let mut children: Vec<Nanos> = vec![0; trace.cpu.len()];
    let mut stack: Vec<u32> = Vec::new();
    let mut thread = u32::MAX;
    for &index in order {
        let span = &trace.cpu[index as usize];
        if span.thread != thread {
            stack.clear();
            thread = span.thread;
        }
        while let Some(&top) = stack.last() {
            if span.start >= trace.cpu[top as usize].end {
                stack.pop();
            } else {
                break;
            }
        }
        if let Some(&top) = stack.last()
            && span.end <= trace.cpu[top as usize].end
        {
            children[top as usize] = children[top as usize].saturating_add(span.end - span.start);
        }
        stack.push(index);
    }

    let mut by_name: HashMap<NameId, (u64, Nanos, Nanos)> = HashMap::default();
    for (span, child_time) in trace.cpu.iter().zip(&children) {
        if !steps.contains(span.start) {
            continue;
        }
        let total = span.end - span.start;
        let entry = by_name.entry(span.name).or_default();
        entry.0 += 1;
        entry.1 = entry.1.saturating_add((total - child_time).max(0));
        entry.2 = entry.2.saturating_add(total);
    }
    let mut grouped: HashMap<String, OpStat> = HashMap::default();
    for (name, (count, self_time, total)) in by_name {
        let label = if classes.has(name, STEP) { format!("{STEP_PREFIX}*") } else { trace.names.get(name).to_owned() };
        let stat =
            grouped.entry(label.clone()).or_insert(OpStat { name: label, count: 0, self_ms: 0.0, total_ms: 0.0 });
        stat.count += count;
        stat.self_ms += ms(self_time);
        stat.total_ms += ms(total);
    }
    let mut ops: Vec<OpStat> = grouped.into_values().collect();
    ops.sort_by(|a, b| b.self_ms.total_cmp(&a.self_ms).then_with(|| a.name.cmp(&b.name)));
    ops
}

/// Kernels that start inside the window, grouped by (kernel, launching op), by total time.
///
/// The launching op is the innermost op with the kernel's `External id`; a kernel without one
/// borrows it from the runtime call with the same `correlation`.
pub(crate) fn kernel_stats(trace: &Trace, steps: &Steps) -> Vec<KernelStat> {
    let mut op_by_external: HashMap<EventId, (NameId, CpuKind)> = HashMap::default();
    let mut external_by_correlation: HashMap<EventId, EventId> = HashMap::default();
    for span in &trace.cpu {
        match span.kind {
            CpuKind::Runtime if span.correlation != NO_ID && span.external_id != NO_ID => {
                external_by_correlation.insert(span.correlation, span.external_id);
            }
            CpuKind::Runtime => {}
            kind if span.external_id != NO_ID => {
                // An op wins over an annotation with the same id.
                let entry = op_by_external.entry(span.external_id).or_insert((span.name, kind));
                if entry.1 == CpuKind::Annotation && kind == CpuKind::Op {
                    *entry = (span.name, kind);
                }
            }
            _ => {}
        }
    }
    let mut groups: HashMap<(NameId, Option<NameId>), (u64, Nanos)> = HashMap::default();
    for span in trace.gpu.iter().filter(|span| span.kind == GpuKind::Kernel && steps.contains(span.start)) {
        let external = if span.external_id != NO_ID {
            Some(span.external_id)
        } else {
            external_by_correlation.get(&span.correlation).copied()
        };
        let op = external.and_then(|id| op_by_external.get(&id)).map(|&(name, _)| name);
        let entry = groups.entry((span.name, op)).or_default();
        entry.0 += 1;
        entry.1 = entry.1.saturating_add(span.end - span.start);
    }
    let mut kernels: Vec<KernelStat> = groups
        .into_iter()
        .map(|((name, op), (count, total))| KernelStat {
            name: trace.names.get(name).to_owned(),
            op: op.map(|op| trace.names.get(op).to_owned()).unwrap_or_default(),
            count,
            total_ms: ms(total),
            mean_ms: ms(total) / count as f64,
        })
        .collect();
    kernels.sort_by(|a, b| {
        b.total_ms.total_cmp(&a.total_ms).then_with(|| a.name.cmp(&b.name)).then_with(|| a.op.cmp(&b.op))
    });
    kernels
}
