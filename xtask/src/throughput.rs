//! The phase demo and the benchmarks of `throughput`: phase 3's demo (the DBNet target pipeline
//! through the loader on the built-in data, 1 vs 2 workers, cache off vs on, with a verdict for
//! each) and `cargo xtask bench-loader` (the loader against `targets bench`).

use metrics_schema::{TargetsBenchReport, ThroughputReport};

use crate::phases::{DemoContext, parse_report};

/// Simulated accelerator step: between a cold batch's and a warm batch's generation time on
/// one core, so the verdict can flip with workers and cache.
const STEP: &str = "10ms";

pub(crate) fn demo(ctx: &DemoContext) -> anyhow::Result<String> {
    // Three epochs with the first (25 batches of the 200 built-in images, filling the cache)
    // left out, so that the figures show what the cache does once it is warm.
    println!("epochs 2–3 (the first fills the cache and is left out):");
    println!("{:>8}  {:>6}  {:>10}  {:>7}  verdict", "workers", "cache", "samples/s", "wait %");
    let mut section = format!(
        "The DBNet target pipeline through the loader, {STEP} simulated step, epochs 2–3 (the first fills the cache).\n\n\
         | workers | cache | samples/s | data wait | verdict |\n|---|---|---|---|---|\n"
    );
    let mut rates = Vec::new();
    for workers in ["1", "2"] {
        for cache in [false, true] {
            let mut args =
                vec!["throughput", "run", "--workers", workers, "--epochs", "3", "--warmup", "25", "--step", STEP];
            if !cache {
                args.push("--no-cache");
            }
            let report = ctx.ocrperf_report::<ThroughputReport>(&args)?.report;
            let rate = report.samples_per_s;
            let (wait, verdict) = (100.0 * report.data_wait_fraction, report.bottleneck.as_str());
            println!("{workers:>8}  {:>6}  {rate:>10.1}  {wait:>6.1}%  {verdict}", if cache { "on" } else { "off" });
            section.push_str(&format!(
                "| {workers} | {} | {rate:.1} | {wait:.1}% | {verdict} |\n",
                if cache { "on" } else { "off" }
            ));
            rates.push(rate);
        }
    }
    ctx.write_section("throughput", &section)?;
    anyhow::ensure!(rates.iter().all(|r| r.is_finite() && *r > 0.0), "a configuration produced no rate");
    Ok(format!("warm: 1 worker no cache {:.0} samples/s → 2 workers + cache {:.0}", rates[0], rates[3]))
}

