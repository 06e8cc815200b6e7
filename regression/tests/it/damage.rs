//! Damaged copies of each fixture: the error names the file and the place; `--lenient` reads up
//! to the damage and records it.

use std::path::{Path, PathBuf};

use regression::{Error, ReadOptions, SourceSpec, sources};

use crate::{fixtures, load, mlflow_db};

/// The first file under `dir` whose name passes `wanted`.
fn find(dir: &Path, wanted: &dyn Fn(&str) -> bool) -> PathBuf {
    let mut stack = vec![dir.to_owned()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if wanted(&path.file_name().unwrap().to_string_lossy()) {
                return path;
            }
        }
    }
    panic!("no such file under {}", dir.display());
}

/// A copy of `file` in `dir`, changed by `damage`.
fn damaged_copy(file: &Path, dir: &Path, damage: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(file).unwrap();
    damage(&mut bytes);
    let copy = dir.join(file.file_name().unwrap());
    std::fs::write(&copy, bytes).unwrap();
    copy
}

fn lenient(path: &Path) -> regression::RunMetrics {
    let spec = SourceSpec { paths: vec![path.to_owned()], run: None, repeats: false };
    let options = ReadOptions { lenient: true, ..ReadOptions::default() };
    sources::load(&spec, &options).unwrap_or_else(|err| panic!("{err}")).remove(0)
}

#[test]
fn tensorboard_crc_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let events = find(&fixtures("tensorboard/baseline"), &|name| name.starts_with("events.out.tfevents."));
    let length = std::fs::metadata(&events).unwrap().len() as usize;
    let flipped = damaged_copy(&events, dir.path(), |bytes| bytes[length / 2] ^= 0x10);
    let err = load(&flipped, None).unwrap_err();
    let Error::Damaged(damage) = &err else { panic!("{err}") };
    let offset = damage.place.offset().unwrap();
    assert!(offset <= (length / 2) as u64 && offset + 200 > (length / 2) as u64, "{err}");
    assert!(err.to_string().starts_with(&format!("{}: byte {offset}: CRC mismatch", flipped.display())), "{err}");
    let run = lenient(&flipped);
    assert_eq!(run.damage.len(), 1);
    let kept = run.series["perf/step_time_ms"].points.len();
    assert!((100..200).contains(&kept), "read up to the damage: {kept}");

    let cut = damaged_copy(&events, dir.path(), |bytes| bytes.truncate(length - 5));
    let err = load(&cut, None).unwrap_err().to_string();
    assert!(err.contains(": truncated record: "), "{err}");
}

#[test]
fn wandb_crc_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let log = find(&fixtures("wandb/baseline"), &|name| name.ends_with(".wandb"));
    let length = std::fs::metadata(&log).unwrap().len() as usize;
    let flipped = damaged_copy(&log, dir.path(), |bytes| bytes[length / 3] ^= 0x01);
    let err = load(&flipped, None).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{}: byte ", flipped.display())) && err.ends_with(": CRC mismatch"), "{err}");
    let run = lenient(&flipped);
    assert_eq!(run.damage.len(), 1);
    let kept = run.series["perf/step_time_ms"].points.len();
    assert!((50..250).contains(&kept), "{kept}");

    let cut = damaged_copy(&log, dir.path(), |bytes| bytes.truncate(length - 3));
    let err = load(&cut, None).unwrap_err().to_string();
    assert!(err.contains(": truncated record: "), "{err}");
    let headerless = damaged_copy(&log, dir.path(), |bytes| bytes[0] = b'X');
    let err = load(&headerless, None).unwrap_err().to_string();
    assert!(err.ends_with(": byte 0: not a W&B run log (no `:W&B` header)"), "{err}");
}

#[test]
fn mlflow_file_store_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("mlruns");
    copy_tree(&fixtures("mlflow-files/mlruns"), &store);
    let metric = find(&store, &|name| name == "step_time_ms");
    let mut text = std::fs::read_to_string(&metric).unwrap();
    let third = text.match_indices('\n').nth(1).unwrap().0 + 1;
    text.insert_str(third, "1796316833228 fast 2\n");
    std::fs::write(&metric, text).unwrap();
    let err = load(&store, Some("baseline")).err().or_else(|| load(&store, Some("slower")).err());
    let err = err.expect("one of the two runs holds the damaged file").to_string();
    assert!(err.starts_with(&format!("{}:3: value `fast` is not a number", metric.display())), "{err}");
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn mlflow_database_damage_and_wrong_databases() {
    let dir = tempfile::tempdir().unwrap();
    let db = mlflow_db(dir.path());
    let length = std::fs::metadata(&db).unwrap().len() as usize;
    // Overwrite the middle of the file, where table pages live.
    let broken = dir.path().join("broken.db");
    let mut bytes = std::fs::read(&db).unwrap();
    for byte in &mut bytes[length / 4..length * 3 / 4] {
        *byte = 0xA5;
    }
    std::fs::write(&broken, bytes).unwrap();
    let err = load(&broken, Some("baseline")).unwrap_err();
    assert!(matches!(err, Error::Database { .. }), "{err}");
    assert!(err.to_string().starts_with(&format!("{}: ", broken.display())), "{err}");

    let other = dir.path().join("other.db");
    rusqlite_free_database(&other);
    let err = load(&other, None).unwrap_err().to_string();
    assert_eq!(err, format!("{}: a SQLite database without MLflow's `runs` and `metrics` tables", other.display()));
}

/// A valid SQLite database that is not MLflow's.
fn rusqlite_free_database(path: &Path) {
    let connection = rusqlite::Connection::open(path).unwrap();
    connection.execute_batch("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('hello');").unwrap();
}

#[test]
fn text_formats_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = fixtures("../lightning/cpu_lightning_2.6.6_metrics.csv");
    let broken = damaged_copy(&csv, dir.path(), |bytes| {
        let text = String::from_utf8(bytes.clone()).unwrap().replacen("0.1496436300003552", "soon", 1);
        *bytes = text.into_bytes();
    });
    let err = load(&broken, None).unwrap_err().to_string();
    assert!(err.ends_with("cpu_lightning_2.6.6_metrics.csv:2: column `train/time`: `soon` is not a number"), "{err}");

    let events = dir.path().join("batches.jsonl");
    std::fs::write(
        &events,
        "{\"step\":0,\"batch_size\":8,\"data_wait_s\":0.01,\"compute_s\":0.1}\n{\"step\":1,\"batch_size\":8,\"data_wait_s\":\"x\",\"compute_s\":0.1}\n",
    )
    .unwrap();
    let err = load(&events, None).unwrap_err().to_string();
    assert_eq!(err, format!("{}:2: invalid type: string \"x\", expected f64", events.display()));
    assert_eq!(lenient(&events).series["batch.compute_s"].points.len(), 1);
}

#[test]
fn reports_of_a_newer_version_or_the_wrong_kind_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let newer = dir.path().join("throughput.json");
    std::fs::write(&newer, "{\"schema\": \"ocrperf.throughput.v9\", \"tool_version\": \"9\"}").unwrap();
    let err = load(&newer, None).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: schema `ocrperf.throughput.v9` is newer than this ocrperf understands (up to v1); upgrade ocrperf",
            newer.display()
        )
    );
    let trace = dir.path().join("rank0.pt.trace.json");
    std::fs::write(&trace, "{\"traceEvents\": []}").unwrap();
    let err = load(&trace, None).unwrap_err().to_string();
    assert!(err.ends_with("; for a PyTorch profiler trace, run `ocrperf trace analyze` and give its report"), "{err}");
}
