//! Integration tests of profiler-analyze on the fixture traces in `testdata/traces`.

#![expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]

mod errors;
mod independent;
mod ranks;
mod rules;

use std::path::{Path, PathBuf};

use profiler_analyze::{ReadOptions, Trace, read_trace};

pub(crate) fn testdata(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/traces").join(relative)
}

pub(crate) fn read(path: &Path) -> Trace {
    read_trace(path, ReadOptions::default(), &mut |_| true).unwrap_or_else(|err| panic!("{err}"))
}

#[test]
fn reads_every_fixture_trace() {
    let mut files: Vec<PathBuf> = ["h100", "public"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(testdata(dir)).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".json.gz"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 9);
    for file in files {
        let trace = read(&file);
        assert!(trace.stats.events >= 30, "{}: {} events", file.display(), trace.stats.events);
        assert!(!trace.cpu.is_empty(), "{}", file.display());
        assert_eq!(trace.damage, None);
        let analysis = profiler_analyze::analyze(&trace);
        assert!(analysis.window_ms > 0.0, "{}", file.display());
        assert!((0.0..=1.0).contains(&analysis.gpu.busy_fraction), "{}", file.display());
        let parts = &analysis.breakdown.fractions;
        let sum = parts.gpu + parts.data_wait + parts.communication + parts.sync + parts.host + parts.other;
        assert!((sum - 1.0).abs() < 1e-9, "{}: breakdown sums to {sum}", file.display());
        // Real traces count steps up, one after another: nothing to warn or note about them.
        assert_eq!((analysis.warnings.len(), analysis.notes.len()), (0, 0), "{}: {:?}", file.display(), analysis);
    }
}

/// A trace of steps given as (number, ts µs, dur µs), each with a 10 µs kernel.
fn stepped(steps: &[(&str, u64, u64)]) -> profiler_analyze::Trace {
    let events: Vec<String> = steps
        .iter()
        .map(|(number, ts, dur)| {
            format!(
                r#"{{"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#{number}", "pid": 1, "tid": 1, "ts": {ts}, "dur": {dur}}},
                   {{"ph": "X", "cat": "kernel", "name": "k", "pid": 0, "tid": 7, "ts": {ts}, "dur": 10, "args": {{"device": 0}}}}"#
            )
        })
        .collect();
    let json = format!("[{}]", events.join(",\n"));
    profiler_analyze::read_from(json.as_bytes(), Path::new("steps.json"), ReadOptions::default(), &mut |_| true)
        .unwrap()
}

#[test]
fn a_step_number_seen_twice_is_counted_once_with_a_warning() {
    let analysis =
        profiler_analyze::analyze(&stepped(&[("0", 0, 100), ("1", 100, 100), ("1", 500, 300), ("2", 200, 100)]));
    assert_eq!(analysis.steps.count, 3);
    assert_eq!(analysis.steps.max_ms, 0.1, "the repeat (300 µs) is left out");
    assert_eq!(
        analysis.warnings,
        ["ProfilerStep#1 appears twice with different times (ts 100 µs, dur 100 µs and ts 500 µs, dur 300 µs); \
          counted once, the first"]
    );
    assert!(analysis.notes.is_empty(), "{:?}", analysis.notes);
    // The same span written twice is one step and no contradiction.
    let analysis = profiler_analyze::analyze(&stepped(&[("0", 0, 100), ("0", 0, 100), ("1", 100, 100)]));
    assert_eq!((analysis.steps.count, analysis.warnings.len()), (2, 0));
    // Many repeats: the first three by name, then a count.
    let many: Vec<(&str, u64, u64)> = (0..6).flat_map(|i| [("7", i * 100, 50)]).collect();
    let analysis = profiler_analyze::analyze(&stepped(&many));
    assert_eq!(analysis.steps.count, 1);
    assert_eq!(analysis.warnings.len(), 4);
    assert_eq!(analysis.warnings[3], "2 more step numbers repeat with other times; each counted once");
    // `step_timings` (throughput of a trace) counts them once and says the same.
    let (timings, warnings) = profiler_analyze::step_timings_with_warnings(&stepped(&many));
    assert_eq!((timings.len(), warnings), (1, analysis.warnings));
}

