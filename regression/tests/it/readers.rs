//! Each reader against the tracker's own Python reader, on files the tracker wrote
//! (`testdata/regression/expected.json`, made by `tools/tracker_oracle.py`).

use std::path::PathBuf;

use regression::{RunMetrics, sources};

use crate::{fixtures, load, mlflow_db};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

fn load_fixture(key: &str, scratch: &std::path::Path) -> RunMetrics {
    let loaded = match key.split_once('#') {
        Some(("mlflow-files", run)) => load(&fixtures("mlflow-files/mlruns"), Some(run)),
        Some(("mlflow-sqlite", run)) => load(&mlflow_db(scratch), Some(run)),
        Some((store, _)) => panic!("unknown store {store}"),
        None => load(&fixtures(key), None),
    };
    loaded.unwrap_or_else(|err| panic!("{key}: {err}"))
}

#[test]
fn every_fixture_reads_as_its_trackers_own_reader_reads_it() {
    let text = std::fs::read_to_string(fixtures("expected.json")).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
    let runs = expected.as_object().unwrap();
    assert_eq!(runs.len(), 12, "every format and both SDK generations");
    let scratch = tempfile::tempdir().unwrap();
    for (key, metrics) in runs {
        let run = load_fixture(key, scratch.path());
        for (name, summary) in metrics.as_object().unwrap() {
            let series = run.series.get(name).unwrap_or_else(|| panic!("{key}: no series `{name}`"));
            let points = &series.points;
            let field = |f: &str| summary[f].as_f64().unwrap();
            assert_eq!(points.len() as f64, field("count"), "{key} {name}: count");
            let (first, last) = (points.first().unwrap(), points.last().unwrap());
            assert_eq!(first.step as f64, field("first_step"), "{key} {name}");
            assert_eq!(last.step as f64, field("last_step"), "{key} {name}");
            assert!(close(first.value, field("first")), "{key} {name}: first {} vs {}", first.value, field("first"));
            assert!(close(last.value, field("last")), "{key} {name}: last {} vs {}", last.value, field("last"));
            let mean = points.iter().map(|p| p.value).sum::<f64>() / points.len() as f64;
            assert!(close(mean, field("mean")), "{key} {name}: mean {mean} vs {}", field("mean"));
        }
    }
}

#[test]
fn run_metadata_comes_through() {
    let scratch = tempfile::tempdir().unwrap();
    let wandb = load(&fixtures("wandb/baseline"), None).unwrap();
    assert_eq!(wandb.info.name.as_deref(), Some("baseline"));
    assert_eq!(wandb.info.tool, "wandb");
    assert!(wandb.info.id.as_deref().is_some_and(|id| id.len() == 8));
    assert!(wandb.info.started_at.is_some() && wandb.info.host.is_some());
    assert_eq!(wandb.config["batch_size"], "8");
    assert_eq!(wandb.config["model"], "dbnet-resnet18");
    let best = wandb.scalars["best_hmean"].value;
    assert!((0.8..0.9).contains(&best), "{best}");
    assert!(wandb.series.keys().any(|name| name.starts_with("system/")), "system metrics");

    // wandb 0.19 writes its metadata beside the log.
    let old = load(&fixtures("wandb-0.19/slower"), None).unwrap();
    assert_eq!(old.info.name.as_deref(), Some("slower"));
    assert!(old.info.cpu_model.is_some() || old.info.host.is_some());

    for (store, run) in [
        ("files", load(&fixtures("mlflow-files/mlruns"), Some("slower")).unwrap()),
        ("sqlite", load(&mlflow_db(scratch.path()), Some("slower")).unwrap()),
    ] {
        assert_eq!(run.info.name.as_deref(), Some("slower"), "{store}");
        assert_eq!(run.info.host.as_deref(), Some("trainer-01"), "{store}");
        assert_eq!(run.config["workers"], "4", "{store}");
        assert_eq!(run.info.tool, "mlflow");
    }

    let tensorboard = load(&fixtures("tensorboard/baseline"), None).unwrap();
    assert_eq!(tensorboard.info.name.as_deref(), Some("baseline"));
    assert_eq!(tensorboard.info.tool, "tensorboard");
    assert!(tensorboard.info.host.is_some());
}

#[test]
fn directories_are_searched_and_grouped_into_runs() {
    let candidates = sources::discover(&[fixtures("")]).unwrap();
    let count = |format: sources::Format| candidates.iter().filter(|c| c.format == format).count();
    assert_eq!(count(sources::Format::Wandb), 4);
    assert_eq!(count(sources::Format::MlflowFiles), 2);
    // 2 runs + 2 layouts + 24 noise runs, one per directory.
    assert_eq!(count(sources::Format::TensorBoard), 28);
    // The gzipped database is not a database.
    assert_eq!(count(sources::Format::MlflowSqlite), 0);
    // 20 recorded runs of the built-in workload: batch events and a report, one run per directory.
    let builtin = candidates.iter().filter(|c| c.label.contains("builtin")).collect::<Vec<_>>();
    assert_eq!(builtin.len(), 20);
    assert!(builtin.iter().all(|c| c.files.len() == 2), "{builtin:?}");
    // And one directory of files ocrperf itself wrote.
    assert_eq!(candidates.len(), 55);

    // Several runs of one tracker are one run only when a name picks one.
    let err = load(&fixtures("wandb"), None).unwrap_err().to_string();
    assert!(err.starts_with("the sources hold 2 wandb runs ("), "{err}");
    assert!(
        err.ends_with(
            "choose one with --run NAME|ID, or give --repeats to treat them as repeated runs of one workload"
        ),
        "{err}"
    );
    let picked = load(&fixtures("wandb"), Some("slower")).unwrap();
    assert_eq!(picked.info.name.as_deref(), Some("slower"));
    let err = load(&fixtures("mlflow-files/mlruns"), Some("nope")).unwrap_err().to_string();
    assert!(err.starts_with("no run named `nope`; found `"), "{err}");
    assert!(err.contains("`baseline` (") && err.contains("`slower` ("), "{err}");

    let spec = regression::SourceSpec { paths: vec![fixtures("noise")], run: None, repeats: true };
    let repeats = sources::load(&spec, &regression::ReadOptions::default()).unwrap();
    assert_eq!(repeats.len(), 24);
}

