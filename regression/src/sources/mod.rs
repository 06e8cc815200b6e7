//! Readers for every place a run's numbers already live, and the discovery of runs under a
//! directory.
//!
//! Each reader streams its file and adds to one [`RunMetrics`]. Damage (a CRC mismatch, a
//! truncated record, a malformed line) is an [`Error::Damaged`] naming the file and the place;
//! with [`ReadOptions::lenient`] the reader keeps what came before the damage, records it, and
//! stops reading that file.

pub mod lightning;
pub(crate) mod lines;
pub mod mlflow;
pub(crate) mod proto;
pub mod report;
pub mod tensorboard;
pub mod wandb;

use std::{
    fmt,
    fs::File,
    io::{self, BufRead, Read},
    path::{Path, PathBuf},
};

use crate::{Error, Place, RunMetrics};

/// How to read.
#[derive(Clone, Copy)]
pub struct ReadOptions<'a> {
    /// Keep what precedes damage, record the damage, and go on with the next file.
    pub lenient: bool,
    /// Called with the number of bytes read since the last call; return `false` to stop
    /// (reading then fails with [`Error::Interrupted`]).
    pub progress: &'a (dyn Fn(u64) -> bool + Sync),
    /// The command-line option that picks one run, as messages name it (`--run`; `regress`
    /// has `--baseline-run` and `--current-run`).
    pub run_option: &'a str,
}

impl fmt::Debug for ReadOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadOptions")
            .field("lenient", &self.lenient)
            .field("run_option", &self.run_option)
            .finish_non_exhaustive()
    }
}

impl Default for ReadOptions<'_> {
    fn default() -> Self {
        ReadOptions { lenient: false, progress: &|_| true, run_option: "--run" }
    }
}

impl ReadOptions<'_> {
    /// Turns damage into a record on `run` when lenient; every other error passes through.
    pub(crate) fn tolerate(&self, run: &mut RunMetrics, result: Result<(), Error>) -> Result<(), Error> {
        match result {
            Err(Error::Damaged(damage)) if self.lenient => {
                run.damage.push(damage);
                Ok(())
            }
            other => other,
        }
    }
}

/// The marker inside the `io::Error` a [`Meter`] returns when the caller asked to stop.
#[derive(Debug)]
struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Cancelled {}

/// Counts bytes read and reports them every MiB; stops when the callback says so.
pub(crate) struct Meter<'a, R> {
    inner: R,
    pending: u64,
    progress: &'a (dyn Fn(u64) -> bool + Sync),
}

impl<'a, R> Meter<'a, R> {
    pub(crate) fn new(inner: R, options: &ReadOptions<'a>) -> Self {
        Meter { inner, pending: 0, progress: options.progress }
    }
}

impl<R> Drop for Meter<'_, R> {
    fn drop(&mut self) {
        if self.pending > 0 {
            (self.progress)(self.pending);
        }
    }
}

impl<R: Read> Read for Meter<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.pending += read as u64;
        if self.pending >= 1 << 20 {
            let keep_going = (self.progress)(self.pending);
            self.pending = 0;
            if !keep_going {
                return Err(io::Error::other(Cancelled));
            }
        }
        Ok(read)
    }
}

/// Maps an I/O error while reading `path` at `place` to this crate's error: a stop requested
/// through the progress callback becomes [`Error::Interrupted`], a cut-short gzip stream damage.
pub(crate) fn read_error(path: &Path, place: crate::Place, cause: io::Error) -> Error {
    if cause.get_ref().is_some_and(|inner| inner.is::<Cancelled>()) {
        Error::Interrupted
    } else if matches!(
        cause.kind(),
        io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData
    ) {
        Error::damaged(path, place, format!("cannot read on: {cause}"))
    } else {
        Error::io(path, cause)
    }
}

/// Opens a file for streaming through the one opener of text inputs
/// ([`metrics_schema::text::open_input_through`]: gzip by its magic bytes, `-` for standard
/// input), metered for progress before decompression.
pub(crate) fn open_text<'a>(path: &Path, options: &ReadOptions<'a>) -> Result<Box<dyn BufRead + 'a>, Error> {
    let (reader, _) = metrics_schema::text::open_input_through(path, |source| Meter::new(source, options))
        .map_err(|cause| Error::io(path, cause))?;
    Ok(reader)
}

