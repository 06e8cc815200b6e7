//! `cargo xtask perf-gate --base REV`: the project's own performance gate.
//!
//! REV is built in a git worktree (`target/perf-gate/base`, with its own target directory so a
//! second gate against the same base rebuilds nothing); the working tree is the head. Both
//! builds run the same benchmarks, interleaved (base, head, then head, base, ...) so that the
//! machine's drift hits both alike; each round of each build is an `ocrperf.metrics.v1` report.
//! The head's `ocrperf regress --repeats` then gates the rounds against each other with
//! `perf/thresholds.toml`: with five rounds a side the rank test compares rounds (runs), the
//! noise that matters here.

use ocrperf::regression;
use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use anyhow::Context as _;
use metrics_schema::{
    BatchEvent, Better, Envelope, Metric, MetricsReport, MonitorSummaryReport, TargetsBenchReport, ThroughputReport,
    TraceAnalysisReport, Unit, batch_events::write_batch_event,
};

use crate::process::{cargo, describe, project_root, run_visible};

/// The benchmark trace (15 MB of JSON, gzipped).
const TRACE: &str = "testdata/traces/h100/dbnet_fp32_workers8_bs8.json.gz";
/// Batch events in the ingest benchmark.
const EVENTS: u64 = 1_000_000;

pub(crate) fn run(base: &str, rounds: usize, keep: bool) -> anyhow::Result<bool> {
    let least = regression::gate::MIN_RUNS;
    anyhow::ensure!(
        (least..=50).contains(&rounds),
        "--rounds {rounds}: give {least} to 50 (the rank test needs {least} rounds a side)"
    );
    let root = project_root();
    let work = root.join("target/perf-gate");
    let commit = git_output(&root, &["rev-parse", "--verify", &format!("{base}^{{commit}}")])
        .with_context(|| format!("`{base}` is not a commit here"))?;
    let short = &commit[..12.min(commit.len())];
    let head_commit =
        git_output(&root, &["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|_| "working tree".to_owned());
    println!("perf-gate: base {base} ({short}) against the working tree (HEAD {head_commit}), {rounds} rounds");

    let worktree = work.join("base");
    prepare_worktree(&root, &worktree, &commit)?;
    let base_bin = build(&worktree, &work.join("base-target"))?;
    let head_bin = build(&root, &root.join("target"))?;

    let events = work.join("inputs/events.jsonl");
    write_events(&events)?;
    let results = [work.join("results/base"), work.join("results/head")];
    for dir in &results {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
    }
    for round in 0..rounds {
        // Alternate which build goes first, so a trend over time does not favour one.
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            let bin = if side == 0 { &base_bin } else { &head_bin };
            let label = if side == 0 { "base" } else { "head" };
            let metrics = benchmarks(bin, &events).with_context(|| format!("round {round}, {label}"))?;
            let line: Vec<String> = metrics.iter().map(|m| format!("{} {:.3}", m.name, m.value)).collect();
            println!("round {round} {label}: {}", line.join(", "));
            let dir = results[side].join(format!("round-{round:02}"));
            std::fs::create_dir_all(&dir)?;
            let report = MetricsReport { label: Some(format!("perf-gate {label} round {round}")), metrics };
            let envelope = Envelope::for_this_machine(report);
            metrics_schema::write_atomic(&dir.join("metrics.json"), |out| {
                serde_json::to_writer_pretty(&mut *out, &envelope)?;
                out.write_all(b"\n")
            })?;
        }
    }
    let markdown = work.join("perf-gate.md");
    let mut gate = Command::new(&head_bin);
    gate.current_dir(&root).args(["regress", "--repeats", "--format", "table", "--thresholds", "perf/thresholds.toml"]);
    gate.arg("--markdown").arg(&markdown).arg("--junit").arg(work.join("junit.xml"));
    if std::env::var_os("GITHUB_ACTIONS").is_some_and(|value| value == "true") {
        gate.arg("--github");
    }
    gate.arg("--baseline");
    gate.args(round_dirs(&results[0])?).arg("--current").args(round_dirs(&results[1])?);
    println!("==> {}", describe(&gate));
    let status = gate.status().context("running ocrperf regress")?;
    if !keep {
        // The worktree is cheap to recreate; its target directory is what saves time.
        let _ = Command::new("git").current_dir(&root).args(["worktree", "remove", "--force"]).arg(&worktree).status();
    }
    match status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        Some(3) => anyhow::bail!("`ocrperf regress` compared nothing: no benchmark figure is on both sides"),
        _ => anyhow::bail!("`ocrperf regress` failed"),
    }
}

