//! ocrperf's own files: reports (read through their envelope and flattened with
//! [`ToMetrics`](metrics_schema::ToMetrics)), `ocrperf monitor` sample files, and batch-event JSONL.

use std::{collections::BTreeMap, io::Read, path::Path};

use metrics_schema::{
    AlertState, BatchEvent, Direction, Envelope, HostInfo, MONITOR_SAMPLES_SCHEMA, MetricsReport, MonitorLine,
    MonitorSummaryReport, PhaseReport, Recommendation, Report, ReportKind, Severity, TargetsBenchReport,
    TargetsDigestReport, ThroughputReport, TraceAnalysisReport, TraceDiffReport, Unit, peek_schema,
};

use super::{Format, ReadOptions, lines::Lines};
use crate::{Error, Hint, Place, Point, RunMetrics, SourceFile};

/// Reports are small; a larger `.json` is another kind of file (a profiler trace).
const MAX_REPORT: u64 = 64 << 20;

/// What an ocrperf `.json`/`.jsonl` file holds, from its first bytes; `None` for other JSON
/// (profiler traces, W&B's own files) and for baselines and gate verdicts, which are compared,
/// not read as a run's metrics.
///
/// # Errors
/// [`Error::Io`] when it cannot be opened.
pub fn sniff(path: &Path) -> Result<Option<Format>, Error> {
    let head = read_head(path)?;
    let first_line = head.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or_default();
    if first_line.contains(MONITOR_SAMPLES_SCHEMA) {
        return Ok(Some(Format::MonitorSamples));
    }
    if first_line.starts_with('{') && first_line.contains("\"data_wait_s\"") && first_line.contains("\"compute_s\"") {
        return Ok(Some(Format::BatchEvents));
    }
    Ok(match schema_in(&head) {
        Some(id) if matches!(id.kind, ReportKind::Baseline | ReportKind::Regress) => None,
        Some(_) => Some(Format::Report),
        None => None,
    })
}

