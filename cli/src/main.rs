//! The `ocrperf` binary: everything is in the library ([`ocrperf_cli::run`]).

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(ocrperf_cli::run(std::env::args_os(), ocrperf_cli::Host::OwnProcess))
}