fn git_output(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("git").current_dir(dir).args(args).output().context("running git")?;
    anyhow::ensure!(
        output.status.success(),
        "git {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// A detached worktree of `commit` at `path`, reused when it is already there.
fn prepare_worktree(root: &Path, path: &Path, commit: &str) -> anyhow::Result<()> {
    if path.join(".git").exists() {
        if git_output(path, &["rev-parse", "HEAD"]).is_ok_and(|head| head == commit) {
            return Ok(());
        }
        let _ = Command::new("git").current_dir(root).args(["worktree", "remove", "--force"]).arg(path).status();
    }
    let _ = Command::new("git").current_dir(root).args(["worktree", "prune"]).status();
    let (ok, _) =
        run_visible(Command::new("git").current_dir(root).args(["worktree", "add", "--detach"]).arg(path).arg(commit))?;
    anyhow::ensure!(ok, "could not check out {commit} into {}", path.display());
    Ok(())
}

/// `cargo build --release -p cli` in `dir` into `target_dir`; the binary's path.
fn build(dir: &Path, target_dir: &Path) -> anyhow::Result<PathBuf> {
    let mut command = cargo();
    command.current_dir(dir).env("CARGO_TARGET_DIR", target_dir).args(["build", "--release", "--locked", "-p", "cli"]);
    let (ok, seconds) = run_visible(&mut command)?;
    anyhow::ensure!(ok, "building {} failed", dir.display());
    println!("built {} in {seconds:.0} s", dir.display());
    Ok(target_dir.join("release/ocrperf"))
}

/// A million batch events (about 70 MB), the same every time. Written without the
/// `ocrperf.batch-events.v1` header on purpose: the base revision's binary reads this same
/// file, and binaries from before the header existed read only header-less files.
fn write_events(path: &Path) -> anyhow::Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
        return Ok(());
    }
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    // Through the one writer, line by line (`write_batch_event`, which writes no header).
    let micros = |seconds: f64| (seconds * 1e6).round() / 1e6;
    metrics_schema::write_atomic(path, |out| {
        for step in 0..EVENTS {
            let event = BatchEvent {
                step,
                batch_size: 8,
                data_wait_s: micros(0.001 + (step % 7) as f64 * 1e-4),
                compute_s: micros(0.020 + (step % 13) as f64 * 1e-4),
                t_start: None,
                gpu_mem_bytes: None,
            };
            write_batch_event(out, &event)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn round_dirs(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(Result::ok).map(|e| e.path()).collect();
    dirs.sort();
    Ok(dirs)
}

/// One round of every benchmark with the binary `bin`.
fn benchmarks(bin: &Path, events: &Path) -> anyhow::Result<Vec<Metric>> {
    let ctx = crate::phases::DemoContext { ocrperf: bin.to_owned() };
    let metric =
        |name: &str, value: f64, unit: Unit, better: Better| Metric { name: name.to_owned(), value, unit, better };
    let mut metrics = Vec::new();
    // Without the cache every epoch computes every polygon: the whole run's rate, by the
    // report's one definition (not the cold rate, the first epoch of a cached run).
    let uncached = ctx.ocrperf_report::<TargetsBenchReport>(&[
        "targets",
        "bench",
        "--threads",
        "1",
        "--no-cache",
        "--epochs",
        "2",
    ])?;
    let uncached_rate =
        uncached.report.uncached_images_per_s().context("`targets bench --no-cache` reported a cache")?;
    metrics.push(metric("targets.uncached_images_per_s", uncached_rate, Unit::PerSecond, Better::Higher));
    let warm = ctx.ocrperf_report::<TargetsBenchReport>(&["targets", "bench", "--threads", "1", "--epochs", "3"])?;
    let warm_rate = warm.report.warm_images_per_s().context("`targets bench` reported no warm epoch")?;
    metrics.push(metric("targets.warm_images_per_s", warm_rate, Unit::PerSecond, Better::Higher));
    let trace = ctx.ocrperf_report::<TraceAnalysisReport>(&["trace", "analyze", TRACE])?;
    metrics.push(metric("trace.read_mb_per_s", trace.report.read.mb_per_s, Unit::PerSecond, Better::Higher));
    let events_arg = events.display().to_string();
    let clock = Instant::now();
    ctx.ocrperf_report::<ThroughputReport>(&["throughput", &events_arg])?;
    let seconds = clock.elapsed().as_secs_f64();
    metrics.push(metric("throughput.ingest_events_per_s", EVENTS as f64 / seconds, Unit::PerSecond, Better::Higher));
    let monitor = ctx.ocrperf_report::<MonitorSummaryReport>(&[
        "monitor",
        "--duration",
        "5s",
        "--interval",
        "100ms",
        "--no-gpu",
    ])?;
    let overhead = monitor.report.overhead.context("the monitor reported no overhead")?.cpu_percent_of_one_core;
    metrics.push(metric("monitor.overhead_cpu_percent", overhead, Unit::Percent, Better::Lower));
    Ok(metrics)
}