/// The first 4 KiB of a (possibly gzipped) file, as text.
fn read_head(path: &Path) -> Result<String, Error> {
    let mut head = Vec::new();
    super::open_text(path, &ReadOptions::default())?
        .take(4096)
        .read_to_end(&mut head)
        .map_err(|cause| Error::io(path, cause))?;
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// The schema id an envelope's text starts with (`schema` is its first field), if any.
fn schema_in(head: &str) -> Option<metrics_schema::SchemaId> {
    head.split("\"schema\"").nth(1).and_then(|rest| rest.split('"').nth(1)).and_then(|id| id.parse().ok())
}

/// The schema id of an ocrperf report file, from its first bytes; `None` for other files.
pub(crate) fn file_schema(path: &Path) -> Option<metrics_schema::SchemaId> {
    read_head(path).ok().as_deref().and_then(schema_in)
}

/// Reads an ocrperf file of the given format into `run`.
///
/// # Errors
/// [`Error::Report`] for a report of the wrong shape or a newer version, [`Error::Damaged`]
/// naming the line of a bad JSONL line, [`Error::Io`].
pub fn read(path: &Path, format: Format, options: &ReadOptions<'_>, run: &mut RunMetrics) -> Result<(), Error> {
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    run.files.push(SourceFile { path: path.display().to_string(), format: format.as_str(), bytes });
    "ocrperf".clone_into(&mut run.info.tool);
    match format {
        Format::MonitorSamples => read_monitor_samples(path, options, run),
        Format::BatchEvents => read_batch_events(path, options, run),
        _ => read_report(path, bytes, options, run),
    }
}

fn read_report(path: &Path, bytes: u64, options: &ReadOptions<'_>, run: &mut RunMetrics) -> Result<(), Error> {
    if bytes > MAX_REPORT {
        return Err(Error::Unsupported {
            path: path.to_owned(),
            message: format!("{bytes} bytes is too large for an ocrperf report"),
        });
    }
    let mut text = String::new();
    super::open_text(path, options)?
        .read_to_string(&mut text)
        .map_err(|cause| super::read_error(path, Place::Byte(text.len() as u64), cause))?;
    let report_error = |cause| Error::Report { path: path.to_owned(), cause };
    let kind = peek_schema(&text).map_err(report_error)?.kind;
    let source = path.display().to_string();
    match kind {
        ReportKind::Throughput => {
            let envelope = flatten::<ThroughputReport>(&text, &source, run).map_err(report_error)?;
            run.findings.push(throughput_finding(&envelope.report));
        }
        ReportKind::TraceAnalysis => {
            let envelope = flatten::<TraceAnalysisReport>(&text, &source, run).map_err(report_error)?;
            add_trace(&envelope.report, &source, run);
        }
        ReportKind::MonitorSummary => {
            let envelope = flatten::<MonitorSummaryReport>(&text, &source, run).map_err(report_error)?;
            let alerts = envelope.report.alerts.iter().map(|alert| {
                (
                    alert.rule.clone(),
                    alert.severity,
                    alert.message.clone(),
                    alert.metric.clone(),
                    alert.value,
                    alert.state,
                )
            });
            add_alerts(alerts, run);
        }
        ReportKind::TraceDiff => drop(flatten::<TraceDiffReport>(&text, &source, run).map_err(report_error)?),
        ReportKind::TargetsBench => drop(flatten::<TargetsBenchReport>(&text, &source, run).map_err(report_error)?),
        ReportKind::TargetsDigest => drop(flatten::<TargetsDigestReport>(&text, &source, run).map_err(report_error)?),
        ReportKind::Phase => drop(flatten::<PhaseReport>(&text, &source, run).map_err(report_error)?),
        ReportKind::Metrics => drop(flatten::<MetricsReport>(&text, &source, run).map_err(report_error)?),
        ReportKind::HostInfo => {
            drop(flatten::<metrics_schema::HostInfoReport>(&text, &source, run).map_err(report_error)?);
        }
        ReportKind::Baseline | ReportKind::Regress => {
            return Err(Error::Unsupported {
                path: path.to_owned(),
                message: format!(
                    "a `{}` report is not a run's metrics; compare baselines with `ocrperf regress --baseline`",
                    kind.as_str()
                ),
            });
        }
        _ => {
            return Err(Error::Unsupported {
                path: path.to_owned(),
                message: format!("`{}` reports carry no metrics to compare", kind.as_str()),
            });
        }
    }
    Ok(())
}

/// Parses an envelope, adds its flattened metrics as scalars and its host as the run's.
fn flatten<T: Report>(text: &str, source: &str, run: &mut RunMetrics) -> Result<Envelope<T>, metrics_schema::Error> {
    let envelope = Envelope::<T>::from_json(text)?;
    for metric in envelope.report.metrics() {
        run.set_scalar(&metric.name, metric.value, Hint::known(metric.unit, metric.better.into()), source);
    }
    fill_host(&envelope.host, run);
    if run.info.git_commit.is_none() {
        run.info.git_commit = envelope.git.as_ref().map(|git| git.commit.clone());
    }
    run.info.started_at = run.info.started_at.or(Some(envelope.created_at));
    Ok(envelope)
}

fn fill_host(host: &HostInfo, run: &mut RunMetrics) {
    let info = &mut run.info;
    info.host = info.host.take().or_else(|| Some(host.hostname.clone()).filter(|h| !h.is_empty()));
    info.cpu_model = info.cpu_model.take().or_else(|| Some(host.cpu_model.clone()).filter(|c| !c.is_empty()));
    if info.gpus.is_empty() {
        info.gpus = host.gpus.iter().map(|gpu| gpu.name.clone()).collect();
    }
}

fn throughput_finding(report: &ThroughputReport) -> Recommendation {
    use metrics_schema::Bottleneck;
    let (severity, suggestion) = match report.bottleneck {
        Bottleneck::InputBound => (
            Severity::Critical,
            "the accelerator waits for data: add DataLoader workers, cache DBNet targets (ocrperf targets), or move \
             augmentation off the training process",
        ),
        Bottleneck::Balanced => (Severity::Warning, "data wait is noticeable; more workers or prefetch would hide it"),
        _ => (Severity::Info, "the input pipeline keeps up; speed comes from the model step"),
    };
    let title = if report.bottleneck == Bottleneck::Unmeasured {
        "throughput: data wait not measured (Lightning metrics.csv alone)".to_owned()
    } else {
        format!(
            "throughput: {} (data wait {:.1}% of batch time, {:.1} samples/s)",
            report.bottleneck.as_str(),
            100.0 * report.data_wait_fraction,
            report.samples_per_s
        )
    };
    Recommendation {
        id: format!("throughput-{}", report.bottleneck.as_str()),
        severity,
        title,
        evidence: BTreeMap::from([
            ("data_wait_fraction".to_owned(), report.data_wait_fraction),
            ("samples_per_s".to_owned(), report.samples_per_s),
            ("batch_time_ms_p50".to_owned(), report.batch_time_ms.p50),
        ]),
        suggestion: suggestion.to_owned(),
    }
}

fn add_trace(report: &TraceAnalysisReport, source: &str, run: &mut RunMetrics) {
    for recommendation in &report.recommendations {
        let mut finding = recommendation.clone();
        finding.title = format!("trace: {}", finding.title);
        run.findings.push(finding);
    }
    for straggler in &report.stragglers {
        run.findings.push(Recommendation {
            id: "straggler".to_owned(),
            severity: Severity::Warning,
            title: format!("trace: rank {} is a straggler: {}", straggler.rank, straggler.reason),
            evidence: BTreeMap::from([("excess_ms_per_step".to_owned(), straggler.excess_ms_per_step)]),
            suggestion: "look at that rank's data loading and host work".to_owned(),
        });
    }
    // Per-step figures are a series: the gate tests them like a tracker's step times.
    let ms = Hint::known(Unit::Milliseconds, Direction::Lower);
    for step in &report.breakdown.per_step {
        let at = |value| Point { step: step.step as i64, wall_time: f64::NAN, value };
        run.push("trace.step_ms", at(step.duration_ms), ms, source);
        run.push("trace.step_data_wait_ms", at(step.data_wait_ms), ms, source);
    }
}

/// Fired alerts (once per rule and metric) become findings.
fn add_alerts(alerts: impl Iterator<Item = (String, Severity, String, String, f64, AlertState)>, run: &mut RunMetrics) {
    let mut seen = std::collections::BTreeSet::new();
    for (rule, severity, message, metric, value, state) in alerts {
        if state != AlertState::Firing || !seen.insert((rule.clone(), metric.clone())) {
            continue;
        }
        run.findings.push(Recommendation {
            id: format!("alert-{rule}"),
            severity,
            title: format!("monitor alert `{rule}` on {metric}: {message}"),
            evidence: BTreeMap::from([("value".to_owned(), value)]),
            suggestion: "see the monitor report's alert periods".to_owned(),
        });
    }
}

/// Monitor metrics have no performance direction except GPU utilisation (a busier accelerator
/// is better); the rest describe the machine.
fn monitor_hint(name: &str) -> Hint {
    let unit = if name.ends_with("_percent") {
        Unit::Percent
    } else if name.ends_with("_bytes_per_s") {
        Unit::PerSecond
    } else if name.ends_with("_bytes") {
        Unit::Bytes
    } else if name.ends_with("_c") {
        Unit::Celsius
    } else if name.ends_with("_w") {
        Unit::Watts
    } else {
        Unit::Number
    };
    let gpu_busy = name.starts_with("gpu.") && name.ends_with(".utilization_percent");
    Hint::known(unit, if gpu_busy { Direction::Higher } else { Direction::Info })
}

fn read_monitor_samples(path: &Path, options: &ReadOptions<'_>, run: &mut RunMetrics) -> Result<(), Error> {
    let mut lines = Lines::new(super::open_text(path, options)?, path);
    let source = path.display().to_string();
    let mut alerts = Vec::new();
    let mut header_seen = false;
    let result = (|| {
        while let Some(line) = lines.next_line()? {
            if line.text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let sample = match MonitorLine::parse(line.text, !header_seen) {
                Ok(MonitorLine::Header(header)) => {
                    fill_host(&header.host, run);
                    run.info.started_at =
                        metrics_schema::Timestamp::from_unix_seconds(header.started_ms as f64 / 1000.0);
                    header_seen = true;
                    continue;
                }
                Ok(MonitorLine::Alert(alert)) => {
                    alerts.push(alert);
                    continue;
                }
                Ok(MonitorLine::Sample(sample)) => sample,
                // The monitor writes whole lines; an unfinished last one was cut off by a kill.
                Err(_) if !line.complete && header_seen => break,
                Err(message) => return Err(Error::damaged(path, line.place, message)),
            };
            let wall_time = sample.t_ms as f64 / 1000.0;
            for (name, value) in sample.metrics() {
                if value.is_finite() {
                    run.push(&name, Point { step: sample.i as i64, wall_time, value }, monitor_hint(&name), &source);
                }
            }
        }
        Ok(())
    })();
    add_alerts(alerts.into_iter().map(|a| (a.rule, a.severity, a.message, a.metric, a.value, a.state)), run);
    result
}

/// The batch-event fields as series, with their units and directions.
const BATCH_SERIES: &[(&str, Unit, Direction)] = &[
    ("batch.data_wait_s", Unit::Seconds, Direction::Lower),
    ("batch.compute_s", Unit::Seconds, Direction::Lower),
    ("batch.time_s", Unit::Seconds, Direction::Lower),
    ("batch.samples_per_s", Unit::PerSecond, Direction::Higher),
    ("batch.batch_size", Unit::Count, Direction::Info),
    ("batch.gpu_mem_bytes", Unit::Bytes, Direction::Info),
];

fn read_batch_events(path: &Path, options: &ReadOptions<'_>, run: &mut RunMetrics) -> Result<(), Error> {
    let mut lines = Lines::new(super::open_text(path, options)?, path);
    let source = path.display().to_string();
    while let Some(line) = lines.next_line()? {
        if line.text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let event: BatchEvent = match serde_json::from_slice(line.text) {
            Ok(event) => event,
            Err(_) if !line.complete => break,
            Err(err) => return Err(Error::damaged(path, line.place, json_message(&err))),
        };
        let (wait, compute) = (event.data_wait_s, event.compute_s);
        if !(wait.is_finite() && compute.is_finite() && wait >= 0.0 && compute >= 0.0) {
            return Err(Error::damaged(
                path,
                line.place,
                format!("data_wait_s {wait} and compute_s {compute} must be finite and not negative"),
            ));
        }
        let time = wait + compute;
        let values = [
            Some(wait),
            Some(compute),
            Some(time),
            (time > 0.0).then(|| event.batch_size as f64 / time),
            Some(event.batch_size as f64),
            event.gpu_mem_bytes.map(|bytes| bytes as f64),
        ];
        let wall_time = event.t_start.unwrap_or(f64::NAN);
        for (&(name, unit, better), value) in BATCH_SERIES.iter().zip(values) {
            if let Some(value) = value {
                run.push(name, Point { step: event.step as i64, wall_time, value }, Hint::known(unit, better), &source);
            }
        }
    }
    Ok(())
}

/// serde_json's message without its own " at line L column C" (the caller names the line).
fn json_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn sniffs_each_kind() {
        let dir = tempfile::tempdir().unwrap();
        let events =
            write(dir.path(), "b.jsonl", "{\"step\":0,\"batch_size\":8,\"data_wait_s\":0.1,\"compute_s\":0.2}\n");
        assert_eq!(sniff(&events).unwrap(), Some(Format::BatchEvents));
        let samples = write(dir.path(), "s.jsonl", "{\"schema\":\"ocrperf.monitor-samples.v1\"}\n");
        assert_eq!(sniff(&samples).unwrap(), Some(Format::MonitorSamples));
        let report = write(dir.path(), "r.json", "{\n  \"schema\": \"ocrperf.throughput.v1\",\n");
        assert_eq!(sniff(&report).unwrap(), Some(Format::Report));
        let baseline = write(dir.path(), "baseline.json", "{\"schema\": \"ocrperf.baseline.v1\"}");
        assert_eq!(sniff(&baseline).unwrap(), None);
        let trace = write(dir.path(), "t.json", "{\"schemaVersion\": 1, \"traceEvents\": []}");
        assert_eq!(sniff(&trace).unwrap(), None);
    }

    #[test]
    fn batch_events_become_series_per_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "b.jsonl",
            "{\"step\":0,\"batch_size\":8,\"data_wait_s\":0.1,\"compute_s\":0.3,\"t_start\":5.0}\n\n\
             {\"step\":1,\"batch_size\":8,\"data_wait_s\":0.0,\"compute_s\":0.4,\"gpu_mem_bytes\":1024}\n\
             {\"step\":2,\"batch_si",
        );
        let mut run = RunMetrics::default();
        read(&path, Format::BatchEvents, &ReadOptions::default(), &mut run).unwrap();
        assert_eq!(run.series["batch.samples_per_s"].values(), [20.0, 20.0]);
        assert_eq!(run.series["batch.time_s"].values(), [0.4, 0.4]);
        assert_eq!(run.series["batch.gpu_mem_bytes"].values(), [1024.0]);
        assert_eq!(run.series["batch.data_wait_s"].points[0].wall_time, 5.0);
        let bad =
            write(dir.path(), "bad.jsonl", "{\"step\":0,\"batch_size\":8,\"data_wait_s\":-1,\"compute_s\":0.3}\n");
        let err = read(&bad, Format::BatchEvents, &ReadOptions::default(), &mut RunMetrics::default()).unwrap_err();
        assert!(
            err.to_string().ends_with("bad.jsonl:1: data_wait_s -1 and compute_s 0.3 must be finite and not negative"),
            "{err}"
        );
    }
}
