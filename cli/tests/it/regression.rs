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
                "--step",
                "1ms",
                "--events",
            ])
            .arg(&events),
        0,
    );
    let all: Vec<serde_json::Value> =
        std::fs::read_to_string(&events).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    // The schema line first, then one event per batch.
    assert_eq!(all[0]["schema"], "ocrperf.batch-events.v1");
    let lines = &all[1..];
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

/// An output that is an input is refused before any work, and the input keeps its bytes.
#[test]
fn an_output_over_an_input_is_refused_and_the_input_kept() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("batches.jsonl");
    std::fs::copy(fixtures("ocrperf-run/batches.jsonl"), &events).unwrap();
    let before = std::fs::read(&events).unwrap();
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&events, &link).unwrap();
    let e = events.to_str().unwrap();
    let d = dir.path().to_str().unwrap();
    for args in [
        vec!["baseline", e, "-o", e],
        vec!["baseline", e, "-o", link.to_str().unwrap()],
        vec!["baseline", d, "-o", d],
        vec!["baseline", d, "-o", e],
        vec!["throughput", e, "-o", e],
        vec!["regress", "--baseline", e, "--current", e, "-o", e],
        vec!["regress", "--baseline", e, "--current", d, "--junit", e],
        vec!["regress", "--baseline", e, "--current", e, "--markdown", link.to_str().unwrap()],
    ] {
        let output = run(ocrperf().args(&args), 2);
        assert!(stderr(&output).contains("would write over an input of this command"), "{args:?}: {}", stderr(&output));
        assert_eq!(std::fs::read(&events).unwrap(), before, "{args:?}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "nothing was written beside the input");
}

/// Directory search follows no link and opens no FIFO: a loop in an MLflow `metrics/` folder and
/// a FIFO where W&B's metadata file goes are passed by, the FIFO with a warning.
#[test]
fn directory_search_follows_no_link_and_opens_no_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &Path, to: &Path| {
        assert!(std::process::Command::new("cp").arg("-r").arg(from).arg(to).status().unwrap().success());
    };
    copy(&fixtures("mlflow-files/mlruns"), &dir.path().join("mlruns"));
    let metrics = std::fs::read_dir(dir.path().join("mlruns"))
        .unwrap()
        .filter_map(|e| std::fs::read_dir(e.unwrap().path()).ok())
        .flatten()
        .map(|e| e.unwrap().path().join("metrics"))
        .find(|p| p.is_dir())
        .unwrap();
    std::os::unix::fs::symlink("..", metrics.join("loop")).unwrap();
    copy(&fixtures("wandb/baseline"), &dir.path().join("wandb"));
    let run_dir = std::fs::read_dir(dir.path().join("wandb/wandb")).unwrap().next().unwrap().unwrap().path();
    std::fs::create_dir_all(run_dir.join("files")).unwrap();
    let fifo = run_dir.join("files/wandb-metadata.json");
    let _ = std::fs::remove_file(&fifo);
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());

    let started = std::time::Instant::now();
    // Both the MLflow and the W&B run named `baseline` are picked: one run's metrics twice.
    let output = run(ocrperf().args(["baseline", "--format", "json", "--run", "baseline"]).arg(dir.path()), 2);
    assert!(stderr(&output).starts_with("ocrperf: error: metric `epoch` comes from both "), "{}", stderr(&output));
    let output = run(ocrperf().args(["baseline", "--format", "json"]).arg(dir.path().join("wandb")), 0);
    let err = stderr(&output);
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(
        warnings,
        [format!(
            "warning: {}: a FIFO, skipped without opening it (only regular files are read from a run's directories)",
            fifo.display()
        )]
    );
    let output =
        run(ocrperf().args(["baseline", "--format", "json", "--run", "slower"]).arg(dir.path().join("mlruns")), 0);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["run"]["name"], "slower");
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