/// `cargo xtask bench-loader`: the loader with the DBNet pipeline (warm cache, batch 8, no
/// simulated step) against `targets bench` at the same thread counts, and 1 → 2 workers.
///
/// Each configuration runs `ROUNDS` times, interleaved, and the median is kept: the machines
/// are shared and noisy. The loader runs twice: keeping each image's maps in the batch (what
/// training does) and with `--discard-maps` (each worker reuses one set of maps, as `targets
/// bench` does), which leaves the loader's own cost. `targets bench --buffers K` with the map
/// sets such a loader may hold shows what keeping batches in memory costs by itself.
pub(crate) fn bench_loader() -> anyhow::Result<bool> {
    use anyhow::Context as _;

    const EPOCHS: &str = "8";
    const ROUNDS: usize = 3;
    const BATCH: usize = 8;
    const PREFETCH: usize = 2;
    let (built, _) =
        crate::process::run_visible(crate::process::cargo().args(["build", "--release", "--locked", "-p", "cli"]))?;
    anyhow::ensure!(built, "the release build failed");
    let ocrperf = crate::process::project_root().join("target/release/ocrperf");
    let json = |args: &[&str]| -> anyhow::Result<Vec<u8>> {
        let output = std::process::Command::new(&ocrperf).args(args).args(["--format", "json", "-q"]).output()?;
        anyhow::ensure!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        Ok(output.stdout)
    };
    // Warm rate of the loader: the first epoch (25 batches of 8 of the 200 built-in images)
    // fills the cache and is left out.
    let loader = |workers: usize, discard: bool| -> anyhow::Result<f64> {
        let workers = workers.to_string();
        let (batch, prefetch) = (BATCH.to_string(), PREFETCH.to_string());
        let mut args = vec!["throughput", "run", "--workers", &workers, "--batch-size", &batch];
        args.extend(["--prefetch-factor", &prefetch, "--epochs", EPOCHS, "--step", "0ms", "--warmup", "25"]);
        if discard {
            args.push("--discard-maps");
        }
        Ok(parse_report::<ThroughputReport>(&json(&args)?, "ocrperf throughput run")?.report.samples_per_s)
    };
    // Warm rate of `targets bench` (`TargetsBenchReport::warm_images_per_s`).
    let bench = |threads: usize, buffers: usize| -> anyhow::Result<f64> {
        let (threads, buffers) = (threads.to_string(), buffers.to_string());
        let stdout = json(&["targets", "bench", "--threads", &threads, "--buffers", &buffers, "--epochs", EPOCHS])?;
        let report = parse_report::<TargetsBenchReport>(&stdout, "ocrperf targets bench")?.report;
        report.warm_images_per_s().context("`targets bench` reported no warm epoch")
    };
    let median = |mut runs: Vec<f64>| {
        runs.sort_by(f64::total_cmp);
        runs[runs.len() / 2]
    };
    // Per thread count: loader keeping maps, loader discarding them, bench with one map set,
    // bench with the loader's map sets.
    let mut rows = Vec::new();
    for threads in [1, 2] {
        let held = BATCH * (threads * PREFETCH + 1);
        let mut runs: [Vec<f64>; 4] = Default::default();
        for _ in 0..ROUNDS {
            runs[0].push(loader(threads, false)?);
            runs[1].push(loader(threads, true)?);
            runs[2].push(bench(threads, 1)?);
            runs[3].push(bench(threads, held)?);
        }
        rows.push((threads, held, runs.map(median)));
    }
    println!(
        "warm cache, built-in 200 images, batch {BATCH}, prefetch {PREFETCH}, {EPOCHS} epochs (first left out), median of {ROUNDS}, images/s:"
    );
    println!(
        "{:>8}  {:>11}  {:>14}  {:>13}  {:>19}",
        "threads", "loader", "loader discard", "targets bench", "bench, loader's sets"
    );
    for (threads, held, [kept, discarded, one_set, held_sets]) in &rows {
        println!("{threads:>8}  {kept:>11.1}  {discarded:>14.1}  {one_set:>13.1}  {held_sets:>11.1} ({held:>2} sets)");
    }
    let cost = |loader: f64, bench: f64| 100.0 * (1.0 - loader / bench);
    let [(_, _, one), (_, _, two)] = [rows[0], rows[1]];
    println!(
        "loader's own cost (discard vs targets bench): 1 thread {:+.1}%, 2 threads {:+.1}% (target < 5%)",
        cost(one[1], one[2]),
        cost(two[1], two[2])
    );
    println!(
        "with the maps kept in batches vs targets bench: 1 thread {:+.1}%, 2 threads {:+.1}% (the issue's comparison)",
        cost(one[0], one[2]),
        cost(two[0], two[2])
    );
    println!(
        "targets bench alone, {} and {} map sets vs one: {:+.1}%, {:+.1}% (the memory of batches in flight)",
        rows[0].1,
        rows[1].1,
        cost(one[3], one[2]),
        cost(two[3], two[2])
    );
    let scaling = (two[0] / one[0], two[1] / one[1]);
    println!("1 → 2 workers: {:.2}× with maps kept, {:.2}× discarding (target ≥ 1.8×)", scaling.0, scaling.1);
    Ok(scaling.0 >= 1.8 && cost(two[1], two[2]) < 5.0 && cost(one[1], one[2]) < 5.0)
}
