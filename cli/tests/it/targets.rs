//! `ocrperf targets digest|gen|bench`, including every class of bad input.

use ocrperf::polygon_cache;
use std::{fs, path::Path};

use metrics_schema::{Envelope, TargetsBenchReport, TargetsDigestReport};
use serde_json::Value;

use crate::{ocrperf, run, stderr, stdout};

fn testdata() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/dbnet")
}

/// A scratch copy of the first `n` fixtures and a reference digests file for exactly those.
fn fixture(n: usize) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let gt = dir.path().join("gt");
    fs::create_dir(&gt).unwrap();
    let expected: Value =
        serde_json::from_str(&fs::read_to_string(testdata().join("expected/digests.json")).unwrap()).unwrap();
    let mut files = serde_json::Map::new();
    for (name, digests) in expected["files"].as_object().unwrap().iter().take(n) {
        fs::copy(testdata().join("gt").join(name), gt.join(name)).unwrap();
        files.insert(name.clone(), digests.clone());
    }
    let reference = dir.path().join("digests.json");
    fs::write(&reference, serde_json::json!({ "files": files }).to_string()).unwrap();
    (dir, gt, reference)
}

#[test]
fn digest_matches_the_reference() {
    let (_dir, gt, reference) = fixture(6);
    let output = run(
        ocrperf().args(["targets", "digest", "--format", "json", "--gt"]).arg(&gt).arg("--check").arg(&reference),
        0,
    );
    let report = Envelope::<TargetsDigestReport>::from_json(&stdout(&output)).unwrap().report;
    let parity = report.parity.unwrap();
    assert_eq!((report.images, parity.compared, parity.identical), (6, 6, 6));
    assert!(parity.mismatched.is_empty() && parity.missing.is_empty());
}

#[test]
fn a_parity_mismatch_exits_1_and_names_the_map() {
    let (_dir, gt, reference) = fixture(2);
    let text = fs::read_to_string(&reference).unwrap();
    let mut value: Value = serde_json::from_str(&text).unwrap();
    let first = value["files"].as_object_mut().unwrap().values_mut().next().unwrap();
    first["thresh"] = "0".repeat(64).into();
    fs::write(&reference, value.to_string()).unwrap();
    let output = run(
        ocrperf().args(["targets", "digest", "--format", "table", "--gt"]).arg(&gt).arg("--check").arg(&reference),
        1,
    );
    let table = stdout(&output);
    assert!(table.contains("MISMATCH: 1/2 files identical"), "{table}");
    assert!(table.contains("gt_0000.txt:thresh"), "{table}");
}

#[test]
fn gen_writes_loadable_npy_maps() {
    let (dir, gt, _) = fixture(2);
    let out = dir.path().join("maps");
    let output =
        run(ocrperf().args(["targets", "gen", "-q", "--format", "json", "--gt"]).arg(&gt).arg("--out").arg(&out), 0);
    let report = Envelope::<TargetsDigestReport>::from_json(&stdout(&output)).unwrap().report;
    assert_eq!(report.images, 2);
    let mut names: Vec<String> =
        fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names.len(), 8);
    assert_eq!(names[0], "gt_0000.gt.npy");
    let bytes = fs::read(out.join("gt_0000.thresh.npy")).unwrap();
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(header.contains("'shape': (640, 640)"), "{header}");
    let values: Vec<f32> =
        bytes[10 + header_len..].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    assert_eq!(values.len(), 640 * 640);
    assert_eq!(
        polygon_cache::digest_map(&values),
        match &report.files["gt_0000.txt"] {
            metrics_schema::FileDigest::Maps { thresh, .. } => thresh.clone(),
            other => panic!("{other:?}"),
        }
    );
}

#[test]
fn bench_reports_epochs_and_the_cache() {
    let (dir, gt, _) = fixture(4);
    // Outside a git checkout, so that the report has no `git` wherever the test runs.
    let bench = ["targets", "bench", "--epochs", "3", "--threads", "2", "--format", "json", "--gt"];
    let output = run(ocrperf().current_dir(dir.path()).args(bench).arg(&gt), 0);
    let report = Envelope::<TargetsBenchReport>::from_json(&stdout(&output)).unwrap().report;
    assert_eq!((report.images, report.threads, report.epochs.len()), (12, 2, 3));
    assert_eq!(report.epochs[0].cache_hit_rate, Some(0.0));
    assert_eq!(report.epochs[1].cache_hit_rate, Some(1.0));
    let cache = report.cache.unwrap();
    assert!(cache.entries > 0 && cache.bytes > 0 && cache.bytes_per_entry > 0.0);
    assert_eq!(cache.hits, 2 * cache.misses);
    let value: Value = serde_json::from_str(&stdout(&output)).unwrap();
    insta::assert_json_snapshot!("bench_json", value, {
        ".created_at" => "[time]", ".tool_version" => "[version]", ".host" => "[host]",
        ".dataset" => "[dir]", ".seconds" => "[s]", ".images_per_s" => "[rate]",
        ".epochs[].seconds" => "[s]", ".epochs[].images_per_s" => "[rate]",
    });
}

