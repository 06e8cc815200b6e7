//! `ocrperf regress`: the performance gate. Exit 1 when a metric regressed, 3 when nothing gated
//! could be compared.

use ocrperf::regression;
use std::{io::Write as _, path::PathBuf, time::Instant};

use anyhow::Context as _;

use clap::Args;
use metrics_schema::{BaselineReport, Envelope, RegressReport, RegressSide, Verdict};
use regression::{
    BaselineOptions, Side, SourceSpec, Thresholds, Warmup, build_baseline, build_current, compare, gate, render,
};

use super::baseline::ReadArgs;
use crate::{
    Outcome,
    output::{Document, Ui},
};

#[derive(Debug, Args)]
pub(crate) struct RegressArgs {
    /// The baseline: a baseline.json, or the sources of the baseline run
    #[arg(long, required = true, num_args = 1.., value_name = "SOURCE")]
    baseline: Vec<PathBuf>,
    /// The current run: its sources, or its baseline.json
    #[arg(long, required = true, num_args = 1.., value_name = "SOURCE")]
    current: Vec<PathBuf>,
    /// Read only this run (name or id) of the baseline's sources
    #[arg(long, value_name = "NAME|ID")]
    baseline_run: Option<String>,
    /// Read only this run (name or id) of the current sources
    #[arg(long, value_name = "NAME|ID")]
    current_run: Option<String>,
    #[command(flatten)]
    read: ReadArgs,
    /// Also write the verdicts as JUnit XML (one test case per metric; a regression fails)
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Also write the report as Markdown (a pull-request comment, or for $GITHUB_STEP_SUMMARY)
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Also print GitHub Actions annotations on stdout (::error per regression)
    #[arg(long)]
    github: bool,
    /// Exit 0 instead of 3 when no gated metric could be compared
    #[arg(long)]
    allow_not_comparable: bool,
}

pub(crate) fn run(args: &RegressArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    // Before any work: an output over an input would destroy what is being compared.
    let outputs: Vec<(&str, &std::path::Path)> =
        [("-o", ui.output_path()), ("--junit", args.junit.as_deref()), ("--markdown", args.markdown.as_deref())]
            .into_iter()
            .filter_map(|(option, path)| Some((option, path?)))
            .collect();
    let inputs: Vec<PathBuf> = args.baseline.iter().chain(&args.current).cloned().collect();
    crate::output::refuse_overwriting_inputs(&outputs, &inputs, super::baseline::is_read_as_input)?;
    let thresholds = args.read.thresholds()?;
    let warmup = args.read.warmup(&thresholds)?;
    let baseline = side(&args.baseline, args.baseline_run.as_ref(), args, &thresholds, warmup, None, ui)
        .context("the baseline")?;
    let current = side(&args.current, args.current_run.as_ref(), args, &thresholds, warmup, Some(&baseline), ui)
        .context("the current run")?;
    let labels = [label(&args.baseline), label(&args.current)];
    let report = compare(&baseline, &current, [&labels[0], &labels[1]], &thresholds);
    let envelope = Envelope::for_this_machine(report);
    let document = regress_document(&envelope.report);
    ui.emit(&envelope, &document)?;
    if args.github {
        let annotations = render::github_annotations(&envelope.report);
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(annotations.as_bytes()).and_then(|()| stdout.flush()).context("writing to stdout")?;
    }
    if let Some(path) = &args.junit {
        let xml = render::junit_xml(&envelope.report);
        metrics_schema::write_atomic(path, |out| out.write_all(xml.as_bytes()))?;
        ui.note(format_args!("wrote {}", path.display()));
    }
    if let Some(path) = &args.markdown {
        let markdown = document.to_markdown();
        metrics_schema::write_atomic(path, |out| out.write_all(markdown.as_bytes()))?;
        ui.note(format_args!("wrote {}", path.display()));
    }
    let report = &envelope.report;
    let not_comparable: Vec<&str> =
        report.comparisons.iter().filter(|c| c.verdict == Verdict::NotComparable).map(|c| c.name.as_str()).collect();
    Ok(match report.verdict {
        Verdict::Regressed => Outcome::CheckFailed,
        // Nothing was compared: not a pass (a renamed metric, another GPU, an empty run).
        Verdict::NotComparable if !args.allow_not_comparable => {
            // Said even with --quiet: like an error, it is why the exit code is not 0.
            let _ = writeln!(
                std::io::stderr().lock(),
                "ocrperf: nothing was compared: {} (exit 3; --allow-not-comparable accepts this)",
                nothing_compared_reason(report)
            );
            Outcome::NothingCompared
        }
        _ => {
            if !not_comparable.is_empty() {
                ui.note(format_args!(
                    "warning: {} gated metric{} not comparable: {}",
                    not_comparable.len(),
                    if not_comparable.len() == 1 { " is" } else { "s are" },
                    list_names(&not_comparable)
                ));
            }
            Outcome::Success
        }
    })
}

/// Why the gate compared nothing, in a few words.
fn nothing_compared_reason(report: &RegressReport) -> String {
    if let Some(environment) = &report.environment {
        return environment.clone();
    }
    if report.comparisons.is_empty() {
        return "no gated metric on either side".to_owned();
    }
    let first = &report.comparisons[0];
    let count = report.comparisons.len();
    format!(
        "{count} gated metric{}, none on both sides comparably (`{}`: {})",
        if count == 1 { "" } else { "s" },
        first.name,
        first.reason
    )
}

