//! The run report: SVG time-series charts (plotters) for GPU, CPU, memory and disk, with alert
//! periods shaded on the time axis, and a self-contained HTML page around them.

use std::fmt::Write as _;

use metrics_schema::{AlertEvent, AlertState, MetricSummary, MonitorHeader, MonitorSample, format_metric_value};
use plotters::prelude::*;

use crate::Error;

const WIDTH: u32 = 900;
const HEIGHT: u32 = 260;
const PALETTE: [RGBColor; 6] = [
    RGBColor(76, 120, 168),
    RGBColor(245, 133, 24),
    RGBColor(84, 162, 75),
    RGBColor(228, 87, 86),
    RGBColor(114, 183, 178),
    RGBColor(178, 121, 162),
];

/// One chart: a title and which metrics it plots (`*` matches one dotted part).
struct ChartSpec {
    title: &'static str,
    unit: &'static str,
    metrics: &'static [&'static str],
    /// Fixed 0–100 axis for percentages.
    percent: bool,
}

const CHARTS: [ChartSpec; 4] = [
    ChartSpec {
        title: "GPU",
        unit: "%",
        metrics: &["gpu.*.utilization_percent", "gpu.*.memory_used_percent"],
        percent: true,
    },
    ChartSpec { title: "CPU", unit: "% of all cores", metrics: &["host.cpu_percent"], percent: true },
    ChartSpec { title: "Memory", unit: "% of host memory", metrics: &["host.memory_used_percent"], percent: true },
    ChartSpec { title: "Disk", unit: "% busy", metrics: &["disk.*.busy_percent"], percent: true },
];

/// Each chart as (title, SVG text).
pub fn charts_svg(samples: &[MonitorSample], alerts: &[AlertEvent]) -> Result<Vec<(String, String)>, Error> {
    let start = samples.first().map_or(0, |s| s.t_ms);
    let end_s = samples.last().map_or(1.0, |s| (s.t_ms - start) as f64 / 1000.0).max(1.0);
    let series_of = |patterns: &[&str]| -> Vec<(String, Vec<(f64, f64)>)> {
        let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        for sample in samples {
            let x = (sample.t_ms - start) as f64 / 1000.0;
            for (name, value) in sample.metrics() {
                if !patterns.iter().any(|p| crate::alerts::metric_matches(p, &name)) {
                    continue;
                }
                match series.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, points)) => points.push((x, value)),
                    None => series.push((name, vec![(x, value)])),
                }
            }
        }
        series
    };
    let bands = alert_bands(alerts, start, end_s);
    CHARTS
        .iter()
        .map(|spec| {
            let series = series_of(spec.metrics);
            // A chart shades only its own kind's alerts (a GPU alert on the GPU chart), and
            // none when it has no data to shade.
            let group = |metric: &str| metric.split('.').next().unwrap_or_default().to_owned();
            let chart_group = group(spec.metrics[0]);
            let own: Vec<(f64, f64, String)> = bands
                .iter()
                .filter(|(_, _, _, metric)| !series.is_empty() && group(metric) == chart_group)
                .map(|(from, to, label, _)| (*from, *to, label.clone()))
                .collect();
            let svg = draw(spec, &series, &own, end_s).map_err(|err| Error::Chart(err.to_string()))?;
            Ok((spec.title.to_owned(), svg))
        })
        .collect()
}

/// Alert periods in seconds from the start: firing to resolved, or to the end.
fn alert_bands(alerts: &[AlertEvent], start: u64, end_s: f64) -> Vec<(f64, f64, String, String)> {
    let mut bands = Vec::new();
    for (index, alert) in alerts.iter().enumerate().filter(|(_, a)| a.state == AlertState::Firing) {
        let from = (alert.t_ms.saturating_sub(start)) as f64 / 1000.0;
        let to = alerts[index + 1..]
            .iter()
            .find(|a| a.state == AlertState::Resolved && a.rule == alert.rule && a.metric == alert.metric)
            .map_or(end_s, |resolved| (resolved.t_ms.saturating_sub(start)) as f64 / 1000.0);
        bands.push((from, to, format!("{} ({})", alert.rule, alert.metric), alert.metric.clone()));
    }
    bands
}

