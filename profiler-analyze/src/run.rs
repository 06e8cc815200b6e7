//! A run: one trace, or a directory of rank traces analysed in parallel, and its report.

use std::{
    path::{Path, PathBuf},
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
};

use metrics_schema::{
    DamageSummary, Distribution, RankSummary, ReadSummary, Severity, Straggler, TraceAnalysisReport, WindowSummary,
};
use rayon::prelude::*;

use crate::{
    Analysis, Error, ReadOptions, analysis::analyze, analysis::recommend::finding,
    analysis::recommend::sort_by_severity, read_trace, trace::Damage,
};

/// How to analyse a run.
#[derive(Debug, Clone, Copy)]
pub struct AnalyzeOptions {
    /// Rows of `top_ops` and `top_kernels`.
    pub top: usize,
    /// Analyse what was read before damage instead of failing.
    pub lenient: bool,
    /// Rank traces read at once (memory is bounded by this many traces); 0 = one per core.
    /// More than [`max_jobs`] reads `max_jobs()` at a time: a thread per trace beyond the
    /// cores only adds memory (and `--jobs 100000` would start 100,000 threads).
    pub jobs: usize,
}

/// The most rank traces read at once: the machine's parallelism (1 when it is unknown).
pub fn max_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions { top: 15, lenient: false, jobs: 0 }
    }
}

/// One rank's trace, analysed.
#[derive(Debug, Clone)]
pub struct RankResult {
    /// Rank (from `distributedInfo`, else the file name, else the file's position).
    pub rank: u32,
    /// The trace file.
    pub file: PathBuf,
    /// Uncompressed bytes.
    pub bytes: u64,
    /// Events.
    pub events: u64,
    /// Set when read leniently past damage.
    pub damage: Option<Damage>,
    /// Events skipped for impossible values (lenient reading), and the first of them.
    pub invalid: (u64, Option<Damage>),
    /// Device spans that appeared twice, kept once.
    pub duplicates: u64,
    /// The analysis.
    pub analysis: Analysis,
}

