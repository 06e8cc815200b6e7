//! TensorBoard event files (`events.out.tfevents.*`).
//!
//! The framing is TFRecord: per record a little-endian `u64` length, the masked CRC-32C of those
//! 8 bytes, the data, and the masked CRC-32C of the data. Both checksums are verified. Each
//! record is a `tensorflow.Event`: `wall_time` (1, double), `step` (2, int64) and `summary` (5),
//! whose `value`s (1) carry a `tag` (1) and either a `simple_value` (2, float: tensorboardX,
//! TF1, PyTorch's default) or a `tensor` (8) with `metadata` (9) naming the `scalars` plugin
//! (TF2, PyTorch with `new_style=True`). TF2 writes the metadata only with a tag's first
//! value, so the plugin is remembered per tag. Other plugins (histograms, images, text) are
//! skipped.

use std::{
    fs::File,
    io::{BufReader, Read},
    path::Path,
};

use rustc_hash::FxHashMap;

use super::{
    Meter, ReadOptions,
    proto::{Fields, ProtoError, Wire, first_packed},
};
use crate::{Error, Hint, Place, Point, RunMetrics, SourceFile};

/// A larger record is damage, not data: TensorBoard scalars are tens of bytes, and even image
/// summaries stay far below this.
const MAX_RECORD: u64 = 256 << 20;

/// Reads one event file into `run`: every scalar tag becomes a series.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read, [`Error::Damaged`] with the byte offset of the
/// record for a CRC mismatch, a truncated record or an undecodable event.
pub fn read(path: &Path, options: &ReadOptions<'_>, run: &mut RunMetrics) -> Result<(), Error> {
    let file = File::open(path).map_err(|cause| Error::io(path, cause))?;
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    run.files.push(SourceFile { path: path.display().to_string(), format: "tensorboard", bytes });
    if run.info.host.is_none() {
        run.info.host = host_from_file_name(path);
    }
    let mut reader = BufReader::with_capacity(1 << 20, Meter::new(file, options));
    let mut scalars = Scalars::default();
    let result = read_records(path, &mut reader, &mut scalars);
    let source = path.display().to_string();
    if run.info.started_at.is_none() && scalars.first_wall_time.is_finite() {
        run.info.started_at = metrics_schema::Timestamp::from_unix_seconds(scalars.first_wall_time);
    }
    for (name, points) in scalars.finish() {
        match run.series.get_mut(&name) {
            // A later file of the same run continues the tag (TensorBoard starts a new file per
            // restart).
            Some(series) => series.points.extend(points),
            None => {
                run.series.insert(name, crate::Series { points, hint: Hint::default(), source: source.clone() });
            }
        }
    }
    result
}

fn read_records(path: &Path, reader: &mut impl Read, scalars: &mut Scalars) -> Result<(), Error> {
    let mut offset = 0u64;
    let mut header = [0u8; 12];
    let mut data = Vec::new();
    loop {
        let got =
            read_full(reader, &mut header).map_err(|cause| super::read_error(path, Place::Byte(offset), cause))?;
        if got == 0 {
            return Ok(());
        }
        let damaged = |message: String| Error::damaged(path, Place::Byte(offset), message);
        if got < header.len() {
            return Err(damaged(format!("truncated record header: {got} of 12 bytes")));
        }
        let len_bytes: [u8; 8] = header[..8].try_into().unwrap_or_default();
        let len = u64::from_le_bytes(len_bytes);
        let stored = u32::from_le_bytes(header[8..12].try_into().unwrap_or_default());
        if masked_crc32c(&len_bytes) != stored {
            return Err(damaged("CRC mismatch in the record's length".to_owned()));
        }
        if len > MAX_RECORD {
            return Err(damaged(format!("record of {len} bytes is larger than any TensorBoard event")));
        }
        let len = len as usize;
        // Grown as bytes arrive, not to the length the header claims: a short file claiming a
        // huge record costs its own size, not the claim's.
        data.clear();
        let got = (&mut *reader)
            .take(len as u64 + 4)
            .read_to_end(&mut data)
            .map_err(|cause| super::read_error(path, Place::Byte(offset), cause))?;
        if got < len + 4 {
            return Err(damaged(format!("truncated record: {got} of {} bytes", len + 4)));
        }
        let stored = u32::from_le_bytes(data[len..].try_into().unwrap_or_default());
        if masked_crc32c(&data[..len]) != stored {
            return Err(damaged("CRC mismatch in the record's data".to_owned()));
        }
        scalars.event(&data[..len]).map_err(damaged)?;
        offset += 16 + len as u64;
    }
}

