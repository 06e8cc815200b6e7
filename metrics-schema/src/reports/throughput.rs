//! `ocrperf throughput`: data-loader throughput of a run, and the per-batch event schema.
//!
//! Batch events (JSONL, one object per batch, written by the Lightning callback or any loop):
//! `{"step": 12, "batch_size": 8, "data_wait_s": 0.004, "compute_s": 0.051}` plus optional
//! `"t_start"` (unix seconds) and `"gpu_mem_bytes"`.

use serde::{Deserialize, Serialize};

use crate::{Better, MetricsBuilder, Report, ReportKind, ToMetrics, Unit};

/// One batch, as written to a JSONL events file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchEvent {
    /// Global step (batch index).
    pub step: u64,
    /// Samples in the batch.
    pub batch_size: u64,
    /// Seconds between the previous batch's end and this batch's arrival.
    pub data_wait_s: f64,
    /// Seconds from the batch's arrival to its end (forward, backward, optimizer).
    pub compute_s: f64,
    /// Unix time of the batch's start, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t_start: Option<f64>,
    /// Accelerator memory in use after the batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_mem_bytes: Option<u64>,
}

impl BatchEvent {
    /// The one check of a batch event, for every reader of them (`throughput`, `baseline`,
    /// `regress`): `batch_size` at least 1; `data_wait_s` and `compute_s` finite, not negative
    /// and each at most [`MAX_STEP_SECONDS`](crate::MAX_STEP_SECONDS); the whole batch (their
    /// sum) at most that too, and not 0 s (a batch that takes no time has no rate; it would
    /// show as 0 samples/s).
    ///
    /// # Errors
    /// One sentence saying what is wrong, for the caller to put after the file and line.
    pub fn validate(&self) -> Result<(), String> {
        const MAX: f64 = crate::MAX_STEP_SECONDS;
        if self.batch_size == 0 {
            return Err("`batch_size` is 0; a batch holds at least one sample".to_owned());
        }
        for (name, value) in [("data_wait_s", self.data_wait_s), ("compute_s", self.compute_s)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(format!(
                    "`{name}` must be a non-negative number of seconds, got {}",
                    crate::format_number(value)
                ));
            }
            if value > MAX {
                return Err(format!(
                    "`{name}` is {} s, beyond the limit of {MAX} s (one hour) per batch",
                    crate::format_number(value)
                ));
            }
        }
        let total = self.data_wait_s + self.compute_s;
        if total > MAX {
            return Err(format!(
                "the batch takes {} s (`data_wait_s` + `compute_s`), beyond the limit of {MAX} s (one hour)",
                crate::format_number(total)
            ));
        }
        // Below a nanosecond, durations round to nothing.
        if total < 1e-9 {
            return Err(
                "`data_wait_s` + `compute_s` is 0 s; a batch takes some time (its rate would read 0 samples/s)"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

/// Percentiles of one per-batch duration, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

/// Process memory over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryStats {
    /// Highest resident set size seen (host memory of the measured process), when measured.
    pub rss_peak_bytes: Option<u64>,
    /// Least-squares slope of RSS against batch index, times 1000: a leak shows as a steady
    /// positive number.
    pub rss_growth_bytes_per_1k_batches: Option<f64>,
    /// Highest accelerator memory reported with the batches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerator_peak_bytes: Option<u64>,
}

/// Whether the input pipeline keeps the accelerator fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Bottleneck {
    /// Data wait is at least 20% of batch time: the loader is the bottleneck.
    InputBound,
    /// Data wait is at most 5% of batch time: compute is the bottleneck.
    ComputeBound,
    /// In between.
    Balanced,
    /// The input records no data wait (Lightning's `metrics.csv`), so the verdict cannot be
    /// made.
    Unmeasured,
}

impl Bottleneck {
    /// The verdict for a data-wait fraction (see the variants for the rule).
    pub fn from_wait_fraction(fraction: f64) -> Bottleneck {
        if fraction >= 0.20 {
            Bottleneck::InputBound
        } else if fraction <= 0.05 {
            Bottleneck::ComputeBound
        } else {
            Bottleneck::Balanced
        }
    }

