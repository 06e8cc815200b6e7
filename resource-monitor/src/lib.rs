//! The resource monitor: samples GPUs (NVML), the host (CPU, memory, swap, disks, network from
//! `/proc`) and a watched process tree at a fixed interval; raises alerts from rules with `for`
//! durations; writes the samples as JSONL or CSV, line by line; serves Prometheus gauges; and
//! draws an HTML report.
//!
//! A [`Monitor`] takes one sample per [`Monitor::tick`]; [`Monitor::run`] is the loop both
//! front ends run around it (the `ocrperf monitor` command and the Python `ResourceMonitor`
//! thread): the fixed-rate clock, the policy for a sample that cannot be written, and a
//! [`WrappedCommand`] with its signals. The front end only says how to wait and where
//! interrupts come from ([`Control`]). Without NVIDIA's library or a GPU it samples the host
//! only and says why ([`Monitor::gpu_note`]); a GPU that fails mid-run is marked lost and the
//! rest goes on.
//!
//! What it does not do: aggregate several machines (every node runs its own monitor and an
//! existing Prometheus scrapes them), read AMD or Intel GPUs, or sample faster than the
//! kernel's counters change.
//!
//! # Example
//!
//! ```
//! use resource_monitor::{AlertEngine, MonitorConfig, Monitor, default_rules};
//! use metrics_schema::HostInfo;
//! use std::time::Duration;
//!
//! let config = MonitorConfig {
//!     interval: Duration::from_millis(100),
//!     out: None,
//!     rules: default_rules(),
//!     prometheus: None,
//!     pid: Some(std::process::id()),
//!     watched: None,
//!     gpu: false,
//! };
//! let mut monitor = Monitor::start(config, HostInfo::detect(), 0)?;
//! std::thread::sleep(Duration::from_millis(100));
//! let tick = monitor.tick(100)?;
//! assert!(tick.sample.host.memory_total_bytes > 0);
//! assert!(tick.sample.process.unwrap().rss_bytes > 0);
//!
//! // Or the whole loop: sample until `wait` says stop (here: after three samples).
//! struct ThreeSamples(std::cell::Cell<u32>);
//! impl resource_monitor::Control for ThreeSamples {
//!     fn wait(&self, until: std::time::Instant) -> bool {
//!         std::thread::sleep(until.saturating_duration_since(std::time::Instant::now()));
//!         self.0.set(self.0.get() + 1);
//!         self.0.get() == 3
//!     }
//! }
//! let mut samples = 0;
//! monitor.run(None, None, &ThreeSamples(Default::default()), &mut |_, _| samples += 1)?;
//! assert_eq!(samples, 3);
//! # Ok::<(), resource_monitor::Error>(())
//! ```

mod alerts;
mod error;
mod gpu;
mod headline;
mod host;
mod monitor;
mod process;
mod procfs;
mod prometheus;
mod report;
mod run;
mod sink;
mod source;
mod summary;

pub use alerts::{
    AlertEngine, Comparison, Rule, RulesError, default_rules, load_rules, metric_matches, parse_rules, rule_warnings,
    rules_with_warnings,
};
pub use error::Error;
pub use headline::{HEADLINE_METRICS, metric_pattern_warnings, select_metrics};
pub use monitor::{Monitor, MonitorConfig, Tick};
pub use prometheus::{Exporter, listen_address, render as render_prometheus};
pub use report::{charts_svg, html_report};
pub use run::{
    Control, INTERVALS, MAX_DURATION, MAX_INTERVAL, MIN_INTERVAL, RunEnd, WrappedCommand, check_interval, unix_ms,
};
pub use sink::{SampleFile, SampleSink, SinkFormat, read_samples};
pub use source::Source;
pub use summary::Summary;
