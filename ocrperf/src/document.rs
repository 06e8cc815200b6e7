//! A report laid out for people: a title and sections of fields or tables, rendered as aligned
//! text (optionally coloured) or as Markdown.
//!
//! It lives here rather than in `cli` so that every front end renders a report through the same
//! code: `ocrperf trace analyze --format md` and the Python package's `analyze_traces` write the
//! same page.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

/// A report laid out for people: a title and sections of fields or tables. The same document
/// renders as aligned text or as Markdown, so every report gets both for free.
///
/// ```
/// let mut doc = ocrperf::document::Document::new("Report");
/// doc.fields(None, vec![("name".into(), "value".into())]);
/// assert_eq!(doc.to_markdown(), "# Report\n\n| field | value |\n|---|---|\n| name | value |\n");
/// ```
#[derive(Debug, Default, Clone)]
pub struct Document {
    title: String,
    sections: Vec<Section>,
}

#[derive(Debug, Clone)]
struct Section {
    heading: Option<String>,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Field lists have no header row in text form.
    is_fields: bool,
}

impl Document {
    /// An empty document with a title.
    pub fn new(title: impl Into<String>) -> Document {
        Document { title: title.into(), sections: Vec::new() }
    }

    /// A list of `name  value` lines.
    pub fn fields(&mut self, heading: Option<&str>, fields: Vec<(String, String)>) -> &mut Self {
        self.sections.push(Section {
            heading: heading.map(str::to_owned),
            columns: vec!["field".into(), "value".into()],
            rows: fields.into_iter().map(|(name, value)| vec![name, value]).collect(),
            is_fields: true,
        });
        self
    }

    /// A table with a header row.
    pub fn table(&mut self, heading: Option<&str>, columns: &[&str], rows: Vec<Vec<String>>) -> &mut Self {
        self.sections.push(Section {
            heading: heading.map(str::to_owned),
            columns: columns.iter().map(|&c| c.to_owned()).collect(),
            rows,
            is_fields: false,
        });
        self
    }

    /// Aligned text for a terminal; `color` adds ANSI bold and colour to titles and headers.
    pub fn to_text(&self, color: bool) -> String {
        let paint = |style: Style, text: &str| {
            if color { format!("{}{text}{}", style.render(), style.render_reset()) } else { text.to_owned() }
        };
        let bold = Style::new().bold();
        let header = Style::new().bold().fg_color(Some(AnsiColor::Cyan.into()));
        let mut out = String::new();
        let _ = writeln!(out, "{}", paint(bold, &self.title));
        for section in &self.sections {
            out.push('\n');
            if let Some(heading) = &section.heading {
                let _ = writeln!(out, "{}", paint(bold, heading));
            }
            let widths = column_widths(section);
            if !section.is_fields {
                let line = pad_row(&section.columns, &widths);
                let _ = writeln!(out, "  {}", paint(header, &line));
            }
            for row in &section.rows {
                let _ = writeln!(out, "  {}", pad_row(row, &widths));
            }
        }
        out
    }

    /// GitHub-flavoured Markdown: the title as `#`, headings as `##`, every section a table.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("# {}\n", escape_markdown(&self.title));
        for section in &self.sections {
            out.push('\n');
            if let Some(heading) = &section.heading {
                let _ = writeln!(out, "## {}\n", escape_markdown(heading));
            }
            let cells = |row: &[String]| row.iter().map(|cell| escape_markdown(cell)).collect::<Vec<_>>().join(" | ");
            let _ = writeln!(out, "| {} |", cells(&section.columns));
            let _ = writeln!(out, "|{}", "---|".repeat(section.columns.len()));
            for row in &section.rows {
                let _ = writeln!(out, "| {} |", cells(row));
            }
        }
        out
    }
}

fn column_widths(section: &Section) -> Vec<usize> {
    let mut widths = vec![0; section.columns.len()];
    let header = (!section.is_fields).then_some(&section.columns);
    for row in header.into_iter().chain(&section.rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    widths
}

fn pad_row(row: &[String], widths: &[usize]) -> String {
    let mut line = String::new();
    for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
        if i + 1 == row.len() {
            line.push_str(cell);
        } else {
            let _ = write!(line, "{cell:<width$}  ");
        }
    }
    line
}

fn escape_markdown(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Document {
        let mut doc = Document::new("Report");
        doc.fields(None, vec![("name".into(), "a|b".into()), ("longer name".into(), "2".into())]);
        doc.table(Some("Steps"), &["step", "status"], vec![vec!["parity".into(), "passed".into()]]);
        doc
    }

    #[test]
    fn text_is_aligned() {
        assert_eq!(
            sample().to_text(false),
            "Report\n\n  name         a|b\n  longer name  2\n\nSteps\n  step    status\n  parity  passed\n"
        );
        assert!(sample().to_text(true).contains("\u{1b}["));
    }

    #[test]
    fn markdown_escapes_pipes() {
        assert_eq!(
            sample().to_markdown(),
            "# Report\n\n| field | value |\n|---|---|\n| name | a\\|b |\n| longer name | 2 |\n\n## Steps\n\n| step | status |\n|---|---|\n| parity | passed |\n"
        );
    }
}
