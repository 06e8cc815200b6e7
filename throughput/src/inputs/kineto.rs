//! Steps and data wait from a Kineto trace's spans: each `ProfilerStep#N` is a batch; the
//! `enumerate(DataLoader)…` spans inside it are its data wait, the rest its compute.
//!
//! Only the spans' names, categories and times are read (no analysis of ops or kernels).

use std::{path::Path, time::Duration};

use serde::Deserialize;

use crate::{BatchTiming, Error, ThroughputMonitor};

#[derive(Debug, Deserialize)]
struct Trace {
    #[serde(rename = "traceEvents")]
    events: Vec<Span>,
}

#[derive(Debug, Deserialize)]
struct Span {
    #[serde(default)]
    ph: String,
    #[serde(default)]
    cat: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    ts: Option<f64>,
    #[serde(default)]
    dur: Option<f64>,
}

/// One step from a trace, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceStep {
    /// Step start.
    pub start_us: f64,
    /// Step length.
    pub duration_us: f64,
    /// DataLoader time inside the step.
    pub data_wait_us: f64,
}

/// The trace's steps, in time order.
pub fn read_steps(path: &Path) -> Result<Vec<TraceStep>, Error> {
    let bytes = super::read_all(path)?;
    let trace: Trace = serde_json::from_slice(&bytes).map_err(|err| Error::BadLine {
        path: path.to_owned(),
        line: err.line() as u64,
        message: format!("not a Kineto trace: {err}"),
    })?;
    let host = |span: &&Span| span.ph == "X" && span.cat != "gpu_user_annotation";
    let interval = |span: &Span| Some((span.ts?, span.ts? + span.dur.unwrap_or(0.0).max(0.0)));
    let mut steps: Vec<(f64, f64)> =
        trace.events.iter().filter(host).filter(|s| s.name.starts_with("ProfilerStep#")).filter_map(interval).collect();
    steps.sort_by(|a, b| a.0.total_cmp(&b.0));
    steps.dedup();
    let mut loading: Vec<(f64, f64)> = trace
        .events
        .iter()
        .filter(host)
        .filter(|s| s.name.starts_with("enumerate(DataLoader)"))
        .filter_map(interval)
        .collect();
    loading.sort_by(|a, b| a.0.total_cmp(&b.0));
    if steps.is_empty() {
        return Err(Error::Unusable { path: path.to_owned(), message: "no ProfilerStep#N spans".to_owned() });
    }
    Ok(steps
        .iter()
        .map(|&(start, end)| {
            // Union of the loader spans clipped to the step.
            let (mut covered, mut reach) = (0.0, start);
            for &(s, e) in loading.iter().filter(|(s, e)| *e > start && *s < end) {
                let (s, e) = (s.max(reach), e.min(end));
                if e > s {
                    covered += e - s;
                    reach = e;
                }
            }
            TraceStep { start_us: start, duration_us: end - start, data_wait_us: covered }
        })
        .collect())
}

/// Feeds each step as a batch of `batch_size` samples; returns how many.
pub fn read_trace(path: &Path, batch_size: u64, monitor: &mut ThroughputMonitor) -> Result<usize, Error> {
    let steps = read_steps(path)?;
    for step in &steps {
        let wait = step.data_wait_us.min(step.duration_us);
        monitor.record(BatchTiming {
            data_wait: Duration::from_secs_f64(wait / 1e6),
            compute: Duration::from_secs_f64((step.duration_us - wait) / 1e6),
            samples: batch_size,
            ..BatchTiming::default()
        });
    }
    Ok(steps.len())
}
