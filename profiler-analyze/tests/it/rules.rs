//! Each recommendation rule, on a small trace made to fire it and on one made not to.
//!
//! The traces are one or more 100 ms steps on thread 1, with whatever each rule looks at.

use std::path::Path;

use profiler_analyze::{ReadOptions, analyze, read_from};

/// The ids the analysis recommends for a trace of `events` (JSON objects, comma-separated)
/// with `meta` top-level fields (`"key": value, ` each, or empty).
fn ids(meta: &str, events: &str) -> Vec<String> {
    let json = format!(r#"{{{meta}"traceEvents": [{events}]}}"#);
    let trace = read_from(json.as_bytes(), Path::new("rule.json"), ReadOptions::default(), &mut |_| true)
        .unwrap_or_else(|err| panic!("{err}\n{json}"));
    analyze(&trace).recommendations.into_iter().map(|r| r.id).collect()
}

/// `count` steps of 100 ms, each with `inside(step_start_us)` events.
fn steps(count: u32, inside: impl Fn(f64) -> String) -> String {
    (0..count)
        .map(|n| {
            let t = f64::from(n) * 100_000.0;
            let extra = inside(t);
            let step = format!(
                r#"{{"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#{n}", "pid": 1, "tid": 1, "ts": {t}, "dur": 100000}}"#
            );
            if extra.is_empty() { step } else { format!("{step},\n{extra}") }
        })
        .collect::<Vec<_>>()
        .join(",\n")
}

fn span(cat: &str, name: &str, tid: &str, ts: f64, dur: f64, args: &str) -> String {
    format!(
        r#"{{"ph": "X", "cat": "{cat}", "name": "{name}", "pid": 1, "tid": {tid}, "ts": {ts}, "dur": {dur}, "args": {{{args}}}}}"#
    )
}

fn kernel(name: &str, ts: f64, dur: f64) -> String {
    format!(
        r#"{{"ph": "X", "cat": "kernel", "name": "{name}", "pid": 0, "tid": 7, "ts": {ts}, "dur": {dur}, "args": {{"device": 0, "stream": 7}}}}"#
    )
}

const LOADER: &str = "enumerate(DataLoader)#_MultiProcessingDataLoaderIter.__next__";

#[test]
fn every_rule_in_the_table_has_a_test_here() {
    let source = include_str!("rules.rs");
    for id in [
        "dataloader-bound",
        "gpu-underutilized",
        "host-sync",
        "pageable-memcpy",
        "no-mixed-precision",
        "communication-bound",
        "memory-pressure",
    ] {
        let name = id.replace('-', "_");
        assert!(source.contains(&format!("fn {name}_fires")), "no test fires {id}");
        assert!(source.contains(&format!("fn {name}_stays_quiet")), "no test keeps {id} quiet");
    }
}

#[test]
fn dataloader_bound_fires() {
    let events = steps(3, |t| span("user_annotation", LOADER, "1", t, 40_000.0, ""));
    assert!(ids("", &events).contains(&"dataloader-bound".to_owned()));
}

#[test]
fn dataloader_bound_stays_quiet() {
    let events = steps(3, |t| span("user_annotation", LOADER, "1", t, 2_000.0, ""));
    assert!(!ids("", &events).contains(&"dataloader-bound".to_owned()));
}

#[test]
fn gpu_underutilized_fires() {
    let events = steps(3, |t| kernel("small_kernel", t + 1_000.0, 10_000.0));
    assert!(ids("", &events).contains(&"gpu-underutilized".to_owned()));
}

#[test]
fn gpu_underutilized_stays_quiet() {
    let events = steps(3, |t| kernel("big_kernel", t, 90_000.0));
    assert!(!ids("", &events).contains(&"gpu-underutilized".to_owned()));
}

#[test]
fn host_sync_fires() {
    let events = steps(3, |t| span("cuda_runtime", "cudaDeviceSynchronize", "1", t + 10.0, 20_000.0, ""));
    assert!(ids("", &events).contains(&"host-sync".to_owned()));
}

#[test]
fn host_sync_stays_quiet() {
    let events = steps(3, |t| span("cuda_runtime", "cudaLaunchKernel", "1", t + 10.0, 20.0, ""));
    assert!(!ids("", &events).contains(&"host-sync".to_owned()));
}

#[test]
fn pageable_memcpy_fires() {
    let events = steps(3, |t| {
        format!(
            r#"{{"ph": "X", "cat": "gpu_memcpy", "name": "Memcpy HtoD (Pageable -> Device)", "pid": 0, "tid": 7, "ts": {}, "dur": 500, "args": {{"device": 0, "bytes": 4000000}}}}"#,
            t + 100.0
        )
    });
    assert!(ids("", &events).contains(&"pageable-memcpy".to_owned()));
}

#[test]
fn pageable_memcpy_stays_quiet() {
    let events = steps(3, |t| {
        format!(
            r#"{{"ph": "X", "cat": "gpu_memcpy", "name": "Memcpy HtoD (Pinned -> Device)", "pid": 0, "tid": 7, "ts": {}, "dur": 500, "args": {{"device": 0, "bytes": 4000000}}}}"#,
            t + 100.0
        )
    });
    assert!(!ids("", &events).contains(&"pageable-memcpy".to_owned()));
}

const A100: &str = r#""deviceProperties": [{"id": 0, "name": "NVIDIA A100", "totalGlobalMem": 85000000000, "computeMajor": 8, "computeMinor": 0, "numSms": 108}], "#;

#[test]
fn no_mixed_precision_fires() {
    let events = steps(3, |t| kernel("sm80_xmma_gemm_f32f32_f32f32_f32_tn_n", t, 90_000.0));
    assert!(ids(A100, &events).contains(&"no-mixed-precision".to_owned()));
}

#[test]
fn no_mixed_precision_stays_quiet() {
    let events = steps(3, |t| kernel("sm80_xmma_gemm_bf16bf16_bf16f32_f32_tn_n", t, 90_000.0));
    assert!(!ids(A100, &events).contains(&"no-mixed-precision".to_owned()));
    // fp32 on a GPU without tensor cores is not a finding either.
    let pascal = A100.replace("\"computeMajor\": 8", "\"computeMajor\": 6");
    let events = steps(3, |t| kernel("sm80_xmma_gemm_f32f32_f32f32_f32_tn_n", t, 90_000.0));
    assert!(!ids(&pascal, &events).contains(&"no-mixed-precision".to_owned()));
}

#[test]
fn communication_bound_fires() {
    // NCCL: 30 ms of all-reduce per step after the compute, not overlapped.
    let nccl = steps(3, |t| {
        format!(
            "{},\n{}",
            kernel("sm90_xmma_gemm_bf16", t, 60_000.0),
            kernel("ncclDevKernel_AllReduce_Sum_f32_RING_LL", t + 60_000.0, 30_000.0)
        )
    });
    assert!(
        ids(r#""distributedInfo": {"backend": "nccl", "rank": 0}, "#, &nccl)
            .contains(&"communication-bound".to_owned())
    );
    // gloo: the collective is host work, 40 ms of each step.
    let gloo = steps(3, |t| {
        format!(
            "{},\n{}",
            span("user_annotation", "gloo:all_reduce", "1", t + 50_000.0, 40_000.0, ""),
            span("cpu_op", "c10d::allreduce_", "1", t + 49_000.0, 500.0, "")
        )
    });
    let gloo_meta = r#""distributedInfo": {"backend": "gloo", "rank": 0, "world_size": 2}, "#;
    assert!(ids(gloo_meta, &gloo).contains(&"communication-bound".to_owned()));
    // Without a recorded backend, host collectives and no NCCL kernels mean a host backend too.
    assert!(ids("", &gloo).contains(&"communication-bound".to_owned()));
}

#[test]
fn communication_bound_stays_quiet() {
    // NCCL overlapped by compute.
    let overlapped = steps(3, |t| {
        format!(
            "{},\n{}",
            kernel("sm90_xmma_gemm_bf16", t, 90_000.0),
            kernel("ncclDevKernel_AllReduce_Sum_f32_RING_LL", t + 10_000.0, 30_000.0)
        )
    });
    assert!(
        !ids(r#""distributedInfo": {"backend": "nccl", "rank": 0}, "#, &overlapped)
            .contains(&"communication-bound".to_owned())
    );
    // gloo with a short collective.
    let short = steps(3, |t| span("user_annotation", "gloo:all_reduce", "1", t + 50_000.0, 2_000.0, ""));
    assert!(
        !ids(r#""distributedInfo": {"backend": "gloo", "rank": 0}, "#, &short)
            .contains(&"communication-bound".to_owned())
    );
    // With NCCL, the host-side c10d ops only enqueue kernels: they are not communication time.
    let enqueue = steps(3, |t| span("cpu_op", "c10d::allreduce_", "1", t + 50_000.0, 40_000.0, ""));
    assert!(
        !ids(r#""distributedInfo": {"backend": "nccl", "rank": 0}, "#, &enqueue)
            .contains(&"communication-bound".to_owned())
    );
}

/// `[memory]` instant events on device 0 of an 80 GB GPU, reaching `reserved` bytes.
fn memory_events(t: f64, reserved: u64) -> String {
    format!(
        r#"{{"ph": "i", "cat": "cpu_instant_event", "name": "[memory]", "pid": 1, "tid": 1, "ts": {}, "s": "t", "args": {{"Total Reserved": {reserved}, "Total Allocated": {}, "Bytes": 1024, "Device Type": 1, "Device Id": 0, "Addr": 1}}}}"#,
        t + 10.0,
        reserved / 2
    )
}

#[test]
fn memory_pressure_fires() {
    let events = steps(2, |t| memory_events(t, 80_000_000_000));
    let found = ids(A100, &events);
    assert!(found.contains(&"memory-pressure".to_owned()), "{found:?}");
}

#[test]
fn memory_pressure_stays_quiet() {
    let events = steps(2, |t| memory_events(t, 40_000_000_000));
    assert!(!ids(A100, &events).contains(&"memory-pressure".to_owned()));
    // Without the device's total, no share can be computed.
    let events = steps(2, |t| memory_events(t, 80_000_000_000));
    assert!(!ids("", &events).contains(&"memory-pressure".to_owned()));
}
