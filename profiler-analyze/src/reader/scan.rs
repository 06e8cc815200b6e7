//! Splits a Chrome trace into its top-level metadata values and its events without parsing them.
//!
//! The scanner reads through a fixed buffer and only finds where each value ends (strings and
//! bracket depth), so memory stays bounded by the largest single event, not the file. Each event's
//! bytes are then parsed on their own (`event.rs`), which also validates them.

use std::io::Read;

/// Bytes read from the source at a time. The buffer grows only for a value larger than this.
const CHUNK: usize = 1 << 20;

/// One piece of the trace, borrowed from the scanner's buffer until the next call.
#[derive(Debug)]
pub(crate) enum Item<'a> {
    /// A top-level key other than `traceEvents`, with its raw JSON value.
    Meta { key: &'a [u8], value: &'a [u8], offset: u64 },
    /// The start of one element of `traceEvents` (or of a top-level array): the buffered
    /// bytes from its `{` on. The caller parses the event from them and calls
    /// [`Scanner::advance`] with its length, or [`Scanner::need_more`] when it is cut off.
    Event { bytes: &'a [u8], offset: u64 },
}

/// Where the damage is, in uncompressed bytes from the start of the JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScanError {
    pub(crate) offset: u64,
    pub(crate) message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    RootObject { first: bool },
    Events { expect_comma: bool, in_root_array: bool },
    Done,
}

#[derive(Debug)]
pub(crate) struct Scanner<R> {
    source: R,
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
    /// File offset of `buf[0]`.
    buf_offset: u64,
    eof: bool,
    state: State,
    /// The current top-level key, copied: reading its value may refill the buffer.
    key: Vec<u8>,
    /// Whether the root object had a `traceEvents` key.
    saw_events: bool,
}

impl<R: Read> Scanner<R> {
    pub(crate) fn new(source: R) -> Self {
        Scanner {
            source,
            buf: vec![0; CHUNK],
            pos: 0,
            filled: 0,
            buf_offset: 0,
            eof: false,
            state: State::Start,
            key: Vec::new(),
            saw_events: false,
        }
    }

    /// Uncompressed bytes consumed so far.
    pub(crate) fn offset(&self) -> u64 {
        self.buf_offset + self.pos as u64
    }

