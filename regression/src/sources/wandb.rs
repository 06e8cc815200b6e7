//! Weights & Biases run logs (`wandb/offline-run-*/run-<id>.wandb`).
//!
//! Recent offline runs write no `wandb-history.jsonl` and often no summary file: the `.wandb`
//! file is the only source. Its layout (wandb's `datastore.py` before 0.20, `wandb-core` since):
//!
//! - a 7-byte header: `:W&B`, the magic `0xBEE1` (little-endian `u16`) and version 0;
//! - then LevelDB's log format in 32 KiB blocks (the header counts towards the first block):
//!   each record has a 7-byte header (CRC-32 `u32`, length `u16`, type `u8`: FULL 1, FIRST 2,
//!   MIDDLE 3, LAST 4); a record that does not fit in its block is split FIRST/MIDDLE/LAST;
//!   fewer than 7 bytes left in a block are zero padding. The checksum is the standard
//!   (IEEE) CRC-32 of the data, seeded with the CRC-32 of the type byte, not LevelDB's masked
//!   CRC-32C;
//! - each record's data is a protobuf `wandb_internal.Record`.
//!
//! Field numbers come from wandb's `wandb_internal.proto` (checked against wandb 0.31.0's
//! compiled descriptors): `Record.history` 2, `summary` 3, `config` 5, `stats` 7, `run` 17,
//! `exit` 18, `environment` 26. `HistoryItem`: `key` 1 (older SDKs), `nested_key` 2 (0.31
//! writes every key here; nested dicts give several parts, joined with `.`), typed values
//! `boolean` 4, `integer` 5 (sint64), `number` 6 (double), and `value_json` 16.

use std::{
    fs::File,
    io::{BufReader, Read},
    path::Path,
};

use metrics_schema::{Direction, RunInfo, Timestamp, Unit};
use rustc_hash::FxHashMap;

use super::{
    Meter, ReadOptions,
    proto::{Fields, ProtoError, Wire},
};
use crate::{Error, Hint, Place, Point, RunMetrics, Series, SourceFile};

const BLOCK: usize = 32 * 1024;
const HEADER: usize = 7;
/// A reassembled record larger than this is damage (history rows are kilobytes).
const MAX_RECORD: usize = 64 << 20;

/// Reads one run log into `run`: history keys become series, summary values without history
/// become scalars, system metrics become `system/<key>` series, config goes to `run.config`.
///
/// # Errors
/// [`Error::Io`], or [`Error::Damaged`] with the byte offset of the record for a bad header, a
/// CRC mismatch, a truncated or mis-fragmented record, or an undecodable `Record`.
pub fn read(path: &Path, options: &ReadOptions<'_>, run: &mut RunMetrics) -> Result<(), Error> {
    let file = File::open(path).map_err(|cause| Error::io(path, cause))?;
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    run.files.push(SourceFile { path: path.display().to_string(), format: "wandb", bytes });
    let mut log = Log::new(path, Meter::new(file, options))?;
    let mut state = State::default();
    let result = (|| {
        while let Some(offset) = log.next_record()? {
            state
                .record(log.record())
                .map_err(|err| Error::damaged(path, Place::Byte(offset), format!("undecodable record: {err}")))?;
            if let Some(message) = state.impossible.take() {
                return Err(Error::damaged(path, Place::Byte(offset), message));
            }
        }
        Ok(())
    })();
    state.finish(path, run);
    if let Some(dir) = path.parent() {
        fill_from_metadata_file(&dir.join("files").join("wandb-metadata.json"), run);
    }
    result
}

/// The run's name and id, read from the first records only (to select a run by name without
/// reading every file).
///
/// # Errors
/// As [`read`], for the records it reads.
pub fn peek_info(path: &Path) -> Result<RunInfo, Error> {
    let file = File::open(path).map_err(|cause| Error::io(path, cause))?;
    let mut log = Log::new(path, file)?;
    let mut state = State::default();
    for _ in 0..1000 {
        let Some(offset) = log.next_record()? else { break };
        state
            .record(log.record())
            .map_err(|err| Error::damaged(path, Place::Byte(offset), format!("undecodable record: {err}")))?;
        if state.info.id.is_some() {
            break;
        }
    }
    Ok(state.info)
}