#[test]
fn overlapping_steps_get_a_note() {
    let analysis = profiler_analyze::analyze(&stepped(&[("0", 0, 100), ("1", 80, 100), ("2", 180, 100)]));
    assert_eq!(analysis.steps.count, 3);
    assert!(analysis.warnings.is_empty());
    assert_eq!(
        analysis.notes,
        [
            "steps overlap: ProfilerStep#1 (ts 80 µs, dur 100 µs) starts 20 µs before ProfilerStep#0 (ts 0 µs, dur 100 µs) \
          ends; the shared time counts in each of them"
        ]
    );
    let analysis = profiler_analyze::analyze(&stepped(&[("0", 0, 1000), ("1", 100, 100), ("2", 300, 100)]));
    assert!(
        analysis.notes[0].ends_with("(2 overlapping steps in all); the shared time counts in each of them"),
        "{:?}",
        analysis.notes
    );
    // Back to back is not an overlap.
    let analysis = profiler_analyze::analyze(&stepped(&[("0", 0, 100), ("1", 100, 100)]));
    assert!(analysis.notes.is_empty());
}

#[test]
fn a_diff_of_a_stepped_trace_and_a_stepless_one_says_so() {
    let with_steps = profiler_analyze::analyze(&stepped(&[("0", 0, 100), ("1", 100, 100)]));
    let json = br#"[{"ph": "X", "cat": "kernel", "name": "k", "pid": 0, "tid": 7, "ts": 0, "dur": 30, "args": {"device": 0}}]"#;
    let trace =
        profiler_analyze::read_from(&json[..], Path::new("b.json"), ReadOptions::default(), &mut |_| true).unwrap();
    let without = profiler_analyze::analyze(&trace);
    let diff = profiler_analyze::diff("a.json", &with_steps, "b.json", &without, 5);
    assert_eq!(
        diff.notes,
        ["B (b.json) has no ProfilerStep#N spans and A has: per-step figures are not compared; ops and kernels are \
          compared as totals over each trace's window"]
    );
    assert!(diff.steps.is_empty());
    // Totals: two 10 µs kernels against one of 30 µs.
    assert_eq!((diff.kernels[0].a_ms, diff.kernels[0].b_ms), (0.02, 0.03));
    let reverse = profiler_analyze::diff("b.json", &without, "a.json", &with_steps, 5);
    assert!(reverse.notes[0].starts_with("A (b.json) has no ProfilerStep#N spans and B has"), "{:?}", reverse.notes);
    let neither = profiler_analyze::diff("b.json", &without, "b.json", &without, 5);
    assert!(neither.notes[0].starts_with("neither trace has ProfilerStep#N spans"), "{:?}", neither.notes);
    assert_eq!(neither.steps.len(), 8);
    assert!(profiler_analyze::diff("a", &with_steps, "a", &with_steps, 5).notes.is_empty());
}

#[test]
fn legacy_2021_schema_links_kernels_and_finds_the_dataloader() {
    let trace = read(&testdata("public/tb_plugin_resnet50_num_workers_0_2021.json.gz"));
    let analysis = profiler_analyze::analyze(&trace);
    assert_eq!(analysis.steps.count, 6);
    assert!(analysis.dataloader.fraction > 0.3, "{}", analysis.dataloader.fraction);
    assert!(
        analysis.kernels.iter().take(5).all(|k| !k.op.is_empty()),
        "kernels without ops: {:?}",
        &analysis.kernels[..5]
    );
    assert!(analysis.recommendations.iter().any(|r| r.id == "pageable-memcpy"));
    assert_eq!(analysis.recommendations[0].id, "dataloader-bound");
    // No `Total Allocated` in 2021: the peak of the running sum of `Bytes` (checked in Python).
    let memory = analysis.memory.unwrap();
    assert_eq!(memory[1].device, "cuda:0");
    assert_eq!((memory[1].peak_allocated_bytes, memory[1].from_deltas), (2_791_636_480, true));
    assert_eq!(memory[0].peak_allocated_bytes, 57_803_264);
}