    /// The next metadata value or event; `None` once the closing bracket has been read.
    pub(crate) fn next_item(&mut self) -> Result<Option<Item<'_>>, ScanError> {
        loop {
            match self.state {
                State::Start => {
                    match self.peek_token()? {
                        Some(b'{') => self.state = State::RootObject { first: true },
                        Some(b'[') => self.state = State::Events { expect_comma: false, in_root_array: true },
                        Some(_) => return Err(self.error_here("expected '{' or '[' at the start of a trace")),
                        None => return Err(self.error_here("empty file: no JSON trace")),
                    }
                    self.pos += 1;
                }
                State::RootObject { first } => {
                    let token = self.expect_token("the top-level object is not closed")?;
                    if token == b'}' {
                        if !self.saw_events {
                            return Err(self.error_here(
                                "no \"traceEvents\" array: not a Kineto/Chrome trace (an execution trace or other JSON?)",
                            ));
                        }
                        self.pos += 1;
                        self.state = State::Done;
                        continue;
                    }
                    if !first {
                        if token != b',' {
                            return Err(self.error_here("expected ',' or '}' after a top-level value"));
                        }
                        self.pos += 1;
                        self.expect_token("the top-level object is not closed")?;
                    }
                    self.state = State::RootObject { first: false };
                    if self.buf[self.pos] != b'"' {
                        return Err(self.error_here("expected a quoted key in the top-level object"));
                    }
                    let key_end = self.value_end()?;
                    self.key.clear();
                    self.key.extend_from_slice(&self.buf[self.pos + 1..key_end - 1]);
                    self.pos = key_end;
                    if self.expect_token("the top-level object ends after a key")? != b':' {
                        return Err(self.error_here("expected ':' after a top-level key"));
                    }
                    self.pos += 1;
                    self.expect_token("the top-level object ends after a key")?;
                    if self.key == b"traceEvents" {
                        if self.buf[self.pos] != b'[' {
                            return Err(self.error_here("\"traceEvents\" is not an array"));
                        }
                        self.pos += 1;
                        self.saw_events = true;
                        self.state = State::Events { expect_comma: false, in_root_array: false };
                        continue;
                    }
                    let end = self.value_end()?;
                    let start = self.pos;
                    self.pos = end;
                    let offset = self.buf_offset + start as u64;
                    return Ok(Some(Item::Meta { key: &self.key, value: &self.buf[start..end], offset }));
                }
                State::Events { expect_comma, in_root_array } => {
                    let token = self.expect_token("the event array is not closed (file truncated?)")?;
                    if token == b']' {
                        self.pos += 1;
                        self.state = if in_root_array { State::Done } else { State::RootObject { first: false } };
                        continue;
                    }
                    if expect_comma {
                        if token != b',' {
                            return Err(self.error_here("expected ',' or ']' between events"));
                        }
                        self.pos += 1;
                        if self.expect_token("the event array is not closed (file truncated?)")? == b']' {
                            // A trailing comma: invalid JSON, but harmless; some writers emit it.
                            self.state = State::Events { expect_comma: false, in_root_array };
                            continue;
                        }
                        self.state = State::Events { expect_comma: false, in_root_array };
                    }
                    if self.buf[self.pos] != b'{' {
                        return Err(self.error_here("expected an event object"));
                    }
                    let offset = self.offset();
                    return Ok(Some(Item::Event { bytes: &self.buf[self.pos..self.filled], offset }));
                }
                State::Done => {
                    return match self.peek_token()? {
                        None => Ok(None),
                        Some(_) => Err(self.error_here("unexpected data after the end of the trace")),
                    };
                }
            }
        }
    }

    /// The event yielded last was `len` bytes long.
    pub(crate) fn advance(&mut self, len: usize) {
        self.pos += len;
        if let State::Events { in_root_array, .. } = self.state {
            self.state = State::Events { expect_comma: true, in_root_array };
        }
    }

    /// The event yielded last continues past the buffered bytes: read more, so the next
    /// [`Scanner::next_item`] yields it again, longer.
    pub(crate) fn need_more(&mut self) -> Result<(), ScanError> {
        if self.refill()? { Ok(()) } else { Err(self.error_here("the file ends inside this event (truncated?)")) }
    }

    /// Skips whitespace; the next byte, or `None` at the end of the input.
    fn peek_token(&mut self) -> Result<Option<u8>, ScanError> {
        loop {
            while self.pos < self.filled {
                let byte = self.buf[self.pos];
                if !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                    return Ok(Some(byte));
                }
                self.pos += 1;
            }
            if !self.refill()? {
                return Ok(None);
            }
        }
    }

    fn expect_token(&mut self, at_eof: &str) -> Result<u8, ScanError> {
        match self.peek_token()? {
            Some(byte) => Ok(byte),
            None => Err(self.error_here(at_eof)),
        }
    }

    /// The end (exclusive index into `buf`) of the JSON value starting at `pos`, reading more
    /// input as needed. May move the buffer contents: `pos` is kept pointing at the value.
    fn value_end(&mut self) -> Result<usize, ScanError> {
        loop {
            match find_value_end(&self.buf[self.pos..self.filled]) {
                Some(len) => return Ok(self.pos + len),
                None if self.eof => {
                    return Err(self.error_here("the file ends inside this value (truncated?)"));
                }
                None => {
                    if !self.refill()? {
                        return Err(self.error_here("the file ends inside this value (truncated?)"));
                    }
                }
            }
        }
    }

    /// Moves the unread bytes to the front and reads more. False at the end of the input.
    fn refill(&mut self) -> Result<bool, ScanError> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.filled, 0);
            self.filled -= self.pos;
            self.buf_offset += self.pos as u64;
            self.pos = 0;
        }
        if self.filled == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.source.read(&mut self.buf[self.filled..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(read) => {
                    self.filled += read;
                    return Ok(true);
                }
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => {
                    return Err(ScanError {
                        offset: self.buf_offset + self.filled as u64,
                        message: format!("read failed: {err}"),
                    });
                }
            }
        }
    }

    fn error_here(&self, message: &str) -> ScanError {
        ScanError { offset: self.offset(), message: message.to_owned() }
    }
}

