//! A run of several ranks: parallel analysis, rank detection, and the straggler.

use std::{fmt::Write as _, path::Path};

use profiler_analyze::{AnalyzeOptions, Error, analyze_files, build_report, trace_files};

/// One rank's trace: 5 steps of `data_ms` data wait, 50 ms of compute, then an all-reduce that
/// lasts until the slowest rank (data wait `slowest_data_ms`) arrives.
fn rank_trace(rank: Option<u32>, data_ms: f64, slowest_data_ms: f64) -> String {
    let mut events = Vec::new();
    let mut t = 0.0;
    for step in 0..5 {
        let comm = 5.0 + (slowest_data_ms - data_ms);
        let length = data_ms + 50.0 + comm;
        let us = |ms: f64| ms * 1e3;
        events.push(format!(
            r#"{{"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#{step}", "pid": 1, "tid": 1, "ts": {}, "dur": {}}}"#,
            us(t),
            us(length)
        ));
        events.push(format!(
            r#"{{"ph": "X", "cat": "user_annotation", "name": "enumerate(DataLoader)#_MultiProcessingDataLoaderIter.__next__", "pid": 1, "tid": 1, "ts": {}, "dur": {}}}"#,
            us(t),
            us(data_ms)
        ));
        events.push(format!(
            r#"{{"ph": "X", "cat": "kernel", "name": "sm90_xmma_gemm_bf16", "pid": 0, "tid": 7, "ts": {}, "dur": {}, "args": {{"device": 0}}}}"#,
            us(t + data_ms),
            us(50.0)
        ));
        events.push(format!(
            r#"{{"ph": "X", "cat": "kernel", "name": "ncclDevKernel_AllReduce_Sum_f32_RING_LL", "pid": 0, "tid": 9, "ts": {}, "dur": {}, "args": {{"device": 0}}}}"#,
            us(t + data_ms + 50.0),
            us(comm)
        ));
        t += length;
    }
    let mut json = String::from("{");
    if let Some(rank) = rank {
        let _ = write!(json, r#""distributedInfo": {{"backend": "nccl", "rank": {rank}, "world_size": 4}}, "#);
    }
    let _ = write!(json, r#""traceEvents": [{}]}}"#, events.join(",\n"));
    json
}

#[test]
fn the_rank_with_the_slow_data_loader_is_named() {
    let dir = tempfile::tempdir().unwrap();
    for rank in 0..4u32 {
        let data = if rank == 2 { 40.0 } else { 2.0 };
        // Rank 3 says nothing about its rank: it comes from the file name.
        let stated = (rank != 3).then_some(rank);
        std::fs::write(dir.path().join(format!("host_rank{rank}.pt.trace.json")), rank_trace(stated, data, 40.0))
            .unwrap();
    }
    std::fs::write(dir.path().join("notes.txt"), "not a trace").unwrap();
    let files = trace_files(&[dir.path().to_owned()]).unwrap();
    assert_eq!(files.len(), 4);
    let results = analyze_files(&files, AnalyzeOptions { jobs: 2, ..AnalyzeOptions::default() }, &|_| true).unwrap();
    assert_eq!(results.iter().map(|r| r.rank).collect::<Vec<_>>(), [0, 1, 2, 3]);
    let report = build_report(&results, 5, 0.1);
    assert_eq!(report.ranks.len(), 4);
    assert_eq!(report.rank, Some(0));
    let straggler = &report.stragglers[0];
    assert_eq!(straggler.rank, 2);
    assert!((straggler.excess_ms_per_step - 38.0).abs() < 1e-6, "{straggler:?}");
    assert!(straggler.reason.starts_with("data wait 40.0 ms/step vs 2.0 ms median"), "{}", straggler.reason);
    assert!(straggler.reason.contains("wait 38.0 ms/step longer in collectives"), "{}", straggler.reason);
    let finding = report.recommendations.iter().find(|r| r.id == "straggler").unwrap();
    assert_eq!(finding.evidence["rank"], 2.0);
    // Every rank's steps take the same time: the straggler hides in the collectives.
    assert!(report.ranks.iter().all(|r| (r.steps.mean_ms - 95.0).abs() < 1e-9));
    assert!(report.ranks.iter().all(|r| r.gpu.communication_ms > 0.0));
}

#[test]
fn balanced_ranks_have_no_straggler_and_duplicates_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for rank in 0..2u32 {
        std::fs::write(dir.path().join(format!("r{rank}.json")), rank_trace(Some(rank), 2.0, 2.0)).unwrap();
    }
    let files = trace_files(&[dir.path().to_owned()]).unwrap();
    let report = build_report(&analyze_files(&files, AnalyzeOptions::default(), &|_| true).unwrap(), 5, 0.1);
    assert!(report.stragglers.is_empty(), "{:?}", report.stragglers);
    assert!(report.recommendations.iter().all(|r| r.id != "straggler"));

    std::fs::write(dir.path().join("r9.json"), rank_trace(Some(1), 2.0, 2.0)).unwrap();
    let files = trace_files(&[dir.path().to_owned()]).unwrap();
    let err = analyze_files(&files, AnalyzeOptions::default(), &|_| true).unwrap_err();
    assert!(matches!(err, Error::DuplicateRank { rank: 1, .. }), "{err:?}");

    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(trace_files(&[empty.path().to_owned()]), Err(Error::EmptyDirectory { .. })));
    assert!(matches!(trace_files(&[Path::new("/nonexistent/trace.json").to_owned()]), Err(Error::Io { .. })));
}