/// Reads a whole (possibly gzipped) text file of at most `limit` bytes, without a BOM: JSON
/// reports, `meta.yaml`, parameters. Text that is not UTF-8 is damage at its line.
pub(crate) fn read_text(path: &Path, limit: u64, options: &ReadOptions<'_>) -> Result<String, Error> {
    use metrics_schema::text::TextError;
    metrics_schema::text::read_text_from(open_text(path, options)?, limit).map_err(|err| match err {
        TextError::Io(cause) => read_error(path, Place::File, cause),
        TextError::TooLarge { limit } => Error::Unsupported {
            path: path.to_owned(),
            message: format!("larger than {}; is this the right file?", metrics_schema::format_bytes(limit)),
        },
        TextError::NotUtf8 { line, column, offset } => Error::damaged(
            path,
            Place::Line { line, offset },
            format!("not UTF-8 text (an invalid byte at column {column}); is this the right file?"),
        ),
        other => Error::damaged(path, Place::File, other.to_string()),
    })
}

/// Whether `path` is a regular file itself (a symbolic link is not followed).
pub(crate) fn is_regular_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_file())
}

/// Whether `path` is a directory itself (a symbolic link is not followed).
pub(crate) fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_dir())
}

/// What a file that is neither a regular file, a directory nor a symbolic link is, in words:
/// the things a directory search never opens (a FIFO would block it).
pub(crate) fn special_kind(kind: std::fs::FileType) -> Option<&'static str> {
    if kind.is_file() || kind.is_dir() || kind.is_symlink() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if kind.is_fifo() {
            return Some("a FIFO");
        }
        if kind.is_socket() {
            return Some("a socket");
        }
        if kind.is_block_device() || kind.is_char_device() {
            return Some("a device");
        }
    }
    Some("not a regular file")
}

/// The warning for a special file a directory search skipped.
pub(crate) fn skipped_special(path: &Path, what: &str) -> String {
    format!(
        "{}: {what}, skipped without opening it (only regular files are read from a run's directories)",
        path.display()
    )
}

/// The formats this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Format {
    /// An ocrperf report (`.json`, `.json.gz`) with a `schema` envelope.
    Report,
    /// `ocrperf monitor` samples (JSONL with an `ocrperf.monitor-samples.v1` header).
    MonitorSamples,
    /// Batch events (JSONL with `data_wait_s` and `compute_s`), as the Lightning callback writes.
    BatchEvents,
    /// Lightning `CSVLogger`'s `metrics.csv`.
    LightningCsv,
    /// An MLflow file store (`mlruns/`).
    MlflowFiles,
    /// An MLflow SQLite store (`mlflow.db`).
    MlflowSqlite,
    /// A TensorBoard event file (`events.out.tfevents.*`).
    TensorBoard,
    /// A W&B run log (`run-<id>.wandb`).
    Wandb,
}

impl Format {
    /// As written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Report => "ocrperf-report",
            Format::MonitorSamples => "ocrperf-monitor-samples",
            Format::BatchEvents => "batch-events",
            Format::LightningCsv => "lightning-csv",
            Format::MlflowFiles => "mlflow-files",
            Format::MlflowSqlite => "mlflow-sqlite",
            Format::TensorBoard => "tensorboard",
            Format::Wandb => "wandb",
        }
    }

    /// The tracker a run of this format belongs to; ocrperf's own files of one directory form
    /// one run.
    fn tool(self) -> &'static str {
        match self {
            Format::Report | Format::MonitorSamples | Format::BatchEvents => "ocrperf",
            Format::LightningCsv => "lightning",
            Format::MlflowFiles | Format::MlflowSqlite => "mlflow",
            Format::TensorBoard => "tensorboard",
            Format::Wandb => "wandb",
        }
    }
}