#[test]
fn bench_without_cache_and_on_the_built_in_set() {
    let output = run(ocrperf().args(["targets", "bench", "--no-cache", "--epochs", "1", "--format", "json"]), 0);
    let report = Envelope::<TargetsBenchReport>::from_json(&stdout(&output)).unwrap().report;
    assert_eq!(report.images, 200);
    assert!(report.dataset.starts_with("built-in"));
    assert_eq!(report.cache, None);
    assert_eq!(report.epochs[0].cache_hit_rate, None);
}

#[test]
fn bench_cycles_through_several_map_sets_with_the_same_work() {
    let (dir, gt, _) = fixture(5);
    let bench = |buffers: &str| {
        let args = ["targets", "bench", "--epochs", "2", "--buffers", buffers, "--format", "json", "--gt"];
        let output = run(ocrperf().current_dir(dir.path()).args(args).arg(&gt), 0);
        Envelope::<TargetsBenchReport>::from_json(&stdout(&output)).unwrap().report
    };
    let (one, three) = (bench("1"), bench("3"));
    assert_eq!((one.buffers_per_thread, three.buffers_per_thread), (1, 3));
    assert_eq!((three.images, three.failed_images), (one.images, one.failed_images));
    assert_eq!(three.cache.map(|c| (c.hits, c.misses)), one.cache.map(|c| (c.hits, c.misses)));
    let text = stdout(&run(
        ocrperf()
            .current_dir(dir.path())
            .args(["targets", "bench", "--buffers", "3", "--format", "table", "--gt"])
            .arg(&gt),
        0,
    ));
    assert!(text.lines().any(|line| line.contains("map sets per thread") && line.trim_end().ends_with('3')), "{text}");
}

/// Runs `targets digest` on one ground-truth file with `content` and returns stderr.
fn digest_error(content: &[u8], extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gt_bad.txt");
    fs::write(&file, content).unwrap();
    let output = run(ocrperf().args(["targets", "digest", "--gt"]).arg(dir.path()).args(extra), 2);
    assert_eq!(stdout(&output), "");
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err.replace(&file.display().to_string(), "FILE")
}

#[test]
fn bad_ground_truth_exits_2_naming_file_and_line() {
    let size = "# size 64 64\n";
    assert_eq!(
        digest_error(format!("{size}1,1,9,1,9,9,1,9,ok\n1,1,9,1,nan,9,1,9,ok\n").as_bytes(), &[]),
        "ocrperf: error: FILE: line 3: coordinate 4 is NaN, not a finite number\n"
    );
    assert_eq!(
        digest_error(format!("{size}1,1,9,1,inf,9,text\n").as_bytes(), &[]),
        "ocrperf: error: FILE: line 2: coordinate 4 is inf, not a finite number\n"
    );
    assert_eq!(
        digest_error(format!("{size}1,1,9,1,9,text\n").as_bytes(), &[]),
        "ocrperf: error: FILE: line 2: odd number of coordinates (5): every point needs an x and a y\n"
    );
    assert_eq!(
        digest_error(format!("{size}1,1,9,1,text\n").as_bytes(), &[]),
        "ocrperf: error: FILE: line 2: a polygon needs at least 3 points, found 2\n"
    );
    assert_eq!(
        digest_error(b"1,1,9,1,9,9,text\n", &[]),
        "ocrperf: error: FILE: no image size: add a `# size W H` line or pass a size (--size WxH)\n"
    );
    assert_eq!(
        digest_error(b"\xef\xbb\xbf# size 64 64\n\xff\xfe\n", &[]),
        "ocrperf: error: FILE: line 2: not valid UTF-8\n"
    );
}

/// A file cut off in the middle of a line (an interrupted copy) is a malformed last line.
#[test]
fn a_truncated_file_exits_2_naming_the_last_line() {
    let full = fs::read_to_string(testdata().join("gt/gt_0000.txt")).unwrap();
    let cut = &full[..full.len() - 12];
    let lines = cut.lines().count();
    let err = digest_error(cut.as_bytes(), &[]);
    assert!(err.starts_with(&format!("ocrperf: error: FILE: line {lines}: ")), "{err}");
}

