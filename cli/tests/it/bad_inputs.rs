//! The hostile-input corpus (`testdata/bad/`): each class of bad input through the command a
//! user would run. Refusals are one line and exit 2, and all of them are kept in one insta
//! snapshot (paths shown from `testdata/bad`). Inputs that are odd but usable must work, and
//! contradictions that are read anyway must warn with the place.

use std::{fmt::Write as _, path::PathBuf};

use crate::{ocrperf, run, stderr, stdout};

fn bad(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/bad").join(relative)
}

fn gt_fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/dbnet/gt")
}

/// The command lines that must be refused: (case, arguments; `@x` is `testdata/bad/x`).
const REFUSED: &[(&str, &[&str])] = &[
    ("jsonl: a wait of 1e308 s", &["throughput", "@events/huge_wait.jsonl"]),
    ("jsonl: batch_size 0", &["throughput", "@events/batch_size_zero.jsonl"]),
    ("jsonl: negative compute", &["throughput", "@events/negative_compute.jsonl"]),
    ("jsonl: not UTF-8", &["throughput", "@events/not_utf8.jsonl"]),
    ("jsonl: a missing field", &["throughput", "@events/missing_field.jsonl"]),
    ("jsonl: no newline for ever", &["throughput", "/dev/zero"]),
    ("jsonl: warm-up eats every batch", &["throughput", "--warmup", "1000", "@events/twenty.jsonl"]),
    ("lightning: time goes back alone", &["throughput", "@lightning/time_backwards.csv"]),
    ("lightning: batches go back alone", &["throughput", "@lightning/batches_backwards.csv"]),
    ("lightning: not a ThroughputMonitor log", &["throughput", "@lightning/no_columns.csv"]),
    ("trace: empty traceEvents", &["trace", "analyze", "@traces/empty.json"]),
    ("trace: metadata only", &["trace", "analyze", "@traces/metadata_only.json"]),
    ("trace: ts is text", &["trace", "analyze", "@traces/ts_text.json"]),
    ("trace: dur is a boolean", &["trace", "analyze", "@traces/dur_bool.json"]),
    ("trace: negative durations", &["trace", "analyze", "@traces/dur_negative.json"]),
    ("trace: a step of 1e302 s", &["trace", "analyze", "@traces/step_huge.json"]),
    ("trace: truncated", &["trace", "analyze", "@traces/truncated.json"]),
    ("trace: a NaN ts (Python's json)", &["trace", "analyze", "@traces/ts_nan.json"]),
    ("trace: a dur of 1e400", &["trace", "analyze", "@traces/dur_1e400.json"]),
    ("trace: a dur of \"NaN\"", &["trace", "analyze", "@traces/dur_nan_text.json"]),
    ("trace: a ts past any clock", &["trace", "analyze", "@traces/ts_past_clock.json"]),
    ("trace: ProfilerStep#-5", &["trace", "analyze", "@traces/step_negative.json"]),
    ("trace: ProfilerStep#abc", &["trace", "analyze", "@traces/step_not_a_number.json"]),
    ("trace: a step number beyond 64 bits", &["trace", "analyze", "@traces/step_beyond_u64.json"]),
    ("throughput of a trace: negative durations", &["throughput", "--batch-size", "8", "@traces/dur_negative.json"]),
    ("throughput of a trace: a step of 1e302 s", &["throughput", "--batch-size", "8", "@traces/step_huge.json"]),
    ("throughput of a trace: no batch size", &["throughput", "@traces/dur_negative.json"]),
    ("digest --check: a newer schema", &["targets", "digest", "--gt", "@GT", "--check", "@digests/future_schema.json"]),
    (
        "digest --check: another report kind",
        &["targets", "digest", "--gt", "@GT", "--check", "@digests/wrong_kind.json"],
    ),
    ("digest --check: no files", &["targets", "digest", "--gt", "@GT", "--check", "@digests/no_files.json"]),
    ("digest --check: a bad entry", &["targets", "digest", "--gt", "@GT", "--check", "@digests/bad_entry.json"]),
    ("digest --check: not UTF-8", &["targets", "digest", "--gt", "@GT", "--check", "@digests/not_utf8.json"]),
    (
        "digest --check: another data set",
        &["targets", "digest", "--gt", "@GT", "--check", "@digests/other_data_set.json"],
    ),
    ("gt: the largest size needs 16 GiB", &["targets", "digest", "--gt", "@gt/largest_size"]),
    ("gt: two different sizes", &["targets", "digest", "--gt", "@gt/two_sizes"]),
    ("gt: a NaN coordinate", &["targets", "digest", "--gt", "@gt/nan"]),
    ("gt: not UTF-8", &["targets", "digest", "--gt", "@gt/not_utf8"]),
    ("gt: --size beyond the limit", &["targets", "digest", "--gt", "@gt/nan", "--size", "40000x40000"]),
    ("targets: --min-text-size inf", &["targets", "digest", "--gt", "@GT", "--min-text-size", "inf"]),
    ("targets: --shrink-ratio 1e308", &["targets", "digest", "--gt", "@GT", "--shrink-ratio", "1e308"]),
    ("targets: --shrink-ratio 0", &["targets", "digest", "--gt", "@GT", "--shrink-ratio", "0"]),
    ("targets bench: --cache-mb -1", &["targets", "bench", "--cache-mb", "-1"]),
    ("throughput run: --cache-mb 2^21", &["throughput", "run", "--cache-mb", "2097152"]),
    ("monitor: --duration 0s", &["monitor", "--duration", "0s", "--no-gpu"]),
    ("monitor: --duration 2^64 s", &["monitor", "--duration", "18446744073709551615s", "--no-gpu"]),
    ("monitor: --interval 2^64 s", &["monitor", "--interval", "18446744073709551615s", "--no-gpu"]),
    ("monitor: --interval 1ms", &["monitor", "--interval", "1ms", "--no-gpu"]),
    ("monitor: --pid that does not exist", &["monitor", "--pid", "4294967295", "--no-gpu", "--duration", "1s"]),
    ("monitor: a command that does not exist", &["monitor", "--no-gpu", "--", "/nonexistent/train.py"]),
    ("throughput run: --step 2^64 s", &["throughput", "run", "--step", "18446744073709551615s"]),
    ("monitor report: two sample files concatenated", &["monitor", "report", "@monitor/concatenated.jsonl"]),
    ("monitor report: the CSV", &["monitor", "report", "@monitor/samples.csv"]),
    ("monitor report: not UTF-8", &["monitor", "report", "@monitor/not_utf8.jsonl"]),
    ("monitor report: no header", &["monitor", "report", "@monitor/no_header.jsonl"]),
    ("monitor report: stdin without -o", &["monitor", "report", "-"]),
    (
        "monitor --alerts: a bad severity",
        &["monitor", "--no-gpu", "--duration", "1s", "--alerts", "@rules/bad_severity.toml"],
    ),
    ("monitor --alerts: not UTF-8", &["monitor", "--no-gpu", "--duration", "1s", "--alerts", "@rules/not_utf8.toml"]),
    ("targets gen: a file where the directory goes", &["targets", "gen", "--gt", "@GT", "--out", "@not_a_directory"]),
    (
        "monitor report --svg: a file where the directory goes",
        &["monitor", "report", "@monitor/samples.jsonl.gz", "--svg", "@not_a_directory"],
    ),
    (
        "throughput run: an output path in a missing directory",
        &["throughput", "run", "--chrome-trace", "/nonexistent/t.json"],
    ),
    ("jsonl: a batch that takes no time", &["throughput", "@events/zero_time.jsonl"]),
    ("jsonl: a batch over an hour", &["throughput", "@events/batch_over_an_hour.jsonl"]),
    ("baseline of batch events: batch_size 0", &["baseline", "@events/batch_size_zero.jsonl"]),
    ("baseline of batch events: a batch that takes no time", &["baseline", "@events/zero_time.jsonl"]),
    ("baseline of batch events: a batch over an hour", &["baseline", "@events/batch_over_an_hour.jsonl"]),
    ("jsonl: a newer batch-events schema", &["throughput", "@events/future_schema.jsonl"]),
    ("jsonl: another schema", &["throughput", "--skip-bad-lines", "@events/wrong_schema.jsonl"]),
    ("baseline of batch events: a newer schema", &["baseline", "@events/future_schema.jsonl"]),
    ("baseline: a batch over an hour in Lightning's log", &["baseline", "@regression/lightning_batch_over_an_hour"]),
    ("baseline: warm-up eats every sample", &["baseline", "--warmup", "1000", "@events/twenty.jsonl"]),
    (
        "baseline -o: the input itself",
        &["baseline", "@regression/output_is_input.jsonl", "-o", "@regression/output_is_input.jsonl"],
    ),
    ("baseline -o: the input directory", &["baseline", "@regression/duplicate", "-o", "@regression/duplicate"]),
    (
        "throughput -o: the input itself",
        &["throughput", "@regression/output_is_input.jsonl", "-o", "@regression/output_is_input.jsonl"],
    ),
    (
        "regress --junit: an input",
        &[
            "regress",
            "--baseline",
            "@events/twenty.jsonl",
            "--current",
            "@regression/duplicate",
            "--junit",
            "@regression/duplicate/rank0.jsonl",
        ],
    ),
    ("baseline: two sources give one metric", &["baseline", "@regression/duplicate"]),
    (
        "regress --thresholds: threshold = 0",
        &[
            "regress",
            "--thresholds",
            "@regression/threshold_zero.toml",
            "--baseline",
            "@regression/output_is_input.jsonl",
            "--current",
            "@regression/output_is_input.jsonl",
        ],
    ),
    ("baseline: a report with a metric twice", &["baseline", "@regression/repeated_metric.json"]),
    ("baseline: a report with a negative duration", &["baseline", "@regression/negative_duration.json"]),
    ("baseline: a negative step time in Lightning's log", &["baseline", "@regression/negative_step_time"]),
    ("baseline: a negative step time in TensorBoard", &["baseline", "@regression/negative_tensorboard"]),
    ("baseline: a 5.5 KB event file claiming a 256 MiB record", &["baseline", "@regression/huge_record"]),
    ("baseline: an MLflow store whose only run is deleted", &["baseline", "@regression/deleted_store"]),
    ("baseline: a run deeper than the search goes", &["baseline", "@regression/too_deep"]),
    (
        "regress: two runs, and the options that pick one",
        &["regress", "--baseline", "@regression/two_runs", "--current", "@events/twenty.jsonl"],
    ),
    (
        "regress: a hand-edited baseline",
        &["regress", "--baseline", "@regression/edited_baseline.json", "--current", "@events/twenty.jsonl"],
    ),
    (
        "regress: a baseline that is not UTF-8",
        &["regress", "--baseline", "@regression/not_utf8_baseline.json", "--current", "@events/twenty.jsonl"],
    ),
];

