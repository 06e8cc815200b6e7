//! Tests of the `ocrperf` binary, run as a user would run it. One test binary for the whole CLI;
//! each module covers one subcommand or one cross-cutting behaviour.

#![allow(clippy::print_stderr, reason = "a test that cannot run here says so on stderr")]

mod global;
mod info;
mod monitor;
mod targets;
mod throughput;
mod trace;

use std::process::Output;

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
