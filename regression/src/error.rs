//! The one error type of this crate, and the places in a file that errors point at.

use std::{fmt, io, path::PathBuf};

/// Where in a file something went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A 1-based line of a text file, with the byte offset where that line starts.
    Line {
        /// 1-based line number.
        line: u64,
        /// Byte offset of the line's start.
        offset: u64,
    },
    /// A byte offset into a binary file (uncompressed).
    Byte(u64),
    /// The file as a whole (a database, a file too short to have a place).
    File,
}

impl Place {
    /// The byte offset, where there is one.
    pub fn offset(self) -> Option<u64> {
        match self {
            Place::Line { offset, .. } | Place::Byte(offset) => Some(offset),
            Place::File => None,
        }
    }
}

/// Damage in an input file: where, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The file.
    pub path: PathBuf,
    /// Where in it.
    pub place: Place,
    /// What was wrong, in one line.
    pub message: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.place {
            Place::Line { line, .. } => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            Place::Byte(offset) => write!(f, "{}: byte {offset}: {}", self.path.display(), self.message),
            Place::File => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// Everything that can go wrong while reading runs, building a baseline or gating.
///
/// Messages are one line and name the file and the place.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause (part of the message, not a `source()`, so chains don't print it twice).
        cause: io::Error,
    },
    /// A file's content is malformed at a place: a CRC mismatch, a truncated record, a bad line.
    #[error("{0}")]
    Damaged(Damage),
    /// An MLflow database could not be opened or queried.
    #[error("{}: {message}", path.display())]
    Database {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        message: String,
    },
    /// A file or directory is none of the formats this crate reads.
    #[error("{}: {message}", path.display())]
    Unsupported {
        /// The path.
        path: PathBuf,
        /// What it is, or what to do instead.
        message: String,
    },
    /// An ocrperf report could not be read.
    #[error("{}: {cause}", path.display())]
    Report {
        /// The report file.
        path: PathBuf,
        /// Why (wrong schema, bad JSON, ...).
        cause: metrics_schema::Error,
    },
    /// Two sources of one run (or one report, twice) give the same metric.
    #[error(
        "metric `{name}` comes from both {first} and {second}; one run cannot have it twice: give only one of \
         these sources"
    )]
    DuplicateMetric {
        /// The metric's name.
        name: String,
        /// The source read first.
        first: String,
        /// The source that gives it again.
        second: String,
    },
    /// The sources hold no run, several runs where one was expected, or not the one asked for.
    #[error("{0}")]
    Runs(String),
    /// The thresholds file is invalid.
    #[error("{}:{line}: {message}", path.display())]
    Thresholds {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A setting given on the command line is out of range.
    #[error("{0}")]
    Setting(String),
    /// The caller asked to stop (Ctrl-C).
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, cause: io::Error) -> Error {
        Error::Io { path: path.into(), cause }
    }

    pub(crate) fn damaged(path: impl Into<PathBuf>, place: Place, message: impl Into<String>) -> Error {
        Error::Damaged(Damage { path: path.into(), place, message: message.into() })
    }
}
