//! Reading text inputs without trusting them: every line has a length limit and a place (line
//! number and byte offset), whole files have a size limit, a UTF-8 byte-order mark is skipped,
//! gzip is recognised by its magic bytes, and `-` is standard input.
//!
//! Every reader of a line format (JSONL events, monitor samples, ground truth, CSV) goes through
//! [`Lines`], so `/dev/zero` or a binary file with the wrong name fails at its first megabyte
//! instead of growing one line until memory runs out.

use std::{
    fs::File,
    io::{self, BufRead, BufReader, Read},
    path::Path,
};

/// The longest line any text format may have (1 MiB).
pub const MAX_LINE: usize = 1 << 20;

/// The largest whole text file read into memory (a JSON report, a rules file): 64 MiB.
pub const MAX_TEXT_FILE: u64 = 64 << 20;

/// The UTF-8 byte-order mark some Windows editors write at the start of a file.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// A piece of input as quoted in a one-line message: control characters escaped (a newline
/// inside a quoted CSV cell must not break the line) and anything past 60 characters cut with
/// `…`.
pub fn shown(text: &str) -> String {
    const MAX: usize = 60;
    let mut out: String = text.chars().take(MAX).flat_map(char::escape_debug).collect();
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

/// Whether `path` names standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Opens a text input: `-` is standard input, gzip (recognised by its magic bytes, not its
/// name) is decompressed on the fly, and a UTF-8 byte-order mark at the start of the text
/// (after decompression) is consumed, so no reader sees one. The flag says whether it was gzip.
///
/// # Errors
/// The I/O error of opening or first reading it.
pub fn open_input(path: &Path) -> io::Result<(Box<dyn BufRead + Send>, bool)> {
    open_input_through(path, |source| source)
}

/// [`open_input`] with the raw bytes passed through `wrap` before gzip is looked for: a reader
/// that counts the bytes read from the disk (progress, a stop request) sees compressed bytes,
/// and every input is still opened, and its gzip found, in this one place.
///
/// # Errors
/// The I/O error of opening or first reading it.
pub fn open_input_through<'a, R: Read + Send + 'a>(
    path: &Path,
    wrap: impl FnOnce(Box<dyn Read + Send>) -> R,
) -> io::Result<(Box<dyn BufRead + Send + 'a>, bool)> {
    let source: Box<dyn Read + Send> = if is_stdin(path) { Box::new(io::stdin()) } else { Box::new(File::open(path)?) };
    decode(wrap(source))
}

/// Buffers an opened input, decompressing it on the fly when it starts with gzip's magic bytes
/// (the one place that decides what is gzip), and consuming a UTF-8 byte-order mark at the
/// start of the text, after decompression (the one place that skips it). The flag says whether
/// it was gzip.
///
/// # Errors
/// The I/O error of the first read. The text's own first read (a damaged gzip header, the
/// byte-order mark) happens when the reader is first read, so its errors come from there.
pub fn decode<'a, R: Read + Send + 'a>(source: R) -> io::Result<(Box<dyn BufRead + Send + 'a>, bool)> {
    let mut reader = BufReader::with_capacity(1 << 16, source);
    let gzip = reader.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        let text = BufReader::with_capacity(1 << 16, flate2::bufread::MultiGzDecoder::new(reader));
        (Box::new(BomSkipped { inner: text, pending: true }), true)
    } else {
        (Box::new(BomSkipped { inner: reader, pending: true }), false)
    })
}

/// A text reader that consumes a byte-order mark before its first read.
struct BomSkipped<R> {
    inner: R,
    /// The start has not been looked at yet.
    pending: bool,
}

impl<R: BufRead> BomSkipped<R> {
    fn start(&mut self) -> io::Result<()> {
        if self.pending {
            skip_bom(&mut self.inner)?;
            self.pending = false;
        }
        Ok(())
    }
}

impl<R: BufRead> Read for BomSkipped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.start()?;
        self.inner.read(buf)
    }
}

impl<R: BufRead> BufRead for BomSkipped<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.start()?;
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
    }
}

/// Consumes a UTF-8 byte-order mark at the reader's position, if there is one ([`decode`], and
/// so every input opened by [`open_input`], has done it already).
///
/// # Errors
/// The I/O error of reading.
pub fn skip_bom(reader: &mut impl BufRead) -> io::Result<()> {
    let mut seen = 0;
    while seen < BOM.len() {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        let take = buf.len().min(BOM.len() - seen);
        if buf[..take] != BOM[seen..seen + take] {
            // Only possible on the first piece: a partial BOM split across reads is not undone.
            return Ok(());
        }
        reader.consume(take);
        seen += take;
    }
    Ok(())
}

