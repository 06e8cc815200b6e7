//! Streaming Kineto trace reader: `.json` or gzip (by content, not name) in, [`Trace`] out.

mod event;
mod scan;

use std::{
    borrow::Cow,
    io::Read,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use event::{RawEvent, RawId};
use rustc_hash::FxHashMap as HashMap;
use scan::{Item, ScanError, Scanner};
use serde::Deserialize;

use crate::{
    Error,
    trace::{
        CpuKind, CpuSpan, Damage, DeviceProperties, EventId, GpuKind, GpuSpan, MemoryPeak, NO_ID, Thread, Trace,
        TrackId,
    },
};

/// HTA drops events longer than this as CUPTI overflow; so do we.
const MAX_EVENT_DURATION_NS: i64 = 7 * 24 * 3600 * 1_000_000_000;

/// Timestamps and durations beyond ±4·10¹⁵ µs (the year 2096 as epoch microseconds) are not
/// real: such an event is an error (counted and left out when lenient), which also keeps every
/// sum of nanoseconds far from `i64` overflow.
const MAX_ABS_TS_US: f64 = 4e15;

/// The prefix `torch.profiler.profile.step()` gives its ranges.
const STEP_PREFIX: &str = "ProfilerStep#";

/// How often (in events) the progress callback is called.
const PROGRESS_EVERY: u64 = 16 * 1024;

/// How to read a trace.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// Keep what was read before damage (truncation, bad JSON) instead of failing.
    pub lenient: bool,
}

/// Reads one trace file. `progress` gets the number of *file* bytes read so far (compressed
/// for `.json.gz`) now and then, and stops the read with [`Error::Interrupted`] by returning false.
/// `-` reads standard input.
pub fn read_trace(path: &Path, options: ReadOptions, progress: &mut dyn FnMut(u64) -> bool) -> Result<Trace, Error> {
    let io_error = |cause| Error::Io { path: path.to_owned(), cause };
    // The one opener of every input (`-`, gzip by its bytes), with the bytes counted as they
    // come off the disk, so progress is the file's (compressed) bytes.
    let counter = Arc::new(AtomicU64::new(0));
    let (reader, _) = metrics_schema::text::open_input_through(path, |source| Counting {
        inner: source,
        count: Arc::clone(&counter),
    })
    .map_err(io_error)?;
    read_from(reader, path, options, &mut |_: u64| progress(counter.load(Ordering::Relaxed)))
}

/// Reads a trace from any byte source; `source` names it in errors. `progress` gets the
/// uncompressed bytes read so far.
pub fn read_from(
    reader: impl Read,
    source: &Path,
    options: ReadOptions,
    progress: &mut dyn FnMut(u64) -> bool,
) -> Result<Trace, Error> {
    let mut builder = Builder::new(source.to_owned(), options.lenient);
    let mut scanner = Scanner::new(reader);
    let outcome = builder.consume(&mut scanner, progress);
    builder.trace.stats.bytes = scanner.offset();
    match outcome {
        Ok(()) => Ok(builder.finish()),
        Err(Stop::Interrupted) => Err(Error::Interrupted),
        Err(Stop::Damaged(damage)) if options.lenient => {
            builder.trace.damage = Some(damage);
            Ok(builder.finish())
        }
        Err(Stop::Damaged(damage)) => {
            Err(Error::Malformed { path: source.to_owned(), offset: damage.offset, message: damage.message })
        }
    }
}

enum Stop {
    Damaged(Damage),
    Interrupted,
}

impl From<ScanError> for Stop {
    fn from(err: ScanError) -> Self {
        Stop::Damaged(Damage { offset: err.offset, message: err.message })
    }
}

struct Builder {
    trace: Trace,
    /// Skip and count events with impossible values instead of failing on the first.
    lenient: bool,
    threads: HashMap<Thread, u32>,
    memory: HashMap<(i64, i64), MemoryPeak>,
}

impl Builder {
    fn new(source: PathBuf, lenient: bool) -> Self {
        Builder {
            trace: Trace { source, ..Trace::default() },
            lenient,
            threads: HashMap::default(),
            memory: HashMap::default(),
        }
    }