/// Reads the block structure and hands out whole records.
struct Log<R> {
    path: std::path::PathBuf,
    reader: BufReader<R>,
    block: Vec<u8>,
    /// Valid bytes in `block` (less than `BLOCK` only for the file's last block).
    block_len: usize,
    /// File offset of `block[0]`.
    block_start: u64,
    pos: usize,
    record: Vec<u8>,
}

impl<R: Read> Log<R> {
    fn new(path: &Path, inner: R) -> Result<Self, Error> {
        let mut log = Log {
            path: path.to_owned(),
            reader: BufReader::with_capacity(1 << 20, inner),
            block: vec![0; BLOCK],
            block_len: 0,
            block_start: 0,
            pos: 0,
            record: Vec::new(),
        };
        log.load_block(0)?;
        let header = &log.block[..log.block_len.min(HEADER)];
        if header.len() < HEADER || &header[..4] != b":W&B" {
            return Err(Error::damaged(path, Place::Byte(0), "not a W&B run log (no `:W&B` header)"));
        }
        let magic = u16::from_le_bytes([header[4], header[5]]);
        if magic != 0xBEE1 {
            return Err(Error::damaged(path, Place::Byte(4), format!("bad magic 0x{magic:04X} (expected 0xBEE1)")));
        }
        if header[6] != 0 {
            return Err(Error::damaged(
                path,
                Place::Byte(6),
                format!("run log version {} (this ocrperf reads version 0)", header[6]),
            ));
        }
        log.pos = HEADER;
        Ok(log)
    }

