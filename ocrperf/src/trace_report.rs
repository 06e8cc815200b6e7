//! A run's traces read and analysed ([`analyze_run`], [`read_run`]), and the trace reports
//! laid out for people: the [`Document`]s of `ocrperf trace analyze` and `ocrperf trace
//! diff`, and the warnings a read leaves.
//!
//! They are here, not in `cli`, so that the command and the Python package (`analyze_traces`,
//! the Lightning `Profiler`) find the same files, refuse the same outputs, and render the
//! same page from the same report.

use std::path::{Path, PathBuf};

use metrics_schema::{Envelope, KernelStat, OpStat, TraceAnalysisReport, TraceDiffReport, format_bytes};
use profiler_analyze::{AnalyzeOptions, RankResult, analyze_files, build_report, is_read_in_directory, trace_files};

use crate::{
    document::Document,
    outputs::{OverwritesInput, refuse_overwriting_inputs},
};

/// Why a run's traces could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceRunError {
    /// No path at all.
    #[error("no traces given: pass trace files (.json, .json.gz) or a directory of them")]
    NoTraces,
    /// An output names a trace (or a trace a directory scan would read).
    #[error(transparent)]
    Overwrite(#[from] OverwritesInput),
    /// A path does not exist, or a directory holds no trace.
    #[error(transparent)]
    Find(profiler_analyze::Error),
    /// A trace could not be read or analysed (the message says how many were being read).
    #[error("{}: {error}", if *files == 1 { "reading the trace".to_owned() } else { format!("reading {files} traces") })]
    Read {
        /// Traces being read.
        files: usize,
        /// Why.
        error: profiler_analyze::Error,
    },
}

/// A run's traces, read and analysed.
#[derive(Debug)]
pub struct RunRead {
    /// Each rank's analysis, lowest rank first.
    pub results: Vec<RankResult>,
    /// What the read noticed ([`read_warnings`]), one line each, naming the file.
    pub warnings: Vec<String>,
    /// Seconds the finding and reading took.
    pub seconds: f64,
}

/// A run's analysis: the `ocrperf.trace-analysis` envelope, and what it was made from.
#[derive(Debug)]
pub struct AnalyzedRun {
    /// The report, as `ocrperf trace analyze --format json` writes it.
    pub envelope: Envelope<TraceAnalysisReport>,
    /// Each rank's analysis, lowest rank first (the chart draws the first).
    pub results: Vec<RankResult>,
    /// What the read noticed, one line each, naming the file.
    pub warnings: Vec<String>,
}

/// Reads the traces behind `paths` (trace files, or directories of one run's rank traces, where
/// only what [`is_read_in_directory`] keeps is read: an ocrperf report beside the traces is
/// not a trace). `outputs` are the files the caller will write, as (option, path): one that
/// would write over a trace is refused before anything is read. `progress` gets the bytes read
/// so far and the total of the files, and stops the read by returning false.
///
/// # Errors
/// [`TraceRunError`], naming the file.
pub fn read_run(
    paths: &[PathBuf],
    options: AnalyzeOptions,
    outputs: &[(&str, &Path)],
    progress: &(dyn Fn(u64, u64) -> bool + Sync),
) -> Result<RunRead, TraceRunError> {
    if paths.is_empty() {
        return Err(TraceRunError::NoTraces);
    }
    let clock = std::time::Instant::now();
    refuse_overwriting_inputs(outputs, paths, is_read_in_directory)?;
    let files = trace_files(paths).map_err(TraceRunError::Find)?;
    let total: u64 = files.iter().filter_map(|file| std::fs::metadata(file).ok()).map(|meta| meta.len()).sum();
    let results = analyze_files(&files, options, &|bytes| progress(bytes, total))
        .map_err(|error| TraceRunError::Read { files: files.len(), error })?;
    let warnings = read_warnings(&results);
    Ok(RunRead { results, warnings, seconds: clock.elapsed().as_secs_f64() })
}

/// [`read_run`], then the run's report (the lowest rank in detail, every rank summarised):
/// what `ocrperf trace analyze` prints and Python's `analyze_traces` returns.
///
/// # Errors
/// [`TraceRunError`], naming the file.
pub fn analyze_run(
    paths: &[PathBuf],
    options: AnalyzeOptions,
    outputs: &[(&str, &Path)],
    progress: &(dyn Fn(u64, u64) -> bool + Sync),
) -> Result<AnalyzedRun, TraceRunError> {
    let clock = std::time::Instant::now();
    let RunRead { results, warnings, .. } = read_run(paths, options, outputs, progress)?;
    let report = build_report(&results, options.top, clock.elapsed().as_secs_f64());
    Ok(AnalyzedRun { envelope: Envelope::for_this_machine(report), results, warnings })
}