fn args(raw: &[&str]) -> Vec<String> {
    raw.iter()
        .map(|arg| match arg.strip_prefix('@') {
            Some("GT") => gt_fixture().display().to_string(),
            Some(relative) => bad(relative).display().to_string(),
            None => (*arg).to_owned(),
        })
        .collect()
}

/// Paths as a reader of the snapshot sees them.
fn redact(text: &str) -> String {
    let root = bad("").display().to_string();
    text.replace(&root, "testdata/bad/").replace(&gt_fixture().display().to_string(), "testdata/dbnet/gt")
}

#[test]
fn every_refusal_is_one_line_and_exit_2() {
    let mut all = String::new();
    for (case, raw) in REFUSED {
        let output = ocrperf().args(args(raw)).output().unwrap();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{case}: {err}");
        let lines: Vec<&str> = err.lines().filter(|line| !line.starts_with("warning: ")).collect();
        // clap's usage errors add a blank line and a hint; ours are one line.
        let message = lines.first().copied().unwrap_or_default();
        if !message.starts_with("error: invalid value") {
            assert_eq!(lines.len(), 1, "{case}: {err}");
        }
        assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{case}: {err}");
        let _ = writeln!(all, "{case}\n    {}", redact(message));
    }
    insta::assert_snapshot!("refusals", all);
}

