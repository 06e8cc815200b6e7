//! `cargo bench -p polygon-cache`: target generation over the repository's fixtures, cold
//! (no cache), miss-only (an empty cache every pass) and warm (a full cache), single-threaded.
//! Prints the median of several passes and the ratios between them.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::{path::Path, time::Instant};

use polygon_cache::{PolygonCache, TargetConfig, TargetGenerator, Targets, read_dataset};

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/dbnet/gt");
    let images = read_dataset(&dir, None).expect("testdata/dbnet/gt is readable");
    let passes: usize = std::env::var("PASSES").ok().and_then(|v| v.parse().ok()).unwrap_or(7);
    let mut targets = Targets::default();
    let mut pass = |generator: &TargetGenerator| {
        let started = Instant::now();
        for image in &images {
            let _ = generator.generate_into(image.height, image.width, &image.polygons, &mut targets);
        }
        images.len() as f64 / started.elapsed().as_secs_f64()
    };
    let config = TargetConfig::default();
    let mut cold = Vec::new();
    let mut miss_only = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..passes {
        cold.push(pass(&TargetGenerator::new(config)));
        let cache = PolygonCache::with_max_bytes(1 << 30);
        let cached = TargetGenerator::with_cache(config, cache);
        miss_only.push(pass(&cached));
        warm.push(pass(&cached));
    }
    let (cold, miss_only, warm) = (median(cold), median(miss_only), median(warm));
    println!("images per pass      {}", images.len());
    println!("cold (no cache)      {cold:>8.1} images/s");
    println!(
        "miss-only (cache)    {miss_only:>8.1} images/s  ({:+.1}% time vs no cache)",
        (cold / miss_only - 1.0) * 100.0
    );
    println!("warm (cache)         {warm:>8.1} images/s  ({:.2}x cold)", warm / cold);
}
