//! `ocrperf trace`: analyse PyTorch profiler traces, and compare two.

use ocrperf::profiler_analyze;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use metrics_schema::{Envelope, KernelStat, OpStat, TraceAnalysisReport, TraceDiffReport};
use profiler_analyze::{AnalyzeOptions, RankResult, analyze_files, breakdown_svg, build_report, trace_files};

use crate::{
    Outcome, interrupt,
    output::{Document, Ui, format_bytes},
};

#[derive(Debug, Args)]
pub(crate) struct TraceArgs {
    #[command(subcommand)]
    command: TraceCommand,
}

#[derive(Debug, Subcommand)]
enum TraceCommand {
    /// Steps, data wait, GPU activity, top ops and kernels, and recommendations
    Analyze(AnalyzeArgs),
    /// Compare two traces (or two runs' directories): per step, per op, per kernel
    Diff(DiffArgs),
}

/// Options shared by `analyze` and `diff`.
#[derive(Debug, Args)]
struct ReadArgs {
    /// Rows of the op and kernel tables
    #[arg(long, default_value_t = 15, value_name = "N")]
    top: usize,
    /// Analyse what precedes damage in a truncated or corrupt trace instead of failing
    #[arg(long)]
    lenient: bool,
    /// Rank traces read at once (bounds memory); default, and at most: one per core
    #[arg(long, default_value_t = 0, value_name = "N")]
    jobs: usize,
}

#[derive(Debug, Args)]
struct AnalyzeArgs {
    /// Trace files (.json or .json.gz) or a directory of one run's rank traces
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    read: ReadArgs,
    /// Also draw the step breakdown and GPU occupancy as an SVG chart
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct DiffArgs {
    /// The baseline: a trace or a directory of rank traces
    a: PathBuf,
    /// The candidate
    b: PathBuf,
    #[command(flatten)]
    read: ReadArgs,
}

pub(crate) fn run(args: &TraceArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    let (TraceCommand::Analyze(AnalyzeArgs { read, .. }) | TraceCommand::Diff(DiffArgs { read, .. })) = &args.command;
    let most = profiler_analyze::max_jobs();
    if read.jobs > most {
        // A thread per trace beyond the cores only costs memory: `analyze_files` caps it.
        ui.note(format_args!(
            "note: --jobs {} is more than the {most} threads this machine runs at once; reading at most {most} \
             traces at a time",
            read.jobs
        ));
    }
    match &args.command {
        TraceCommand::Analyze(args) => analyze(args, ui),
        TraceCommand::Diff(args) => diff(args, ui),
    }
}

fn analyze(args: &AnalyzeArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    let clock = std::time::Instant::now();
    let results = read_run(&args.paths, &args.read, ui)?;
    let report = build_report(&results, args.read.top, clock.elapsed().as_secs_f64());
    if let Some(svg) = &args.svg {
        let title = file_name(&results[0].file);
        let chart = breakdown_svg(&results[0].analysis, &title);
        metrics_schema::write_atomic(svg, |out| out.write_all(chart.as_bytes()))?;
        ui.note(format_args!("wrote {}", svg.display()));
    }
    let envelope = Envelope::for_this_machine(report);
    ui.emit(&envelope, &analysis_document(&envelope.report))?;
    Ok(Outcome::Success)
}

fn diff(args: &DiffArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    let a = read_run(std::slice::from_ref(&args.a), &args.read, ui)?;
    let b = read_run(std::slice::from_ref(&args.b), &args.read, ui)?;
    let report = profiler_analyze::diff(
        &a[0].file.display().to_string(),
        &a[0].analysis,
        &b[0].file.display().to_string(),
        &b[0].analysis,
        args.read.top,
    );
    for note in &report.notes {
        ui.note(format_args!("note: {note}"));
    }
    let envelope = Envelope::for_this_machine(report);
    ui.emit(&envelope, &diff_document(&envelope.report))?;
    Ok(Outcome::Success)
}

/// Reads and analyses the traces behind `paths` with a progress bar over their file bytes.
fn read_run(paths: &[PathBuf], read: &ReadArgs, ui: &Ui) -> anyhow::Result<Vec<RankResult>> {
    let files = trace_files(paths)?;
    let total: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    interrupt::set_cancellable();
    let bar = ui.progress_bytes(total, "reading");
    let options = AnalyzeOptions { top: read.top, lenient: read.lenient, jobs: read.jobs };
    let results = analyze_files(&files, options, &|bytes| {
        bar.set_position(bytes);
        !interrupt::requested()
    });
    bar.finish_and_clear();
    let results = results.with_context(|| {
        if files.len() == 1 { "reading the trace".to_owned() } else { format!("reading {} traces", files.len()) }
    })?;
    for result in &results {
        for warning in &result.analysis.warnings {
            ui.note(format_args!("warning: {}: {warning}", result.file.display()));
        }
        if let Some(damage) = &result.damage {
            ui.note(format_args!(
                "warning: {}: damaged at byte {} ({}); analysed the {} events before it",
                result.file.display(),
                damage.offset,
                damage.message,
                result.events
            ));
        }
    }
    Ok(results)
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |name| name.to_string_lossy().into_owned())
}