/// Reads until `buf` is full or the file ends; returns how many bytes were read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

/// TFRecord's checksum: CRC-32C, rotated right by 15 bits plus a constant, so that a CRC of
/// data that itself contains CRCs does not degenerate.
pub(crate) fn masked_crc32c(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// What a tag's metadata said it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plugin {
    /// No metadata seen yet.
    Unknown,
    /// The `scalars` plugin.
    Scalars,
    /// Another plugin: skipped.
    Other,
}

/// The series being built, by tag (interned: millions of events share a few tags).
#[derive(Debug)]
struct Scalars {
    index: FxHashMap<Box<[u8]>, usize>,
    tags: Vec<Tag>,
    first_wall_time: f64,
}

/// One tag's series: what its metadata said, its name, whether its values are durations (which
/// cannot be negative), and its points.
#[derive(Debug)]
struct Tag {
    plugin: Plugin,
    name: String,
    duration: bool,
    points: Vec<Point>,
}

impl Default for Scalars {
    fn default() -> Self {
        Scalars { index: FxHashMap::default(), tags: Vec::new(), first_wall_time: f64::NAN }
    }
}

impl Scalars {
    fn finish(self) -> impl Iterator<Item = (String, Vec<Point>)> {
        self.tags.into_iter().filter(|tag| !tag.points.is_empty()).map(|tag| (tag.name, tag.points))
    }

    fn tag(&mut self, tag: &[u8]) -> usize {
        if let Some(&index) = self.index.get(tag) {
            return index;
        }
        let index = self.tags.len();
        let name = String::from_utf8_lossy(tag).into_owned();
        let duration = super::is_duration(&name, Hint::default());
        self.tags.push(Tag { plugin: Plugin::Unknown, name, duration, points: Vec::new() });
        self.index.insert(tag.into(), index);
        index
    }

    /// One `Event`; the error is the damage message (an undecodable event, a negative duration).
    fn event(&mut self, data: &[u8]) -> Result<(), String> {
        self.decode_event(data).map_err(|err| match err {
            EventError::Proto(err) => format!("undecodable event: {err}"),
            EventError::Value(message) => message,
        })
    }

    fn decode_event(&mut self, data: &[u8]) -> Result<(), EventError> {
        let (mut wall_time, mut step, mut summary) = (f64::NAN, 0i64, None);
        for field in Fields::new(data) {
            match field? {
                (1, wire) => wall_time = wire.as_f64().unwrap_or(f64::NAN),
                (2, wire) => step = wire.as_i64().unwrap_or(0),
                (5, Wire::Bytes(bytes)) => summary = Some(bytes),
                _ => {}
            }
        }
        if self.first_wall_time.is_nan() {
            self.first_wall_time = wall_time;
        }
        let Some(summary) = summary else { return Ok(()) };
        for field in Fields::new(summary) {
            if let (1, Wire::Bytes(value)) = field? {
                self.value(value, step, wall_time)?;
            }
        }
        Ok(())
    }

