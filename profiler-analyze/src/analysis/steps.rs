//! Profiler steps, the analysis window, and data-loader time.

use metrics_schema::{DataloaderStats, Distribution, StepStats};

use super::{
    classes::{DATALOADER, NameClasses, STEP},
    intervals::IntervalSet,
    ms,
};
use crate::trace::{CpuKind, Nanos, Trace};

/// The prefix `torch.profiler.profile.step()` gives its ranges.
pub(crate) const STEP_PREFIX: &str = "ProfilerStep#";
/// The prefix of the DataLoader iterator's `__next__` range.
pub(crate) const DATALOADER_PREFIX: &str = "enumerate(DataLoader)";

/// One `ProfilerStep#N` span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) number: u64,
    pub(crate) start: Nanos,
    pub(crate) end: Nanos,
}

/// The steps and the window they span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Steps {
    /// Sorted by start; for a trace without steps, one pseudo-step covering the whole trace.
    pub(crate) steps: Vec<Step>,
    /// True when the trace has `ProfilerStep#N` spans.
    pub(crate) from_profiler: bool,
    pub(crate) window: (Nanos, Nanos),
    /// Contradictions read anyway: a step number seen twice with different times.
    pub(crate) warnings: Vec<String>,
    /// Caveats: steps that overlap.
    pub(crate) notes: Vec<String>,
}

