//! Line-by-line reading with a length limit and the place of each line.

use std::{
    io::{BufRead, Read},
    path::{Path, PathBuf},
};

use crate::{Error, Place};

/// The longest line any text format may have. A file without newlines (`/dev/zero`, a binary
/// file with the wrong extension) fails here instead of growing one line until memory runs out.
pub(crate) const MAX_LINE: usize = 1 << 20;

/// One line of a text file.
#[derive(Debug)]
pub(crate) struct Line<'a> {
    /// Its bytes, without the line ending.
    pub(crate) text: &'a [u8],
    /// Where it is.
    pub(crate) place: Place,
    /// False for a last line without its newline: possibly cut off mid-write.
    pub(crate) complete: bool,
}

/// Reads lines from a buffered reader, tracking line numbers and byte offsets.
pub(crate) struct Lines<R> {
    reader: R,
    path: PathBuf,
    buf: Vec<u8>,
    line: u64,
    offset: u64,
}

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(reader: R, path: &Path) -> Self {
        Lines { reader, path: path.to_owned(), buf: Vec::with_capacity(256), line: 0, offset: 0 }
    }

    /// The next line, or `None` at the end of the file.
    pub(crate) fn next_line(&mut self) -> Result<Option<Line<'_>>, Error> {
        self.buf.clear();
        let start = self.offset;
        let place = Place::Line { line: self.line + 1, offset: start };
        let read = (&mut self.reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut self.buf)
            .map_err(|cause| super::read_error(&self.path, place, cause))?;
        if read == 0 {
            return Ok(None);
        }
        self.line += 1;
        self.offset += read as u64;
        let complete = self.buf.last() == Some(&b'\n');
        if !complete && self.buf.len() > MAX_LINE {
            return Err(Error::damaged(
                &self.path,
                place,
                format!("line longer than {} MiB; is this the right file?", MAX_LINE >> 20),
            ));
        }
        let mut text = &self.buf[..];
        if let Some(rest) = text.strip_suffix(b"\n") {
            text = rest.strip_suffix(b"\r").unwrap_or(rest);
        }
        Ok(Some(Line { text, place, complete }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_lines_and_flags_the_cut_off_last_one() {
        let mut lines = Lines::new(&b"a\r\nbb\n\nccc"[..], Path::new("f"));
        let mut seen = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            seen.push((String::from_utf8_lossy(line.text).into_owned(), line.place, line.complete));
        }
        assert_eq!(
            seen,
            [
                ("a".to_owned(), Place::Line { line: 1, offset: 0 }, true),
                ("bb".to_owned(), Place::Line { line: 2, offset: 3 }, true),
                (String::new(), Place::Line { line: 3, offset: 6 }, true),
                ("ccc".to_owned(), Place::Line { line: 4, offset: 7 }, false),
            ]
        );
    }

    #[test]
    fn a_line_without_end_is_refused_at_the_limit() {
        let zeros = std::io::repeat(0).take(3 * MAX_LINE as u64);
        let mut lines = Lines::new(std::io::BufReader::new(zeros), Path::new("/dev/zero"));
        let err = lines.next_line().unwrap_err().to_string();
        assert_eq!(err, "/dev/zero:1: line longer than 1 MiB; is this the right file?");
    }
}
