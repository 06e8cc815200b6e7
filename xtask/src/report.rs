//! `cargo xtask all`'s combined report: `target/ocrperf/report.md`, and `report.html` with
//! every chart inlined, so the page needs neither the other files nor a network.

use std::{fmt::Write as _, path::Path};

use anyhow::Context as _;
use metrics_schema::{HostInfo, PhaseReport, StepStatus};

use crate::{gate::demote, process::project_root};

/// A phase as the report shows it: its name and title, and its report when it ran.
pub(crate) struct PhaseOutcome<'a> {
    pub(crate) name: &'a str,
    pub(crate) title: &'a str,
    pub(crate) report: Option<PhaseReport>,
}

/// Writes `report.md` and `report.html` into `target/ocrperf`; returns their paths.
pub(crate) fn write(phases: &[PhaseOutcome<'_>]) -> anyhow::Result<[std::path::PathBuf; 2]> {
    let dir = project_root().join("target/ocrperf");
    std::fs::create_dir_all(&dir)?;
    let markdown = markdown(phases, &dir);
    let html = html(&markdown, &dir);
    let (md_path, html_path) = (dir.join("report.md"), dir.join("report.html"));
    metrics_schema::write_atomic(&md_path, |out| out.write_all(markdown.as_bytes()))?;
    metrics_schema::write_atomic(&html_path, |out| out.write_all(html.as_bytes())).context("writing report.html")?;
    Ok([md_path, html_path])
}

fn markdown(phases: &[PhaseOutcome<'_>], dir: &Path) -> String {
    let host = HostInfo::detect();
    let commit = std::env::current_dir().ok().and_then(|d| metrics_schema::GitInfo::detect(&d));
    let mut out = String::from("# ocrperf: every phase on the built-in data\n\n");
    let gpus = if host.gpus.is_empty() {
        "no GPU".to_owned()
    } else {
        host.gpus.iter().map(|g| g.name.clone()).collect::<Vec<_>>().join(", ")
    };
    let _ = writeln!(
        out,
        "{} on {} ({}, {} cores, {}){}.\n",
        metrics_schema::Timestamp::now(),
        host.hostname,
        host.cpu_model,
        host.logical_cores,
        gpus,
        commit
            .map(|git| format!(
                ", commit {}{}",
                &git.commit[..git.commit.len().min(12)],
                if git.dirty { " (dirty)" } else { "" }
            ))
            .unwrap_or_default()
    );
    let failed = phases.iter().find(|p| p.report.as_ref().is_some_and(|r| !r.passed));
    let _ = writeln!(
        out,
        "{}\n",
        match failed {
            None if phases.iter().all(|p| p.report.is_some()) => "**All phases passed.**".to_owned(),
            None => "**Not every phase ran.**".to_owned(),
            Some(phase) => format!("**{} failed**; the phases after it did not run.", phase.name),
        }
    );
    out.push_str("| phase | what | status |\n|---|---|---|\n");
    for phase in phases {
        let status = match &phase.report {
            Some(report) if report.passed => "passed",
            Some(_) => "FAILED",
            None => "not run",
        };
        let _ = writeln!(out, "| {} | {} | {status} |", phase.name, phase.title);
    }
    for phase in phases {
        let _ = writeln!(out, "\n## {}: {}\n", phase.name, phase.title);
        let Some(report) = &phase.report else {
            out.push_str("Not run, because an earlier phase failed.\n");
            continue;
        };
        out.push_str("| step | status | key figure | time |\n|---|---|---|---|\n");
        for step in &report.steps {
            let figure = step.key_figure.clone().or_else(|| step.detail.clone()).unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.1} s |",
                step.name,
                step.status.as_str(),
                figure.replace('|', "\\|"),
                step.seconds
            );
        }
        for step in report.steps.iter().filter(|s| s.status == StepStatus::Passed) {
            if let Ok(section) = std::fs::read_to_string(dir.join(format!("{}-section.md", step.name))) {
                // The section's own headings go below the step's.
                let _ = writeln!(out, "\n### {}\n\n{}", step.name, demote(section.trim_end(), 1).trim_end());
            }
            if step.name == "regression"
                && let Ok(baseline) = std::fs::read_to_string(dir.join("baseline.md"))
            {
                let _ = write!(
                    out,
                    "\n### The baseline of the built-in workload\n\n{}",
                    demote(&strip_title(&baseline), 2)
                );
            }
        }
    }
    out
}

/// A page's first `# ` title line removed (the report gives its own heading).
fn strip_title(markdown: &str) -> String {
    match markdown.strip_prefix("# ") {
        Some(rest) => rest.split_once('\n').map_or(String::new(), |(_, body)| body.to_owned()),
        None => markdown.to_owned(),
    }
}

fn html(markdown: &str, dir: &Path) -> String {
    let parser = pulldown_cmark::Parser::new_ext(markdown, pulldown_cmark::Options::ENABLE_TABLES);
    let mut body = String::new();
    pulldown_cmark::html::push_html(&mut body, parser);
    let body = inline_svgs(&body, dir);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>ocrperf report</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )
}

const CSS: &str =
    "body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.85em; color: #555; }
code { background: #f5f5f5; padding: 0 0.2em; }
";

/// Replaces each `<img src="x.svg" alt="...">` whose file exists under `dir` with the SVG itself.
fn inline_svgs(html: &str, dir: &Path) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<img src=\"") {
        out.push_str(&rest[..start]);
        let tag_end = rest[start..].find('>').map_or(rest.len(), |end| start + end + 1);
        let tag = &rest[start..tag_end];
        let src = tag["<img src=\"".len()..].split('"').next().unwrap_or_default();
        let alt = tag.split("alt=\"").nth(1).and_then(|a| a.split('"').next()).unwrap_or_default();
        let svg = (src.ends_with(".svg") && !src.contains(".."))
            .then(|| std::fs::read_to_string(dir.join(src)).ok())
            .flatten();
        match svg {
            Some(svg) => {
                let svg = svg.find("<svg").map_or(svg.as_str(), |at| &svg[at..]);
                let _ = write!(out, "<figure>{svg}<figcaption>{alt}</figcaption></figure>");
            }
            None => out.push_str(tag),
        }
        rest = &rest[tag_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
mod tests {
    use super::*;

    #[test]
    fn svgs_are_inlined_and_other_images_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("chart.svg"), "<?xml version=\"1.0\"?>\n<svg width=\"1\"></svg>").unwrap();
        let html = "<p><img src=\"chart.svg\" alt=\"step time\" /></p><p><img src=\"missing.svg\" alt=\"x\" /></p>";
        assert_eq!(
            inline_svgs(html, dir.path()),
            "<p><figure><svg width=\"1\"></svg><figcaption>step time</figcaption></figure></p><p><img src=\"missing.svg\" alt=\"x\" /></p>"
        );
    }

    #[test]
    fn nested_pages_lose_their_title_and_go_two_levels_down() {
        assert_eq!(demote(&strip_title("# Title\n\n## Part\ntext\n"), 2), "\n#### Part\ntext\n");
    }

    #[test]
    fn markdown_becomes_a_self_contained_page() {
        let dir = tempfile::tempdir().unwrap();
        let page = html("| a | b |\n|---|---|\n| 1 | 2 |\n", dir.path());
        assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<table>") && !page.contains("http"));
    }
}
