//! `ocrperf baseline` and `ocrperf regress` on the tracker fixtures, as a user runs them.

use std::path::{Path, PathBuf};

use crate::{ocrperf, run, stderr, stdout};

fn fixtures(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/regression").join(relative)
}

/// Paths as printed, with the checkout's and the temp dir's locations removed.
fn redact(text: &str, temp: Option<&Path>) -> String {
    let mut text = text.replace(&fixtures("").display().to_string(), "<fixtures>/");
    if let Some(temp) = temp {
        text = text.replace(&temp.display().to_string(), "<tmp>");
    }
    text
}

/// The SQLite store is committed gzipped.
fn mlflow_db(dir: &Path) -> PathBuf {
    let path = dir.join("mlflow.db");
    let mut source = flate2::read::GzDecoder::new(std::fs::File::open(fixtures("mlflow-sqlite/mlflow.db.gz")).unwrap());
    std::io::copy(&mut source, &mut std::fs::File::create(&path).unwrap()).unwrap();
    path
}

const TB_BASE: &str = "tensorboard/baseline";
const TB_SLOWER: &str = "tensorboard/slower";

#[test]
fn baseline_in_every_format() {
    let base = fixtures(TB_BASE);
    let table = run(ocrperf().args(["baseline", "--format", "table"]).arg(&base), 0);
    insta::assert_snapshot!(
        "baseline_table",
        redact(&stdout(&table), None).replace(&read_line(&stdout(&table)), "  read        [read]")
    );
    let markdown = run(ocrperf().args(["baseline", "--format", "md"]).arg(&base), 0);
    insta::assert_snapshot!("baseline_md", redact(&stdout(&markdown), None));
    let json = run(ocrperf().args(["baseline", "--format", "json"]).arg(&base), 0);
    let value: serde_json::Value = serde_json::from_str(&redact(&stdout(&json), None)).unwrap();
    assert_eq!(value["schema"], "ocrperf.baseline.v1");
    insta::assert_json_snapshot!("baseline_json", value, {
        ".created_at" => "[time]",
        ".host" => "[host]",
        ".git" => "[git]",
        ".tool_version" => "[version]",
        ".read.seconds" => "[seconds]",
        ".read.mb_per_s" => "[rate]",
    });
}

/// The `read` line of a baseline table: its time and rate vary.
fn read_line(text: &str) -> String {
    text.lines().find(|line| line.trim_start().starts_with("read ")).unwrap_or_default().to_owned()
}

#[test]
fn baseline_directory_holds_json_markdown_and_charts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("perf");
    let output =
        run(ocrperf().args(["baseline", "-o"]).arg(&out).arg(fixtures("wandb/baseline")).args(["--format", "json"]), 0);
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("baseline.json")).unwrap()).unwrap();
    assert_eq!(printed["metrics"], written["metrics"]);
    let markdown = std::fs::read_to_string(out.join("baseline.md")).unwrap();
    let charts: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".svg"))
        .collect();
    assert_eq!(charts.len(), 3, "{charts:?}");
    for chart in &charts {
        assert!(markdown.contains(&format!("]({chart})")), "{chart} is linked");
        roxmltree::Document::parse(&std::fs::read_to_string(out.join(chart)).unwrap()).unwrap();
    }
    assert!(stderr(&output).contains("baseline.md and 3 charts"), "{}", stderr(&output));
    // A single file with -o takes its format from the extension.
    let page = dir.path().join("page.md");
    run(ocrperf().args(["baseline", "-q", "-o"]).arg(&page).arg(fixtures("wandb/baseline")), 0);
    assert!(std::fs::read_to_string(page).unwrap().starts_with("# Performance baseline: baseline\n"));
}

#[test]
fn regress_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let (junit, markdown) = (dir.path().join("junit.xml"), dir.path().join("perf.md"));
    let args = |format: &str| {
        let mut cmd = ocrperf();
        cmd.args(["regress", "--format", format, "--baseline"])
            .arg(fixtures(TB_BASE))
            .arg("--current")
            .arg(fixtures(TB_SLOWER));
        cmd
    };
    let table = run(args("table").arg("--junit").arg(&junit).arg("--markdown").arg(&markdown), 1);
    insta::assert_snapshot!("regress_table", redact(&stdout(&table), None));
    let md = run(&mut args("md"), 1);
    insta::assert_snapshot!("regress_md", redact(&stdout(&md), None));
    assert_eq!(std::fs::read_to_string(&markdown).unwrap(), stdout(&md), "--markdown writes what --format md prints");
    let json = run(&mut args("json"), 1);
    let value: serde_json::Value = serde_json::from_str(&redact(&stdout(&json), None)).unwrap();
    assert_eq!((value["schema"].as_str(), value["verdict"].as_str()), (Some("ocrperf.regress.v1"), Some("regressed")));
    insta::assert_json_snapshot!("regress_json", value, {
        ".created_at" => "[time]",
        ".host" => "[host]",
        ".git" => "[git]",
        ".tool_version" => "[version]",
    });
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let failures: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase") && n.children().any(|c| c.has_tag_name("failure")))
        .filter_map(|n| n.attribute("name"))
        .collect();
    assert_eq!(failures, ["perf/samples_per_sec", "perf/step_time_ms"]);
    insta::assert_snapshot!("regress_junit", xml);
    let github = run(
        ocrperf()
            .args(["regress", "-q", "--github", "-o"])
            .arg(dir.path().join("r.json"))
            .arg("--baseline")
            .arg(fixtures(TB_BASE))
            .arg("--current")
            .arg(fixtures(TB_SLOWER)),
        1,
    );
    insta::assert_snapshot!("regress_github", stdout(&github));
}

