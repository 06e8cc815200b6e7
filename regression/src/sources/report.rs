//! ocrperf's own files: reports (read through their envelope and flattened with
//! [`ToMetrics`](metrics_schema::ToMetrics)), `ocrperf monitor` sample files, and batch-event JSONL.

use std::{collections::BTreeMap, io::Read, path::Path};

use metrics_schema::{
    AlertState, Direction, Envelope, HostInfo, MONITOR_SAMPLES_SCHEMA, MetricsReport, MonitorLine,
    MonitorSummaryReport, PhaseReport, Recommendation, Report, ReportKind, Severity, TargetsBenchReport,
    TargetsDigestReport, ThroughputReport, TraceAnalysisReport, TraceDiffReport, Unit, peek_schema,
};

use super::{Format, ReadOptions, lines::Lines};
use crate::{Error, Hint, Place, Point, RunMetrics, SourceFile};

/// Reports are small; a larger `.json` is another kind of file (a profiler trace).
const MAX_REPORT: u64 = 64 << 20;

/// What an ocrperf `.json`/`.jsonl` file holds, from its first bytes (or, for a JSON object
/// whose `schema` is not among them, its top-level keys); `None` for other JSON (profiler
/// traces, W&B's own files) and for baselines and gate verdicts, which are compared, not read
/// as a run's metrics.
///
/// # Errors
/// [`Error::Io`] when it cannot be opened.
pub fn sniff(path: &Path) -> Result<Option<Format>, Error> {
    let (head, whole) = read_head(path)?;
    let first_line = head.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or_default();
    if first_line.contains(MONITOR_SAMPLES_SCHEMA) {
        return Ok(Some(Format::MonitorSamples));
    }
    if metrics_schema::batch_events::is_batch_events_line(first_line) {
        return Ok(Some(Format::BatchEvents));
    }
    Ok(match schema_of(path, &head, whole) {
        Some(id) if matches!(id.kind, ReportKind::Baseline | ReportKind::Regress) => None,
        Some(_) => Some(Format::Report),
        None => None,
    })
}

/// How much of a file [`sniff`] looks at first.
const HEAD: u64 = 4096;

/// The first 4 KiB of a (possibly gzipped) file, as text (the opener consumed a BOM), and
/// whether that is the whole file.
fn read_head(path: &Path) -> Result<(String, bool), Error> {
    let mut head = Vec::new();
    super::open_text(path, &ReadOptions::default())?
        .take(HEAD)
        .read_to_end(&mut head)
        .map_err(|cause| Error::io(path, cause))?;
    let whole = (head.len() as u64) < HEAD;
    Ok((String::from_utf8_lossy(&head).into_owned(), whole))
}

/// The schema id an envelope's text starts with (`schema` is its first field), if any.
fn schema_in(head: &str) -> Option<metrics_schema::SchemaId> {
    head.split("\"schema\"").nth(1).and_then(|rest| rest.split('"').nth(1)).and_then(|id| id.parse().ok())
}

/// The schema id of a file whose first bytes are `head`: found there when ocrperf wrote it
/// (`schema` first), else, for a JSON object, by walking its top-level keys (`jq -S` sorts
/// `schema` after `host` and the payload). A profiler trace is not walked.
fn schema_of(path: &Path, head: &str, whole: bool) -> Option<metrics_schema::SchemaId> {
    if let Some(id) = schema_in(head) {
        return Some(id);
    }
    if whole || !head.trim_start().starts_with('{') || head.contains("\"traceEvents\"") {
        return None;
    }
    let reader = super::open_text(path, &ReadOptions::default()).ok()?;
    top_level_schema(reader.take(MAX_REPORT)).and_then(|id| id.parse().ok())
}

/// The `schema` string among the top-level keys of the JSON object `reader` holds, reading no
/// further than that key; every other value is skipped without being kept.
fn top_level_schema(reader: impl Read) -> Option<String> {
    use serde::de::{self, Deserializer as _, IgnoredAny, MapAccess, Visitor};
    struct Keys<'a>(&'a mut Option<String>);
    impl<'de> Visitor<'de> for Keys<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "schema" {
                    *self.0 = map.next_value::<Option<String>>()?;
                    // Found: stop here rather than read the rest of the file.
                    return Err(de::Error::custom("found"));
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }
    let mut found = None;
    let _ = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader)).deserialize_map(Keys(&mut found));
    found
}

/// The schema id of an ocrperf report file (gzip and a BOM recognised, `schema` anywhere among
/// the top-level keys); `None` for other files.
pub(crate) fn file_schema(path: &Path) -> Option<metrics_schema::SchemaId> {
    let (head, whole) = read_head(path).ok()?;
    schema_of(path, &head, whole)
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
        _ => read_report(path, options, run),
    }
}

