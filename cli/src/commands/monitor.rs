//! `ocrperf monitor`: sample GPUs, the host and a watched process tree; alert; export; report.

use ocrperf::resource_monitor;
use std::{
    io::{IsTerminal, Write},
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use metrics_schema::{AlertState, Envelope, HostInfo, HumanDuration, MonitorSummaryReport};
use resource_monitor::{Control, INTERVALS, MAX_DURATION, Monitor, MonitorConfig, Summary, Tick, WrappedCommand};

use crate::{
    Outcome,
    args::duration_in,
    interrupt,
    output::{Document, Ui},
};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct MonitorArgs {
    #[command(subcommand)]
    report: Option<MonitorCommand>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum MonitorCommand {
    /// Turn a JSONL sample file into an HTML page of charts (or, with --svg, the charts alone)
    Report(ReportArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Time between samples (10ms to 1day)
    #[arg(long, default_value = "1s", value_name = "DURATION", value_parser = duration_in(INTERVALS.min, INTERVALS.max, ""))]
    interval: HumanDuration,
    /// Stop after this long, up to a year (default: until Ctrl-C, or until the command exits)
    #[arg(
        long,
        value_name = "DURATION",
        value_parser = duration_in(
            INTERVALS.min,
            MAX_DURATION,
            " (leave --duration out to run until Ctrl-C or the command's exit)"
        )
    )]
    duration: Option<HumanDuration>,
    /// Write every sample here: .jsonl (with alert lines) or .csv
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Alert rules (TOML, [[rule]] tables) instead of the built-in ones
    #[arg(long, value_name = "RULES.toml")]
    alerts: Option<PathBuf>,
    /// Exit 1 when any alert fired (after the command's own failure, if any)
    #[arg(long)]
    fail_on_alert: bool,
    /// Serve Prometheus gauges at /metrics on ADDR: a port (9400, bound on loopback) or
    /// HOST:PORT (0.0.0.0:9400 to let other machines scrape)
    #[arg(long, value_name = "ADDR")]
    prometheus: Option<String>,
    /// Watch this process and its descendants
    #[arg(long, value_name = "PID", conflicts_with = "command")]
    pid: Option<u32>,
    /// Do not try NVML
    #[arg(long)]
    no_gpu: bool,
    /// Run this command, watch its process tree, and exit with its exit code
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

#[derive(Debug, Args)]
struct ReportArgs {
    /// A JSONL sample file from `ocrperf monitor --out`
    samples: PathBuf,
    /// Write the charts as SVG files into this directory instead of an HTML page
    #[arg(long, value_name = "DIR")]
    svg: Option<PathBuf>,
}

pub(crate) fn run(args: &MonitorArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    match &args.report {
        Some(MonitorCommand::Report(report)) => write_report(report, ui),
        None => monitor(&args.run, ui),
    }
}

fn monitor(args: &RunArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    let (rules, warnings) = resource_monitor::rules_with_warnings(args.alerts.as_deref())?;
    for warning in warnings {
        ui.note(format_args!("warning: {warning}"));
    }
    let mut command = match args.command.split_first() {
        Some((program, rest)) => Some(WrappedCommand::spawn(program, rest)?),
        None => None,
    };
    let config = MonitorConfig {
        interval: args.interval.get(),
        out: args.out.clone(),
        rules,
        prometheus: args.prometheus.clone(),
        pid: args.pid.or(command.as_ref().map(WrappedCommand::pid)),
        watched: if args.command.is_empty() {
            args.pid.map(|pid| format!("pid {pid}"))
        } else {
            Some(args.command.join(" "))
        },
        gpu: !args.no_gpu,
    };
    interrupt::set_forwarding();
    let mut monitor = match Monitor::start(config, HostInfo::detect(), resource_monitor::unix_ms()) {
        Ok(monitor) => monitor,
        Err(err) => {
            // Nothing will watch the command: don't leave it running unseen.
            command.as_mut().map(WrappedCommand::kill);
            return Err(err.into());
        }
    };
    if let Some(note) = monitor.gpu_note() {
        ui.note(format_args!("warning: {note}"));
    }
    if let Some(address) = monitor.prometheus_address() {
        ui.note(format_args!("serving Prometheus gauges at http://{address}/metrics"));
    }
    let live = ui.live() && std::io::stderr().is_terminal();
    let end = monitor
        .run(args.duration.map(HumanDuration::get), command.as_mut(), &Interrupts, &mut |tick, active| {
            report_tick(ui, tick, live, active);
        })
        .with_context(|| "writing samples (the file ends with its last complete line)")?;
    if live {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
    if end.command_left_running {
        ui.note(format_args!("--duration reached; the command keeps running"));
    }
    let exit_code = end.command_exit_code;
    let report = monitor.summary(exit_code.map(i32::from));
    let fired = report.alerts.iter().any(|alert| alert.state == AlertState::Firing);
    let envelope = Envelope::for_this_machine(report);
    ui.emit(&envelope, &summary_document(&envelope.report))?;
    Ok(match exit_code {
        Some(code) if code != 0 => Outcome::Exit(code),
        _ if args.fail_on_alert && fired => Outcome::CheckFailed,
        Some(code) => Outcome::Exit(code),
        None => Outcome::Success,
    })
}

/// Ctrl-C and SIGTERM, as the monitor loop asks for them: without a command they stop the run
/// (after one last sample); with one they are passed on to it.
struct Interrupts;

impl Control for Interrupts {
    fn wait(&self, until: Instant) -> bool {
        // The signal handler only sets a flag: look at it every 50 ms.
        while !interrupt::requested() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        true
    }

    fn signals(&self) -> u32 {
        interrupt::signals()
    }
}

fn report_tick(ui: &Ui, tick: &Tick, live: bool, active: usize) {
    for warning in &tick.warnings {
        ui.note(format_args!("warning: {warning}"));
    }
    for alert in &tick.alerts {
        let state = if alert.state == AlertState::Firing { "FIRING" } else { "resolved" };
        let line = format!(
            "alert {state} [{}] {} ({} = {}): {}",
            alert.severity.as_str(),
            alert.rule,
            alert.metric,
            alert.value,
            alert.message
        );
        if live {
            let _ = writeln!(std::io::stderr(), "\r\x1b[2K{line}");
        } else {
            // Alerts reach stderr even with --quiet: they are the point of the tool.
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }
    if live {
        let sample = &tick.sample;
        let mut line = format!(
            "#{:<5} cpu {:5.1}%  mem {:5.1}%",
            sample.i,
            sample.host.cpu_percent,
            100.0 * sample.host.memory_used_bytes as f64 / sample.host.memory_total_bytes.max(1) as f64
        );
        for gpu in &sample.gpus {
            match gpu.utilization_percent {
                Some(util) => line.push_str(&format!(
                    "  gpu{} {util:3.0}% {:.0}°C",
                    gpu.index,
                    gpu.temperature_c.unwrap_or(f64::NAN)
                )),
                None => line.push_str(&format!("  gpu{} lost", gpu.index)),
            }
        }
        if let Some(process) = &sample.process {
            line.push_str(&format!("  proc {:5.1}% {} children", process.cpu_percent, process.children));
        }
        line.push_str(&format!("  alerts {active}"));
        let _ = write!(std::io::stderr(), "\r\x1b[2K{line}");
    }
}

fn summary_document(report: &MonitorSummaryReport) -> Document {
    let mut doc = Document::new("Monitor summary");
    let mut fields = vec![
        (
            "samples".to_owned(),
            format!("{} over {:.1} s, every {} ms", report.samples, report.seconds, report.interval_ms),
        ),
        ("gpus".to_owned(), report.gpu_note.clone().unwrap_or_else(|| report.gpus.to_string())),
    ];
    if let Some(file) = &report.samples_file {
        fields.push(("samples file".to_owned(), file.clone()));
    }
    if let Some(code) = report.command_exit_code {
        fields.push(("command exit code".to_owned(), code.to_string()));
    }
    let fired = report.alerts.iter().filter(|a| a.state == AlertState::Firing).count();
    fields.push(("alerts fired".to_owned(), fired.to_string()));
    if let Some(overhead) = &report.overhead {
        fields.push((
            "monitor overhead".to_owned(),
            format!(
                "{:.2}% of one core ({:.2} s CPU), peak RSS {}",
                overhead.cpu_percent_of_one_core,
                overhead.cpu_seconds,
                crate::output::format_bytes(overhead.peak_rss_bytes)
            ),
        ));
    }
    doc.fields(None, fields);
    let rows = report
        .metrics
        .iter()
        .map(|m| {
            let value = |v: f64| metrics_schema::format_metric_value(&m.name, v);
            vec![m.name.clone(), value(m.mean), value(m.p95), value(m.max)]
        })
        .collect();
    doc.table(Some("Metrics"), &["metric", "mean", "p95", "max"], rows);
    if !report.alerts.is_empty() {
        let rows = report
            .alerts
            .iter()
            .map(|a| {
                let state = if a.state == AlertState::Firing { "firing" } else { "resolved" };
                vec![
                    a.i.to_string(),
                    a.rule.clone(),
                    a.metric.clone(),
                    state.to_owned(),
                    format_value(a.value),
                    a.message.clone(),
                ]
            })
            .collect();
        doc.table(Some("Alerts"), &["sample", "rule", "metric", "state", "value", "message"], rows);
    }
    doc
}

/// Large byte counts and rates read better with few digits; percentages keep one decimal.
fn format_value(value: f64) -> String {
    if value.abs() >= 1e6 { format!("{value:.3e}") } else { format!("{value:.1}") }
}

fn write_report(args: &ReportArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        !metrics_schema::text::is_stdin(&args.samples) || args.svg.is_some() || ui.output_path().is_some(),
        "reading samples from standard input: say where the page goes (-o FILE.html)"
    );
    let resource_monitor::SampleFile { header, samples, alerts, warnings } =
        resource_monitor::read_samples(&args.samples)?;
    for warning in &warnings {
        ui.note(format_args!("warning: {warning}"));
    }
    anyhow::ensure!(!samples.is_empty(), "{}: no samples to report", args.samples.display());
    if let Some(dir) = &args.svg {
        metrics_schema::create_output_dir(dir)?;
        for (title, svg) in resource_monitor::charts_svg(&samples, &alerts)? {
            let path = dir.join(format!("{}.svg", title.to_ascii_lowercase()));
            metrics_schema::write_atomic(&path, |out| out.write_all(svg.as_bytes()))?;
            ui.note(format_args!("wrote {}", path.display()));
        }
        return Ok(Outcome::Success);
    }
    let mut summary = Summary::default();
    for sample in &samples {
        summary.add(&sample.metrics());
    }
    let html = resource_monitor::html_report(&header, &samples, &alerts, &summary.finish())?;
    let path = ui.output_path().map(PathBuf::from).unwrap_or_else(|| args.samples.with_extension("html"));
    metrics_schema::write_atomic(&path, |out| out.write_all(html.as_bytes()))?;
    ui.note(format_args!("wrote {}", path.display()));
    Ok(Outcome::Success)
}
