//! The batch timeline of an instrumented run as a Chrome trace (Perfetto and
//! `chrome://tracing` open it): one track per loader worker with the batches it made, and the
//! training loop's track with each data wait and step.

use std::{
    io::{self, Write},
    time::{Duration, Instant},
};

use serde::Serialize;

use crate::Batch;

/// A complete (`"ph": "X"`) or metadata (`"ph": "M"`) event.
#[derive(Debug, Serialize)]
struct Event {
    ph: &'static str,
    name: String,
    pid: u32,
    tid: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    ts: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dur: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    args: Option<ThreadName>,
}

#[derive(Debug, Serialize)]
struct ThreadName {
    name: String,
}

/// The events of one run, in microseconds since `origin`.
#[derive(Debug)]
pub struct ChromeTimeline {
    origin: Instant,
    events: Vec<Event>,
}

impl ChromeTimeline {
    /// An empty timeline whose time 0 is `origin`.
    pub fn new(origin: Instant) -> Self {
        ChromeTimeline { origin, events: Vec::new() }
    }

    fn us(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.origin).as_secs_f64() * 1e6
    }

    fn span(&mut self, name: String, tid: usize, start_us: f64, dur_us: f64) {
        self.events.push(Event { ph: "X", name, pid: 1, tid, ts: Some(start_us), dur: Some(dur_us), args: None });
    }

    /// Adds a batch: the worker's span that made it, the loop's wait for it (ending at
    /// `arrived`) and its step (`compute` from `arrived`).
    pub fn add<T>(&mut self, batch: &Batch<T>, arrived: Instant, compute: Duration) {
        let (made_start, made_end) = batch.made;
        let (made_start, made_end) = (self.us(made_start), self.us(made_end));
        self.span(format!("batch {}", batch.index), batch.worker + 1, made_start, made_end - made_start);
        let wait_us = batch.wait.as_secs_f64() * 1e6;
        let arrived = self.us(arrived);
        self.span("data wait".to_owned(), 0, arrived - wait_us, wait_us);
        self.span(format!("step {}", batch.index), 0, arrived, compute.as_secs_f64() * 1e6);
    }

    /// Writes the trace: the track names (`workers` loader workers; 0 means the loop made
    /// the batches itself), then the events.
    ///
    /// # Errors
    /// The writer's I/O error.
    pub fn write(&self, workers: usize, out: &mut dyn Write) -> io::Result<()> {
        let track = |tid: usize, name: String| Event {
            ph: "M",
            name: "thread_name".to_owned(),
            pid: 1,
            tid,
            ts: None,
            dur: None,
            args: Some(ThreadName { name }),
        };
        let mut names = vec![track(0, "training loop".to_owned())];
        if workers == 0 {
            names.push(track(1, "main thread (no workers)".to_owned()));
        }
        names.extend((0..workers).map(|worker| track(worker + 1, format!("loader worker {worker}"))));
        out.write_all(b"{\"traceEvents\":[\n")?;
        for (index, event) in names.iter().chain(&self.events).enumerate() {
            if index > 0 {
                out.write_all(b",\n")?;
            }
            serde_json::to_writer(&mut *out, event)?;
        }
        out.write_all(b"\n],\"displayTimeUnit\":\"ms\"}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_valid_json_with_tracks_and_spans() {
        let origin = Instant::now();
        let mut timeline = ChromeTimeline::new(origin);
        let made = (origin, origin + Duration::from_millis(3));
        let batch =
            Batch { index: 0, worker: 1, items: vec!["a \"quoted\" item"], wait: Duration::from_millis(2), made };
        timeline.add(&batch, origin + Duration::from_millis(5), Duration::from_millis(20));
        let mut bytes = Vec::new();
        timeline.write(2, &mut bytes).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let events = value["traceEvents"].as_array().unwrap();
        let names: Vec<&str> = events.iter().map(|e| e["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["thread_name", "thread_name", "thread_name", "batch 0", "data wait", "step 0"]);
        assert_eq!(events[3]["tid"], 2);
        assert_eq!(events[4]["ts"], 3000.0);
        assert_eq!(events[5]["dur"], 20000.0);
    }
}
