//! `cargo xtask phase1|phase2|phase3|all`.
//!
//! A phase is a list of steps; a step exercises one crate: its tests, then its demo on the
//! built-in data, which yields the step's key figure. Adding a capability means adding its step
//! here (with its demo) and nothing else.

use std::{collections::BTreeSet, path::PathBuf, time::Instant};

use anyhow::Context as _;
use metrics_schema::{Envelope, PhaseReport, PhaseStep, Report, StepStatus};
use serde::{Deserialize, de::DeserializeOwned};

use crate::{
    process::{cargo, describe, project_root, run_visible},
    report::PhaseOutcome,
};

/// A step's demo: runs the capability on built-in data and returns the key figure.
type Demo = fn(&DemoContext) -> anyhow::Result<String>;

struct Phase {
    name: &'static str,
    title: &'static str,
    steps: &'static [Step],
}

struct Step {
    name: &'static str,
    crate_name: &'static str,
    /// Where the crate's work is tracked, for the "not built yet" message.
    issue: &'static str,
    /// `None` until the crate lands with its demo.
    demo: Option<Demo>,
}

const PHASES: &[Phase] = &[
    Phase {
        name: "phase1",
        title: "regression baselines and the CI gate",
        steps: &[Step {
            name: "regression",
            crate_name: "regression",
            issue: "issue #11",
            demo: Some(crate::gate::demo),
        }],
    },
    Phase {
        name: "phase2",
        title: "DBNet targets with the polygon cache",
        steps: &[Step {
            name: "targets",
            crate_name: "polygon-cache",
            issue: "issue #3",
            demo: Some(crate::targets::demo),
        }],
    },
    Phase {
        name: "phase3",
        title: "throughput, profiler traces, resource monitoring",
        steps: &[
            Step {
                name: "throughput",
                crate_name: "throughput",
                issue: "issue #6",
                demo: Some(crate::throughput::demo),
            },
            Step { name: "trace", crate_name: "profiler-analyze", issue: "issue #4", demo: Some(crate::trace::demo) },
            Step {
                name: "monitor",
                crate_name: "resource-monitor",
                issue: "issue #5",
                demo: Some(crate::monitor::demo),
            },
        ],
    },
];

/// What the demos share: the release `ocrperf` binary, built once.
pub(crate) struct DemoContext {
    pub(crate) ocrperf: PathBuf,
}

impl DemoContext {
    /// Leaves `markdown` as the step's section of the combined report (`cargo xtask all`).
    pub(crate) fn write_section(&self, step: &str, markdown: &str) -> anyhow::Result<()> {
        let path = project_root().join("target/ocrperf").join(format!("{step}-section.md"));
        metrics_schema::write_atomic(&path, |out| out.write_all(markdown.as_bytes()))?;
        Ok(())
    }

