//! The readers on the repository's fixtures, checked against independent computations.

#![expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]

use std::path::PathBuf;

use throughput::{RecorderSettings, ThroughputRecorder, inputs};

fn testdata(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(relative)
}

fn monitor() -> ThroughputRecorder {
    ThroughputRecorder::new(RecorderSettings { memory_every: 0, ..Default::default() })
}

#[test]
fn lightning_metrics_csv_gives_the_logged_totals() {
    let mut m = monitor();
    let intervals = inputs::lightning::read_metrics_csv(&testdata("lightning/metrics.csv"), &mut m).unwrap().intervals;
    let report = m.report("metrics.csv");
    // The last logged row: 180 batches, 1,440 samples in 15.64 s of train/time; the first
    // interval (5 batches in 2.72 s) includes start-up.
    assert_eq!(intervals, 36);
    assert_eq!((report.batches, report.samples), (180, 1440));
    assert!((report.elapsed_s - 15.638_583_92).abs() < 1e-3, "{}", report.elapsed_s);
    assert_eq!(report.data_wait_fraction, 0.0);
}

#[test]
fn a_held_back_lightning_csv_from_another_version_and_machine() {
    let mut m = monitor();
    let path = testdata("lightning/cpu_lightning_2.6.6_metrics.csv");
    let intervals = inputs::lightning::read_metrics_csv(&path, &mut m).unwrap().intervals;
    let report = m.report("metrics.csv");
    // Logged every 5 steps over 64 batches: 12 rows, the last at 60 batches and 480 samples.
    assert_eq!(intervals, 12);
    assert_eq!((report.batches, report.samples), (60, 480));
    assert!((report.elapsed_s - 1.532_542_812).abs() < 1e-6, "{}", report.elapsed_s);
    assert!((report.samples_per_s - 480.0 / 1.532_542_812).abs() < 1e-3, "{}", report.samples_per_s);
}

#[test]
fn non_inputs_fail_with_the_file_named() {
    let err = inputs::lightning::read_metrics_csv(&testdata("traces/h100/README.md"), &mut monitor())
        .unwrap_err()
        .to_string();
    assert!(err.contains("README.md: no train/time"), "{err}");
}

#[test]
fn non_finite_or_negative_csv_values_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let header = "epoch,step,train/batches,train/samples,train/time\n0,4,5,40,1.5\n";
    for (row, expected) in [
        ("0,9,10,80,NaN", "bad train/time `NaN`"),
        ("0,9,10,80,inf", "bad train/time `inf`"),
        ("0,9,-10,80,2.5", "bad train/batches `-10`"),
        ("0,9,10,eighty,2.5", "bad train/samples `eighty`"),
    ] {
        let path = dir.path().join("metrics.csv");
        std::fs::write(&path, format!("{header}{row}\n")).unwrap();
        let err = inputs::lightning::read_metrics_csv(&path, &mut monitor()).unwrap_err().to_string();
        assert!(err.ends_with(&format!("metrics.csv:3: {expected} (a finite number, not negative)")), "{err}");
    }
}

#[test]
fn a_cut_short_gzip_names_where_reading_stopped() {
    use std::io::Write as _;

    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for step in 0..2000 {
        writeln!(gz, "{{\"step\":{step},\"batch_size\":8,\"data_wait_s\":0.01,\"compute_s\":0.0{}}}", step % 7)
            .unwrap();
    }
    let bytes = gz.finish().unwrap();
    let events = dir.path().join("batches.jsonl.gz");
    std::fs::write(&events, &bytes[..bytes.len() / 2]).unwrap();
    let err = inputs::jsonl::read_events(&events, &mut monitor(), false).unwrap_err().to_string();
    let line: u64 = err.split(':').nth(1).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{err}"));
    assert!(line > 1 && line <= 2000 && err.contains("cannot read this line"), "{err}");
}
