//! Throughput from what runs leave behind, in any of the kinds `ocrperf throughput` reads:
//! JSONL batch events and Lightning's `metrics.csv` (read by `throughput`), and Kineto
//! traces, read by `profiler-analyze`'s streaming reader with its step and DataLoader rules,
//! then recorded by `throughput` (one reader of traces, not two).

use std::{path::PathBuf, time::Duration};

use metrics_schema::{Bottleneck, ThroughputReport};
use profiler_analyze::{ReadOptions, read_trace, step_timings_with_warnings};
use throughput::{
    RecorderSettings, ThroughputRecorder,
    inputs::{self, InputKind, kineto::TraceStep},
};

use crate::Error;

/// How to read the files.
#[derive(Debug, Clone, Default)]
pub struct FileOptions {
    /// Samples per step for Kineto traces (they do not record it).
    pub batch_size: Option<u64>,
    /// Count and skip unreadable JSONL lines instead of failing.
    pub skip_bad_lines: bool,
    /// Batches left out at the start.
    pub warmup: u64,
}

/// The report, and what was read but looked wrong.
#[derive(Debug, Clone)]
pub struct FilesThroughput {
    /// The throughput over all the files' batches.
    pub report: ThroughputReport,
    /// Warnings with their place (Lightning's missing data wait, steps going backwards, a
    /// restart of the counters, skipped lines).
    pub warnings: Vec<String>,
}

/// Reads every file into one throughput report (`-` is standard input, as batch events).
///
/// # Errors
/// The first file's error, naming it and the place; [`Error::TraceWithoutBatchSize`];
/// [`Error::NoData`] when the warm-up leaves no batch.
pub fn read_files(files: &[PathBuf], options: &FileOptions) -> Result<FilesThroughput, Error> {
    if files.is_empty() {
        return Err(Error::NoData(
            "give the files to read (batch events, traces or metrics.csv), or `throughput run`".to_owned(),
        ));
    }
    let mut recorder = ThroughputRecorder::new(RecorderSettings {
        warmup_batches: options.warmup,
        memory_every: 0,
        ..RecorderSettings::default()
    });
    let mut warnings = Vec::new();
    let (mut skipped, mut wait_measured) = (0, false);
    for file in files {
        match InputKind::of(file) {
            InputKind::Trace => {
                let batch_size = options.batch_size.ok_or_else(|| Error::TraceWithoutBatchSize(file.clone()))?;
                let trace = read_trace(file, ReadOptions::default(), &mut |_| true)?;
                let (timings, step_warnings) = step_timings_with_warnings(&trace);
                warnings.extend(step_warnings.iter().map(|warning| format!("{}: {warning}", file.display())));
                let steps: Vec<TraceStep> = timings
                    .iter()
                    .map(|step| TraceStep { duration: nanos(step.duration_ns), data_wait: nanos(step.data_wait_ns) })
                    .collect();
                if steps.is_empty() {
                    return Err(Error::NoData(format!(
                        "{}: no ProfilerStep#N spans (record with torch.profiler.schedule and call prof.step())",
                        file.display()
                    )));
                }
                inputs::kineto::record_steps(&steps, batch_size, &mut recorder);
                wait_measured = true;
            }
            InputKind::LightningCsv => {
                let stats = inputs::lightning::read_metrics_csv(file, &mut recorder)?;
                warnings.extend(stats.warnings);
                warnings.push(format!(
                    "{}: Lightning's metrics.csv records no data wait; its batches count as all compute \
                     (the ocrperf callback records both)",
                    file.display()
                ));
            }
            _ => {
                let stats = inputs::jsonl::read_events(file, &mut recorder, options.skip_bad_lines)?;
                skipped += stats.skipped;
                warnings.extend(stats.warnings);
                wait_measured = true;
            }
        }
    }
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let mut report = recorder.report(&names.join(", "));
    if report.batches == 0 {
        return Err(Error::NoData(format!(
            "{}: every batch was warm-up (--warmup {}); nothing left to measure",
            names.join(", "),
            options.warmup
        )));
    }
    // Every batch event is checked to take time; a trace's or a log's steps are not, and a rate
    // over no time is not 0 samples/s.
    if report.elapsed_s <= 0.0 || report.samples_per_s <= 0.0 {
        return Err(Error::NoData(format!(
            "{}: the batches left take no time in all; there is no rate to report",
            names.join(", ")
        )));
    }
    report.skipped_lines = skipped;
    if !wait_measured {
        report.bottleneck = Bottleneck::Unmeasured;
    }
    if skipped > 0 {
        warnings.push(format!("skipped {skipped} unreadable lines"));
    }
    Ok(FilesThroughput { report, warnings })
}

fn nanos(ns: i64) -> Duration {
    Duration::from_nanos(ns.max(0) as u64)
}