fn pct(fraction: f64) -> String {
    format!("{:.1}%", 100.0 * fraction)
}

fn ms(value: f64) -> String {
    format!("{value:.2}")
}

fn analysis_document(report: &TraceAnalysisReport) -> Document {
    let mut doc = Document::new(format!("Trace analysis: {}", file_name(Path::new(&report.file))));
    let steps = &report.steps;
    let summary = if steps.count > 0 {
        format!(
            "{} steps, median {:.1} ms; GPU busy {}, DataLoader {} of the window",
            steps.count,
            steps.median_ms,
            pct(report.gpu.busy_fraction),
            pct(report.dataloader.fraction)
        )
    } else {
        format!(
            "no profiler steps: one {:.1} ms window; GPU busy {}",
            report.window.duration_ms,
            pct(report.gpu.busy_fraction)
        )
    };
    let mut fields = vec![
        ("summary".to_owned(), summary),
        (
            "steps".to_owned(),
            format!(
                "mean {:.2} ms, median {:.2}, p95 {:.2}, max {:.2}",
                steps.mean_ms, steps.median_ms, steps.p95_ms, steps.max_ms
            ),
        ),
        (
            "dataloader".to_owned(),
            format!("{:.2} ms per step ({})", report.dataloader.ms_per_step, pct(report.dataloader.fraction)),
        ),
        (
            "gpu".to_owned(),
            format!(
                "busy {}; kernels {:.1} ms (compute {:.1}, communication {:.1}), memcpy {:.1} ms, memset {:.1} ms",
                pct(report.gpu.busy_fraction),
                report.gpu.kernel_ms,
                report.gpu.compute_ms,
                report.gpu.communication_ms,
                report.gpu.memcpy_ms,
                report.gpu.memset_ms
            ),
        ),
    ];
    let communication = &report.communication;
    if communication.on_host || communication.backend.is_some() {
        fields.push((
            "collectives".to_owned(),
            format!(
                "{:.2} ms per step ({}) on the {}{}",
                communication.ms_per_step,
                pct(communication.fraction),
                if communication.on_host { "host" } else { "device" },
                communication.backend.as_ref().map(|b| format!(", backend {b}")).unwrap_or_default()
            ),
        ));
    }
    for temporal in &report.temporal {
        fields.push((
            format!("temporal (HTA) gpu {}", temporal.device),
            format!(
                "idle {:.1}%, compute {:.1}%, non-compute {:.1}% of {:.1} ms",
                temporal.idle_pct, temporal.compute_pct, temporal.non_compute_pct, temporal.kernel_time_ms
            ),
        ));
    }
    for peak in report.memory.iter().flatten() {
        let total = peak.total_bytes.map(|t| format!(" of {}", format_bytes(t))).unwrap_or_default();
        let basis = if peak.from_deltas { " (allocated during the trace)" } else { "" };
        fields.push((
            format!("memory {}", peak.device),
            format!(
                "peak allocated {}{basis}, reserved {}{total}",
                format_bytes(peak.peak_allocated_bytes),
                format_bytes(peak.peak_reserved_bytes)
            ),
        ));
    }
    fields.push(("read".to_owned(), format!("{} events, {}", report.read.events, format_bytes(report.read.bytes))));
    for note in &report.notes {
        fields.push(("note".to_owned(), note.clone()));
    }
    doc.fields(None, fields);

    let parts = &report.breakdown.fractions;
    // The collectives column only where a host backend put time in it (NCCL's is GPU-bound).
    let with_collectives = communication.on_host;
    let mut rows: Vec<Vec<String>> = report
        .breakdown
        .per_step
        .iter()
        .map(|s| {
            let mut row = vec![s.step.to_string(), ms(s.duration_ms), ms(s.gpu_ms), ms(s.data_wait_ms)];
            row.extend(with_collectives.then(|| ms(s.communication_ms)));
            row.extend([ms(s.sync_ms), ms(s.host_ms), ms(s.other_ms)]);
            row
        })
        .collect();
    let mut share = vec!["share".to_owned(), "100%".to_owned(), pct(parts.gpu), pct(parts.data_wait)];
    share.extend(with_collectives.then(|| pct(parts.communication)));
    share.extend([pct(parts.sync), pct(parts.host), pct(parts.other)]);
    rows.push(share);
    let mut headers = vec!["step", "wall", "GPU-bound", "data wait"];
    headers.extend(with_collectives.then_some("collectives"));
    headers.extend(["sync", "host", "other"]);
    doc.table(Some("Step breakdown (ms)"), &headers, rows);
    doc.table(Some("Top ops by self time"), &["op", "calls", "self ms", "total ms"], op_rows(&report.top_ops));
    doc.table(
        Some("Top kernels"),
        &["kernel", "launched by", "count", "total ms", "mean ms"],
        kernel_rows(&report.top_kernels),
    );
    if !report.ranks.is_empty() {
        let rows = report
            .ranks
            .iter()
            .map(|r| {
                vec![
                    r.rank.to_string(),
                    file_name(Path::new(&r.file)),
                    r.steps.count.to_string(),
                    ms(r.steps.mean_ms),
                    pct(r.dataloader.fraction),
                    pct(r.gpu.busy_fraction),
                    ms(r.communication.ms_per_step),
                ]
            })
            .collect();
        doc.table(Some("Ranks"), &["rank", "file", "steps", "step ms", "dataloader", "GPU busy", "comm ms/step"], rows);
    }
    if !report.stragglers.is_empty() {
        let rows = report
            .stragglers
            .iter()
            .map(|s| vec![s.rank.to_string(), ms(s.excess_ms_per_step), s.reason.clone()])
            .collect();
        doc.table(Some("Stragglers"), &["rank", "excess ms/step", "reason"], rows);
    }
    let rows = report
        .recommendations
        .iter()
        .map(|r| {
            let evidence: Vec<String> = r.evidence.iter().map(|(k, v)| format!("{k}={v}")).collect();
            vec![r.severity.as_str().to_owned(), r.id.clone(), r.title.clone(), evidence.join(", ")]
        })
        .collect();
    doc.table(Some("Recommendations"), &["severity", "id", "finding", "evidence"], rows);
    let fixes = report.recommendations.iter().map(|r| (r.id.clone(), r.suggestion.clone())).collect();
    doc.fields(Some("What to change"), fixes);
    doc
}