/// Real two-rank gloo DDP runs recorded on the CPU (`tools/record_cpu_traces.py gloo`): one
/// rank's dataset sleeps per batch. The collectives are host work (`gloo:all_reduce`,
/// `c10d::allreduce_`), there are no kernels, and both ranks' steps take the same time.
#[test]
fn a_gloo_straggler_is_named_with_its_data_wait() {
    for (set, slow, other) in [("slow-rank1", 1u32, 0u32), ("slow-rank0", 0, 1)] {
        let dir = crate::testdata("gloo").join(set);
        let files = trace_files(&[dir]).unwrap();
        let results = analyze_files(&files, AnalyzeOptions::default(), &|_| true).unwrap();
        let report = build_report(&results, 5, 0.1);
        for rank in &report.ranks {
            assert_eq!(rank.communication.backend.as_deref(), Some("gloo"), "{set}");
            assert!(rank.communication.on_host, "{set}");
            assert_eq!(rank.gpu.communication_ms, 0.0, "{set}: no kernels");
        }
        let waiting = report.ranks.iter().find(|r| r.rank == other).unwrap();
        let slow_rank = report.ranks.iter().find(|r| r.rank == slow).unwrap();
        // The fast rank spends most of its step in the collective, waiting.
        assert!(
            waiting.communication.ms_per_step > 20.0 * slow_rank.communication.ms_per_step.max(0.5),
            "{set}: {:?} vs {:?}",
            waiting.communication,
            slow_rank.communication
        );
        assert_eq!(report.stragglers.len(), 1, "{set}: {:?}", report.stragglers);
        let straggler = &report.stragglers[0];
        assert_eq!(straggler.rank, slow, "{set}");
        assert!(straggler.reason.starts_with("data wait "), "{set}: {}", straggler.reason);
        assert!(straggler.reason.contains("longer in collectives"), "{set}: {}", straggler.reason);
        assert!(report.recommendations.iter().any(|r| r.id == "straggler" && r.evidence["rank"] == f64::from(slow)));
    }
}

