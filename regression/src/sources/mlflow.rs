//! MLflow tracking stores: the file store (`mlruns/`) and the SQLite store (`mlflow.db`, MLflow's
//! default since it deprecated the file store).
//!
//! File store: `mlruns/<experiment>/<run>/meta.yaml` (`run_id`, `run_name`, `start_time` in
//! ms, `lifecycle_stage`), `metrics/<key>` (nested keys are directories) with one
//! `<timestamp ms> <value> <step>` line per value (older files have no step), `params/<key>`
//! and `tags/<key>` holding the raw value. SQLite store: the `runs`, `metrics` (`key`, `value`,
//! `timestamp`, `run_uuid`, `step`, `is_nan`: NaN is stored as 0 with `is_nan` set), `params`
//! and `tags` tables. Deleted runs (`lifecycle_stage: deleted`, or under `.trash`) are skipped.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use metrics_schema::Timestamp;
use rusqlite::{Connection, OpenFlags};

use super::{Candidate, Format, ReadOptions, lines::Lines};
use crate::{Error, Hint, Place, Point, RunMetrics, SourceFile};

/// Whether `dir` is the root of a file store: it has experiment directories with `meta.yaml`
/// and run directories under them. Symbolic links are not followed.
pub fn is_file_store(dir: &Path) -> bool {
    if dir.file_name().is_some_and(|name| name == "mlruns") {
        return true;
    }
    real_subdirs(dir).iter().any(|experiment| is_experiment_dir(experiment))
}

/// Whether `dir` is one experiment of a file store (`mlruns/<experiment>`): a `meta.yaml` and
/// run directories.
pub fn is_experiment_dir(dir: &Path) -> bool {
    super::is_regular_file(&dir.join("meta.yaml")) && real_subdirs(dir).iter().any(|run| is_run_dir(run))
}

/// Whether `dir` is one run of a file store (`mlruns/<experiment>/<run>`): a `meta.yaml` and a
/// `metrics` directory.
pub fn is_run_dir(dir: &Path) -> bool {
    super::is_regular_file(&dir.join("meta.yaml")) && super::is_real_dir(&dir.join("metrics"))
}

/// The directories directly under `dir`, sorted; symbolic links and unreadable entries left out.
fn real_subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .map(|entry| entry.path())
        .collect();
    dirs.sort();
    dirs
}

/// The live runs of a file store; the labels of deleted ones are added to `deleted`.
///
/// # Errors
/// [`Error::Io`] when the store cannot be listed, [`Error::Damaged`] for an unreadable
/// `meta.yaml`.
pub fn file_store_runs(root: &Path, deleted: &mut Vec<String>) -> Result<Vec<Candidate>, Error> {
    let mut runs = Vec::new();
    for experiment in sorted_dirs(root)? {
        if experiment.file_name().is_some_and(|name| name.to_string_lossy().starts_with('.')) {
            continue; // `.trash`
        }
        for run_dir in sorted_dirs(&experiment)? {
            runs.extend(run_candidate(root, &run_dir, deleted)?);
        }
    }
    Ok(runs)
}

/// The live runs of one experiment directory (`mlruns/<experiment>`).
///
/// # Errors
/// As [`file_store_runs`].
pub fn experiment_dir_runs(experiment: &Path, deleted: &mut Vec<String>) -> Result<Vec<Candidate>, Error> {
    let root = store_root(experiment, 1);
    let mut runs = Vec::new();
    for run_dir in sorted_dirs(experiment)? {
        runs.extend(run_candidate(&root, &run_dir, deleted)?);
    }
    Ok(runs)
}

/// A run directory given itself (`mlruns/<experiment>/<run>`): that run, unless it is deleted.
///
/// # Errors
/// As [`file_store_runs`].
pub fn run_dir_run(run_dir: &Path, deleted: &mut Vec<String>) -> Result<Option<Candidate>, Error> {
    run_candidate(&store_root(run_dir, 2), run_dir, deleted)
}

/// The store's root `levels` directories above `dir` (`.` when the path has no more parts).
fn store_root(dir: &Path, levels: usize) -> PathBuf {
    let mut root = dir;
    for climbed in 0..levels {
        match root.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => root = parent,
            // A relative path with no more parts: the rest is above the current directory.
            _ => {
                let up: PathBuf = std::iter::repeat_n("..", levels - climbed - 1).collect();
                return if up.as_os_str().is_empty() { PathBuf::from(".") } else { up };
            }
        }
    }
    root.to_owned()
}