/// What a read of `results` should tell the user: each analysis's warnings and any damage
/// read past (`--lenient`), one line each, naming the file.
pub fn read_warnings(results: &[RankResult]) -> Vec<String> {
    let mut out = Vec::new();
    for result in results {
        for warning in &result.analysis.warnings {
            out.push(format!("{}: {warning}", result.file.display()));
        }
        if let Some(damage) = &result.damage {
            out.push(format!(
                "{}: damaged at byte {} ({}); analysed the {} events before it",
                result.file.display(),
                damage.offset,
                damage.message,
                result.events
            ));
        }
    }
    out
}

/// The last component of `path` (the whole path when it has none), for titles.
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |name| name.to_string_lossy().into_owned())
}

fn pct(fraction: f64) -> String {
    format!("{:.1}%", 100.0 * fraction)
}

fn ms(value: f64) -> String {
    format!("{value:.2}")
}

/// The page of `ocrperf trace analyze` (text and Markdown).
pub fn analysis_document(report: &TraceAnalysisReport) -> Document {
    let mut doc = Document::new(format!("Trace analysis: {}", file_name(Path::new(&report.file))));
    let steps = &report.steps;
    let summary = if steps.count > 0 {
        format!(
            "{} steps, median {:.1} ms; GPU busy {}, DataLoader {} of the window",
            steps.count,
            steps.median_ms,
            pct(report.gpu.busy_fraction),
            pct(report.dataloader.fraction)
        )
    } else {
        format!(
            "no profiler steps: one {:.1} ms window; GPU busy {}",
            report.window.duration_ms,
            pct(report.gpu.busy_fraction)
        )
    };
    let mut fields = vec![
        ("summary".to_owned(), summary),
        (
            "steps".to_owned(),
            format!(
                "mean {:.2} ms, median {:.2}, p95 {:.2}, max {:.2}",
                steps.mean_ms, steps.median_ms, steps.p95_ms, steps.max_ms
            ),
        ),
        (
            "dataloader".to_owned(),
            format!("{:.2} ms per step ({})", report.dataloader.ms_per_step, pct(report.dataloader.fraction)),
        ),
        (
            "gpu".to_owned(),
            format!(
                "busy {}; kernels {:.1} ms (compute {:.1}, communication {:.1}), memcpy {:.1} ms, memset {:.1} ms",
                pct(report.gpu.busy_fraction),
                report.gpu.kernel_ms,
                report.gpu.compute_ms,
                report.gpu.communication_ms,
                report.gpu.memcpy_ms,
                report.gpu.memset_ms
            ),
        ),
    ];
    let communication = &report.communication;
    if communication.on_host || communication.backend.is_some() {
        fields.push((
            "collectives".to_owned(),
            format!(
                "{:.2} ms per step ({}) on the {}{}",
                communication.ms_per_step,
                pct(communication.fraction),
                if communication.on_host { "host" } else { "device" },
                communication.backend.as_ref().map(|b| format!(", backend {b}")).unwrap_or_default()
            ),
        ));
    }
    for temporal in &report.temporal {
        fields.push((
            format!("temporal (HTA) gpu {}", temporal.device),
            format!(
                "idle {:.1}%, compute {:.1}%, non-compute {:.1}% of {:.1} ms",
                temporal.idle_pct, temporal.compute_pct, temporal.non_compute_pct, temporal.kernel_time_ms
            ),
        ));
    }
    for peak in report.memory.iter().flatten() {
        let total = peak.total_bytes.map(|t| format!(" of {}", format_bytes(t))).unwrap_or_default();
        let basis = if peak.from_deltas { " (allocated during the trace)" } else { "" };
        fields.push((
            format!("memory {}", peak.device),
            format!(
                "peak allocated {}{basis}, reserved {}{total}",
                format_bytes(peak.peak_allocated_bytes),
                format_bytes(peak.peak_reserved_bytes)
            ),
        ));
    }
    fields.push(("read".to_owned(), format!("{} events, {}", report.read.events, format_bytes(report.read.bytes))));
    for note in &report.notes {
        fields.push(("note".to_owned(), note.clone()));
    }
    doc.fields(None, fields);

    let parts = &report.breakdown.fractions;
    // The collectives column only where a host backend put time in it (NCCL's is GPU-bound).
    let with_collectives = communication.on_host;
    let mut rows: Vec<Vec<String>> = report
        .breakdown
        .per_step
        .iter()
        .map(|s| {
            let mut row = vec![s.step.to_string(), ms(s.duration_ms), ms(s.gpu_ms), ms(s.data_wait_ms)];
            row.extend(with_collectives.then(|| ms(s.communication_ms)));
            row.extend([ms(s.sync_ms), ms(s.host_ms), ms(s.other_ms)]);
            row
        })
        .collect();
    let mut share = vec!["share".to_owned(), "100%".to_owned(), pct(parts.gpu), pct(parts.data_wait)];
    share.extend(with_collectives.then(|| pct(parts.communication)));
    share.extend([pct(parts.sync), pct(parts.host), pct(parts.other)]);
    rows.push(share);
    let mut headers = vec!["step", "wall", "GPU-bound", "data wait"];
    headers.extend(with_collectives.then_some("collectives"));
    headers.extend(["sync", "host", "other"]);
    doc.table(Some("Step breakdown (ms)"), &headers, rows);
    doc.table(Some("Top ops by self time"), &["op", "calls", "self ms", "total ms"], op_rows(&report.top_ops));
    doc.table(
        Some("Top kernels"),
        &["kernel", "launched by", "count", "total ms", "mean ms"],
        kernel_rows(&report.top_kernels),
    );
    if !report.ranks.is_empty() {
        let rows = report
            .ranks
            .iter()
            .map(|r| {
                vec![
                    r.rank.to_string(),
                    file_name(Path::new(&r.file)),
                    r.steps.count.to_string(),
                    ms(r.steps.mean_ms),
                    pct(r.dataloader.fraction),
                    pct(r.gpu.busy_fraction),
                    ms(r.communication.ms_per_step),
                ]
            })
            .collect();
        doc.table(Some("Ranks"), &["rank", "file", "steps", "step ms", "dataloader", "GPU busy", "comm ms/step"], rows);
    }
    if !report.stragglers.is_empty() {
        let rows = report
            .stragglers
            .iter()
            .map(|s| vec![s.rank.to_string(), ms(s.excess_ms_per_step), s.reason.clone()])
            .collect();
        doc.table(Some("Stragglers"), &["rank", "excess ms/step", "reason"], rows);
    }
    let rows = report
        .recommendations
        .iter()
        .map(|r| {
            let evidence: Vec<String> = r.evidence.iter().map(|(k, v)| format!("{k}={v}")).collect();
            vec![r.severity.as_str().to_owned(), r.id.clone(), r.title.clone(), evidence.join(", ")]
        })
        .collect();
    doc.table(Some("Recommendations"), &["severity", "id", "finding", "evidence"], rows);
    let fixes = report.recommendations.iter().map(|r| (r.id.clone(), r.suggestion.clone())).collect();
    doc.fields(Some("What to change"), fixes);
    doc
}