/// A run is a run: an MLflow run's own folder, its experiment's, and the folder `baseline -o`
/// wrote; baselines sorted by `jq -S`, with a BOM or gzipped; a gzipped `metrics.csv`.
#[test]
#[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
fn every_form_of_a_run_or_a_baseline_is_read() {
    let experiment = std::fs::read_dir(fixtures("mlflow-files/mlruns"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::read_dir(p).unwrap().count() > 1)
        .unwrap();
    let run_dir = std::fs::read_dir(&experiment).unwrap().map(|e| e.unwrap().path()).find(|p| p.is_dir()).unwrap();
    let output = run(ocrperf().args(["baseline", "--format", "json"]).arg(&run_dir), 0);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["run"]["id"], run_dir.file_name().unwrap().to_str().unwrap());
    let output = run(ocrperf().args(["baseline", "--format", "json", "--run", "slower"]).arg(&experiment), 0);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()["run"]["name"], "slower");

    let dir = tempfile::tempdir().unwrap();
    let perf = dir.path().join("perf");
    run(ocrperf().args(["baseline", "-q", "--format", "json", "-o"]).arg(&perf).arg(fixtures(TB_BASE)), 0);
    let text = std::fs::read_to_string(perf.join("baseline.json")).unwrap();
    // serde_json's objects are sorted maps: written back, the keys come in order, as `jq -S`.
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let sorted = serde_json::to_string_pretty(&value).unwrap();
    assert!(sorted.find("\"schema\"").unwrap() > 4096, "`schema` sorts after 4 KiB");
    std::fs::write(dir.path().join("sorted.json"), &sorted).unwrap();
    std::fs::write(dir.path().join("bom.json"), format!("\u{feff}{text}")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(dir.path().join("baseline.json.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
    gz.finish().unwrap();
    for baseline in ["perf", "perf/", "sorted.json", "bom.json", "baseline.json.gz"] {
        let output = ocrperf()
            .args(["regress", "--format", "json", "--baseline"])
            .arg(dir.path().join(baseline))
            .arg("--current")
            .arg(fixtures(TB_SLOWER))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{baseline}: {}", stderr(&output));
    }

    let csv = dir.path().join("metrics.csv.gz");
    let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&csv).unwrap(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, b"epoch,step,train/step_time_ms\n0,0,101.5\n0,1,99.5\n").unwrap();
    gz.finish().unwrap();
    let output = run(ocrperf().args(["baseline", "--format", "json", "--warmup", "0"]).arg(&csv), 0);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["metrics"][0]["name"], "train/step_time_ms");
    assert_eq!(value["metrics"][0]["distribution"]["mean"], 100.5);
    // A device is written into, as the README says.
    run(ocrperf().args(["baseline", "-q", "-o", "/dev/null"]).arg(&csv), 0);
}

/// Steps that go back in a tracker's log are read with a warning; GPU names that differ only by
/// whitespace are one model.
#[test]
#[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
fn steps_going_back_warn_and_gpu_names_are_made_uniform() {
    let dir = tempfile::tempdir().unwrap();
    let tb = dir.path().join("tb");
    std::fs::create_dir(&tb).unwrap();
    let files: Vec<PathBuf> = std::fs::read_dir(fixtures(TB_BASE)).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1);
    // The same event file twice is a restart: every tag starts again.
    std::fs::copy(&files[0], tb.join("events.out.tfevents.1.vm")).unwrap();
    std::fs::copy(&files[0], tb.join("events.out.tfevents.2.vm")).unwrap();
    let output = run(ocrperf().args(["baseline", "--format", "json"]).arg(&tb), 0);
    let warning = stderr(&output).lines().find(|l| l.contains("`perf/step_time_ms`")).unwrap_or_default().to_owned();
    assert!(
        warning.starts_with("warning: ")
            && warning.contains("events.out.tfevents.1.vm: `perf/step_time_ms`: step ")
            && warning
                .ends_with("(steps repeat or go back 1 time); two runs in one log, or a restart? every value was kept"),
        "{}",
        stderr(&output)
    );

    let report = |gpu: &str, to: &Path| {
        let mut value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(fixtures("ocrperf-run/throughput.json")).unwrap()).unwrap();
        value["host"]["gpus"] = serde_json::json!([{"index": 0, "name": gpu}]);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, value.to_string()).unwrap();
    };
    let (a, b) = (dir.path().join("a/throughput.json"), dir.path().join("b/throughput.json"));
    report("NVIDIA  H100 80GB HBM3", &a);
    report(" NVIDIA H100 80GB\tHBM3 ", &b);
    let output = ocrperf()
        .args(["regress", "--format", "json", "--baseline"])
        .arg(&a)
        .arg("--current")
        .arg(&b)
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["environment"], serde_json::Value::Null, "{value}");
    assert_eq!(value["baseline"]["run"]["gpus"], serde_json::json!(["NVIDIA H100 80GB HBM3"]));
}

/// A Lightning `metrics.csv` in `dir` with one column of 100 values around `level`.
fn lightning_run(dir: &Path, column: &str, level: f64) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let mut text = format!("step,{column}\n");
    for step in 0..100 {
        let wobble = f64::from((step * 37) % 11) / 11.0 - 0.5;
        text.push_str(&format!("{step},{}\n", level * (1.0 + 0.02 * wobble)));
    }
    let path = dir.join("metrics.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// When no gated metric can be compared (a renamed metric), the gate has not passed: exit 3 and
/// a line on stderr, even with --quiet; `--allow-not-comparable` accepts it. A partial miss is a
/// warning beside a verdict.
#[test]
fn nothing_compared_is_exit_3_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let base = lightning_run(&dir.path().join("base"), "perf/step_time_ms", 20.0);
    let renamed = lightning_run(&dir.path().join("renamed"), "perf/step_ms", 20.0);
    let output = run(
        ocrperf().args(["regress", "-q", "--format", "json", "--baseline"]).arg(&base).arg("--current").arg(&renamed),
        3,
    );
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["verdict"], "not-comparable");
    assert_eq!(
        stderr(&output).trim(),
        "ocrperf: nothing was compared: 2 gated metrics, none on both sides comparably (`perf/step_ms`: not in the \
         baseline) (exit 3; --allow-not-comparable accepts this)"
    );
    run(
        ocrperf()
            .args(["regress", "-q", "--allow-not-comparable", "--format", "json", "--baseline"])
            .arg(&base)
            .arg("--current")
            .arg(&renamed),
        0,
    );
    // One metric compared, one missing: a verdict, and a warning naming the missing one.
    let both = dir.path().join("both");
    lightning_run(&both, "perf/step_time_ms", 20.0);
    let mut text = std::fs::read_to_string(both.join("metrics.csv")).unwrap();
    text = text.replace("step,perf/step_time_ms\n", "step,perf/step_time_ms,perf/data_wait_ms\n");
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, line)| if i == 0 { line.to_owned() } else { format!("{line},1.0") })
        .collect();
    std::fs::write(both.join("metrics.csv"), lines.join("\n") + "\n").unwrap();
    let output =
        run(ocrperf().args(["regress", "--format", "json", "--baseline"]).arg(&base).arg("--current").arg(&both), 0);
    assert!(
        stderr(&output).contains("warning: 1 gated metric is not comparable: perf/data_wait_ms"),
        "{}",
        stderr(&output)
    );
}