    /// Runs the release `ocrperf` with `args` plus `-q`; exit 0 or 1 (a failed check) is fine.
    pub(crate) fn ocrperf(&self, args: &[&str]) -> anyhow::Result<std::process::Output> {
        let mut cmd = std::process::Command::new(&self.ocrperf);
        cmd.current_dir(project_root()).args(args).arg("-q");
        let output = cmd.output().with_context(|| format!("could not run `{}`", describe(&cmd)))?;
        anyhow::ensure!(
            matches!(output.status.code(), Some(0 | 1)),
            "`{}` failed: {}",
            describe(&cmd),
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Ok(output)
    }

    /// Runs the release `ocrperf` with `args` plus `--format json -q` and reads its report
    /// through the report's own type (exit 1, a failed check, still has one).
    pub(crate) fn ocrperf_report<T: Report + DeserializeOwned>(&self, args: &[&str]) -> anyhow::Result<Envelope<T>> {
        let args = [args, &["--format", "json"]].concat();
        let output = self.ocrperf(&args)?;
        parse_report(&output.stdout, &format!("ocrperf {}", args.join(" ")))
    }
}

/// A command's JSON report read through its type (`Envelope<T>`): a field renamed or missing
/// is an error naming the command, never a NaN in a table.
pub(crate) fn parse_report<T: Report + DeserializeOwned>(stdout: &[u8], command: &str) -> anyhow::Result<Envelope<T>> {
    let text = std::str::from_utf8(stdout).with_context(|| format!("`{command}` printed no text"))?;
    Envelope::from_json(text).with_context(|| format!("the report of `{command}`"))
}

pub(crate) fn run_one(name: &str) -> anyhow::Result<bool> {
    let members = workspace_members()?;
    let phase = PHASES.iter().find(|phase| phase.name == name).context("no such phase")?;
    let mut context = None;
    Ok(run_phase(phase, &members, &mut context)?.passed)
}

pub(crate) fn run_all() -> anyhow::Result<bool> {
    let members = workspace_members()?;
    println!("Phases and the crates they need:");
    for phase in PHASES {
        let missing = missing_crates(phase, &members);
        let readiness =
            if missing.is_empty() { "ready".to_owned() } else { format!("not built yet ({})", missing.join(", ")) };
        println!("  {:<7} {:<50} {readiness}", phase.name, phase.title);
    }
    println!();
    let mut context = None;
    let mut outcomes: Vec<PhaseOutcome<'_>> =
        PHASES.iter().map(|phase| PhaseOutcome { name: phase.name, title: phase.title, report: None }).collect();
    let mut passed = true;
    for (index, phase) in PHASES.iter().enumerate() {
        let report = run_phase(phase, &members, &mut context)?;
        let ok = report.passed;
        outcomes[index].report = Some(report);
        if !ok {
            let skipped: Vec<_> = PHASES[index + 1..].iter().map(|p| p.name).collect();
            if !skipped.is_empty() {
                println!("not run, because {} failed: {}", phase.name, skipped.join(", "));
            }
            passed = false;
            break;
        }
        println!();
    }
    let [markdown, html] = crate::report::write(&outcomes)?;
    println!("wrote {} and {}", markdown.display(), html.display());
    println!("{}", if passed { "all phases passed" } else { "a phase failed" });
    Ok(passed)
}

fn run_phase(
    phase: &Phase,
    members: &BTreeSet<String>,
    context: &mut Option<DemoContext>,
) -> anyhow::Result<PhaseReport> {
    println!("== {}: {} ==", phase.name, phase.title);
    let mut steps = Vec::new();
    let mut failed = false;
    // A missing crate fails the phase but does not stop the steps after it from running.
    let mut broken = false;
    for step in phase.steps {
        let started = Instant::now();
        let (status, key_figure, detail) = if !members.contains(step.crate_name) {
            let detail = format!("crate `{}` is not in the workspace yet ({})", step.crate_name, step.issue);
            (StepStatus::Missing, None, Some(detail))
        } else if broken {
            (StepStatus::Skipped, None, Some("an earlier step failed".to_owned()))
        } else {
            let context = match context {
                Some(context) => context,
                None => context.insert(prepare_context()?),
            };
            run_step(step, context)?
        };
        failed |= status != StepStatus::Passed;
        broken |= status == StepStatus::Failed;
        steps.push(PhaseStep {
            name: step.name.to_owned(),
            crate_name: step.crate_name.to_owned(),
            status,
            key_figure,
            detail,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let report = PhaseReport { phase: phase.name.to_owned(), passed: !failed, steps };
    print_table(&report);
    let path = write_report(report.clone())?;
    println!("wrote {}", path.display());
    let missing = missing_crates(phase, members);
    if !missing.is_empty() {
        println!("{} is not built yet: it needs {}", phase.name, missing.join(", "));
    }
    Ok(report)
}

fn run_step(step: &Step, context: &DemoContext) -> anyhow::Result<(StepStatus, Option<String>, Option<String>)> {
    let (tests_ok, _) = run_visible(cargo().args(["test", "--locked", "--package", step.crate_name]))?;
    if !tests_ok {
        return Ok((StepStatus::Failed, None, Some(format!("tests of `{}` failed", step.crate_name))));
    }
    let Some(demo) = step.demo else {
        let detail = format!("crate `{}` exists but its phase step has no demo wired in xtask", step.crate_name);
        return Ok((StepStatus::Failed, None, Some(detail)));
    };
    Ok(match demo(context) {
        Ok(figure) => (StepStatus::Passed, Some(figure), None),
        Err(err) => (StepStatus::Failed, None, Some(format!("{err:#}"))),
    })
}

pub(crate) fn prepare_context() -> anyhow::Result<DemoContext> {
    let mut build = cargo();
    build.args(["build", "--release", "--locked", "--package", "cli"]);
    let (ok, _) = run_visible(&mut build)?;
    anyhow::ensure!(ok, "`{}` failed", describe(&build));
    Ok(DemoContext { ocrperf: project_root().join("target").join("release").join("ocrperf") })
}

fn missing_crates(phase: &Phase, members: &BTreeSet<String>) -> Vec<String> {
    phase
        .steps
        .iter()
        .filter(|step| !members.contains(step.crate_name))
        .map(|step| format!("`{}` ({})", step.crate_name, step.issue))
        .collect()
}

fn print_table(report: &PhaseReport) {
    let rows: Vec<[String; 4]> = report
        .steps
        .iter()
        .map(|step| {
            let figure = step.key_figure.clone().or_else(|| step.detail.clone()).unwrap_or_default();
            [step.name.clone(), step.status.as_str().to_owned(), figure, format!("{:.1}s", step.seconds)]
        })
        .collect();
    let header = ["step", "status", "key figure", "time"].map(str::to_owned);
    let mut widths = [0; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        println!(
            "  {:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
    }
    println!("{}: {}", report.phase, if report.passed { "passed" } else { "FAILED" });
}

fn write_report(report: PhaseReport) -> anyhow::Result<PathBuf> {
    let dir = project_root().join("target").join("ocrperf");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("{}.json", report.phase));
    let envelope = Envelope::for_this_machine(report);
    metrics_schema::write_atomic(&path, |out| {
        serde_json::to_writer_pretty(&mut *out, &envelope)?;
        out.write_all(b"\n")
    })?;
    Ok(path)
}

fn workspace_members() -> anyhow::Result<BTreeSet<String>> {
    #[derive(Deserialize)]
    struct Metadata {
        packages: Vec<Package>,
    }
    #[derive(Deserialize)]
    struct Package {
        name: String,
    }
    let output = cargo()
        .args(["metadata", "--no-deps", "--format-version", "1", "--locked"])
        .output()
        .context("running cargo metadata")?;
    anyhow::ensure!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: Metadata = serde_json::from_slice(&output.stdout).context("reading cargo metadata")?;
    Ok(metadata.packages.into_iter().map(|package| package.name).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_planned_crate_is_named_once() {
        let mut seen = BTreeSet::new();
        for step in PHASES.iter().flat_map(|phase| phase.steps) {
            assert!(seen.insert(step.crate_name), "{} appears twice", step.crate_name);
        }
        assert_eq!(PHASES.iter().map(|p| p.name).collect::<Vec<_>>(), ["phase1", "phase2", "phase3"]);
    }

    #[test]
    fn a_crate_in_the_workspace_has_its_demo_wired() {
        let members = workspace_members().unwrap();
        for step in PHASES.iter().flat_map(|phase| phase.steps) {
            if members.contains(step.crate_name) {
                assert!(step.demo.is_some(), "crate `{}` landed without its phase demo", step.crate_name);
            }
        }
    }

    #[test]
    fn missing_crates_are_named_with_their_issue() {
        let members = BTreeSet::from(["cli".to_owned()]);
        assert_eq!(missing_crates(&PHASES[1], &members), ["`polygon-cache` (issue #3)"]);
    }
}
