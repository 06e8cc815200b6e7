//! `trace diff`: two analyses compared per step, per op and per kernel.

use std::collections::BTreeMap;

use metrics_schema::{DiffRow, DiffSide, TraceDiffReport};

use crate::Analysis;

/// Compares A (baseline) with B. Rows are milliseconds per step, so runs with different step
/// counts compare; ops and kernels are sorted by the size of the change and cut to `top`.
///
/// When only one side has `ProfilerStep#N` spans, the other's one "step" is its whole trace:
/// per-step rows would compare a step with a whole trace, so they are left out, ops and
/// kernels are compared as totals over each trace's window, and a note says so.
pub fn diff(a_file: &str, a: &Analysis, b_file: &str, b: &Analysis, top: usize) -> TraceDiffReport {
    let mut notes = Vec::new();
    let per_step = a.has_steps == b.has_steps;
    if !per_step {
        let (without, file, with) = if a.has_steps { ("B", b_file, "A") } else { ("A", a_file, "B") };
        notes.push(format!(
            "{without} ({file}) has no ProfilerStep#N spans and {with} has: per-step figures are not compared; \
             ops and kernels are compared as totals over each trace's window"
        ));
    } else if !a.has_steps {
        notes.push(
            "neither trace has ProfilerStep#N spans: each is one window, so figures \"per step\" are totals over \
             each whole trace"
                .to_owned(),
        );
    }
    let divisor = |analysis: &Analysis| if per_step { analysis.steps.count.max(1) as f64 } else { 1.0 };
    let (a_steps, b_steps) = (divisor(a), divisor(b));
    let part = |analysis: &Analysis, field: fn(&metrics_schema::StepParts) -> f64| {
        let steps = analysis.breakdown.per_step.len().max(1) as f64;
        analysis.breakdown.per_step.iter().map(field).sum::<f64>() / steps
    };
    let step_rows = [
        ("step time (mean)", a.steps.mean_ms, b.steps.mean_ms),
        ("step time (p95)", a.steps.p95_ms, b.steps.p95_ms),
        ("GPU-bound", part(a, |s| s.gpu_ms), part(b, |s| s.gpu_ms)),
        ("data wait", part(a, |s| s.data_wait_ms), part(b, |s| s.data_wait_ms)),
        ("synchronisation", part(a, |s| s.sync_ms), part(b, |s| s.sync_ms)),
        ("host compute", part(a, |s| s.host_ms), part(b, |s| s.host_ms)),
        ("other", part(a, |s| s.other_ms), part(b, |s| s.other_ms)),
        ("DataLoader spans", a.dataloader.ms_per_step, b.dataloader.ms_per_step),
    ];
    let steps = if per_step {
        step_rows.iter().map(|&(name, a_ms, b_ms)| row(name, a_ms, b_ms, None)).collect()
    } else {
        Vec::new()
    };

    let ops = compare(
        a.ops.iter().map(|op| (op.name.as_str(), op.self_ms / a_steps, op.count as f64 / a_steps)),
        b.ops.iter().map(|op| (op.name.as_str(), op.self_ms / b_steps, op.count as f64 / b_steps)),
        top,
    );
    let kernels = compare(
        a.kernels.iter().map(|k| (k.name.as_str(), k.total_ms / a_steps, k.count as f64 / a_steps)),
        b.kernels.iter().map(|k| (k.name.as_str(), k.total_ms / b_steps, k.count as f64 / b_steps)),
        top,
    );
    TraceDiffReport {
        a: DiffSide { file: a_file.to_owned(), steps: a.steps.clone() },
        b: DiffSide { file: b_file.to_owned(), steps: b.steps.clone() },
        steps,
        ops,
        kernels,
        notes,
    }
}

fn compare<'a>(
    a: impl Iterator<Item = (&'a str, f64, f64)>,
    b: impl Iterator<Item = (&'a str, f64, f64)>,
    top: usize,
) -> Vec<DiffRow> {
    // Kernels launched by several ops are summed by name here.
    let mut table: BTreeMap<&str, [f64; 4]> = BTreeMap::new();
    for (name, ms, count) in a {
        let entry = table.entry(name).or_default();
        entry[0] += ms;
        entry[2] += count;
    }
    for (name, ms, count) in b {
        let entry = table.entry(name).or_default();
        entry[1] += ms;
        entry[3] += count;
    }
    let mut rows: Vec<DiffRow> =
        table.into_iter().map(|(name, [a_ms, b_ms, a_n, b_n])| row(name, a_ms, b_ms, Some([a_n, b_n]))).collect();
    rows.sort_by(|x, y| y.delta_ms.abs().total_cmp(&x.delta_ms.abs()).then_with(|| x.name.cmp(&y.name)));
    rows.truncate(top);
    rows
}

fn row(name: &str, a_ms: f64, b_ms: f64, counts: Option<[f64; 2]>) -> DiffRow {
    let round = |x: f64| (x * 1e4).round() / 1e4;
    DiffRow {
        name: name.to_owned(),
        a_ms: round(a_ms),
        b_ms: round(b_ms),
        delta_ms: round(b_ms - a_ms),
        ratio: (a_ms > 0.0).then(|| round(b_ms / a_ms)),
        count_per_step: counts.map(|[x, y]| [round(x), round(y)]),
    }
}