/// Odd inputs that are still good data.
#[test]
fn usable_oddities_are_read() {
    // A byte-order mark.
    let report = stdout(&run(ocrperf().args(["throughput", "--format", "json"]).arg(bad("events/bom.jsonl")), 0));
    assert!(report.contains("\"batches\": 4"), "{report}");
    // Standard input.
    let output =
        run(ocrperf().args(["throughput", "--format", "json", "-"]).pipe_stdin(bad("events/twenty.jsonl")).unwrap(), 0);
    assert!(stdout(&output).contains("\"batches\": 20"));
    // A gzipped trace on standard input.
    let trace =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/traces/h100/dbnet_fp32_workers0_bs8.json.gz");
    let output = run(ocrperf().args(["trace", "analyze", "-", "--format", "json"]).pipe_stdin(trace).unwrap(), 0);
    assert!(stdout(&output).contains("\"count\": 4"), "{}", stdout(&output));
    // A gzipped sample file, and standard input with -o.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.html");
    run(ocrperf().args(["monitor", "report"]).arg(bad("monitor/samples.jsonl.gz")).arg("-o").arg(&page), 0);
    assert!(std::fs::read_to_string(&page).unwrap().contains("<h2>Summary</h2>"));
    run(
        ocrperf()
            .args(["monitor", "report", "-", "-o"])
            .arg(&page)
            .pipe_stdin(bad("monitor/huge_values.jsonl"))
            .unwrap(),
        0,
    );
    // Values near f64::MAX give finite figures, with units.
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("inf") && !html.contains("NaN"), "{html}");
    assert!(html.contains("<td>host.memory_used_bytes</td><td>500 B</td>"), "{html}");
    // A polygon a billion pixels wide costs only its part on the canvas.
    let output = run(
        ocrperf().args(["targets", "digest", "--no-validation", "--format", "json", "--gt"]).arg(bad("gt/far_outside")),
        0,
    );
    assert!(stdout(&output).contains("\"images\": 1"));
    // Eight numbers and no transcription are four points (they used to read as an odd count, 7).
    let output =
        run(ocrperf().args(["targets", "digest", "--format", "json", "--gt"]).arg(bad("gt/no_transcription")), 0);
    assert!(stdout(&output).contains("\"images\": 1"), "{}", stdout(&output));
    // More jobs than the machine runs at once: capped, with a note, never 100,000 threads.
    let gloo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/traces/gloo/slow-rank1");
    let output = run(ocrperf().args(["trace", "analyze", "--format", "json", "--jobs", "100000"]).arg(&gloo), 0);
    let most = std::thread::available_parallelism().unwrap().get();
    assert!(
        stderr(&output).contains(&format!(
            "note: --jobs 100000 is more than the {most} threads this machine runs at once; reading at most {most} \
             traces at a time"
        )),
        "{}",
        stderr(&output)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["ranks"].as_array().unwrap().len(), 2);
    // Writing to a device writes into it, and leaves it a device.
    run(ocrperf().args(["info", "-o", "/dev/null"]), 0);
    use std::os::unix::fs::FileTypeExt as _;
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
}

