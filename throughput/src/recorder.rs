//! [`ThroughputRecorder`]: per-batch timings in, a [`ThroughputReport`] out.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use metrics_schema::{Bottleneck, MemoryStats, Percentiles, ThroughputReport};

use crate::memory::MemoryTracker;

/// One batch's timings.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BatchTiming {
    /// Time waiting for the batch.
    pub data_wait: Duration,
    /// Time computing on it.
    pub compute: Duration,
    /// Samples in it.
    pub samples: u64,
    /// Bytes in it, if known.
    pub bytes: Option<u64>,
    /// Accelerator memory after it, if known.
    pub accelerator_bytes: Option<u64>,
}

/// Settings of a [`ThroughputRecorder`].
#[derive(Debug, Clone, Copy)]
pub struct RecorderSettings {
    /// Batches at the start to leave out (compilation, cache warm-up, autotuning).
    pub warmup_batches: u64,
    /// Batches in the window of [`ThroughputReport::window_samples_per_s`].
    pub window_batches: usize,
    /// Read this process's RSS every this many batches (0: never).
    pub memory_every: u64,
}

impl Default for RecorderSettings {
    fn default() -> Self {
        RecorderSettings { warmup_batches: 0, window_batches: 100, memory_every: 64 }
    }
}

/// Largest duration the histograms hold: an hour per batch, in nanoseconds.
const MAX_NS: u64 = 3_600_000_000_000;

/// Records batches; [`ThroughputRecorder::report`] summarises them.
///
/// Recording is constant time: three histogram increments, a few additions and a ring buffer
/// push (a `cargo bench -p throughput` target checks it stays under 200 ns).
#[derive(Debug)]
pub struct ThroughputRecorder {
    settings: RecorderSettings,
    seen: u64,
    batches: u64,
    samples: u64,
    wait_ns: u128,
    compute_ns: u128,
    batch_hist: Histogram<u64>,
    wait_hist: Histogram<u64>,
    compute_hist: Histogram<u64>,
    window: VecDeque<(u64, u64)>,
    window_ns: u64,
    window_samples: u64,
    memory: MemoryTracker,
    accelerator_peak: Option<u64>,
    guard: Guard,
}

#[derive(Debug, Default, Clone, Copy)]
struct Guard {
    started: Option<Instant>,
    ready: Option<Instant>,
}

impl ThroughputRecorder {
    /// A recorder with these settings.
    pub fn new(settings: RecorderSettings) -> ThroughputRecorder {
        let histogram = || Histogram::new_with_bounds(1, MAX_NS, 3).expect("valid histogram bounds");
        ThroughputRecorder {
            settings,
            seen: 0,
            batches: 0,
            samples: 0,
            wait_ns: 0,
            compute_ns: 0,
            batch_hist: histogram(),
            wait_hist: histogram(),
            compute_hist: histogram(),
            window: VecDeque::with_capacity(settings.window_batches.max(1)),
            window_ns: 0,
            window_samples: 0,
            memory: MemoryTracker::default(),
            accelerator_peak: None,
            guard: Guard::default(),
        }
    }

    /// Records one batch.
    pub fn record(&mut self, timing: BatchTiming) {
        self.seen += 1;
        if self.seen <= self.settings.warmup_batches {
            return;
        }
        let wait = timing.data_wait.as_nanos().min(u128::from(MAX_NS)) as u64;
        let compute = timing.compute.as_nanos().min(u128::from(MAX_NS)) as u64;
        let total = (wait + compute).min(MAX_NS);
        self.batches += 1;
        self.samples += timing.samples;
        self.wait_ns += u128::from(wait);
        self.compute_ns += u128::from(compute);
        let _ = self.wait_hist.record(wait.max(1));
        let _ = self.compute_hist.record(compute.max(1));
        let _ = self.batch_hist.record(total.max(1));
        if self.window.len() == self.settings.window_batches.max(1)
            && let Some((old_ns, old_samples)) = self.window.pop_front()
        {
            self.window_ns -= old_ns;
            self.window_samples -= old_samples;
        }
        self.window.push_back((total, timing.samples));
        self.window_ns += total;
        self.window_samples += timing.samples;
        if let Some(bytes) = timing.accelerator_bytes {
            self.accelerator_peak = Some(self.accelerator_peak.map_or(bytes, |peak| peak.max(bytes)));
        }
        if self.settings.memory_every > 0 && (self.batches - 1).is_multiple_of(self.settings.memory_every) {
            self.memory.observe(self.batches);
        }
    }

