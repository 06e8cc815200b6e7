//! `ocrperf trace analyze|diff` on the fixture traces, as a user runs them.

use std::path::PathBuf;

use crate::{ocrperf, run, stderr, stdout};

fn traces(relative: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/traces").join(relative)
}

const WORKERS0: &str = "h100/dbnet_fp32_workers0_bs8.json.gz";
const WORKERS8: &str = "h100/dbnet_fp32_workers8_bs8.json.gz";

/// The fixture path as printed, with the checkout's location removed.
fn redact_paths(text: &str) -> String {
    text.replace(&traces("").display().to_string(), "<traces>/")
}

fn analyze(file: &str, format: &str) -> String {
    let output = run(ocrperf().args(["trace", "analyze", "--top", "5", "--format", format]).arg(traces(file)), 0);
    redact_paths(&stdout(&output))
}

#[test]
fn table_and_markdown_reports_read_well() {
    insta::assert_snapshot!("analyze_workers0_table", analyze(WORKERS0, "table"));
    insta::assert_snapshot!("analyze_workers8_md", analyze(WORKERS8, "md"));
}

#[test]
fn json_report_has_the_fixed_fields() {
    let value: serde_json::Value = serde_json::from_str(&analyze(WORKERS8, "json")).unwrap();
    assert_eq!(value["schema"], "ocrperf.trace-analysis.v1");
    let ids: Vec<&str> =
        value["recommendations"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["gpu-underutilized", "no-mixed-precision", "host-sync"]);
    insta::assert_json_snapshot!("analyze_workers8_json", value, {
        ".created_at" => "[time]",
        ".host" => "[host]",
        ".git" => "[git]",
        ".tool_version" => "[version]",
        ".read.seconds" => "[seconds]",
        ".read.mb_per_s" => "[rate]",
        ".file" => "[file]",
    });
}

#[test]
fn a_directory_of_ranks_and_an_svg_chart() {
    let dir = tempfile::tempdir().unwrap();
    let ranks = dir.path().join("run");
    std::fs::create_dir(&ranks).unwrap();
    std::fs::copy(traces(WORKERS8), ranks.join("rank0.pt.trace.json.gz")).unwrap();
    std::fs::copy(traces(WORKERS0), ranks.join("rank1.pt.trace.json.gz")).unwrap();
    let svg = dir.path().join("chart.svg");
    let output = run(ocrperf().args(["trace", "analyze", "--format", "json", "--svg"]).arg(&svg).arg(&ranks), 0);
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value["ranks"].as_array().unwrap().len(), 2);
    assert_eq!(value["stragglers"][0]["rank"], 1);
    assert!(value["stragglers"][0]["reason"].as_str().unwrap().starts_with("data wait"), "{}", value["stragglers"]);
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.starts_with("<svg") && chart.trim_end().ends_with("</svg>"));
    assert_eq!(chart.matches("<title>step ").count(), 8 * 5, "8 steps of 5 parts");
    assert!(chart.contains("GPU 0"));
}

#[test]
fn diff_puts_the_largest_changes_first() {
    let output = run(
        ocrperf()
            .args(["trace", "diff", "--top", "4", "--format", "table"])
            .arg(traces(WORKERS0))
            .arg(traces(WORKERS8)),
        0,
    );
    insta::assert_snapshot!("diff_table", redact_paths(&stdout(&output)));
}

#[test]
fn damaged_traces_exit_2_with_the_offset_unless_lenient() {
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.json.gz");
    let bytes = std::fs::read(traces(WORKERS0)).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let output = run(ocrperf().args(["trace", "analyze"]).arg(&cut), 2);
    let message = stderr(&output);
    assert!(message.starts_with("ocrperf: error: reading the trace: "), "{message}");
    assert!(message.contains("cut.json.gz: byte "), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");

    let output = run(ocrperf().args(["trace", "analyze", "--lenient", "--format", "json"]).arg(&cut), 0);
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(value["read"]["damage"]["offset"].as_u64().unwrap() > 1_000_000);
    assert!(value["notes"][0].as_str().unwrap().starts_with("partial: "), "{}", value["notes"]);
    assert!(stderr(&output).contains("warning: "), "{}", stderr(&output));

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{\"traceEvents\": [{\"ph\": \"X\", \"ts\": 1,, }]}").unwrap();
    let output = run(ocrperf().args(["trace", "analyze"]).arg(&garbage), 2);
    assert!(stderr(&output).contains("garbage.json: byte 37: key must be a string"), "{}", stderr(&output));

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let output = run(ocrperf().args(["trace", "analyze"]).arg(&empty), 2);
    assert!(stderr(&output).contains("no .json or .json.gz traces"), "{}", stderr(&output));
    let output = run(ocrperf().args(["trace", "analyze"]).arg(dir.path().join("absent.json")), 2);
    assert_eq!(stderr(&output).matches("No such file or directory").count(), 1, "{}", stderr(&output));
}

/// A run's directory with the report of an earlier analysis beside its traces, as the Lightning
/// `Profiler` leaves it: the report is told from the traces by its content, not its name, and
/// `-o` over a trace is refused before anything is read.
#[test]
fn a_report_beside_the_traces_is_not_read_and_o_over_a_trace_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for rank in ["rank0.pt.trace.json.gz", "rank1.pt.trace.json.gz"] {
        std::fs::copy(traces("gloo/slow-rank1").join(rank), dir.path().join(rank)).unwrap();
    }
    let report = dir.path().join("report.json");
    run(ocrperf().args(["trace", "analyze", "-q", "-o"]).arg(&report).arg(dir.path()), 0);
    // Renamed, the report is still no trace.
    std::fs::copy(&report, dir.path().join("earlier.json")).unwrap();
    let output = run(ocrperf().args(["trace", "analyze", "--format", "json"]).arg(dir.path()), 0);
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let first: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(value["ranks"].as_array().unwrap().len(), 2, "{}", value["ranks"]);
    assert_eq!(value["ranks"], first["ranks"]);
    assert_eq!(stderr(&output), "");

    let trace = dir.path().join("rank1.pt.trace.json.gz");
    let before = std::fs::read(&trace).unwrap();
    for args in [vec![trace.clone()], vec![dir.path().to_owned()]] {
        let output = run(ocrperf().args(["trace", "analyze", "-o"]).arg(&trace).args(&args), 2);
        assert_eq!(
            stderr(&output),
            format!(
                "ocrperf: error: {}: `-o` would write over an input of this command ({}); give another output path\n",
                trace.display(),
                args[0].display()
            )
        );
    }
    let output = run(ocrperf().args(["trace", "diff", "-o"]).arg(&trace).arg(&trace).arg(dir.path()), 2);
    assert!(stderr(&output).contains("`-o` would write over an input of this command"), "{}", stderr(&output));
    let svg = run(ocrperf().args(["trace", "analyze", "--svg"]).arg(&trace).arg(&trace), 2);
    assert!(stderr(&svg).contains("`--svg` would write over an input"), "{}", stderr(&svg));
    assert_eq!(std::fs::read(&trace).unwrap(), before);
}
