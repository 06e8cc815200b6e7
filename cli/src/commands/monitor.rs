//! `ocrperf monitor`: sample GPUs, the host and a watched process tree; alert; export; report.

use ocrperf::resource_monitor;
use std::{
    io::{IsTerminal, Write},
    path::PathBuf,
    process::{Child, Command},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use metrics_schema::{AlertState, Envelope, HostInfo, HumanDuration, MonitorSummaryReport};
use resource_monitor::{Monitor, MonitorConfig, Summary, Tick, default_rules, load_rules, rule_warnings};

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
    /// A CPU and disk load for demos and tests: busy threads plus fsynced writes
    #[command(hide = true)]
    Load(LoadArgs),
}

/// The least time between samples: /proc and NVML readings take a few milliseconds.
const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// The most time between samples: one day, as the Python `ResourceMonitor` allows.
const MAX_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// The longest `--duration`: a year (beyond it, leave it out and stop with Ctrl-C).
const MAX_DURATION: Duration = Duration::from_secs(31_557_600);

#[derive(Debug, Args)]
struct LoadArgs {
    /// How long
    #[arg(long, default_value = "3s", value_parser = duration_in(Duration::ZERO, Duration::from_secs(3600), ""))]
    duration: HumanDuration,
    /// Busy threads
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Directory for the scratch file (removed at the end)
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Time between samples (10ms to 1day)
    #[arg(long, default_value = "1s", value_name = "DURATION", value_parser = duration_in(MIN_INTERVAL, MAX_INTERVAL, ""))]
    interval: HumanDuration,
    /// Stop after this long, up to a year (default: until Ctrl-C, or until the command exits)
    #[arg(
        long,
        value_name = "DURATION",
        value_parser = duration_in(
            MIN_INTERVAL,
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
        Some(MonitorCommand::Load(load)) => run_load(load),
        None => monitor(&args.run, ui),
    }
}

