//! The phase demo and the benchmarks of `resource-monitor`: phase 3's monitor demo (a built-in
//! CPU and disk load monitored for a few seconds, the samples and the HTML report written under
//! `target/ocrperf/`) and `cargo xtask bench-monitor` (the monitor's own CPU and memory).

use std::process::Command;

use anyhow::Context as _;
use metrics_schema::MonitorSummaryReport;

use crate::{
    phases::{DemoContext, parse_report},
    process::{project_root, run_visible},
};

pub(crate) fn demo(ctx: &DemoContext) -> anyhow::Result<String> {
    let out = project_root().join("target/ocrperf");
    std::fs::create_dir_all(&out)?;
    let samples = out.join("monitor-demo.jsonl");
    let html = out.join("monitor-demo.html");
    // A demo rule that the load trips, so the report shows an alert band.
    let rules = out.join("monitor-demo-rules.toml");
    metrics_schema::write_atomic(&rules, |out| {
        out.write_all(
            b"[[rule]]\nname = \"demo-busy\"\nmetric = \"process.cpu_percent\"\nop = \">\"\nthreshold = 50\n\
         for = \"1s\"\nseverity = \"info\"\nmessage = \"the demo load is running\"\n",
        )
    })?;
    let output = Command::new(&ctx.ocrperf)
        .current_dir(project_root())
        .args(["monitor", "--interval", "250ms", "--format", "json", "-q", "--alerts"])
        .arg(&rules)
        .arg("--out")
        .arg(&samples)
        .arg("--")
        .arg(std::env::current_exe().context("finding the xtask executable for its load")?)
        .args(["load", "--duration", "4s", "--dir"])
        .arg(&out)
        .output()
        .context("running ocrperf monitor")?;
    anyhow::ensure!(output.status.success(), "monitor failed: {}", String::from_utf8_lossy(&output.stderr));
    let report = parse_report::<MonitorSummaryReport>(&output.stdout, "ocrperf monitor")?.report;
    anyhow::ensure!(!report.alerts.is_empty(), "the demo rule should have fired");
    let max_of = |name: &str| -> anyhow::Result<f64> {
        report
            .metrics
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.max)
            .with_context(|| format!("the monitor's summary has no `{name}`"))
    };
    let disk_write = report
        .metrics
        .iter()
        .filter(|m| m.name.starts_with("disk.") && m.name.ends_with(".write_bytes_per_s"))
        .map(|m| m.max)
        .fold(0.0, f64::max);
    let samples_taken = report.samples;
    let cpu_peak = max_of("process.cpu_percent")?;
    let rss_peak = max_of("process.rss_bytes")?;
    println!(
        "{samples_taken} samples; process CPU peak {cpu_peak:.0}%, RSS peak {:.1} MB; disk writes peak {:.0} MB/s; GPUs: {}",
        rss_peak / 1e6,
        disk_write / 1e6,
        report.gpu_note.clone().unwrap_or_else(|| report.gpus.to_string())
    );
    anyhow::ensure!(samples_taken >= 10, "expected at least 10 samples in 4 s at 250 ms, got {samples_taken}");
    anyhow::ensure!(cpu_peak > 50.0, "the load's CPU use was not seen");
    let (ok, _) = run_visible(
        Command::new(&ctx.ocrperf)
            .current_dir(project_root())
            .args(["monitor", "report", "-q", "-o"])
            .arg(&html)
            .arg(&samples),
    )?;
    anyhow::ensure!(ok, "the HTML report failed");
    let page = std::fs::read_to_string(&html).with_context(|| format!("reading {}", html.display()))?;
    anyhow::ensure!(page.matches("<svg").count() == 4, "the report should hold four charts");
    let charts = out.join("monitor-demo");
    let (ok, _) = run_visible(
        Command::new(&ctx.ocrperf)
            .current_dir(project_root())
            .args(["monitor", "report", "-q", "--svg"])
            .arg(&charts)
            .arg(&samples),
    )?;
    anyhow::ensure!(ok, "the SVG charts failed");
    let mut section = format!(
        "{samples_taken} samples at 250 ms of a built-in CPU and disk load, with a demo alert rule that fires \
         (the shaded band). [The monitor's HTML report](monitor-demo.html).\n\n"
    );
    for chart in ["gpu", "cpu", "memory", "disk"] {
        section.push_str(&format!("![{chart}](monitor-demo/{chart}.svg)\n\n"));
    }
    ctx.write_section("monitor", &section)?;
    println!("wrote {} and {}", samples.display(), html.display());
    Ok(format!("{samples_taken} samples, load seen at {cpu_peak:.0}% CPU; report: target/ocrperf/monitor-demo.html"))
}

/// `cargo xtask bench-monitor`: the monitor's own CPU time and peak RSS over 30 s at a 1 s and
/// a 100 ms interval, sampling the host, GPUs (where there are any) and a watched process, and
/// writing JSONL, against the targets.
pub(crate) fn bench(seconds: u64) -> anyhow::Result<bool> {
    let (built, _) = run_visible(crate::process::cargo().args(["build", "--release", "--locked", "-p", "cli"]))?;
    anyhow::ensure!(built, "the release build failed");
    let ocrperf = project_root().join("target/release/ocrperf");
    let scratch = tempfile::tempdir()?;
    let mut passed = true;
    println!("{:>9}  {:>10}  {:>12}  {:>9}  {:>8}", "interval", "CPU", "target", "peak RSS", "samples");
    for (interval, target) in [("1s", 0.5), ("100ms", 3.0)] {
        let out = scratch.path().join(format!("{interval}.jsonl"));
        let output = Command::new(&ocrperf)
            .args(["monitor", "--interval", interval, "--duration", &format!("{seconds}s"), "--format", "json", "-q"])
            .args(["--pid", &std::process::id().to_string(), "--out"])
            .arg(&out)
            .output()
            .context("running ocrperf monitor")?;
        anyhow::ensure!(output.status.success(), "monitor failed: {}", String::from_utf8_lossy(&output.stderr));
        let report = parse_report::<MonitorSummaryReport>(&output.stdout, "ocrperf monitor")?.report;
        let overhead = report.overhead.as_ref().context("the monitor reported no overhead")?;
        let (cpu, rss) = (overhead.cpu_percent_of_one_core, overhead.peak_rss_bytes as f64 / 1e6);
        let ok = cpu < target && rss < 20.0;
        passed &= ok;
        println!(
            "{interval:>9}  {cpu:>9.3}%  {:>12}  {rss:>6.1} MB  {:>8}  {}",
            format!("< {target}%, < 20 MB"),
            report.samples,
            if ok { "met" } else { "MISSED" }
        );
        if let Some(note) = &report.gpu_note {
            println!("           ({note})");
        }
    }
    Ok(passed)
}
