//! `ocrperf._native`: the extension module of the Python package `ocrperf`.
//!
//! A front end, like `cli`: it converts Python arguments, calls the libraries with the GIL
//! released (`Python::detach`), and hands results back without copying the maps
//! (`into_pyarray` moves each `Vec` into NumPy). The Python side (`python/ocrperf/`) holds the
//! drop-in classes with their data-dict contracts; this module holds no domain logic.
//!
//! What it does not do: read images, or know about torch or Lightning (the Python code does).
//!
//! - `Generator` (`targets.rs`): DBNet targets;
//! - `ResourceMonitor` (`monitor.rs`), `HEADLINE_METRICS`, `select_metrics` and
//!   `metric_pattern_warnings`: resource sampling, and the figures a logger gets;
//! - `analyze_traces` (`traces.rs`): profiler traces read once, as `ocrperf trace analyze`;
//! - `BatchEventWriter` (`events.rs`): the `Throughput` callback's batch-event file;
//! - `cli_main`: the `ocrperf` command, for the console script.
//!
//! # Example
//!
//! ```text
//! >>> from ocrperf import _native
//! >>> g = _native.Generator(semantics="db")
//! >>> gt, mask, ignored, reversed_ = g.shrink(40, 70, points, lengths, ignore, True, False, None, False)
//! ```

mod events;
mod monitor;
mod targets;
mod traces;

use pyo3::{prelude::*, types::PyTuple};

/// Every map is a fresh buffer handed to NumPy, freed when NumPy drops it. With the system
/// allocator, buffers this large go back to the kernel and the next call page-faults them in
/// again (and two threads then contend on the process's page-fault lock); mimalloc keeps them
/// for reuse. Only this extension's Rust allocations use it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs an `ocrperf` command line (`argv[0]` is the program name) and returns its exit code:
/// the console script (`python/ocrperf/_cli.py`). `own_process` installs the Ctrl-C handler; a
/// process with handlers of its own passes false. Library work (trace analysis, ...) has its
/// own functions here, returning values rather than printing.
#[pyfunction]
#[pyo3(signature = (argv, own_process = false))]
fn cli_main(py: Python<'_>, argv: Vec<String>, own_process: bool) -> u8 {
    let host = if own_process { ocrperf_cli::Host::OwnProcess } else { ocrperf_cli::Host::Embedded };
    py.detach(|| ocrperf_cli::run(argv, host))
}

/// Panics in Rust on purpose, without the GIL, so the tests can show that a panic reaches
/// Python as an exception (`pyo3_runtime.PanicException`) and never aborts the interpreter.
#[pyfunction]
fn _panic_for_test(py: Python<'_>, message: String) {
    py.detach(move || panic!("{message}"));
}

/// The package's native half.
#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_class::<targets::Generator>()?;
    module.add_class::<monitor::ResourceMonitor>()?;
    module.add_class::<events::BatchEventWriter>()?;
    // The Lightning `ResourceMonitor` callback's default selection, kept in Rust with a test
    // that each pattern still names a metric; a tuple, so Python cannot change the shared list.
    module.add("HEADLINE_METRICS", PyTuple::new(module.py(), ocrperf::resource_monitor::HEADLINE_METRICS)?)?;
    module.add_function(wrap_pyfunction!(monitor::select_metrics, module)?)?;
    module.add_function(wrap_pyfunction!(monitor::metric_pattern_warnings, module)?)?;
    module.add_function(wrap_pyfunction!(traces::analyze_traces, module)?)?;
    module.add_function(wrap_pyfunction!(cli_main, module)?)?;
    module.add_function(wrap_pyfunction!(_panic_for_test, module)?)?;
    Ok(())
}