#[test]
fn lightning_csv_fixtures() {
    // Expected from Python's csv.DictReader on the same files.
    let cases = [
        ("cpu_lightning_2.6.6_metrics.csv", 5, 12, 1.532_542_811_999_519_5, 11, 320.717_737_706_051_2),
        ("metrics.csv", 498, 36, 15.638_583_920_000_03, 33, 120.455_200_135_633_75),
    ];
    for (file, columns, times, last_time, rates, mean_rate) in cases {
        let path: PathBuf = fixtures("../lightning").join(file);
        let run = load(&path, None).unwrap();
        assert_eq!(run.info.tool, "lightning");
        assert_eq!(run.series.len(), columns, "{file}: columns with values");
        let time = &run.series["train/time"].points;
        assert_eq!(time.len(), times, "{file}");
        assert!(close(time.last().unwrap().value, last_time), "{file}");
        let rate: Vec<f64> = run.series["train/device/samples_per_sec"].values();
        assert_eq!(rate.len(), rates, "{file}");
        assert!(close(rate.iter().sum::<f64>() / rate.len() as f64, mean_rate), "{file}");
        assert!(run.series.keys().all(|name| name != "step" && name != "epoch"));
    }
}

#[test]
fn a_directory_of_different_ocrperf_files_is_one_run_read_file_by_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("batches.jsonl"),
        "{\"step\":0,\"batch_size\":8,\"data_wait_s\":0.001,\"compute_s\":0.02}\n{\"step\":1,\"batch_size\":8,\"data_wait_s\":0.001,\"compute_s\":0.02}\n",
    )
    .unwrap();
    let report = metrics_schema::MetricsReport {
        label: None,
        metrics: vec![metrics_schema::Metric {
            name: "custom.images_per_s".into(),
            value: 612.0,
            unit: metrics_schema::Unit::PerSecond,
            better: metrics_schema::Better::Higher,
        }],
    };
    let envelope = metrics_schema::Envelope::for_this_machine(report);
    std::fs::write(dir.path().join("metrics.json"), serde_json::to_string_pretty(&envelope).unwrap()).unwrap();
    let run = load(dir.path(), None).unwrap();
    assert_eq!(run.series["batch.compute_s"].points.len(), 2);
    assert_eq!(run.scalars["custom.images_per_s"].value, 612.0);
    assert_eq!(run.files.len(), 2);
}

/// A directory of files ocrperf itself wrote for one run: a throughput report and its batch
/// events, a trace analysis, monitor samples and the monitor's summary.
#[test]
fn ocrperf_files_of_one_run() {
    let run = load(&fixtures("ocrperf-run"), None).unwrap();
    assert_eq!(run.info.tool, "ocrperf");
    assert_eq!(run.files.len(), 5);
    // Series from the JSONL files and the trace's per-step breakdown.
    assert_eq!(run.series["batch.time_s"].points.len(), 50, "2 epochs of 25 batches");
    assert_eq!(run.series["trace.step_ms"].points.len(), 4);
    assert_eq!(run.series["host.cpu_percent"].points.len(), 12);
    assert_eq!(run.series["host.cpu_percent"].hint.better, Some(metrics_schema::Direction::Info));
    // Scalars flattened from the reports, with their own directions.
    let samples = &run.scalars["throughput.samples_per_s"];
    assert_eq!(
        (samples.hint.unit, samples.hint.better),
        (Some(metrics_schema::Unit::PerSecond), Some(metrics_schema::Direction::Higher))
    );
    assert!(run.scalars.contains_key("trace.steps.mean_ms") && run.scalars.contains_key("monitor.alerts"));
    // Findings: the throughput verdict, the trace's recommendations, the monitor's alert.
    let ids: Vec<&str> = run.findings.iter().map(|f| f.id.as_str()).collect();
    assert!(ids.iter().any(|id| id.starts_with("throughput-")), "{ids:?}");
    for id in ["dataloader-bound", "pageable-memcpy", "no-mixed-precision", "host-sync", "alert-demo-busy"] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    let dataloader = run.findings.iter().find(|f| f.id == "dataloader-bound").unwrap();
    assert!(dataloader.evidence.contains_key("fraction") || !dataloader.evidence.is_empty());
    assert!(run.info.host.is_some() && run.info.cpu_model.is_some());
}
