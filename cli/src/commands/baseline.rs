//! `ocrperf baseline`: a performance report of one run from wherever its numbers live, for
//! people (Markdown with charts) and for the gate (`baseline.json`).

use ocrperf::regression;
use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::Context as _;
use clap::Args;
use metrics_schema::{BaselineReport, Direction, Envelope};
use regression::{
    BaselineOptions, ReadOptions, RunMetrics, SourceSpec, Thresholds, Warmup, build_baseline, charts, render,
    render::format_value,
};

use crate::{
    Outcome, interrupt,
    output::{Document, Ui},
};

#[derive(Debug, Args)]
pub(crate) struct BaselineArgs {
    /// W&B run directories or .wandb logs, mlruns/ or mlflow.db, TensorBoard log directories,
    /// Lightning metrics.csv, ocrperf reports and JSONL, or directories holding them
    #[arg(required = true, value_name = "SOURCE")]
    sources: Vec<PathBuf>,
    /// Read only this run (name or id) where the sources hold several
    #[arg(long, value_name = "NAME|ID")]
    run: Option<String>,
    #[command(flatten)]
    read: ReadArgs,
}

/// How sources are read and summarised; shared with `regress`.
#[derive(Debug, Args)]
pub(crate) struct ReadArgs {
    /// Every run found is a repeat of one workload: each metric keeps one value per run, and
    /// with 5 or more runs a side the gate compares runs, not steps
    #[arg(long)]
    pub(crate) repeats: bool,
    /// Warm-up left out of every series: auto (MSER-5), a sample count, or a fraction (0.1, 10%)
    #[arg(long, value_name = "auto|N|FRAC")]
    pub(crate) warmup: Option<String>,
    /// Gate settings and per-metric rules (TOML): thresholds, noise floors, directions, ignored
    /// metrics, require_same_host
    #[arg(long, value_name = "FILE")]
    pub(crate) thresholds: Option<PathBuf>,
    /// Read damaged files up to the damage (CRC mismatch, truncation, a bad line), say what was
    /// skipped and record it in the report
    #[arg(long)]
    pub(crate) lenient: bool,
}

impl ReadArgs {
    /// The thresholds file's settings, or the defaults.
    pub(crate) fn thresholds(&self) -> anyhow::Result<Thresholds> {
        Ok(match &self.thresholds {
            Some(path) => Thresholds::read(path)?,
            None => Thresholds::default(),
        })
    }

    /// `--warmup`, else the thresholds file's, else auto.
    pub(crate) fn warmup(&self, thresholds: &Thresholds) -> anyhow::Result<Warmup> {
        Ok(match &self.warmup {
            Some(text) => text.parse()?,
            None => thresholds.warmup.unwrap_or_default(),
        })
    }

    /// Reads the runs of `spec` with a progress bar over the sources' bytes, warning about
    /// what the readers skipped or doubted and damage that `--lenient` read past. `run_option`
    /// is the option that picks a run, as messages name it.
    pub(crate) fn load(&self, spec: &SourceSpec, run_option: &str, ui: &Ui) -> anyhow::Result<regression::Side> {
        let total = spec.paths.iter().map(|path| size_of(path)).sum();
        interrupt::set_cancellable();
        let bar = ui.progress_bytes(total, "reading");
        let progress = |bytes: u64| {
            bar.inc(bytes);
            !interrupt::requested()
        };
        let options = ReadOptions { lenient: self.lenient, progress: &progress, run_option };
        let side = regression::load_side(spec, &options);
        bar.finish_and_clear();
        let side = side?;
        if let regression::Side::Runs(runs) = &side {
            warn_about(runs, ui);
        }
        Ok(side)
    }
}

fn warn_about(runs: &[RunMetrics], ui: &Ui) {
    for warning in runs.iter().flat_map(|run| &run.warnings) {
        ui.note(format_args!("warning: {warning}"));
    }
    for damage in runs.iter().flat_map(|run| &run.damage) {
        ui.note(format_args!("warning: {damage}; read up to the damage (--lenient)"));
    }
}