    /// As written in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Bottleneck::InputBound => "input-bound",
            Bottleneck::ComputeBound => "compute-bound",
            Bottleneck::Balanced => "balanced",
            Bottleneck::Unmeasured => "unmeasured",
        }
    }
}

/// Throughput of one run (warm-up batches excluded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThroughputReport {
    /// Where the batches came from (file or `built-in`).
    pub source: String,
    /// Batches counted.
    pub batches: u64,
    /// Samples counted.
    pub samples: u64,
    /// Sum of batch times (data wait plus compute).
    pub elapsed_s: f64,
    /// `samples / elapsed_s`.
    pub samples_per_s: f64,
    /// `batches / elapsed_s`.
    pub batches_per_s: f64,
    /// Samples per second over the last window of batches.
    pub window_samples_per_s: f64,
    /// Batch time (data wait plus compute).
    pub batch_time_ms: Percentiles,
    /// Data wait per batch.
    pub data_wait_ms: Percentiles,
    /// Compute per batch.
    pub compute_ms: Percentiles,
    /// Data wait over batch time.
    pub data_wait_fraction: f64,
    /// Compute over batch time: `1 − data_wait_fraction`.
    pub efficiency: f64,
    /// Memory.
    pub memory: MemoryStats,
    /// The verdict.
    pub bottleneck: Bottleneck,
    /// Warm-up batches left out.
    pub warmup_batches: u64,
    /// Input lines that could not be read and were skipped (`--skip-bad-lines`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped_lines: u64,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

impl Report for ThroughputReport {
    const KIND: ReportKind = ReportKind::Throughput;
    const MAJOR: u32 = 1;
}

impl ToMetrics for ThroughputReport {
    fn collect_metrics(&self, out: &mut MetricsBuilder) {
        out.scope("throughput", |t| {
            t.add("samples_per_s", self.samples_per_s, Unit::PerSecond, Better::Higher);
            t.add("batch_time_ms.p50", self.batch_time_ms.p50, Unit::Milliseconds, Better::Lower);
            t.add("batch_time_ms.p95", self.batch_time_ms.p95, Unit::Milliseconds, Better::Lower);
            t.add("data_wait_fraction", self.data_wait_fraction, Unit::Ratio, Better::Lower);
        });
    }
}

#[cfg(test)]
mod batch_event_tests {
    use super::BatchEvent;

    fn event(batch_size: u64, data_wait_s: f64, compute_s: f64) -> BatchEvent {
        BatchEvent { step: 0, batch_size, data_wait_s, compute_s, t_start: None, gpu_mem_bytes: None }
    }

    #[test]
    fn impossible_batches_are_named() {
        assert_eq!(event(8, 0.01, 0.04).validate(), Ok(()));
        assert_eq!(event(8, 0.0, 1e-6).validate(), Ok(()));
        let message = |e: BatchEvent| e.validate().unwrap_err();
        assert_eq!(message(event(0, 0.01, 0.04)), "`batch_size` is 0; a batch holds at least one sample");
        assert_eq!(message(event(8, -1.0, 0.04)), "`data_wait_s` must be a non-negative number of seconds, got -1");
        assert_eq!(message(event(8, 0.01, f64::NAN)), "`compute_s` must be a non-negative number of seconds, got NaN");
        assert_eq!(
            message(event(8, -1e308, 0.04)),
            "`data_wait_s` must be a non-negative number of seconds, got -1e308"
        );
        assert_eq!(
            message(event(8, 1e308, 0.04)),
            "`data_wait_s` is 1e308 s, beyond the limit of 3600 s (one hour) per batch"
        );
        assert_eq!(
            message(event(8, 2000.0, 2000.0)),
            "the batch takes 4000 s (`data_wait_s` + `compute_s`), beyond the limit of 3600 s (one hour)"
        );
        assert_eq!(
            message(event(8, 0.0, 0.0)),
            "`data_wait_s` + `compute_s` is 0 s; a batch takes some time (its rate would read 0 samples/s)"
        );
    }
}
