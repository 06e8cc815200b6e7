//! The DBNet target pipeline through the instrumented loader: what `ocrperf throughput run`
//! measures. Each image's four maps are made by `polygon-cache`'s generator in the loader's
//! workers; the training loop waits for each batch and then "computes" for a fixed step (a
//! stand-in for the accelerator), so the report shows whether target generation keeps up.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use metrics_schema::{BatchEvent, ThroughputReport};
use polygon_cache::{Image, PolygonCache, TargetConfig, TargetGenerator, Targets};
use throughput::{
    BatchTiming, ChromeTimeline, Dataset, ItemError, Loader, LoaderOptions, RecorderSettings, ThroughputRecorder,
};

use crate::Error;

/// How often a long simulated step checks whether to stop.
const STOP_CHECK: Duration = Duration::from_millis(10);

/// What to run.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// The images (ground truth); see [`polygon_cache::read_dataset`] and
    /// [`polygon_cache::synthetic_dataset`].
    pub images: Vec<Image>,
    /// What the images are, for the report (`built-in (200 images)`, a directory).
    pub source: String,
    /// Target settings.
    pub config: TargetConfig,
    /// The polygon cache's budget in bytes; `None` runs without a cache.
    pub cache_bytes: Option<u64>,
    /// Images per batch.
    pub batch_size: usize,
    /// Loader workers (0: the loop makes each batch itself).
    pub workers: usize,
    /// Batches each worker prepares ahead.
    pub prefetch_factor: usize,
    /// Passes over the images.
    pub epochs: u32,
    /// The simulated accelerator step per batch.
    pub step: Duration,
    /// Batches left out at the start of the overall figures.
    pub warmup: u64,
    /// Make each image's maps in one reused buffer per worker and hand on empty items.
    pub discard_maps: bool,
    /// Keep one [`BatchEvent`] per batch.
    pub record_events: bool,
    /// Keep the batch timeline for a Chrome trace.
    pub record_timeline: bool,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            images: Vec::new(),
            source: String::new(),
            config: TargetConfig::default(),
            cache_bytes: Some(1 << 30),
            batch_size: 8,
            workers: 2,
            prefetch_factor: 2,
            epochs: 3,
            step: Duration::from_millis(20),
            warmup: 0,
            discard_maps: false,
            record_events: false,
            record_timeline: false,
        }
    }
}

/// One epoch's figures.
#[derive(Debug, Clone)]
pub struct EpochSummary {
    /// The epoch's throughput (warm-up included).
    pub report: ThroughputReport,
    /// The polygon cache's hit rate in this epoch, if there is a cache.
    pub cache_hit_rate: Option<f64>,
}

/// What a run measured.
#[derive(Debug)]
pub struct PipelineRun {
    /// Over all epochs, after the warm-up.
    pub report: ThroughputReport,
    /// Per epoch.
    pub epochs: Vec<EpochSummary>,
    /// One per batch, if asked for.
    pub events: Vec<BatchEvent>,
    /// The batch timeline, if asked for.
    pub timeline: Option<ChromeTimeline>,
    /// True when `keep_going` stopped the run early.
    pub interrupted: bool,
}

