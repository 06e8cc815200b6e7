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
//! - `cargo xtask perf-gate --base REV`: this project's benchmarks, base against head, gated.
//! - `cargo xtask bench-gate`: the gate's false alarms and power curve on recorded runs.
//! - `cargo xtask bench-readers`: the TensorBoard and W&B readers against the trackers' own.
//!
//! A phase whose crates are not in the workspace yet says so and fails: it never pretends to pass.

#![expect(clippy::print_stdout, clippy::print_stderr, reason = "xtask talks to the developer's terminal")]

mod ci;
mod gate;
mod gate_bench;
mod load;
mod monitor;
mod perf_gate;
mod phases;
mod process;
mod report;
mod targets;
mod throughput;
#[cfg(test)]
mod tidy;
mod trace;

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
    /// The project's own performance gate: REV built in a git worktree, both builds'
    /// benchmarks interleaved, the head gated against the base with `ocrperf regress`
    PerfGate {
        /// The base revision (a branch, tag or commit)
        #[arg(long, value_name = "REV")]
        base: String,
        /// Rounds per build, at least 5 (the rank test compares rounds)
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Keep the base's worktree (target/perf-gate/base) afterwards
        #[arg(long)]
        keep: bool,
    },
    /// The gate's false alarms and power curve on recorded unchanged runs
    BenchGate {
        /// First record this many runs of the built-in workload into testdata/regression/builtin
        #[arg(long, value_name = "N")]
        record: Option<usize>,
        /// Pairs of synthetic runs per cell of the shape study
        #[arg(long, value_name = "N", default_value_t = 40)]
        trials: usize,
    },
    /// TensorBoard and W&B readers vs the trackers' own Python readers (tools/reader_bench.py)
    BenchReaders {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Trace reader speed on a ~1 GB trace vs HTA (tools/trace_bench.py; extra args go to it)
    BenchTrace {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// A CPU and disk load for the monitor's demo: busy threads plus fsynced writes
    #[command(hide = true)]
    Load {
        /// How long, up to an hour
        #[arg(long, default_value = "3s")]
        duration: metrics_schema::HumanDuration,
        /// Busy threads
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Directory for the scratch file (removed at the end)
        #[arg(long, default_value = ".")]
        dir: std::path::PathBuf,
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
        Task::BenchTrace { args } => trace::bench(&args),
        Task::BenchMonitor { seconds } => monitor::bench(seconds),
        Task::BenchLoader => throughput::bench_loader(),
        Task::PerfGate { base, rounds, keep } => perf_gate::run(&base, rounds, keep),
        Task::BenchGate { record, trials } => gate_bench::run(record, trials),
        Task::BenchReaders { args } => gate::bench_readers(&args),
        Task::Load { duration, threads, dir } => load::run(duration, threads, &dir),
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
