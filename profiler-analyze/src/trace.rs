//! The compact, analysis-ready form of one trace: interned names and flat span arrays.
//!
//! Only what the analyses read is kept, at 40 bytes per CPU or GPU span, so a trace
//! takes a fraction of its JSON size in memory. Flow events, metadata events, Python frames
//! and GPU-side annotations are counted but not stored.

use std::path::PathBuf;

use rustc_hash::FxHashMap as HashMap;

/// Nanoseconds on the trace's own clock (Kineto's `ts`, in µs, times 1000).
pub type Nanos = i64;

/// An interned string: an index into [`Names`].
pub type NameId = u32;

/// An `External id` or `correlation`. Kineto's are 32-bit counters (CUPTI correlation ids
/// are `uint32`); a larger value reads as absent.
pub type EventId = u32;

/// Marks an absent `External id` or `correlation`.
pub const NO_ID: EventId = u32::MAX;

/// Interned event names: each distinct name is stored once.
#[derive(Debug, Default)]
pub struct Names {
    index: HashMap<Box<str>, NameId>,
    names: Vec<Box<str>>,
}

impl Names {
    /// The id of `name`, adding it if new.
    pub fn intern(&mut self, name: &str) -> NameId {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let id = self.names.len() as NameId;
        self.names.push(name.into());
        self.index.insert(name.into(), id);
        id
    }

    /// The name behind an id.
    pub fn get(&self, id: NameId) -> &str {
        &self.names[id as usize]
    }

    /// The id of `name` if it occurs in the trace.
    pub fn find(&self, name: &str) -> Option<NameId> {
        self.index.get(name).copied()
    }

    /// How many distinct names there are.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when no name has been interned.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// What kind of host-side span this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CpuKind {
    /// An ATen or other operator (`cpu_op`, 2021 `Operator`).
    Op,
    /// A `record_function` range (`user_annotation`): `ProfilerStep#N`, `enumerate(DataLoader)…`.
    Annotation,
    /// A CUDA/HIP runtime or driver call (`cuda_runtime`, `cuda_driver`, 2021 `Runtime`).
    Runtime,
}

/// A complete (`ph: "X"`) host-side event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuSpan {
    /// Start.
    pub start: Nanos,
    /// End (start plus duration).
    pub end: Nanos,
    /// Interned name.
    pub name: NameId,
    /// Index into [`Trace::threads`].
    pub thread: u32,
    /// Operator, annotation or runtime call.
    pub kind: CpuKind,
    /// `External id`: links an op with the runtime calls and kernels it caused; [`NO_ID`] if absent.
    pub external_id: EventId,
    /// `correlation` of a runtime call: equal to its kernel's; [`NO_ID`] if absent.
    pub correlation: EventId,
}

/// What a device-side span does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GpuKind {
    /// A kernel (`kernel`, 2021 `Kernel`).
    Kernel,
    /// A copy (`gpu_memcpy`, 2021 `Memcpy`).
    Memcpy,
    /// A fill (`gpu_memset`, 2021 `Memset`).
    Memset,
}

/// A complete device-side event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpuSpan {
    /// Start.
    pub start: Nanos,
    /// End.
    pub end: Nanos,
    /// Interned name.
    pub name: NameId,
    /// Device index (`args.device`, else the event's `pid`).
    pub device: i16,
    /// Stream (`args.stream`, else the event's `tid`).
    pub stream: i32,
    /// Kernel, copy or fill.
    pub kind: GpuKind,
    /// `External id` of the launching op; [`NO_ID`] if absent.
    pub external_id: EventId,
    /// `correlation` shared with the launching runtime call; [`NO_ID`] if absent.
    pub correlation: EventId,
    /// Bytes moved, for copies and fills (0 if unknown).
    pub bytes: f32,
}