    fn load_block(&mut self, start: u64) -> Result<(), Error> {
        let mut filled = 0;
        while filled < BLOCK {
            match self.reader.read(&mut self.block[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(cause) => return Err(super::read_error(&self.path, Place::Byte(start + filled as u64), cause)),
            }
        }
        self.block_len = filled;
        self.block_start = start;
        self.pos = 0;
        Ok(())
    }

    /// A fragmented record that starts at `first` and never finishes.
    fn unfinished(&self, first: u64) -> Error {
        Error::damaged(&self.path, Place::Byte(first), "the file ends inside a fragmented record (FIRST without LAST)")
    }

    /// The data of the record [`Log::next_record`] found.
    fn record(&self) -> &[u8] {
        &self.record
    }

    /// Moves to the next whole record; returns its file offset, or `None` at the end.
    fn next_record(&mut self) -> Result<Option<u64>, Error> {
        self.record.clear();
        let mut first_offset = None;
        loop {
            let offset = self.block_start + self.pos as u64;
            let damaged = |message: String| Error::damaged(&self.path, Place::Byte(offset), message);
            let left = self.block_len - self.pos;
            if left < HEADER {
                let last_block = self.block_len < BLOCK;
                if !last_block {
                    self.load_block(self.block_start + BLOCK as u64)?;
                    continue;
                }
                // The file's end: fine between records; padding zeros are fine too.
                if self.block[self.pos..self.block_len].iter().any(|&b| b != 0) {
                    return Err(damaged(format!("truncated record header: {left} of 7 bytes")));
                }
                if let Some(first) = first_offset {
                    return Err(self.unfinished(first));
                }
                return Ok(None);
            }
            let header = &self.block[self.pos..self.pos + HEADER];
            let crc = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
            let len = usize::from(u16::from_le_bytes([header[4], header[5]]));
            let kind = header[6];
            if crc == 0 && len == 0 && kind == 0 {
                // Zero padding (some writers pre-allocate): the rest of the block is empty.
                if self.block_len < BLOCK {
                    if self.block[self.pos..self.block_len].iter().any(|&b| b != 0) {
                        return Err(damaged("data after zero padding".to_owned()));
                    }
                    if let Some(first) = first_offset {
                        return Err(self.unfinished(first));
                    }
                    return Ok(None);
                }
                self.pos = self.block_len;
                continue;
            }
            if HEADER + len > left {
                return Err(if self.block_len < BLOCK {
                    damaged(format!("truncated record: {} of {len} bytes", left - HEADER))
                } else {
                    damaged(format!("record length {len} runs past its 32 KiB block"))
                });
            }
            let data = &self.block[self.pos + HEADER..self.pos + HEADER + len];
            let mut hasher = crc32fast::Hasher::new_with_initial(crc32fast::hash(&[kind]));
            hasher.update(data);
            if hasher.finalize() != crc {
                return Err(damaged("CRC mismatch".to_owned()));
            }
            self.pos += HEADER + len;
            match (kind, first_offset) {
                (1, None) => {
                    self.record.extend_from_slice(data);
                    return Ok(Some(offset));
                }
                (2, None) => {
                    first_offset = Some(offset);
                    self.record.extend_from_slice(data);
                }
                (3, Some(_)) => self.record.extend_from_slice(data),
                (4, Some(first)) => {
                    self.record.extend_from_slice(data);
                    return Ok(Some(first));
                }
                (1 | 2, Some(_)) => return Err(damaged("a new record starts inside a fragmented one".to_owned())),
                (3 | 4, None) => return Err(damaged("a MIDDLE or LAST fragment without its FIRST".to_owned())),
                (other, _) => return Err(damaged(format!("unknown record type {other}"))),
            }
            if self.record.len() > MAX_RECORD {
                return Err(damaged(format!("fragmented record larger than {} MiB", MAX_RECORD >> 20)));
            }
        }
    }
}

/// A series being built from history or stats rows.
#[derive(Debug)]
struct Building {
    name: String,
    hint: Hint,
    /// Its values are durations, which cannot be negative.
    duration: bool,
    points: Vec<Point>,
}

/// What the records said so far.
#[derive(Debug, Default)]
struct State {
    info: RunInfo,
    index: FxHashMap<Box<[u8]>, usize>,
    series: Vec<Building>,
    summary: Vec<(String, f64)>,
    config: Vec<(String, String)>,
    stats_rows: i64,
    exit_code: Option<i64>,
    /// The current item's key, as bytes (names are made into text once per series).
    name_buf: Vec<u8>,
    /// One history or stats row: (series index, value).
    row: Vec<(usize, f64)>,
    /// The first impossible value of the last record (a negative step time), as a message.
    impossible: Option<String>,
}

impl State {
    fn record(&mut self, data: &[u8]) -> Result<(), ProtoError> {
        for field in Fields::new(data) {
            match field? {
                (2, Wire::Bytes(history)) => self.history(history)?,
                (3, Wire::Bytes(summary)) => self.summary(summary)?,
                (5, Wire::Bytes(config)) => self.config(config)?,
                (7, Wire::Bytes(stats)) => self.stats(stats)?,
                (17, Wire::Bytes(run)) => self.run(run)?,
                (18, Wire::Bytes(exit)) => {
                    for field in Fields::new(exit) {
                        if let (1, wire) = field? {
                            self.exit_code = wire.as_i64();
                        }
                    }
                }
                (26, Wire::Bytes(environment)) => self.environment(environment)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// `HistoryItem` or `SummaryItem` or `ConfigItem`: the key (`key`, or `nested_key` parts
    /// joined with `.`) into `name_buf`, and the value: a number when it has one, and the raw
    /// JSON text.
    fn item<'a>(&mut self, item: &'a [u8]) -> Result<(Option<f64>, Option<&'a [u8]>), ProtoError> {
        self.name_buf.clear();
        let (mut number, mut json) = (None, None);
        for field in Fields::new(item) {
            match field? {
                (1, Wire::Bytes(key)) if !key.is_empty() => {
                    self.name_buf.clear();
                    self.name_buf.extend_from_slice(key);
                }
                (2, Wire::Bytes(part)) => {
                    if !self.name_buf.is_empty() {
                        self.name_buf.push(b'.');
                    }
                    self.name_buf.extend_from_slice(part);
                }
                (5, wire) => number = wire.as_sint64().map(|v| v as f64),
                (6, wire) => number = wire.as_f64(),
                (16, Wire::Bytes(text)) => json = Some(text),
                _ => {}
            }
        }
        // NaN and infinities are kept as logged; the summary leaves them out and says so.
        let number = number.or_else(|| json.and_then(parse_json_number));
        Ok((number, json))
    }

    fn history(&mut self, history: &[u8]) -> Result<(), ProtoError> {
        let mut step = None;
        let mut wall_time = f64::NAN;
        let mut row = std::mem::take(&mut self.row);
        row.clear();
        for field in Fields::new(history) {
            match field? {
                (1, Wire::Bytes(item)) => {
                    let (number, _) = self.item(item)?;
                    let Some(value) = number else { continue };
                    match self.name_buf.as_slice() {
                        b"_step" => step = step.or(Some(value as i64)),
                        b"_timestamp" => wall_time = value,
                        name if name.starts_with(b"_") => {}
                        _ => {
                            let index = self.series_index(Hint::default());
                            row.push((index, value));
                        }
                    }
                }
                (2, Wire::Bytes(history_step)) => {
                    // HistoryStep.num; absent (0) for step 0.
                    let mut num = 0;
                    for inner in Fields::new(history_step) {
                        if let (1, wire) = inner? {
                            num = wire.as_i64().unwrap_or(0);
                        }
                    }
                    step = Some(num);
                }
                _ => {}
            }
        }
        let step = step.unwrap_or(0);
        for &(index, value) in &row {
            let series = &mut self.series[index];
            if value < 0.0 && series.duration && self.impossible.is_none() {
                self.impossible = Some(format!("step {step}: {}", super::negative_duration(&series.name, value)));
            }
            series.points.push(Point { step, wall_time, value });
        }
        self.row = row;
        Ok(())
    }

    /// The current key as text.
    fn name(&self) -> String {
        String::from_utf8_lossy(&self.name_buf).into_owned()
    }

    fn series_index(&mut self, hint: Hint) -> usize {
        if let Some(&index) = self.index.get(self.name_buf.as_slice()) {
            return index;
        }
        let index = self.series.len();
        let name = String::from_utf8_lossy(&self.name_buf).into_owned();
        let duration = super::is_duration(&name, hint);
        self.series.push(Building { name, hint, duration, points: Vec::new() });
        self.index.insert(self.name_buf.as_slice().into(), index);
        index
    }

    fn summary(&mut self, summary: &[u8]) -> Result<(), ProtoError> {
        for field in Fields::new(summary) {
            match field? {
                (1, Wire::Bytes(item)) => {
                    let (number, _) = self.item(item)?;
                    if let Some(value) = number
                        && !self.name_buf.starts_with(b"_")
                    {
                        let name = self.name();
                        self.summary.retain(|(key, _)| *key != name);
                        self.summary.push((name, value));
                    }
                }
                (2, Wire::Bytes(item)) => {
                    self.item(item)?;
                    let name = self.name();
                    self.summary.retain(|(key, _)| *key != name);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn config(&mut self, config: &[u8]) -> Result<(), ProtoError> {
        for field in Fields::new(config) {
            if let (1, Wire::Bytes(item)) = field? {
                let (_, json) = self.item(item)?;
                if let Some(json) = json
                    && !self.name_buf.starts_with(b"_")
                {
                    let value = String::from_utf8_lossy(json);
                    let value = value.trim_matches('"').to_owned();
                    let name = self.name();
                    self.config.retain(|(key, _)| *key != name);
                    self.config.push((name, value));
                }
            }
        }
        Ok(())
    }

    fn stats(&mut self, stats: &[u8]) -> Result<(), ProtoError> {
        let mut wall_time = f64::NAN;
        let mut row = Vec::new();
        for field in Fields::new(stats) {
            match field? {
                (2, Wire::Bytes(timestamp)) => wall_time = protobuf_timestamp(timestamp)?,
                (3, Wire::Bytes(item)) => {
                    let (number, _) = self.item(item)?;
                    if let Some(value) = number {
                        let key = self.name();
                        self.name_buf.clear();
                        self.name_buf.extend_from_slice(b"system/");
                        self.name_buf.extend_from_slice(key.as_bytes());
                        let index = self.series_index(system_hint(&key));
                        row.push((index, value));
                    }
                }
                _ => {}
            }
        }
        let step = self.stats_rows;
        self.stats_rows += 1;
        for (index, value) in row {
            self.series[index].points.push(Point { step, wall_time, value });
        }
        Ok(())
    }

    fn run(&mut self, run: &[u8]) -> Result<(), ProtoError> {
        for field in Fields::new(run) {
            match field? {
                (1, wire) => self.info.id = wire.as_str().map(|s| s.into_owned()).filter(|s| !s.is_empty()),
                (4, Wire::Bytes(config)) => self.config(config)?,
                (8, wire) => self.info.name = wire.as_str().map(|s| s.into_owned()).filter(|s| !s.is_empty()),
                (13, wire) => {
                    self.info.host = self.info.host.take().or_else(|| wire.as_str().map(|s| s.into_owned()));
                }
                (17, Wire::Bytes(timestamp)) => {
                    self.info.started_at = Timestamp::from_unix_seconds(protobuf_timestamp(timestamp)?);
                }
                (21, Wire::Bytes(git)) => self.git(git)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn git(&mut self, git: &[u8]) -> Result<(), ProtoError> {
        for field in Fields::new(git) {
            if let (2, wire) = field?
                && let Some(commit) = wire.as_str().filter(|c| !c.is_empty())
            {
                self.info.git_commit = Some(commit.into_owned());
            }
        }
        Ok(())
    }

    fn environment(&mut self, environment: &[u8]) -> Result<(), ProtoError> {
        let (mut gpu_type, mut gpu_count, mut gpus) = (None, 0, Vec::new());
        for field in Fields::new(environment) {
            match field? {
                (9, Wire::Bytes(git)) => self.git(git)?,
                (12, wire) => {
                    if let Some(host) = wire.as_str().filter(|h| !h.is_empty()) {
                        self.info.host = Some(host.into_owned());
                    }
                }
                (18, wire) => gpu_type = wire.as_str().map(|s| s.into_owned()).filter(|s| !s.is_empty()),
                (19, wire) => gpu_count = wire.as_i64().unwrap_or(0),
                (22, Wire::Bytes(cpu)) => {
                    for inner in Fields::new(cpu) {
                        if let (3, wire) = inner?
                            && let Some(model) = wire.as_str().filter(|m| !m.is_empty())
                        {
                            self.info.cpu_model = Some(model.into_owned());
                        }
                    }
                }
                (24, Wire::Bytes(gpu)) => {
                    for inner in Fields::new(gpu) {
                        if let (1, wire) = inner?
                            && let Some(name) = wire.as_str()
                        {
                            gpus.push(name.into_owned());
                        }
                    }
                }
                _ => {}
            }
        }
        if gpus.is_empty()
            && let Some(gpu_type) = gpu_type
        {
            gpus = vec![gpu_type; usize::try_from(gpu_count.clamp(1, 1024)).unwrap_or(1)];
        }
        if !gpus.is_empty() {
            self.info.gpus = gpus;
        }
        Ok(())
    }

    fn finish(self, path: &Path, run: &mut RunMetrics) {
        let source = path.display().to_string();
        let has_series: std::collections::HashSet<&str> = self.series.iter().map(|s| s.name.as_str()).collect();
        for (name, value) in &self.summary {
            if !has_series.contains(name.as_str()) {
                run.set_scalar(name, *value, Hint::default(), &source);
            }
        }
        for building in self.series {
            if building.points.is_empty() {
                continue;
            }
            match run.series.get_mut(&building.name) {
                Some(series) => series.points.extend(building.points),
                None => {
                    let series = Series { points: building.points, hint: building.hint, source: source.clone() };
                    run.series.insert(building.name, series);
                }
            }
        }
        for (key, value) in self.config {
            run.config.entry(key).or_insert(value);
        }
        if let Some(code) = self.exit_code.filter(|&code| code != 0) {
            run.notes.push(format!("{}: the W&B run exited with code {code}", path.display()));
        }
        let info = self.info;
        let into = &mut run.info;
        into.name = into.name.take().or(info.name);
        into.id = into.id.take().or(info.id);
        into.started_at = into.started_at.or(info.started_at);
        into.host = into.host.take().or(info.host);
        into.cpu_model = into.cpu_model.take().or(info.cpu_model);
        into.git_commit = into.git_commit.take().or(info.git_commit);
        if into.gpus.is_empty() {
            into.gpus = info.gpus;
        }
        if into.tool.is_empty() {
            "wandb".clone_into(&mut into.tool);
        }
    }
}

/// System metrics have units wandb documents; none is gated by default, GPU utilisation feeds
/// the baseline's bottleneck section.
fn system_hint(key: &str) -> Hint {
    let unit = if key.ends_with(".gpu") || key.ends_with("Percent") || key.ends_with("_percent") || key == "cpu" {
        Unit::Percent
    } else {
        Unit::Number
    };
    Hint::known(unit, Direction::Info)
}

/// `google.protobuf.Timestamp` as Unix seconds.
fn protobuf_timestamp(timestamp: &[u8]) -> Result<f64, ProtoError> {
    let (mut seconds, mut nanos) = (0i64, 0i64);
    for field in Fields::new(timestamp) {
        match field? {
            (1, wire) => seconds = wire.as_i64().unwrap_or(0),
            (2, wire) => nanos = wire.as_i64().unwrap_or(0),
            _ => {}
        }
    }
    Ok(seconds as f64 + nanos as f64 * 1e-9)
}

/// A JSON number (`1`, `0.5`, `1.7e9`); anything else (strings, objects, `true`) is `None`.
/// `NaN` and `Infinity`, which Python's `json` writes, come out as non-finite and are dropped
/// by the caller.
fn parse_json_number(text: &[u8]) -> Option<f64> {
    let text = text.trim_ascii();
    // A JSON number starts with a digit or a minus; Python's NaN and Infinity are letters.
    match text.first() {
        Some(b'0'..=b'9' | b'-' | b'N' | b'I') => std::str::from_utf8(text).ok()?.parse().ok(),
        _ => None,
    }
}

/// The largest `wandb-metadata.json` read (a few kilobytes in practice).
const MAX_METADATA: u64 = 16 << 20;

/// Older SDKs write the machine's description beside the log. Only a regular file is read: a
/// FIFO there would block the read for ever, so it is skipped with a warning.
fn fill_from_metadata_file(path: &Path, run: &mut RunMetrics) {
    let Ok(metadata) = std::fs::symlink_metadata(path) else { return };
    if let Some(what) = super::special_kind(metadata.file_type()) {
        run.warnings.push(super::skipped_special(path, what));
        return;
    }
    if !metadata.is_file() {
        return;
    }
    let info = &mut run.info;
    let Ok(text) = super::read_text(path, MAX_METADATA, &ReadOptions::default()) else { return };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else { return };
    let text_field = |key: &str| value.get(key).and_then(serde_json::Value::as_str).map(str::to_owned);
    if info.host.is_none() {
        info.host = text_field("host");
    }
    if info.cpu_model.is_none() {
        info.cpu_model = text_field("cpu");
    }
    if info.gpus.is_empty()
        && let Some(gpu) = text_field("gpu")
    {
        let count = value.get("gpu_count").and_then(serde_json::Value::as_u64).unwrap_or(1).clamp(1, 1024);
        info.gpus = vec![gpu; count as usize];
    }
    if info.git_commit.is_none() {
        info.git_commit =
            value.get("git").and_then(|git| git.get("commit")).and_then(|c| c.as_str()).map(str::to_owned);
    }
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
pub(crate) mod tests {
    use super::*;
    use crate::sources::proto::tests::Encoder;

    /// Frames records as wandb's writer does, splitting across 32 KiB blocks.
    pub(crate) fn write_log(records: &[Vec<u8>]) -> Vec<u8> {
        let mut out = b":W&B".to_vec();
        out.extend_from_slice(&0xBEE1u16.to_le_bytes());
        out.push(0);
        for data in records {
            let mut rest = &data[..];
            let mut first = true;
            loop {
                let left = BLOCK - out.len() % BLOCK;
                if left < HEADER {
                    out.resize(out.len() + left, 0);
                    continue;
                }
                let room = left - HEADER;
                let (chunk, last) = if rest.len() <= room { (rest, true) } else { (&rest[..room], false) };
                let kind: u8 = match (first, last) {
                    (true, true) => 1,
                    (true, false) => 2,
                    (false, false) => 3,
                    (false, true) => 4,
                };
                let mut hasher = crc32fast::Hasher::new_with_initial(crc32fast::hash(&[kind]));
                hasher.update(chunk);
                out.extend_from_slice(&hasher.finalize().to_le_bytes());
                out.extend_from_slice(&(chunk.len() as u16).to_le_bytes());
                out.push(kind);
                out.extend_from_slice(chunk);
                rest = &rest[chunk.len()..];
                first = false;
                if last {
                    break;
                }
            }
        }
        out
    }

    fn item(key: &str, json: &str) -> Encoder {
        Encoder::default().bytes(2, key.as_bytes()).bytes(16, json.as_bytes())
    }

    pub(crate) fn history(step: u64, items: &[(&str, &str)]) -> Vec<u8> {
        let mut history = Encoder::default();
        for (key, json) in items {
            history = history.message(1, item(key, json));
        }
        if step > 0 {
            history = history.message(2, Encoder::default().uint(1, step));
        }
        Encoder::default().message(2, history).0
    }

    fn read_bytes(bytes: &[u8]) -> Result<RunMetrics, Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run-abc123.wandb");
        std::fs::write(&path, bytes).unwrap();
        let mut run = RunMetrics::default();
        read(&path, &ReadOptions::default(), &mut run).map(|()| run)
    }

    #[test]
    fn reads_history_summary_config_and_metadata() {
        let run_record = Encoder::default()
            .bytes(1, b"abc123")
            .bytes(8, b"baseline")
            .bytes(13, b"trainer-01")
            .message(17, Encoder::default().uint(1, 1_700_000_000))
            .message(4, Encoder::default().message(1, item("lr", "0.001")));
        let environment = Encoder::default()
            .message(24, Encoder::default().bytes(1, b"NVIDIA H100 80GB HBM3"))
            .message(22, Encoder::default().bytes(3, b"AMD EPYC 9654"));
        let mut records =
            vec![Encoder::default().message(17, run_record).0, Encoder::default().message(26, environment).0];
        for step in 0..3u64 {
            let value = (100 + step).to_string();
            records.push(history(
                step,
                &[
                    ("perf/samples_per_sec", &value),
                    ("_step", &step.to_string()),
                    ("_timestamp", "1700000001.5"),
                    ("label", "\"text\""),
                    ("bad", "NaN"),
                ],
            ));
        }
        // Typed values (integer is sint64) and an old-style `key`.
        let typed = Encoder::default()
            .message(1, Encoder::default().bytes(1, b"typed").uint(5, 7)) // zigzag 7 = -4
            .message(2, Encoder::default().uint(1, 3));
        records.push(Encoder::default().message(2, typed).0);
        let summary = Encoder::default().message(1, item("best_hmean", "0.81")).message(1, item("gone", "1"));
        records.push(Encoder::default().message(3, summary).0);
        records.push(Encoder::default().message(3, Encoder::default().message(2, item("gone", ""))).0);
        let stats = Encoder::default()
            .message(2, Encoder::default().uint(1, 1_700_000_002))
            .message(3, Encoder::default().bytes(1, b"gpu.0.gpu").bytes(16, b"97.5"));
        records.push(Encoder::default().message(7, stats).0);

        let run = read_bytes(&write_log(&records)).unwrap();
        assert_eq!(run.series["perf/samples_per_sec"].values(), [100.0, 101.0, 102.0]);
        let steps: Vec<i64> = run.series["perf/samples_per_sec"].points.iter().map(|p| p.step).collect();
        assert_eq!(steps, [0, 1, 2]);
        assert_eq!(run.series["perf/samples_per_sec"].points[0].wall_time, 1_700_000_001.5);
        assert_eq!(run.series["typed"].points[0].value, -4.0);
        assert_eq!(run.series["typed"].points[0].step, 3);
        assert!(!run.series.contains_key("label"));
        assert!(run.series["bad"].values().iter().all(|v| v.is_nan()), "logged NaNs are kept for the summary");
        assert_eq!(run.series["system/gpu.0.gpu"].values(), [97.5]);
        assert_eq!(run.series["system/gpu.0.gpu"].hint.better, Some(Direction::Info));
        assert_eq!(run.scalars["best_hmean"].value, 0.81);
        assert!(!run.scalars.contains_key("gone"));
        assert_eq!(run.config["lr"], "0.001");
        assert_eq!(run.info.name.as_deref(), Some("baseline"));
        assert_eq!(run.info.id.as_deref(), Some("abc123"));
        assert_eq!(run.info.host.as_deref(), Some("trainer-01"));
        assert_eq!(run.info.gpus, ["NVIDIA H100 80GB HBM3"]);
        assert_eq!(run.info.cpu_model.as_deref(), Some("AMD EPYC 9654"));
        assert_eq!(run.info.started_at.unwrap().unix_millis(), 1_700_000_000_000);
    }

    #[test]
    fn records_split_across_blocks_are_reassembled() {
        let long_value = format!("0.{}", "1".repeat(80_000));
        let records = vec![history(0, &[("a", "1")]), history(1, &[("big", &long_value)]), history(2, &[("a", "3")])];
        let bytes = write_log(&records);
        assert!(bytes.len() > 2 * BLOCK);
        let run = read_bytes(&bytes).unwrap();
        assert_eq!(run.series["a"].values(), [1.0, 3.0]);
        assert_eq!(run.series["big"].values().len(), 1);
    }

    #[test]
    fn damage_names_the_record_offset() {
        let records: Vec<_> = (0..3).map(|step| history(step, &[("a", "1")])).collect();
        let bytes = write_log(&records);
        let second = 7 + HEADER + records[0].len();

        let mut flipped = bytes.clone();
        flipped[second + HEADER + 2] ^= 0x40;
        let err = read_bytes(&flipped).unwrap_err().to_string();
        assert!(err.ends_with(&format!("run-abc123.wandb: byte {second}: CRC mismatch")), "{err}");

        let err = read_bytes(&bytes[..bytes.len() - 2]).unwrap_err().to_string();
        assert!(err.contains("truncated record:"), "{err}");
        let err = read_bytes(&bytes[..second + 3]).unwrap_err().to_string();
        assert!(err.contains(&format!("byte {second}: truncated record header: 3 of 7 bytes")), "{err}");

        let mut version = bytes.clone();
        version[6] = 1;
        assert!(read_bytes(&version).unwrap_err().to_string().contains("run log version 1"));
        assert!(read_bytes(b"{}").unwrap_err().to_string().contains("no `:W&B` header"));

        // A fragmented record cut after its FIRST part.
        let big = write_log(&[history(0, &[("big", &"1".repeat(40_000))])]);
        let err = read_bytes(&big[..BLOCK]).unwrap_err().to_string();
        assert!(err.contains("byte 7: the file ends inside a fragmented record"), "{err}");
    }

    #[test]
    fn a_negative_step_time_is_refused_at_its_record() {
        let first = write_log(&[history(0, &[("perf/step_time_ms", "10.5")])]);
        let bytes =
            write_log(&[history(0, &[("perf/step_time_ms", "10.5")]), history(1, &[("perf/step_time_ms", "-3")])]);
        let err = read_bytes(&bytes).unwrap_err().to_string();
        assert!(
            err.ends_with(&format!(
                ": byte {}: step 1: `perf/step_time_ms` is -3, a negative duration; step times and durations cannot \
                 be below 0",
                first.len()
            )),
            "{err}"
        );
        let loss = write_log(&[history(0, &[("train/loss", "-0.5")])]);
        assert_eq!(read_bytes(&loss).unwrap().series["train/loss"].values(), [-0.5]);
    }

    #[test]
    fn zero_padding_ends_a_block_and_the_file() {
        let mut bytes = write_log(&[history(0, &[("a", "1")])]);
        bytes.resize(bytes.len() + 100, 0);
        assert_eq!(read_bytes(&bytes).unwrap().series["a"].values(), [1.0]);
    }

    #[test]
    fn json_numbers() {
        assert_eq!(parse_json_number(b"1.5e3"), Some(1500.0));
        assert_eq!(parse_json_number(b"\"1\""), None);
        assert_eq!(parse_json_number(b"true"), None);
        assert!(parse_json_number(b"NaN").unwrap().is_nan());
    }
}
