//! `ocrperf monitor`: the sample stream (JSONL or CSV) and the end-of-run summary.
//!
//! A JSONL sample file is line oriented, so a killed monitor loses at most its last line:
//!
//! 1. a header, [`MonitorHeader`] (`"schema": "ocrperf.monitor-samples.v1"`);
//! 2. one [`MonitorSample`] per interval (`t_ms`, `i`, `host`, `gpus`, `process`);
//! 3. interleaved, `{"alert": {...}}` lines ([`AlertLine`]) when an alert fires or resolves.
//!
//! Every sample also flattens into named metrics ([`MonitorSample::metrics`]:
//! `host.cpu_percent`, `gpu.0.utilization_percent`, `disk.sda.busy_percent`, ...), the names
//! that alert rules, the CSV header, Prometheus gauges and the summary use.

use serde::{Deserialize, Serialize};

use crate::{Better, HostInfo, MetricsBuilder, Report, ReportKind, Severity, ToMetrics, Unit};

/// The `schema` of a sample file's first line.
pub const MONITOR_SAMPLES_SCHEMA: &str = "ocrperf.monitor-samples.v1";

/// The first line of a JSONL sample file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorHeader {
    /// Always [`MONITOR_SAMPLES_SCHEMA`].
    pub schema: String,
    /// The ocrperf version that wrote it.
    pub tool_version: String,
    /// Unix time of the first sample, in milliseconds.
    pub started_ms: u64,
    /// Sampling interval.
    pub interval_ms: u64,
    /// The machine.
    pub host: HostInfo,
    /// The watched command or pid, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watched: Option<String>,
}

/// One interval's readings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorSample {
    /// Unix time in milliseconds.
    pub t_ms: u64,
    /// Interval index, from 0.
    pub i: u64,
    /// The host.
    pub host: HostSample,
    /// One entry per GPU (empty without NVML).
    #[serde(default)]
    pub gpus: Vec<GpuSample>,
    /// The watched process tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessSample>,
}

/// Host readings over the last interval (rates and percentages) or at its end (sizes).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HostSample {
    /// All cores, busy share in percent (100 = every core busy).
    pub cpu_percent: f64,
    /// Each core, busy share in percent.
    pub cores_percent: Vec<f64>,
    /// 1, 5 and 15 minute load averages.
    pub load: [f64; 3],
    /// `MemTotal − MemAvailable`.
    pub memory_used_bytes: u64,
    /// `MemAvailable`.
    pub memory_available_bytes: u64,
    /// `MemTotal`.
    pub memory_total_bytes: u64,
    /// `SwapTotal − SwapFree`.
    pub swap_used_bytes: u64,
    /// `SwapTotal`.
    pub swap_total_bytes: u64,
    /// Change of `swap_used_bytes` per second over the interval (positive: swapping out).
    pub swap_growth_bytes_per_s: f64,
    /// Whole disks (no partitions, loop or RAM devices).
    pub disks: Vec<DiskSample>,
    /// Network interfaces other than loopback.
    pub net: Vec<NetSample>,
}

/// One disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskSample {
    /// Kernel name (`sda`, `nvme0n1`).
    pub name: String,
    /// Bytes read per second.
    pub read_bytes_per_s: f64,
    /// Bytes written per second.
    pub write_bytes_per_s: f64,
    /// Share of the interval with I/O in flight, in percent (`/proc/diskstats` field 10).
    pub busy_percent: f64,
}

/// One network interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetSample {
    /// Interface name.
    pub name: String,
    /// Bytes received per second.
    pub rx_bytes_per_s: f64,
    /// Bytes sent per second.
    pub tx_bytes_per_s: f64,
}

/// One GPU, from NVML.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GpuSample {
    /// NVML index.
    pub index: u32,
    /// True once NVML failed for this device: the other fields are then absent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lost: bool,
    /// Kernel activity, percent of the sample period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilization_percent: Option<f64>,
    /// Memory controller activity, percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_utilization_percent: Option<f64>,
    /// Memory in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_used_bytes: Option<u64>,
    /// Memory on the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_total_bytes: Option<u64>,
    /// Core temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f64>,
    /// Power draw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_w: Option<f64>,
    /// Enforced power limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_limit_w: Option<f64>,
    /// SM clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sm_clock_mhz: Option<f64>,
    /// Memory clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_clock_mhz: Option<f64>,
    /// Active clock throttle reasons (`gpu_idle`, `sw_thermal_slowdown`, `sw_power_cap`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttle_reasons: Vec<String>,
    /// PCIe receive throughput (sampled off the sampling thread; may lag an interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcie_rx_bytes_per_s: Option<f64>,
    /// PCIe transmit throughput.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcie_tx_bytes_per_s: Option<f64>,
    /// Compute processes and their GPU memory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<GpuProcess>,
}

