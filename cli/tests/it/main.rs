//! Tests of the `ocrperf` binary, run as a user would run it. One test binary for the whole CLI;
//! each module covers one subcommand or one cross-cutting behaviour.

#![expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]

mod bad_inputs;
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
/// namespace: an unprivileged user namespace (`unshare -rm`), or as root a plain one
/// (`unshare -m`). Where neither is allowed the test fails, saying what it needs: a full-disk
/// test that does not run must not pass.
#[cfg(target_os = "linux")]
pub(crate) fn on_a_full_disk(mount: &Path, command: &str) -> Output {
    use std::process::Command;
    let works =
        |flags: &str| Command::new("unshare").args([flags, "true"]).status().is_ok_and(|status| status.success());
    let flags = ["-rm", "-m"].into_iter().find(|flags| works(flags)).unwrap_or_else(|| {
        panic!(
            "this full-disk test needs a private mount namespace: allow unprivileged user namespaces \
             (sysctl kernel.unprivileged_userns_clone=1) or run the tests as root"
        )
    });
    std::fs::create_dir_all(mount).unwrap();
    let script = format!("mount -t tmpfs -o size=64k tmpfs '{}' && {command}", mount.display());
    Command::new("unshare").args([flags, "sh", "-c", &script]).output().unwrap()
}

/// The `ocrperf` binary's path, for shell scripts.
pub(crate) fn ocrperf_path() -> String {
    assert_cmd::cargo::cargo_bin("ocrperf").display().to_string()
}