/// Whether `regress` or `baseline` would read `path` inside an input directory: a run file,
/// or the baseline file a directory stands for.
pub(crate) fn is_read_as_input(path: &Path) -> bool {
    regression::is_baseline_file(path) || regression::sources::detect(path).is_ok_and(|format| format.is_some())
}

/// Bytes under `path` (a file, or a directory's files), for the progress bar. Links are not
/// followed, as the search does not follow them.
fn size_of(path: &Path) -> u64 {
    let Ok(metadata) = std::fs::symlink_metadata(path) else { return 0 };
    if metadata.is_dir() {
        std::fs::read_dir(path)
            .map_or(0, |entries| entries.filter_map(Result::ok).map(|entry| size_of(&entry.path())).sum())
    } else {
        metadata.len()
    }
}

pub(crate) fn run(args: &BaselineArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    // Before any work: an output over an input would destroy what is being read.
    if let Some(out) = ui.output_path() {
        let targets: Vec<PathBuf> = if is_directory_target(out) {
            vec![out.to_owned(), out.join("baseline.json"), out.join("baseline.md")]
        } else {
            vec![out.to_owned()]
        };
        let outputs: Vec<(&str, &Path)> = targets.iter().map(|path| ("-o", path.as_path())).collect();
        crate::output::refuse_overwriting_inputs(&outputs, &args.sources, is_read_as_input)?;
    }
    let thresholds = args.read.thresholds()?;
    let warmup = args.read.warmup(&thresholds)?;
    let spec = SourceSpec { paths: args.sources.clone(), run: args.run.clone(), repeats: args.read.repeats };
    let clock = Instant::now();
    let runs = match args.read.load(&spec, "--run", ui)? {
        regression::Side::Runs(runs) => runs,
        regression::Side::Baseline(_) => {
            anyhow::bail!(
                "{} is already a baseline; compare it with `ocrperf regress --baseline`",
                args.sources[0].display()
            )
        }
    };
    let options = BaselineOptions { warmup, thresholds: &thresholds, read_seconds: clock.elapsed().as_secs_f64() };
    let report = build_baseline(&runs, &options);
    check_baseline(&report, &runs, &args.sources, ui)?;
    let envelope = Envelope::for_this_machine(report);
    let document = baseline_document(&envelope.report);
    match ui.output_path().filter(|path| is_directory_target(path)) {
        Some(dir) => {
            let charts = charts::key_charts(&runs[0], &envelope.report, &warmup)
                .map_err(|err| anyhow::anyhow!("drawing charts: {err}"))?;
            // The report first: a directory that cannot be written does not cost the figures.
            ui.emit_to_stdout(&envelope, &document)?;
            write_directory(dir, &envelope, &charts)?;
            ui.note(format_args!(
                "wrote {0}/baseline.json, {0}/baseline.md and {1} chart{2}",
                dir.display(),
                charts.len(),
                if charts.len() == 1 { "" } else { "s" }
            ));
        }
        None => ui.emit_with_markdown(&envelope, &document, Some(&render::baseline_markdown(&envelope.report, &[])))?,
    }
    Ok(Outcome::Success)
}

/// Says the report's notes on stderr (values left out, repeated runs), and refuses a baseline
/// without a single metric: nothing to describe or gate is an error, not an empty success.
/// When the sources had finite values and the warm-up cut them all, the warm-up is named.
pub(crate) fn check_baseline(
    report: &BaselineReport,
    runs: &[RunMetrics],
    sources: &[PathBuf],
    ui: &Ui,
) -> anyhow::Result<()> {
    for note in &report.notes {
        ui.note(format_args!("note: {note}"));
    }
    if !report.metrics.is_empty() {
        return Ok(());
    }
    let longest = runs
        .iter()
        .flat_map(|run| run.series.values())
        .map(|series| series.points.iter().filter(|p| p.value.is_finite()).count())
        .max()
        .unwrap_or(0);
    anyhow::ensure!(
        longest == 0,
        "the warm-up ({}) leaves no steady-state sample: the longest series has {longest} finite value{}; give a \
         smaller --warmup",
        report.warmup_rule,
        if longest == 1 { "" } else { "s" }
    );
    let names: Vec<String> = sources.iter().map(|path| path.display().to_string()).collect();
    anyhow::bail!("{}: no metric with a finite value in these sources", names.join(", "))
}

