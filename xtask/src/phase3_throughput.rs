//! Phase 3's `throughput` demo: the DBNet target pipeline through the loader on the built-in
//! data, 1 vs 2 workers, cache off vs on, with a verdict for each.

use crate::phases::DemoContext;

/// Simulated accelerator step: between a cold batch's and a warm batch's generation time on
/// one core, so the verdict can flip with workers and cache.
const STEP: &str = "10ms";

pub(crate) fn demo(ctx: &DemoContext) -> anyhow::Result<String> {
    println!("{:>8}  {:>6}  {:>10}  {:>7}  verdict", "workers", "cache", "samples/s", "wait %");
    let mut rates = Vec::new();
    for workers in ["1", "2"] {
        for cache in [false, true] {
            let mut args = vec!["throughput", "run", "--workers", workers, "--epochs", "2", "--step-ms", STEP];
            if !cache {
                args.push("--no-cache");
            }
            let report = ctx.ocrperf_json(&args)?;
            let rate = report["samples_per_s"].as_f64().unwrap_or(f64::NAN);
            println!(
                "{workers:>8}  {:>6}  {rate:>10.1}  {:>6.1}%  {}",
                if cache { "on" } else { "off" },
                100.0 * report["data_wait_fraction"].as_f64().unwrap_or(f64::NAN),
                report["bottleneck"].as_str().unwrap_or("?")
            );
            rates.push(rate);
        }
    }
    anyhow::ensure!(rates.iter().all(|r| r.is_finite() && *r > 0.0), "a configuration produced no rate");
    Ok(format!("1 worker no cache {:.0} samples/s → 2 workers + cache {:.0}", rates[0], rates[3]))
}

/// `cargo xtask bench-loader`: the loader with the DBNet pipeline (warm cache, no simulated
/// step) against `targets bench` at the same thread counts, and 1 → 2 workers.
pub(crate) fn bench_loader() -> anyhow::Result<bool> {
    use anyhow::Context as _;

    let (built, _) =
        crate::process::run_visible(crate::process::cargo().args(["build", "--release", "--locked", "-p", "cli"]))?;
    anyhow::ensure!(built, "the release build failed");
    let ocrperf = crate::process::project_root().join("target/release/ocrperf");
    let json = |args: &[&str]| -> anyhow::Result<serde_json::Value> {
        let output = std::process::Command::new(&ocrperf).args(args).args(["--format", "json", "-q"]).output()?;
        anyhow::ensure!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).context("a JSON report")
    };
    const EPOCHS: &str = "6";
    // 200 built-in images in batches of 8: 25 batches per epoch; the first epoch fills the cache.
    let mut loader = Vec::new();
    let mut direct = Vec::new();
    for threads in ["1", "2"] {
        let run = json(&[
            "throughput",
            "run",
            "--workers",
            threads,
            "--epochs",
            EPOCHS,
            "--step-ms",
            "0ms",
            "--warmup",
            "25",
        ])?;
        loader.push(run["samples_per_s"].as_f64().unwrap_or(f64::NAN));
        let bench = json(&["targets", "bench", "--threads", threads, "--epochs", EPOCHS])?;
        let mut warm: Vec<f64> = bench["epochs"]
            .as_array()
            .into_iter()
            .flatten()
            .skip(1)
            .filter_map(|e| e["images_per_s"].as_f64())
            .collect();
        warm.sort_by(f64::total_cmp);
        direct.push(warm.get(warm.len() / 2).copied().unwrap_or(f64::NAN));
    }
    let scaling = loader[1] / loader[0];
    let costs: Vec<f64> = loader.iter().zip(&direct).map(|(l, d)| 1.0 - l / d).collect();
    println!("warm cache, built-in 200 images, {EPOCHS} epochs (first left out):");
    for (index, threads) in ["1", "2"].iter().enumerate() {
        println!(
            "  {threads} thread(s): loader {:8.1} images/s, targets bench {:8.1} images/s, loader cost {:+.1}%",
            loader[index],
            direct[index],
            100.0 * costs[index]
        );
    }
    println!("  1 → 2 workers: {scaling:.2}× (target ≥ 1.8×); loader cost at 2 threads target < 5%");
    Ok(scaling >= 1.8 && costs[1] < 0.05)
}
