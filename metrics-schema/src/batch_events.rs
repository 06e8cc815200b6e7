//! Batch-event files: JSONL, a header line naming the schema, then one [`BatchEvent`] per line.
//!
//! ```text
//! {"schema":"ocrperf.batch-events.v1","tool_version":"0.1.0"}
//! {"step":0,"batch_size":8,"data_wait_s":0.004,"compute_s":0.051}
//! ```
//!
//! [`write_batch_events`] (with [`write_batch_event`] for one line at a time) is the one writer
//! and [`BatchEventReader`] the one reader: `ocrperf throughput` and the regression gate both
//! read through it, so a new field or limit is added here once. Both sides check each event with
//! [`BatchEvent::validate`], so nothing is written that a reader would refuse. Files written before the header existed (and by hand) are still read: they are
//! recognised by an event's own fields ([`is_batch_events_line`]). A header may also appear
//! again further down, where a writer appended a second run to the same file.

use std::io::{self, BufRead, Write};

use serde::{Deserialize, Serialize};

use crate::{
    BatchEvent,
    text::{LineError, Lines},
};

/// The schema id on the first line of a batch-event file.
pub const BATCH_EVENTS_SCHEMA: &str = "ocrperf.batch-events.v1";

/// Every batch-event schema id starts with this, whatever its version.
const SCHEMA_PREFIX: &str = "ocrperf.batch-events.";

/// The first line of a batch-event file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchEventsHeader {
    /// Always [`BATCH_EVENTS_SCHEMA`] when written by this version.
    pub schema: String,
    /// The ocrperf version that wrote the file.
    #[serde(default)]
    pub tool_version: String,
}

impl BatchEventsHeader {
    /// The header this version writes.
    pub fn current() -> BatchEventsHeader {
        BatchEventsHeader { schema: BATCH_EVENTS_SCHEMA.to_owned(), tool_version: crate::TOOL_VERSION.to_owned() }
    }
}

/// An event the writer refused: one no reader would accept ([`BatchEvent::validate`]). The
/// writers return it inside an [`io::Error`] of kind [`io::ErrorKind::InvalidInput`]; take it
/// back with `err.get_ref().and_then(|inner| inner.downcast_ref::<InvalidBatchEvent>())`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("step {step}: {reason}")]
#[non_exhaustive]
pub struct InvalidBatchEvent {
    /// The event's step.
    pub step: u64,
    /// What is wrong, as [`BatchEvent::validate`] says it.
    pub reason: String,
}

/// [`BatchEvent::validate`], as the writers' error.
fn check(event: &BatchEvent) -> io::Result<()> {
    event
        .validate()
        .map_err(|reason| io::Error::new(io::ErrorKind::InvalidInput, InvalidBatchEvent { step: event.step, reason }))
}

/// Writes a whole batch-event file: the header, then each event on its own line. Every event
/// is checked first, so a refused one leaves nothing written.
///
/// # Errors
/// [`InvalidBatchEvent`] (kind [`io::ErrorKind::InvalidInput`]) for the first event no reader
/// would accept; the I/O error of writing.
pub fn write_batch_events(out: &mut dyn Write, events: &[BatchEvent]) -> io::Result<()> {
    events.iter().try_for_each(check)?;
    write_batch_events_header(out)?;
    events.iter().try_for_each(|event| write_line(out, event))
}

/// Writes the header line of a batch-event file, for writers that add events one at a time
/// (the Python `Throughput` callback).
///
/// # Errors
/// The I/O error of writing.
pub fn write_batch_events_header(out: &mut dyn Write) -> io::Result<()> {
    let mut line = serde_json::to_vec(&BatchEventsHeader::current())?;
    line.push(b'\n');
    out.write_all(&line)
}

