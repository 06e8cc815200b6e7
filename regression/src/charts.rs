//! SVG charts of a baseline's key series (plotters, as the monitor report draws them), with the
//! warm-up that was cut shaded.

use metrics_schema::{BaselineMetric, BaselineReport, Direction, Unit};
use plotters::prelude::*;

use crate::{RunMetrics, Warmup, summarize::chart_points};

const WIDTH: u32 = 900;
const HEIGHT: u32 = 240;
const LINE: RGBColor = RGBColor(76, 120, 168);
/// At most this many points per chart: more only thickens the line and the file.
const MAX_POINTS: usize = 2000;

/// A chart: the metric it shows, a file name for it, and the SVG text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// The metric's name.
    pub metric: String,
    /// A file name made from the metric's name (`chart-perf_samples_per_sec.svg`).
    pub file_name: String,
    /// The SVG document.
    pub svg: String,
}

/// Which series are "key": the throughput, step time, data wait and GPU utilisation, at most
/// one chart each.
struct KeySeries {
    matches: fn(&BaselineMetric) -> bool,
}

const KEY_SERIES: &[KeySeries] = &[
    KeySeries { matches: |m| m.better == Direction::Higher && m.unit == Unit::PerSecond },
    KeySeries {
        matches: |m| {
            let has = |word: &str| crate::direction::has_token(&m.name, word);
            m.better == Direction::Lower
                && matches!(m.unit, Unit::Milliseconds | Unit::Seconds | Unit::Microseconds)
                && !has("wait")
                && ["step", "batch", "iter", "iteration"].iter().any(|w| has(w))
        },
    },
    KeySeries { matches: |m| m.better == Direction::Lower && crate::direction::has_token(&m.name, "wait") },
    KeySeries {
        matches: |m| {
            (m.name.starts_with("gpu.") && m.name.ends_with(".utilization_percent"))
                || (m.name.starts_with("system/gpu.") && m.name.ends_with(".gpu"))
        },
    },
];

/// Charts of the key series of `run`, as summarised in `report`.
///
/// # Errors
/// A message when plotters fails to draw (it does not for finite data).
pub fn key_charts(run: &RunMetrics, report: &BaselineReport, warmup: &Warmup) -> Result<Vec<Chart>, String> {
    let mut charts = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    for key in KEY_SERIES {
        let Some(metric) = report
            .metrics
            .iter()
            .find(|m| (key.matches)(m) && !used.contains(&m.name) && run.series.contains_key(&m.name))
        else {
            continue;
        };
        used.insert(metric.name.clone());
        let (points, cut) = chart_points(&run.series[&metric.name], warmup);
        let svg = draw(&metric.name, metric, &thin(&points), cut).map_err(|err| err.to_string())?;
        charts.push(Chart { metric: metric.name.clone(), file_name: format!("chart-{}.svg", slug(&metric.name)), svg });
    }
    Ok(charts)
}

/// Every `n`-th point, so that a chart has at most [`MAX_POINTS`].
fn thin(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let stride = points.len().div_ceil(MAX_POINTS).max(1);
    points.iter().step_by(stride).copied().filter(|p| p.0.is_finite() && p.1.is_finite()).collect()
}

/// A file-name-safe form of a metric name.
pub fn slug(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

/// A chart's title: the metric, its unit and which way is better; a metric without a
/// direction says it is not gated.
fn caption(title: &str, unit: &str, better: Direction) -> String {
    match better {
        Direction::Info => format!("{title}{unit}, not gated"),
        other => format!("{title}{unit}, {} better", other.as_str()),
    }
}

fn draw(
    title: &str,
    metric: &BaselineMetric,
    points: &[(f64, f64)],
    cut: Option<f64>,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let (x_min, x_max) =
            points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
        let (y_min, y_max) =
            points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
        let (x_min, x_max) = if x_min.is_finite() && x_max > x_min { (x_min, x_max) } else { (0.0, 1.0) };
        let pad = ((y_max - y_min) * 0.1).max(y_max.abs() * 0.01).max(1e-9);
        let (y_low, y_high) =
            if y_min.is_finite() { ((y_min - pad).min(0.0f64.max(y_min - pad)), y_max + pad) } else { (0.0, 1.0) };
        let unit = match metric.unit.suffix() {
            "" => String::new(),
            suffix => format!(" ({suffix})"),
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(caption(title, &unit, metric.better), ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(60)
            .build_cartesian_2d(x_min..x_max, y_low..y_high)?;
        chart
            .configure_mesh()
            .x_desc("step")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        if let Some(cut) = cut.filter(|c| c.is_finite()) {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x_min, y_low), (cut, y_high)],
                BLACK.mix(0.08).filled(),
            )))?;
        }
        chart.draw_series(LineSeries::new(points.iter().copied(), LINE.stroke_width(1)))?;
        let median = metric.distribution.p50;
        chart.draw_series(LineSeries::new([(x_min, median), (x_max, median)], RED.mix(0.6).stroke_width(1)))?;
        root.present()?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use metrics_schema::Direction;

    use super::*;
    use crate::{BaselineOptions, Hint, Point, Thresholds, build_baseline};

    #[test]
    fn draws_the_key_series_with_the_warmup_shaded() {
        let mut run = RunMetrics::default();
        for step in 0..200 {
            let value = if step < 30 { 40.0 } else { 100.0 + f64::from(step % 5) };
            run.push(
                "perf/samples_per_sec",
                Point { step: i64::from(step), wall_time: f64::NAN, value },
                Hint::default(),
                "t",
            );
            run.push("lr", Point { step: i64::from(step), wall_time: f64::NAN, value: 0.1 }, Hint::default(), "t");
        }
        let thresholds = Thresholds::default();
        let report = build_baseline(
            &[run.clone()],
            &BaselineOptions { warmup: Warmup::Auto, thresholds: &thresholds, read_seconds: 0.0 },
        );
        assert_eq!(report.metrics[0].better, Direction::Higher);
        let charts = key_charts(&run, &report, &Warmup::Auto).unwrap();
        assert_eq!(charts.len(), 1);
        assert_eq!(charts[0].file_name, "chart-perf_samples_per_sec.svg");
        let doc = roxmltree::Document::parse(&charts[0].svg).unwrap();
        assert!(
            doc.descendants().any(|n| n.text().is_some_and(|t| t.contains("perf/samples_per_sec (/s), higher better")))
        );
        // The warm-up band is a translucent rectangle.
        assert!(
            doc.descendants()
                .any(|n| n.has_tag_name("rect") && n.attribute("opacity").is_some_and(|o| o.starts_with("0.08")))
        );
    }

    #[test]
    fn a_chart_of_a_metric_without_direction_says_it_is_not_gated() {
        assert_eq!(caption("system/gpu.0.gpu", " (%)", Direction::Info), "system/gpu.0.gpu (%), not gated");
        assert_eq!(caption("step_ms", " (ms)", Direction::Lower), "step_ms (ms), lower better");
    }
}
