//! One monitoring run: sources, sample file, alerts and exporter, advanced one tick at a time.
//!
//! [`Monitor::tick`] takes one sample and does everything that follows from it; the loop that
//! calls it at the interval, for both front ends, is [`Monitor::run`] (`run.rs`).

use std::{path::PathBuf, time::Duration};

use metrics_schema::{
    AlertEvent, HostInfo, MonitorHeader, MonitorOverhead, MonitorSample, MonitorSummaryReport, TOOL_VERSION,
};

use crate::{
    Error,
    alerts::{AlertEngine, Rule},
    gpu::GpuSampler,
    host::HostSampler,
    process::ProcessSampler,
    prometheus::{self, Exporter},
    sink::SampleSink,
    source::Source,
    summary::Summary,
};

/// What to monitor and where the results go.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// Time between samples.
    pub interval: Duration,
    /// The sample file (`.jsonl` or `.csv`), if any.
    pub out: Option<PathBuf>,
    /// Alert rules (the defaults unless replaced).
    pub rules: Vec<Rule>,
    /// Address for `/metrics`, if any.
    pub prometheus: Option<String>,
    /// Root of the process tree to watch.
    pub pid: Option<u32>,
    /// What is watched, in words, for the file header.
    pub watched: Option<String>,
    /// Try NVML (false skips GPUs without trying).
    pub gpu: bool,
}

/// A run in progress.
#[derive(Debug)]
pub struct Monitor {
    config: MonitorConfig,
    /// Host first, then GPUs and the watched process when there are any.
    sources: Vec<Box<dyn Source>>,
    gpus: u32,
    gpu_note: Option<String>,
    engine: AlertEngine,
    sink: Option<SampleSink>,
    exporter: Option<Exporter>,
    summary: Summary,
    alerts: Vec<AlertEvent>,
    first_ms: Option<u64>,
    last_ms: u64,
    ticks: u64,
    /// When the monitor started, and its CPU jiffies then, for its own overhead.
    started: std::time::Instant,
    started_jiffies: u64,
}

/// What one tick produced.
#[derive(Debug)]
pub struct Tick {
    /// The sample.
    pub sample: MonitorSample,
    /// Alerts that fired or resolved at it.
    pub alerts: Vec<AlertEvent>,
    /// Problems the sources met at this tick (a GPU lost), for a warning each.
    pub warnings: Vec<String>,
}

