//! Samples GPUs (NVML), the host (CPU, memory, swap, disks, network from `/proc`) and a watched
//! process tree at a fixed interval; raises alerts from rules with `for` durations; writes the
//! samples as JSONL or CSV, line by line; serves Prometheus gauges; and draws an HTML report.
//!
//! A [`Monitor`] is advanced one [`Monitor::tick`] at a time by its caller, which owns the
//! clock, signals and any wrapped command (`ocrperf monitor` in `cli`). Without NVIDIA's
//! library or a GPU it samples the host only and says why ([`Monitor::gpu_note`]); a GPU that
//! fails mid-run is marked lost and the rest goes on.
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
//! # Ok::<(), resource_monitor::Error>(())
//! ```

mod alerts;
mod error;
mod gpu;
mod host;
mod monitor;
mod process;
mod procfs;
mod prometheus;
mod report;
mod sink;
mod source;
mod summary;

pub use alerts::{AlertEngine, Comparison, Rule, RulesError, default_rules, load_rules, parse_rules, rule_warnings};
pub use error::Error;
pub use monitor::{Monitor, MonitorConfig, Tick};
pub use prometheus::{Exporter, render as render_prometheus};
pub use report::{charts_svg, html_report};
pub use sink::{SampleFile, SampleSink, SinkFormat, read_samples};
pub use source::Source;
pub use summary::Summary;