impl Steps {
    pub(crate) fn find(trace: &Trace, classes: &NameClasses) -> Steps {
        let mut steps: Vec<Step> = trace
            .cpu
            .iter()
            .filter(|span| span.kind != CpuKind::Runtime && classes.has(span.name, STEP))
            .filter_map(|span| {
                let number = trace.names.get(span.name).strip_prefix(STEP_PREFIX)?.trim().parse().ok()?;
                Some(Step { number, start: span.start, end: span.end })
            })
            .collect();
        steps.sort_unstable_by_key(|step| (step.start, step.end, step.number));
        // The same span written twice (merged exports) is one step, without a word.
        steps.dedup();
        let warnings = keep_first_of_each_number(&mut steps);
        let notes = overlaps(&steps).into_iter().collect();
        if let (Some(first), Some(last)) = (steps.first(), steps.last()) {
            let window = (first.start, steps.iter().map(|step| step.end).max().unwrap_or(last.end));
            return Steps { steps, from_profiler: true, window, warnings, notes };
        }
        let starts = trace.cpu.iter().map(|s| s.start).chain(trace.gpu.iter().map(|s| s.start));
        let ends = trace.cpu.iter().map(|s| s.end).chain(trace.gpu.iter().map(|s| s.end));
        let window = match (starts.min(), ends.max()) {
            (Some(start), Some(end)) => (start, end),
            _ => (0, 0),
        };
        Steps {
            steps: vec![Step { number: 0, start: window.0, end: window.1 }],
            from_profiler: false,
            window,
            warnings: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub(crate) fn window_len(&self) -> Nanos {
        self.window.1 - self.window.0
    }

    /// Steps for per-step averages: at least 1.
    pub(crate) fn per_step_divisor(&self) -> f64 {
        self.steps.len().max(1) as f64
    }

    pub(crate) fn contains(&self, time: Nanos) -> bool {
        (self.window.0..self.window.1).contains(&time)
    }

    pub(crate) fn stats(&self) -> StepStats {
        if !self.from_profiler {
            let length = ms(self.window_len());
            return StepStats { count: 0, mean_ms: length, median_ms: length, p95_ms: length, max_ms: length };
        }
        let durations: Vec<f64> = self.steps.iter().map(|step| ms(step.end - step.start)).collect();
        let Some(distribution) = Distribution::from_samples(&durations) else {
            return StepStats { count: 0, mean_ms: 0.0, median_ms: 0.0, p95_ms: 0.0, max_ms: 0.0 };
        };
        StepStats {
            count: self.steps.len(),
            mean_ms: distribution.mean,
            median_ms: distribution.p50,
            p95_ms: distribution.p95,
            max_ms: distribution.max,
        }
    }
}

/// Keeps the first (earliest) step of each number. A number seen again with other times is a
/// contradiction the profiler never writes (it counts steps up), so it is counted once and
/// each repeat is warned about with both times, the first few by name.
fn keep_first_of_each_number(steps: &mut Vec<Step>) -> Vec<String> {
    const NAMED: usize = 3;
    let mut first: rustc_hash::FxHashMap<u64, Step> = rustc_hash::FxHashMap::default();
    let mut warnings = Vec::new();
    let mut repeats = 0usize;
    steps.retain(|step| match first.entry(step.number) {
        std::collections::hash_map::Entry::Vacant(slot) => {
            slot.insert(*step);
            true
        }
        std::collections::hash_map::Entry::Occupied(kept) => {
            repeats += 1;
            if repeats <= NAMED {
                let kept = kept.get();
                warnings.push(format!(
                    "{STEP_PREFIX}{} appears twice with different times ({} and {}); counted once, the first",
                    step.number,
                    span_text(kept.start, kept.end),
                    span_text(step.start, step.end)
                ));
            }
            false
        }
    });
    if repeats > NAMED {
        warnings.push(format!("{} more step numbers repeat with other times; each counted once", repeats - NAMED));
    }
    warnings
}

/// A note when a step starts before an earlier one ends: the shared time is in both steps'
/// figures, which a reader of per-step sums should know.
fn overlaps(steps: &[Step]) -> Option<String> {
    let mut latest: Option<Step> = None;
    let mut first: Option<(Step, Step)> = None;
    let mut count = 0usize;
    for step in steps {
        if let Some(before) = latest.filter(|before| step.start < before.end) {
            count += 1;
            first.get_or_insert((before, *step));
        }
        if latest.is_none_or(|before| step.end > before.end) {
            latest = Some(*step);
        }
    }
    let (before, after) = first?;
    let shared = before.end.min(after.end) - after.start;
    Some(format!(
        "steps overlap: {STEP_PREFIX}{} ({}) starts {} µs before {STEP_PREFIX}{} ({}) ends{}; \
         the shared time counts in each of them",
        after.number,
        span_text(after.start, after.end),
        micros(shared),
        before.number,
        span_text(before.start, before.end),
        if count > 1 { format!(" ({count} overlapping steps in all)") } else { String::new() }
    ))
}

/// A span as the trace writes it: `ts 1000 µs, dur 250 µs`.
fn span_text(start: Nanos, end: Nanos) -> String {
    format!("ts {} µs, dur {} µs", micros(start), micros(end - start))
}

/// Nanoseconds as microseconds, whole when they are.
fn micros(nanos: Nanos) -> String {
    if nanos % 1000 == 0 { (nanos / 1000).to_string() } else { format!("{:.3}", nanos as f64 / 1e3) }
}

/// The union of `enumerate(DataLoader)…` spans.
pub(crate) fn dataloader_intervals(trace: &Trace, classes: &NameClasses) -> IntervalSet {
    IntervalSet::union_of(
        trace
            .cpu
            .iter()
            .filter(|span| span.kind != CpuKind::Runtime && classes.has(span.name, DATALOADER))
            .map(|span| (span.start, span.end)),
    )
}

pub(crate) fn dataloader_stats(steps: &Steps, dataloader: &IntervalSet) -> DataloaderStats {
    let covered = dataloader.covered(steps.window.0, steps.window.1);
    DataloaderStats {
        ms_per_step: ms(covered) / steps.per_step_divisor(),
        fraction: fraction(covered, steps.window_len()),
    }
}

pub(crate) fn fraction(part: Nanos, whole: Nanos) -> f64 {
    if whole <= 0 { 0.0 } else { part as f64 / whole as f64 }
}