/// Writes one event as its line, in one `write_all`, so a crash leaves whole lines behind.
/// The event is checked first: one no reader would accept is refused, and nothing is written.
///
/// # Errors
/// [`InvalidBatchEvent`] (kind [`io::ErrorKind::InvalidInput`]); the I/O error of writing.
pub fn write_batch_event(out: &mut dyn Write, event: &BatchEvent) -> io::Result<()> {
    check(event)?;
    write_line(out, event)
}

fn write_line(out: &mut dyn Write, event: &BatchEvent) -> io::Result<()> {
    let mut line = serde_json::to_vec(event)?;
    line.push(b'\n');
    out.write_all(&line)
}

/// Whether a file whose first non-blank line is `line` (read through the opener, so without a
/// byte-order mark) holds batch events: a batch-event
/// header (of any version, so that a newer file fails with its version named), or, for files
/// without one, an object with an event's `data_wait_s` and `compute_s`.
pub fn is_batch_events_line(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with('{')
        && (line.contains(&format!("\"{SCHEMA_PREFIX}"))
            || (line.contains("\"data_wait_s\"") && line.contains("\"compute_s\"")))
}

/// One event and where it was.
#[derive(Debug, Clone, PartialEq)]
pub struct EventAt {
    /// The event, checked by [`BatchEvent::validate`].
    pub event: BatchEvent,
    /// 1-based line.
    pub line: u64,
    /// Byte offset of the line's start (uncompressed).
    pub offset: u64,
}

/// Why a batch-event file could not be read on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchEventError {
    /// A line could not be read (too long, an I/O error).
    #[error(transparent)]
    Read(#[from] LineError),
    /// One line is not a valid event; the next one may be (a reader may skip it).
    #[error("line {line}: {message}")]
    BadLine {
        /// 1-based line.
        line: u64,
        /// Byte offset of the line's start.
        offset: u64,
        /// What is wrong, one sentence.
        message: String,
    },
    /// The file says it is something else, or a newer version: nothing in it can be read.
    #[error("line {line}: {message}")]
    WrongSchema {
        /// 1-based line.
        line: u64,
        /// Byte offset of the line's start.
        offset: u64,
        /// The schema found and the one expected.
        message: String,
    },
}

/// Reads batch events line by line: blank lines and headers are passed over (a byte-order mark
/// is consumed by the opener), every event is checked by [`BatchEvent::validate`], and a last line without its
/// newline that does not parse (a writer still going, or killed) ends the file quietly.
#[derive(Debug)]
pub struct BatchEventReader<R> {
    lines: Lines<R>,
    header: Option<BatchEventsHeader>,
}

impl<R: BufRead> BatchEventReader<R> {
    /// Events of `reader` (opened with [`open_input`](crate::text::open_input)).
    pub fn new(reader: R) -> Self {
        BatchEventReader { lines: Lines::new(reader), header: None }
    }

    /// The first header seen so far; `None` for a file written without one.
    pub fn header(&self) -> Option<&BatchEventsHeader> {
        self.header.as_ref()
    }

    /// The next event, or `None` at the end of the file.
    ///
    /// # Errors
    /// [`BatchEventError`] with the line; after [`BatchEventError::BadLine`] reading may go
    /// on with the next line.
    pub fn next_event(&mut self) -> Result<Option<EventAt>, BatchEventError> {
        loop {
            let Some(line) = self.lines.next_line()? else { return Ok(None) };
            if line.is_blank() {
                continue;
            }
            let (number, offset) = (line.number, line.offset);
            match parse_line(line.bytes) {
                Ok(Parsed::Header(header)) => {
                    self.header.get_or_insert(header);
                }
                Ok(Parsed::Event(event)) => return Ok(Some(EventAt { event, line: number, offset })),
                Err(_) if !line.complete => return Ok(None),
                Err(Fault::Schema(message)) => {
                    return Err(BatchEventError::WrongSchema { line: number, offset, message });
                }
                Err(Fault::Bad(message)) => return Err(BatchEventError::BadLine { line: number, offset, message }),
            }
        }
    }
}

enum Parsed {
    Header(BatchEventsHeader),
    Event(BatchEvent),
}

