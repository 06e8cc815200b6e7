//! A second, naive path from the raw events (a serde_json DOM of the whole file) to the
//! numbers the analysis reports, on the real H100 traces.

use std::{collections::HashMap, io::Read};

use serde_json::Value;

use crate::{read, testdata};

struct Naive {
    steps: Vec<f64>,
    dataloader_fraction: f64,
    busy_fraction: f64,
    /// (kernel, op) → (count, total µs).
    kernels: HashMap<(String, String), (u64, f64)>,
}

fn naive(relative: &str) -> Naive {
    let mut json = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(testdata(relative)).unwrap()).read_to_string(&mut json).unwrap();
    let root: Value = serde_json::from_str(&json).unwrap();
    let events = root["traceEvents"].as_array().unwrap();
    let x = |e: &&Value| e["ph"] == "X";
    let ts = |e: &Value| e["ts"].as_f64().unwrap();
    let end = |e: &Value| ts(e) + e["dur"].as_f64().unwrap_or(0.0);
    let name = |e: &Value| e["name"].as_str().unwrap_or("").to_owned();

    let mut steps: Vec<&Value> = events
        .iter()
        .filter(x)
        .filter(|e| e["cat"] == "user_annotation" && name(e).starts_with("ProfilerStep#"))
        .collect();
    steps.sort_by(|a, b| ts(a).total_cmp(&ts(b)));
    let (lo, hi) = (ts(steps[0]), steps.iter().map(|e| end(e)).fold(f64::MIN, f64::max));

    let covered = |mut spans: Vec<(f64, f64)>| {
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (mut total, mut reach) = (0.0, f64::MIN);
        for (start, stop) in spans {
            let (start, stop) = (start.max(lo).max(reach), stop.min(hi));
            if stop > start {
                total += stop - start;
                reach = stop;
            }
        }
        total
    };
    let dataloader = events
        .iter()
        .filter(x)
        .filter(|e| e["cat"] == "user_annotation" && name(e).starts_with("enumerate(DataLoader)"))
        .map(|e| (ts(e), end(e)))
        .collect();
    let gpu_cats = ["kernel", "gpu_memcpy", "gpu_memset"];
    let gpu =
        events.iter().filter(x).filter(|e| gpu_cats.iter().any(|c| e["cat"] == *c)).map(|e| (ts(e), end(e))).collect();

    let ops: HashMap<i64, String> = events
        .iter()
        .filter(x)
        .filter(|e| e["cat"] == "cpu_op")
        .filter_map(|e| Some((e["args"]["External id"].as_i64()?, name(e))))
        .collect();
    let mut kernels = HashMap::new();
    for kernel in events.iter().filter(x).filter(|e| e["cat"] == "kernel" && (lo..hi).contains(&ts(e))) {
        let op = kernel["args"]["External id"].as_i64().and_then(|id| ops.get(&id)).cloned().unwrap_or_default();
        let entry = kernels.entry((name(kernel), op)).or_insert((0, 0.0));
        entry.0 += 1;
        entry.1 += kernel["dur"].as_f64().unwrap();
    }
    Naive {
        steps: steps.iter().map(|e| e["dur"].as_f64().unwrap() / 1e3).collect(),
        dataloader_fraction: covered(dataloader) / (hi - lo),
        busy_fraction: covered(gpu) / (hi - lo),
        kernels,
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = q * (sorted.len() - 1) as f64;
    let (below, above) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[below] + (sorted[above] - sorted[below]) * (rank - below as f64)
}

#[test]
fn h100_figures_match_a_naive_computation_from_the_raw_events() {
    for file in ["h100/dbnet_fp32_workers0_bs8.json.gz", "h100/dbnet_fp32_workers8_bs8.json.gz"] {
        let expected = naive(file);
        let analysis = profiler_analyze::analyze(&read(&testdata(file)));
        let close = |what: &str, got: f64, want: f64| {
            assert!((got - want).abs() <= 1e-6 * want.abs().max(1.0), "{file} {what}: {got} vs {want}");
        };
        let mut steps = expected.steps.clone();
        steps.sort_by(f64::total_cmp);
        assert_eq!(analysis.steps.count, steps.len());
        close("mean", analysis.steps.mean_ms, steps.iter().sum::<f64>() / steps.len() as f64);
        close("median", analysis.steps.median_ms, percentile(&steps, 0.5));
        close("p95", analysis.steps.p95_ms, percentile(&steps, 0.95));
        close("max", analysis.steps.max_ms, *steps.last().unwrap());
        close("dataloader", analysis.dataloader.fraction, expected.dataloader_fraction);
        close("busy", analysis.gpu.busy_fraction, expected.busy_fraction);

        let mut naive_kernels: Vec<((String, String), (u64, f64))> = expected.kernels.into_iter().collect();
        naive_kernels.sort_by(|a, b| b.1.1.total_cmp(&a.1.1).then_with(|| a.0.cmp(&b.0)));
        assert_eq!(analysis.kernels.len(), naive_kernels.len());
        for (got, ((name, op), (count, total_us))) in analysis.kernels.iter().zip(&naive_kernels).take(10) {
            assert_eq!((&got.name, &got.op, got.count), (name, op, *count));
            close("kernel total", got.total_ms, total_us / 1e3);
        }
    }
}
