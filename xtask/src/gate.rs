//! The phase demo and the benchmarks of the regression gate: phase 1's demo (a baseline of the
//! built-in workload, the gate passing an unchanged run and catching an injected slowdown, and
//! the gate on the committed tracker fixtures) and `cargo xtask bench-readers` (the TensorBoard
//! and W&B readers against the trackers' own). The gate's power study is `gate_bench.rs`.
//!
//! The built-in workload is `ocrperf throughput run` with 2 loader workers and a simulated
//! 20 ms step: step-bound like a GPU training run, so unchanged runs differ by noise alone
//! (0.4% in samples/s on the 2-core development machine). The slowdown makes the step 10%
//! longer.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use metrics_schema::{BaselineReport, RegressReport, Verdict};

use crate::{phases::DemoContext, process::project_root};

/// `ocrperf` arguments of the built-in workload (then `--step`, `--events`, `-o`). Four
/// epochs; the first fills the polygon cache and is left out of the report's figures (the
/// baseline's warm-up rule finds it in the batch events by itself).
pub(crate) const WORKLOAD: [&str; 8] = ["throughput", "run", "--workers", "2", "--epochs", "4", "--warmup", "25"];
/// The simulated step of the built-in workload.
pub(crate) const STEP: &str = "20ms";
const SLOWER_STEP: &str = "22ms";

/// What each committed tracker pair must show: these two regressed, the rest not.
const EXPECTED_REGRESSED: [&str; 2] = ["perf/samples_per_sec", "perf/step_time_ms"];

pub(crate) fn demo(ctx: &DemoContext) -> anyhow::Result<String> {
    let out = project_root().join("target/ocrperf");
    let work = out.join("phase1");
    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("clearing {}", work.display()))?;
    }
    std::fs::create_dir_all(&work)?;
    let mut section = String::from("### The gate on the built-in workload\n\n");

    // 1. The baseline: target/ocrperf/baseline.{json,md} and its charts.
    let base_run = workload(ctx, &work.join("baseline-run"), STEP)?;
    let out_arg = out.display().to_string();
    let baseline = ctx.ocrperf_report::<BaselineReport>(&["baseline", "-o", &out_arg, &base_run])?.report;
    let rate = baseline
        .metrics
        .iter()
        .find(|m| m.name == "batch.samples_per_s")
        .map(|m| m.distribution.p50)
        .context("the baseline has no batch.samples_per_s")?;
    let baseline_file = out.join("baseline.json").display().to_string();
    println!("baseline: {rate:.1} samples/s → target/ocrperf/baseline.json, baseline.md");

    // 2. The same workload again: the gate must pass.
    let unchanged =
        gate(ctx, &baseline_file, &workload(ctx, &work.join("unchanged-run"), STEP)?, &work.join("unchanged.md"))?;
    anyhow::ensure!(
        unchanged.regressed.is_empty(),
        "the gate called an unchanged run regressed: {}",
        unchanged.regressed.join(", ")
    );
    // 3. A 10% longer step: the gate must say regressed.
    let slower =
        gate(ctx, &baseline_file, &workload(ctx, &work.join("slower-run"), SLOWER_STEP)?, &work.join("slower.md"))?;
    anyhow::ensure!(slower.verdict == "regressed", "the gate missed a 10% longer step (verdict {})", slower.verdict);
    println!(
        "unchanged run: {} ({} metrics); step +10%: regressed ({})",
        unchanged.verdict,
        unchanged.compared,
        slower.regressed.join(", ")
    );
    section.push_str(&format!(
        "- unchanged run: **{}** ({} metrics compared, none regressed)\n- the same run with a 10% longer step: **{}** ({})\n\n",
        unchanged.verdict,
        unchanged.compared,
        slower.verdict,
        slower.regressed.join(", ")
    ));
    section.push_str("The gate's report on the slower run:\n\n");
    section.push_str(&demote(&std::fs::read_to_string(work.join("slower.md"))?, 2));

    // 4. The committed tracker fixtures: a baseline and a 12% slower model step, per tracker.
    section.push_str("\n### The gate on runs logged to trackers\n\n| tracker | regressed | unchanged | not comparable |\n|---|---|---|---|\n");
    let fixtures = project_root().join("testdata/regression");
    let db = unpack_mlflow_db(&fixtures, &work)?;
    let fixture = |relative: &str| fixtures.join(relative).display().to_string();
    let pairs: Vec<(&str, Vec<String>)> = vec![
        (
            "W&B 0.31 (offline)",
            vec!["--baseline".into(), fixture("wandb/baseline"), "--current".into(), fixture("wandb/slower")],
        ),
        (
            "W&B 0.19 (offline)",
            vec!["--baseline".into(), fixture("wandb-0.19/baseline"), "--current".into(), fixture("wandb-0.19/slower")],
        ),
        ("MLflow file store", by_run_name(&fixture("mlflow-files/mlruns"))),
        ("MLflow SQLite store", by_run_name(&db.display().to_string())),
        (
            "TensorBoard (tensorboardX)",
            vec![
                "--baseline".into(),
                fixture("tensorboard/baseline"),
                "--current".into(),
                fixture("tensorboard/slower"),
            ],
        ),
    ];
    for (tracker, args) in &pairs {
        let mut full = vec!["regress".to_owned()];
        full.extend(args.iter().cloned());
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        let result = Verdicts::of(&ctx.ocrperf_report::<RegressReport>(&refs)?.report);
        let mut regressed = result.regressed.clone();
        regressed.sort();
        anyhow::ensure!(
            regressed == EXPECTED_REGRESSED,
            "{tracker}: expected {} regressed, the gate said {}",
            EXPECTED_REGRESSED.join(" and "),
            if regressed.is_empty() { "none".to_owned() } else { regressed.join(", ") }
        );
        println!("{tracker}: regressed {}; unchanged {}", regressed.join(", "), result.unchanged.join(", "));
        section.push_str(&format!(
            "| {tracker} | {} | {} | {} |\n",
            regressed.join(", "),
            result.unchanged.join(", "),
            result.not_comparable.join(", ")
        ));
    }
    ctx.write_section("regression", &section)?;
    Ok(format!(
        "baseline {rate:.0} samples/s; unchanged run passes; +10% step regressed; {} tracker pairs right",
        pairs.len()
    ))
}

