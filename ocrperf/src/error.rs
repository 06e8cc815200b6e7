//! Typed errors of the compositions: each capability's own error, unchanged.

/// Why a composed job failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// From the DBNet target generator or its data set.
    #[error(transparent)]
    Targets(#[from] polygon_cache::Error),
    /// From the throughput readers.
    #[error(transparent)]
    Throughput(#[from] throughput::Error),
    /// From the loader (an item failed, or a worker panicked).
    #[error(transparent)]
    Loader(#[from] throughput::LoaderError),
    /// From the trace reader.
    #[error(transparent)]
    Trace(#[from] profiler_analyze::Error),
    /// The input holds nothing to measure (after the warm-up, or at all).
    #[error("{0}")]
    NoData(String),
    /// A Kineto trace was given without the batch size it does not record.
    #[error("{}: a Kineto trace does not record the batch size; give it (--batch-size)", .0.display())]
    TraceWithoutBatchSize(std::path::PathBuf),
}