/// A compute process on a GPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuProcess {
    /// Process id.
    pub pid: u32,
    /// GPU memory it holds, when the driver says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
}

/// The watched process and its descendants, summed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessSample {
    /// The root pid.
    pub pid: u32,
    /// False once the root has exited.
    pub alive: bool,
    /// CPU over the interval, percent of one core (can exceed 100).
    pub cpu_percent: f64,
    /// Resident memory of the whole tree.
    pub rss_bytes: u64,
    /// Threads of the whole tree.
    pub threads: u64,
    /// Storage bytes read per second (`/proc/<pid>/io` `read_bytes`).
    pub read_bytes_per_s: f64,
    /// Storage bytes written per second.
    pub write_bytes_per_s: f64,
    /// Descendant processes (data-loader workers, ...).
    pub children: u64,
}

/// One line of a JSONL sample file, parsed: what every reader of sample files shares.
#[derive(Debug, Clone, PartialEq)]
pub enum MonitorLine {
    /// The first line.
    Header(Box<MonitorHeader>),
    /// One interval's readings.
    Sample(Box<MonitorSample>),
    /// An alert firing or resolving.
    Alert(AlertEvent),
}

impl MonitorLine {
    /// Parses one line of a sample file; `first` says it is the file's first line, which must be
    /// a header of this schema. The error is one line without a position (the caller names the
    /// file and line).
    ///
    /// # Errors
    /// The reason the line is not what it should be.
    pub fn parse(line: &[u8], first: bool) -> Result<MonitorLine, String> {
        let message = |err: serde_json::Error| match crate::Error::json(&err) {
            crate::Error::Json { message, .. } => message,
            other => other.to_string(),
        };
        if first {
            let header: MonitorHeader =
                serde_json::from_slice(line).map_err(|err| format!("not a sample-file header: {}", message(err)))?;
            if header.schema != MONITOR_SAMPLES_SCHEMA {
                return Err(format!("schema `{}`, expected `{MONITOR_SAMPLES_SCHEMA}`", header.schema));
            }
            return Ok(MonitorLine::Header(Box::new(header)));
        }
        if line.starts_with(b"{\"alert\"") {
            let alert: AlertLine = serde_json::from_slice(line).map_err(message)?;
            return Ok(MonitorLine::Alert(alert.alert));
        }
        serde_json::from_slice(line).map(|sample| MonitorLine::Sample(Box::new(sample))).map_err(|err| {
            // `cat a.jsonl b.jsonl` puts b's header among the samples, where it reads as a
            // sample with fields missing: say what it is instead.
            if serde_json::from_slice::<MonitorHeader>(line).is_ok() {
                "a second header: two sample files concatenated? (a sample file has one header, on line 1; \
                 give each file on its own)"
                    .to_owned()
            } else {
                message(err)
            }
        })
    }
}

/// An `{"alert": {...}}` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertLine {
    /// The event.
    pub alert: AlertEvent,
}

/// An alert firing or resolving.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// Unix time in milliseconds.
    pub t_ms: u64,
    /// Interval index.
    pub i: u64,
    /// Rule name.
    pub rule: String,
    /// The metric that triggered it (a wildcard rule names the matching one).
    pub metric: String,
    /// `firing` or `resolved`.
    pub state: AlertState,
    /// `info`, `warning` or `critical`.
    pub severity: Severity,
    /// The rule's message.
    pub message: String,
    /// The metric's value at this moment.
    pub value: f64,
}

/// Whether an alert started or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AlertState {
    /// The condition has held for the rule's `for`.
    Firing,
    /// The condition has been false for the rule's `for`.
    Resolved,
}

/// `ocrperf monitor` at the end of a run: statistics per metric and the alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorSummaryReport {
    /// Samples taken.
    pub samples: u64,
    /// Wall time covered.
    pub seconds: f64,
    /// Sampling interval.
    pub interval_ms: u64,
    /// The sample file, if one was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples_file: Option<String>,
    /// GPUs sampled (0 without NVML).
    pub gpus: u32,
    /// Why GPU sampling is off, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_note: Option<String>,
    /// Per metric: mean, p95 and max.
    pub metrics: Vec<MetricSummary>,
    /// Alert events in order.
    pub alerts: Vec<AlertEvent>,
    /// The watched command's exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_exit_code: Option<i32>,
    /// What the monitor itself cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overhead: Option<MonitorOverhead>,
}

