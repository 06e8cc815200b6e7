//! `cargo xtask ci`: the checks a change must pass, in order of how fast they fail. After the
//! Rust tests, the Python integration's tests run when Python with pytest is present (they use
//! the `ocrperf` the Rust tests built).

use std::process::Command;

use crate::process::{cargo, project_root, run_visible};

pub(crate) fn run() -> anyhow::Result<bool> {
    let checks: [(&str, &[&str]); 5] = [
        ("format", &["fmt", "--all", "--", "--check"]),
        ("clippy", &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"]),
        // Broken intra-doc links and malformed docs fail like any other warning. The binaries'
        // doc comments are their --help text (clap), not rustdoc, so only libraries are built.
        ("docs", &["doc", "--workspace", "--exclude", "cli", "--exclude", "xtask", "--no-deps", "--locked"]),
        // The fuzz target is its own workspace: compile it so that it cannot rot unnoticed.
        (
            "fuzz",
            &["check", "--manifest-path", "profiler-analyze/fuzz/Cargo.toml", "--target-dir", "target/fuzz-check"],
        ),
        ("tests", &["test", "--workspace", "--locked"]),
    ];
    let mut timings = Vec::new();
    for (name, args) in checks {
        let mut command = cargo();
        command.args(args).env("RUSTDOCFLAGS", "-D warnings");
        let (ok, seconds) = run_visible(&mut command)?;
        timings.push((name, ok, seconds));
        if !ok {
            print_summary(&timings);
            eprintln!("xtask ci: {name} failed");
            return Ok(false);
        }
    }
    match pytest() {
        Some(mut command) => {
            let (ok, seconds) = run_visible(&mut command)?;
            timings.push(("python", ok, seconds));
            if !ok {
                print_summary(&timings);
                eprintln!("xtask ci: python tests failed");
                return Ok(false);
            }
        }
        // On CI a skipped suite is a failed one: `.ci/run` installs pytest.
        None if std::env::var_os("CI").is_some() => {
            print_summary(&timings);
            eprintln!("xtask ci: python3 with pytest is needed on CI (CI is set); the Python tests did not run");
            return Ok(false);
        }
        None => println!("xtask ci: python3 with pytest not found; skipping integrations/lightning tests"),
    }
    print_summary(&timings);
    Ok(true)
}

/// `python3 -m pytest integrations` when python3 can import pytest.
fn pytest() -> Option<Command> {
    let has_pytest = Command::new("python3").args(["-c", "import pytest"]).output().is_ok_and(|o| o.status.success());
    has_pytest.then(|| {
        let root = project_root();
        let mut command = Command::new("python3");
        command
            .current_dir(&root)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "integrations"])
            .env("OCRPERF_BIN", root.join("target/debug/ocrperf"));
        command
    })
}

fn print_summary(timings: &[(&str, bool, f64)]) {
    println!();
    for (name, ok, seconds) in timings {
        let status = if *ok { "ok" } else { "FAILED" };
        println!("ci: {name:<8} {status:<6} {seconds:>7.1}s");
    }
}
