//! `cargo bench -p profiler-analyze`: reader and analysis throughput on the H100 fixture
//! trace, held in memory (no disk, no gzip), so the two stages can be told apart.
//!
//! The end-to-end figure on a 1 GB file, and the HTA ratio, come from `cargo xtask bench-trace`.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::{io::Read, path::Path, time::Instant};

use profiler_analyze::{ReadOptions, analyze, read_from};

const RUNS: usize = 7;

fn main() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/traces/h100/dbnet_fp32_workers8_bs8.json.gz");
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&fixture).expect("fixture trace"))
        .read_to_end(&mut json)
        .expect("fixture trace decompresses");
    let megabytes = json.len() as f64 / 1e6;
    let mut read_times = Vec::new();
    let mut analyze_times = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let trace = read_from(&json[..], &fixture, ReadOptions::default(), &mut |_| true).expect("fixture reads");
        read_times.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        let analysis = analyze(&trace);
        analyze_times.push(start.elapsed().as_secs_f64());
        assert_eq!(analysis.steps.count, 8);
    }
    let median = |times: &mut Vec<f64>| {
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    let (read, analysis) = (median(&mut read_times), median(&mut analyze_times));
    println!("trace: {megabytes:.1} MB of JSON in memory, median of {RUNS} runs");
    println!("read    {:8.2} ms  {:7.0} MB/s", read * 1e3, megabytes / read);
    println!("analyze {:8.2} ms  {:7.0} MB/s", analysis * 1e3, megabytes / analysis);
    println!("both    {:8.2} ms  {:7.0} MB/s", (read + analysis) * 1e3, megabytes / (read + analysis));
}
