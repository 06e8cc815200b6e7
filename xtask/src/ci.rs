//! `cargo xtask ci`: the checks a change must pass, in order of how fast they fail.

use crate::process::{cargo, run_visible};

pub(crate) fn run() -> anyhow::Result<bool> {
    let checks: [(&str, &[&str]); 3] = [
        ("format", &["fmt", "--all", "--", "--check"]),
        ("clippy", &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"]),
        ("tests", &["test", "--workspace", "--locked"]),
    ];
    let mut timings = Vec::new();
    for (name, args) in checks {
        let (ok, seconds) = run_visible(cargo().args(args))?;
        timings.push((name, ok, seconds));
        if !ok {
            print_summary(&timings);
            eprintln!("xtask ci: {name} failed");
            return Ok(false);
        }
    }
    print_summary(&timings);
    Ok(true)
}

fn print_summary(timings: &[(&str, bool, f64)]) {
    println!();
    for (name, ok, seconds) in timings {
        let status = if *ok { "ok" } else { "FAILED" };
        println!("ci: {name:<8} {status:<6} {seconds:>7.1}s");
    }
}