/// `-o DIR`: an existing directory, a path ending in `/`, or a path without an extension that
/// does not exist yet. An existing file, device or FIFO is one file, written (into) as such.
fn is_directory_target(path: &Path) -> bool {
    path.is_dir()
        || path.as_os_str().to_string_lossy().ends_with('/')
        || (path.extension().is_none() && std::fs::symlink_metadata(path).is_err())
}

/// Writes the charts, `baseline.md` and `baseline.json` into `dir` as one set
/// (`baseline.json` last, see [`metrics_schema::write_set_atomic`]).
fn write_directory(dir: &Path, envelope: &Envelope<BaselineReport>, charts: &[charts::Chart]) -> anyhow::Result<()> {
    let mut json = serde_json::to_vec_pretty(envelope).context("serialising the baseline")?;
    json.push(b'\n');
    let markdown = render::baseline_markdown(&envelope.report, charts);
    let mut files: Vec<(&str, &[u8])> = charts.iter().map(|c| (c.file_name.as_str(), c.svg.as_bytes())).collect();
    files.push(("baseline.md", markdown.as_bytes()));
    files.push(("baseline.json", &json));
    Ok(metrics_schema::write_set_atomic(dir, &files)?)
}

fn baseline_document(report: &BaselineReport) -> Document {
    let run = &report.run;
    let name = run.name.clone().or_else(|| run.id.clone()).unwrap_or_else(|| "run".to_owned());
    let mut doc = Document::new(format!("Baseline: {name}"));
    let mut fields = vec![("tool".to_owned(), run.tool.clone())];
    let mut add = |key: &str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            fields.push((key.to_owned(), value));
        }
    };
    add("run id", run.id.clone());
    add("started", run.started_at.map(|t| t.to_string()));
    add("host", run.host.clone());
    add("CPU", run.cpu_model.clone());
    add("GPUs", (!run.gpus.is_empty()).then(|| regression::gate::describe_gpus(&run.gpus)));
    add("git commit", run.git_commit.clone());
    add("repeated runs", (report.runs > 1).then(|| report.runs.to_string()));
    add(
        "read",
        Some(format!(
            "{} file{}, {:.1} MB in {:.2} s ({:.0} MB/s)",
            report.read.files,
            if report.read.files == 1 { "" } else { "s" },
            report.read.bytes as f64 / 1e6,
            report.read.seconds,
            report.read.mb_per_s
        )),
    );
    add("warm-up", Some(report.warmup_rule.clone()));
    for damage in &report.damage {
        add("damage", Some(format!("{} at byte {}: {}", damage.file, damage.offset, damage.message)));
    }
    doc.fields(None, fields);
    if !report.findings.is_empty() {
        let rows = report.findings.iter().map(|f| vec![f.severity.as_str().to_owned(), f.title.clone()]).collect();
        doc.table(Some("Bottlenecks"), &["severity", "finding"], rows);
    }
    let gated: Vec<Vec<String>> = report
        .metrics
        .iter()
        .filter(|m| m.better != Direction::Info)
        .map(|m| {
            let d = &m.distribution;
            vec![
                m.name.clone(),
                m.better.as_str().to_owned(),
                format_value(d.p50, m.unit),
                format_value(d.p95, m.unit),
                m.samples.to_string(),
                m.warmup.to_string(),
            ]
        })
        .collect();
    let info = report.metrics.len() - gated.len();
    if !gated.is_empty() {
        doc.table(Some("Gated metrics"), &["metric", "better", "median", "p95", "samples", "warm-up"], gated);
    }
    if info > 0 {
        doc.fields(
            None,
            vec![(
                "not gated".to_owned(),
                format!("{info} metrics without a direction (listed in the JSON and baseline.md)"),
            )],
        );
    }
    doc
}
