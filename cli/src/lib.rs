//! `ocrperf`: the one binary of the ocrperf toolkit, with a subcommand per capability, and
//! [`run`], its entry point for other front ends (the Python package's `ocrperf` script).
//!
//! This crate is glue: it parses arguments, calls the feature crates, and renders their reports
//! as a table, Markdown or a JSON envelope. It holds no measurement logic of its own.
//!
//! Exit codes: 0 success, 1 a check failed, 2 bad usage or bad input, 3 the gate compared nothing,
//! 130 after Ctrl-C. A closed
//! stdout (`ocrperf info | head -1`) is not an error and exits 0.
//!
//! ```text
//! ocrperf info --format json -o host.json
//! ```
//!
//! ```no_run
//! let code = ocrperf_cli::run(["ocrperf", "info"], ocrperf_cli::Host::Embedded);
//! assert_eq!(code, 0);
//! ```

mod args;
mod commands;
mod interrupt;
mod output;

use std::{
    ffi::OsString,
    io::{self, Write},
};

use clap::Parser;

use crate::{args::Cli, output::Ui};

/// What a subcommand that ran to the end concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything checked out.
    Success,
    /// The command worked, and what it checked did not pass (a regression, a fired alert, a
    /// parity mismatch).
    CheckFailed,
    /// The gate compared nothing: every gated metric was not comparable (exit 3).
    NothingCompared,
    /// A wrapped command's own exit code, passed on as is (even after Ctrl-C).
    Exit(u8),
    /// Stopped by a signal after reporting what it had (exit 130).
    Interrupted,
}

/// Where the command line comes from, and whether `ocrperf` owns the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// The `ocrperf` binary, or a console script that runs nothing else: Ctrl-C and SIGTERM
    /// stop the command (exit 130).
    OwnProcess,
    /// Called inside another program (a training run): signal handlers are left alone.
    Embedded,
}

/// Runs one `ocrperf` command line (`args[0]` is the program name) and returns its exit code:
/// what the binary's `main` does, callable from another front end (the Python package's
/// console script and its callbacks).
pub fn run<I, T>(args: I, host: Host) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // clap knows which of its errors are usage errors (2) and which are --help (0).
            let _ = err.print();
            return u8::try_from(err.exit_code()).unwrap_or(2);
        }
    };
    if host == Host::OwnProcess {
        interrupt::install();
    }
    let ui = Ui::new(&cli.global);
    let result = commands::run(cli.command, &ui);
    if let Ok(Outcome::Exit(code)) = result {
        return code;
    }
    if interrupt::requested() {
        return 130;
    }
    match result {
        Ok(Outcome::Success) => 0,
        Ok(Outcome::CheckFailed) => 1,
        Ok(Outcome::NothingCompared) => 3,
        Ok(Outcome::Exit(code)) => code,
        Ok(Outcome::Interrupted) => 130,
        Err(err) if is_broken_pipe(&err) => 0,
        Err(err) => {
            let _ = writeln!(io::stderr().lock(), "ocrperf: error: {err:#}");
            2
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<io::Error>())
        .any(|io_err| io_err.kind() == io::ErrorKind::BrokenPipe)
}
