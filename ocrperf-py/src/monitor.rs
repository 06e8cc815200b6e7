//! `ResourceMonitor`: `ocrperf monitor`'s sampler on a background thread of the training
//! process, for the Lightning callback.
//!
//! The thread owns the [`resource_monitor::Monitor`] and runs its loop ([`Monitor::run`], the
//! same clock and tick policy as `ocrperf monitor`); Python reads the latest figures and drains
//! the alert events whenever it likes, without waiting on a sample. Stopping wakes the thread
//! at once (a condition variable, not a sleep). A sample that cannot be written ends the
//! sampling, as it ends `ocrperf monitor`: it is a warning at once and an `OSError` from
//! `stop()`.

use ocrperf::resource_monitor;
use std::{
    collections::VecDeque,
    path::PathBuf,
    sync::{Arc, Condvar, Mutex, PoisonError},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use metrics_schema::{AlertEvent, HostInfo, MonitorSummaryReport};
use pyo3::{
    exceptions::{PyOSError, PyRuntimeError, PyValueError},
    prelude::*,
    types::PyDict,
};
use resource_monitor::{Control, Monitor, MonitorConfig, rules_with_warnings, unix_ms};

/// Alert events kept until Python takes them; older ones are dropped past this many.
const MAX_PENDING_ALERTS: usize = 1024;

/// What the sampling thread and Python share.
#[derive(Default)]
struct Shared {
    stop: Mutex<bool>,
    wake: Condvar,
    latest: Mutex<Vec<(String, f64)>>,
    alerts: Mutex<VecDeque<AlertEvent>>,
    warnings: Mutex<Vec<String>>,
    samples: Mutex<u64>,
}

/// Locks, ignoring poisoning: every value here is replaced whole, never left half-written.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Samples GPUs (NVML), CPU, memory and disks on a background thread.
#[pyclass(module = "ocrperf._native")]
pub(crate) struct ResourceMonitor {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<Result<MonitorSummaryReport, resource_monitor::Error>>>>,
    gpu_note: Option<String>,
    gpus: u32,
    prometheus: Option<String>,
}

#[pymethods]
impl ResourceMonitor {
    /// Starts sampling every `interval_s` seconds. `out` writes the JSONL (or `.csv`) sample
    /// file, `prometheus` serves `/metrics` at that address, `rules` replaces the built-in
    /// alert rules with a TOML file's, `pid` watches a process tree (default: this process).
    /// What `ocrperf monitor --alerts` warns about a rules file (a rule whose metric matches
    /// nothing) is the first of `take_warnings()`.
    #[new]
    #[pyo3(signature = (interval_s = 1.0, *, gpu = true, out = None, prometheus = None, rules = None, pid = None))]
    fn new(
        py: Python<'_>,
        interval_s: f64,
        gpu: bool,
        out: Option<PathBuf>,
        prometheus: Option<String>,
        rules: Option<PathBuf>,
        pid: Option<u32>,
    ) -> PyResult<ResourceMonitor> {
        let interval = interval_from_seconds(interval_s)?;
        let (rules, rule_warnings) =
            rules_with_warnings(rules.as_deref()).map_err(|err| PyValueError::new_err(err.to_string()))?;
        let pid = pid.unwrap_or_else(std::process::id);
        let config = MonitorConfig {
            interval,
            out,
            rules,
            prometheus,
            pid: Some(pid),
            watched: Some(format!("pid {pid}")),
            gpu,
        };
        let monitor = py
            .detach(|| Monitor::start(config, HostInfo::detect(), unix_ms()))
            .map_err(|err| PyValueError::new_err(err.to_string()))?;
        let shared = Arc::new(Shared { warnings: Mutex::new(rule_warnings), ..Shared::default() });
        let (gpu_note, gpus) = (monitor.gpu_note().map(str::to_owned), monitor.gpu_count());
        let prometheus = monitor.prometheus_address().map(|address| address.to_string());
        let thread = std::thread::Builder::new()
            .name("ocrperf-monitor".to_owned())
            .spawn({
                let shared = Arc::clone(&shared);
                move || sample(monitor, &shared)
            })
            .map_err(|err| PyRuntimeError::new_err(format!("cannot start the sampling thread: {err}")))?;
        Ok(ResourceMonitor { shared, thread: Mutex::new(Some(thread)), gpu_note, gpus, prometheus })
    }

    /// Checks a sampling interval in seconds against the monitor's range (10ms to 1day, as
    /// `ocrperf monitor --interval`), raising `ValueError`: for callers that validate their
    /// settings before they start one.
    #[staticmethod]
    fn check_interval(interval_s: f64) -> PyResult<()> {
        interval_from_seconds(interval_s).map(|_| ())
    }

    /// The latest sample's figures, `{"host.cpu_percent": 12.5, "gpu.0.utilization_percent":
    /// ...}` (empty before the first sample).
    fn latest<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let metrics = lock(&self.shared.latest).clone();
        let dict = PyDict::new(py);
        for (name, value) in metrics {
            dict.set_item(name, value)?;
        }
        Ok(dict)
    }

    /// Alert events since the last call, oldest first, each a dict with `rule`, `metric`,
    /// `state` (`firing`/`resolved`), `severity`, `message`, `value`, `t_ms`.
    fn take_alerts<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let events: Vec<AlertEvent> = lock(&self.shared.alerts).drain(..).collect();
        events
            .into_iter()
            .map(|event| {
                let dict = PyDict::new(py);
                dict.set_item("rule", event.rule)?;
                dict.set_item("metric", event.metric)?;
                dict.set_item("state", json_word(&event.state))?;
                dict.set_item("severity", json_word(&event.severity))?;
                dict.set_item("message", event.message)?;
                dict.set_item("value", event.value)?;
                dict.set_item("t_ms", event.t_ms)?;
                Ok(dict)
            })
            .collect()
    }

    /// What the rules file's check found, then problems met while sampling (a GPU lost, a full
    /// disk), since the last call.
    fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.shared.warnings))
    }

    /// Samples taken so far.
    #[getter]
    fn samples(&self) -> u64 {
        *lock(&self.shared.samples)
    }

    /// Why GPUs are not sampled, or `None` when they are.
    #[getter]
    fn gpu_note(&self) -> Option<String> {
        self.gpu_note.clone()
    }

    /// GPUs sampled.
    #[getter]
    fn gpus(&self) -> u32 {
        self.gpus
    }

    /// The address `/metrics` is served at, if any.
    #[getter]
    fn prometheus_address(&self) -> Option<String> {
        self.prometheus.clone()
    }

    /// Stops sampling and returns the summary report as JSON (`ocrperf.monitor-summary`).
    /// Calling it again returns `None`. Raises `OSError` when sampling ended early because a
    /// sample could not be written (the file ends with its last complete line).
    fn stop(&self, py: Python<'_>) -> PyResult<Option<String>> {
        let Some(thread) = lock(&self.thread).take() else { return Ok(None) };
        *lock(&self.shared.stop) = true;
        self.shared.wake.notify_all();
        let report = py
            .detach(|| thread.join())
            .map_err(|_| PyRuntimeError::new_err("the sampling thread panicked"))?
            .map_err(|err| PyOSError::new_err(format!("writing samples: {err}")))?;
        serde_json::to_string(&report).map(Some).map_err(|err| PyRuntimeError::new_err(err.to_string()))
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.stop(py)?;
        Ok(false)
    }
}

