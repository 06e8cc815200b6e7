//! `ocrperf throughput`: throughput of a run from its batch events, trace or Lightning log;
//! and `throughput run`, the DBNet target pipeline through the instrumented loader.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, builder::RangedU64ValueParser};
use metrics_schema::{Bottleneck, Envelope, HumanDuration, ThroughputReport};
use ocrperf::{
    dbnet_pipeline::{EpochSummary, PipelineOptions},
    polygon_cache::{TargetConfig, read_dataset, synthetic_dataset},
    throughput_files::{FileOptions, read_files},
};

use crate::{
    Outcome, interrupt,
    output::{Document, Ui},
};

/// Images in the built-in data set of `throughput run`.
const BUILT_IN_IMAGES: usize = 200;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ThroughputArgs {
    #[command(subcommand)]
    run: Option<ThroughputCommand>,
    #[command(flatten)]
    files: FileArgs,
}

#[derive(Debug, Subcommand)]
enum ThroughputCommand {
    /// Run the DBNet target pipeline through the loader with a simulated accelerator step
    Run(RunArgs),
}

#[derive(Debug, Args)]
struct FileArgs {
    /// Batch events (.jsonl), Kineto traces (.json, .json.gz) or Lightning metrics.csv
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Samples per step for Kineto traces (they do not record it)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    batch_size: Option<u64>,
    /// Count and skip unreadable JSONL lines instead of failing
    #[arg(long)]
    skip_bad_lines: bool,
    /// Leave out this many batches at the start
    #[arg(long, default_value_t = 0, value_name = "N")]
    warmup: u64,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Ground-truth directory (ICDAR text files); default: the built-in 200 synthetic images
    #[arg(long, value_name = "DIR")]
    gt: Option<PathBuf>,
    /// Loader worker threads (0: in the main thread)
    #[arg(long, default_value_t = 2, value_name = "N", value_parser = RangedU64ValueParser::<usize>::new().range(0..=1024))]
    workers: usize,
    /// Images per batch
    #[arg(long, default_value_t = 8, value_name = "B", value_parser = RangedU64ValueParser::<usize>::new().range(1..=65_536))]
    batch_size: usize,
    /// Batches each worker prepares ahead
    #[arg(long, default_value_t = 2, value_name = "N", value_parser = RangedU64ValueParser::<usize>::new().range(1..=1024))]
    prefetch_factor: usize,
    /// Passes over the data
    #[arg(long, default_value_t = 3, value_name = "E", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    epochs: u32,
    /// Polygon cache budget in MiB (0 turns the cache off)
    #[arg(long, default_value = "1024", value_name = "MIB", conflicts_with = "no_cache", value_parser = crate::args::cache_budget, allow_negative_numbers = true)]
    cache_mb: crate::args::CacheBudget,
    /// No polygon cache
    #[arg(long)]
    no_cache: bool,
    /// Simulated accelerator time per batch, a duration such as 20ms (0s to 1h)
    // `--step-ms` was its first name; it took a duration all along, so it stays as an alias.
    #[arg(long, alias = "step-ms", default_value = "20ms", value_name = "DURATION",
          value_parser = crate::args::duration_in(std::time::Duration::ZERO, std::time::Duration::from_secs_f64(metrics_schema::MAX_STEP_SECONDS), ""))]
    step: HumanDuration,
    /// Write the batch timeline as a Chrome trace (Perfetto opens it): one track per worker
    #[arg(long, value_name = "FILE")]
    chrome_trace: Option<PathBuf>,
    /// Write one batch event per line (JSONL, as the Lightning callback writes them), for
    /// `ocrperf baseline` and `ocrperf regress`
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// Leave out this many batches at the start of the overall figures (the per-epoch table
    /// keeps them); one epoch's worth measures the warm cache alone
    #[arg(long, default_value_t = 0, value_name = "N")]
    warmup: u64,
    /// Make each image's maps in its worker's one reused buffer and hand on empty items, as
    /// `targets bench` does: measures the loader's own cost without the memory of batches in
    /// flight
    #[arg(long)]
    discard_maps: bool,
}

pub(crate) fn run(args: &ThroughputArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    match &args.run {
        Some(ThroughputCommand::Run(run)) => run_pipeline(run, ui),
        None => from_files(&args.files, ui),
    }
}

fn from_files(args: &FileArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    // Before any work: `-o` over an input would destroy what is being read.
    if let Some(out) = ui.output_path() {
        crate::output::refuse_overwriting_inputs(&[("-o", out)], &args.files, |_| false)?;
    }
    let options = FileOptions { batch_size: args.batch_size, skip_bad_lines: args.skip_bad_lines, warmup: args.warmup };
    let read = read_files(&args.files, &options)?;
    for warning in &read.warnings {
        ui.note(format_args!("warning: {warning}"));
    }
    let envelope = Envelope::for_this_machine(read.report);
    ui.emit(&envelope, &document(&envelope.report, &[]))?;
    Ok(Outcome::Success)
}