/// The run in `run_dir` of the store at `root`: `None` for a directory without `meta.yaml`
/// and for a deleted run (whose label goes to `deleted`).
fn run_candidate(root: &Path, run_dir: &Path, deleted: &mut Vec<String>) -> Result<Option<Candidate>, Error> {
    let meta_path = run_dir.join("meta.yaml");
    if !super::is_regular_file(&meta_path) {
        return Ok(None);
    }
    let meta = read_meta(&meta_path)?;
    let id = meta
        .get("run_id")
        .or_else(|| meta.get("run_uuid"))
        .cloned()
        .unwrap_or_else(|| run_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    let name = meta.get("run_name").cloned().filter(|n| !n.is_empty()).or_else(|| tag(run_dir, "mlflow.runName"));
    let label = format!("{}#{}", root.display(), name.as_deref().unwrap_or(&id));
    if meta.get("lifecycle_stage").is_some_and(|stage| stage == "deleted") {
        deleted.push(format!("`{label}`"));
        return Ok(None);
    }
    Ok(Some(Candidate {
        format: Format::MlflowFiles,
        files: vec![root.to_owned()],
        label,
        run_id: Some(id),
        run_name: name,
    }))
}

fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    std::fs::read_dir(dir).map_err(|cause| Error::io(dir, cause))?;
    Ok(real_subdirs(dir))
}

/// The largest `meta.yaml`, parameter or tag file read: MLflow writes a few hundred bytes and
/// limits values to a few thousand characters.
const MAX_SMALL_FILE: u64 = 1 << 20;

/// A tag's value; a tag that is not a regular file (a FIFO, a link) or is unreadable is absent.
fn tag(run_dir: &Path, key: &str) -> Option<String> {
    let path = run_dir.join("tags").join(key);
    if !super::is_regular_file(&path) {
        return None;
    }
    super::read_text(&path, MAX_SMALL_FILE, &ReadOptions::default())
        .ok()
        .map(|v| v.trim_end().to_owned())
        .filter(|v| !v.is_empty())
}

/// The top-level `key: value` pairs of a `meta.yaml` (MLflow writes flat mappings of scalars).
fn read_meta(path: &Path) -> Result<BTreeMap<String, String>, Error> {
    let text = super::read_text(path, MAX_SMALL_FILE, &ReadOptions::default())?;
    let mut meta = BTreeMap::new();
    let mut offset = 0u64;
    for (index, line) in text.lines().enumerate() {
        let place = Place::Line { line: index as u64 + 1, offset };
        offset += line.len() as u64 + 1;
        if line.trim().is_empty() || line.starts_with(' ') || line.starts_with('#') || line.starts_with('-') {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(Error::damaged(path, place, "not a `key: value` line"));
        };
        meta.insert(key.trim().to_owned(), unquote(value.trim()));
    }
    Ok(meta)
}

/// YAML scalars as MLflow writes them: plain, `'single'` (with `''` for a quote) or `"double"`.
fn unquote(value: &str) -> String {
    if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        inner.replace("''", "'")
    } else if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        inner.replace("\\\"", "\"")
    } else {
        value.to_owned()
    }
}

/// Reads run `id` of the file store at `root`.
///
/// # Errors
/// [`Error::Io`], or [`Error::Damaged`] naming the metric file and line for a malformed line.
pub fn read_file_store_run(
    root: &Path,
    id: &str,
    options: &ReadOptions<'_>,
    run: &mut RunMetrics,
) -> Result<(), Error> {
    let run_dir = find_run_dir(root, id)?;
    let meta = read_meta(&run_dir.join("meta.yaml"))?;
    run.info.id = Some(id.to_owned());
    run.info.name = meta.get("run_name").cloned().filter(|n| !n.is_empty()).or_else(|| tag(&run_dir, "mlflow.runName"));
    run.info.started_at = meta
        .get("start_time")
        .and_then(|ms| ms.parse::<f64>().ok())
        .and_then(|ms| Timestamp::from_unix_seconds(ms / 1000.0));
    run.info.git_commit = tag(&run_dir, "mlflow.source.git.commit");
    run.info.host = tag(&run_dir, "host").or_else(|| tag(&run_dir, "mlflow.host"));
    "mlflow".clone_into(&mut run.info.tool);
    for (key, value) in read_key_files(&run_dir.join("params"), &mut run.warnings)? {
        run.config.insert(key, value);
    }
    let metrics_dir = run_dir.join("metrics");
    for (key, path) in key_files(&metrics_dir, &mut run.warnings)? {
        let result = read_metric_file(&path, &key, options, run);
        options.tolerate(run, result)?;
    }
    Ok(())
}

