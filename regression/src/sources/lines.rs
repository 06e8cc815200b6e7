//! Line-by-line reading with a length limit and the place of each line.

use std::{
    io::BufRead,
    path::{Path, PathBuf},
};

use metrics_schema::text::LineError;

use crate::{Error, Place};

/// The longest line any text format may have (the shared limit of every ocrperf reader).
pub(crate) const MAX_LINE: usize = metrics_schema::text::MAX_LINE;

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

/// [`metrics_schema::text::Lines`] with this crate's errors and places.
pub(crate) struct Lines<R> {
    inner: metrics_schema::text::Lines<R>,
    path: PathBuf,
}

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(reader: R, path: &Path) -> Self {
        Lines { inner: metrics_schema::text::Lines::new(reader), path: path.to_owned() }
    }

    /// The next line, or `None` at the end of the file.
    pub(crate) fn next_line(&mut self) -> Result<Option<Line<'_>>, Error> {
        match self.inner.next_line() {
            Ok(line) => Ok(line.map(|line| Line {
                text: line.bytes,
                place: Place::Line { line: line.number, offset: line.offset },
                complete: line.complete,
            })),
            Err(err) => Err(line_error(&self.path, err)),
        }
    }
}

/// A line that could not be read, as this crate's error at its place.
pub(crate) fn line_error(path: &Path, err: LineError) -> Error {
    match err {
        LineError::TooLong { line, offset } => Error::damaged(
            path,
            Place::Line { line, offset },
            format!("line longer than {} MiB; is this the right file?", MAX_LINE >> 20),
        ),
        LineError::Io { line, offset, cause } => super::read_error(path, Place::Line { line, offset }, cause),
        other => Error::damaged(path, Place::Line { line: 0, offset: 0 }, other.to_string()),
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
        let zeros = std::io::Read::take(std::io::repeat(0), 3 * MAX_LINE as u64);
        let mut lines = Lines::new(std::io::BufReader::new(zeros), Path::new("/dev/zero"));
        let err = lines.next_line().unwrap_err().to_string();
        assert_eq!(err, "/dev/zero:1: line longer than 1 MiB; is this the right file?");
    }
}
