//! Typed errors of the trace reader and the analyses.

use std::path::PathBuf;

/// Why a trace could not be read or analysed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read (not a format problem).
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason (in the message, not a `source()`, so error chains
        /// don't print it twice).
        cause: std::io::Error,
    },
    /// The bytes are not a Kineto trace: bad JSON, a wrong type, or the file ends early.
    ///
    /// `offset` counts bytes of the *uncompressed* JSON, so it points into `zcat FILE` for a
    /// `.json.gz`.
    #[error("{}: byte {offset}: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Uncompressed byte offset where the damage was found.
        offset: u64,
        /// What was wrong.
        message: String,
    },
    /// A directory was given but holds no `.json` or `.json.gz` trace.
    #[error("{}: no .json or .json.gz traces in this directory", path.display())]
    EmptyDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// Two traces of one run claim the same rank.
    #[error("{} and {}: both are rank {rank}", first.display(), second.display())]
    DuplicateRank {
        /// The rank.
        rank: u32,
        /// The first file.
        first: PathBuf,
        /// The second file.
        second: PathBuf,
    },
    /// The trace holds no timed host or device event to analyse (`{"traceEvents": []}`, or
    /// only metadata).
    #[error(
        "{}: nothing to analyse: none of its {events} events is a timed host op, annotation or kernel \
         (is this a PyTorch profiler trace?)",
        path.display()
    )]
    NothingToAnalyse {
        /// The file.
        path: PathBuf,
        /// Events read.
        events: u64,
    },
    /// The caller asked the reader to stop (Ctrl-C).
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// The byte offset of the damage, for malformed or truncated input.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Error::Malformed { offset, .. } => Some(*offset),
            _ => None,
        }
    }
}