/// Why a line could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// A line ran past [`MAX_LINE`] bytes without a newline.
    #[error("line {line}: longer than {} MiB without a newline; is this the right file?", MAX_LINE >> 20)]
    TooLong {
        /// 1-based line number.
        line: u64,
        /// Byte offset of the line's start.
        offset: u64,
    },
    /// Reading failed (a truncated gzip stream, a device error).
    #[error("line {line}: {cause}")]
    Io {
        /// 1-based line number.
        line: u64,
        /// Byte offset of the line's start.
        offset: u64,
        /// The I/O error.
        #[source]
        cause: io::Error,
    },
}

/// One line of a text input.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// Its bytes, without the line ending (`\n` or `\r\n`) and, on line 1, without a BOM (the
    /// opener consumes it; this is for lines of a reader that did not come through it).
    pub bytes: &'a [u8],
    /// 1-based line number.
    pub number: u64,
    /// Byte offset of its start (uncompressed).
    pub offset: u64,
    /// False for a last line without its newline: possibly cut off mid-write.
    pub complete: bool,
}

impl<'a> Line<'a> {
    /// The line as UTF-8 text.
    ///
    /// # Errors
    /// A message saying where in the line the first invalid byte is.
    pub fn text(&self) -> Result<&'a str, String> {
        std::str::from_utf8(self.bytes).map_err(|err| {
            format!("not UTF-8 text (an invalid byte at column {}); is this the right file?", err.valid_up_to() + 1)
        })
    }

    /// Whether the line holds nothing but whitespace.
    pub fn is_blank(&self) -> bool {
        self.bytes.iter().all(u8::is_ascii_whitespace)
    }
}

/// Reads lines from a buffered reader with a length limit, tracking line numbers and offsets.
#[derive(Debug)]
pub struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    line: u64,
    offset: u64,
}

impl<R: BufRead> Lines<R> {
    /// Lines of `reader`, starting at line 1, byte 0.
    pub fn new(reader: R) -> Self {
        Lines { reader, buf: Vec::with_capacity(256), line: 0, offset: 0 }
    }

    /// The next line, or `None` at the end of the input.
    ///
    /// # Errors
    /// [`LineError`] with the line's number and offset.
    pub fn next_line(&mut self) -> Result<Option<Line<'_>>, LineError> {
        self.buf.clear();
        let (number, offset) = (self.line + 1, self.offset);
        let read = (&mut self.reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut self.buf)
            .map_err(|cause| LineError::Io { line: number, offset, cause })?;
        if read == 0 {
            return Ok(None);
        }
        self.line = number;
        self.offset += read as u64;
        let complete = self.buf.last() == Some(&b'\n');
        if !complete && self.buf.len() > MAX_LINE {
            return Err(LineError::TooLong { line: number, offset });
        }
        let mut bytes = &self.buf[..];
        if let Some(rest) = bytes.strip_suffix(b"\n") {
            bytes = rest.strip_suffix(b"\r").unwrap_or(rest);
        }
        if number == 1 {
            bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
        }
        Ok(Some(Line { bytes, number, offset, complete }))
    }
}

/// Why a whole text file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// Opening or reading failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The file is larger than the limit.
    #[error("larger than {}; is this the right file?", crate::format_bytes(*limit))]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The file is not UTF-8.
    #[error("line {line}: not UTF-8 text (an invalid byte at column {column}); is this the right file?")]
    NotUtf8 {
        /// 1-based line of the first invalid byte.
        line: u64,
        /// 1-based column (in bytes) of it.
        column: u64,
        /// Byte offset of that line's start (after a BOM, uncompressed).
        offset: u64,
    },
}

/// Reads a whole (possibly gzipped, or `-`) text file of at most `limit` bytes, without a BOM.
///
/// # Errors
/// [`TextError`]: the I/O error, the size limit, or the line and column of the first byte
/// that is not UTF-8.
pub fn read_text(path: &Path, limit: u64) -> Result<String, TextError> {
    let (reader, _) = open_input(path)?;
    read_text_from(reader, limit)
}

/// Like [`read_text`], for an input already opened (and decompressed, see [`decode`]).
///
/// # Errors
/// As [`read_text`].
pub fn read_text_from(reader: impl Read, limit: u64) -> Result<String, TextError> {
    let mut bytes = Vec::new();
    reader.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(TextError::TooLarge { limit });
    }
    let body = bytes.strip_prefix(BOM).unwrap_or(&bytes);
    match std::str::from_utf8(body) {
        Ok(text) => Ok(text.to_owned()),
        Err(err) => {
            let before = &body[..err.valid_up_to()];
            let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |at| at + 1);
            let column = (before.len() - line_start) as u64 + 1;
            Err(TextError::NotUtf8 { line, column, offset: line_start as u64 })
        }
    }
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
mod tests {
    use super::*;

    #[test]
    fn input_is_shown_on_one_line() {
        assert_eq!(shown("12\n"), "12\\n");
        assert_eq!(shown(&"x".repeat(100)), format!("{}…", "x".repeat(60)));
        assert_eq!(shown("ok"), "ok");
    }