/// The trace files named by `paths`: files as given, directories expanded to their `.json`
/// and `.json.gz` files (sorted) that [`is_read_in_directory`] keeps (an ocrperf report
/// written beside the traces is not one); `-` (standard input) as given.
pub fn trace_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for path in paths {
        if metrics_schema::text::is_stdin(path) {
            files.push(path.clone());
            continue;
        }
        let meta = std::fs::metadata(path).map_err(|cause| Error::Io { path: path.clone(), cause })?;
        if !meta.is_dir() {
            files.push(path.clone());
            continue;
        }
        let entries = std::fs::read_dir(path).map_err(|cause| Error::Io { path: path.clone(), cause })?;
        let mut found: Vec<PathBuf> = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|cause| Error::Io { path: path.clone(), cause })?;
            if is_read_in_directory(&entry.path()) {
                found.push(entry.path());
            }
        }
        if found.is_empty() {
            return Err(Error::EmptyDirectory { path: path.clone() });
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// Whether a directory scan ([`trace_files`]) reads `path` as a trace: a regular file named
/// `.json` or `.json.gz` that is not an ocrperf report (an envelope whose `schema` is an
/// `ocrperf.` id, such as the `report.json` an analysis writes beside the traces). The
/// report is told by its first bytes, not its name; a file that cannot be read is kept, so
/// that reading it says why.
pub fn is_read_in_directory(path: &Path) -> bool {
    let name = path.file_name().map(|name| name.to_string_lossy()).unwrap_or_default();
    (name.ends_with(".json") || name.ends_with(".json.gz")) && path.is_file() && !is_ocrperf_report(path)
}

/// Whether the JSON in `path` (gzip or not) opens with an ocrperf envelope's `"schema":
/// "ocrperf.…"`, the field every envelope writes first. A Kineto trace opens with
/// `schemaVersion` or `traceEvents`, never with `schema`.
fn is_ocrperf_report(path: &Path) -> bool {
    use std::io::Read as _;
    let Ok((reader, _)) = metrics_schema::text::open_input(path) else { return false };
    let mut head = Vec::with_capacity(256);
    if reader.take(256).read_to_end(&mut head).is_err() {
        return false;
    }
    let text = String::from_utf8_lossy(&head);
    let rest = text.trim_start_matches('\u{feff}').trim_start();
    let Some(rest) = rest.strip_prefix('{') else { return false };
    let Some(rest) = rest.trim_start().strip_prefix("\"schema\"") else { return false };
    let Some(rest) = rest.trim_start().strip_prefix(':') else { return false };
    rest.trim_start().strip_prefix('"').is_some_and(|id| id.starts_with(metrics_schema::SchemaId::PREFIX))
}

/// Reads and analyses every file, `options.jobs` at a time. `progress` gets the file bytes
/// read so far over all files, and stops everything by returning false.
pub fn analyze_files(
    files: &[PathBuf],
    options: AnalyzeOptions,
    progress: &(dyn Fn(u64) -> bool + Sync),
) -> Result<Vec<RankResult>, Error> {
    let done = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let one = |file: &PathBuf| -> Result<RankResult, Error> {
        let mut last = 0;
        let mut on_progress = |bytes: u64| {
            let total = done.fetch_add(bytes.saturating_sub(last), Ordering::Relaxed) + bytes.saturating_sub(last);
            last = bytes;
            !stop.load(Ordering::Relaxed) && progress(total)
        };
        let trace = read_trace(file, ReadOptions { lenient: options.lenient }, &mut on_progress).inspect_err(|_| {
            stop.store(true, Ordering::Relaxed);
        })?;
        if trace.cpu.is_empty() && trace.gpu.is_empty() {
            return Err(Error::NothingToAnalyse { path: file.clone(), events: trace.stats.events });
        }
        let analysis = analyze(&trace);
        Ok(RankResult {
            invalid: (trace.stats.invalid, trace.first_invalid.clone()),
            duplicates: trace.stats.duplicates,
            rank: trace.meta.rank.unwrap_or(u32::MAX),
            file: file.clone(),
            bytes: trace.stats.bytes,
            events: trace.stats.events,
            damage: trace.damage.clone(),
            analysis,
        })
    };
    let mut results: Vec<RankResult> = if files.len() == 1 {
        vec![one(&files[0])?]
    } else {
        // 0 asks rayon for one thread per core; never more than the cores, nor than the files.
        let jobs = if options.jobs == 0 { max_jobs() } else { options.jobs.min(max_jobs()) }.min(files.len());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .map_err(|err| Error::Io { path: files[0].clone(), cause: std::io::Error::other(err) })?;
        pool.install(|| files.par_iter().map(one).collect::<Result<Vec<_>, _>>())?
    };
    assign_ranks(&mut results)?;
    Ok(results)
}

/// Fills in ranks the traces did not state, from the file name (`rank-3`, `rank_3`, `rank3`,
/// `worker3`), else by position, and rejects duplicates.
fn assign_ranks(results: &mut [RankResult]) -> Result<(), Error> {
    for result in results.iter_mut() {
        if result.rank == u32::MAX {
            result.rank = rank_from_name(&result.file).unwrap_or(u32::MAX);
        }
    }
    let first_free = results.iter().filter(|r| r.rank != u32::MAX).map(|r| r.rank + 1).max().unwrap_or(0);
    for (rank, result) in (first_free..).zip(results.iter_mut().filter(|r| r.rank == u32::MAX)) {
        result.rank = rank;
    }
    results.sort_by_key(|r| r.rank);
    for pair in results.windows(2) {
        if pair[0].rank == pair[1].rank {
            return Err(Error::DuplicateRank {
                rank: pair[0].rank,
                first: pair[0].file.clone(),
                second: pair[1].file.clone(),
            });
        }
    }
    Ok(())
}

fn rank_from_name(path: &Path) -> Option<u32> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    ["rank", "worker"].iter().find_map(|marker| {
        let at = name.find(marker)? + marker.len();
        let digits: String =
            name[at..].trim_start_matches(['-', '_']).chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    })
}

