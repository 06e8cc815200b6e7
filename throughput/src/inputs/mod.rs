//! Readers for what training runs leave behind: JSONL batch events, Kineto traces, and
//! Lightning `CSVLogger` files. Each feeds a [`ThroughputMonitor`](crate::ThroughputMonitor).

pub mod jsonl;
pub mod kineto;
pub mod lightning;

use std::{
    fs::File,
    io::{BufRead, BufReader, Read},
    path::Path,
};

use crate::Error;

/// Opens a file for reading, through gzip when it starts with gzip's magic bytes (then the
/// flag is true).
pub(crate) fn open(path: &Path) -> Result<(Box<dyn BufRead>, bool), Error> {
    let io = |cause| Error::Io { path: path.to_owned(), cause };
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path).map_err(io)?);
    let gzip = reader.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::with_capacity(1 << 20, flate2::bufread::MultiGzDecoder::new(reader)))
    } else {
        Box::new(reader)
    };
    Ok((reader, gzip))
}

/// Reads a whole (possibly gzipped) file.
pub(crate) fn read_all(path: &Path) -> Result<Vec<u8>, Error> {
    let (mut reader, compressed) = open(path)?;
    let mut bytes = Vec::new();
    // On an error, `read_to_end` has kept what it read: its length is where reading stopped.
    reader.read_to_end(&mut bytes).map_err(|cause| Error::ReadAt {
        path: path.to_owned(),
        offset: bytes.len() as u64,
        compressed,
        cause,
    })?;
    Ok(bytes)
}
