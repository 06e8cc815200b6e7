//! Steps of a Kineto trace as batches: each `ProfilerStep#N` is a batch, the
//! `enumerate(DataLoader)…` time inside it is its data wait, the rest its compute.
//!
//! Reading the trace is not done here: the one streaming trace reader is `profiler-analyze`'s
//! (`profiler_analyze::step_timings` gives exactly these spans), and feature crates do not
//! depend on each other. The `ocrperf` crate joins the two.

use std::time::Duration;

use crate::{BatchTiming, ThroughputRecorder};

/// One step of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceStep {
    /// Step length.
    pub duration: Duration,
    /// DataLoader time inside the step (at most `duration`).
    pub data_wait: Duration,
}

/// Feeds each step as a batch of `batch_size` samples; returns how many.
pub fn record_steps(steps: &[TraceStep], batch_size: u64, recorder: &mut ThroughputRecorder) -> usize {
    for step in steps {
        let wait = step.data_wait.min(step.duration);
        recorder.record(BatchTiming {
            data_wait: wait,
            compute: step.duration - wait,
            samples: batch_size,
            ..BatchTiming::default()
        });
    }
    steps.len()
}
