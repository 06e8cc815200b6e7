//! The trace analyser: reads PyTorch profiler (Kineto) Chrome traces at hundreds of MB/s and says what holds a
//! training step back: data loading, a starved GPU, host syncs, pageable copies, fp32 on
//! tensor-core GPUs, communication, memory, or one slow rank.
//!
//! The reader ([`read_trace`]) streams `.json` and `.json.gz` (gzip is detected by content)
//! through a fixed buffer: it splits `traceEvents` into single events without a DOM, parses
//! each event's few useful fields, and keeps a compact [`Trace`] of spans. It accepts the
//! PyTorch 2.x schema (relative `ts` with `baseTimeNanoseconds`, `cpu_op`, `user_annotation`,
//! `cuda_runtime`, ...) and the 2021 one (`Operator`, `Runtime`, `Kernel`, string tids), in
//! any key order. Damage (bad JSON, truncation) is an [`Error::Malformed`] with the
//! uncompressed byte offset; with [`ReadOptions::lenient`] the events before it are kept.
//!
//! [`analyze`] computes, over the `ProfilerStep#N` window: step statistics, DataLoader time,
//! GPU busy time per device, a per-step time breakdown, HTA's temporal breakdown, memory
//! high-water marks, ops by self time, kernels with their launching op, and recommendations.
//! [`analyze_files`] does that for a run's rank traces in parallel and [`build_report`] adds
//! per-rank summaries and stragglers; [`diff()`] compares two analyses; [`breakdown_svg`] draws one.
//!
//! What it does not do: critical-path analysis, Python-stack attribution (Python frames are
//! skipped), or reading Perfetto protobuf traces.
//!
//! # Example
//!
//! ```
//! use profiler_analyze::{ReadOptions, analyze, read_from};
//!
//! let json = br#"{"traceEvents": [
//!   {"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#1", "pid": 1, "tid": 1, "ts": 0, "dur": 1000},
//!   {"ph": "X", "cat": "user_annotation", "name": "enumerate(DataLoader)#_SingleProcessDataLoaderIter.__next__",
//!    "pid": 1, "tid": 1, "ts": 0, "dur": 400},
//!   {"ph": "X", "cat": "kernel", "name": "gemm", "pid": 0, "tid": 7, "ts": 500, "dur": 250, "args": {"device": 0}}
//! ]}"#;
//! let trace = read_from(&json[..], "inline.json".as_ref(), ReadOptions::default(), &mut |_| true)?;
//! let analysis = analyze(&trace);
//! assert_eq!(analysis.steps.count, 1);
//! assert_eq!(analysis.dataloader.fraction, 0.4);
//! assert_eq!(analysis.gpu.busy_fraction, 0.25);
//! assert_eq!(analysis.recommendations[0].id, "dataloader-bound");
//! # Ok::<(), profiler_analyze::Error>(())
//! ```

mod analysis;
mod diff;
mod error;
mod reader;
mod run;
mod svg;
mod trace;

pub use analysis::{Analysis, OCCUPANCY_BINS, StepTiming, analyze, step_timings, step_timings_with_warnings};
pub use diff::diff;
pub use error::Error;
pub use reader::{ReadOptions, read_from, read_trace};
pub use run::{AnalyzeOptions, RankResult, analyze_files, build_report, is_read_in_directory, max_jobs, trace_files};
pub use svg::breakdown_svg;
pub use trace::{
    CpuKind, CpuSpan, Damage, DeviceProperties, EventId, GpuKind, GpuSpan, MemoryPeak, NO_ID, NameId, Names, Nanos,
    ReadStats, Thread, Trace, TraceMeta, TrackId,
};
