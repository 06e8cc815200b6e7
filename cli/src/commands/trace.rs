//! `ocrperf trace`: analyse PyTorch profiler traces, and compare two.

use ocrperf::profiler_analyze;
use ocrperf::trace_report::{RunRead, analysis_document, analyze_run, diff_document, file_name, read_run};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use metrics_schema::Envelope;
use profiler_analyze::{AnalyzeOptions, breakdown_svg};

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
    let mut outputs: Vec<(&str, &Path)> = ui.output_path().map(|path| ("-o", path)).into_iter().collect();
    outputs.extend(args.svg.as_deref().map(|path| ("--svg", path)));
    let run = with_progress(ui, |progress| analyze_run(&args.paths, options(&args.read), &outputs, progress))?;
    for warning in &run.warnings {
        ui.note(format_args!("warning: {warning}"));
    }
    if let Some(svg) = &args.svg {
        let title = file_name(&run.results[0].file);
        let chart = breakdown_svg(&run.results[0].analysis, &title);
        metrics_schema::write_atomic(svg, |out| out.write_all(chart.as_bytes()))?;
        ui.note(format_args!("wrote {}", svg.display()));
    }
    ui.emit(&run.envelope, &analysis_document(&run.envelope.report))?;
    Ok(Outcome::Success)
}

fn diff(args: &DiffArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    let outputs: Vec<(&str, &Path)> = ui.output_path().map(|path| ("-o", path)).into_iter().collect();
    let read = |path: &PathBuf| -> anyhow::Result<RunRead> {
        let run = with_progress(ui, |progress| {
            read_run(std::slice::from_ref(path), options(&args.read), &outputs, progress)
        })?;
        for warning in &run.warnings {
            ui.note(format_args!("warning: {warning}"));
        }
        Ok(run)
    };
    let (a, b) = (read(&args.a)?.results, read(&args.b)?.results);
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

fn options(read: &ReadArgs) -> AnalyzeOptions {
    AnalyzeOptions { top: read.top, lenient: read.lenient, jobs: read.jobs }
}

/// Runs a read with a progress bar over the traces' file bytes, stopped by Ctrl-C.
fn with_progress<T>(ui: &Ui, read: impl FnOnce(&(dyn Fn(u64, u64) -> bool + Sync)) -> T) -> T {
    interrupt::set_cancellable();
    let bar = ui.progress_bytes(0, "reading");
    let result = read(&|bytes, total| {
        bar.set_length(total);
        bar.set_position(bytes);
        !interrupt::requested()
    });
    bar.finish_and_clear();
    result
}
