//! What each distinct name is (a step, a sync call, a communication kernel, ...), decided once
//! per interned name instead of once per span: a large trace has millions of spans and a few
//! thousand names.

use super::steps::{DATALOADER_PREFIX, STEP_PREFIX};
use crate::trace::{CpuKind, NameId, Trace};

pub(crate) const STEP: u16 = 1;
pub(crate) const DATALOADER: u16 = 1 << 1;
/// A runtime call that blocks until the device catches up.
pub(crate) const SYNC_CALL: u16 = 1 << 2;
/// `aten::item`/`aten::_local_scalar_dense`: a sync only when it copied from a device.
pub(crate) const SCALAR_READ: u16 = 1 << 3;
/// NCCL/RCCL/HCCL kernels, as HTA's `get_kernel_type` classifies communication.
pub(crate) const COMMUNICATION: u16 = 1 << 4;
/// A collective as host work: host backends' annotations (`gloo:all_reduce`, `mpi:`, `ucc:`)
/// and the c10d ops that issue collectives (`c10d::allreduce_`, `record_param_comms`). With a
/// device backend the c10d ops only enqueue kernels, so they count only on host backends.
pub(crate) const HOST_COMMUNICATION: u16 = 1 << 9;
pub(crate) const PAGEABLE_HTOD: u16 = 1 << 5;
/// GEMM and convolution kernels: the ones tensor cores speed up.
pub(crate) const MATMUL_CONV: u16 = 1 << 6;
/// fp16, bf16 or fp8 kernels.
pub(crate) const REDUCED_PRECISION: u16 = 1 << 7;

/// The autograd engine's per-node ranges, which run on the backward threads.
pub(crate) const AUTOGRAD: u16 = 1 << 8;

const SYNC_CALLS: &[&str] = &[
    "cudaStreamSynchronize",
    "cudaDeviceSynchronize",
    "cudaEventSynchronize",
    "cudaMemcpy",
    "cuStreamSynchronize",
    "cuCtxSynchronize",
    "cuEventSynchronize",
    "hipStreamSynchronize",
    "hipDeviceSynchronize",
    "hipEventSynchronize",
    "hipMemcpy",
];
const MATMUL_CONV_MARKERS: &[&str] = &["gemm", "conv", "cutlass", "xmma", "cudnn", "wgrad", "dgrad", "sm80_", "sm90_"];
const REDUCED_PRECISION_MARKERS: &[&str] =
    &["half", "f16", "bf16", "bfloat16", "hmma", "h884", "h1688", "h16816", "fp8", "e4m3", "e5m2"];

/// One set of class bits per [`NameId`].
#[derive(Debug)]
pub(crate) struct NameClasses(Vec<u16>);

impl NameClasses {
    pub(crate) fn of(trace: &Trace) -> NameClasses {
        NameClasses((0..trace.names.len() as NameId).map(|id| classify(trace.names.get(id))).collect())
    }

    pub(crate) fn has(&self, name: NameId, class: u16) -> bool {
        self.0[name as usize] & class != 0
    }

    /// A host call that waits for the device. `launched_device_work` says whether the op made
    /// runtime calls (an `aten::item` on a CPU tensor is harmless).
    pub(crate) fn is_sync(&self, kind: CpuKind, name: NameId, launched_device_work: bool) -> bool {
        match kind {
            CpuKind::Runtime => self.has(name, SYNC_CALL),
            CpuKind::Op => launched_device_work && self.has(name, SCALAR_READ),
            CpuKind::Annotation => false,
        }
    }
}

/// Name prefixes of host-side collectives: the host backends' own annotations and c10d's ops.
const HOST_COLLECTIVE_PREFIXES: &[&str] = &["gloo:", "mpi:", "ucc:", "c10d::"];

/// `distributedInfo.backend` values whose collectives run on the host.
pub(crate) const HOST_BACKENDS: &[&str] = &["gloo", "mpi", "ucc"];

fn classify(name: &str) -> u16 {
    let mut class = 0;
    let mut set = |bit: u16, yes: bool| {
        if yes {
            class |= bit;
        }
    };
    set(STEP, name.starts_with(STEP_PREFIX));
    set(DATALOADER, name.starts_with(DATALOADER_PREFIX));
    set(AUTOGRAD, name.starts_with("autograd::engine::evaluate_function"));
    set(SYNC_CALL, SYNC_CALLS.contains(&name));
    set(SCALAR_READ, matches!(name, "aten::item" | "aten::_local_scalar_dense"));
    set(
        COMMUNICATION,
        name.starts_with("nccl")
            || name.contains("ncclKernel")
            || name.contains("ncclDevKernel")
            || name.starts_with("hccl")
            || name.starts_with("rccl"),
    );
    set(
        HOST_COMMUNICATION,
        HOST_COLLECTIVE_PREFIXES.iter().any(|prefix| name.starts_with(prefix)) || name == "record_param_comms",
    );
    set(PAGEABLE_HTOD, name.contains("HtoD") && name.contains("Pageable"));
    let lower = name.to_ascii_lowercase();
    set(MATMUL_CONV, MATMUL_CONV_MARKERS.iter().any(|marker| lower.contains(marker)));
    set(REDUCED_PRECISION, REDUCED_PRECISION_MARKERS.iter().any(|marker| lower.contains(marker)));
    class
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_and_call_names_are_classified() {
        assert_eq!(classify("ProfilerStep#12"), STEP);
        for host in [
            "gloo:all_reduce",
            "gloo:broadcast",
            "mpi:all_reduce",
            "ucc:allgather",
            "c10d::allreduce_",
            "record_param_comms",
        ] {
            assert_eq!(classify(host), HOST_COMMUNICATION, "{host}");
        }
        assert_eq!(classify("gloo_helper"), 0);
        assert_eq!(classify("enumerate(DataLoader)#_MultiProcessingDataLoaderIter.__next__"), DATALOADER);
        assert_eq!(classify("cudaStreamSynchronize"), SYNC_CALL);
        assert_eq!(classify("autograd::engine::evaluate_function: AddBackward0"), AUTOGRAD);
        assert_eq!(classify("cudaMemcpyAsync"), 0);
        assert_eq!(classify("ncclDevKernel_AllReduce_Sum_f32_RING_LL(ncclDevComm*)"), COMMUNICATION);
        assert_eq!(classify("Memcpy HtoD (Pageable -> Device)"), PAGEABLE_HTOD);
        assert_eq!(classify("Memcpy HtoD (Pinned -> Device)"), 0);
        assert_eq!(classify("sm90_xmma_fprop_implicit_gemm_f32f32_tf32f32_f32_nhwckrsc_nhwc"), MATMUL_CONV);
        assert_eq!(classify("ampere_bf16_s16816gemm_bf16_128x128_ldg8_f2f_tn"), MATMUL_CONV | REDUCED_PRECISION);
    }
}