enum Fault {
    Schema(String),
    Bad(String),
}

fn parse_line(bytes: &[u8]) -> Result<Parsed, Fault> {
    let text = crate::text::Line { bytes, number: 0, offset: 0, complete: true }.text().map_err(Fault::Bad)?;
    // Events never hold a `schema` key, so only a line that mentions one is tried as a header.
    if text.contains("\"schema\"")
        && let Ok(header) = serde_json::from_str::<BatchEventsHeader>(text)
    {
        return check_schema(header).map(Parsed::Header);
    }
    let event: BatchEvent = serde_json::from_str(text).map_err(|err| Fault::Bad(json_message(&err)))?;
    event.validate().map_err(Fault::Bad)?;
    Ok(Parsed::Event(event))
}

fn check_schema(header: BatchEventsHeader) -> Result<BatchEventsHeader, Fault> {
    if header.schema == BATCH_EVENTS_SCHEMA {
        return Ok(header);
    }
    let newer = header
        .schema
        .strip_prefix(SCHEMA_PREFIX)
        .and_then(|version| version.strip_prefix('v'))
        .and_then(|major| major.parse::<u32>().ok())
        .is_some_and(|major| major > 1);
    Err(Fault::Schema(if newer {
        format!(
            "schema `{}` is newer than this ocrperf reads (`{BATCH_EVENTS_SCHEMA}`); update ocrperf",
            crate::text::shown(&header.schema)
        )
    } else {
        format!(
            "schema `{}`, not batch events (`{BATCH_EVENTS_SCHEMA}`); is this the right file?",
            crate::text::shown(&header.schema)
        )
    }))
}