/// The monitor's own cost over the run, from `/proc/self`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorOverhead {
    /// User plus system CPU time of the monitor process (all its threads).
    pub cpu_seconds: f64,
    /// That, as a percentage of one core over the run's wall time.
    pub cpu_percent_of_one_core: f64,
    /// Peak resident memory (`VmHWM`).
    pub peak_rss_bytes: u64,
}

/// One metric over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSummary {
    /// Flattened metric name.
    pub name: String,
    /// Mean.
    pub mean: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Maximum.
    pub max: f64,
}

impl Report for MonitorSummaryReport {
    const KIND: ReportKind = ReportKind::MonitorSummary;
    const MAJOR: u32 = 1;
}

impl ToMetrics for MonitorSummaryReport {
    fn collect_metrics(&self, out: &mut MetricsBuilder) {
        out.scope("monitor", |monitor| {
            // Only figures with a clear direction: a busier GPU is better, alerts are worse.
            for metric in self.metrics.iter().filter(|m| m.name.ends_with(".utilization_percent")) {
                monitor.add(&format!("{}.mean", metric.name), metric.mean, Unit::Percent, Better::Higher);
            }
            monitor.add("alerts", self.alerts.len() as f64, Unit::Count, Better::Lower);
            if let Some(overhead) = &self.overhead {
                monitor.add("overhead.cpu_percent", overhead.cpu_percent_of_one_core, Unit::Percent, Better::Lower);
                monitor.add("overhead.peak_rss_bytes", overhead.peak_rss_bytes as f64, Unit::Bytes, Better::Lower);
            }
        });
    }
}

/// Every metric name [`MonitorSample::metrics`] can produce, `*` standing for a device (GPU
/// index, disk or network interface name). Alert rules are checked against these.
pub const MONITOR_METRICS: &[&str] = &[
    "host.cpu_percent",
    "host.cpu_min_core_percent",
    "host.load1",
    "host.memory_used_bytes",
    "host.memory_available_bytes",
    "host.memory_used_percent",
    "host.swap_used_bytes",
    "host.swap_growth_bytes_per_s",
    "disk.*.read_bytes_per_s",
    "disk.*.write_bytes_per_s",
    "disk.*.busy_percent",
    "net.*.rx_bytes_per_s",
    "net.*.tx_bytes_per_s",
    "gpu.*.utilization_percent",
    "gpu.*.memory_utilization_percent",
    "gpu.*.memory_used_bytes",
    "gpu.*.memory_used_percent",
    "gpu.*.temperature_c",
    "gpu.*.power_w",
    "gpu.*.power_limit_w",
    "gpu.*.sm_clock_mhz",
    "gpu.*.memory_clock_mhz",
    "gpu.*.pcie_rx_bytes_per_s",
    "gpu.*.pcie_tx_bytes_per_s",
    "gpu.*.throttled_thermal_or_power",
    "process.alive",
    "process.cpu_percent",
    "process.rss_bytes",
    "process.threads",
    "process.read_bytes_per_s",
    "process.write_bytes_per_s",
    "process.children",
];

