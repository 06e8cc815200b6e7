//! Options and behaviours shared by every subcommand: usage errors, exit codes, `--version`.

use crate::{ocrperf, run, stderr, stdout};

#[test]
fn version_names_the_commit() {
    let text = stdout(&run(ocrperf().arg("--version"), 0));
    let expected = format!("ocrperf {} (", env!("CARGO_PKG_VERSION"));
    assert!(text.starts_with(&expected) && text.trim_end().ends_with(')'), "{text}");
}

#[test]
fn global_options_go_before_or_after_the_subcommand() {
    let before = stdout(&run(ocrperf().args(["--format", "md", "info"]), 0));
    let after = stdout(&run(ocrperf().args(["info", "--format", "md"]), 0));
    assert!(before.starts_with("# Host") && after.starts_with("# Host"));
    run(ocrperf().args(["-q", "info", "--no-progress"]), 0);
}

#[test]
fn no_subcommand_prints_usage_and_exits_2() {
    let output = run(&mut ocrperf(), 2);
    assert!(stderr(&output).contains("Usage: ocrperf [OPTIONS] <COMMAND>"), "{}", stderr(&output));
}

#[test]
fn unknown_subcommand_exits_2() {
    let output = run(ocrperf().arg("frobnicate"), 2);
    assert!(stderr(&output).starts_with("error: unrecognized subcommand 'frobnicate'"), "{}", stderr(&output));
}

#[test]
fn bad_format_exits_2_and_lists_the_choices() {
    let output = run(ocrperf().args(["info", "--format", "xml"]), 2);
    let err = stderr(&output);
    assert!(err.starts_with("error: invalid value 'xml' for '--format <FORMAT>'"), "{err}");
    assert!(err.contains("[possible values: table, json, md]"), "{err}");
}

#[test]
fn unwritable_output_exits_2_with_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir/host.json");
    let output = run(ocrperf().args(["info", "-o"]).arg(&path), 2);
    assert_eq!(
        stderr(&output),
        format!("ocrperf: error: {}: No such file or directory (os error 2)\n", path.display())
    );
    assert_eq!(stdout(&output), "");
}

#[test]
fn output_onto_a_directory_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(ocrperf().args(["info", "-o"]).arg(dir.path()), 2);
    let err = stderr(&output);
    assert!(err.starts_with(&format!("ocrperf: error: {}", dir.path().display())) && err.lines().count() == 1, "{err}");
}

#[test]
fn help_exits_0() {
    let text = stdout(&run(ocrperf().arg("--help"), 0));
    assert!(text.contains("info") && text.contains("Exit codes: 0 success, 1 a check failed"), "{text}");
}

#[cfg(unix)]
#[test]
fn a_closed_stdout_is_not_an_error() {
    use std::process::{Command, Stdio};
    // `ocrperf info | true`: the reader is gone before ocrperf writes.
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("ocrperf"))
        .args(["info", "--format", "table"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.stderr, b"");
}