/// What a file is, judged from its name and first bytes. `None` for files of no known format.
pub fn detect(path: &Path) -> Result<Option<Format>, Error> {
    let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    if name.starts_with("events.out.tfevents.") {
        return Ok(Some(Format::TensorBoard));
    }
    let head = read_head(path, 64)?;
    if name.ends_with(".wandb") || head.starts_with(b":W&B") {
        return Ok(Some(Format::Wandb));
    }
    if head.starts_with(b"SQLite format 3\0") {
        return Ok(Some(Format::MlflowSqlite));
    }
    let stem = name.strip_suffix(".gz").unwrap_or(&name);
    if stem.ends_with(".csv") {
        return Ok(Some(Format::LightningCsv));
    }
    if stem.ends_with(".jsonl") || stem.ends_with(".json") {
        return report::sniff(path);
    }
    Ok(None)
}

fn read_head(path: &Path, len: u64) -> Result<Vec<u8>, Error> {
    let mut head = Vec::new();
    File::open(path).and_then(|file| file.take(len).read_to_end(&mut head)).map_err(|cause| Error::io(path, cause))?;
    Ok(head)
}

/// One run found in the sources, not read yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Its format.
    pub format: Format,
    /// The files that make it up (for an MLflow store, the store's root).
    pub files: Vec<PathBuf>,
    /// For stores that hold several runs (MLflow): which one.
    pub run_id: Option<String>,
    /// A name to select it by, when known without reading it (MLflow run names).
    pub run_name: Option<String>,
    /// How to name it in messages: the directory or `store#run`.
    pub label: String,
}

impl Candidate {
    /// Whether `wanted` names this run: its tracker id, its name, or its directory's name.
    fn matches(&self, wanted: &str) -> Result<bool, Error> {
        if self.run_id.as_deref() == Some(wanted) || self.run_name.as_deref() == Some(wanted) {
            return Ok(true);
        }
        if self.format == Format::Wandb {
            let info = wandb::peek_info(&self.files[0])?;
            if info.id.as_deref() == Some(wanted) || info.name.as_deref() == Some(wanted) {
                return Ok(true);
            }
        }
        let dir_name = self.files[0]
            .parent()
            .filter(|_| self.run_id.is_none())
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned());
        Ok(dir_name.as_deref() == Some(wanted) || self.label == wanted)
    }
}

/// Which runs of the sources to read, and how.
#[derive(Debug, Clone, Default)]
pub struct SourceSpec {
    /// Files and directories.
    pub paths: Vec<PathBuf>,
    /// Read only the run with this name or id.
    pub run: Option<String>,
    /// Every run found is a repeat of the same workload (the result has one entry per run);
    /// without it, everything found is one run, and several tracker runs are an error.
    pub repeats: bool,
}

/// Finds the runs under `paths`, in a stable order. Files of no known format inside a
/// directory are skipped; named explicitly they are an error. Directory search follows no
/// symbolic link and never opens a FIFO, socket or device.
///
/// # Errors
/// [`Error::Io`] for unreadable paths, [`Error::Unsupported`] for an explicit file of no known
/// format or a directory without a run, [`Error::Database`] for an MLflow database that cannot
/// be listed.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Candidate>, Error> {
    discover_with_warnings(paths, &mut Vec::new())
}

/// [`discover`], saying what the search skipped (special files) in `warnings`.
fn discover_with_warnings(paths: &[PathBuf], warnings: &mut Vec<String>) -> Result<Vec<Candidate>, Error> {
    let mut found = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|cause| Error::io(path, cause))?;
        if metadata.is_dir() {
            let mut walk = Walk { found: std::mem::take(&mut found), ..Walk::default() };
            let before = walk.found.len();
            walk.dir(path, 0)?;
            warnings.append(&mut walk.warnings);
            if walk.found.len() == before {
                return Err(Error::Unsupported { path: path.clone(), message: walk.nothing_found() });
            }
            found = walk.found;
        } else {
            match detect(path)? {
                Some(format) => add_file(path, format, &mut found)?,
                None => return Err(unsupported_file(path)),
            }
        }
    }
    group_by_directory(&mut found);
    Ok(found)
}

