//! `analyze_traces`: PyTorch profiler traces analysed in process, as `ocrperf trace analyze`
//! does, read once and returned three ways (the report, its Markdown page, its metrics).
//!
//! The reading, the report and the page are the `ocrperf` crate's (`profiler_analyze`,
//! `trace_report`), the same code the command runs, so the Markdown is byte for byte what
//! `ocrperf trace analyze --format md` prints and the metrics are the report's `ToMetrics`
//! names, the ones the regression gate compares.

use std::path::{Path, PathBuf};

use metrics_schema::ToMetrics as _;
use ocrperf::{
    profiler_analyze::AnalyzeOptions,
    trace_report::{analysis_document, analyze_run},
};
use pyo3::{exceptions::PyValueError, prelude::*, types::PyDict};

/// What one analysis hands back, built without the GIL.
struct Analysed {
    /// The envelope as `ocrperf trace analyze --format json` prints it.
    json: String,
    markdown: String,
    metrics: Vec<(String, f64)>,
    warnings: Vec<String>,
}

/// Reads PyTorch profiler traces (files, or directories of one run's rank traces) once and
/// returns `{"report": dict, "markdown": str, "metrics": {name: value}, "warnings": [str]}`:
/// the `ocrperf.trace-analysis` envelope, the page of `ocrperf trace analyze --format md`, the
/// report's metrics, and what the read noticed. `json_out` and `markdown_out` also write the
/// report and the page there, atomically. The files are found, and an output over a trace
/// refused, by `ocrperf::trace_report::analyze_run`, as for `ocrperf trace analyze -o`: an
/// ocrperf report in a given directory (a window analysed again) is not read as a trace. Bad
/// input is a `ValueError` naming the file.
#[pyfunction]
#[pyo3(signature = (paths, *, top = 15, lenient = false, jobs = 0, json_out = None, markdown_out = None))]
pub(crate) fn analyze_traces<'py>(
    py: Python<'py>,
    paths: &Bound<'py, PyAny>,
    top: i64,
    lenient: bool,
    jobs: i64,
    json_out: Option<PathBuf>,
    markdown_out: Option<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    // One path or a sequence of them; a `str` is one path, not a sequence of characters.
    let paths: Vec<PathBuf> = match paths.extract::<PathBuf>() {
        Ok(path) => vec![path],
        Err(_) => paths.extract()?,
    };
    let count = |name: &str, value: i64| {
        usize::try_from(value).map_err(|_| PyValueError::new_err(format!("{name} must be >= 0, not {value}")))
    };
    let options = AnalyzeOptions { top: count("top", top)?, lenient, jobs: count("jobs", jobs)? };
    let analysed = py.detach(|| analyze(&paths, options, json_out.as_deref(), markdown_out.as_deref()));
    let analysed = analysed.map_err(PyValueError::new_err)?;
    let result = PyDict::new(py);
    // Python's own parser keeps the envelope's field order (schema first), as reading
    // `report.json` would.
    let report = py.import("json")?.call_method1("loads", (analysed.json,))?;
    result.set_item("report", report)?;
    result.set_item("markdown", analysed.markdown)?;
    let metrics = PyDict::new(py);
    for (name, value) in analysed.metrics {
        metrics.set_item(name, value)?;
    }
    result.set_item("metrics", metrics)?;
    result.set_item("warnings", analysed.warnings)?;
    Ok(result)
}

fn analyze(
    paths: &[PathBuf],
    options: AnalyzeOptions,
    json_out: Option<&Path>,
    markdown_out: Option<&Path>,
) -> Result<Analysed, String> {
    let outputs: Vec<(&str, &Path)> = [("json_out", json_out), ("markdown_out", markdown_out)]
        .into_iter()
        .filter_map(|(n, p)| Some((n, p?)))
        .collect();
    let run = analyze_run(paths, options, &outputs, &|_, _| true).map_err(|err| err.to_string())?;
    let envelope = run.envelope;
    let markdown = analysis_document(&envelope.report).to_markdown();
    // The same bytes as `ocrperf trace analyze --format json`.
    let mut json = serde_json::to_string_pretty(&envelope).map_err(|err| format!("serialising the report: {err}"))?;
    json.push('\n');
    if let Some(path) = json_out {
        write(path, &json)?;
    }
    if let Some(path) = markdown_out {
        write(path, &markdown)?;
    }
    let metrics = envelope.report.metrics().into_iter().map(|metric| (metric.name, metric.value)).collect();
    Ok(Analysed { json, markdown, metrics, warnings: run.warnings })
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    metrics_schema::write_atomic(path, |out| out.write_all(text.as_bytes())).map_err(|err| err.to_string())
}
