//! The phase demo and the benchmarks of `profiler-analyze`: phase 3's trace demo, the repo's
//! H100 fixture traces analysed (table, Markdown, SVG under `target/ocrperf/`), the two loader
//! settings diffed and the verdicts checked; and `cargo xtask bench-trace`, the speed benchmark
//! against HTA, a task of its own because it needs a 1 GB file and minutes.

use std::process::Command;

use anyhow::Context as _;
use metrics_schema::{TraceAnalysisReport, TraceDiffReport};

use crate::{
    phases::DemoContext,
    process::{cargo, project_root, run_visible},
};

const WORKERS0: &str = "testdata/traces/h100/dbnet_fp32_workers0_bs8.json.gz";
const WORKERS8: &str = "testdata/traces/h100/dbnet_fp32_workers8_bs8.json.gz";

pub(crate) fn demo(ctx: &DemoContext) -> anyhow::Result<String> {
    let out = project_root().join("target/ocrperf");
    std::fs::create_dir_all(&out)?;
    let mut rates = Vec::new();
    let mut section = String::new();
    for (label, trace) in [("workers0", WORKERS0), ("workers8", WORKERS8)] {
        let svg = out.join(format!("trace-{label}.svg"));
        let md = out.join(format!("trace-{label}.md"));
        let svg_arg = svg.display().to_string();
        let report = ctx.ocrperf_report::<TraceAnalysisReport>(&["trace", "analyze", trace, "--svg", &svg_arg])?.report;
        let (wrote_md, _) = run_visible(
            Command::new(&ctx.ocrperf)
                .current_dir(project_root())
                .args(["trace", "analyze", trace, "-q", "-o"])
                .arg(&md),
        )?;
        anyhow::ensure!(wrote_md, "writing {} failed", md.display());
        let ids: Vec<&str> = report.recommendations.iter().map(|r| r.id.as_str()).collect();
        let (steps, median_ms) = (report.steps.count, report.steps.median_ms);
        let (dataloader, busy) = (100.0 * report.dataloader.fraction, 100.0 * report.gpu.busy_fraction);
        println!(
            "{label}: {steps} steps, median {median_ms:.1} ms, DataLoader {dataloader:.1}%, GPU busy {busy:.1}%; \
             findings: {}",
            ids.join(", ")
        );
        let expected = if label == "workers0" { "dataloader-bound" } else { "gpu-underutilized" };
        anyhow::ensure!(ids.first() == Some(&expected), "{label}: expected `{expected}` first, got {ids:?}");
        rates.push(report.read.mb_per_s);
        let titles: Vec<&str> = report.recommendations.iter().map(|r| r.title.as_str()).collect();
        section.push_str(&format!(
            "**{trace}**: {steps} steps, median {median_ms:.1} ms, DataLoader {dataloader:.1}% of the window, GPU busy \
             {busy:.1}%. Findings: {}. [Full analysis](trace-{label}.md).\n\n![step breakdown, {label}](trace-{label}.svg)\n\n",
            titles.join("; ")
        ));
        println!("  wrote {} and {}", svg.display(), md.display());
    }
    let diff = ctx.ocrperf_report::<TraceDiffReport>(&["trace", "diff", WORKERS0, WORKERS8])?.report;
    let step = diff.steps.first().context("`trace diff` compared no steps")?;
    println!("diff workers0 -> workers8: step {:.1} -> {:.1} ms", step.a_ms, step.b_ms);
    ctx.write_section("trace", &section)?;
    Ok(format!("workers=0 dataloader-bound, workers=8 {:.1}x faster per step", step.a_ms / step.b_ms))
}

/// `cargo xtask bench-trace`: builds the release binary and runs `tools/trace_bench.py`
/// (a ~1 GB trace; ocrperf on .json and .json.gz; HTA on the same file when installed).
/// A CPU trace recorded with `with_stack=True, profile_memory=True` (`tools/record_cpu_traces.py stack`).
const STACK_MEMORY: &str = "testdata/traces/cpu/stack_memory.pt.trace.json.gz";

pub(crate) fn bench(extra: &[String]) -> anyhow::Result<bool> {
    let (built, _) = run_visible(cargo().args(["build", "--release", "--locked", "-p", "cli"]))?;
    anyhow::ensure!(built, "the release build failed");
    let root = project_root();
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success()))
        .context("python3 is needed for the trace benchmark")?;
    let mut cmd = Command::new(python);
    cmd.current_dir(&root)
        .arg("tools/trace_bench.py")
        .args(["--ocrperf", "target/release/ocrperf", "--source", WORKERS8, "--stack-source", STACK_MEMORY])
        .args(["--json", "target/ocrperf/trace-bench.json"])
        .args(extra);
    Ok(run_visible(&mut cmd)?.0)
}