fn run_pipeline(args: &RunArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    // Output paths are checked before the run, so a typo does not cost the whole run.
    for path in [&args.chrome_trace, &args.events].into_iter().flatten() {
        check_output_path(path)?;
    }
    let (images, source) = match &args.gt {
        Some(dir) => (read_dataset(dir, None)?, dir.display().to_string()),
        None => (synthetic_dataset(BUILT_IN_IMAGES, 0), format!("built-in ({BUILT_IN_IMAGES} images)")),
    };
    let options = PipelineOptions {
        images,
        source,
        config: TargetConfig::default(),
        cache_bytes: if args.no_cache { None } else { args.cache_mb.0 },
        batch_size: args.batch_size,
        workers: args.workers,
        prefetch_factor: args.prefetch_factor,
        epochs: args.epochs,
        step: args.step.get(),
        warmup: args.warmup,
        discard_maps: args.discard_maps,
        record_events: args.events.is_some(),
        record_timeline: args.chrome_trace.is_some(),
    };
    interrupt::set_cancellable();
    let batches_per_epoch = options.images.len().div_ceil(options.batch_size.max(1)) as u64;
    let progress = ui.progress(u64::from(args.epochs) * batches_per_epoch, "batches");
    let run = ocrperf::dbnet_pipeline::run_pipeline(&options, &mut |done| {
        progress.set_position(done);
        !interrupt::requested()
    })?;
    progress.finish_and_clear();
    let envelope = Envelope::for_this_machine(run.report);
    let mut doc = document(&envelope.report, &run.epochs);
    if run.interrupted {
        doc.fields(
            None,
            vec![("interrupted".to_owned(), "stopped by a signal; the figures cover the batches done".to_owned())],
        );
    }
    ui.emit(&envelope, &doc)?;
    // After the report, so that a file that cannot be written does not cost the run's figures.
    if let Some(path) = &args.events {
        metrics_schema::write_atomic(path, |out| metrics_schema::batch_events::write_batch_events(out, &run.events))?;
        ui.note(format_args!("wrote {} ({} batch events)", path.display(), run.events.len()));
    }
    if let (Some(path), Some(timeline)) = (&args.chrome_trace, &run.timeline) {
        metrics_schema::write_atomic(path, |out| timeline.write(args.workers, out))?;
        ui.note(format_args!("wrote {} (open it in https://ui.perfetto.dev)", path.display()));
    }
    Ok(if run.interrupted { Outcome::Interrupted } else { Outcome::Success })
}

/// Fails now, not after the run, when `path` cannot be written: its directory is missing or
/// it is a directory.
fn check_output_path(path: &Path) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    anyhow::ensure!(dir.is_dir(), "{}: its directory {} does not exist", path.display(), dir.display());
    anyhow::ensure!(!path.is_dir(), "{}: is a directory, not a file", path.display());
    Ok(())
}

fn document(report: &ThroughputReport, epochs: &[EpochSummary]) -> Document {
    let mut doc = Document::new("Throughput");
    let pct = |p: &metrics_schema::Percentiles| {
        format!(
            "mean {:.2}, p50 {:.2}, p90 {:.2}, p95 {:.2}, p99 {:.2}, max {:.2}",
            p.mean, p.p50, p.p90, p.p95, p.p99, p.max
        )
    };
    let mut fields = vec![
        ("source".to_owned(), report.source.clone()),
        (
            "verdict".to_owned(),
            if report.bottleneck == Bottleneck::Unmeasured {
                "unmeasured (the input records no data wait)".to_owned()
            } else {
                format!(
                    "{} (data wait {:.1}% of batch time)",
                    report.bottleneck.as_str(),
                    100.0 * report.data_wait_fraction
                )
            },
        ),
        (
            "rate".to_owned(),
            format!(
                "{:.1} samples/s, {:.2} batches/s ({} batches, {} samples, {:.2} s)",
                report.samples_per_s, report.batches_per_s, report.batches, report.samples, report.elapsed_s
            ),
        ),
        ("last window".to_owned(), format!("{:.1} samples/s", report.window_samples_per_s)),
        ("batch time ms".to_owned(), pct(&report.batch_time_ms)),
        ("data wait ms".to_owned(), pct(&report.data_wait_ms)),
        ("compute ms".to_owned(), pct(&report.compute_ms)),
        ("efficiency".to_owned(), format!("{:.1}%", 100.0 * report.efficiency)),
    ];
    if let Some(peak) = report.memory.rss_peak_bytes {
        let growth = report
            .memory
            .rss_growth_bytes_per_1k_batches
            .map_or("n/a".to_owned(), |g| format!("{:+.0} B per 1k batches", g));
        fields.push(("memory".to_owned(), format!("RSS peak {}, growth {growth}", crate::output::format_bytes(peak))));
    }
    if report.warmup_batches > 0 {
        fields.push(("warm-up".to_owned(), format!("{} batches left out", report.warmup_batches)));
    }
    doc.fields(None, fields);
    if !epochs.is_empty() {
        let rows = epochs
            .iter()
            .enumerate()
            .map(|(index, epoch)| {
                let r = &epoch.report;
                vec![
                    (index + 1).to_string(),
                    format!("{:.1}", r.samples_per_s),
                    format!("{:.2}", r.data_wait_ms.mean),
                    format!("{:.1}%", 100.0 * r.data_wait_fraction),
                    epoch.cache_hit_rate.map_or("off".to_owned(), |h| format!("{:.1}%", 100.0 * h)),
                    r.bottleneck.as_str().to_owned(),
                ]
            })
            .collect();
        doc.table(Some("Epochs"), &["epoch", "samples/s", "wait ms", "wait %", "cache hits", "verdict"], rows);
    }
    doc
}
