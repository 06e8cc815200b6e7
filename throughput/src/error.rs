//! Typed errors of the throughput crate.

use std::path::PathBuf;

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why (in the message, not a `source()`, so error chains don't print it twice).
        cause: std::io::Error,
    },
    /// Reading stopped part-way (a cut-short gzip stream, a failing disk).
    #[error("{}: byte {offset}{}: {cause}", path.display(), if *compressed { " of the uncompressed data" } else { "" })]
    ReadAt {
        /// The file.
        path: PathBuf,
        /// How many bytes were read before the failure.
        offset: u64,
        /// Whether `offset` counts uncompressed bytes of a gzip file.
        compressed: bool,
        /// Why.
        cause: std::io::Error,
    },
    /// A line or record is not what the format says.
    #[error("{}:{line}: {message}", path.display())]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The file is readable but holds nothing usable.
    #[error("{}: {message}", path.display())]
    Unusable {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}
