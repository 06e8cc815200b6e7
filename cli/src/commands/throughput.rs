//! `ocrperf throughput`: throughput of a run from its batch events, trace or Lightning log;
//! and `throughput run`, the DBNet target pipeline through the instrumented loader.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use clap::{Args, Subcommand, builder::RangedU64ValueParser};
use metrics_schema::{BatchEvent, Bottleneck, Envelope, HumanDuration, ThroughputReport};
use polygon_cache::{Image, PolygonCache, TargetConfig, TargetGenerator, Targets, read_dataset, synthetic_dataset};
use throughput::{Dataset, ItemError, Loader, LoaderOptions, MonitorSettings, ThroughputMonitor, inputs};

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
    /// Polygon cache budget in MiB
    #[arg(long, default_value_t = 1024, value_name = "M", conflicts_with = "no_cache", value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    cache_mb: u64,
    /// No polygon cache
    #[arg(long)]
    no_cache: bool,
    /// Simulated accelerator time per batch
    #[arg(long, default_value = "20ms", value_name = "DURATION")]
    step_ms: HumanDuration,
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
    anyhow::ensure!(
        !args.files.is_empty(),
        "give the files to read (batch events, traces or metrics.csv), or `throughput run`"
    );
    let mut monitor = ThroughputMonitor::new(MonitorSettings {
        warmup_batches: args.warmup,
        memory_every: 0,
        ..MonitorSettings::default()
    });
    let mut skipped = 0;
    let mut wait_measured = false;
    for file in &args.files {
        match Kind::of(file) {
            Kind::Events => skipped += inputs::jsonl::read_events(file, &mut monitor, args.skip_bad_lines)?.skipped,
            Kind::Trace => {
                let batch_size = args.batch_size.with_context(|| {
                    format!("{}: a Kineto trace does not record the batch size; give --batch-size", file.display())
                })?;
                inputs::kineto::read_trace(file, batch_size, &mut monitor)?;
            }
            Kind::Lightning => {
                inputs::lightning::read_metrics_csv(file, &mut monitor)?;
                ui.note(format_args!(
                    "warning: {}: Lightning's metrics.csv records no data wait; its batches count as all compute \
                     (the ocrperf callback records both)",
                    file.display()
                ));
                continue;
            }
        }
        wait_measured = true;
    }
    let names: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
    let mut report = monitor.report(&names.join(", "));
    report.skipped_lines = skipped;
    if !wait_measured {
        report.bottleneck = Bottleneck::Unmeasured;
    }
    if skipped > 0 {
        ui.note(format_args!("warning: skipped {skipped} unreadable lines"));
    }
    let envelope = Envelope::for_this_machine(report);
    ui.emit(&envelope, &document(&envelope.report, &[]))?;
    Ok(Outcome::Success)
}

enum Kind {
    Events,
    Trace,
    Lightning,
}

impl Kind {
    fn of(path: &Path) -> Kind {
        let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        if name.ends_with(".csv") {
            Kind::Lightning
        } else if name.ends_with(".json") || name.ends_with(".json.gz") {
            Kind::Trace
        } else {
            Kind::Events
        }
    }
}

/// DBNet targets of each image, made by the polygon-cache generator.
///
/// Map buffers (6.5 MB per 640×640 image) are recycled through `spare`, as a training loop
/// reuses its pinned batch buffers: allocating and zeroing fresh ones for every image would
/// cost more than making most targets.
#[derive(Debug)]
struct DbnetTargets {
    images: Vec<Image>,
    generator: TargetGenerator,
    spare: std::sync::Mutex<Vec<Targets>>,
    /// Hand on empty `Targets`, returning each map set to `spare` at once (`--discard-maps`):
    /// the workers then share as many sets as there are workers, as `targets bench` does.
    discard_maps: bool,
}

impl DbnetTargets {
    /// A recycled map set (the last one returned: the likeliest still in cache), or a new one.
    fn take_spare(&self) -> Targets {
        self.spare.lock().ok().and_then(|mut spare| spare.pop()).unwrap_or_default()
    }

    /// Takes back used map sets.
    fn recycle(&self, used: impl IntoIterator<Item = Targets>) {
        if let Ok(mut spare) = self.spare.lock() {
            spare.extend(used);
        }
    }
}

impl Dataset for DbnetTargets {
    type Item = Targets;

    fn len(&self) -> usize {
        self.images.len()
    }

    fn get(&self, index: usize) -> Result<Targets, ItemError> {
        let image = &self.images[index];
        let mut targets = self.take_spare();
        let made = self.generator.generate_into(image.height, image.width, &image.polygons, &mut targets);
        let handed_on = if self.discard_maps {
            self.recycle([targets]);
            Targets::default()
        } else {
            targets
        };
        made?;
        Ok(handed_on)
    }
}

/// One row of the per-epoch table.
struct EpochRow {
    report: ThroughputReport,
    cache_hit_rate: Option<f64>,
}

