//! Typed errors of the monitor.

use std::path::PathBuf;

/// What can go wrong while monitoring or reporting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written (a full disk included).
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why (in the message, not a `source()`, so error chains don't print it twice).
        cause: std::io::Error,
    },
    /// An alert rules file is not valid.
    #[error("{}: {message}", path.display())]
    Rules {
        /// The rules file.
        path: PathBuf,
        /// What is wrong, with the line.
        message: String,
    },
    /// A sample file has a line that is not a sample, alert or header.
    #[error("{}:{line}: {message}", path.display())]
    BadSamples {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The Prometheus address could not be bound.
    #[error("cannot listen on {address}: {cause}")]
    Bind {
        /// The address asked for.
        address: String,
        /// Why (in the message, not a `source()`, so error chains don't print it twice).
        cause: std::io::Error,
    },
    /// A sampling interval outside [`crate::INTERVALS`].
    #[error(
        "a sampling interval of {interval} is out of range: sample every {} to {}",
        metrics_schema::HumanDuration(crate::MIN_INTERVAL),
        metrics_schema::HumanDuration(crate::MAX_INTERVAL)
    )]
    Interval {
        /// The interval asked for.
        interval: metrics_schema::HumanDuration,
    },
    /// The process to watch does not exist.
    #[error("pid {pid}: no such process")]
    NoSuchProcess {
        /// The process id asked for.
        pid: u32,
    },
    /// The command to wrap could not be started.
    #[error("cannot run `{program}`: {cause}")]
    Spawn {
        /// The program.
        program: String,
        /// Why (in the message, not a `source()`, so error chains don't print it twice).
        cause: std::io::Error,
    },
    /// Waiting for the wrapped command failed.
    #[error("waiting for the command: {cause}")]
    Wait {
        /// Why.
        cause: std::io::Error,
    },
    /// Drawing a chart failed.
    #[error("drawing a chart: {0}")]
    Chart(String),
}