/// A value per step.
type StepFn = dyn Fn(usize) -> f64;

/// The shapes of the hostile run, end to end: a step time twice as slow over the first 60% of
/// the steps, every third step three times as slow, and a zero data wait becoming 30 ms.
#[test]
fn slowdowns_of_every_shape_fail_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, step_ms: &dyn Fn(usize) -> f64, wait_ms: &dyn Fn(usize) -> f64| -> PathBuf {
        let run_dir = dir.path().join(name);
        std::fs::create_dir_all(&run_dir).unwrap();
        let mut text = "step,perf/step_time_ms,perf/data_wait_ms\n".to_owned();
        for step in 0..300 {
            let wobble = f64::from(u32::try_from((step * 37) % 11).unwrap()) / 11.0 - 0.5;
            text.push_str(&format!("{step},{},{}\n", step_ms(step) * (1.0 + 0.03 * wobble), wait_ms(step)));
        }
        std::fs::write(run_dir.join("metrics.csv"), text).unwrap();
        run_dir
    };
    let base = write("base", &|_| 20.0, &|_| 0.0);
    let cases: [(&str, &StepFn, &StepFn, &str); 3] = [
        ("early", &|step| if step < 180 { 40.0 } else { 20.0 }, &|_| 0.0, "perf/step_time_ms"),
        ("stalls", &|step| if step % 3 == 0 { 60.0 } else { 20.0 }, &|_| 0.0, "perf/step_time_ms"),
        ("wait", &|_| 20.0, &|_| 30.0, "perf/data_wait_ms"),
    ];
    for (name, step_ms, wait_ms, regressed) in cases {
        let current = write(name, step_ms, wait_ms);
        let output = run(
            ocrperf().args(["regress", "--format", "json", "--baseline"]).arg(&base).arg("--current").arg(&current),
            1,
        );
        let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let verdicts: Vec<(String, String)> = value["comparisons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap().to_owned(), c["verdict"].as_str().unwrap().to_owned()))
            .collect();
        assert!(verdicts.contains(&(regressed.to_owned(), "regressed".to_owned())), "{name}: {verdicts:?}");
    }
}

/// A current run given as the `baseline.json` that `ocrperf baseline` made of it cut its own
/// warm-up: a slow first stretch (the first 30% of 2000 steps 35% slower) must still count, as
/// it does when the current run is given as its sources.
#[test]
fn a_slow_start_counts_when_the_current_run_is_a_baseline_file() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, slow_until: usize| -> PathBuf {
        let run_dir = dir.path().join(name);
        std::fs::create_dir_all(&run_dir).unwrap();
        let mut text = "step,perf/step_time_ms\n".to_owned();
        for step in 0..2000 {
            let wobble = f64::from(u32::try_from((step * 37) % 11).unwrap()) / 11.0 - 0.5;
            let warm = if step < 10 { 3.0 } else { 1.0 };
            let slow = if (10..slow_until).contains(&step) { 1.35 } else { 1.0 };
            text.push_str(&format!("{step},{}\n", 120.0 * warm * slow * (1.0 + 0.02 * wobble)));
        }
        std::fs::write(run_dir.join("metrics.csv"), text).unwrap();
        run_dir
    };
    let base = write("base", 0);
    let current = write("current", 600);
    let summary = dir.path().join("current-baseline");
    run(ocrperf().args(["baseline", "-q", "--format", "json", "-o"]).arg(&summary).arg(&current), 0);
    for side in [current.clone(), summary.join("baseline.json")] {
        let output = run(
            ocrperf().args(["regress", "--format", "json", "--baseline"]).arg(&base).arg("--current").arg(&side),
            1,
        );
        let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let change = value["comparisons"][0]["change"].as_f64().unwrap();
        assert!((0.09..0.12).contains(&change), "{}: {change}", side.display());
    }
}
