//! The one error type of this crate.

use std::{io, path::PathBuf};

/// Everything that can go wrong while reading or writing a report.
///
/// Messages are one line and say what to do where there is something to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not valid JSON, or a field has the wrong type.
    #[error("invalid report JSON at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What serde_json said, without its own position suffix.
        message: String,
    },
    /// The JSON object has no `schema` string, so it is not an ocrperf report.
    #[error("no \"schema\" field: this is not an ocrperf report")]
    MissingSchema,
    /// The `schema` string does not look like `ocrperf.<kind>.v<major>`.
    #[error("`{0}` is not an ocrperf schema id (expected ocrperf.<kind>.v<major>)")]
    InvalidSchemaId(String),
    /// The schema id is well-formed but names a kind this version does not know.
    #[error("unknown report kind `{kind}` (known: {known}); is it from a newer ocrperf?")]
    UnknownKind {
        /// The kind found in the file.
        kind: String,
        /// The kinds this version knows, comma separated.
        known: String,
    },
    /// The report is of another kind than the reader expects.
    #[error("this is a `{found}` report, expected `{expected}`")]
    WrongKind {
        /// The kind the reader wanted.
        expected: &'static str,
        /// The kind in the file.
        found: &'static str,
    },
    /// The report was written by a newer ocrperf with an incompatible layout.
    #[error("schema `{found}` is newer than this ocrperf understands (up to v{supported}); upgrade ocrperf")]
    NewerMajor {
        /// The schema id found in the file.
        found: String,
        /// The newest major version this reader understands.
        supported: u32,
    },
    /// A duration string could not be parsed.
    #[error("invalid duration `{input}`: {reason} (write it like 200ms, 1s, 2m or 1h30m)")]
    Duration {
        /// What was given.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// A duration was read but lies outside what the option or setting accepts.
    #[error(
        "`{input}` is {} than {bound}, the {} allowed here",
        if *above { "longer" } else { "shorter" },
        if *above { "most" } else { "least" }
    )]
    DurationOutOfRange {
        /// What was given.
        input: String,
        /// The limit it passes.
        bound: crate::HumanDuration,
        /// True when it is above the largest value, false when below the least.
        above: bool,
    },
    /// A timestamp is not RFC 3339.
    #[error("invalid timestamp `{input}`: {reason} (expected RFC 3339 in UTC, like 2026-11-23T15:33:26Z)")]
    InvalidTimestamp {
        /// What was given.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error, e.g. "No space left on device". It is part of the message
        /// rather than a `source()`, so that error chains don't print it twice.
        cause: io::Error,
    },
    /// A text file could not be read as text: too large, or not UTF-8 (with the line).
    #[error(transparent)]
    Text(crate::text::TextError),
    /// A report file could not be read; the inner error says why.
    #[error("{}: {cause}", path.display())]
    InFile {
        /// The report file.
        path: PathBuf,
        /// What was wrong with its content (part of the message, like `Io`'s cause).
        cause: Box<Error>,
    },
}

impl Error {
    pub(crate) fn json(err: &serde_json::Error) -> Self {
        // serde_json appends " at line L column C" to its Display; we report the position ourselves.
        let full = err.to_string();
        let message = match full.rfind(" at line ") {
            Some(at) => full[..at].to_owned(),
            None => full,
        };
        Error::Json { line: err.line(), column: err.column(), message }
    }
}