/// The data-wait signal on its own: every rank's own work looks alike (the slow rank's data
/// wait is hidden from the step's own-work figure because a host collective absorbs it on
/// the others), yet the rank that waits for data is named.
#[test]
fn data_wait_alone_names_a_straggler_and_balanced_waits_do_not() {
    let host_rank = |rank: u32, data_ms: f64| {
        let mut events = Vec::new();
        for step in 0..4 {
            let t = f64::from(step) * 100_000.0;
            events.push(format!(r#"{{"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#{step}", "pid": 1, "tid": 1, "ts": {t}, "dur": 100000}}"#));
            events.push(format!(r#"{{"ph": "X", "cat": "user_annotation", "name": "enumerate(DataLoader)#_SingleProcessDataLoaderIter.__next__", "pid": 1, "tid": 1, "ts": {t}, "dur": {}}}"#, data_ms * 1e3));
            // The collective fills whatever the data wait left of the step beyond 50 ms of work.
            let comm = 50_000.0 - data_ms * 1e3;
            events.push(format!(r#"{{"ph": "X", "cat": "user_annotation", "name": "gloo:all_reduce", "pid": 1, "tid": 1, "ts": {}, "dur": {comm}}}"#, t + 50_000.0));
        }
        format!(
            r#"{{"distributedInfo": {{"backend": "gloo", "rank": {rank}, "world_size": 3}}, "traceEvents": [{}]}}"#,
            events.join(",\n")
        )
    };
    let dir = tempfile::tempdir().unwrap();
    for (rank, data) in [(0, 1.0), (1, 1.5), (2, 30.0)] {
        std::fs::write(dir.path().join(format!("rank{rank}.json")), host_rank(rank, data)).unwrap();
    }
    let files = trace_files(&[dir.path().to_owned()]).unwrap();
    let report = build_report(&analyze_files(&files, AnalyzeOptions::default(), &|_| true).unwrap(), 5, 0.1);
    let named: Vec<u32> = report.stragglers.iter().map(|s| s.rank).collect();
    assert_eq!(named, [2], "{:?}", report.stragglers);
    assert!(
        report.stragglers[0].reason.starts_with("data wait 30.0 ms/step vs 1.2 ms median"),
        "{}",
        report.stragglers[0].reason
    );

    // 4 ms more data wait than the others is under 5% of a 100 ms step: not a straggler.
    for (rank, data) in [(0, 1.0), (1, 1.5), (2, 5.5)] {
        std::fs::write(dir.path().join(format!("rank{rank}.json")), host_rank(rank, data)).unwrap();
    }
    let report = build_report(&analyze_files(&files, AnalyzeOptions::default(), &|_| true).unwrap(), 5, 0.1);
    assert!(report.stragglers.is_empty(), "{:?}", report.stragglers);
}

/// A rank slow in time no span records (a gap in its steps) is named for that, not for a part
/// that tied at "synchronisation 0.0 ms/step vs 0.0 ms median".
#[test]
fn a_straggler_slow_in_unrecorded_time_is_said_to_be() {
    let rank = |rank: u32, step_ms: u64| {
        let events: Vec<String> = (0..4u64)
            .flat_map(|step| {
                let t = step * step_ms * 1000;
                [
                    format!(r#"{{"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#{step}", "pid": 1, "tid": 1, "ts": {t}, "dur": {}}}"#, step_ms * 1000),
                    format!(r#"{{"ph": "X", "cat": "kernel", "name": "gemm", "pid": 0, "tid": 7, "ts": {t}, "dur": 50000, "args": {{"device": 0}}}}"#),
                ]
            })
            .collect();
        format!(
            r#"{{"distributedInfo": {{"backend": "nccl", "rank": {rank}}}, "traceEvents": [{}]}}"#,
            events.join(",\n")
        )
    };
    let dir = tempfile::tempdir().unwrap();
    for (index, step_ms) in [(0, 100), (1, 100), (2, 130)] {
        std::fs::write(dir.path().join(format!("rank{index}.json")), rank(index, step_ms)).unwrap();
    }
    let files = trace_files(&[dir.path().to_owned()]).unwrap();
    let report = build_report(&analyze_files(&files, AnalyzeOptions::default(), &|_| true).unwrap(), 5, 0.1);
    assert_eq!(report.stragglers.len(), 1, "{:?}", report.stragglers);
    let straggler = &report.stragglers[0];
    assert_eq!((straggler.rank, straggler.excess_ms_per_step), (2, 30.0));
    assert_eq!(
        straggler.reason,
        "unrecorded time (no op, kernel, DataLoader wait or sync covers it) 80.0 ms/step vs 50.0 ms median on the \
         other ranks"
    );
    assert!(!straggler.reason.contains("0.0 ms/step vs 0.0 ms"));
}

/// `jobs` beyond the machine's parallelism reads at most that many traces at once (100,000
/// threads used to be started).
#[test]
fn jobs_are_capped_at_the_machine() {
    let dir = tempfile::tempdir().unwrap();
    for rank in 0..3u32 {
        std::fs::write(dir.path().join(format!("r{rank}.json")), rank_trace(Some(rank), 2.0, 2.0)).unwrap();
    }
    let files = trace_files(&[dir.path().to_owned()]).unwrap();
    let threads = std::sync::Mutex::new(std::collections::HashSet::new());
    let options = AnalyzeOptions { jobs: 100_000, ..AnalyzeOptions::default() };
    let results = analyze_files(&files, options, &|_| {
        threads.lock().unwrap().insert(std::thread::current().id());
        true
    })
    .unwrap();
    assert_eq!(results.len(), 3);
    let used = threads.lock().unwrap().len();
    assert!((1..=profiler_analyze::max_jobs().min(3)).contains(&used), "{used} threads");
    assert!(profiler_analyze::max_jobs() >= 1);
}

/// A rank slow in device copies is named for them (they are neither compute nor unrecorded).
#[test]
fn a_straggler_slow_in_copies_is_named_for_them() {
    let rank = |rank: u32, copy_ms: u64| {
        let step_us = (100 + copy_ms) * 1000;
        let events: Vec<String> = (0..4u64)
            .flat_map(|step| {
                let t = step * step_us;
                let mut events = vec![
                    format!(r#"{{"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#{step}", "pid": 1, "tid": 1, "ts": {t}, "dur": {step_us}}}"#),
                    format!(r#"{{"ph": "X", "cat": "kernel", "name": "gemm", "pid": 0, "tid": 7, "ts": {t}, "dur": 100000, "args": {{"device": 0}}}}"#),
                ];
                if copy_ms > 0 {
                    events.push(format!(r#"{{"ph": "X", "cat": "gpu_memcpy", "name": "Memcpy HtoD (Pinned -> Device)", "pid": 0, "tid": 7, "ts": {}, "dur": {}, "args": {{"device": 0}}}}"#, t + 100_000, copy_ms * 1000));
                }
                events
            })
            .collect();
        format!(
            r#"{{"distributedInfo": {{"backend": "nccl", "rank": {rank}}}, "traceEvents": [{}]}}"#,
            events.join(",\n")
        )
    };
    let dir = tempfile::tempdir().unwrap();
    for (index, copy_ms) in [(0, 0), (1, 0), (2, 30)] {
        std::fs::write(dir.path().join(format!("rank{index}.json")), rank(index, copy_ms)).unwrap();
    }
    let files = trace_files(&[dir.path().to_owned()]).unwrap();
    let report = build_report(&analyze_files(&files, AnalyzeOptions::default(), &|_| true).unwrap(), 5, 0.1);
    assert_eq!(report.stragglers.len(), 1, "{:?}", report.stragglers);
    assert_eq!(report.stragglers[0].rank, 2);
    assert_eq!(report.stragglers[0].reason, "GPU copies and fills 30.0 ms/step vs 0.0 ms median on the other ranks");
}