fn monitor(args: &RunArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    // Both were checked against their ranges when parsed, so the clock arithmetic below cannot
    // overflow.
    let interval = args.interval.get();
    let rules = match &args.alerts {
        Some(path) => {
            let rules = load_rules(path)?;
            for warning in rule_warnings(&rules) {
                ui.note(format_args!("warning: {}: {warning}", path.display()));
            }
            rules
        }
        None => default_rules(),
    };
    let mut child = match args.command.split_first() {
        Some((program, rest)) => Some(spawn(program, rest)?),
        None => None,
    };
    let config = MonitorConfig {
        interval,
        out: args.out.clone(),
        rules,
        prometheus: args.prometheus.as_deref().map(loopback_by_default),
        pid: args.pid.or(child.as_ref().map(Child::id)),
        watched: if args.command.is_empty() {
            args.pid.map(|pid| format!("pid {pid}"))
        } else {
            Some(args.command.join(" "))
        },
        gpu: !args.no_gpu,
    };
    if let Some(pid) = args.pid {
        anyhow::ensure!(std::path::Path::new(&format!("/proc/{pid}")).exists(), "--pid {pid}: no such process");
    }
    interrupt::set_forwarding();
    let mut monitor = Monitor::start(config, HostInfo::detect(), unix_ms())?;
    if let Some(note) = monitor.gpu_note() {
        ui.note(format_args!("warning: {note}"));
    }
    if let Some(address) = monitor.prometheus_address() {
        ui.note(format_args!("serving Prometheus gauges at http://{address}/metrics"));
    }

    let started = Instant::now();
    // The last sample is taken at the deadline, however long the interval: `--interval 1h
    // --duration 1s` samples at start and after one second.
    let deadline = args.duration.map(|d| started + d.get());
    let mut forwarded = 0;
    let mut exit_code = None;
    let live = ui.live() && std::io::stderr().is_terminal();
    for tick_index in 1u64.. {
        // Fixed-rate ticks: the n-th sample is due at start + n × interval, whatever the last took.
        let due = started + interval.mul_f64(tick_index as f64);
        let due = deadline.map_or(due, |deadline| due.min(deadline));
        while Instant::now() < due {
            if let Some(code) = child_exit(&mut child)? {
                exit_code = Some(code);
                break;
            }
            forwarded = forward_signals(child.as_ref(), forwarded);
            if child.is_none() && interrupt::requested() {
                break;
            }
            std::thread::sleep((due - Instant::now()).min(Duration::from_millis(50)));
        }
        let tick =
            monitor.tick(unix_ms()).with_context(|| "writing samples (the file ends with its last complete line)")?;
        report_tick(ui, &tick, live, monitor.active_alerts());
        let out_of_time = deadline.is_some_and(|deadline| Instant::now() >= deadline);
        if exit_code.is_some() || out_of_time || (child.is_none() && interrupt::requested()) {
            break;
        }
    }
    if live {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
    if out_of_time_with_child(&mut child, args) {
        ui.note(format_args!("--duration reached; the command keeps running"));
    }
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

/// Starts the command in its own process group, so a Ctrl-C at the terminal reaches ocrperf
/// alone and is passed on once, by [`forward_signals`].
fn spawn(program: &str, args: &[String]) -> anyhow::Result<Child> {
    use std::os::unix::process::CommandExt as _;
    Command::new(program).args(args).process_group(0).spawn().with_context(|| format!("cannot run `{program}`"))
}

/// Passes each new SIGINT/SIGTERM on to the child: the first as SIGINT, the second as SIGTERM,
/// any later one as SIGKILL. Returns how many have been forwarded.
fn forward_signals(child: Option<&Child>, forwarded: u32) -> u32 {
    use nix::{sys::signal::Signal, unistd::Pid};
    let Some(child) = child else { return forwarded };
    let received = interrupt::signals();
    for n in forwarded..received {
        let signal = match n {
            0 => Signal::SIGINT,
            1 => Signal::SIGTERM,
            _ => Signal::SIGKILL,
        };
        let _ = nix::sys::signal::kill(Pid::from_raw(child.id() as i32), signal);
    }
    received
}

/// The child's exit code once it has exited (128 + signal when a signal ended it).
fn child_exit(child: &mut Option<Child>) -> anyhow::Result<Option<u8>> {
    use std::os::unix::process::ExitStatusExt as _;
    let Some(running) = child else { return Ok(None) };
    let Some(status) = running.try_wait().context("waiting for the command")? else { return Ok(None) };
    let code = status.code().or_else(|| status.signal().map(|signal| 128 + signal)).unwrap_or(1);
    Ok(Some(u8::try_from(code).unwrap_or(1)))
}

fn out_of_time_with_child(child: &mut Option<Child>, args: &RunArgs) -> bool {
    args.duration.is_some() && child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none())
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
        crate::output::create_output_dir(dir)?;
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

/// Burns `threads` cores and writes (with fsync) 8 MiB at a time to a scratch file until the
/// time is up, so a monitor has CPU, memory and disk activity to see.
fn run_load(args: &LoadArgs) -> anyhow::Result<Outcome> {
    let until = Instant::now() + args.duration.get();
    let workers: Vec<_> = (0..args.threads)
        .map(|_| {
            std::thread::spawn(move || {
                let mut x = 1u64;
                while Instant::now() < until {
                    for _ in 0..100_000 {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    }
                }
                x
            })
        })
        .collect();
    let scratch = tempfile::NamedTempFile::new_in(&args.dir).context("creating the scratch file")?;
    let block = vec![0x5au8; 8 << 20];
    while Instant::now() < until {
        let mut file = scratch.as_file();
        file.write_all(&block).and_then(|()| file.sync_data()).context("writing the scratch file")?;
        if file.metadata().map(|m| m.len()).unwrap_or(0) > 256 << 20 {
            file.set_len(0).context("truncating the scratch file")?;
        }
    }
    for worker in workers {
        let _ = worker.join();
    }
    Ok(Outcome::Success)
}

/// `9400` and `:9400` mean `127.0.0.1:9400`: exposing the gauges beyond this machine is a
/// choice the user makes by naming an address.
fn loopback_by_default(address: &str) -> String {
    let port = address.strip_prefix(':').unwrap_or(address);
    if port.parse::<u16>().is_ok() { format!("127.0.0.1:{port}") } else { address.to_owned() }
}

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
