//! Text forms of baselines and verdicts that both front ends share: the baseline's Markdown
//! page, JUnit XML and GitHub Actions annotations of a gate run, and numbers for people.

use std::fmt::Write as _;

use metrics_schema::{BaselineMetric, BaselineReport, Direction, MetricKind, RegressReport, Severity, Unit, Verdict};

use crate::{
    charts::Chart,
    gate::{describe_gpus, format_change, p_equals, trim_number},
};

/// A value with its unit, for tables: `812.4/s`, `12.31 ms`, `0.30 ms` for seconds below one,
/// `1.5 GiB`, `97%`.
pub fn format_value(value: f64, unit: Unit) -> String {
    if !value.is_finite() {
        return "n/a".to_owned();
    }
    match unit {
        Unit::Seconds if value.abs() < 1.0 => format!("{} ms", trim_number(value * 1e3)),
        Unit::Seconds => format!("{} s", trim_number(value)),
        Unit::Milliseconds => format!("{} ms", trim_number(value)),
        Unit::Microseconds => format!("{} µs", trim_number(value)),
        Unit::PerSecond => format!("{}/s", trim_number(value)),
        Unit::Percent => format!("{}%", trim_number(value)),
        Unit::Bytes => metrics_schema::format_bytes(value.max(0.0).round() as u64),
        Unit::Celsius => format!("{} °C", trim_number(value)),
        Unit::Watts => format!("{} W", trim_number(value)),
        _ => trim_number(value),
    }
}

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::Warning => "warning",
        _ => "info",
    }
}

fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The baseline as one Markdown page: environment, bottlenecks, summary table, charts.
/// `charts` are linked by file name (written beside the page).
pub fn baseline_markdown(report: &BaselineReport, charts: &[Chart]) -> String {
    let run = &report.run;
    let mut out = String::new();
    let title = run.name.clone().or_else(|| run.id.clone()).unwrap_or_else(|| "run".to_owned());
    let _ = writeln!(out, "# Performance baseline: {}\n", escape_cell(&title));
    let gated = report.metrics.iter().filter(|m| m.better != Direction::Info).count();
    let _ = writeln!(
        out,
        "{} metrics ({gated} gated) from {} file{} ({:.1} MB) of {}{}. Warm-up: {}.\n",
        report.metrics.len(),
        report.read.files,
        if report.read.files == 1 { "" } else { "s" },
        report.read.bytes as f64 / 1e6,
        if run.tool.is_empty() { "the sources" } else { &run.tool },
        if report.runs > 1 { format!(", {} repeated runs", report.runs) } else { String::new() },
        report.warmup_rule,
    );

    out.push_str("## Environment\n\n| | |\n|---|---|\n");
    let mut row = |name: &str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            let _ = writeln!(out, "| {name} | {} |", escape_cell(&value));
        }
    };
    row("run", run.name.clone());
    row("run id", run.id.clone());
    row("tool", Some(run.tool.clone()));
    row("started", run.started_at.map(|t| t.to_string()));
    row("host", run.host.clone());
    row("CPU", run.cpu_model.clone());
    row("GPUs", (!run.gpus.is_empty()).then(|| describe_gpus(&run.gpus)));
    row("git commit", run.git_commit.clone());
    out.push('\n');

    out.push_str("## Bottlenecks\n\n");
    if report.findings.is_empty() {
        out.push_str("The sources hold nothing to judge bottlenecks by: no step time, data wait, throughput or GPU utilisation series, and no ocrperf report.\n\n");
    }
    for finding in &report.findings {
        let _ = write!(out, "- **{}**: {}", severity_word(finding.severity), escape_cell(&finding.title));
        if !finding.suggestion.is_empty() {
            let _ = write!(out, ". {}", finding.suggestion);
        }
        let evidence: Vec<String> =
            finding.evidence.iter().map(|(key, value)| format!("{key} = {}", trim_number(*value))).collect();
        if !evidence.is_empty() {
            let _ = write!(out, " _({})_", evidence.join(", "));
        }
        out.push('\n');
    }
    out.push('\n');

    out.push_str("## Summary\n\n");
    let table = |out: &mut String, metrics: &[&BaselineMetric]| {
        out.push_str("| metric | better | median | p95 | mean ± sd | samples | warm-up | from |\n|---|---|---|---|---|---|---|---|\n");
        for metric in metrics {
            let d = &metric.distribution;
            let samples = match metric.kind {
                MetricKind::Scalar => "1 value".to_owned(),
                MetricKind::Series => metric.samples.to_string(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} ± {} | {samples} | {} | {} |",
                escape_cell(&metric.name),
                metric.better.as_str(),
                format_value(d.p50, metric.unit),
                format_value(d.p95, metric.unit),
                format_value(d.mean, metric.unit),
                format_value(d.stddev, metric.unit),
                metric.warmup,
                escape_cell(&metric.direction_from),
            );
        }
    };
    let (gated_metrics, info): (Vec<&BaselineMetric>, Vec<&BaselineMetric>) =
        report.metrics.iter().partition(|m| m.better != Direction::Info);
    if gated_metrics.is_empty() {
        out.push_str(
            "No metric has a direction, so the gate has nothing to compare; name directions in a thresholds file.\n",
        );
    } else {
        table(&mut out, &gated_metrics);
    }
    if !info.is_empty() {
        let _ = writeln!(out, "\n<details><summary>{} metrics without a direction (not gated)</summary>\n", info.len());
        table(&mut out, &info);
        out.push_str("\n</details>\n");
    }
    out.push('\n');

    if !charts.is_empty() {
        out.push_str(
            "## Charts\n\nThe shaded start is the warm-up left out; the red line is the steady-state median.\n\n",
        );
        for chart in charts {
            let _ = writeln!(out, "![{}]({})\n", escape_cell(&chart.metric), chart.file_name);
        }
    }
    if !report.damage.is_empty() || !report.notes.is_empty() {
        out.push_str("## Notes\n\n");
        for damage in &report.damage {
            let _ = writeln!(
                out,
                "- damaged input, read up to the damage (`--lenient`): {} at byte {}: {}",
                damage.file, damage.offset, damage.message
            );
        }
        for note in &report.notes {
            let _ = writeln!(out, "- {}", escape_cell(note));
        }
        out.push('\n');
    }
    out.push_str("## Sources\n\n");
    for source in &report.sources {
        let _ = writeln!(out, "- `{source}`");
    }
    out
}