/// Runs the pipeline. `keep_going` is called with the number of batches done, after every
/// batch and every 10 ms of a simulated step; returning false stops the run there (Ctrl-C),
/// and the figures so far are returned with [`PipelineRun::interrupted`] set.
///
/// # Errors
/// [`Error::NoData`] without images or when the warm-up leaves no batch; [`Error::Loader`]
/// when making an image's targets fails.
pub fn run_pipeline(options: &PipelineOptions, keep_going: &mut dyn FnMut(u64) -> bool) -> Result<PipelineRun, Error> {
    if options.images.is_empty() {
        return Err(Error::NoData("no images to make targets for".to_owned()));
    }
    let generator = match options.cache_bytes {
        None => TargetGenerator::new(options.config),
        Some(bytes) => TargetGenerator::with_cache(options.config, PolygonCache::with_max_bytes(bytes)),
    };
    let dataset = Arc::new(DbnetTargets {
        images: options.images.clone(),
        generator,
        spare: Mutex::new(Vec::new()),
        discard_maps: options.discard_maps,
    });
    let loader = Loader::new(
        Arc::clone(&dataset),
        LoaderOptions {
            batch_size: options.batch_size,
            workers: options.workers,
            prefetch_factor: options.prefetch_factor,
        },
    );
    let mut overall =
        ThroughputRecorder::new(RecorderSettings { warmup_batches: options.warmup, ..RecorderSettings::default() });
    let origin = Instant::now();
    let mut run = PipelineRun {
        report: overall.report(""),
        epochs: Vec::new(),
        events: Vec::new(),
        timeline: options.record_timeline.then(|| ChromeTimeline::new(origin)),
        interrupted: false,
    };
    let mut cache_before = (0, 0);
    let mut done = 0u64;
    'epochs: for _ in 0..options.epochs {
        let mut recorder = ThroughputRecorder::new(RecorderSettings::default());
        for batch in loader.epoch((0..dataset.len()).collect()) {
            let batch = batch?;
            let arrived = Instant::now();
            // The simulated accelerator step: the time a model would take on the batch, slept
            // in slices so that a stop request is seen within one.
            while let Some(left) = options.step.checked_sub(arrived.elapsed()).filter(|left| !left.is_zero()) {
                std::thread::sleep(left.min(STOP_CHECK));
                if !keep_going(done) {
                    run.interrupted = true;
                    break;
                }
            }
            let compute = arrived.elapsed();
            let timing =
                BatchTiming { data_wait: batch.wait, compute, samples: batch.items.len() as u64, ..Default::default() };
            recorder.record(timing);
            overall.record(timing);
            if let Some(timeline) = &mut run.timeline {
                timeline.add(&batch, arrived, compute);
            }
            if options.record_events {
                let started = SystemTime::now().checked_sub(arrived.elapsed() + batch.wait);
                run.events.push(BatchEvent {
                    step: run.events.len() as u64,
                    batch_size: timing.samples,
                    data_wait_s: batch.wait.as_secs_f64(),
                    compute_s: compute.as_secs_f64(),
                    t_start: started
                        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                        .map(|d| d.as_secs_f64()),
                    gpu_mem_bytes: None,
                });
            }
            if !options.discard_maps {
                dataset.recycle(batch.items);
            }
            done += 1;
            if !run.interrupted && !keep_going(done) {
                run.interrupted = true;
            }
            if run.interrupted {
                run.epochs.push(epoch_summary(&dataset, recorder, &options.source, &mut cache_before));
                break 'epochs;
            }
        }
        run.epochs.push(epoch_summary(&dataset, recorder, &options.source, &mut cache_before));
    }
    let source = format!(
        "{}, {} workers, batch {}, {}, step {} ms",
        options.source,
        options.workers,
        options.batch_size,
        options.cache_bytes.map_or("no cache".to_owned(), |bytes| format!("cache {} MiB", bytes >> 20)),
        options.step.as_millis()
    );
    run.report = overall.report(&source);
    if run.report.batches == 0 && !run.interrupted {
        return Err(Error::NoData(format!(
            "all {done} batches were warm-up (warm-up {}): nothing left to measure",
            options.warmup
        )));
    }
    Ok(run)
}

fn epoch_summary(
    dataset: &DbnetTargets,
    recorder: ThroughputRecorder,
    source: &str,
    cache_before: &mut (u64, u64),
) -> EpochSummary {
    // This epoch's hit rate, from the change in the cache's counters.
    let cache_hit_rate = dataset.generator.cache().map(|cache| {
        let stats = cache.stats();
        let (hits, misses) = (stats.hits - cache_before.0, stats.misses - cache_before.1);
        *cache_before = (stats.hits, stats.misses);
        if hits + misses == 0 { 0.0 } else { hits as f64 / (hits + misses) as f64 }
    });
    EpochSummary { report: recorder.report(source), cache_hit_rate }
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
    spare: Mutex<Vec<Targets>>,
    /// Hand on empty `Targets`, returning each map set to `spare` at once: the workers then
    /// share as many sets as there are workers, as `targets bench` does.
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