fn op_rows(ops: &[OpStat]) -> Vec<Vec<String>> {
    ops.iter().map(|op| vec![shorten(&op.name), op.count.to_string(), ms(op.self_ms), ms(op.total_ms)]).collect()
}

fn kernel_rows(kernels: &[KernelStat]) -> Vec<Vec<String>> {
    kernels
        .iter()
        .map(|k| {
            vec![shorten(&k.name), shorten(&k.op), k.count.to_string(), ms(k.total_ms), format!("{:.4}", k.mean_ms)]
        })
        .collect()
}

/// Kernel names run to hundreds of characters of template arguments; tables keep the head.
fn shorten(name: &str) -> String {
    const MAX: usize = 72;
    if name.chars().count() <= MAX {
        return name.to_owned();
    }
    let head: String = name.chars().take(MAX - 1).collect();
    format!("{head}…")
}

fn diff_document(report: &TraceDiffReport) -> Document {
    let mut doc = Document::new("Trace diff (ms per step; B − A)");
    doc.fields(
        None,
        vec![
            ("A".to_owned(), format!("{} ({} steps)", report.a.file, report.a.steps.count)),
            ("B".to_owned(), format!("{} ({} steps)", report.b.file, report.b.steps.count)),
        ],
    );
    let rows = |table: &[metrics_schema::DiffRow]| -> Vec<Vec<String>> {
        table
            .iter()
            .map(|row| {
                vec![
                    shorten(&row.name),
                    ms(row.a_ms),
                    ms(row.b_ms),
                    format!("{:+.2}", row.delta_ms),
                    row.ratio.map_or_else(|| "new".to_owned(), |r| format!("{r:.2}×")),
                ]
            })
            .collect()
    };
    if !report.notes.is_empty() {
        doc.fields(None, report.notes.iter().map(|note| ("note".to_owned(), note.clone())).collect());
    }
    if !report.steps.is_empty() {
        doc.table(Some("Per step"), &["part", "A", "B", "Δ", "B/A"], rows(&report.steps));
    }
    doc.table(Some("Ops (self time), largest change first"), &["op", "A", "B", "Δ", "B/A"], rows(&report.ops));
    doc.table(Some("Kernels, largest change first"), &["kernel", "A", "B", "Δ", "B/A"], rows(&report.kernels));
    doc
}