    fn consume<R: Read>(
        &mut self,
        scanner: &mut Scanner<R>,
        progress: &mut dyn FnMut(u64) -> bool,
    ) -> Result<(), Stop> {
        while let Some(item) = scanner.next_item()? {
            match item {
                Item::Event { bytes, offset } => {
                    // Parsed straight from the buffer: one pass over the bytes, not a split then a parse.
                    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<RawEvent<'_>>();
                    match stream.next() {
                        Some(Ok(event)) => {
                            let len = stream.byte_offset();
                            if let Err(message) = self.add(event) {
                                let damage = Damage { offset, message };
                                if !self.lenient {
                                    return Err(Stop::Damaged(damage));
                                }
                                self.trace.stats.invalid += 1;
                                self.trace.first_invalid.get_or_insert(damage);
                            }
                            scanner.advance(len);
                        }
                        // Only an event complete in the buffer is damaged; a cut-off one (even
                        // cut inside a number, which serde reports as invalid) needs more input.
                        Some(Err(err)) if scan::find_value_end(bytes).is_some() => {
                            return Err(json_damage(bytes, offset, &err));
                        }
                        Some(Err(_)) | None => {
                            scanner.need_more()?;
                            continue;
                        }
                    }
                    self.trace.stats.events += 1;
                    if self.trace.stats.events.is_multiple_of(PROGRESS_EVERY) && !progress(offset) {
                        return Err(Stop::Interrupted);
                    }
                }
                Item::Meta { key, value, offset } => {
                    self.add_meta(key, value).map_err(|err| json_damage(value, offset, &err))?;
                }
            }
        }
        progress(scanner.offset());
        Ok(())
    }

    fn add_meta(&mut self, key: &[u8], value: &[u8]) -> Result<(), serde_json::Error> {
        let meta = &mut self.trace.meta;
        match key {
            b"schemaVersion" => meta.schema_version = serde_json::from_slice::<serde_json::Value>(value)?.as_i64(),
            b"baseTimeNanoseconds" => {
                meta.base_time_ns = serde_json::from_slice::<serde_json::Value>(value)?.as_i64();
            }
            b"distributedInfo" => {
                let info: serde_json::Value = serde_json::from_slice(value)?;
                let field = |name: &str| info.get(name).and_then(serde_json::Value::as_u64).map(|v| v as u32);
                meta.rank = field("rank");
                meta.world_size = field("world_size");
                meta.backend = info.get("backend").and_then(serde_json::Value::as_str).map(str::to_ascii_lowercase);
            }
            b"deviceProperties" => {
                let devices: Vec<serde_json::Value> = match serde_json::from_slice(value)? {
                    serde_json::Value::Array(devices) => devices,
                    _ => Vec::new(),
                };
                meta.devices = devices.iter().map(device_properties).collect();
            }
            _ => {}
        }
        Ok(())
    }