#[test]
fn diff_of_the_h100_runs_shows_the_data_wait_gone() {
    let a = profiler_analyze::analyze(&read(&testdata("h100/dbnet_fp32_workers0_bs8.json.gz")));
    let b = profiler_analyze::analyze(&read(&testdata("h100/dbnet_fp32_workers8_bs8.json.gz")));
    let diff = profiler_analyze::diff("a", &a, "b", &b, 5);
    let row = |name: &str| diff.steps.iter().find(|row| row.name == name).unwrap();
    assert!(row("step time (mean)").delta_ms < -250.0, "{:?}", row("step time (mean)"));
    assert!(row("DataLoader spans").delta_ms < -250.0);
    assert_eq!(diff.ops.len(), 5);
    assert!(diff.ops.windows(2).all(|w| w[0].delta_ms.abs() >= w[1].delta_ms.abs()));
}

#[test]
fn breakdown_parts_follow_the_priority_rule_and_skip_helper_threads() {
    // One 100 µs step: data wait 0–20, a sync call 20–30, host ops 30–50 (on the loop thread and
    // on the autograd thread), a kernel 40–70; a pin-memory helper thread busy 70–100.
    let json = br#"{"traceEvents": [
      {"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#3", "pid": 1, "tid": 1, "ts": 0, "dur": 100},
      {"ph": "X", "cat": "user_annotation", "name": "enumerate(DataLoader)#_SingleProcessDataLoaderIter.__next__", "pid": 1, "tid": 1, "ts": 0, "dur": 20},
      {"ph": "X", "cat": "cuda_runtime", "name": "cudaStreamSynchronize", "pid": 1, "tid": 1, "ts": 20, "dur": 10},
      {"ph": "X", "cat": "cpu_op", "name": "aten::add", "pid": 1, "tid": 1, "ts": 30, "dur": 10},
      {"ph": "X", "cat": "cpu_op", "name": "autograd::engine::evaluate_function: AddBackward0", "pid": 1, "tid": 2, "ts": 35, "dur": 15},
      {"ph": "X", "cat": "kernel", "name": "k", "pid": 0, "tid": 7, "ts": 40, "dur": 30, "args": {"device": 0}},
      {"ph": "X", "cat": "cuda_runtime", "name": "cudaHostAlloc", "pid": 1, "tid": 3, "ts": 70, "dur": 30}
    ]}"#;
    let trace =
        profiler_analyze::read_from(&json[..], Path::new("parts.json"), ReadOptions::default(), &mut |_| true).unwrap();
    let step = &profiler_analyze::analyze(&trace).breakdown.per_step[0];
    let parts =
        [step.gpu_ms, step.data_wait_ms, step.sync_ms, step.host_ms, step.other_ms].map(|ms| (ms * 1e3).round());
    assert_eq!(parts, [30.0, 20.0, 10.0, 10.0, 30.0], "{step:?}");
}

#[test]
fn several_devices_are_reported_each_and_averaged() {
    let json = br#"{"traceEvents": [
      {"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#1", "pid": 1, "tid": 1, "ts": 0, "dur": 100},
      {"ph": "X", "cat": "kernel", "name": "k", "pid": 0, "tid": 7, "ts": 0, "dur": 80, "args": {"device": 0}},
      {"ph": "X", "cat": "kernel", "name": "ncclDevKernel_AllReduce", "pid": 1, "tid": 7, "ts": 50, "dur": 20, "args": {"device": 1}}
    ]}"#;
    let trace =
        profiler_analyze::read_from(&json[..], Path::new("two.json"), ReadOptions::default(), &mut |_| true).unwrap();
    let analysis = profiler_analyze::analyze(&trace);
    let gpu = &analysis.gpu;
    assert!((gpu.busy_fraction - 0.5).abs() < 1e-12, "mean of 0.8 and 0.2: {gpu:?}");
    assert_eq!((gpu.compute_ms, gpu.communication_ms), (0.08, 0.02));
    let value = serde_json::to_value(gpu).unwrap();
    assert_eq!(value["devices"][1]["device"], 1);
    assert_eq!(value["devices"][1]["communication_ms"], 0.02);
    assert!(value["devices"][1].get("devices").is_none());
    assert_eq!(analysis.temporal.len(), 2);
}