/// XML's five escapes (text and attribute values alike).
fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// The verdicts as JUnit XML: one test case per gated metric; a regression is a failure, a
/// metric that could not be compared is skipped.
pub fn junit_xml(report: &RegressReport) -> String {
    let total = report.comparisons.len();
    let failures = report.counts.regressed;
    let skipped = report.counts.not_comparable;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"ocrperf regress\" tests=\"{total}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"ocrperf regress\" tests=\"{total}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">"
    );
    for comparison in &report.comparisons {
        let _ = write!(out, "    <testcase classname=\"ocrperf.regress\" name=\"{}\">", escape_xml(&comparison.name));
        let summary = comparison_line(comparison);
        match comparison.verdict {
            Verdict::Regressed => {
                let _ = write!(
                    out,
                    "\n      <failure type=\"regressed\" message=\"{}\">{}</failure>\n    ",
                    escape_xml(&comparison.reason),
                    escape_xml(&summary)
                );
            }
            Verdict::NotComparable => {
                let _ = write!(out, "\n      <skipped message=\"{}\"/>\n    ", escape_xml(&comparison.reason));
            }
            _ => {
                let _ = write!(out, "\n      <system-out>{}</system-out>\n    ", escape_xml(&summary));
            }
        }
        out.push_str("</testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// One line per comparison for logs: `step_ms: regressed: 10.1 ms → 11.2 ms, +10.9% ...`.
pub fn comparison_line(comparison: &metrics_schema::Comparison) -> String {
    let value = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format_value(v, comparison.unit));
    let mut line = format!(
        "{}: {}: {} → {}",
        comparison.name,
        comparison.verdict.as_str(),
        value(comparison.baseline),
        value(comparison.current)
    );
    if let Some(change) = comparison.change {
        let _ = write!(line, ", {}", format_change(change));
    }
    if let Some([low, high]) = comparison.ci {
        let _ = write!(line, " (CI {} to {})", format_change(low), format_change(high));
    }
    if let Some(p) = comparison.p {
        let _ = write!(line, ", {}", p_equals(p));
    }
    let _ = write!(line, " [{}]: {}", comparison.rule.as_str(), comparison.reason);
    line
}

/// GitHub Actions workflow commands: `::error` per regression, `::notice` per improvement,
/// `::warning` per metric that could not be compared.
/// <https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions>
pub fn github_annotations(report: &RegressReport) -> String {
    let mut out = String::new();
    for comparison in &report.comparisons {
        let (command, title) = match comparison.verdict {
            Verdict::Regressed => ("error", "Performance regression"),
            Verdict::Improved => ("notice", "Performance improvement"),
            Verdict::NotComparable => ("warning", "Performance not comparable"),
            _ => continue,
        };
        let title = format!("{title}: {}", comparison.name);
        let _ = writeln!(
            out,
            "::{command} title={}::{}",
            escape_property(&title),
            escape_data(&comparison_line(comparison))
        );
    }
    out
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_with_units() {
        assert_eq!(format_value(0.0123, Unit::Seconds), "12.3 ms");
        assert_eq!(format_value(2.5, Unit::Seconds), "2.5 s");
        assert_eq!(format_value(812.44, Unit::PerSecond), "812.4/s");
        assert_eq!(format_value(3.0 * 1024.0 * 1024.0, Unit::Bytes), "3.0 MiB");
        assert_eq!(format_value(f64::NAN, Unit::Ratio), "n/a");
    }

    #[test]
    fn escapes() {
        assert_eq!(escape_xml("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(escape_property("Performance regression: a,b"), "Performance regression%3A a%2Cb");
        assert_eq!(escape_data("50% \n"), "50%25 %0A");
    }
}