    /// Marks the start of waiting for a batch (the end of the previous one).
    pub fn batch_start(&mut self) {
        self.guard = Guard { started: Some(Instant::now()), ready: None };
    }

    /// Marks the batch's arrival: data wait ends, compute begins.
    pub fn data_ready(&mut self) {
        self.guard.ready = Some(Instant::now());
    }

    /// Marks the end of the batch's compute and records it. Without a `batch_start` it does
    /// nothing; without a `data_ready` all of it counts as compute.
    pub fn batch_end(&mut self, samples: u64) {
        let now = Instant::now();
        let Some(started) = self.guard.started.take() else { return };
        let ready = self.guard.ready.take().unwrap_or(started);
        self.record(BatchTiming {
            data_wait: ready.duration_since(started),
            compute: now.duration_since(ready),
            samples,
            ..BatchTiming::default()
        });
    }

    fn mean_ms(&self, total_ns: u128) -> f64 {
        if self.batches == 0 { 0.0 } else { total_ns as f64 / self.batches as f64 / 1e6 }
    }

    /// Batches recorded after warm-up.
    pub fn batches(&self) -> u64 {
        self.batches
    }

    /// The summary so far. `source` names where the batches came from.
    pub fn report(&self, source: &str) -> ThroughputReport {
        let elapsed_s = (self.wait_ns + self.compute_ns) as f64 / 1e9;
        let per_s = |count: u64| if elapsed_s > 0.0 { count as f64 / elapsed_s } else { 0.0 };
        let wait_fraction = if self.wait_ns + self.compute_ns == 0 {
            0.0
        } else {
            self.wait_ns as f64 / (self.wait_ns + self.compute_ns) as f64
        };
        ThroughputReport {
            source: source.to_owned(),
            batches: self.batches,
            samples: self.samples,
            elapsed_s: round(elapsed_s, 6),
            samples_per_s: round(per_s(self.samples), 3),
            batches_per_s: round(per_s(self.batches), 3),
            window_samples_per_s: if self.window_ns == 0 {
                0.0
            } else {
                round(self.window_samples as f64 / (self.window_ns as f64 / 1e9), 3)
            },
            batch_time_ms: percentiles(&self.batch_hist, self.mean_ms(self.wait_ns + self.compute_ns)),
            data_wait_ms: percentiles(&self.wait_hist, self.mean_ms(self.wait_ns)),
            compute_ms: percentiles(&self.compute_hist, self.mean_ms(self.compute_ns)),
            data_wait_fraction: round(wait_fraction, 6),
            efficiency: round(1.0 - wait_fraction, 6),
            memory: MemoryStats {
                rss_peak_bytes: self.memory.peak(),
                rss_growth_bytes_per_1k_batches: self.memory.growth_per_1k_batches(),
                accelerator_peak_bytes: self.accelerator_peak,
            },
            bottleneck: Bottleneck::from_wait_fraction(wait_fraction),
            warmup_batches: self.seen.min(self.settings.warmup_batches),
            skipped_lines: 0,
        }
    }

    /// Feeds the recorder a memory reading taken elsewhere (for batches read from files, where
    /// this process's RSS means nothing).
    pub fn observe_memory(&mut self, rss_bytes: u64) {
        self.memory.push(self.batches, rss_bytes);
    }
}