    /// Keeps what the analyses need of one event. An event that is kept but whose time is
    /// impossible (a wrong type, not finite, beyond any real clock, a negative duration, a step
    /// longer than [`MAX_STEP_SECONDS`](metrics_schema::MAX_STEP_SECONDS)) or whose step number
    /// is not one is refused with a message; events that are not kept are never checked, so
    /// they cost nothing.
    fn add(&mut self, event: RawEvent<'_>) -> Result<(), String> {
        let ph = event.ph.as_deref().unwrap_or("");
        if ph == "i" || ph == "I" {
            if event.name.as_deref() == Some("[memory]") {
                self.add_memory(&event);
            }
            return Ok(());
        }
        if ph != "X" {
            return Ok(());
        }
        let Some(cat) = event.cat.as_deref() else { return Ok(()) };
        let target = classify(cat);
        if matches!(target, Target::Skip) {
            return Ok(());
        }
        let described = || format!("event {:?}", event.name.as_deref().unwrap_or(""));
        if let Some(problem) = event.bad_time {
            return Err(format!("{}: {problem}", described()));
        }
        // A time that is not finite (`"NaN"`, `"inf"`, `"1e400"` written as text) is damage:
        // skipping the event quietly would shorten steps and hide kernels without a word.
        for (field, value) in [("`ts`", event.ts), ("`dur`", event.dur)] {
            if let Some(value) = value.filter(|value| !value.is_finite()) {
                return Err(format!("{}: {field} is {value}, not a finite number", described()));
            }
        }
        let dur_us = event.dur.unwrap_or(0.0);
        if dur_us < 0.0 {
            return Err(format!(
                "{}: `dur` is {} µs; a duration cannot be negative",
                described(),
                metrics_schema::format_number(dur_us)
            ));
        }
        let step_number = event.name.as_deref().and_then(|name| name.strip_prefix(STEP_PREFIX));
        if let Some(number) = step_number {
            // `Steps::find` reads the number; one it cannot read would silently drop the step.
            if number.trim().parse::<u64>().is_err() {
                return Err(format!(
                    "{}: `{number}` is not a step number (torch.profiler counts steps 0, 1, 2, ... up to {})",
                    described(),
                    u64::MAX
                ));
            }
            if dur_us > metrics_schema::MAX_STEP_SECONDS * 1e6 {
                return Err(format!(
                    "{}: a step of {} s, beyond the limit of {} s (one hour)",
                    described(),
                    metrics_schema::format_number(dur_us / 1e6),
                    metrics_schema::MAX_STEP_SECONDS
                ));
            }
        }
        // Past any real clock: such a time is damage, never an event to drop in silence. (A
        // duration between seven days and this is CUPTI overflow, dropped and counted below as
        // HTA does.)
        for (field, value) in [("`ts`", event.ts), ("`dur`", event.dur)] {
            if let Some(value) = value.filter(|value| value.abs() > MAX_ABS_TS_US) {
                return Err(format!(
                    "{}: {field} is {} µs, beyond any real clock (the limit is ±{} µs, about 127 years)",
                    described(),
                    metrics_schema::format_number(value),
                    metrics_schema::format_number(MAX_ABS_TS_US)
                ));
            }
        }
        let Some(ts) = event.ts else {
            self.trace.stats.without_time += 1;
            return Ok(());
        };
        let start = (ts * 1000.0).round() as i64;
        let duration = (dur_us * 1000.0).round() as i64;
        if duration > MAX_EVENT_DURATION_NS {
            self.trace.stats.overflowed += 1;
            return Ok(());
        }
        if matches!(target, Target::GpuAnnotation) {
            if step_number.is_some() {
                self.trace.gpu_step_starts.push(start);
            }
            return Ok(());
        }
        let name = self.trace.names.intern(event.name.as_deref().unwrap_or(""));
        let args = &event.args;
        match target {
            Target::Cpu(kind) => {
                let thread = self.thread_index(event.pid.as_ref(), event.tid.as_ref());
                self.trace.cpu.push(CpuSpan {
                    start,
                    end: start + duration,
                    name,
                    thread,
                    kind,
                    external_id: event_id(args.external_id),
                    correlation: event_id(args.correlation),
                });
            }
            Target::Gpu(kind) => {
                let from_track = |id: Option<&RawId<'_>>| match id {
                    Some(RawId::Number(number)) => Some(*number),
                    Some(RawId::Text(text)) => text.trim_start_matches("stream").trim().parse().ok(),
                    None => None,
                };
                self.trace.gpu.push(GpuSpan {
                    start,
                    end: start + duration,
                    name,
                    device: args.device.or_else(|| from_track(event.pid.as_ref())).unwrap_or(0) as i16,
                    stream: args.stream.or_else(|| from_track(event.tid.as_ref())).unwrap_or(0) as i32,
                    kind,
                    external_id: event_id(args.external_id),
                    correlation: event_id(args.correlation),
                    bytes: args.bytes.unwrap_or(0.0) as f32,
                });
            }
            Target::GpuAnnotation | Target::Skip => {}
        }
        Ok(())
    }

    fn add_memory(&mut self, event: &RawEvent<'_>) {
        let args = &event.args;
        let key = (args.device_type.unwrap_or(0), args.device_id.unwrap_or(-1));
        let peak = self.memory.entry(key).or_insert(MemoryPeak {
            device_type: key.0,
            device_id: key.1,
            allocated: 0.0,
            reserved: 0.0,
            events: 0,
            net_allocated: 0.0,
            net_allocated_peak: 0.0,
        });
        peak.events += 1;
        peak.net_allocated += args.alloc_bytes.unwrap_or(0.0);
        peak.net_allocated_peak = peak.net_allocated_peak.max(peak.net_allocated);
        peak.allocated = peak.allocated.max(args.total_allocated.unwrap_or(0.0));
        peak.reserved = peak.reserved.max(args.total_reserved.unwrap_or(0.0));
    }

    fn thread_index(&mut self, pid: Option<&RawId<'_>>, tid: Option<&RawId<'_>>) -> u32 {
        let track = |id: Option<&RawId<'_>>| match id {
            Some(RawId::Number(number)) => TrackId::Number(*number),
            Some(RawId::Text(text)) => TrackId::Text(Box::from(text.as_ref())),
            None => TrackId::Text(Box::from("")),
        };
        let thread = Thread { pid: track(pid), tid: track(tid) };
        let next = self.threads.len() as u32;
        *self.threads.entry(thread).or_insert(next)
    }

    fn finish(mut self) -> Trace {
        let mut threads: Vec<(Thread, u32)> = self.threads.into_iter().collect();
        threads.sort_by_key(|(_, index)| *index);
        self.trace.threads = threads.into_iter().map(|(thread, _)| thread).collect();
        let mut memory: Vec<MemoryPeak> = self.memory.into_values().collect();
        memory.sort_by_key(|peak| (peak.device_type, peak.device_id));
        self.trace.memory = memory;
        // A trace with every event written twice (merged or concatenated exports) would double
        // every kernel's time: identical device spans are kept once, and counted.
        // A 64-bit hash per span keeps the set at 8 bytes an entry (a false match needs a hash
        // collision: about 1 in 10^7 for a trace of three million kernels).
        use std::hash::BuildHasher as _;
        let hasher = rustc_hash::FxBuildHasher;
        let mut seen: rustc_hash::FxHashSet<u64> =
            rustc_hash::FxHashSet::with_capacity_and_hasher(self.trace.gpu.len(), rustc_hash::FxBuildHasher);
        let before = self.trace.gpu.len();
        self.trace.gpu.retain(|span| {
            seen.insert(hasher.hash_one((span.start, span.end, span.name, span.device, span.stream, span.correlation)))
        });
        self.trace.stats.duplicates = (before - self.trace.gpu.len()) as u64;
        // Growth by doubling leaves up to half of each array unused; give it back.
        self.trace.cpu.shrink_to_fit();
        self.trace.gpu.shrink_to_fit();
        self.trace
    }
}

