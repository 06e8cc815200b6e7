//! Command-line arguments shared by every subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::{
    baseline::BaselineArgs, info::InfoArgs, monitor::MonitorArgs, regress::RegressArgs, targets::TargetsArgs,
    throughput::ThroughputArgs, trace::TraceArgs,
};

/// The `--version` text: the crate version and the commit it was built from.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("OCRPERF_GIT_COMMIT"), ")");

/// Performance tools for OCR (DBNet-style text detection) training pipelines.
#[derive(Debug, Parser)]
#[command(name = "ocrperf", version = VERSION, propagate_version = true, arg_required_else_help = true)]
#[command(
    after_help = "Exit codes: 0 success, 1 a check failed, 2 bad usage or input, 3 regress compared nothing, 130 interrupted.\n\n\
    In Python (pip install ./ocrperf-py): ocrperf.dbnet and ocrperf.dbnet.paddle (DBNet targets for DB and \
    PaddleOCR pipelines), ocrperf.lightning (Throughput, Profiler, ResourceMonitor callbacks)."
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every subcommand honours, accepted before or after the subcommand name.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Output format [default: table on a terminal, json otherwise, or from the -o extension]
    #[arg(long, global = true, value_enum)]
    pub(crate) format: Option<Format>,
    /// Write the report to FILE (atomically: a temp file, then a rename); `-` is stdout
    #[arg(short, long, global = true, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Print nothing but the report and errors
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Never show progress bars
    #[arg(long, global = true)]
    pub(crate) no_progress: bool,
}

/// How a report is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns for people
    Table,
    /// The JSON report envelope, for tools
    Json,
    /// Markdown tables, for pull requests and wikis
    Md,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Describe this machine: OS, CPU, memory, GPUs (the `host` of every report)
    Info(InfoArgs),
    /// DBNet training targets: digests and parity, .npy maps, and the cache benchmark
    Targets(TargetsArgs),
    /// PyTorch profiler traces: bottlenecks and fixes, per rank, and diffs between runs
    Trace(TraceArgs),
    /// GPU, CPU, memory, disk and process sampling with alerts, Prometheus export and reports
    Monitor(MonitorArgs),
    /// Data-loader throughput: from batch events, traces or Lightning logs, or a built-in run
    Throughput(ThroughputArgs),
    /// A run's performance baseline from W&B, MLflow, TensorBoard, Lightning or ocrperf files
    Baseline(BaselineArgs),
    /// The performance gate: a run against a baseline; exit 1 on a regression
    Regress(RegressArgs),
}

/// The one parser of every duration option: a [`metrics_schema::HumanDuration`] within the
/// option's own range, so `--interval 18446744073709551615s` is a usage error (exit 2) instead
/// of a panic in clock arithmetic later. `hint` ends the message of a refusal.
pub(crate) fn duration_in(
    min: std::time::Duration,
    max: std::time::Duration,
    hint: &'static str,
) -> impl Fn(&str) -> Result<metrics_schema::HumanDuration, String> + Clone + Send + Sync + 'static {
    let range = metrics_schema::DurationRange::new(min, max);
    move |text: &str| range.parse(text).map_err(|err| format!("{err}{hint}"))
}

/// `--cache-mb`: the polygon cache's budget in MiB through the library's one range
/// ([`ocrperf::polygon_cache::cache_budget_from_mib`], as Python's `cache_mb=`); 0 turns the
/// cache off, like `--no-cache`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CacheBudget(pub(crate) Option<u64>);

pub(crate) fn cache_budget(text: &str) -> Result<CacheBudget, String> {
    let mib: f64 = text.trim().parse().map_err(|_| format!("`{text}` is not a number of MiB"))?;
    ocrperf::polygon_cache::cache_budget_from_mib(mib).map(CacheBudget).map_err(|err| err.to_string())
}
