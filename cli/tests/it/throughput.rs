//! `ocrperf throughput` from files and the built-in run.

use std::path::PathBuf;

use crate::{ocrperf, run, stderr, stdout};

fn testdata(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(relative)
}

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(output)).unwrap()
}

#[test]
fn events_file_report_and_table() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("batches.jsonl");
    let lines: String = (0..40)
        .map(|step| format!("{{\"step\":{step},\"batch_size\":16,\"data_wait_s\":0.005,\"compute_s\":0.095}}\n"))
        .collect();
    std::fs::write(&events, lines).unwrap();
    let report = json(&run(ocrperf().args(["throughput", "--format", "json"]).arg(&events), 0));
    assert_eq!(report["schema"], "ocrperf.throughput.v1");
    assert_eq!((report["batches"].as_u64(), report["samples"].as_u64()), (Some(40), Some(640)));
    assert!((report["samples_per_s"].as_f64().unwrap() - 160.0).abs() < 1e-6);
    assert_eq!(report["bottleneck"], "compute-bound");
    let table = stdout(&run(ocrperf().args(["throughput", "--format", "table", "--warmup", "10"]).arg(&events), 0));
    let table = table.replace(&events.display().to_string(), "<events>");
    insta::assert_snapshot!("events_table", table);
}

#[test]
fn traces_need_a_batch_size_and_lightning_csv_reads() {
    let trace = testdata("traces/h100/dbnet_fp32_workers0_bs8.json.gz");
    let output = run(ocrperf().args(["throughput"]).arg(&trace), 2);
    assert!(stderr(&output).contains("give it (--batch-size)"), "{}", stderr(&output));
    let report = json(&run(ocrperf().args(["throughput", "--batch-size", "8", "--format", "json"]).arg(&trace), 0));
    assert_eq!(report["bottleneck"], "input-bound");
    assert_eq!(report["batches"], 4);
    let output = run(ocrperf().args(["throughput", "--format", "json"]).arg(testdata("lightning/metrics.csv")), 0);
    let report = json(&output);
    assert_eq!((report["batches"].as_u64(), report["samples"].as_u64()), (Some(180), Some(1440)));
    // Lightning logs no data wait: no verdict, and a warning that says why.
    assert_eq!(report["bottleneck"], "unmeasured");
    assert!(
        stderr(&output).contains("metrics.csv: Lightning's metrics.csv records no data wait"),
        "{}",
        stderr(&output)
    );
    let table = run(ocrperf().args(["throughput", "--format", "table"]).arg(testdata("lightning/metrics.csv")), 0);
    assert!(
        stdout(&table).contains("verdict        unmeasured (the input records no data wait)"),
        "{}",
        stdout(&table)
    );
    // With batch events alongside, the verdict comes from the batches that have a wait.
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("batches.jsonl");
    std::fs::write(&events, "{\"step\":0,\"batch_size\":8,\"data_wait_s\":0.5,\"compute_s\":0.1}\n").unwrap();
    let mixed =
        run(ocrperf().args(["throughput", "--format", "json"]).arg(&events).arg(testdata("lightning/metrics.csv")), 0);
    assert_ne!(json(&mixed)["bottleneck"], "unmeasured");
}

#[test]
fn bad_lines_name_file_and_line_unless_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("bad.jsonl");
    std::fs::write(&events, "{\"step\":0,\"batch_size\":8,\"data_wait_s\":0.1,\"compute_s\":0.1}\nnot json\n").unwrap();
    let output = run(ocrperf().args(["throughput"]).arg(&events), 2);
    assert!(stderr(&output).contains("bad.jsonl:2: expected ident"), "{}", stderr(&output));
    let output = run(ocrperf().args(["throughput", "--skip-bad-lines", "--format", "json"]).arg(&events), 0);
    assert_eq!(json(&output)["skipped_lines"], 1);
    assert!(stderr(&output).contains("skipped 1 unreadable lines"));
    run(ocrperf().args(["throughput"]), 2);
}

#[test]
fn the_built_in_run_writes_a_chrome_trace_with_a_track_per_worker() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("timeline.json");
    let output = run(
        ocrperf()
            .args(["throughput", "run", "--workers", "2", "--epochs", "2", "--step", "1ms", "--format", "json", "-q"])
            .arg("--chrome-trace")
            .arg(&trace),
        0,
    );
    let report = json(&output);
    assert_eq!((report["batches"].as_u64(), report["samples"].as_u64()), (Some(50), Some(400)));
    let timeline: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let events = timeline["traceEvents"].as_array().unwrap();
    let names: Vec<&str> =
        events.iter().filter(|e| e["ph"] == "M").map(|e| e["args"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["training loop", "loader worker 0", "loader worker 1"]);
    let batches = events.iter().filter(|e| e["name"].as_str().is_some_and(|n| n.starts_with("batch "))).count();
    assert_eq!(batches, 50);
    assert!(events.iter().filter(|e| e["ph"] == "X").all(|e| e["dur"].as_f64().unwrap() >= 0.0));
}

#[test]
fn discarding_maps_still_counts_every_sample() {
    let args = ["throughput", "run", "--workers", "2", "--epochs", "2", "--step", "0ms", "--batch-size", "7"];
    let output = run(ocrperf().args(args).args(["--discard-maps", "--format", "json", "-q"]), 0);
    let report = json(&output);
    // 200 images in batches of 7: 28 full batches and one of 4, twice.
    assert_eq!((report["batches"].as_u64(), report["samples"].as_u64()), (Some(58), Some(400)));
    assert!(report["samples_per_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_numbers_are_usage_errors() {
    for args in [
        &["run", "--workers", "100000"][..],
        &["run", "--batch-size", "0"],
        &["run", "--prefetch-factor", "0"],
        &["run", "--epochs", "0"],
        &["run", "--cache-mb", "-1"],
        &["run", "--step", "soon"],
        &["--batch-size", "0", "trace.json"],
    ] {
        let output = run(ocrperf().arg("throughput").args(args), 2);
        assert!(stderr(&output).contains("error: invalid value"), "{args:?}: {}", stderr(&output));
    }
}

/// A full disk for the Chrome trace: exit 2 naming the file, no partial file, and the report
/// still printed (the run's figures are not lost).
#[cfg(target_os = "linux")]
#[test]
fn a_chrome_trace_on_a_full_disk_exits_2_after_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    let command = format!(
        "head -c 60000 /dev/zero > '{small}/filler'; '{bin}' throughput run --workers 2 --epochs 1 --step 0ms \
         --format json -q --chrome-trace '{small}/timeline.json'; echo rc=$?; ls -A '{small}'",
        small = small.display(),
        bin = crate::ocrperf_path(),
    );
    let output = crate::on_a_full_disk(&small, &command);
    let (out, err) = (stdout(&output), stderr(&output));
    assert_eq!(
        err,
        format!("ocrperf: error: {}/timeline.json: No space left on device (os error 28)\n", small.display())
    );
    let (report, rest) = out.split_at(out.rfind("}\n").map_or(0, |end| end + 2));
    let report: serde_json::Value = serde_json::from_str(report).unwrap();
    assert_eq!((report["batches"].as_u64(), report["samples"].as_u64()), (Some(25), Some(200)));
    assert_eq!(rest, "rc=2\nfiller\n", "a partial or temporary file was left behind");
}