    fn value(&mut self, value: &[u8], step: i64, wall_time: f64) -> Result<(), EventError> {
        let (mut tag, mut simple, mut tensor, mut plugin) = (None, None, None, None);
        for field in Fields::new(value) {
            match field? {
                (1, Wire::Bytes(bytes)) => tag = Some(bytes),
                (2, wire) => simple = wire.as_f32(),
                (8, Wire::Bytes(bytes)) => tensor = Some(bytes),
                (9, Wire::Bytes(metadata)) => plugin = plugin_name(metadata)?,
                _ => {}
            }
        }
        let Some(tag) = tag else { return Ok(()) };
        let index = self.tag(tag);
        let entry = &mut self.tags[index];
        if let Some(name) = plugin {
            entry.plugin = if name == b"scalars" { Plugin::Scalars } else { Plugin::Other };
        }
        let value = match (simple, tensor) {
            (Some(value), _) => Some(f64::from(value)),
            (None, Some(tensor)) if entry.plugin == Plugin::Scalars => tensor_scalar(tensor)?,
            _ => None,
        };
        if let Some(value) = value {
            if value < 0.0 && entry.duration {
                let message = format!("step {step}: {}", super::negative_duration(&entry.name, value));
                return Err(EventError::Value(message));
            }
            entry.points.push(Point { step, wall_time, value });
        }
        Ok(())
    }
}

/// Why an event could not be taken.
#[derive(Debug)]
enum EventError {
    /// Its protobuf is damaged.
    Proto(ProtoError),
    /// A value is impossible.
    Value(String),
}

impl From<ProtoError> for EventError {
    fn from(err: ProtoError) -> Self {
        EventError::Proto(err)
    }
}

/// `SummaryMetadata.plugin_data (1).plugin_name (1)`.
fn plugin_name(metadata: &[u8]) -> Result<Option<&[u8]>, ProtoError> {
    for field in Fields::new(metadata) {
        if let (1, Wire::Bytes(plugin_data)) = field? {
            for inner in Fields::new(plugin_data) {
                if let (1, Wire::Bytes(name)) = inner? {
                    return Ok(Some(name));
                }
            }
        }
    }
    Ok(None)
}

// `tensorflow.DataType` values of the numeric types a scalar summary can hold.
const DT_FLOAT: i64 = 1;
const DT_DOUBLE: i64 = 2;
const DT_INT32: i64 = 3;
const DT_UINT8: i64 = 4;
const DT_INT16: i64 = 5;
const DT_INT8: i64 = 6;
const DT_INT64: i64 = 9;
const DT_BOOL: i64 = 10;
const DT_BFLOAT16: i64 = 14;
const DT_HALF: i64 = 19;

