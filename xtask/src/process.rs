//! Running cargo and other programs from the project root.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use anyhow::Context;

/// The workspace root, one level above this crate.
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits one level below the root").to_owned()
}

/// `cargo`, the same one that runs xtask.
pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(project_root());
    cmd
}

/// Runs `cmd` with inherited output, announcing it first. Returns whether it succeeded and how
/// long it took.
pub(crate) fn run_visible(cmd: &mut Command) -> anyhow::Result<(bool, f64)> {
    let shown = describe(cmd);
    println!("==> {shown}");
    let start = Instant::now();
    let status = cmd.status().with_context(|| format!("could not start `{shown}`"))?;
    Ok((status.success(), start.elapsed().as_secs_f64()))
}

/// The command line as a person would type it.
pub(crate) fn describe(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program()).file_name().unwrap_or(cmd.get_program()).to_string_lossy();
    let args: Vec<_> = cmd.get_args().map(|arg| arg.to_string_lossy()).collect();
    format!("{program} {}", args.join(" "))
}