fn event_id(id: Option<i64>) -> EventId {
    id.and_then(|id| EventId::try_from(id).ok()).unwrap_or(NO_ID)
}

enum Target {
    Cpu(CpuKind),
    Gpu(GpuKind),
    GpuAnnotation,
    Skip,
}

/// Whether an event with this `ph` (and `cat`, when known) is certainly not kept: every phase
/// but complete (`X`) and instant (`i`, `I`) events, and complete events of a category that is
/// not stored. `None` for `cat` means "not read yet": then only the phase decides.
pub(crate) fn is_dropped(ph: &str, cat: Option<&str>) -> bool {
    match ph {
        "X" => cat.is_some_and(|cat| matches!(classify(cat), Target::Skip)),
        "i" | "I" => false,
        _ => true,
    }
}

/// Maps a `cat` of any schema generation onto what is stored.
fn classify(cat: &str) -> Target {
    let lower: Cow<'_, str> = if cat.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(cat.to_ascii_lowercase())
    } else {
        Cow::Borrowed(cat)
    };
    match lower.as_ref() {
        "cpu_op" | "operator" => Target::Cpu(CpuKind::Op),
        "user_annotation" => Target::Cpu(CpuKind::Annotation),
        "cuda_runtime"
        | "cuda_driver"
        | "runtime"
        | "driver"
        | "xpu_runtime"
        | "xpu_driver"
        | "privateuse1_runtime"
        | "privateuse1_driver"
        | "mtia_runtime" => Target::Cpu(CpuKind::Runtime),
        "kernel" => Target::Gpu(GpuKind::Kernel),
        "gpu_memcpy" | "memcpy" => Target::Gpu(GpuKind::Memcpy),
        "gpu_memset" | "memset" => Target::Gpu(GpuKind::Memset),
        "gpu_user_annotation" => Target::GpuAnnotation,
        _ => Target::Skip,
    }
}

fn device_properties(value: &serde_json::Value) -> DeviceProperties {
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase", default)]
    struct Raw {
        id: Option<i64>,
        name: Option<String>,
        total_global_mem: Option<f64>,
        compute_major: Option<i64>,
        num_sms: Option<i64>,
    }
    let raw = Raw::deserialize(value).unwrap_or_default();
    DeviceProperties {
        id: raw.id.unwrap_or(0),
        name: raw.name.unwrap_or_default(),
        total_global_mem: raw.total_global_mem,
        compute_major: raw.compute_major,
        num_sms: raw.num_sms,
    }
}

fn json_damage(bytes: &[u8], offset: u64, err: &serde_json::Error) -> Stop {
    let index = event::position_to_index(bytes, err.line(), err.column());
    if let Some((at, message)) = event::explain_bad_number(bytes, index) {
        return Stop::Damaged(Damage { offset: offset + at as u64, message });
    }
    let message = err.to_string();
    let message = match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    };
    Stop::Damaged(Damage { offset: offset + index as u64, message })
}

/// Counts the bytes read from the file, for progress on compressed input.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.count.fetch_add(read as u64, Ordering::Relaxed);
        Ok(read)
    }
}
