//! One module per subcommand; this file only dispatches.

pub(crate) mod baseline;
pub(crate) mod info;
pub(crate) mod monitor;
pub(crate) mod regress;
pub(crate) mod targets;
pub(crate) mod throughput;
pub(crate) mod trace;

use crate::{Outcome, args::Command, output::Ui};

pub(crate) fn run(command: Command, ui: &Ui) -> anyhow::Result<Outcome> {
    match command {
        Command::Info(args) => info::run(&args, ui),
        Command::Targets(args) => targets::run(&args, ui),
        Command::Trace(args) => trace::run(&args, ui),
        Command::Monitor(args) => monitor::run(&args, ui),
        Command::Throughput(args) => throughput::run(&args, ui),
        Command::Baseline(args) => baseline::run(&args, ui),
        Command::Regress(args) => regress::run(&args, ui),
    }
}