#[test]
fn every_tracker_pair_regresses_on_step_time_and_throughput() {
    let dir = tempfile::tempdir().unwrap();
    let db = mlflow_db(dir.path());
    let regressed = |args: &[&std::ffi::OsStr]| -> Vec<String> {
        let output = run(ocrperf().args(["regress", "--format", "json"]).args(args), 1);
        let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let mut names: Vec<String> = value["comparisons"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["verdict"] == "regressed")
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let expected = ["perf/samples_per_sec", "perf/step_time_ms"];
    let os = |path: &PathBuf| path.as_os_str().to_owned();
    for (base, current) in
        [("wandb/baseline", "wandb/slower"), ("wandb-0.19/baseline", "wandb-0.19/slower"), (TB_BASE, TB_SLOWER)]
    {
        let (b, c) = (os(&fixtures(base)), os(&fixtures(current)));
        assert_eq!(regressed(&["--baseline".as_ref(), &b, "--current".as_ref(), &c]), expected, "{base}");
    }
    for store in [fixtures("mlflow-files/mlruns"), db] {
        let store = os(&store);
        let args = [
            "--baseline".as_ref(),
            store.as_os_str(),
            "--baseline-run".as_ref(),
            "baseline".as_ref(),
            "--current".as_ref(),
            store.as_os_str(),
            "--current-run".as_ref(),
            "slower".as_ref(),
        ];
        assert_eq!(regressed(&args), expected, "{}", store.to_string_lossy());
    }
}

#[test]
fn a_baseline_file_against_an_unchanged_run_passes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("base");
    run(
        ocrperf().args(["baseline", "-q", "-o"]).arg(&out).arg(fixtures("wandb/baseline")).args(["--format", "json"]),
        0,
    );
    let output = run(
        ocrperf()
            .args(["regress", "--format", "json", "--baseline"])
            .arg(out.join("baseline.json"))
            .arg("--current")
            .arg(fixtures("wandb/baseline")),
        0,
    );
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["verdict"], "unchanged");
    assert_eq!(value["counts"]["regressed"], 0);
}

#[test]
fn the_thresholds_file_ignores_overrides_and_relaxes() {
    let dir = tempfile::tempdir().unwrap();
    let thresholds = dir.path().join("thresholds.toml");
    std::fs::write(&thresholds, "[[metric]]\nname = \"perf/step_time_ms\"\nignore = true\n\n[[metric]]\nname = \"perf/samples_per_sec\"\nthreshold = \"15%\"\n").unwrap();
    let output = run(
        ocrperf()
            .args(["regress", "--format", "json", "--thresholds"])
            .arg(&thresholds)
            .arg("--baseline")
            .arg(fixtures(TB_BASE))
            .arg("--current")
            .arg(fixtures(TB_SLOWER)),
        0,
    );
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["verdict"], "unchanged");
    let samples =
        value["comparisons"].as_array().unwrap().iter().find(|c| c["name"] == "perf/samples_per_sec").unwrap();
    assert_eq!(samples["verdict"], "unchanged");
    assert!(samples["reason"].as_str().unwrap().contains("within the 15% threshold"), "{samples}");
}

/// Each class of bad input: one line naming the file and the place, exit 2.
#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let events = std::fs::read_dir(fixtures(TB_BASE)).unwrap().next().unwrap().unwrap().path();
    let mut flipped = std::fs::read(&events).unwrap();
    flipped[4000] ^= 0x55;
    let damaged_dir = dir.path().join("damaged");
    std::fs::create_dir(&damaged_dir).unwrap();
    let damaged = damaged_dir.join(events.file_name().unwrap());
    std::fs::write(&damaged, &flipped).unwrap();
    let thresholds = dir.path().join("t.toml");
    std::fs::write(&thresholds, "[[metric]]\nname = \"x\"\nthreshold = 5\n").unwrap();
    let nan_only = dir.path().join("metrics.csv");
    std::fs::write(&nan_only, "step,train/loss\n1,nan\n2,inf\n").unwrap();
    let stray = dir.path().join("notes.txt");
    std::fs::write(&stray, "hello").unwrap();

    let cases: Vec<(&str, Vec<std::ffi::OsString>)> = vec![
        ("missing", vec!["baseline".into(), dir.path().join("absent").into()]),
        ("unsupported", vec!["baseline".into(), stray.clone().into()]),
        ("crc", vec!["baseline".into(), damaged.clone().into()]),
        ("ambiguous", vec!["baseline".into(), fixtures("wandb").into()]),
        (
            "thresholds",
            vec!["baseline".into(), "--thresholds".into(), thresholds.clone().into(), fixtures(TB_BASE).into()],
        ),
        ("warmup", vec!["baseline".into(), "--warmup".into(), "most".into(), fixtures(TB_BASE).into()]),
        ("only NaN", vec!["baseline".into(), nan_only.clone().into()]),
        (
            "unknown run",
            vec![
                "regress".into(),
                "--baseline".into(),
                fixtures("wandb").into(),
                "--baseline-run".into(),
                "nope".into(),
                "--current".into(),
                fixtures(TB_BASE).into(),
            ],
        ),
    ];
    let mut lines = String::new();
    for (name, args) in cases {
        let output = run(ocrperf().args(&args), 2);
        let err = stderr(&output);
        // A note may say why before the one error line.
        let err: String =
            err.lines().filter(|line| !line.starts_with("note: ")).map(|line| format!("{line}\n")).collect();
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.starts_with("ocrperf: error: "), "{name}: {err}");
        lines.push_str(&format!("{name}: {}", redact(&err, Some(dir.path()))));
    }
    insta::assert_snapshot!("bad_input_errors", lines);
}