fn draw(
    spec: &ChartSpec,
    series: &[(String, Vec<(f64, f64)>)],
    bands: &[(f64, f64, String)],
    end_s: f64,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let top = series.iter().flat_map(|(_, points)| points.iter().map(|p| p.1)).fold(0.0, f64::max);
        let y_max = if spec.percent { 100.0f64.max(top) } else { (top * 1.1).max(1.0) };
        let caption = if series.is_empty() { format!("{} (no data)", spec.title) } else { spec.title.to_owned() };
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(44)
            .build_cartesian_2d(0f64..end_s, 0f64..y_max)?;
        chart.configure_mesh().x_desc("seconds").y_desc(spec.unit).light_line_style(WHITE.mix(0.0)).draw()?;
        for (from, to, _) in bands {
            chart.draw_series(std::iter::once(Rectangle::new([(*from, 0.0), (*to, y_max)], RED.mix(0.15).filled())))?;
        }
        for (index, (name, points)) in series.iter().enumerate() {
            let colour = PALETTE[index % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2)));
        }
        if !series.is_empty() {
            chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK.mix(0.3)).draw()?;
        }
        root.present()?;
    }
    Ok(svg)
}

/// The whole page: header facts, the charts, the alert list and the summary table.
pub fn html_report(
    header: &MonitorHeader,
    samples: &[MonitorSample],
    alerts: &[AlertEvent],
    summary: &[MetricSummary],
) -> Result<String, Error> {
    let charts = charts_svg(samples, alerts)?;
    let seconds = match (samples.first(), samples.last()) {
        (Some(first), Some(last)) => (last.t_ms - first.t_ms) as f64 / 1000.0,
        _ => 0.0,
    };
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>ocrperf monitor: {host}</title>\n\
         <style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
         .alert{{color:#b00}}</style>\n</head>\n<body>\n<h1>ocrperf monitor</h1>\n\
         <p>{host}: {samples} samples over {seconds:.1} s, every {interval} ms{watched}.</p>\n",
        host = escape(&header.host.hostname),
        samples = samples.len(),
        interval = header.interval_ms,
        watched =
            header.watched.as_deref().map(|w| format!(", watching <code>{}</code>", escape(w))).unwrap_or_default(),
    );
    for (title, svg) in &charts {
        let _ = write!(html, "<h2>{}</h2>\n<figure class=\"chart\">\n{svg}</figure>\n", escape(title));
    }
    html.push_str("<h2>Alerts</h2>\n");
    if alerts.is_empty() {
        html.push_str("<p>None fired.</p>\n");
    } else {
        html.push_str("<table id=\"alerts\">\n<tr><th>time (s)</th><th>rule</th><th>metric</th><th>state</th><th>value</th><th>message</th></tr>\n");
        let start = samples.first().map_or(0, |s| s.t_ms);
        for alert in alerts {
            let state = if alert.state == AlertState::Firing { "firing" } else { "resolved" };
            let _ = writeln!(
                html,
                "<tr class=\"alert\"><td>{:.1}</td><td>{}</td><td>{}</td><td>{state}</td><td>{}</td><td>{}</td></tr>",
                alert.t_ms.saturating_sub(start) as f64 / 1000.0,
                escape(&alert.rule),
                escape(&alert.metric),
                alert.value,
                escape(&alert.message)
            );
        }
        html.push_str("</table>\n");
    }
    html.push_str(
        "<h2>Summary</h2>\n<table id=\"summary\">\n<tr><th>metric</th><th>mean</th><th>p95</th><th>max</th></tr>\n",
    );
    for metric in summary {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&metric.name),
            format_metric_value(&metric.name, metric.mean),
            format_metric_value(&metric.name, metric.p95),
            format_metric_value(&metric.name, metric.max)
        );
    }
    html.push_str("</table>\n</body>\n</html>\n");
    Ok(html)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
