//! Rendering reports for people (tables, Markdown) and tools (JSON), and writing them out.

use std::{
    fmt,
    io::{self, IsTerminal, Write},
    path::{Path, PathBuf},
};

use anyhow::Context;
use metrics_schema::{Envelope, Report};

use crate::args::{Format, GlobalArgs};

/// What every subcommand needs to talk to the user: where and how to write the report, and
/// whether to say anything else.
#[derive(Debug)]
pub(crate) struct Ui {
    format: Format,
    /// `--format` as given, for output that ignores `-o` (see [`Ui::emit_to_stdout`]).
    explicit_format: Option<Format>,
    stdout_is_terminal: bool,
    output: Option<PathBuf>,
    quiet: bool,
    color: bool,
    progress: bool,
}

impl Ui {
    pub(crate) fn new(args: &GlobalArgs) -> Ui {
        let output = args.output.clone().filter(|path| path.as_os_str() != "-");
        let to_terminal = output.is_none() && io::stdout().is_terminal();
        let format = args.format.unwrap_or_else(|| match &output {
            Some(path) => format_from_extension(path),
            None if to_terminal => Format::Table,
            None => Format::Json,
        });
        Ui {
            format,
            explicit_format: args.format,
            stdout_is_terminal: io::stdout().is_terminal(),
            color: output.is_none() && color_wanted(to_terminal, |name| std::env::var_os(name)),
            output,
            quiet: args.quiet,
            progress: !args.quiet && !args.no_progress && io::stderr().is_terminal(),
        }
    }

    /// The `-o` file, if one was given (not `-`).
    pub(crate) fn output_path(&self) -> Option<&std::path::Path> {
        self.output.as_deref()
    }

    /// Whether a live status line may be drawn on stderr (a terminal, no `--quiet`).
    pub(crate) fn live(&self) -> bool {
        self.progress
    }

    /// Prints a side note on stderr, unless `--quiet`.
    pub(crate) fn note(&self, message: fmt::Arguments<'_>) {
        if !self.quiet {
            let _ = writeln!(io::stderr().lock(), "{message}");
        }
    }

    /// A progress bar on stderr for `len` steps; hidden unless stderr is a terminal and neither
    /// `--quiet` nor `--no-progress` was given.
    pub(crate) fn progress(&self, len: u64, message: &str) -> indicatif::ProgressBar {
        self.bar(len, message, "{msg} {wide_bar} {pos}/{len} [{elapsed} < {eta}]")
    }

    /// Like [`Ui::progress`], counting bytes (`12.3 MiB/1.0 GiB`, with a rate).
    pub(crate) fn progress_bytes(&self, len: u64, message: &str) -> indicatif::ProgressBar {
        self.bar(len, message, "{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} [{elapsed} < {eta}]")
    }

    fn bar(&self, len: u64, message: &str, template: &str) -> indicatif::ProgressBar {
        if !self.progress {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new(len);
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_message(message.to_owned());
        bar
    }

    /// Writes the report in the chosen format to stdout or, atomically, to `-o FILE`.
    pub(crate) fn emit<T: Report>(&self, envelope: &Envelope<T>, document: &Document) -> anyhow::Result<()> {
        self.emit_with_markdown(envelope, document, None)
    }

    /// Like [`Ui::emit`], with the report's own Markdown page instead of the document's tables.
    pub(crate) fn emit_with_markdown<T: Report>(
        &self,
        envelope: &Envelope<T>,
        document: &Document,
        markdown: Option<&str>,
    ) -> anyhow::Result<()> {
        let text = render(self.format, self.color, envelope, document, markdown)?;
        match &self.output {
            Some(path) => {
                metrics_schema::write_atomic(path, |out| out.write_all(text.as_bytes()))?;
                self.note(format_args!("wrote {}", path.display()));
            }
            None => {
                let mut stdout = io::stdout().lock();
                stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).context("writing to stdout")?;
            }
        }
        Ok(())
    }

    /// Prints the report on stdout whatever `-o` says, for commands that take `-o` as a
    /// directory of files: `--format` if given, else a table on a terminal and JSON otherwise.
    pub(crate) fn emit_to_stdout<T: Report>(&self, envelope: &Envelope<T>, document: &Document) -> anyhow::Result<()> {
        let format = self.explicit_format.unwrap_or(if self.stdout_is_terminal { Format::Table } else { Format::Json });
        let color = self.stdout_is_terminal && color_wanted(true, |name| std::env::var_os(name));
        let text = render(format, color, envelope, document, None)?;
        let mut stdout = io::stdout().lock();
        stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).context("writing to stdout")
    }
}

fn render<T: Report>(
    format: Format,
    color: bool,
    envelope: &Envelope<T>,
    document: &Document,
    markdown: Option<&str>,
) -> anyhow::Result<String> {
    Ok(match format {
        Format::Json => {
            let mut json = serde_json::to_string_pretty(envelope).context("serialising the report")?;
            json.push('\n');
            json
        }
        Format::Table => document.to_text(color),
        Format::Md => markdown.map_or_else(|| document.to_markdown(), str::to_owned),
    })
}

fn format_from_extension(path: &Path) -> Format {
    match path.extension().and_then(|ext| ext.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("md" | "markdown") => Format::Md,
        Some("txt") => Format::Table,
        _ => Format::Json,
    }
}

/// Colour on a terminal, or when `CLICOLOR_FORCE` asks for it; never when `NO_COLOR` is set to
/// anything non-empty (<https://no-color.org>).
fn color_wanted(to_terminal: bool, env: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    let set = |name: &str| env(name).is_some_and(|value| !value.is_empty() && value != "0");
    if set("NO_COLOR") {
        return false;
    }
    to_terminal || set("CLICOLOR_FORCE")
}

pub(crate) use metrics_schema::format_bytes;
/// Every command lays its report out as one `Document`; the type is `ocrperf`'s, so that the
/// Python package renders the same pages.
pub(crate) use ocrperf::document::Document;

/// The one refusal of an output over an input, `ocrperf`'s, so that Python's outputs are
/// refused alike.
pub(crate) use ocrperf::outputs::refuse_overwriting_inputs;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_follows_no_color_and_force() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).into())
        };
        assert!(color_wanted(true, env(&[])));
        assert!(!color_wanted(false, env(&[])));
        assert!(!color_wanted(true, env(&[("NO_COLOR", "1")])));
        assert!(color_wanted(true, env(&[("NO_COLOR", "")])));
        assert!(color_wanted(false, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(!color_wanted(false, env(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "yes")])));
    }

    #[test]
    fn formats_from_extensions_and_bytes() {
        assert_eq!(format_from_extension(Path::new("r.MD")), Format::Md);
        assert_eq!(format_from_extension(Path::new("r.txt")), Format::Table);
        assert_eq!(format_from_extension(Path::new("r.json")), Format::Json);
        assert_eq!(format_from_extension(Path::new("r")), Format::Json);
    }
}