/// `a, b, c` or `a, b, c and 4 more`.
fn list_names(names: &[&str]) -> String {
    const SHOWN: usize = 5;
    let shown = names.iter().take(SHOWN).copied().collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN { format!("{shown} and {} more", names.len() - SHOWN) } else { shown }
}

/// One side as a baseline: read from its file, or summarised from its sources.
fn side(
    paths: &[PathBuf],
    run: Option<&String>,
    args: &RegressArgs,
    thresholds: &Thresholds,
    warmup: Warmup,
    reference: Option<&BaselineReport>,
    ui: &Ui,
) -> anyhow::Result<BaselineReport> {
    let spec = SourceSpec { paths: paths.to_vec(), run: run.cloned(), repeats: args.read.repeats };
    let clock = Instant::now();
    // The baseline side is the one without a reference.
    let run_option = if reference.is_some() { "--current-run" } else { "--baseline-run" };
    Ok(match args.read.load(&spec, run_option, ui)? {
        Side::Baseline(envelope) => envelope.report,
        Side::Runs(runs) => {
            let options = BaselineOptions { warmup, thresholds, read_seconds: clock.elapsed().as_secs_f64() };
            // The current run loses no more of its start to warm-up than the baseline did.
            let report = match reference {
                Some(baseline) => build_current(&runs, &options, baseline),
                None => build_baseline(&runs, &options),
            };
            super::baseline::check_baseline(&report, &runs, paths, ui)?;
            report
        }
    })
}

/// The sources as given, or for many (repeated runs) the first and last and how many.
fn label(paths: &[PathBuf]) -> String {
    match paths {
        [] => String::new(),
        [one] => one.display().to_string(),
        [first, second] => format!("{} {}", first.display(), second.display()),
        [first, .., last] => format!("{} … {} ({} sources)", first.display(), last.display(), paths.len()),
    }
}

fn describe_side(side: &RegressSide) -> String {
    let run = &side.run;
    let mut parts = vec![side.label.clone()];
    if let Some(name) = run.name.as_ref().or(run.id.as_ref()) {
        parts.push(format!("run {name}"));
    }
    if !run.tool.is_empty() {
        parts.push(run.tool.clone());
    }
    if let Some(host) = &run.host {
        parts.push(format!("on {host}"));
    }
    if !run.gpus.is_empty() {
        parts.push(gate::describe_gpus(&run.gpus));
    }
    if side.runs > 1 {
        parts.push(format!("{} runs", side.runs));
    }
    parts.join(", ")
}

fn regress_document(report: &RegressReport) -> Document {
    let counts = &report.counts;
    let compared = counts.regressed + counts.improved + counts.unchanged + counts.not_comparable;
    let headline = match report.verdict {
        Verdict::Regressed => format!("REGRESSED ({} of {compared} metrics)", counts.regressed),
        Verdict::Improved => format!("improved ({} of {compared} metrics), no regression", counts.improved),
        Verdict::Unchanged => format!("unchanged ({compared} metrics)"),
        _ => format!("not comparable ({compared} metrics)"),
    };
    let mut doc = Document::new(format!("Performance gate: {headline}"));
    let settings = &report.settings;
    let mut fields = vec![
        ("baseline".to_owned(), describe_side(&report.baseline)),
        ("current".to_owned(), describe_side(&report.current)),
        (
            "settings".to_owned(),
            format!(
                "threshold {}, alpha {}, {:.0}% intervals{}{}",
                gate::percent(settings.threshold),
                settings.alpha,
                settings.confidence * 100.0,
                if settings.require_same_host { ", same host required" } else { "" },
                settings.thresholds_file.as_ref().map(|file| format!(", from {file}")).unwrap_or_default()
            ),
        ),
    ];
    if let Some(environment) = &report.environment {
        fields.push(("not comparable".to_owned(), environment.clone()));
    }
    fields.push(("rule".to_owned(), report.rule.clone()));
    doc.fields(None, fields);
    let value = |v: Option<f64>, unit| v.map_or("n/a".to_owned(), |v| render::format_value(v, unit));
    let rows = report
        .comparisons
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                value(c.baseline, c.unit),
                value(c.current, c.unit),
                c.change.map_or("n/a".to_owned(), gate::format_change),
                c.ci.map_or("n/a".to_owned(), |[low, high]| {
                    format!("{} to {}", gate::format_change(low), gate::format_change(high))
                }),
                c.p.map_or("n/a".to_owned(), gate::format_p),
                c.rule.as_str().to_owned(),
                c.verdict.as_str().to_owned(),
                c.reason.clone(),
            ]
        })
        .collect();
    let ci = format!("{:.0}% CI", settings.confidence * 100.0);
    doc.table(Some("Metrics"), &["metric", "baseline", "current", "change", &ci, "p", "rule", "verdict", "why"], rows);
    if counts.not_gated > 0 {
        doc.fields(
            None,
            vec![(
                "not gated".to_owned(),
                format!(
                    "{} {} without a direction, ignored, or a single run's tail (p95, p99, max)",
                    counts.not_gated,
                    if counts.not_gated == 1 { "metric" } else { "metrics" }
                ),
            )],
        );
    }
    doc
}