fn unsupported_file(path: &Path) -> Error {
    let name = path.to_string_lossy();
    let hint = if name.contains("trace") || name.ends_with(".pt.trace.json") {
        "; for a PyTorch profiler trace, run `ocrperf trace analyze` and give its report"
    } else {
        ""
    };
    Error::Unsupported {
        path: path.to_owned(),
        message: format!(
            "not a run file ocrperf reads (W&B .wandb, MLflow store, TensorBoard events, Lightning metrics.csv, \
             ocrperf report){hint}"
        ),
    }
}

/// Deep enough for `wandb/offline-run-*/run-*.wandb` under a project or `mlruns/<exp>/<run>`.
const MAX_DEPTH: usize = 12;

/// One directory search: the runs found, and what was passed by on the way.
#[derive(Debug, Default)]
struct Walk {
    found: Vec<Candidate>,
    /// Special files skipped, as warnings.
    warnings: Vec<String>,
    /// MLflow runs skipped because they are deleted.
    deleted: Vec<String>,
    /// The first directory not searched because it is deeper than [`MAX_DEPTH`].
    too_deep: Option<PathBuf>,
}

impl Walk {
    fn dir(&mut self, dir: &Path, depth: usize) -> Result<(), Error> {
        if mlflow::is_file_store(dir) {
            self.found.extend(mlflow::file_store_runs(dir, &mut self.deleted)?);
            return Ok(());
        }
        if mlflow::is_experiment_dir(dir) {
            self.found.extend(mlflow::experiment_dir_runs(dir, &mut self.deleted)?);
            return Ok(());
        }
        if mlflow::is_run_dir(dir) {
            self.found.extend(mlflow::run_dir_run(dir, &mut self.deleted)?);
            return Ok(());
        }
        if depth > MAX_DEPTH {
            self.too_deep.get_or_insert_with(|| dir.to_owned());
            return Ok(());
        }
        for (path, kind) in sorted_entries(dir)? {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if kind.is_dir() {
                if !name.starts_with('.') {
                    self.dir(&path, depth + 1)?;
                }
            } else if kind.is_file() {
                if let Ok(Some(format)) = detect(&path) {
                    // Inside a directory, files that merely look like a format (a CSV that is not
                    // Lightning's, a SQLite file that is not MLflow's) are skipped, not fatal.
                    let _ = add_file(&path, format, &mut self.found);
                }
            } else if let Some(what) = special_kind(kind) {
                self.warnings.push(skipped_special(&path, what));
            }
        }
        Ok(())
    }

    /// Why a directory held no run, as specific as the search allows.
    fn nothing_found(&self) -> String {
        let mut message = "no run found under this directory".to_owned();
        if !self.deleted.is_empty() {
            message.push_str(&match self.deleted.as_slice() {
                [one] => format!(": its only MLflow run, {one}, is deleted (lifecycle_stage: deleted); restore it"),
                all => format!(
                    ": its MLflow runs {} are all deleted (lifecycle_stage: deleted); restore one",
                    all.join(", ")
                ),
            });
        } else if let Some(deep) = &self.too_deep {
            message.push_str(&format!(
                " within {MAX_DEPTH} levels ({} and deeper were not searched); give the run's own directory",
                deep.display()
            ));
        } else {
            message.push_str(
                " (looked for *.wandb, mlruns/, mlflow.db, events.out.tfevents.*, metrics.csv and ocrperf reports)",
            );
        }
        match self.warnings.len() {
            0 => {}
            1 => message.push_str("; skipped 1 file that is not a regular file"),
            n => message.push_str(&format!("; skipped {n} files that are not regular files")),
        }
        message
    }
}

fn add_file(path: &Path, format: Format, found: &mut Vec<Candidate>) -> Result<(), Error> {
    match format {
        Format::MlflowSqlite => found.extend(mlflow::sqlite_runs(path)?),
        Format::LightningCsv => {
            lightning::check_header(path)?;
            found.push(single(path, format));
        }
        _ => found.push(single(path, format)),
    }
    Ok(())
}

