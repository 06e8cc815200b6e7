//! Sample files: JSONL (a header, then one object per line) or CSV (a fixed header row).
//!
//! Each line is formatted in memory and written with one `write_all`, then flushed, so a crash
//! or a kill loses at most the line being written. If a write fails (a full disk), the file is
//! cut back to its last complete line before the error is returned, so it stays valid.

use std::{
    fs::File,
    io::{Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

use metrics_schema::{AlertEvent, AlertLine, MonitorHeader, MonitorLine, MonitorSample};

use crate::Error;

/// Which format, from the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkFormat {
    /// `.jsonl` (or anything else): one JSON object per line.
    Jsonl,
    /// `.csv`: a header row of metric names, one row per sample; alerts are not written.
    Csv,
}

impl SinkFormat {
    /// `.csv` → CSV, otherwise JSONL.
    pub fn from_path(path: &Path) -> SinkFormat {
        match path.extension().and_then(|ext| ext.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("csv") => SinkFormat::Csv,
            _ => SinkFormat::Jsonl,
        }
    }
}

/// An open sample file.
#[derive(Debug)]
pub struct SampleSink {
    path: PathBuf,
    file: File,
    format: SinkFormat,
    /// Bytes of complete lines written so far.
    length: u64,
    /// CSV columns, fixed by the first sample.
    columns: Option<Vec<String>>,
    line: Vec<u8>,
}

impl SampleSink {
    /// Creates (truncates) the file and writes the JSONL header.
    pub fn create(path: &Path, header: &MonitorHeader) -> Result<SampleSink, Error> {
        #[expect(clippy::disallowed_methods, reason = "the sample file is written a whole line at a time, not renamed")]
        let file = File::create(path).map_err(|cause| Error::Io { path: path.to_owned(), cause })?;
        let mut sink = SampleSink {
            path: path.to_owned(),
            file,
            format: SinkFormat::from_path(path),
            length: 0,
            columns: None,
            line: Vec::new(),
        };
        if sink.format == SinkFormat::Jsonl {
            sink.line = serde_json::to_vec(header).map_err(|err| sink.error(std::io::Error::other(err)))?;
            sink.commit_line()?;
        }
        Ok(sink)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one sample.
    pub fn write_sample(&mut self, sample: &MonitorSample) -> Result<(), Error> {
        self.line.clear();
        match self.format {
            SinkFormat::Jsonl => {
                serde_json::to_writer(&mut self.line, sample)
                    .map_err(|err| Error::Io { path: self.path.clone(), cause: std::io::Error::other(err) })?;
            }
            SinkFormat::Csv => {
                let metrics = sample.metrics();
                if self.columns.is_none() {
                    let mut header = String::from("t_ms,i");
                    for (name, _) in &metrics {
                        header.push(',');
                        header.push_str(name);
                    }
                    self.line.extend_from_slice(header.as_bytes());
                    self.line.push(b'\n');
                    self.columns = Some(metrics.iter().map(|(name, _)| name.clone()).collect());
                }
                let values: std::collections::HashMap<&str, f64> =
                    metrics.iter().map(|(name, value)| (name.as_str(), *value)).collect();
                let mut row = format!("{},{}", sample.t_ms, sample.i);
                for column in self.columns.iter().flatten() {
                    row.push(',');
                    // A device lost mid-run leaves its columns empty rather than shifting others.
                    if let Some(value) = values.get(column.as_str()) {
                        row.push_str(&value.to_string());
                    }
                }
                self.line.extend_from_slice(row.as_bytes());
            }
        }
        self.commit_line()
    }

    /// Appends an alert event (JSONL only: a CSV has fixed columns).
    pub fn write_alert(&mut self, alert: &AlertEvent) -> Result<(), Error> {
        if self.format != SinkFormat::Jsonl {
            return Ok(());
        }
        self.line.clear();
        serde_json::to_writer(&mut self.line, &AlertLine { alert: alert.clone() })
            .map_err(|err| Error::Io { path: self.path.clone(), cause: std::io::Error::other(err) })?;
        self.commit_line()
    }

    fn commit_line(&mut self) -> Result<(), Error> {
        self.line.push(b'\n');
        let written = self.file.write_all(&self.line).and_then(|()| self.file.flush());
        match written {
            Ok(()) => {
                self.length += self.line.len() as u64;
                Ok(())
            }
            Err(cause) => {
                // Cut a partial line off so the file ends with a complete one.
                let _ = self.file.set_len(self.length);
                let _ = self.file.seek(SeekFrom::Start(self.length));
                Err(self.error(cause))
            }
        }
    }

    fn error(&self, cause: std::io::Error) -> Error {
        Error::Io { path: self.path.clone(), cause }
    }
}

/// A sample file, read back.
#[derive(Debug, Clone)]
pub struct SampleFile {
    /// Its header line.
    pub header: MonitorHeader,
    /// Its samples, in time order.
    pub samples: Vec<MonitorSample>,
    /// Its alert lines.
    pub alerts: Vec<AlertEvent>,
    /// What was read but looked wrong (time going backwards), with the place.
    pub warnings: Vec<String>,
}

/// Reads a JSONL sample file back: its header, samples and alerts. `-` is standard input;
/// gzip is recognised by its magic bytes; a byte-order mark is skipped; lines are limited to
/// [`MAX_LINE`](metrics_schema::text::MAX_LINE). A last line without its newline (a monitor
/// killed mid-write) is ignored; any other bad line is an error naming it. The CSV that
/// `monitor --out x.csv` writes is refused with a sentence saying to use the JSONL file.
pub fn read_samples(path: &Path) -> Result<SampleFile, Error> {
    use metrics_schema::text::{LineError, Lines, open_input};
    let bad = |line: u64, message: String| Error::BadSamples { path: path.to_owned(), line: line as usize, message };
    let (reader, _) = open_input(path).map_err(|cause| Error::Io { path: path.to_owned(), cause })?;
    let mut lines = Lines::new(reader);
    let mut header = None;
    let mut samples = Vec::new();
    let mut alerts = Vec::new();
    let mut warnings = Vec::new();
    let (mut last_t_ms, mut backwards) = (0u64, 0u64);
    loop {
        let line = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(LineError::TooLong { line, .. }) => {
                return Err(bad(line, "longer than 1 MiB without a newline; is this a sample file?".to_owned()));
            }
            Err(LineError::Io { line, cause, .. }) => return Err(bad(line, format!("cannot read this line: {cause}"))),
            Err(other) => return Err(bad(0, other.to_string())),
        };
        if !line.complete {
            break;
        }
        if line.number == 1 && !line.bytes.starts_with(b"{") && line.bytes.contains(&b',') {
            return Err(bad(
                1,
                "this looks like the CSV that `monitor --out FILE.csv` writes; `monitor report` reads the JSONL \
                 sample file (`--out FILE.jsonl`), which also holds the alerts"
                    .to_owned(),
            ));
        }
        let text = line.text().map_err(|message| bad(line.number, message))?;
        match MonitorLine::parse(text.as_bytes(), line.number == 1).map_err(|message| bad(line.number, message))? {
            MonitorLine::Header(first) => header = Some(*first),
            MonitorLine::Sample(sample) => {
                if sample.t_ms < last_t_ms {
                    backwards += 1;
                    if backwards == 1 {
                        warnings.push(format!("{}:{}: `t_ms` goes backwards", path.display(), line.number));
                    }
                }
                last_t_ms = sample.t_ms;
                samples.push(*sample);
            }
            MonitorLine::Alert(alert) => alerts.push(alert),
        }
    }
    let header = header.ok_or_else(|| bad(1, "empty file: no header line".to_owned()))?;
    if backwards > 1 {
        warnings.push(format!("{}: `t_ms` goes backwards on {backwards} lines in all", path.display()));
    }
    if backwards > 0 {
        // Charts need time order; a clock step or two files joined would draw lines back in time.
        samples.sort_by_key(|sample| sample.t_ms);
        warnings.push("samples were put in time order for the charts".to_owned());
    }
    Ok(SampleFile { header, samples, alerts, warnings })
}
