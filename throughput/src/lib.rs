//! Data-loader throughput for a whole training run: samples/s, batch-time percentiles, data
//! wait against compute, memory growth, and a verdict (input-bound, compute-bound, balanced).
//!
//! [`ThroughputRecorder`] takes per-batch timings, either as [`BatchTiming`]s or through
//! `batch_start`/`data_ready`/`batch_end` calls, in constant time and memory (HdrHistogram).
//! [`Loader`] is an instrumented equivalent of PyTorch's `DataLoader` for Rust datasets:
//! workers, a bounded prefetch, batches in order, errors and panics returned in place.
//! [`inputs`] reads what Python runs leave behind: JSONL batch events (from the Lightning
//! callback, `ocrperf.lightning.Throughput`) and Lightning's `metrics.csv`, and records a Kineto
//! trace's steps. [`ChromeTimeline`] writes an instrumented run's batches as a Chrome trace.
//!
//! What it does not do: time a GPU by itself (a caller's compute time includes whatever
//! synchronisation it chooses), or read traces (`profiler-analyze` does; the `ocrperf` crate
//! joins the two).
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use throughput::{BatchTiming, RecorderSettings, ThroughputRecorder};
//! use metrics_schema::Bottleneck;
//!
//! let mut recorder = ThroughputRecorder::new(RecorderSettings::default());
//! for _ in 0..100 {
//!     recorder.record(BatchTiming {
//!         data_wait: Duration::from_millis(30),
//!         compute: Duration::from_millis(70),
//!         samples: 16,
//!         ..BatchTiming::default()
//!     });
//! }
//! let report = recorder.report("example");
//! assert_eq!(report.samples_per_s, 160.0);
//! assert_eq!(report.bottleneck, Bottleneck::InputBound);
//! ```

mod chrome;
mod error;
pub mod inputs;
mod loader;
mod memory;
mod recorder;

pub use chrome::ChromeTimeline;
pub use error::Error;
pub use loader::{Batch, Dataset, Epoch, ItemError, Loader, LoaderError, LoaderOptions};
pub use recorder::{BatchTiming, RecorderSettings, ThroughputRecorder};