    fn all(input: &[u8]) -> Vec<(String, u64, u64, bool)> {
        let mut lines = Lines::new(input);
        let mut seen = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            seen.push((String::from_utf8_lossy(line.bytes).into_owned(), line.number, line.offset, line.complete));
        }
        seen
    }

    #[test]
    fn numbers_lines_strips_the_bom_and_flags_the_cut_off_last_one() {
        assert_eq!(
            all(b"\xef\xbb\xbfa\r\nbb\n\nccc"),
            [
                ("a".to_owned(), 1, 0, true),
                ("bb".to_owned(), 2, 6, true),
                (String::new(), 3, 9, true),
                ("ccc".to_owned(), 4, 10, false)
            ]
        );
    }

    #[test]
    fn an_endless_line_is_refused_at_the_limit() {
        let mut lines = Lines::new(io::BufReader::new(io::repeat(0)));
        let err = lines.next_line().unwrap_err();
        assert_eq!(err.to_string(), "line 1: longer than 1 MiB without a newline; is this the right file?");
    }

    #[test]
    fn invalid_utf8_names_its_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        std::fs::write(&path, b"{\n  \"a\": \"\xff\"\n}").unwrap();
        assert_eq!(
            read_text(&path, MAX_TEXT_FILE).unwrap_err().to_string(),
            "line 2: not UTF-8 text (an invalid byte at column 9); is this the right file?"
        );
        assert!(matches!(read_text(&path, MAX_TEXT_FILE), Err(TextError::NotUtf8 { line: 2, column: 9, offset: 2 })));
        let line = Line { bytes: b"ab\xffc", number: 1, offset: 0, complete: true };
        assert_eq!(line.text().unwrap_err(), "not UTF-8 text (an invalid byte at column 3); is this the right file?");
    }

    #[test]
    fn whole_files_have_a_size_limit_and_lose_their_bom() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        std::fs::write(&path, b"\xef\xbb\xbf{}").unwrap();
        assert_eq!(read_text(&path, 100).unwrap(), "{}");
        // The limit counts the text: the opener has consumed the mark.
        assert_eq!(read_text(&path, 2).unwrap(), "{}");
        assert_eq!(read_text(&path, 1).unwrap_err().to_string(), "larger than 1 B; is this the right file?");
        // Text that did not come through the opener loses its mark here.
        assert_eq!(read_text_from(&b"\xef\xbb\xbf{}"[..], 100).unwrap(), "{}");
    }

    #[test]
    fn a_bom_is_skipped_only_where_there_is_one() {
        let mut with = &b"\xef\xbb\xbf{}"[..];
        skip_bom(&mut with).unwrap();
        assert_eq!(with, b"{}");
        let mut without = &b"\xef{}"[..];
        skip_bom(&mut without).unwrap();
        assert_eq!(without, b"\xef{}");
        let mut empty = &b""[..];
        skip_bom(&mut empty).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn the_opener_consumes_a_bom_of_plain_and_gzipped_text_alike() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let text = b"\xef\xbb\xbfstep,loss\n1,0.5\n";
        let plain = dir.path().join("plain.csv");
        std::fs::write(&plain, text).unwrap();
        let packed = dir.path().join("packed.csv");
        let mut encoder = flate2::write::GzEncoder::new(File::create(&packed).unwrap(), flate2::Compression::fast());
        encoder.write_all(text).unwrap();
        encoder.finish().unwrap();
        let mut read = Vec::new();
        for (path, gzipped) in [(&plain, false), (&packed, true)] {
            let (mut reader, gzip) = open_input(path).unwrap();
            assert_eq!(gzip, gzipped);
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes).unwrap();
            read.push(bytes);
        }
        assert_eq!(read[0], b"step,loss\n1,0.5\n");
        assert_eq!(read[0], read[1]);
        // Through `BufRead` too, and offsets count from after the mark.
        let (reader, _) = open_input(&packed).unwrap();
        let mut lines = Lines::new(reader);
        assert_eq!(lines.next_line().unwrap().unwrap().bytes, b"step,loss");
        let second = lines.next_line().unwrap().unwrap();
        assert_eq!((second.bytes, second.offset), (&b"1,0.5"[..], 10));
        // A mark later in the text is text, and a file without one loses nothing.
        let (mut reader, _) = decode(&b"a\xef\xbb\xbf"[..]).unwrap();
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).unwrap();
        assert_eq!(bytes, b"a\xef\xbb\xbf");
        let (mut reader, _) = decode(&b""[..]).unwrap();
        assert_eq!(reader.fill_buf().unwrap(), b"");
    }

    #[test]
    fn gzip_is_found_by_its_magic_bytes() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("samples.jsonl");
        let mut encoder = flate2::write::GzEncoder::new(File::create(&path).unwrap(), flate2::Compression::fast());
        encoder.write_all(b"one\ntwo\n").unwrap();
        encoder.finish().unwrap();
        let (reader, gzip) = open_input(&path).unwrap();
        assert!(gzip);
        let mut lines = Lines::new(reader);
        assert_eq!(lines.next_line().unwrap().unwrap().bytes, b"one");
    }
}