fn by_run_name(store: &str) -> Vec<String> {
    ["--baseline", store, "--baseline-run", "baseline", "--current", store, "--current-run", "slower"]
        .map(str::to_owned)
        .to_vec()
}

/// Runs the built-in workload into `dir` (its batch events and throughput report) and returns
/// the directory, which `baseline` and `regress` read as one run.
pub(crate) fn workload(ctx: &DemoContext, dir: &Path, step: &str) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir)?;
    let events = dir.join("batches.jsonl").display().to_string();
    let report = dir.join("throughput.json").display().to_string();
    let mut args = WORKLOAD.to_vec();
    args.extend(["--step", step, "--events", &events, "-o", &report]);
    ctx.ocrperf(&args)?;
    Ok(dir.display().to_string())
}

/// What a `regress` JSON report concluded.
struct Verdicts {
    verdict: String,
    compared: usize,
    regressed: Vec<String>,
    unchanged: Vec<String>,
    not_comparable: Vec<String>,
}

impl Verdicts {
    fn of(report: &RegressReport) -> Verdicts {
        let names = |verdict: Verdict| -> Vec<String> {
            report.comparisons.iter().filter(|c| c.verdict == verdict).map(|c| c.name.clone()).collect()
        };
        Verdicts {
            verdict: report.verdict.as_str().to_owned(),
            compared: report.comparisons.len(),
            regressed: names(Verdict::Regressed),
            unchanged: names(Verdict::Unchanged),
            not_comparable: names(Verdict::NotComparable),
        }
    }
}

/// `ocrperf regress --baseline FILE --current DIR --markdown MD`, parsed.
fn gate(ctx: &DemoContext, baseline: &str, current: &str, markdown: &Path) -> anyhow::Result<Verdicts> {
    let markdown = markdown.display().to_string();
    let report = ctx.ocrperf_report::<RegressReport>(&[
        "regress",
        "--baseline",
        baseline,
        "--current",
        current,
        "--markdown",
        &markdown,
    ])?;
    Ok(Verdicts::of(&report.report))
}

/// The committed SQLite store is gzipped; unpacked into `dir`.
fn unpack_mlflow_db(fixtures: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join("mlflow.db");
    let packed = fixtures.join("mlflow-sqlite/mlflow.db.gz");
    // Through the one opener of inputs, which recognises the gzip.
    let (mut source, _) = metrics_schema::text::open_input(&packed).with_context(|| packed.display().to_string())?;
    metrics_schema::write_atomic(&path, |out| std::io::copy(&mut source, out).map(drop))
        .context("unpacking the MLflow fixture")?;
    Ok(path)
}

/// Markdown with every heading `levels` deeper, to nest a page in a report.
pub(crate) fn demote(markdown: &str, levels: usize) -> String {
    let mut out = String::with_capacity(markdown.len());
    for line in markdown.lines() {
        if line.starts_with('#') {
            out.push_str(&"#".repeat(levels));
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `cargo xtask bench-readers`: builds the release binary and runs `tools/reader_bench.py`
/// (TensorBoard's `EventFileLoader` and wandb's `DataStore` against ocrperf on the same files).
/// `--python PY` picks the Python with tensorboard and tensorboardX (default `python3`); the
/// rest goes to the script (`--wandb-python` for a Python with wandb 0.19).
pub(crate) fn bench_readers(extra: &[String]) -> anyhow::Result<bool> {
    use crate::process::{cargo, run_visible};
    let (built, _) = run_visible(cargo().args(["build", "--release", "--locked", "-p", "cli"]))?;
    anyhow::ensure!(built, "the release build failed");
    let (python, rest) = match extra {
        [flag, python, rest @ ..] if flag == "--python" => (python.clone(), rest),
        _ => ("python3".to_owned(), extra),
    };
    let mut cmd = std::process::Command::new(python);
    cmd.current_dir(project_root())
        .arg("tools/reader_bench.py")
        .args(["--ocrperf", "target/release/ocrperf", "--json", "target/ocrperf/reader-bench.json"])
        .args(rest);
    Ok(run_visible(&mut cmd)?.0)
}
