//! Tests of the `ocrperf` binary, run as a user would run it. One test binary for the whole CLI;
//! each module covers one subcommand or one cross-cutting behaviour.

#![allow(clippy::print_stderr, reason = "a test that cannot run here says so on stderr")]

mod global;
mod info;
mod monitor;
mod regression;
mod targets;
mod throughput;
mod trace;

use std::{path::Path, process::Output};

use assert_cmd::Command;

/// `ocrperf` with a clean environment: no colour forcing, no inherited NO_COLOR.
pub(crate) fn ocrperf() -> Command {
    let mut cmd = Command::cargo_bin("ocrperf").unwrap();
    cmd.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
    cmd
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Runs and checks the exit code, showing stderr when it differs.
pub(crate) fn run(cmd: &mut Command, code: i32) -> Output {
    let output = cmd.output().unwrap();
    assert_eq!(output.status.code(), Some(code), "stderr: {}", stderr(&output));
    output
}

/// Runs the shell `command` with a 64 KiB tmpfs mounted on `mount`, in a private mount
/// namespace (an unprivileged user namespace). `None`, saying so, where those are not allowed.
#[cfg(target_os = "linux")]
pub(crate) fn on_a_full_disk(mount: &Path, command: &str) -> Option<Output> {
    use std::process::Command;
    if !Command::new("unshare").args(["-rm", "true"]).status().is_ok_and(|status| status.success()) {
        eprintln!("skipped: unprivileged mount namespaces are not available here");
        return None;
    }
    std::fs::create_dir_all(mount).unwrap();
    let script = format!("mount -t tmpfs -o size=64k tmpfs '{}' && {command}", mount.display());
    Some(Command::new("unshare").args(["-rm", "sh", "-c", &script]).output().unwrap())
}

/// The `ocrperf` binary's path, for shell scripts.
pub(crate) fn ocrperf_path() -> String {
    assert_cmd::cargo::cargo_bin("ocrperf").display().to_string()
}