/// The highest caching-allocator figures seen for one device in `[memory]` events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryPeak {
    /// `Device Type` (0 CPU, 1 CUDA, as in `c10::DeviceType`).
    pub device_type: i64,
    /// `Device Id` (-1 for the CPU).
    pub device_id: i64,
    /// Highest `Total Allocated`.
    pub allocated: f64,
    /// Highest `Total Reserved`.
    pub reserved: f64,
    /// How many `[memory]` events the device had.
    pub events: u64,
    /// Net bytes allocated since the trace began: the running sum of `Bytes`.
    pub net_allocated: f64,
    /// Highest `net_allocated`: the high-water mark of what was allocated during the trace, for
    /// traces without `Total Allocated` (PyTorch 1.x).
    pub net_allocated_peak: f64,
}

/// A GPU's entry in the trace's `deviceProperties`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeviceProperties {
    /// Device index.
    pub id: i64,
    /// Marketing name.
    pub name: String,
    /// Memory in bytes.
    pub total_global_mem: Option<f64>,
    /// Compute capability major version (7 and up have tensor cores).
    pub compute_major: Option<i64>,
    /// Number of streaming multiprocessors.
    pub num_sms: Option<i64>,
}

/// The top-level fields of the trace that the analyses use.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TraceMeta {
    /// `schemaVersion`.
    pub schema_version: Option<i64>,
    /// `baseTimeNanoseconds`: `ts` is relative to it in Kineto since 2024.
    pub base_time_ns: Option<i64>,
    /// `distributedInfo.rank`.
    pub rank: Option<u32>,
    /// `distributedInfo.world_size`.
    pub world_size: Option<u32>,
    /// `distributedInfo.backend`: `nccl`, `gloo`, `mpi`, `ucc`, ...
    pub backend: Option<String>,
    /// `deviceProperties`.
    pub devices: Vec<DeviceProperties>,
}

/// How much was read, and what was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadStats {
    /// Uncompressed JSON bytes read.
    pub bytes: u64,
    /// Events in `traceEvents`.
    pub events: u64,
    /// Complete events without a usable `ts`: absent, not a number, or absurdly far from 0 (skipped).
    pub without_time: u64,
    /// Events longer than seven days: CUPTI overflow, as HTA also drops them.
    pub overflowed: u64,
    /// Events with impossible values (a wrong type, a negative duration, a step beyond an
    /// hour), skipped when read leniently (strictly, the first is an error).
    pub invalid: u64,
    /// Device spans identical to an earlier one (name, time, device, stream, correlation),
    /// kept once.
    pub duplicates: u64,
}

/// Where a damaged trace stopped being readable (kept with `--lenient`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Uncompressed byte offset.
    pub offset: u64,
    /// What was wrong there.
    pub message: String,
}

/// A process and thread id pair, as written in the trace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TrackId {
    /// A numeric id (also a numeric string such as `"25738"`).
    Number(i64),
    /// A textual id such as `"Spans"`.
    Text(Box<str>),
}

/// One host thread: its process and thread ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Thread {
    /// Process id.
    pub pid: TrackId,
    /// Thread id.
    pub tid: TrackId,
}

/// One trace file, read.
#[derive(Debug, Default)]
pub struct Trace {
    /// The file it came from.
    pub source: PathBuf,
    /// Top-level fields.
    pub meta: TraceMeta,
    /// Interned names of all stored spans.
    pub names: Names,
    /// Host threads that have spans; [`CpuSpan::thread`] indexes this.
    pub threads: Vec<Thread>,
    /// Host spans in file order.
    pub cpu: Vec<CpuSpan>,
    /// Device spans in file order.
    pub gpu: Vec<GpuSpan>,
    /// Starts of the GPU-side `ProfilerStep#N` annotations (`gpu_user_annotation`), which begin
    /// when the step's first device work does.
    pub gpu_step_starts: Vec<Nanos>,
    /// Caching-allocator peaks per device, from `[memory]` events.
    pub memory: Vec<MemoryPeak>,
    /// Counts.
    pub stats: ReadStats,
    /// Set when a damaged trace was read leniently.
    pub damage: Option<Damage>,
    /// The first event with impossible values, when read leniently.
    pub first_invalid: Option<Damage>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_stay_compact() {
        // A 1 GB trace holds millions of spans: their size is the reader's memory budget.
        assert_eq!(std::mem::size_of::<CpuSpan>(), 40);
        assert_eq!(std::mem::size_of::<GpuSpan>(), 40);
    }
}
