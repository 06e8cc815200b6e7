//! Findings with evidence and what to change. Thresholds follow the PyTorch TensorBoard
//! profiler plugin where it had one (data loader 5 %, GPU utilisation 50 %, communication 10 %,
//! memory 90 %); the README lists each rule.

use std::collections::BTreeMap;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use metrics_schema::{Recommendation, Severity};

use super::{
    Analysis,
    classes::{COMMUNICATION, MATMUL_CONV, NameClasses, REDUCED_PRECISION},
    gpu::is_compute,
    intervals::IntervalSet,
    ms, pageable_copies,
    steps::{Steps, fraction},
};
use crate::trace::{EventId, GpuKind, Trace};

/// Kernels shorter than this are launch-overhead territory.
const SHORT_KERNEL_NS: i64 = 10_000;

/// What every rule may look at.
pub(crate) struct Context<'a> {
    pub(crate) trace: &'a Trace,
    pub(crate) classes: &'a NameClasses,
    pub(crate) launching: &'a HashSet<EventId>,
    pub(crate) steps: &'a Steps,
    pub(crate) analysis: &'a Analysis,
}

impl Context<'_> {
    fn per_step(&self) -> f64 {
        self.steps.per_step_divisor()
    }
}

/// A rule adds its findings (usually none or one) for one trace.
type Rule = fn(&Context<'_>, &mut Vec<Recommendation>);

/// The rules of one trace, by id, in the order they are reported at equal severity. The
/// run-level rule `straggler` lives in `run.rs`, as it compares ranks.
pub(crate) const RULES: &[(&str, Rule)] = &[
    ("dataloader-bound", dataloader_bound),
    ("gpu-underutilized", gpu_underutilized),
    ("host-sync", host_sync),
    ("pageable-memcpy", pageable_memcpy),
    ("no-mixed-precision", no_mixed_precision),
    ("communication-bound", communication_bound),
    ("memory-pressure", memory_pressure),
];

pub(crate) fn recommend(context: &Context<'_>) -> Vec<Recommendation> {
    let mut out = Vec::new();
    for (_, rule) in RULES {
        rule(context, &mut out);
    }
    sort_by_severity(&mut out);
    out
}

/// `dataloader-bound`: 5 % or more of the window waits for the DataLoader.
fn dataloader_bound(context: &Context<'_>, out: &mut Vec<Recommendation>) {
    let analysis = context.analysis;
    let parts = &analysis.breakdown.fractions;
    let data = analysis.dataloader.fraction;
    if data < 0.05 {
        return;
    }
    let severity = if data >= 0.3 || parts.data_wait >= parts.gpu.max(parts.host) {
        Severity::Critical
    } else if data >= 0.1 {
        Severity::Warning
    } else {
        Severity::Info
    };
    out.push(finding(
        "dataloader-bound",
        severity,
        format!("{:.0}% of step time waits for the DataLoader", 100.0 * data),
        &[
            ("dataloader_fraction", data),
            ("dataloader_ms_per_step", analysis.dataloader.ms_per_step),
            ("exposed_data_wait_fraction", parts.data_wait),
            ("step_mean_ms", analysis.steps.mean_ms),
        ],
        "Raise DataLoader num_workers (and prefetch_factor), set pin_memory=True, and cache or \
         precompute expensive preprocessing (for DBNet targets: `ocrperf targets` with the polygon cache).",
    ));
}

/// `gpu-underutilized`: the GPU is busy under half the time and data wait explains little.
fn gpu_underutilized(context: &Context<'_>, out: &mut Vec<Recommendation>) {
    let Context { trace, steps, analysis, .. } = *context;
    let parts = &analysis.breakdown.fractions;
    let (lo, hi) = steps.window;
    let unexplained_idle = (analysis.gpu.idle_fraction - parts.data_wait).max(0.0);
    if trace.gpu.is_empty() || analysis.gpu.busy_fraction >= 0.5 || unexplained_idle < 0.2 {
        return;
    }
    let mut kernels: Vec<i64> = trace
        .gpu
        .iter()
        .filter(|s| s.kind == GpuKind::Kernel && (lo..hi).contains(&s.start))
        .map(|s| s.end - s.start)
        .collect();
    kernels.sort_unstable();
    let median_us = kernels.get(kernels.len() / 2).map_or(0.0, |&ns| ns as f64 / 1e3);
    let short = kernels.iter().filter(|&&ns| ns < SHORT_KERNEL_NS).count();
    let severity = if analysis.gpu.busy_fraction < 0.3 && unexplained_idle >= 0.4 {
        Severity::Critical
    } else {
        Severity::Warning
    };
    out.push(finding(
        "gpu-underutilized",
        severity,
        format!(
            "GPU busy only {:.0}% of the time, and data wait explains little of the idle time",
            100.0 * analysis.gpu.busy_fraction
        ),
        &[
            ("busy_fraction", analysis.gpu.busy_fraction),
            ("idle_not_data_wait_fraction", unexplained_idle),
            ("host_fraction", parts.host),
            ("sync_fraction", parts.sync),
            ("kernels_per_step", kernels.len() as f64 / context.per_step()),
            ("median_kernel_us", median_us),
            ("short_kernel_fraction", fraction(short as i64, kernels.len() as i64)),
        ],
        "The host cannot keep the GPU fed: raise the batch size, fuse small ops (torch.compile, \
         CUDA graphs), and move Python work out of the step.",
    ));
}

/// `host-sync`: calls that wait for the device inside the steps.
fn host_sync(context: &Context<'_>, out: &mut Vec<Recommendation>) {
    let Context { trace, classes, launching, steps, analysis, .. } = *context;
    let (lo, hi) = steps.window;
    let mut sync_calls: HashMap<&str, u64> = HashMap::default();
    let mut sync_time: i64 = 0;
    for span in trace.cpu.iter().filter(|s| (lo..hi).contains(&s.start)) {
        if classes.is_sync(span.kind, span.name, launching.contains(&span.external_id)) {
            *sync_calls.entry(trace.names.get(span.name)).or_default() += 1;
            sync_time = sync_time.saturating_add(span.end - span.start);
        }
    }
    let sync_count: u64 = sync_calls.values().sum();
    if sync_count == 0 || !steps.from_profiler {
        return;
    }
    let per_step = context.per_step();
    let mut names: Vec<(&str, u64)> = sync_calls.into_iter().collect();
    names.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let listed: Vec<&str> = names.iter().take(3).map(|(name, _)| *name).collect();
    let exposed = analysis.breakdown.fractions.sync;
    out.push(finding(
        "host-sync",
        if exposed >= 0.05 { Severity::Warning } else { Severity::Info },
        format!("{:.1} synchronising calls per step ({})", sync_count as f64 / per_step, listed.join(", ")),
        &[
            ("sync_calls_per_step", sync_count as f64 / per_step),
            ("sync_ms_per_step", ms(sync_time) / per_step),
            ("exposed_sync_fraction", exposed),
        ],
        "Each sync stalls the host until the GPU drains, so the next step cannot be queued ahead. \
         Avoid .item(), .cpu() and printing tensors inside the step; log every N steps or \
         accumulate on the GPU.",
    ));
}

/// `pageable-memcpy`: host-to-device copies from pageable memory.
fn pageable_memcpy(context: &Context<'_>, out: &mut Vec<Recommendation>) {
    let (lo, hi) = context.steps.window;
    let (copies, bytes) = pageable_copies(context.trace, context.classes, lo, hi);
    if copies == 0 {
        return;
    }
    let per_step = context.per_step();
    let bytes_per_step = bytes / per_step;
    out.push(finding(
        "pageable-memcpy",
        if bytes_per_step >= 1e6 { Severity::Warning } else { Severity::Info },
        format!("{copies} host-to-device copies from pageable memory"),
        &[("copies_per_step", copies as f64 / per_step), ("bytes_per_step", bytes_per_step)],
        "Set pin_memory=True on the DataLoader and copy with .to(device, non_blocking=True), so \
         copies are asynchronous and overlap compute.",
    ));
}

/// `communication-bound`: 10 % or more of the window is collectives that nothing overlaps:
/// communication kernels not covered by compute kernels, or with a host backend (gloo, MPI,
/// UCC) the host collectives while the devices are idle and no data is awaited.
fn communication_bound(context: &Context<'_>, out: &mut Vec<Recommendation>) {
    let Context { trace, classes, steps, analysis, .. } = *context;
    let (lo, hi) = steps.window;
    let exposed_fraction = if analysis.communication.on_host {
        analysis.breakdown.fractions.communication
    } else {
        let compute =
            IntervalSet::union_of(trace.gpu.iter().filter(|s| is_compute(s, classes)).map(|s| (s.start, s.end)));
        let communication = IntervalSet::union_of(
            trace.gpu.iter().filter(|s| classes.has(s.name, COMMUNICATION)).map(|s| (s.start, s.end)),
        );
        fraction(communication.subtract(&compute).covered(lo, hi), steps.window_len())
    };
    if exposed_fraction < 0.1 {
        return;
    }
    let place = if analysis.communication.on_host { "on the host" } else { "on the device" };
    let mut evidence = vec![
        ("exposed_communication_fraction", exposed_fraction),
        ("communication_ms_per_step", analysis.communication.ms_per_step),
    ];
    if analysis.communication.on_host {
        evidence.push(("host_backend", 1.0));
    }
    out.push(finding(
        "communication-bound",
        if exposed_fraction >= 0.3 { Severity::Critical } else { Severity::Warning },
        format!("{:.0}% of the time is collectives ({place}) not overlapped by compute", 100.0 * exposed_fraction),
        &evidence,
        "Overlap communication with backward (DDP bucket_cap_mb, gradient_as_bucket_view), \
         accumulate gradients over more micro-batches, or compress gradients. With gloo, a rank \
         that waits this long is usually waiting for a slower rank: see `straggler` when all \
         ranks are analysed together.",
    ));
}

/// `memory-pressure`: a device's peak reserved (or allocated) memory reached 90 % of its total.
fn memory_pressure(context: &Context<'_>, out: &mut Vec<Recommendation>) {
    for peak in context.analysis.memory.iter().flatten() {
        let Some(total) = peak.total_bytes.filter(|&t| t > 0) else { continue };
        let used = peak.peak_reserved_bytes.max(peak.peak_allocated_bytes) as f64 / total as f64;
        if used < 0.9 {
            continue;
        }
        out.push(finding(
            "memory-pressure",
            if used >= 0.97 { Severity::Critical } else { Severity::Warning },
            format!("{} reached {:.0}% of its memory", peak.device, 100.0 * used),
            &[
                ("peak_reserved_bytes", peak.peak_reserved_bytes as f64),
                ("peak_allocated_bytes", peak.peak_allocated_bytes as f64),
                ("total_bytes", total as f64),
                ("used_fraction", used),
            ],
            "Close to out-of-memory, the caching allocator frees and retries (slow). Use mixed \
             precision, activation checkpointing or a smaller batch; set \
             PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True against fragmentation.",
        ));
    }
}

/// Most severe first; the order of the rules otherwise.
pub(crate) fn sort_by_severity(findings: &mut [Recommendation]) {
    findings.sort_by_key(|finding| std::cmp::Reverse(finding.severity));
}

/// `no-mixed-precision`: matrix and convolution kernels run in fp32/TF32 on a GPU with tensor cores.
fn no_mixed_precision(context: &Context<'_>, out: &mut Vec<Recommendation>) {
    out.extend(precision_finding(context));
}

fn precision_finding(context: &Context<'_>) -> Option<Recommendation> {
    let Context { trace, classes, steps, analysis, .. } = *context;
    let compute_major = trace.meta.devices.iter().filter_map(|d| d.compute_major).max()?;
    if compute_major < 7 {
        return None;
    }
    let (lo, hi) = steps.window;
    let (mut heavy, mut reduced, mut all) = (0i64, 0i64, 0i64);
    for span in trace.gpu.iter().filter(|s| s.kind == GpuKind::Kernel && (lo..hi).contains(&s.start)) {
        let duration = span.end - span.start;
        all = all.saturating_add(duration);
        if classes.has(span.name, MATMUL_CONV) {
            heavy = heavy.saturating_add(duration);
            if classes.has(span.name, REDUCED_PRECISION) {
                reduced = reduced.saturating_add(duration);
            }
        }
    }
    let reduced_fraction = fraction(reduced, heavy);
    if heavy == 0 || reduced_fraction >= 0.1 {
        return None;
    }
    let heavy_share = fraction(heavy, all);
    let per_step = steps.per_step_divisor();
    Some(finding(
        "no-mixed-precision",
        if heavy_share >= 0.3 { Severity::Warning } else { Severity::Info },
        format!(
            "Matrix/convolution kernels run in fp32 on a GPU with tensor cores (compute capability {compute_major}.x)"
        ),
        &[
            ("compute_major", compute_major as f64),
            ("matmul_conv_ms_per_step", ms(heavy) / per_step),
            ("matmul_conv_share_of_kernel_time", heavy_share),
            ("reduced_precision_fraction", reduced_fraction),
            ("gpu_busy_fraction", analysis.gpu.busy_fraction),
        ],
        "Train with torch.autocast(device_type=\"cuda\", dtype=torch.bfloat16) (or fp16 with a \
         GradScaler), or Lightning's precision=\"bf16-mixed\": tensor cores run these kernels several \
         times faster.",
    ))
}

pub(crate) fn finding(
    id: &str,
    severity: Severity,
    title: String,
    evidence: &[(&str, f64)],
    suggestion: &str,
) -> Recommendation {
    Recommendation {
        id: id.to_owned(),
        severity,
        title,
        evidence: evidence.iter().map(|&(key, value)| (key.to_owned(), round(value))).collect::<BTreeMap<_, _>>(),
        suggestion: suggestion.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// Evidence is for people and diffs: six significant digits are plenty.
fn round(value: f64) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return value;
    }
    let digits = 6 - value.abs().log10().ceil() as i32;
    let scale = 10f64.powi(digits.clamp(-12, 12));
    (value * scale).round() / scale
}