/// The length of the JSON value at the start of `bytes`, or `None` if it is not complete.
///
/// Only strings and the value's own bracket kind are tracked: whatever else is inside is
/// checked later by the event parser.
pub(crate) fn find_value_end(bytes: &[u8]) -> Option<usize> {
    let (open, close) = match *bytes.first()? {
        b'"' => return string_end(bytes, 1),
        b'{' => (b'{', b'}'),
        b'[' => (b'[', b']'),
        _ => {
            let len = bytes.iter().position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))?;
            return Some(len);
        }
    };
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(found) = memchr::memchr3(b'"', open, close, &bytes[i..]) {
        let at = i + found;
        match bytes[at] {
            b'"' => {
                i = string_end(bytes, at + 1)?;
                continue;
            }
            byte if byte == open => depth += 1,
            _ => {
                depth -= 1;
                if depth == 0 {
                    return Some(at + 1);
                }
            }
        }
        i = at + 1;
    }
    None
}

/// The index just past the closing quote of a string whose content starts at `from`.
fn string_end(bytes: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let at = from + memchr::memchr2(b'"', b'\\', &bytes[from..])?;
        if bytes[at] == b'"' {
            return Some(at + 1);
        }
        from = at + 2;
        if from > bytes.len() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(json: &str, chunk: usize) -> Result<Vec<(String, u64)>, ScanError> {
        let mut scanner = Scanner::new(std::io::Cursor::new(json.as_bytes().to_vec()));
        scanner.buf = vec![0; chunk];
        let mut out = Vec::new();
        while let Some(item) = scanner.next_item()? {
            match item {
                Item::Meta { key, value, offset } => {
                    out.push((format!("{}={}", String::from_utf8_lossy(key), String::from_utf8_lossy(value)), offset))
                }
                Item::Event { bytes, offset } => match find_value_end(bytes) {
                    Some(len) => {
                        out.push((String::from_utf8_lossy(&bytes[..len]).into_owned(), offset));
                        scanner.advance(len);
                    }
                    None => scanner.need_more()?,
                },
            }
        }
        Ok(out)
    }

    #[test]
    fn splits_events_and_metadata_with_any_buffer_size() {
        let json = r#" {"schemaVersion": 1, "traceEvents": [ {"name": "a}\"{", "args": {"x": [1, {"y": 2}]}},
            {"ph":"X"} ], "baseTimeNanoseconds": 17, "deviceProperties": [{"id": 0}] } "#;
        let expected = vec![
            ("schemaVersion=1".to_owned(), 19),
            (r#"{"name": "a}\"{", "args": {"x": [1, {"y": 2}]}}"#.to_owned(), 39),
            (r#"{"ph":"X"}"#.to_owned(), 100),
            ("baseTimeNanoseconds=17".to_owned(), 137),
            (r#"deviceProperties=[{"id": 0}]"#.to_owned(), 161),
        ];
        for chunk in [1, 2, 3, 7, 64, 4096] {
            assert_eq!(scan_all(json, chunk).unwrap(), expected, "chunk {chunk}");
        }
    }

    #[test]
    fn accepts_a_bare_event_array() {
        let events = scan_all(r#"[{"a": 1}, {"b": 2}]"#, 4).unwrap();
        assert_eq!(events, vec![(r#"{"a": 1}"#.to_owned(), 1), (r#"{"b": 2}"#.to_owned(), 11)]);
    }

    #[test]
    fn truncation_and_garbage_name_the_offset() {
        let cases = [
            (r#"{"traceEvents": [{"a": 1}, {"b": "#, 27, "ends inside this event"),
            (r#"{"traceEvents": [{"a": 1}"#, 25, "not closed"),
            (r#"{"traceEvents": [{"a": 1} {"b": 2}]}"#, 26, "expected ',' or ']'"),
            (r#"{"traceEvents": 5}"#, 16, "not an array"),
            ("", 0, "empty file"),
            ("\u{1f}\u{8b}", 0, "expected '{' or '['"),
            (r#"{"traceEvents": []} x"#, 20, "after the end"),
            (r#"{"traceEvents": [7]}"#, 17, "expected an event object"),
            (r#"{"nodes": [{"id": 1}]}"#, 21, "no \"traceEvents\" array"),
        ];
        for (json, offset, message) in cases {
            let err = scan_all(json, 8).unwrap_err();
            assert_eq!(err.offset, offset, "{json}: {err:?}");
            assert!(err.message.contains(message), "{json}: {err:?}");
        }
    }
}
