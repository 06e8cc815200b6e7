//! Throughput from Kineto traces through the one trace reader, checked against an independent
//! computation from the raw spans; and the DBNet pipeline.

#![expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]

use std::{io::Read, path::PathBuf, time::Duration};

use metrics_schema::Bottleneck;
use ocrperf::{
    Error,
    dbnet_pipeline::{PipelineOptions, run_pipeline},
    throughput_files::{FileOptions, read_files},
};

fn testdata(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(relative)
}

/// Steps per second and data-wait fraction straight from the raw spans (serde_json DOM).
fn independent(relative: &str) -> (usize, f64, f64) {
    let mut json = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(testdata(relative)).unwrap()).read_to_string(&mut json).unwrap();
    let root: serde_json::Value = serde_json::from_str(&json).unwrap();
    let spans: Vec<&serde_json::Value> = root["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "X" && e["cat"] == "user_annotation")
        .collect();
    let named = |prefix: &str| -> Vec<(f64, f64)> {
        spans
            .iter()
            .filter(|e| e["name"].as_str().unwrap().starts_with(prefix))
            .map(|e| (e["ts"].as_f64().unwrap(), e["ts"].as_f64().unwrap() + e["dur"].as_f64().unwrap()))
            .collect()
    };
    let steps = named("ProfilerStep#");
    let loaders = named("enumerate(DataLoader)");
    let total: f64 = steps.iter().map(|(s, e)| e - s).sum();
    // Loader spans never overlap each other and sit inside steps in these traces.
    let waiting: f64 =
        loaders.iter().map(|&(s, e)| steps.iter().map(|&(a, b)| (e.min(b) - s.max(a)).max(0.0)).sum::<f64>()).sum();
    (steps.len(), steps.len() as f64 / (total / 1e6), waiting / total)
}

#[test]
fn h100_traces_agree_with_the_raw_spans_within_1_percent() {
    for (file, verdict) in [
        ("traces/h100/dbnet_fp32_workers0_bs8.json.gz", Bottleneck::InputBound),
        ("traces/h100/dbnet_fp32_workers8_bs8.json.gz", Bottleneck::ComputeBound),
    ] {
        let (count, steps_per_s, wait_fraction) = independent(file);
        let options = FileOptions { batch_size: Some(8), ..FileOptions::default() };
        let report = read_files(&[testdata(file)], &options).unwrap().report;
        assert_eq!(report.batches, count as u64);
        assert!(
            (report.batches_per_s - steps_per_s).abs() <= 0.01 * steps_per_s,
            "{file}: {} vs {steps_per_s}",
            report.batches_per_s
        );
        assert!(
            (report.data_wait_fraction - wait_fraction).abs() <= 0.01 * wait_fraction.max(1e-3),
            "{file}: {} vs {wait_fraction}",
            report.data_wait_fraction
        );
        assert_eq!(report.samples, 8 * count as u64);
        assert_eq!(report.bottleneck, verdict, "{file}");
    }
}

#[test]
fn traces_need_a_batch_size_steps_and_something_after_the_warm_up() {
    let trace = testdata("traces/h100/dbnet_fp32_workers0_bs8.json.gz");
    let err = read_files(std::slice::from_ref(&trace), &FileOptions::default()).unwrap_err();
    assert!(matches!(err, Error::TraceWithoutBatchSize(_)), "{err}");
    let options = FileOptions { batch_size: Some(8), warmup: 1000, ..FileOptions::default() };
    let err = read_files(std::slice::from_ref(&trace), &options).unwrap_err().to_string();
    assert!(err.ends_with("every batch was warm-up (--warmup 1000); nothing left to measure"), "{err}");
    let no_steps =
        testdata("traces/public/hta_critical_path_alexnet_benchmark_result_2869224_1695835535_trace.json.gz");
    let options = FileOptions { batch_size: Some(8), ..FileOptions::default() };
    let err = read_files(&[no_steps], &options).unwrap_err().to_string();
    assert!(err.contains("no ProfilerStep#N spans"), "{err}");
    assert!(read_files(&[], &options).is_err());
}

#[test]
fn a_cut_short_trace_names_the_byte() {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(testdata("traces/h100/dbnet_fp32_workers0_bs8.json.gz")).unwrap();
    let cut = dir.path().join("cut.json.gz");
    std::fs::write(&cut, &whole[..whole.len() / 3]).unwrap();
    let options = FileOptions { batch_size: Some(8), ..FileOptions::default() };
    let err = read_files(&[cut], &options).unwrap_err().to_string();
    assert!(err.contains("cut.json.gz: byte "), "{err}");
}

#[test]
fn the_pipeline_runs_every_image_each_epoch_and_refuses_an_all_warm_up_run() {
    let images = ocrperf::polygon_cache::synthetic_dataset(12, 3);
    let options = PipelineOptions {
        images,
        source: "seed 3".to_owned(),
        batch_size: 4,
        workers: 2,
        epochs: 2,
        step: Duration::ZERO,
        record_events: true,
        record_timeline: true,
        ..PipelineOptions::default()
    };
    let run = run_pipeline(&options, &mut |_| true).unwrap();
    assert_eq!((run.report.batches, run.report.samples), (6, 24));
    assert_eq!(run.epochs.len(), 2);
    assert_eq!(run.events.len(), 6);
    assert!(run.epochs[1].cache_hit_rate.unwrap() > 0.99, "{:?}", run.epochs[1].cache_hit_rate);
    let mut trace = Vec::new();
    run.timeline.unwrap().write(2, &mut trace).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&trace).unwrap();
    assert_eq!(value["traceEvents"].as_array().unwrap().len(), 3 + 3 * 6);

    let stopped = run_pipeline(&options, &mut |done| done < 2).unwrap();
    assert!(stopped.interrupted);
    assert_eq!(stopped.report.batches, 2);

    let err = run_pipeline(&PipelineOptions { warmup: 100, ..options.clone() }, &mut |_| true).unwrap_err();
    assert_eq!(err.to_string(), "all 6 batches were warm-up (warm-up 100): nothing left to measure");
    let err = run_pipeline(&PipelineOptions { images: Vec::new(), ..options }, &mut |_| true).unwrap_err();
    assert_eq!(err.to_string(), "no images to make targets for");
}
