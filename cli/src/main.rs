//! `ocrperf`: the one binary of the ocrperf toolkit, with a subcommand per capability.
//!
//! This crate is glue: it parses arguments, calls the feature crates, and renders their reports
//! as a table, Markdown or a JSON envelope. It holds no measurement logic of its own.
//!
//! Exit codes: 0 success, 1 a check failed, 2 bad usage or bad input, 130 after Ctrl-C. A closed
//! stdout (`ocrperf info | head -1`) is not an error and exits 0.
//!
//! ```text
//! ocrperf info --format json -o host.json
//! ```

mod args;
mod commands;
mod interrupt;
mod output;

use std::{
    io::{self, Write},
    process::ExitCode,
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
    /// A wrapped command's own exit code, passed on as is (even after Ctrl-C).
    Exit(u8),
    /// Stopped by a signal after reporting what it had (exit 130).
    Interrupted,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap knows which of its errors are usage errors (2) and which are --help (0).
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    interrupt::install();
    let ui = Ui::new(&cli.global);
    let result = commands::run(cli.command, &ui);
    if let Ok(Outcome::Exit(code)) = result {
        return ExitCode::from(code);
    }
    if interrupt::requested() {
        return ExitCode::from(130);
    }
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::CheckFailed) => ExitCode::from(1),
        Ok(Outcome::Exit(code)) => ExitCode::from(code),
        Ok(Outcome::Interrupted) => ExitCode::from(130),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(io::stderr().lock(), "ocrperf: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<io::Error>())
        .any(|io_err| io_err.kind() == io::ErrorKind::BrokenPipe)
}