/// serde_json's message without its own " at line L column C" (the caller names the line).
pub(crate) fn json_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(step: u64) -> BatchEvent {
        BatchEvent {
            step,
            batch_size: 8,
            data_wait_s: 0.01,
            compute_s: 0.04,
            t_start: None,
            gpu_mem_bytes: Some(step * 10),
        }
    }

    fn read_all(text: &str) -> Result<Vec<(u64, u64)>, String> {
        let mut reader = BatchEventReader::new(text.as_bytes());
        let mut seen = Vec::new();
        while let Some(at) = reader.next_event().map_err(|err| err.to_string())? {
            seen.push((at.line, at.event.step));
        }
        Ok(seen)
    }

    #[test]
    fn the_schema_id_round_trips() {
        let events = [event(0), event(1)];
        let mut out = Vec::new();
        write_batch_events(&mut out, &events).unwrap();
        let text = String::from_utf8(out).unwrap();
        let first = text.lines().next().unwrap();
        assert_eq!(first, format!(r#"{{"schema":"{BATCH_EVENTS_SCHEMA}","tool_version":"{}"}}"#, crate::TOOL_VERSION));
        assert!(is_batch_events_line(first));
        let mut reader = BatchEventReader::new(text.as_bytes());
        let mut back = Vec::new();
        while let Some(at) = reader.next_event().unwrap() {
            back.push(at.event);
        }
        assert_eq!(back, events);
        assert_eq!(reader.header(), Some(&BatchEventsHeader::current()));
    }

    #[test]
    fn the_writer_refuses_what_a_reader_would_refuse() {
        let mut bad = event(7);
        bad.data_wait_s = f64::NAN;
        let reason = bad.validate().unwrap_err();
        let mut out = Vec::new();
        let err = write_batch_event(&mut out, &bad).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(err.to_string(), format!("step 7: {reason}"));
        assert_eq!(
            err.get_ref().and_then(|inner| inner.downcast_ref::<InvalidBatchEvent>()),
            Some(&InvalidBatchEvent { step: 7, reason: reason.clone() })
        );
        assert!(out.is_empty());
        // A whole file: checked before anything is written, the header included.
        let err = write_batch_events(&mut out, &[event(0), bad]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(err.to_string(), format!("step 7: {reason}"));
        assert!(out.is_empty());
        write_batch_event(&mut out, &event(1)).unwrap();
        assert_eq!(
            out,
            b"{\"step\":1,\"batch_size\":8,\"data_wait_s\":0.01,\"compute_s\":0.04,\"gpu_mem_bytes\":10}\n"
        );
    }

    #[test]
    fn old_files_without_a_header_are_read() {
        let text = "{\"step\":3,\"batch_size\":8,\"data_wait_s\":0.01,\"compute_s\":0.04}\n\n\
                    {\"step\":4,\"batch_size\":8,\"data_wait_s\":0.01,\"compute_s\":0.04}\n";
        assert!(is_batch_events_line(text.lines().next().unwrap()));
        assert_eq!(read_all(text).unwrap(), [(1, 3), (3, 4)]);
        let mut reader = BatchEventReader::new(text.as_bytes());
        reader.next_event().unwrap();
        assert_eq!(reader.header(), None);
        // With a byte-order mark, through the opener: the same events on the same lines.
        let marked = format!("\u{feff}{text}");
        let (opened, _) = crate::text::decode(marked.as_bytes()).unwrap();
        let mut reader = BatchEventReader::new(opened);
        let mut seen = Vec::new();
        while let Some(at) = reader.next_event().unwrap() {
            seen.push((at.line, at.offset, at.event.step));
        }
        assert_eq!(seen, [(1, 0, 3), (3, 63, 4)]);
    }

    #[test]
    fn a_wrong_or_newer_schema_is_refused_with_its_line() {
        let line = "{\"step\":0,\"batch_size\":8,\"data_wait_s\":0.01,\"compute_s\":0.04}\n";
        assert_eq!(
            read_all(&format!("{{\"schema\":\"ocrperf.monitor-samples.v1\"}}\n{line}")).unwrap_err(),
            "line 1: schema `ocrperf.monitor-samples.v1`, not batch events (`ocrperf.batch-events.v1`); is this \
             the right file?"
        );
        let newer = format!("{{\"schema\":\"ocrperf.batch-events.v2\",\"tool_version\":\"9.0.0\"}}\n{line}");
        assert!(is_batch_events_line(newer.lines().next().unwrap()));
        assert_eq!(
            read_all(&newer).unwrap_err(),
            "line 1: schema `ocrperf.batch-events.v2` is newer than this ocrperf reads (`ocrperf.batch-events.v1`); \
             update ocrperf"
        );
        // A second run appended after the first: its header is passed over.
        let header = format!("{{\"schema\":\"{BATCH_EVENTS_SCHEMA}\",\"tool_version\":\"0.1.0\"}}\n");
        assert_eq!(read_all(&format!("{header}{line}{header}{line}")).unwrap(), [(2, 0), (4, 0)]);
    }

    #[test]
    fn bad_lines_name_their_line_and_a_cut_off_last_line_ends_the_file() {
        let good = "{\"step\":0,\"batch_size\":8,\"data_wait_s\":0.01,\"compute_s\":0.04}\n";
        assert_eq!(
            read_all(&format!("{good}{{\"step\":1,\"batch_size\":8,\"data_wait_s\":3601,\"compute_s\":0}}\n"))
                .unwrap_err(),
            "line 2: `data_wait_s` is 3601 s, beyond the limit of 3600 s (one hour) per batch"
        );
        assert_eq!(read_all(&format!("{good}{{\"step\":1}}\n")).unwrap_err(), "line 2: missing field `batch_size`");
        assert_eq!(read_all(&format!("{good}{{\"step\":1,\"batch_si")).unwrap(), [(1, 0)]);
        // After a bad line, reading goes on.
        let text = format!("{{\"step\":0}}\n{good}");
        let mut reader = BatchEventReader::new(text.as_bytes());
        assert!(matches!(reader.next_event(), Err(BatchEventError::BadLine { line: 1, .. })));
        assert_eq!(reader.next_event().unwrap().map(|at| at.line), Some(2));
    }
}
