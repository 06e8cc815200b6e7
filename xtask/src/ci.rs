//! `cargo xtask ci`: the checks a change must pass, in order of how fast they fail. After the
//! Rust tests, the Python package is built as a wheel (maturin), installed into a fresh virtual
//! environment with pytest, and its tests run there, as a user would install it.

use std::{path::Path, process::Command};

use anyhow::Context as _;

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
    match python() {
        Some(python) => {
            let started = std::time::Instant::now();
            let ok = python_package(&python)?;
            timings.push(("python", ok, started.elapsed().as_secs_f64()));
            if !ok {
                print_summary(&timings);
                eprintln!("xtask ci: the Python package failed to build or its tests failed");
                return Ok(false);
            }
        }
        // On CI a skipped suite is a failed one: `.ci/run` installs maturin and pytest.
        None if std::env::var_os("CI").is_some() => {
            print_summary(&timings);
            eprintln!("xtask ci: python3 with maturin is needed on CI (CI is set); the Python package was not tested");
            return Ok(false);
        }
        None => println!("xtask ci: python3 with maturin not found; skipping the Python package (ocrperf-py)"),
    }
    print_summary(&timings);
    Ok(true)
}

/// `python3` when it can run maturin (which builds the wheel).
fn python() -> Option<String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let ok = Command::new(&python).args(["-m", "maturin", "--version"]).output().is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

/// Builds the wheel (dev profile: the Rust tests already built its dependencies), installs it
/// with pytest into a fresh virtual environment under `target/python-ci`, and runs
/// `ocrperf-py/tests` with that environment's interpreter.
fn python_package(python: &str) -> anyhow::Result<bool> {
    let root = project_root();
    let work = root.join("target/python-ci");
    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("removing {}", work.display()))?;
    }
    let wheels = work.join("wheels");
    let venv = work.join("venv");
    let build = run_visible(
        Command::new(python)
            .current_dir(&root)
            .args(["-m", "maturin", "build", "--manifest-path", "ocrperf-py/Cargo.toml", "--profile", "dev"])
            .args(["--compatibility", "linux", "--out"])
            .arg(&wheels),
    )?;
    if !build.0 || !run_visible(Command::new(python).args(["-m", "venv"]).arg(&venv))?.0 {
        return Ok(false);
    }
    let wheel = only_wheel(&wheels)?;
    let venv_python = venv.join("bin/python");
    let install = run_visible(
        Command::new(&venv_python)
            .current_dir(&root)
            .args(["-m", "pip", "install", "--quiet"])
            .arg(format!("{}[test]", wheel.display())),
    )?;
    if !install.0 {
        return Ok(false);
    }
    let mut pytest = Command::new(&venv_python);
    pytest.current_dir(&root).args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "ocrperf-py/tests"]);
    Ok(run_visible(&mut pytest)?.0)
}

/// The one wheel maturin wrote.
fn only_wheel(dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let mut wheels: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "whl"))
        .collect();
    anyhow::ensure!(wheels.len() == 1, "{}: expected one wheel, found {}", dir.display(), wheels.len());
    Ok(wheels.remove(0))
}

fn print_summary(timings: &[(&str, bool, f64)]) {
    println!();
    for (name, ok, seconds) in timings {
        let status = if *ok { "ok" } else { "FAILED" };
        println!("ci: {name:<8} {status:<6} {seconds:>7.1}s");
    }
}