fn single(path: &Path, format: Format) -> Candidate {
    Candidate { format, files: vec![path.to_owned()], run_id: None, run_name: None, label: path.display().to_string() }
}

/// TensorBoard writes a new event file per restart, and ocrperf's reports of one run sit side by
/// side: files of these kinds in one directory are one run.
fn group_by_directory(found: &mut Vec<Candidate>) {
    let mut grouped: Vec<Candidate> = Vec::with_capacity(found.len());
    for candidate in found.drain(..) {
        let groups = matches!(
            candidate.format,
            Format::TensorBoard | Format::Report | Format::MonitorSamples | Format::BatchEvents
        );
        let dir = candidate.files[0].parent().map(Path::to_path_buf);
        let same_run = grouped.iter_mut().find(|other| {
            groups
                && other.format.tool() == candidate.format.tool()
                && other.run_id.is_none()
                && other.files[0].parent().map(Path::to_path_buf) == dir
        });
        match same_run {
            Some(other) => other.files.extend(candidate.files),
            None => {
                let mut candidate = candidate;
                if groups && let Some(dir) = &dir {
                    candidate.label = dir.display().to_string();
                }
                grouped.push(candidate);
            }
        }
    }
    *found = grouped;
}

/// Reads the runs `spec` asks for: one [`RunMetrics`], or one per run with `spec.repeats`.
/// What the directory search skipped is in the first run's `warnings`.
///
/// # Errors
/// Whatever discovery or a reader returns; [`Error::Runs`] when no run matches `spec.run`, or
/// when the sources hold several tracker runs and neither `run` nor `repeats` says which;
/// [`Error::DuplicateMetric`] when two sources of the run give the same metric.
pub fn load(spec: &SourceSpec, options: &ReadOptions<'_>) -> Result<Vec<RunMetrics>, Error> {
    let mut warnings = Vec::new();
    let mut candidates = discover_with_warnings(&spec.paths, &mut warnings)?;
    if let Some(wanted) = &spec.run {
        let mut kept = Vec::new();
        for candidate in &candidates {
            if candidate.matches(wanted)? {
                kept.push(candidate.clone());
            }
        }
        if kept.is_empty() {
            return Err(Error::Runs(format!("no run named `{wanted}`; found {}", list(&candidates))));
        }
        candidates = kept;
    }
    let mut runs = if spec.repeats {
        candidates.iter().map(|candidate| read_candidate(candidate, options)).collect::<Result<Vec<_>, _>>()?
    } else {
        // Several runs of one tracker cannot be one run; ocrperf's files merge with anything.
        for tool in ["wandb", "mlflow", "tensorboard", "lightning"] {
            let same: Vec<_> = candidates.iter().filter(|c| c.format.tool() == tool).collect();
            if same.len() > 1 {
                let names: Vec<_> = same.iter().map(|c| describe(c)).collect();
                return Err(Error::Runs(format!(
                    "the sources hold {} {tool} runs ({}); choose one with {} NAME|ID, or give --repeats to treat \
                     them as repeated runs of one workload",
                    same.len(),
                    names.join(", "),
                    options.run_option,
                )));
            }
        }
        let mut merged = RunMetrics::default();
        for candidate in &candidates {
            merged.try_merge(read_candidate(candidate, options)?)?;
        }
        vec![merged]
    };
    if let Some(first) = runs.first_mut() {
        warnings.append(&mut first.warnings);
        // The search and a reader may both pass by one special file.
        let mut seen = std::collections::BTreeSet::new();
        warnings.retain(|warning| seen.insert(warning.clone()));
        first.warnings = warnings;
    }
    Ok(runs)
}

fn list(candidates: &[Candidate]) -> String {
    let names: Vec<_> = candidates.iter().map(describe).collect();
    if names.is_empty() { "no runs".to_owned() } else { names.join(", ") }
}

/// A run as messages name it: `name` (id) where the tracker has both, else its path.
fn describe(candidate: &Candidate) -> String {
    let (name, id) = match candidate.format {
        Format::Wandb => wandb::peek_info(&candidate.files[0]).map(|info| (info.name, info.id)).unwrap_or_default(),
        _ => (candidate.run_name.clone(), candidate.run_id.clone()),
    };
    match (name, id) {
        (Some(name), Some(id)) => format!("`{name}` ({id})"),
        _ => format!("`{}`", candidate.label),
    }
}

