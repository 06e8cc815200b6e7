//! `cargo xtask ci`: the checks a change must pass, in order of how fast they fail. After the
//! Rust tests, the Python package is built as a wheel (maturin), installed into a fresh virtual
//! environment with its `ci` extra (pytest, torch, Lightning, Hydra, ruff, mypy), checked (ruff,
//! `mypy --strict`, stubtest of the native module's stub) and its tests run there, as a user
//! would install it, with the real-`Trainer` tests required, not skipped.

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
            let ok = python_package(&python, &mut timings)?;
            if !ok {
                print_summary(&timings);
                eprintln!("xtask ci: the Python package failed to build, install or check, or its tests failed");
                return Ok(false);
            }
        }
        // On CI a skipped suite is a failed one: `.ci/run` installs maturin (and venv); the
        // `ci` extra brings pytest and the rest.
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
/// with its `ci` extra into a fresh virtual environment under `target/python-ci`, and with that
/// environment's interpreter runs ruff (lint and format), `mypy --strict`, stubtest on
/// `ocrperf._native` and `ocrperf-py/tests`. Each step's time goes into `timings`.
///
/// The extra brings torch from PyPI (its CUDA build, which runs on the CPU too) for the tests
/// in a real Lightning `Trainer`; `OCRPERF_REQUIRE_LIGHTNING=1` makes a missing torch, Lightning
/// or Hydra fail them rather than skip. pip's cache is left on: with it warm the install takes
/// seconds instead of minutes (README, "Quick start").
fn python_package(python: &str, timings: &mut Vec<(&'static str, bool, f64)>) -> anyhow::Result<bool> {
    let root = project_root();
    let package = root.join("ocrperf-py");
    let work = root.join("target/python-ci");
    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("removing {}", work.display()))?;
    }
    let wheels = work.join("wheels");
    let venv = work.join("venv");
    let mut step = |name: &'static str, command: &mut Command| -> anyhow::Result<bool> {
        let (ok, seconds) = run_visible(command)?;
        timings.push((name, ok, seconds));
        Ok(ok)
    };
    let built = step(
        "py-wheel",
        Command::new(python)
            .current_dir(&root)
            .args(["-m", "maturin", "build", "--manifest-path", "ocrperf-py/Cargo.toml", "--profile", "dev"])
            .args(["--compatibility", "linux", "--out"])
            .arg(&wheels),
    )?;
    if !built || !step("py-venv", Command::new(python).args(["-m", "venv"]).arg(&venv))? {
        return Ok(false);
    }
    let wheel = only_wheel(&wheels)?;
    let venv_python = venv.join("bin/python");
    let py = |args: &[&str]| {
        let mut command = Command::new(&venv_python);
        command.args(args);
        command
    };
    let mut install = py(&["-m", "pip", "install", "--quiet"]);
    install.current_dir(&root).arg(format!("{}[ci]", wheel.display()));
    if !step("py-install", &mut install)? {
        return Ok(false);
    }
    // The checkers read their settings from ocrperf-py/pyproject.toml; their caches stay under
    // `work`. stubtest imports the installed module, so it runs away from the source tree.
    let mut mypy = py(&["-m", "mypy", "--strict", "--cache-dir"]);
    mypy.arg(work.join("mypy-cache"));
    let checks: [(&str, Command); 4] = [
        ("py-lint", with_dir(py(&["-m", "ruff", "check", "--no-cache"]), &package)),
        ("py-format", with_dir(py(&["-m", "ruff", "format", "--check", "--no-cache"]), &package)),
        ("py-mypy", with_dir(mypy, &package)),
        ("py-stubs", with_dir(py(&["-m", "mypy.stubtest", "ocrperf._native"]), &work)),
    ];
    for (name, mut command) in checks {
        if !step(name, &mut command)? {
            return Ok(false);
        }
    }
    let mut pytest = py(&["-m", "pytest", "-q", "-p", "no:cacheprovider", "ocrperf-py/tests"]);
    pytest.current_dir(&root).env("OCRPERF_REQUIRE_LIGHTNING", "1");
    step("py-tests", &mut pytest)
}

fn with_dir(mut command: Command, dir: &Path) -> Command {
    command.current_dir(dir);
    command
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
        println!("ci: {name:<10} {status:<6} {seconds:>7.1}s");
    }
}