fn find_run_dir(root: &Path, id: &str) -> Result<PathBuf, Error> {
    for experiment in sorted_dirs(root)? {
        let candidate = experiment.join(id);
        if super::is_regular_file(&candidate.join("meta.yaml")) {
            return Ok(candidate);
        }
    }
    Err(Error::Runs(format!("{}: no MLflow run `{id}`", root.display())))
}

/// Regular files under `dir`, keyed by their path relative to it with `/` (MLflow's nested
/// keys). Symbolic links are not followed; FIFOs, sockets and devices are skipped unopened,
/// with a warning in `warnings`.
fn key_files(dir: &Path, warnings: &mut Vec<String>) -> Result<Vec<(String, PathBuf)>, Error> {
    fn walk(
        base: &Path,
        dir: &Path,
        out: &mut Vec<(String, PathBuf)>,
        warnings: &mut Vec<String>,
    ) -> Result<(), Error> {
        for (path, kind) in super::sorted_entries(dir)? {
            if kind.is_dir() {
                walk(base, &path, out, warnings)?;
            } else if kind.is_file() {
                let key = path.strip_prefix(base).unwrap_or(&path);
                let key: Vec<_> = key.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                out.push((key.join("/"), path));
            } else if let Some(what) = super::special_kind(kind) {
                warnings.push(super::skipped_special(&path, what));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    if super::is_real_dir(dir) {
        walk(dir, dir, &mut out, warnings)?;
    }
    Ok(out)
}

fn read_key_files(dir: &Path, warnings: &mut Vec<String>) -> Result<Vec<(String, String)>, Error> {
    key_files(dir, warnings)?
        .into_iter()
        .map(|(key, path)| {
            let value = super::read_text(&path, MAX_SMALL_FILE, &ReadOptions::default())?;
            Ok((key, value.trim_end().to_owned()))
        })
        .collect()
}

/// One metric file: `<timestamp ms> <value> <step>` per line (`<timestamp> <value>` in old
/// files, step 0).
fn read_metric_file(path: &Path, key: &str, options: &ReadOptions<'_>, run: &mut RunMetrics) -> Result<(), Error> {
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    run.files.push(SourceFile { path: path.display().to_string(), format: "mlflow-files", bytes });
    let mut lines = Lines::new(super::open_text(path, options)?, path);
    let source = path.display().to_string();
    let duration = super::is_duration(key, Hint::default());
    let mut points = Vec::new();
    let result = (|| {
        while let Some(line) = lines.next_line()? {
            let text = String::from_utf8_lossy(line.text);
            if text.trim().is_empty() {
                continue;
            }
            match parse_metric_line(&text) {
                Ok(point) if duration && point.value < 0.0 => {
                    return Err(Error::damaged(path, line.place, super::negative_duration(key, point.value)));
                }
                Ok(point) => points.push(point),
                // A last line without its newline that does not parse was cut off mid-write.
                Err(_) if !line.complete => break,
                Err(message) => return Err(Error::damaged(path, line.place, message)),
            }
        }
        Ok(())
    })();
    if !points.is_empty() {
        run.series.insert(key.to_owned(), crate::Series { points, hint: Hint::default(), source });
    }
    result
}

fn parse_metric_line(text: &str) -> Result<Point, String> {
    let fields: Vec<&str> = text.split(' ').collect();
    if !(2..=3).contains(&fields.len()) {
        return Err(format!("expected `<timestamp> <value> <step>`, found {} fields", fields.len()));
    }
    let timestamp: i64 = fields[0].parse().map_err(|_| format!("timestamp `{}` is not an integer", fields[0]))?;
    let value: f64 =
        fields[1].parse().map_err(|_| format!("value `{}` is not a number", metrics_schema::text::shown(fields[1])))?;
    let step: i64 = match fields.get(2) {
        Some(step) => step.parse().map_err(|_| format!("step `{step}` is not an integer"))?,
        None => 0,
    };
    Ok(Point { step, wall_time: timestamp as f64 / 1000.0, value })
}

/// Opens an MLflow database read-only and checks that it has MLflow's tables.
fn open_database(path: &Path) -> Result<Connection, Error> {
    let fail = |message: String| Error::Database { path: path.to_owned(), message };
    let connection =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|err| fail(format!("cannot open the database: {err}")))?;
    let has_table = |name: &str| -> Result<bool, Error> {
        connection
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |row| {
                row.get::<_, i64>(0)
            })
            .map(|count| count > 0)
            .map_err(|err| fail(format!("unreadable database: {err}")))
    };
    if !has_table("runs")? || !has_table("metrics")? {
        return Err(fail("a SQLite database without MLflow's `runs` and `metrics` tables".to_owned()));
    }
    Ok(connection)
}

/// The live runs of an MLflow database.
///
/// # Errors
/// [`Error::Database`] when it cannot be opened or is not MLflow's.
pub fn sqlite_runs(path: &Path) -> Result<Vec<Candidate>, Error> {
    let connection = open_database(path)?;
    let fail =
        |err: rusqlite::Error| Error::Database { path: path.to_owned(), message: format!("listing runs: {err}") };
    let mut statement = connection
        .prepare("SELECT run_uuid, name FROM runs WHERE lifecycle_stage IS NOT 'deleted' ORDER BY start_time, run_uuid")
        .map_err(fail)?;
    let rows = statement
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?)))
        .map_err(fail)?;
    let mut runs = Vec::new();
    for row in rows {
        let (id, name) = row.map_err(fail)?;
        let name = name.filter(|n| !n.is_empty());
        runs.push(Candidate {
            format: Format::MlflowSqlite,
            files: vec![path.to_owned()],
            label: format!("{}#{}", path.display(), name.as_deref().unwrap_or(&id)),
            run_id: Some(id),
            run_name: name,
        });
    }
    Ok(runs)
}