fn run_pipeline(args: &RunArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    let (images, source) = match &args.gt {
        Some(dir) => (read_dataset(dir, None)?, dir.display().to_string()),
        None => (synthetic_dataset(BUILT_IN_IMAGES, 0), format!("built-in ({BUILT_IN_IMAGES} images)")),
    };
    let config = TargetConfig::default();
    let generator = if args.no_cache {
        TargetGenerator::new(config)
    } else {
        TargetGenerator::with_cache(config, PolygonCache::with_max_bytes(args.cache_mb << 20))
    };
    let dataset = Arc::new(DbnetTargets {
        images,
        generator,
        spare: std::sync::Mutex::new(Vec::new()),
        discard_maps: args.discard_maps,
    });
    let loader = Loader::new(
        Arc::clone(&dataset),
        LoaderOptions { batch_size: args.batch_size, workers: args.workers, prefetch_factor: args.prefetch_factor },
    );
    let step = args.step_ms.get();
    let mut overall =
        ThroughputMonitor::new(MonitorSettings { warmup_batches: args.warmup, ..MonitorSettings::default() });
    let mut epochs = Vec::new();
    let mut timeline = Timeline::default();
    let mut events = Vec::new();
    let origin = Instant::now();
    let mut cache_before = (0, 0);
    interrupt::set_cancellable();
    let progress =
        ui.progress(u64::from(args.epochs) * dataset.len().div_ceil(args.batch_size.max(1)) as u64, "batches");
    for _ in 0..args.epochs {
        let mut monitor = ThroughputMonitor::new(MonitorSettings::default());
        for batch in loader.epoch((0..dataset.len()).collect()) {
            let batch = batch?;
            let arrived = Instant::now();
            // The simulated accelerator step: the time a model would take on the batch.
            std::thread::sleep(step);
            let compute = arrived.elapsed();
            let timing = throughput::BatchTiming {
                data_wait: batch.wait,
                compute,
                samples: batch.items.len() as u64,
                ..Default::default()
            };
            monitor.record(timing);
            overall.record(timing);
            timeline.add(origin, &batch, arrived, compute);
            if args.events.is_some() {
                let started = std::time::SystemTime::now().checked_sub(arrived.elapsed() + batch.wait);
                events.push(BatchEvent {
                    step: events.len() as u64,
                    batch_size: timing.samples,
                    data_wait_s: batch.wait.as_secs_f64(),
                    compute_s: compute.as_secs_f64(),
                    t_start: started
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map(|d| d.as_secs_f64()),
                    gpu_mem_bytes: None,
                });
            }
            if !args.discard_maps {
                dataset.recycle(batch.items);
            }
            progress.inc(1);
            if interrupt::requested() {
                break;
            }
        }
        // This epoch's hit rate, from the change in the cache's counters.
        let cache_hit_rate = dataset.generator.cache().map(|cache| {
            let stats = cache.stats();
            let (hits, misses) = (stats.hits - cache_before.0, stats.misses - cache_before.1);
            cache_before = (stats.hits, stats.misses);
            if hits + misses == 0 { 0.0 } else { hits as f64 / (hits + misses) as f64 }
        });
        epochs.push(EpochRow { report: monitor.report(&source), cache_hit_rate });
        if interrupt::requested() {
            break;
        }
    }
    progress.finish_and_clear();
    let source = format!(
        "{source}, {} workers, batch {}, {}, step {} ms",
        args.workers,
        args.batch_size,
        if args.no_cache { "no cache".to_owned() } else { format!("cache {} MiB", args.cache_mb) },
        step.as_millis()
    );
    let report = overall.report(&source);
    let envelope = Envelope::for_this_machine(report);
    ui.emit(&envelope, &document(&envelope.report, &epochs))?;
    // After the report, so that a file that cannot be written does not cost the run's figures.
    if let Some(path) = &args.events {
        metrics_schema::write_atomic(path, |out| {
            for event in &events {
                serde_json::to_writer(&mut *out, event)?;
                out.write_all(b"\n")?;
            }
            Ok(())
        })?;
        ui.note(format_args!("wrote {} ({} batch events)", path.display(), events.len()));
    }
    if let Some(path) = &args.chrome_trace {
        metrics_schema::write_atomic(path, |out| out.write_all(timeline.to_json(args.workers).as_bytes()))?;
        ui.note(format_args!("wrote {} (open it in https://ui.perfetto.dev)", path.display()));
    }
    Ok(Outcome::Success)
}

/// Chrome trace events of the run: worker tracks with the batches they made, and the main
/// track with data waits and steps.
#[derive(Debug, Default)]
struct Timeline {
    events: Vec<String>,
}

impl Timeline {
    fn add<T>(&mut self, origin: Instant, batch: &throughput::Batch<T>, arrived: Instant, compute: Duration) {
        let us = |at: Instant| at.saturating_duration_since(origin).as_secs_f64() * 1e6;
        let span = |name: String, tid: usize, start: f64, dur: f64| {
            format!(r#"{{"ph":"X","name":"{name}","pid":1,"tid":{tid},"ts":{start:.3},"dur":{dur:.3}}}"#)
        };
        let (made_start, made_end) = batch.made;
        self.events.push(span(
            format!("batch {}", batch.index),
            batch.worker + 1,
            us(made_start),
            us(made_end) - us(made_start),
        ));
        let wait_start = us(arrived) - batch.wait.as_secs_f64() * 1e6;
        self.events.push(span("data wait".to_owned(), 0, wait_start, batch.wait.as_secs_f64() * 1e6));
        self.events.push(span(format!("step {}", batch.index), 0, us(arrived), compute.as_secs_f64() * 1e6));
    }

    fn to_json(&self, workers: usize) -> String {
        let mut json = String::from("{\"traceEvents\":[\n");
        let _ = write!(json, r#"{{"ph":"M","name":"thread_name","pid":1,"tid":0,"args":{{"name":"training loop"}}}}"#);
        for worker in 0..workers.max(1) {
            let label =
                if workers == 0 { "main thread (no workers)".to_owned() } else { format!("loader worker {worker}") };
            let _ = write!(
                json,
                ",\n{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":{},\"args\":{{\"name\":\"{label}\"}}}}",
                worker + 1
            );
        }
        for event in &self.events {
            json.push_str(",\n");
            json.push_str(event);
        }
        json.push_str("\n],\"displayTimeUnit\":\"ms\"}\n");
        json
    }
}

fn document(report: &ThroughputReport, epochs: &[EpochRow]) -> Document {
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