#[test]
fn a_size_flag_serves_files_without_a_header() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("gt_1.txt"), "\u{feff}1,1,40,1,40,20,1,20,text\n").unwrap();
    let output =
        run(ocrperf().args(["targets", "digest", "--size", "64x48", "--format", "json", "--gt"]).arg(dir.path()), 0);
    let report = Envelope::<TargetsDigestReport>::from_json(&stdout(&output)).unwrap().report;
    assert_eq!(report.images, 1);
    let output = run(ocrperf().args(["targets", "digest", "--size", "64", "--gt"]).arg(dir.path()), 2);
    assert!(
        stderr(&output).contains("`64` is not a size; write WIDTHxHEIGHT, each side 1..=32768, e.g. 640x640"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn missing_and_empty_directories_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let output = run(ocrperf().args(["targets", "digest", "--gt"]).arg(&missing), 2);
    assert_eq!(
        stderr(&output),
        format!("ocrperf: error: {}: No such file or directory (os error 2)\n", missing.display())
    );
    let output = run(ocrperf().args(["targets", "bench", "--gt"]).arg(dir.path()), 2);
    assert_eq!(
        stderr(&output),
        format!("ocrperf: error: {}: no ground-truth files (*.txt) in this directory\n", dir.path().display())
    );
}

#[test]
fn a_broken_reference_file_exits_2() {
    let (dir, gt, _) = fixture(1);
    let reference = dir.path().join("broken.json");
    fs::write(&reference, "{\"files\": {\"gt_0000.txt\": ").unwrap();
    let output = run(ocrperf().args(["targets", "digest", "--gt"]).arg(&gt).arg("--check").arg(&reference), 2);
    let err = stderr(&output);
    assert!(
        err.starts_with(&format!("ocrperf: error: {}: line 1: not JSON: EOF while parsing", reference.display())),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn an_unwritable_npy_directory_exits_2() {
    let (dir, gt, _) = fixture(1);
    let blocker = dir.path().join("file");
    fs::write(&blocker, "not a directory").unwrap();
    let output = run(ocrperf().args(["targets", "gen", "--gt"]).arg(&gt).arg("--out").arg(blocker.join("maps")), 2);
    assert!(
        stderr(&output).starts_with(&format!("ocrperf: error: {}", blocker.join("maps").display())),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_numbers_are_usage_errors() {
    for args in [
        &["--epochs", "0"][..],
        &["--threads", "0"],
        &["--buffers", "0"],
        &["--cache-mb", "-1"],
        &["--cache-mb", "nan"],
        &["--shrink-ratio", "1.5"],
        &["--no-cache", "--cache-mb", "5"],
    ] {
        let output = run(ocrperf().args(["targets", "bench"]).args(args), 2);
        assert!(stderr(&output).contains("error"), "{args:?}: {}", stderr(&output));
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_the_bench_with_complete_epochs_and_exit_130() {
    use std::process::{Command, Stdio};
    let child = Command::new(assert_cmd::cargo::cargo_bin("ocrperf"))
        .args(["targets", "bench", "--epochs", "10000", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", String::from_utf8_lossy(&output.stderr));
    let report = Envelope::<TargetsBenchReport>::from_json(&String::from_utf8(output.stdout).unwrap()).unwrap().report;
    assert!(report.interrupted);
    assert!(report.epochs.len() < 10000);
    assert!(report.epochs.iter().all(|e| e.images == 200));
}

/// A full disk: a 64 KiB tmpfs (see `on_a_full_disk`).
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_exits_2_naming_the_file_and_leaves_no_partial_file() {
    let (dir, gt, _) = fixture(2);
    let small = dir.path().join("small");
    let command = format!(
        "'{bin}' targets gen -q --gt '{gt}' --out '{small}'; echo rc=$?; ls -A '{small}'",
        small = small.display(),
        bin = crate::ocrperf_path(),
        gt = gt.display(),
    );
    let output = crate::on_a_full_disk(&small, &command);
    let (out, err) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(out.contains("rc=2"), "stdout: {out}\nstderr: {err}");
    assert_eq!(
        err,
        format!("ocrperf: error: {}/gt_0000.gt.npy: No space left on device (os error 28)\n", small.display())
    );
    assert!(!out.contains(".tmp"), "a temporary file was left behind: {out}");
}