impl Monitor {
    /// Opens the sources, the sample file and the exporter. A missing GPU is not an error:
    /// [`Monitor::gpu_note`] says why GPUs are not sampled.
    ///
    /// # Errors
    /// An interval out of range ([`crate::INTERVALS`]), a process to watch that does not
    /// exist, a sample file that cannot be created, an address that cannot be bound.
    pub fn start(config: MonitorConfig, host_info: HostInfo, now_ms: u64) -> Result<Monitor, Error> {
        crate::run::check_interval(config.interval)?;
        if let Some(pid) = config.pid
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            return Err(Error::NoSuchProcess { pid });
        }
        let (gpu, gpu_note) = if config.gpu {
            match GpuSampler::start(config.interval.max(Duration::from_secs(1))) {
                Ok(gpu) => (Some(gpu), None),
                Err(note) => (None, Some(note)),
            }
        } else {
            (None, Some("GPU sampling turned off".to_owned()))
        };
        let exporter = config.prometheus.as_deref().map(Exporter::start).transpose()?;
        let header = MonitorHeader {
            schema: metrics_schema::MONITOR_SAMPLES_SCHEMA.to_owned(),
            tool_version: TOOL_VERSION.to_owned(),
            started_ms: now_ms,
            interval_ms: config.interval.as_millis() as u64,
            host: host_info,
            watched: config.watched.clone(),
        };
        let sink = config.out.as_deref().map(|path| SampleSink::create(path, &header)).transpose()?;
        let gpus = gpu.as_ref().map_or(0, GpuSampler::count);
        let mut sources: Vec<Box<dyn Source>> = vec![Box::new(HostSampler::new())];
        if let Some(gpu) = gpu {
            sources.push(Box::new(gpu));
        }
        if let Some(pid) = config.pid {
            sources.push(Box::new(ProcessSampler::new(pid)));
        }
        // Prime the counters so the first tick already has rates.
        let mut scratch = empty_sample(now_ms, 0);
        for source in &mut sources {
            source.sample_into(&mut scratch);
        }
        Ok(Monitor {
            engine: AlertEngine::new(config.rules.clone()),
            config,
            sources,
            gpus,
            gpu_note,
            sink,
            exporter,
            summary: Summary::default(),
            alerts: Vec::new(),
            first_ms: None,
            last_ms: now_ms,
            ticks: 0,
            started: std::time::Instant::now(),
            started_jiffies: own_cpu_jiffies(),
        })
    }

    /// Time between samples.
    pub fn interval(&self) -> Duration {
        self.config.interval
    }

    /// Why GPUs are not sampled, if they are not.
    pub fn gpu_note(&self) -> Option<&str> {
        self.gpu_note.as_deref()
    }

    /// GPUs being sampled.
    pub fn gpu_count(&self) -> u32 {
        self.gpus
    }

    /// Where `/metrics` is served.
    pub fn prometheus_address(&self) -> Option<std::net::SocketAddr> {
        self.exporter.as_ref().map(Exporter::address)
    }

    /// Takes one sample at `now_ms` (unix ms), evaluates alerts, writes the line(s) and
    /// publishes the gauges. A write error (a full disk) is returned after the file has been
    /// cut back to its last complete line.
    pub fn tick(&mut self, now_ms: u64) -> Result<Tick, Error> {
        let mut sample = empty_sample(now_ms, self.ticks);
        let mut warnings = Vec::new();
        for source in &mut self.sources {
            warnings.extend(source.sample_into(&mut sample));
        }
        let running = sample.process.as_ref().is_some_and(|p| p.alive);
        let metrics = sample.metrics();
        let alerts = self.engine.observe(now_ms, self.ticks, &metrics, running);
        self.summary.add(&metrics);
        if let Some(exporter) = &self.exporter {
            exporter.publish(prometheus::render(&metrics, &self.engine.active_alerts()));
        }
        self.first_ms.get_or_insert(now_ms);
        self.last_ms = now_ms;
        self.ticks += 1;
        self.alerts.extend(alerts.iter().cloned());
        if let Some(sink) = &mut self.sink {
            sink.write_sample(&sample)?;
            for alert in &alerts {
                sink.write_alert(alert)?;
            }
        }
        Ok(Tick { sample, alerts, warnings })
    }

    /// Alerts firing now.
    pub fn active_alerts(&self) -> usize {
        self.engine.active()
    }

    /// The end-of-run report.
    pub fn summary(&self, command_exit_code: Option<i32>) -> MonitorSummaryReport {
        MonitorSummaryReport {
            samples: self.ticks,
            seconds: self.first_ms.map_or(0.0, |first| (self.last_ms - first) as f64 / 1000.0),
            interval_ms: self.config.interval.as_millis() as u64,
            samples_file: self.sink.as_ref().map(|sink| sink.path().display().to_string()),
            gpus: self.gpu_count(),
            gpu_note: self.gpu_note.clone(),
            metrics: self.summary.finish(),
            alerts: self.alerts.clone(),
            command_exit_code,
            overhead: Some(self.overhead()),
        }
    }

    /// CPU time and peak memory of this process since [`Monitor::start`]. Read from
    /// `/proc/self`, so it counts every thread (PCIe, Prometheus) and allocation.
    pub fn overhead(&self) -> MonitorOverhead {
        let cpu_seconds = own_cpu_jiffies().saturating_sub(self.started_jiffies) as f64 / crate::procfs::USER_HZ;
        let wall = self.started.elapsed().as_secs_f64().max(1e-9);
        let status = crate::host::read("/proc/self/status");
        let peak_kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.split_ascii_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
        MonitorOverhead {
            cpu_seconds,
            cpu_percent_of_one_core: (100.0 * cpu_seconds / wall * 1000.0).round() / 1000.0,
            peak_rss_bytes: peak_kib * 1024,
        }
    }
}

fn empty_sample(t_ms: u64, i: u64) -> MonitorSample {
    MonitorSample { t_ms, i, host: Default::default(), gpus: Vec::new(), process: None }
}

fn own_cpu_jiffies() -> u64 {
    crate::procfs::parse_pid_stat(&crate::host::read("/proc/self/stat")).map_or(0, |stat| stat.cpu_jiffies)
}