fn op_rows(ops: &[OpStat]) -> Vec<Vec<String>> {
    ops.iter().map(|op| vec![shorten(&op.name), op.count.to_string(), ms(op.self_ms), ms(op.total_ms)]).collect()
}

fn kernel_rows(kernels: &[KernelStat]) -> Vec<Vec<String>> {
    kernels
        .iter()
        .map(|k| {
            vec![shorten(&k.name), shorten(&k.op), k.count.to_string(), ms(k.total_ms), format!("{:.4}", k.mean_ms)]
        })
        .collect()
}

/// Kernel names run to hundreds of characters of template arguments; tables keep the head.
fn shorten(name: &str) -> String {
    const MAX: usize = 72;
    if name.chars().count() <= MAX {
        return name.to_owned();
    }
    let head: String = name.chars().take(MAX - 1).collect();
    format!("{head}…")
}

/// The page of `ocrperf trace diff`.
pub fn diff_document(report: &TraceDiffReport) -> Document {
    let mut doc = Document::new("Trace diff (ms per step; B − A)");
    doc.fields(
        None,
        vec![
            ("A".to_owned(), format!("{} ({} steps)", report.a.file, report.a.steps.count)),
            ("B".to_owned(), format!("{} ({} steps)", report.b.file, report.b.steps.count)),
        ],
    );
    let rows = |table: &[metrics_schema::DiffRow]| -> Vec<Vec<String>> {
        table
            .iter()
            .map(|row| {
                vec![
                    shorten(&row.name),
                    ms(row.a_ms),
                    ms(row.b_ms),
                    format!("{:+.2}", row.delta_ms),
                    row.ratio.map_or_else(|| "new".to_owned(), |r| format!("{r:.2}×")),
                ]
            })
            .collect()
    };
    if !report.notes.is_empty() {
        doc.fields(None, report.notes.iter().map(|note| ("note".to_owned(), note.clone())).collect());
    }
    if !report.steps.is_empty() {
        doc.table(Some("Per step"), &["part", "A", "B", "Δ", "B/A"], rows(&report.steps));
    }
    doc.table(Some("Ops (self time), largest change first"), &["op", "A", "B", "Δ", "B/A"], rows(&report.ops));
    doc.table(Some("Kernels, largest change first"), &["kernel", "A", "B", "Δ", "B/A"], rows(&report.kernels));
    doc
}
