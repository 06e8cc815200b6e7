//! `ocrperf trace`: analyse PyTorch profiler traces, and compare two.

use ocrperf::profiler_analyze;
use ocrperf::trace_report::{analysis_document, diff_document, file_name, read_warnings};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use metrics_schema::Envelope;
use profiler_analyze::{AnalyzeOptions, RankResult, analyze_files, breakdown_svg, build_report, trace_files};

use crate::{Outcome, interrupt, output::Ui};

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
    for warning in read_warnings(&results) {
        ui.note(format_args!("warning: {warning}"));
    }
    Ok(results)
}