/// The value of a `TensorProto` holding one element; `None` for anything else (a tensor with
/// more than one element, strings).
fn tensor_scalar(tensor: &[u8]) -> Result<Option<f64>, ProtoError> {
    let mut dtype = 0;
    let mut content: Option<&[u8]> = None;
    let mut first: [Option<Wire<'_>>; 7] = [None; 7];
    for field in Fields::new(tensor) {
        let (number, wire) = field?;
        match number {
            1 => dtype = wire.as_i64().unwrap_or(0),
            2 if !single_element_shape(wire.as_bytes().unwrap_or_default())? => return Ok(None),
            4 => content = wire.as_bytes(),
            // float_val, double_val, int_val, int64_val, bool_val, half_val: keep the first.
            5 | 6 | 7 | 10 | 11 | 13 => {
                let slot = match number {
                    5 => 0,
                    6 => 1,
                    7 => 2,
                    10 => 3,
                    11 => 4,
                    _ => 5,
                };
                if first[slot].is_none() {
                    first[slot] = Some(wire);
                }
            }
            _ => {}
        }
    }
    let from_content = |width: usize| content.and_then(|bytes| bytes.get(..width));
    let value = match dtype {
        DT_FLOAT => from_content(4)
            .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .or_else(|| first[0].and_then(|w| first_packed(w, 4)).and_then(Wire::as_f32).map(f64::from)),
        DT_DOUBLE => from_content(8)
            .and_then(|b| b.try_into().ok().map(f64::from_le_bytes))
            .or_else(|| first[1].and_then(|w| first_packed(w, 8)).and_then(Wire::as_f64)),
        DT_INT32 | DT_INT16 | DT_INT8 | DT_UINT8 => {
            let width = match dtype {
                DT_INT32 => 4,
                DT_INT16 => 2,
                _ => 1,
            };
            from_content(width)
                .map(|b| match (dtype, width) {
                    (DT_UINT8, _) => f64::from(b[0]),
                    (_, 1) => f64::from(b[0] as i8),
                    (_, 2) => f64::from(i16::from_le_bytes([b[0], b[1]])),
                    _ => f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                })
                .or_else(|| first[2].and_then(|w| first_packed(w, 0)).and_then(Wire::as_i64).map(|v| v as i32 as f64))
        }
        DT_INT64 => from_content(8)
            .and_then(|b| b.try_into().ok().map(|b| i64::from_le_bytes(b) as f64))
            .or_else(|| first[3].and_then(|w| first_packed(w, 0)).and_then(Wire::as_i64).map(|v| v as f64)),
        DT_BOOL => from_content(1).map(|b| f64::from(u8::from(b[0] != 0))).or_else(|| {
            first[4].and_then(|w| first_packed(w, 0)).and_then(Wire::as_i64).map(|v| f64::from(u8::from(v != 0)))
        }),
        DT_HALF | DT_BFLOAT16 => {
            let bits = from_content(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .or_else(|| first[5].and_then(|w| first_packed(w, 0)).and_then(Wire::as_i64).map(|v| v as u16));
            bits.map(
                |bits| {
                    if dtype == DT_HALF { f16_to_f64(bits) } else { f64::from(f32::from_bits(u32::from(bits) << 16)) }
                },
            )
        }
        _ => None,
    };
    Ok(value)
}

/// `TensorShapeProto`: scalar when every `dim` (2) has `size` (1) of at most 1.
fn single_element_shape(shape: &[u8]) -> Result<bool, ProtoError> {
    for field in Fields::new(shape) {
        if let (2, Wire::Bytes(dim)) = field? {
            for inner in Fields::new(dim) {
                if let (1, wire) = inner?
                    && wire.as_i64().is_some_and(|size| size > 1)
                {
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

/// IEEE 754 half precision to double.
fn f16_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let fraction = f64::from(bits & 0x3ff);
    match exponent {
        0 => sign * fraction * 2f64.powi(-24),
        31 if fraction == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        _ => sign * (1.0 + fraction / 1024.0) * 2f64.powi(exponent - 15),
    }
}

/// `events.out.tfevents.<unix time>.<hostname>[.<pid>.<n>][.v2]`: the host between the time
/// and the trailing numbers (host names may contain dots).
fn host_from_file_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let rest = name.strip_prefix("events.out.tfevents.")?;
    let mut parts: Vec<&str> = rest.split('.').collect();
    if parts.last().is_some_and(|last| last.starts_with('v') && last[1..].bytes().all(|b| b.is_ascii_digit())) {
        parts.pop();
    }
    if parts.first().is_some_and(|time| time.bytes().all(|b| b.is_ascii_digit())) {
        parts.remove(0);
    }
    for _ in 0..2 {
        if parts.len() > 1
            && parts.last().is_some_and(|tail| !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()))
        {
            parts.pop();
        }
    }
    let host = parts.join(".");
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
pub(crate) mod tests {
    use super::*;
    use crate::sources::proto::tests::Encoder;

    /// One TFRecord-framed record.
    pub(crate) fn frame(data: &[u8]) -> Vec<u8> {
        let len = (data.len() as u64).to_le_bytes();
        let mut out = len.to_vec();
        out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
        out
    }

    pub(crate) fn simple_event(step: u64, tag: &str, value: f32) -> Vec<u8> {
        let summary_value = Encoder::default().bytes(1, tag.as_bytes()).float(2, value);
        let summary = Encoder::default().message(1, summary_value);
        Encoder::default().double(1, 1.7e9 + step as f64).uint(2, step).message(5, summary).0
    }

    fn tensor_event(step: u64, tag: &str, tensor: Encoder, with_metadata: bool) -> Vec<u8> {
        let mut summary_value = Encoder::default().bytes(1, tag.as_bytes()).message(8, tensor);
        if with_metadata {
            let plugin = Encoder::default().bytes(1, b"scalars");
            summary_value = summary_value.message(9, Encoder::default().message(1, plugin));
        }
        let summary = Encoder::default().message(1, summary_value);
        Encoder::default().double(1, 1.7e9).uint(2, step).message(5, summary).0
    }

    fn read_bytes(bytes: &[u8]) -> Result<RunMetrics, Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.out.tfevents.1700000000.trainer-01.lan.4242.0");
        std::fs::write(&path, bytes).unwrap();
        let mut run = RunMetrics::default();
        read(&path, &ReadOptions::default(), &mut run).map(|()| run)
    }

    #[test]
    fn reads_simple_values_and_every_tensor_layout() {
        let mut file = frame(&Encoder::default().double(1, 1.7e9).bytes(3, b"brain.Event:2").0);
        file.extend(frame(&simple_event(0, "loss", 0.5)));
        file.extend(frame(&simple_event(1, "loss", 0.25)));
        // TF2: tensor_content, metadata only with the first value.
        let tf2 = |v: f32| Encoder::default().uint(1, DT_FLOAT as u64).bytes(2, &[]).bytes(4, &v.to_le_bytes());
        file.extend(frame(&tensor_event(0, "tf2", tf2(1.5), true)));
        file.extend(frame(&tensor_event(1, "tf2", tf2(2.5), false)));
        // PyTorch new_style: float_val, packed.
        let torch = Encoder::default().uint(1, DT_FLOAT as u64).bytes(5, &3.5f32.to_le_bytes());
        file.extend(frame(&tensor_event(0, "torch", torch, true)));
        let double = Encoder::default().uint(1, DT_DOUBLE as u64).bytes(4, &4.5f64.to_le_bytes());
        file.extend(frame(&tensor_event(0, "double", double, true)));
        let int64 = Encoder::default().uint(1, DT_INT64 as u64).bytes(10, &[7]);
        file.extend(frame(&tensor_event(0, "int64", int64, true)));
        // half_val holds the bits as packed varints: 0x3e00 (1.5) is [0x80, 0x7c].
        let half = Encoder::default().uint(1, DT_HALF as u64).bytes(13, &[0x80, 0x7c]);
        file.extend(frame(&tensor_event(0, "half", half, true)));
        // A tensor of another plugin, and a vector: both skipped.
        let histogram = Encoder::default().uint(1, DT_FLOAT as u64).bytes(4, &1f32.to_le_bytes());
        let mut other = tensor_event(0, "hist", histogram, false);
        other.extend_from_slice(&[]);
        file.extend(frame(&other));
        let shape = Encoder::default().message(2, Encoder::default().uint(1, 3));
        let vector = Encoder::default().uint(1, DT_FLOAT as u64).message(2, shape).bytes(4, &[0; 12]);
        file.extend(frame(&tensor_event(0, "vector", vector, true)));

        let run = read_bytes(&file).unwrap();
        let values = |tag: &str| run.series[tag].values();
        assert_eq!(values("loss"), [0.5, 0.25]);
        assert_eq!(run.series["loss"].points[1].step, 1);
        assert_eq!(values("tf2"), [1.5, 2.5]);
        assert_eq!(values("torch"), [3.5]);
        assert_eq!(values("double"), [4.5]);
        assert_eq!(values("int64"), [7.0]);
        assert_eq!(values("half"), [1.5]);
        assert!(!run.series.contains_key("hist") && !run.series.contains_key("vector"));
        assert_eq!(run.info.host.as_deref(), Some("trainer-01.lan"));
    }

    #[test]
    fn damage_names_the_record_offset() {
        let first = frame(&simple_event(0, "loss", 0.5));
        let mut file = first.clone();
        file.extend(frame(&simple_event(1, "loss", 0.25)));
        let second = first.len();

        let mut flipped = file.clone();
        flipped[second + 20] ^= 1;
        let err = read_bytes(&flipped).unwrap_err().to_string();
        assert!(err.ends_with(&format!(": byte {second}: CRC mismatch in the record's data")), "{err}");

        let mut bad_length = file.clone();
        bad_length[second] ^= 1;
        let err = read_bytes(&bad_length).unwrap_err().to_string();
        assert!(err.ends_with(&format!(": byte {second}: CRC mismatch in the record's length")), "{err}");

        let err = read_bytes(&file[..file.len() - 3]).unwrap_err().to_string();
        assert!(err.contains(&format!("byte {second}: truncated record")), "{err}");
        let err = read_bytes(&file[..second + 5]).unwrap_err().to_string();
        assert!(err.contains(&format!("byte {second}: truncated record header: 5 of 12 bytes")), "{err}");

        let huge = (MAX_RECORD + 1).to_le_bytes();
        let mut header = huge.to_vec();
        header.extend_from_slice(&masked_crc32c(&huge).to_le_bytes());
        let err = read_bytes(&header).unwrap_err().to_string();
        assert!(err.contains("byte 0: record of 268435457 bytes"), "{err}");

        // A record claiming the largest allowed length in a short file is truncated, read
        // without reserving the claimed 256 MiB first.
        let claim = MAX_RECORD.to_le_bytes();
        let mut short = claim.to_vec();
        short.extend_from_slice(&masked_crc32c(&claim).to_le_bytes());
        short.extend_from_slice(&[0; 5500]);
        let err = read_bytes(&short).unwrap_err().to_string();
        assert!(err.ends_with("byte 0: truncated record: 5500 of 268435460 bytes"), "{err}");
    }

    #[test]
    fn a_negative_step_time_is_refused_at_its_record() {
        let first = frame(&simple_event(0, "perf/step_time_ms", 10.0));
        let mut file = first.clone();
        file.extend(frame(&simple_event(1, "perf/step_time_ms", -10.0)));
        let err = read_bytes(&file).unwrap_err().to_string();
        assert!(
            err.ends_with(&format!(
                ": byte {}: step 1: `perf/step_time_ms` is -10, a negative duration; step times and durations \
                 cannot be below 0",
                first.len()
            )),
            "{err}"
        );
        let mut loss = frame(&simple_event(0, "train/loss", -1.0));
        loss.extend(frame(&simple_event(1, "train/loss", -2.0)));
        assert_eq!(read_bytes(&loss).unwrap().series["train/loss"].values(), [-1.0, -2.0]);
    }

    #[test]
    fn lenient_reading_keeps_what_precedes_the_damage() {
        let mut file = frame(&simple_event(0, "loss", 0.5));
        file.extend(frame(&simple_event(1, "loss", 0.25)));
        file.truncate(file.len() - 1);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.out.tfevents.1.host");
        std::fs::write(&path, &file).unwrap();
        let mut run = RunMetrics::default();
        let options = ReadOptions { lenient: true, ..ReadOptions::default() };
        let result = read(&path, &options, &mut run);
        options.tolerate(&mut run, result).unwrap();
        assert_eq!(run.series["loss"].values(), [0.5]);
        assert_eq!(run.damage.len(), 1);
    }

    #[test]
    fn host_names_from_file_names() {
        let host = |name: &str| host_from_file_name(Path::new(name));
        assert_eq!(host("events.out.tfevents.1600000000.my-pc.4244.0").as_deref(), Some("my-pc"));
        assert_eq!(
            host("events.out.tfevents.1600000000.node7.cluster.org.12.3.v2").as_deref(),
            Some("node7.cluster.org")
        );
        assert_eq!(host("events.out.tfevents.1600000000.box").as_deref(), Some("box"));
        assert_eq!(host("events.out.tfevents.1600000000").as_deref(), None);
    }

    #[test]
    fn half_precision() {
        assert_eq!(f16_to_f64(0x3c00), 1.0);
        assert_eq!(f16_to_f64(0xc000), -2.0);
        assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
        assert!(f16_to_f64(0x7e00).is_nan());
    }
}
