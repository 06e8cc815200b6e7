//! ocrperf as one library: the crate users depend on, and the home of work that needs two
//! capabilities at once.
//!
//! Each capability is its own crate, re-exported here under its name: [`polygon_cache`]
//! (DBNet targets), [`throughput`], [`profiler_analyze`] (Kineto traces),
//! [`resource_monitor`], [`regression`], and the shared vocabulary [`metrics_schema`]. Those
//! crates never depend on each other; where a job needs two of them, the composition lives
//! here, so that both front ends (the `ocrperf` binary and the Python package) call the same
//! code:
//!
//! - [`dbnet_pipeline`]: the DBNet target generator (`polygon-cache`) run through the
//!   instrumented loader (`throughput`), epoch by epoch, as `ocrperf throughput run` does;
//! - [`throughput_files`]: throughput from files of any kind, with Kineto traces read by
//!   `profiler-analyze`'s streaming reader and recorded by `throughput`.
//!
//! And what both front ends show people: [`document::Document`] (a report as aligned text or
//! Markdown) and [`trace_report`] (a run's traces found, read and analysed, and the trace
//! analysis and diff pages), so that `ocrperf trace analyze` and the Python package's
//! `analyze_traces` read the same files and write the same page; [`outputs`] is the one
//! refusal of an output that would write over an input.
//!
//! What it does not do: parse command lines, print, or choose exit codes; the front ends do.
//!
//! # Example
//!
//! ```
//! use ocrperf::dbnet_pipeline::{PipelineOptions, run_pipeline};
//!
//! let options = PipelineOptions {
//!     images: ocrperf::polygon_cache::synthetic_dataset(8, 0),
//!     batch_size: 4,
//!     workers: 1,
//!     epochs: 1,
//!     step: std::time::Duration::ZERO,
//!     ..PipelineOptions::default()
//! };
//! let run = run_pipeline(&options, &mut |_| true).unwrap();
//! assert_eq!(run.report.batches, 2);
//! assert_eq!(run.report.samples, 8);
//! ```

pub mod dbnet_pipeline;
pub mod document;
mod error;
pub mod outputs;
pub mod throughput_files;
pub mod trace_report;

pub use error::Error;

pub use metrics_schema;
pub use polygon_cache;
pub use profiler_analyze;
pub use regression;
pub use resource_monitor;
pub use throughput;
