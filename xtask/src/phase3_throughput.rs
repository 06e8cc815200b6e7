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