#[test]
fn lenient_reads_up_to_the_damage_and_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let events = std::fs::read_dir(fixtures(TB_BASE)).unwrap().next().unwrap().unwrap().path();
    let bytes = std::fs::read(&events).unwrap();
    let cut = dir.path().join(events.file_name().unwrap());
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let output = run(ocrperf().args(["baseline", "--lenient", "--format", "json"]).arg(&cut), 0);
    assert!(stderr(&output).contains("truncated record"), "{}", stderr(&output));
    assert!(stderr(&output).contains("read up to the damage (--lenient)"));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["damage"].as_array().unwrap().len(), 1);
    assert!(value["damage"][0]["message"].as_str().unwrap().starts_with("truncated record"));
}

#[test]
fn throughput_run_writes_batch_events_for_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("batches.jsonl");
    run(
        ocrperf()
            .args([
                "throughput",
                "run",
                "-q",
                "--format",
                "json",
                "--workers",
                "1",
                "--epochs",
                "1",
                "--step-ms",
                "1ms",
                "--events",
            ])
            .arg(&events),
        0,
    );
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&events).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), 25, "200 built-in images in batches of 8");
    assert_eq!(lines[3]["step"], 3);
    assert_eq!(lines[3]["batch_size"], 8);
    assert!(lines[3]["compute_s"].as_f64().unwrap() >= 0.001);
    assert!(lines[3]["t_start"].as_f64().unwrap() > 1.7e9);
    let output = run(ocrperf().args(["baseline", "--format", "json"]).arg(&events), 0);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<&str> = value["metrics"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"batch.samples_per_s") && names.contains(&"batch.data_wait_s"), "{names:?}");
}

/// A full disk for the baseline's directory and for `regress --junit`: the report is still
/// printed, then one line naming the file, exit 2, and no partial file or staging directory.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_costs_the_files_not_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    let command = format!(
        "'{bin}' baseline --format json -q -o '{small}/perf' '{wandb}'; echo rc=$?; ls -A '{small}/perf'; \
         head -c 100000 /dev/zero > '{small}/filler' 2>/dev/null; \
         '{bin}' regress --format json -q --junit '{small}/junit.xml' --baseline '{base}' --current '{slower}'; \
         echo rc=$?; ls -A '{small}'",
        small = small.display(),
        bin = crate::ocrperf_path(),
        wandb = fixtures("wandb/baseline").display(),
        base = fixtures(TB_BASE).display(),
        slower = fixtures(TB_SLOWER).display(),
    );
    let output = crate::on_a_full_disk(&small, &command);
    let (out, err) = (stdout(&output), stderr(&output));
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    let prefix = format!("ocrperf: error: {}/perf/", small.display());
    assert!(lines[0].starts_with(&prefix) && lines[0].ends_with(": No space left on device (os error 28)"), "{err}");
    assert_eq!(
        lines[1],
        format!("ocrperf: error: {}/junit.xml: No space left on device (os error 28)", small.display())
    );
    // Each report printed before its files failed; then the exit codes and what is left.
    let mut reports = serde_json::Deserializer::from_str(&out).into_iter::<serde_json::Value>();
    assert_eq!(reports.next().unwrap().unwrap()["schema"], "ocrperf.baseline.v1");
    let rest = &out[reports.byte_offset()..];
    assert!(rest.starts_with("\nrc=2\n"), "the baseline's exit code, and an empty directory: {rest}");
    let mut reports = serde_json::Deserializer::from_str(&rest["\nrc=2\n".len()..]).into_iter::<serde_json::Value>();
    assert_eq!(reports.next().unwrap().unwrap()["verdict"], "regressed");
    let rest = &rest["\nrc=2\n".len() + reports.byte_offset()..];
    assert_eq!(rest, "\nrc=2\nfiller\nperf\n", "no partial junit.xml");
}