/// Contradictions that are read anyway say where they are.
#[test]
fn contradictions_warn_with_their_place() {
    let cases: &[(&[&str], &str)] = &[
        (&["throughput", "@events/steps_backwards.jsonl"], "steps_backwards.jsonl:5: `step` repeats or goes backwards"),
        (&["throughput", "@lightning/restart.csv"], "restart.csv:4: train/time and train/batches start again"),
        (
            &["monitor", "report", "@monitor/time_backwards.jsonl", "-o", "/dev/null"],
            "time_backwards.jsonl:4: `t_ms` goes backwards",
        ),
        (
            &["monitor", "--no-gpu", "--duration", "50ms", "--interval", "10ms", "--alerts", "@rules/typo.toml"],
            "rule `cpu`: metric `host.cpu_prcent` matches nothing",
        ),
        (
            &["monitor", "--no-gpu", "--duration", "50ms", "--interval", "10ms", "--alerts", "@rules/empty.toml"],
            "no alert can fire",
        ),
    ];
    for (raw, expected) in cases {
        let output = run(ocrperf().args(args(raw)), 0);
        assert!(stderr(&output).contains(expected), "{raw:?}: {}", stderr(&output));
    }
    // Every event written twice: each kernel counted once, and said so.
    let once = stdout(&run(
        ocrperf().args(["trace", "analyze", "--format", "json"]).arg(bad("traces/every_event_twice.json")),
        0,
    ));
    let value: serde_json::Value = serde_json::from_str(&once).unwrap();
    assert_eq!(value["gpu"]["kernel_ms"], 1.5);
    assert!(value["notes"][0].as_str().unwrap().contains("3 device events appear twice"), "{value}");

    // A step number seen twice with different times: a warning with both times, counted once.
    let output = run(ocrperf().args(["trace", "analyze", "--format", "json"]).arg(bad("traces/step_twice.json")), 0);
    let warning = "ProfilerStep#1 appears twice with different times (ts 1000 µs, dur 1000 µs and ts 5000 µs, \
                   dur 1500 µs); counted once, the first";
    let warning = format!("{}: {warning}", bad("traces/step_twice.json").display());
    assert!(stderr(&output).contains(&format!("warning: {warning}")), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!((value["steps"]["count"].as_u64(), value["steps"]["max_ms"].as_f64()), (Some(3), Some(1.0)));
    assert_eq!(value["notes"][0], warning.as_str());
    // `throughput` of the same trace counts the step once too, and says so.
    let output = run(
        ocrperf().args(["throughput", "--batch-size", "8", "--format", "json"]).arg(bad("traces/step_twice.json")),
        0,
    );
    assert!(stderr(&output).contains(&format!("warning: {warning}")), "{}", stderr(&output));
    assert!(stdout(&output).contains("\"batches\": 3"), "{}", stdout(&output));

    // Overlapping steps: a note, no warning.
    let output = run(ocrperf().args(["trace", "analyze", "--format", "json"]).arg(bad("traces/steps_overlap.json")), 0);
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(
        value["notes"][0].as_str().unwrap().ends_with(
            "/steps_overlap.json: steps overlap: ProfilerStep#1 (ts 800 µs, dur 1000 µs) starts 200 µs before \
             ProfilerStep#0 (ts 0 µs, dur 1000 µs) ends; the shared time counts in each of them"
        ),
        "{value}"
    );

    // A diff of a stepped trace and a step-less one says that per-step figures are not compared.
    let output = run(
        ocrperf()
            .args(["trace", "diff", "--format", "json"])
            .arg(bad("traces/step_twice.json"))
            .arg(bad("traces/no_steps.json")),
        0,
    );
    let note = format!(
        "B ({}) has no ProfilerStep#N spans and A has: per-step figures are not compared; ops and kernels are \
         compared as totals over each trace's window",
        bad("traces/no_steps.json").display()
    );
    assert!(stderr(&output).contains(&format!("note: {note}")), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value["notes"][0], note.as_str());
    assert_eq!(value["steps"].as_array().map(Vec::len), Some(0));
    let table = stdout(&run(
        ocrperf()
            .args(["trace", "diff", "--format", "table"])
            .arg(bad("traces/no_steps.json"))
            .arg(bad("traces/step_twice.json")),
        0,
    ));
    assert!(table.contains("A (") && table.contains("has no ProfilerStep#N spans and B has"), "{table}");
    assert!(!table.contains("Per step"), "{table}");
}

/// One signal stops a command that is blocked, within a second, with 130.
#[test]
fn one_signal_stops_a_blocked_command() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.json");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    for command in [
        vec!["trace".to_owned(), "analyze".to_owned(), fifo.display().to_string()],
        ["throughput", "run", "--step", "1h", "--epochs", "1", "--format", "table"].map(str::to_owned).to_vec(),
    ] {
        let child = std::process::Command::new(crate::ocrperf_path())
            .args(&command)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let sent = std::time::Instant::now();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM)
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let took = sent.elapsed();
        assert_eq!(output.status.code(), Some(130), "{command:?}: {}", stderr(&output));
        assert!(took < std::time::Duration::from_millis(1500), "{command:?} took {took:?} to stop");
        let said = format!("{}{}", stdout(&output), stderr(&output));
        assert!(said.contains("interrupted"), "{command:?}: {said}");
    }
}