/// Reads run `id` of an MLflow database, streaming its metric rows.
///
/// # Errors
/// [`Error::Database`] naming the file when a query fails (a damaged database).
pub fn read_sqlite_run(path: &Path, id: &str, options: &ReadOptions<'_>, run: &mut RunMetrics) -> Result<(), Error> {
    let connection = open_database(path)?;
    let fail =
        |what: &str, err: rusqlite::Error| Error::Database { path: path.to_owned(), message: format!("{what}: {err}") };
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    run.files.push(SourceFile { path: path.display().to_string(), format: "mlflow-sqlite", bytes });
    let (name, start_ms): (Option<String>, Option<i64>) = connection
        .query_row("SELECT name, start_time FROM runs WHERE run_uuid = ?1", [id], |row| Ok((row.get(0)?, row.get(1)?)))
        .map_err(|err| fail("reading the run", err))?;
    run.info.id = Some(id.to_owned());
    run.info.name = name.filter(|n| !n.is_empty());
    run.info.started_at = start_ms.and_then(|ms| Timestamp::from_unix_seconds(ms as f64 / 1000.0));
    "mlflow".clone_into(&mut run.info.tool);
    let mut tags = connection
        .prepare("SELECT key, value FROM tags WHERE run_uuid = ?1")
        .map_err(|err| fail("reading tags", err))?;
    let tag_rows = tags
        .query_map([id], |row| Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?)))
        .map_err(|err| fail("reading tags", err))?;
    for row in tag_rows {
        let (key, value) = row.map_err(|err| fail("reading tags", err))?;
        let value = value.unwrap_or_default();
        match key.as_str() {
            "mlflow.runName" if run.info.name.is_none() => run.info.name = Some(value),
            "mlflow.source.git.commit" => run.info.git_commit = Some(value),
            "host" | "mlflow.host" => run.info.host = Some(value),
            _ => {}
        }
    }
    let mut params = connection
        .prepare("SELECT key, value FROM params WHERE run_uuid = ?1")
        .map_err(|err| fail("reading params", err))?;
    let param_rows = params
        .query_map([id], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
        .map_err(|err| fail("reading params", err))?;
    for row in param_rows {
        let (key, value) = row.map_err(|err| fail("reading params", err))?;
        run.config.insert(key, value);
    }
    let mut metrics = connection
        .prepare(
            "SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = ?1 ORDER BY key, step, timestamp",
        )
        .map_err(|err| fail("reading metrics", err))?;
    let mut rows = metrics.query([id]).map_err(|err| fail("reading metrics", err))?;
    let source = path.display().to_string();
    let mut count = 0u64;
    // Rows come ordered by key: whether the key is a duration is decided once per key.
    let mut duration: Option<(String, bool)> = None;
    while let Some(row) = rows.next().map_err(|err| fail("reading metrics", err))? {
        let key: String = row.get(0).map_err(|err| fail("reading metrics", err))?;
        let value: f64 = row.get(1).map_err(|err| fail("reading metrics", err))?;
        let timestamp: i64 = row.get(2).map_err(|err| fail("reading metrics", err))?;
        let step: i64 = row.get(3).map_err(|err| fail("reading metrics", err))?;
        let is_nan: bool = row.get(4).map_err(|err| fail("reading metrics", err))?;
        count += 1;
        if count.is_multiple_of(65_536) && !(options.progress)(0) {
            return Err(Error::Interrupted);
        }
        // MLflow stores NaN as 0 with `is_nan`; kept as NaN for the summary to count.
        let value = if is_nan { f64::NAN } else { value };
        if duration.as_ref().is_none_or(|(name, _)| *name != key) {
            duration = Some((key.clone(), super::is_duration(&key, Hint::default())));
        }
        if value < 0.0 && duration.as_ref().is_some_and(|(_, is)| *is) {
            return Err(Error::Database {
                path: path.to_owned(),
                message: format!("run {id}, step {step}: {}", super::negative_duration(&key, value)),
            });
        }
        run.push(&key, Point { step, wall_time: timestamp as f64 / 1000.0, value }, Hint::default(), &source);
    }
    Ok(())
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
mod tests {
    use super::*;

    #[test]
    fn metric_lines() {
        let point = parse_metric_line("1796316833228 100.5 7").unwrap();
        assert_eq!((point.step, point.value, point.wall_time), (7, 100.5, 1_796_316_833.228));
        assert!(parse_metric_line("1796316833228 nan 2").unwrap().value.is_nan());
        assert_eq!(parse_metric_line("1796316833228 -inf").unwrap().step, 0);
        assert_eq!(parse_metric_line("12 x 1").unwrap_err(), "value `x` is not a number");
        assert_eq!(parse_metric_line("1 2 3 4").unwrap_err(), "expected `<timestamp> <value> <step>`, found 4 fields");
    }

    #[test]
    fn a_negative_step_time_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("step_time_ms");
        std::fs::write(&path, "1796316833228 100.5 0\n1796316833229 -2 1\n").unwrap();
        let err = read_metric_file(&path, "perf/step_time_ms", &ReadOptions::default(), &mut RunMetrics::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("step_time_ms:2: `perf/step_time_ms` is -2, a negative duration; step times and durations cannot be below 0"),
            "{err}"
        );
    }

    #[test]
    fn a_store_root_above_a_run_or_an_experiment() {
        assert_eq!(store_root(Path::new("mlruns/1/abc"), 2), Path::new("mlruns"));
        assert_eq!(store_root(Path::new("1/abc"), 2), Path::new("."));
        assert_eq!(store_root(Path::new("abc"), 2), Path::new(".."));
        assert_eq!(store_root(Path::new("/data/mlruns/1"), 1), Path::new("/data/mlruns"));
    }

    #[test]
    fn meta_yaml_scalars() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.yaml");
        std::fs::write(&path, "run_id: abc\nrun_name: 'it''s'\ntags: []\nnested:\n  - x\nexperiment_id: '12'\n")
            .unwrap();
        let meta = read_meta(&path).unwrap();
        assert_eq!(meta["run_id"], "abc");
        assert_eq!(meta["run_name"], "it's");
        assert_eq!(meta["experiment_id"], "12");
        std::fs::write(&path, "run_id abc\n").unwrap();
        assert!(read_meta(&path).unwrap_err().to_string().ends_with("meta.yaml:1: not a `key: value` line"));
    }
}
