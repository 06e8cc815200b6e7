//! Project automation for ocrperf, in Rust so it runs wherever cargo does
//! (<https://github.com/matklad/cargo-xtask>).
//!
//! - `cargo xtask ci`: format check, clippy with `-D warnings`, and the whole test suite.
//! - `cargo xtask phase1|phase2|phase3`: one phase's steps. Each step runs one crate's tests and
//!   its demo on built-in data, prints a table, and writes `target/ocrperf/<phase>.json`.
//! - `cargo xtask all`: the phases in order 1 → 2 → 3, stopping at the first failure.
//! - `cargo xtask bench-trace`: the trace reader on a ~1 GB trace, against HTA when installed.
//! - `cargo xtask bench-monitor`: the monitor's own CPU time and peak RSS over 30 s runs.
//! - `cargo xtask bench-loader`: the throughput loader with DBNet targets vs `targets bench`.
//!
//! A phase whose crates are not in the workspace yet says so and fails: it never pretends to pass.

#![allow(clippy::print_stdout, clippy::print_stderr, reason = "xtask talks to the developer's terminal")]

mod ci;
mod phase2;
mod phase3_monitor;
mod phase3_throughput;
mod phase3_trace;
mod phases;
mod process;
#[cfg(test)]
mod tidy;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "ocrperf project automation")]
struct Args {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Format check, clippy -D warnings, and every test: what CI runs
    Ci,
    /// Phase 1: regression baselines and the CI gate
    Phase1,
    /// Phase 2: DBNet targets with the polygon cache, parity and speed
    Phase2,
    /// Phase 3: throughput, profiler traces, resource monitoring
    Phase3,
    /// Phases 1, 2 and 3 in order, stopping at the first failure
    All,
    /// The monitor's own CPU and memory over 30 s at 1 s and 100 ms intervals
    BenchMonitor {
        /// Seconds per run
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// The instrumented loader with the DBNet pipeline vs `targets bench`, 1 and 2 threads
    BenchLoader,
    /// Trace reader speed on a ~1 GB trace vs HTA (tools/trace_bench.py; extra args go to it)
    BenchTrace {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.task {
        Task::Ci => ci::run(),
        Task::Phase1 => phases::run_one("phase1"),
        Task::Phase2 => phases::run_one("phase2"),
        Task::Phase3 => phases::run_one("phase3"),
        Task::All => phases::run_all(),
        Task::BenchTrace { args } => phase3_trace::bench(&args),
        Task::BenchMonitor { seconds } => phase3_monitor::bench(seconds),
        Task::BenchLoader => phase3_throughput::bench_loader(),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