/// The report of a run: the lowest rank in detail, plus per-rank summaries and stragglers
/// when there are several.
pub fn build_report(results: &[RankResult], top: usize, seconds: f64) -> TraceAnalysisReport {
    let detail = &results[0];
    let analysis = &detail.analysis;
    let bytes: u64 = results.iter().map(|r| r.bytes).sum();
    let mut notes = Vec::new();
    if !analysis.has_steps {
        notes.push("no ProfilerStep#N spans: the whole trace is one window, and per-step figures cover it".to_owned());
    }
    let damage = results.iter().find_map(|r| {
        r.damage.as_ref().map(|d| DamageSummary {
            file: r.file.display().to_string(),
            offset: d.offset,
            message: d.message.clone(),
        })
    });
    if let Some(damage) = &damage {
        notes.push(format!(
            "partial: {} is damaged at byte {} ({}); only the events before it were analysed",
            damage.file, damage.offset, damage.message
        ));
    }
    for result in results {
        if let (count @ 1.., Some(first)) = &result.invalid {
            notes.push(format!(
                "{} events of {} had impossible values and were left out (the first at byte {}: {})",
                count,
                result.file.display(),
                first.offset,
                first.message
            ));
        }
    }
    for result in results {
        for note in result.analysis.warnings.iter().chain(&result.analysis.notes) {
            notes.push(format!("{}: {note}", result.file.display()));
        }
    }
    for result in results.iter().filter(|r| r.duplicates > 0) {
        notes.push(format!(
            "{}: {} device events appear twice (same kernel, time, device and stream); each was counted once",
            result.file.display(),
            result.duplicates
        ));
    }
    let mut recommendations = analysis.recommendations.clone();
    let stragglers = find_stragglers(results);
    if let Some(worst) = stragglers.first() {
        let step = results.iter().map(|r| r.analysis.steps.mean_ms).fold(0.0, f64::max);
        let share = if step > 0.0 { worst.excess_ms_per_step / step } else { 0.0 };
        recommendations.push(finding(
            "straggler",
            if share >= 0.2 { Severity::Critical } else { Severity::Warning },
            format!("rank {} holds the other ranks back: {}", worst.rank, worst.reason),
            &[
                ("rank", f64::from(worst.rank)),
                ("excess_ms_per_step", worst.excess_ms_per_step),
                ("share_of_step", share),
            ],
            "Fix the slow rank's cause first (its data loading, host or device); the others only wait \
             for it in collectives.",
        ));
        sort_by_severity(&mut recommendations);
    }
    let ranks = if results.len() > 1 {
        results
            .iter()
            .map(|r| RankSummary {
                rank: r.rank,
                file: r.file.display().to_string(),
                steps: r.analysis.steps.clone(),
                dataloader: r.analysis.dataloader.clone(),
                gpu: r.analysis.gpu.clone(),
                communication: r.analysis.communication.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    TraceAnalysisReport {
        file: detail.file.display().to_string(),
        rank: (results.len() > 1).then_some(detail.rank),
        read: ReadSummary {
            bytes,
            events: results.iter().map(|r| r.events).sum(),
            seconds,
            mb_per_s: if seconds > 0.0 { bytes as f64 / 1e6 / seconds } else { 0.0 },
            damage,
        },
        window: WindowSummary {
            source: if analysis.has_steps { "profiler_steps" } else { "whole_trace" }.to_owned(),
            duration_ms: analysis.window_ms,
        },
        steps: analysis.steps.clone(),
        dataloader: analysis.dataloader.clone(),
        gpu: analysis.gpu.clone(),
        communication: analysis.communication.clone(),
        breakdown: analysis.breakdown.clone(),
        temporal: analysis.temporal.clone(),
        memory: analysis.memory.clone(),
        top_ops: analysis.ops.iter().take(top).cloned().collect(),
        top_kernels: analysis.kernels.iter().take(top).cloned().collect(),
        recommendations,
        ranks,
        stragglers,
        notes,
    }
}

/// Ranks that hold the others back, worst first. Two independent signals, each beyond 5 % of
/// the other ranks' median step (and 1 ms):
///
/// - **own work**: the rank whose step time minus its time in collectives (device kernels, or
///   host spans with gloo, MPI and UCC) exceeds the others' median, with the part that
///   explains it;
/// - **data wait**: any rank whose DataLoader wait per step exceeds the others' median. With
///   a host backend the fast ranks wait for it inside the collective, so step times and even
///   own work can look alike; the data wait still tells the slow rank apart.
fn find_stragglers(results: &[RankResult]) -> Vec<Straggler> {
    if results.len() < 2 {
        return Vec::new();
    }
    let median_of_others = |rank: u32, value: &dyn Fn(&RankResult) -> f64| {
        let values: Vec<f64> = results.iter().filter(|r| r.rank != rank).map(value).collect();
        Distribution::from_samples(&values).map_or(0.0, |d| d.p50)
    };
    let per_step = |r: &RankResult, ms: f64| ms / r.analysis.steps.count.max(1) as f64;
    let collectives = |r: &RankResult| r.analysis.communication.ms_per_step;
    let work = |r: &RankResult| r.analysis.steps.mean_ms - collectives(r);
    let data_wait = |r: &RankResult| r.analysis.dataloader.ms_per_step;
    let limit = |rank: u32| (0.05 * median_of_others(rank, &|r: &RankResult| r.analysis.steps.mean_ms)).max(1.0);

    let mut found: Vec<Straggler> = Vec::new();
    if let Some(slowest) = results.iter().max_by(|a, b| work(a).total_cmp(&work(b))) {
        let excess = work(slowest) - median_of_others(slowest.rank, &work);
        if excess >= limit(slowest.rank) {
            type Part<'a> = (&'a str, &'a dyn Fn(&RankResult) -> f64);
            // The breakdown's `other` is step time no recorded span covers (no op, kernel,
            // DataLoader wait or sync): without it a rank slow in unrecorded time was blamed
            // on whichever part tied at "0.0 ms/step vs 0.0 ms".
            let parts: [Part<'_>; 6] = [
                ("data wait", &data_wait),
                ("GPU compute", &|r| per_step(r, r.analysis.gpu.compute_ms)),
                ("GPU copies and fills", &|r| per_step(r, r.analysis.gpu.memcpy_ms + r.analysis.gpu.memset_ms)),
                ("host compute", &|r| r.analysis.breakdown.fractions.host * r.analysis.steps.mean_ms),
                ("synchronisation", &|r| r.analysis.breakdown.fractions.sync * r.analysis.steps.mean_ms),
                (UNRECORDED, &|r| r.analysis.breakdown.fractions.other * r.analysis.steps.mean_ms),
            ];
            let (cause, own, typical) = parts
                .iter()
                .map(|(label, value)| (*label, value(slowest), median_of_others(slowest.rank, *value)))
                .max_by(|a, b| (a.1 - a.2).total_cmp(&(b.1 - b.2)))
                .unwrap_or(("work", work(slowest), median_of_others(slowest.rank, &work)));
            let waiting = median_of_others(slowest.rank, &collectives) - collectives(slowest);
            let mut reason = if own - typical < 0.05 {
                // No part grew by as much as the figures show (0.1 ms): say what is known rather
                // than "0.0 ms/step vs 0.0 ms".
                format!(
                    "its own work (step time less collectives) is {excess:.1} ms/step above the other ranks' \
                     median, and no one part (data wait, GPU compute, copies, host compute, synchronisation, \
                     unrecorded time) accounts for it"
                )
            } else if cause == UNRECORDED {
                format!(
                    "unrecorded time (no op, kernel, DataLoader wait or sync covers it) {own:.1} ms/step vs \
                     {typical:.1} ms median on the other ranks"
                )
            } else {
                format!("{cause} {own:.1} ms/step vs {typical:.1} ms median on the other ranks")
            };
            if waiting > 0.0 {
                reason.push_str(&format!(", while they wait {waiting:.1} ms/step longer in collectives"));
            }
            found.push(Straggler { rank: slowest.rank, reason, excess_ms_per_step: round3(excess) });
        }
    }
    for rank in results {
        let (own, typical) = (data_wait(rank), median_of_others(rank.rank, &data_wait));
        let excess = own - typical;
        if excess < limit(rank.rank) || found.iter().any(|s| s.rank == rank.rank && s.reason.starts_with("data wait")) {
            continue;
        }
        let mut reason = format!("data wait {own:.1} ms/step vs {typical:.1} ms median on the other ranks");
        let waiting = median_of_others(rank.rank, &collectives) - collectives(rank);
        if waiting > 0.0 {
            reason.push_str(&format!(", while they wait {waiting:.1} ms/step longer in collectives"));
        }
        match found.iter_mut().find(|s| s.rank == rank.rank) {
            Some(known) => known.reason.push_str(&format!("; also {reason}")),
            None => found.push(Straggler { rank: rank.rank, reason, excess_ms_per_step: round3(excess) }),
        }
    }
    found.sort_by(|a, b| b.excess_ms_per_step.total_cmp(&a.excess_ms_per_step).then(a.rank.cmp(&b.rank)));
    found
}

/// The part of a step no recorded span covers (the breakdown's `other`).
const UNRECORDED: &str = "unrecorded time";

fn round3(value: f64) -> f64 {
    (value * 1e3).round() / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_come_from_file_names() {
        for (name, rank) in [
            ("rank-3.Apr_03.pt.trace.json.gz", Some(3)),
            ("job_rank_12.json", Some(12)),
            ("worker0.1623143089861.pt.trace.json.gz", Some(0)),
            ("host_1234.1699.pt.trace.json", None),
        ] {
            assert_eq!(rank_from_name(Path::new(name)), rank, "{name}");
        }
    }

    #[test]
    #[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
    fn a_report_beside_the_traces_is_not_read_as_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        std::fs::write(path("rank0.json"), r#"{"schemaVersion": 1, "traceEvents": []}"#).unwrap();
        std::fs::write(path("report.json"), "\u{feff}{\n  \"schema\": \"ocrperf.trace-analysis.v1\",\n  \"x\": 1}")
            .unwrap();
        // Told by its content: a trace that names a schema later, or another first, is a trace.
        std::fs::write(path("rank1.json"), r#"{"traceEvents": [], "schema": "ocrperf.trace-analysis.v1"}"#).unwrap();
        std::fs::write(path("rank2.json"), r#"{"schema": "kineto", "traceEvents": []}"#).unwrap();
        std::fs::write(path("notes.txt"), "x").unwrap();
        let files = trace_files(&[dir.path().to_owned()]).unwrap();
        assert_eq!(files, [path("rank0.json"), path("rank1.json"), path("rank2.json")]);
        assert!(!is_read_in_directory(&path("report.json")) && is_read_in_directory(&path("rank0.json")));
        // A report alone is no trace.
        let only = tempfile::tempdir().unwrap();
        std::fs::copy(path("report.json"), only.path().join("report.json")).unwrap();
        assert!(matches!(trace_files(&[only.path().to_owned()]), Err(Error::EmptyDirectory { .. })));
    }
}