fn read_report(path: &Path, options: &ReadOptions<'_>, run: &mut RunMetrics) -> Result<(), Error> {
    let text = super::read_text(path, MAX_REPORT, options)?;
    let report_error = |cause| Error::Report { path: path.to_owned(), cause };
    let kind = peek_schema(&text).map_err(report_error)?.kind;
    match kind {
        ReportKind::Throughput => {
            let envelope = flatten::<ThroughputReport>(&text, path, run)?;
            run.findings.push(throughput_finding(&envelope.report));
        }
        ReportKind::TraceAnalysis => {
            let envelope = flatten::<TraceAnalysisReport>(&text, path, run)?;
            add_trace(&envelope.report, path, run)?;
        }
        ReportKind::MonitorSummary => {
            let envelope = flatten::<MonitorSummaryReport>(&text, path, run)?;
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
        ReportKind::TraceDiff => drop(flatten::<TraceDiffReport>(&text, path, run)?),
        ReportKind::TargetsBench => drop(flatten::<TargetsBenchReport>(&text, path, run)?),
        ReportKind::TargetsDigest => drop(flatten::<TargetsDigestReport>(&text, path, run)?),
        ReportKind::Phase => drop(flatten::<PhaseReport>(&text, path, run)?),
        ReportKind::Metrics => drop(flatten::<MetricsReport>(&text, path, run)?),
        ReportKind::HostInfo => drop(flatten::<metrics_schema::HostInfoReport>(&text, path, run)?),
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

/// Parses an envelope, adds its flattened metrics as scalars and its host as the run's. A
/// metric name the report has twice, and a negative duration, are errors.
fn flatten<T: Report>(text: &str, path: &Path, run: &mut RunMetrics) -> Result<Envelope<T>, Error> {
    let envelope = Envelope::<T>::from_json(text).map_err(|cause| Error::Report { path: path.to_owned(), cause })?;
    let source = path.display().to_string();
    let mut seen = std::collections::BTreeSet::new();
    for metric in envelope.report.metrics() {
        if !seen.insert(metric.name.clone()) {
            return Err(Error::DuplicateMetric {
                name: metric.name,
                first: source.clone(),
                second: "the same report again".to_owned(),
            });
        }
        let hint = Hint::known(metric.unit, metric.better.into());
        if metric.value < 0.0 && super::is_duration(&metric.name, hint) {
            return Err(Error::damaged(path, Place::File, super::negative_duration(&metric.name, metric.value)));
        }
        run.set_scalar(&metric.name, metric.value, hint, &source);
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

fn add_trace(report: &TraceAnalysisReport, path: &Path, run: &mut RunMetrics) -> Result<(), Error> {
    let source = &path.display().to_string();
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
        for (name, value) in [("trace.step_ms", step.duration_ms), ("trace.step_data_wait_ms", step.data_wait_ms)] {
            if value < 0.0 {
                let message = format!("step {}: {}", step.step, super::negative_duration(name, value));
                return Err(Error::damaged(path, Place::File, message));
            }
            run.push(name, at(value), ms, source);
        }
    }
    Ok(())
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

/// Batch events through the one reader of the format
/// ([`metrics_schema::batch_events::BatchEventReader`]), which checks each event as `ocrperf
/// throughput` does.
fn read_batch_events(path: &Path, options: &ReadOptions<'_>, run: &mut RunMetrics) -> Result<(), Error> {
    use metrics_schema::batch_events::{BatchEventError, BatchEventReader};
    let mut events = BatchEventReader::new(super::open_text(path, options)?);
    let source = path.display().to_string();
    loop {
        let at = match events.next_event() {
            Ok(Some(at)) => at,
            Ok(None) => return Ok(()),
            Err(BatchEventError::Read(err)) => return Err(super::lines::line_error(path, err)),
            Err(
                BatchEventError::BadLine { line, offset, message }
                | BatchEventError::WrongSchema { line, offset, message },
            ) => return Err(Error::damaged(path, Place::Line { line, offset }, message)),
            Err(other) => return Err(Error::damaged(path, Place::File, other.to_string())),
        };
        let event = at.event;
        let (wait, compute) = (event.data_wait_s, event.compute_s);
        let time = wait + compute;
        let values = [
            Some(wait),
            Some(compute),
            Some(time),
            Some(event.batch_size as f64 / time),
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
            err.to_string().ends_with("bad.jsonl:1: `data_wait_s` must be a non-negative number of seconds, got -1"),
            "{err}"
        );
        for (line, message) in [
            (r#"{"step":0,"batch_size":0,"data_wait_s":0.1,"compute_s":0.3}"#, "`batch_size` is 0"),
            (r#"{"step":0,"batch_size":8,"data_wait_s":3601,"compute_s":0.3}"#, "`data_wait_s` is 3601 s, beyond"),
            (r#"{"step":0,"batch_size":8,"data_wait_s":0,"compute_s":0}"#, "`data_wait_s` + `compute_s` is 0 s"),
        ] {
            let bad = write(dir.path(), "bad.jsonl", &format!("{line}\n"));
            let err = read(&bad, Format::BatchEvents, &ReadOptions::default(), &mut RunMetrics::default()).unwrap_err();
            assert!(err.to_string().contains(&format!("bad.jsonl:1: {message}")), "{err}");
        }
    }

    #[test]
    fn batch_events_with_a_header_are_sniffed_and_read_and_a_newer_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let line = "{\"step\":0,\"batch_size\":8,\"data_wait_s\":0.1,\"compute_s\":0.3}\n";
        let header = format!(
            "{{\"schema\":\"{}\",\"tool_version\":\"0.1.0\"}}\n",
            metrics_schema::batch_events::BATCH_EVENTS_SCHEMA
        );
        let path = write(dir.path(), "b.jsonl", &format!("{header}{line}"));
        assert_eq!(sniff(&path).unwrap(), Some(Format::BatchEvents));
        let mut run = RunMetrics::default();
        read(&path, Format::BatchEvents, &ReadOptions::default(), &mut run).unwrap();
        assert_eq!(run.series["batch.batch_size"].values(), [8.0]);
        let newer = write(dir.path(), "n.jsonl", &format!("{}{line}", header.replace(".v1", ".v2")));
        assert_eq!(sniff(&newer).unwrap(), Some(Format::BatchEvents));
        let err = read(&newer, Format::BatchEvents, &ReadOptions::default(), &mut RunMetrics::default()).unwrap_err();
        assert!(err.to_string().ends_with("n.jsonl:1: schema `ocrperf.batch-events.v2` is newer than this ocrperf reads (`ocrperf.batch-events.v1`); update ocrperf"), "{err}");
    }

    #[test]
    fn a_schema_after_the_first_4_kib_is_found() {
        let dir = tempfile::tempdir().unwrap();
        // `jq -S` sorts keys: a large `host` comes before `schema`.
        let padding = "x".repeat(5000);
        let sorted = write(
            dir.path(),
            "sorted.json",
            &format!(
                "\u{feff}{{\"a\": [1, {{\"b\": \"{padding}\"}}], \"schema\": \"ocrperf.throughput.v1\", \"z\": 1}}"
            ),
        );
        assert_eq!(sniff(&sorted).unwrap(), Some(Format::Report));
        assert_eq!(file_schema(&sorted).map(|id| id.to_string()).as_deref(), Some("ocrperf.throughput.v1"));
        let baseline =
            write(dir.path(), "b.json", &format!("{{\"a\": \"{padding}\", \"schema\": \"ocrperf.baseline.v1\"}}"));
        assert_eq!(file_schema(&baseline).map(|id| id.kind), Some(ReportKind::Baseline));
        let other = write(dir.path(), "o.json", &format!("{{\"a\": \"{padding}\"}}"));
        assert_eq!(sniff(&other).unwrap(), None);
    }

    #[test]
    fn negative_durations_and_repeated_names_in_reports_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = |list: &str| {
            format!(
                "{{\"schema\": \"ocrperf.metrics.v1\", \"tool_version\": \"0\", \"created_at\": \"2026-01-01T00:00:00Z\", \
                 \"host\": {{\"hostname\": \"h\", \"os\": \"l\", \"arch\": \"x\", \"cpu_model\": \"c\", \
                 \"logical_cores\": 1, \"total_memory_bytes\": 1, \"gpus\": []}}, \"metrics\": [{list}]}}"
            )
        };
        let metric = |name: &str, value: f64, unit: &str| {
            format!("{{\"name\": \"{name}\", \"value\": {value}, \"unit\": \"{unit}\", \"better\": \"lower\"}}")
        };
        let read_one = |text: String| {
            let path = write(dir.path(), "m.json", &text);
            read(&path, Format::Report, &ReadOptions::default(), &mut RunMetrics::default()).map_err(|e| e.to_string())
        };
        read_one(metrics(&metric("step_ms", 5.0, "milliseconds"))).unwrap();
        let err = read_one(metrics(&metric("step_ms", -5.0, "milliseconds"))).unwrap_err();
        assert!(
            err.ends_with("m.json: `step_ms` is -5, a negative duration; step times and durations cannot be below 0"),
            "{err}"
        );
        read_one(metrics(&metric("delta_ms", -5.0, "milliseconds"))).unwrap();
        let twice = format!("{},{}", metric("step_ms", 5.0, "milliseconds"), metric("step_ms", 6.0, "milliseconds"));
        let err = read_one(metrics(&twice)).unwrap_err();
        assert!(
            err.starts_with("metric `step_ms` comes from both ") && err.contains("m.json and the same report again"),
            "{err}"
        );
    }
}