impl Drop for ResourceMonitor {
    fn drop(&mut self) {
        *lock(&self.shared.stop) = true;
        self.shared.wake.notify_all();
    }
}

/// The figures of `latest` whose name matches one of `patterns` (`*` is one dotted part, as in
/// alert rules: `gpu.*.power_w`), in `latest`'s order: the Lightning callback's selection,
/// `resource_monitor::select_metrics`.
/// A `str` for `patterns` is a `TypeError` (a sequence of patterns is wanted), as is a figure
/// that is not a number.
#[pyfunction]
pub(crate) fn select_metrics<'py>(
    py: Python<'py>,
    latest: &Bound<'py, PyDict>,
    patterns: Vec<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let figures: Vec<(String, f64)> =
        latest.iter().map(|(name, value)| Ok((name.extract()?, value.extract()?))).collect::<PyResult<_>>()?;
    let dict = PyDict::new(py);
    for (name, value) in resource_monitor::select_metrics(&figures, &patterns) {
        dict.set_item(name, value)?;
    }
    Ok(dict)
}

/// The patterns of a selection that can match nothing the monitor records, one warning each:
/// `resource_monitor::metric_pattern_warnings`.
#[pyfunction]
pub(crate) fn metric_pattern_warnings(patterns: Vec<String>) -> Vec<String> {
    resource_monitor::metric_pattern_warnings(&patterns)
}

/// Seconds as a sampling interval in the monitor's one range ([`resource_monitor::INTERVALS`]);
/// NaN, negative and enormous values are not durations at all.
fn interval_from_seconds(interval_s: f64) -> PyResult<Duration> {
    let interval = Duration::try_from_secs_f64(interval_s).map_err(|_| {
        PyValueError::new_err(format!(
            "interval_s must be a number of seconds, not {}",
            metrics_schema::format_number(interval_s)
        ))
    })?;
    resource_monitor::check_interval(interval).map_err(|err| PyValueError::new_err(err.to_string()))
}

/// A unit enum's serde name (`firing`, `warning`).
fn json_word<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The Python side asks the loop to stop through `stop`, and wakes it through `wake`.
impl Control for Shared {
    fn wait(&self, until: Instant) -> bool {
        let stop = lock(&self.stop);
        let wait = until.saturating_duration_since(Instant::now());
        let (stop, _) = self.wake.wait_timeout_while(stop, wait, |stop| !*stop).unwrap_or_else(PoisonError::into_inner);
        *stop
    }
}

/// The sampling thread: the monitor's loop until stopped, publishing each tick for Python.
fn sample(mut monitor: Monitor, shared: &Shared) -> Result<MonitorSummaryReport, resource_monitor::Error> {
    let ran = monitor.run(None, None, shared, &mut |tick, _| {
        *lock(&shared.latest) = tick.sample.metrics();
        *lock(&shared.samples) += 1;
        let mut alerts = lock(&shared.alerts);
        alerts.extend(tick.alerts.iter().cloned());
        let excess = alerts.len().saturating_sub(MAX_PENDING_ALERTS);
        alerts.drain(..excess);
        lock(&shared.warnings).extend(tick.warnings.iter().cloned());
    });
    if let Err(err) = &ran {
        // Said at once, so a training loop hears of it before it stops the monitor.
        lock(&shared.warnings).push(format!("sampling stopped: writing samples: {err}"));
    }
    ran.map(|_| monitor.summary(None))
}