impl MonitorSample {
    /// The sample as named metrics, in a stable order. Absent readings are left out.
    pub fn metrics(&self) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        let host = &self.host;
        out.push(("host.cpu_percent".to_owned(), host.cpu_percent));
        let min_core = host.cores_percent.iter().copied().fold(f64::INFINITY, f64::min);
        if min_core.is_finite() {
            out.push(("host.cpu_min_core_percent".to_owned(), min_core));
        }
        out.push(("host.load1".to_owned(), host.load[0]));
        out.push(("host.memory_used_bytes".to_owned(), host.memory_used_bytes as f64));
        out.push(("host.memory_available_bytes".to_owned(), host.memory_available_bytes as f64));
        if host.memory_total_bytes > 0 {
            let used = 100.0 * host.memory_used_bytes as f64 / host.memory_total_bytes as f64;
            out.push(("host.memory_used_percent".to_owned(), used));
        }
        out.push(("host.swap_used_bytes".to_owned(), host.swap_used_bytes as f64));
        out.push(("host.swap_growth_bytes_per_s".to_owned(), host.swap_growth_bytes_per_s));
        for disk in &host.disks {
            out.push((format!("disk.{}.read_bytes_per_s", disk.name), disk.read_bytes_per_s));
            out.push((format!("disk.{}.write_bytes_per_s", disk.name), disk.write_bytes_per_s));
            out.push((format!("disk.{}.busy_percent", disk.name), disk.busy_percent));
        }
        for net in &host.net {
            out.push((format!("net.{}.rx_bytes_per_s", net.name), net.rx_bytes_per_s));
            out.push((format!("net.{}.tx_bytes_per_s", net.name), net.tx_bytes_per_s));
        }
        for gpu in self.gpus.iter().filter(|gpu| !gpu.lost) {
            let mut add = |field: &str, value: Option<f64>| {
                if let Some(value) = value {
                    out.push((format!("gpu.{}.{field}", gpu.index), value));
                }
            };
            add("utilization_percent", gpu.utilization_percent);
            add("memory_utilization_percent", gpu.memory_utilization_percent);
            add("memory_used_bytes", gpu.memory_used_bytes.map(|b| b as f64));
            let used_percent = gpu
                .memory_used_bytes
                .zip(gpu.memory_total_bytes.filter(|&t| t > 0))
                .map(|(used, total)| 100.0 * used as f64 / total as f64);
            add("memory_used_percent", used_percent);
            add("temperature_c", gpu.temperature_c);
            add("power_w", gpu.power_w);
            add("power_limit_w", gpu.power_limit_w);
            add("sm_clock_mhz", gpu.sm_clock_mhz);
            add("memory_clock_mhz", gpu.memory_clock_mhz);
            add("pcie_rx_bytes_per_s", gpu.pcie_rx_bytes_per_s);
            add("pcie_tx_bytes_per_s", gpu.pcie_tx_bytes_per_s);
            // SW_POWER_CAP is left out: boosting up to the power limit is normal operation.
            let hot = gpu.throttle_reasons.iter().any(|r| {
                matches!(
                    r.as_str(),
                    "hw_slowdown" | "hw_thermal_slowdown" | "sw_thermal_slowdown" | "hw_power_brake_slowdown"
                )
            });
            add("throttled_thermal_or_power", Some(if hot { 1.0 } else { 0.0 }));
        }
        if let Some(process) = &self.process {
            out.push(("process.alive".to_owned(), if process.alive { 1.0 } else { 0.0 }));
            out.push(("process.cpu_percent".to_owned(), process.cpu_percent));
            out.push(("process.rss_bytes".to_owned(), process.rss_bytes as f64));
            out.push(("process.threads".to_owned(), process.threads as f64));
            out.push(("process.read_bytes_per_s".to_owned(), process.read_bytes_per_s));
            out.push(("process.write_bytes_per_s".to_owned(), process.write_bytes_per_s));
            out.push(("process.children".to_owned(), process.children as f64));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_a_sample_file() {
        let header = format!(
            r#"{{"schema":"{MONITOR_SAMPLES_SCHEMA}","tool_version":"0.1.0","started_ms":1,"interval_ms":250,"host":{}}}"#,
            serde_json::to_string(&HostInfo::detect()).unwrap()
        );
        assert!(matches!(MonitorLine::parse(header.as_bytes(), true), Ok(MonitorLine::Header(_))));
        let other = header.replace(MONITOR_SAMPLES_SCHEMA, "ocrperf.monitor-samples.v9");
        assert_eq!(
            MonitorLine::parse(other.as_bytes(), true).unwrap_err(),
            "schema `ocrperf.monitor-samples.v9`, expected `ocrperf.monitor-samples.v1`"
        );
        assert!(MonitorLine::parse(b"{}", true).unwrap_err().starts_with("not a sample-file header: missing field"));
        let sample = br#"{"t_ms":5,"i":0,"host":{"cpu_percent":1.0,"cores_percent":[],"load":[0,0,0],"memory_used_bytes":1,"memory_available_bytes":1,"memory_total_bytes":2,"swap_used_bytes":0,"swap_total_bytes":0,"swap_growth_bytes_per_s":0,"disks":[],"net":[]}}"#;
        assert!(matches!(MonitorLine::parse(sample, false), Ok(MonitorLine::Sample(s)) if s.t_ms == 5));
        let alert = br#"{"alert":{"t_ms":5,"i":0,"rule":"r","metric":"m","state":"firing","severity":"info","message":"x","value":1.0}}"#;
        assert!(matches!(MonitorLine::parse(alert, false), Ok(MonitorLine::Alert(a)) if a.rule == "r"));
        assert_eq!(
            MonitorLine::parse(header.as_bytes(), false).unwrap_err(),
            "a second header: two sample files concatenated? (a sample file has one header, on line 1; give each \
             file on its own)"
        );
        assert_eq!(
            MonitorLine::parse(br#"{"t_ms":"x"}"#, false).unwrap_err(),
            "invalid type: string \"x\", expected u64"
        );
    }
}