/// Reads one candidate run. Its series' steps are checked for order (a warning; not for
/// Lightning), and its GPU names made uniform.
///
/// # Errors
/// Whatever its reader returns; [`Error::DuplicateMetric`] when two ocrperf files of the run
/// give the same metric.
pub fn read_candidate(candidate: &Candidate, options: &ReadOptions<'_>) -> Result<RunMetrics, Error> {
    let mut run = RunMetrics::default();
    match candidate.format {
        Format::MlflowFiles => {
            let id = candidate.run_id.as_deref().unwrap_or_default();
            mlflow::read_file_store_run(&candidate.files[0], id, options, &mut run)?;
        }
        Format::MlflowSqlite => {
            let id = candidate.run_id.as_deref().unwrap_or_default();
            mlflow::read_sqlite_run(&candidate.files[0], id, options, &mut run)?;
        }
        Format::Report | Format::MonitorSamples | Format::BatchEvents => {
            // A directory's ocrperf files are one run but not one format: each is read as what
            // it is, on its own, and joined, so that two files giving one metric are caught.
            for file in &candidate.files {
                let format = detect(file)?.unwrap_or(candidate.format);
                let mut part = RunMetrics::default();
                let result = report::read(file, format, options, &mut part);
                options.tolerate(&mut part, result)?;
                run.try_merge(part)?;
            }
        }
        format => {
            for file in &candidate.files {
                let result = match format {
                    Format::LightningCsv => lightning::read(file, options, &mut run),
                    // A directory's event files are one run: a later file continues its tags
                    // (TensorBoard starts a new file per restart).
                    Format::TensorBoard => tensorboard::read(file, options, &mut run),
                    _ => wandb::read(file, options, &mut run),
                };
                options.tolerate(&mut run, result)?;
            }
            if run.info.name.is_none() && matches!(format, Format::TensorBoard | Format::LightningCsv) {
                run.info.name = candidate.files[0]
                    .parent()
                    .and_then(Path::file_name)
                    .map(|name| name.to_string_lossy().into_owned());
            }
        }
    }
    if run.info.tool.is_empty() {
        candidate.format.tool().clone_into(&mut run.info.tool);
    }
    // Lightning's `metrics.csv` is left out: a step holds several rows by design, and its
    // validation columns count the validation loop's own steps, which start again each epoch.
    if candidate.format != Format::LightningCsv {
        run.check_step_order();
    }
    run.normalise_gpu_names();
    Ok(run)
}

/// Whether a metric's values are durations, which cannot be negative: its unit (from the
/// source, or its name: `_ms`, `_s`, ...) is seconds or milliseconds. Differences (`delta`,
/// `diff`, `change` in the name) can be negative.
pub(crate) fn is_duration(name: &str, hint: crate::Hint) -> bool {
    !["delta", "diff", "change"].iter().any(|word| crate::direction::has_token(name, word))
        && matches!(
            crate::direction::resolve(name, hint, None).unit,
            metrics_schema::Unit::Seconds | metrics_schema::Unit::Milliseconds | metrics_schema::Unit::Microseconds
        )
}

/// The message for a negative value of a duration metric.
pub(crate) fn negative_duration(name: &str, value: f64) -> String {
    format!("`{name}` is {value}, a negative duration; step times and durations cannot be below 0")
}

/// A directory's entries in name order, each with its own type: a symbolic link stays a link,
/// so a loop cannot send a search round in circles and a link out of the tree is not followed.
pub(crate) fn sorted_entries(dir: &Path) -> Result<Vec<(PathBuf, std::fs::FileType)>, Error> {
    let mut entries: Vec<(PathBuf, std::fs::FileType)> = std::fs::read_dir(dir)
        .map_err(|cause| Error::io(dir, cause))?
        .filter_map(Result::ok)
        .filter_map(|entry| Some((entry.path(), entry.file_type().ok()?)))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}