/// Percentiles from the histogram (3 significant digits); the mean is exact, from the sums.
fn percentiles(histogram: &Histogram<u64>, mean_ms: f64) -> Percentiles {
    if histogram.is_empty() {
        return Percentiles { mean: 0.0, p50: 0.0, p90: 0.0, p95: 0.0, p99: 0.0, max: 0.0 };
    }
    let ms = |ns: u64| round(ns as f64 / 1e6, 4);
    Percentiles {
        mean: round(mean_ms, 4),
        p50: ms(histogram.value_at_quantile(0.50)),
        p90: ms(histogram.value_at_quantile(0.90)),
        p95: ms(histogram.value_at_quantile(0.95)),
        p99: ms(histogram.value_at_quantile(0.99)),
        max: ms(histogram.max()),
    }
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(wait_ms: u64, compute_ms: u64, samples: u64) -> BatchTiming {
        BatchTiming {
            data_wait: Duration::from_millis(wait_ms),
            compute: Duration::from_millis(compute_ms),
            samples,
            ..BatchTiming::default()
        }
    }

    fn run(timings: &[(u64, u64)], warmup: u64) -> ThroughputReport {
        let mut recorder =
            ThroughputRecorder::new(RecorderSettings { warmup_batches: warmup, memory_every: 0, ..Default::default() });
        for &(wait, compute) in timings {
            recorder.record(timing(wait, compute, 8));
        }
        recorder.report("test")
    }

    #[test]
    fn verdicts_follow_the_stated_rule() {
        // 30 ms wait of 100 ms: 30% ≥ 20% → input-bound.
        assert_eq!(run(&[(30, 70); 50], 0).bottleneck, Bottleneck::InputBound);
        // Exactly 20%: input-bound (the boundary belongs to it).
        assert_eq!(run(&[(20, 80); 50], 0).bottleneck, Bottleneck::InputBound);
        // 10%: balanced.
        assert_eq!(run(&[(10, 90); 50], 0).bottleneck, Bottleneck::Balanced);
        // 5%: compute-bound; 0%: compute-bound.
        assert_eq!(run(&[(5, 95); 50], 0).bottleneck, Bottleneck::ComputeBound);
        assert_eq!(run(&[(0, 100); 50], 0).bottleneck, Bottleneck::ComputeBound);
    }

    #[test]
    fn rates_percentiles_and_warmup() {
        // A slow first batch (compilation) is excluded by warm-up.
        let mut timings = vec![(500, 5000)];
        timings.extend((0..99).map(|i| (10, 40 + i % 10)));
        let report = run(&timings, 1);
        assert_eq!((report.batches, report.samples, report.warmup_batches), (99, 792, 1));
        let elapsed: u64 = (0..99).map(|i| 50 + i % 10).sum();
        assert!((report.elapsed_s - elapsed as f64 / 1e3).abs() < 1e-9);
        assert!((report.samples_per_s - 792.0 / (elapsed as f64 / 1e3)).abs() < 1e-3);
        assert!((report.batch_time_ms.p50 - 54.0).abs() <= 0.06, "{:?}", report.batch_time_ms);
        assert!((report.batch_time_ms.max - 59.0).abs() <= 0.06);
        assert!((report.data_wait_ms.p99 - 10.0).abs() <= 0.02);
        assert!((report.data_wait_fraction + report.efficiency - 1.0).abs() < 1e-9);
        assert!(report.batch_time_ms.max < 100.0, "warm-up batch must be excluded");
    }

    #[test]
    fn guards_measure_wait_and_compute() {
        let mut recorder = ThroughputRecorder::new(RecorderSettings::default());
        for _ in 0..3 {
            recorder.batch_start();
            std::thread::sleep(Duration::from_millis(20));
            recorder.data_ready();
            std::thread::sleep(Duration::from_millis(10));
            recorder.batch_end(4);
        }
        recorder.batch_end(4); // without a start: ignored
        let report = recorder.report("guards");
        assert_eq!((report.batches, report.samples), (3, 12));
        assert!(report.data_wait_ms.p50 >= 19.0 && report.compute_ms.p50 >= 9.0, "{report:?}");
        assert_eq!(report.bottleneck, Bottleneck::InputBound);
        assert!(report.memory.rss_peak_bytes.unwrap_or(0) > 0);
    }

    #[test]
    fn the_window_covers_the_last_batches_only() {
        let mut recorder =
            ThroughputRecorder::new(RecorderSettings { window_batches: 10, memory_every: 0, ..Default::default() });
        for _ in 0..100 {
            recorder.record(timing(0, 100, 10));
        }
        for _ in 0..10 {
            recorder.record(timing(0, 10, 10));
        }
        let report = recorder.report("window");
        assert!((report.window_samples_per_s - 1000.0).abs() < 1e-6, "{}", report.window_samples_per_s);
        assert!(report.samples_per_s < 200.0);
    }
}
