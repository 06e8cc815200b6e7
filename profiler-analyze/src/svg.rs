//! A self-contained SVG chart: the step breakdown as stacked bars, and each device's busy share
//! over the window as an occupancy strip.
//!
//! Written directly rather than through a plotting crate: it is rectangles and labels, and the
//! output stays byte-stable for snapshot tests.

use std::fmt::Write as _;

use crate::Analysis;

const WIDTH: f64 = 900.0;
const LEFT: f64 = 70.0;
const PLOT_WIDTH: f64 = WIDTH - LEFT - 150.0;
const BAR_AREA: f64 = 260.0;
const STRIP: f64 = 26.0;

/// (label, colour) of each breakdown part, in stacking order.
const PARTS: [(&str, &str); 5] = [
    ("GPU-bound", "#4c78a8"),
    ("data wait", "#e45756"),
    ("synchronisation", "#f58518"),
    ("host compute", "#72b7b2"),
    ("other", "#bab0ac"),
];

/// The chart for one analysis; `title` heads it (usually the trace's file name).
pub fn breakdown_svg(analysis: &Analysis, title: &str) -> String {
    let steps = &analysis.breakdown.per_step;
    let devices = analysis.occupancy.len();
    let height = 60.0 + BAR_AREA + 60.0 + devices as f64 * (STRIP + 14.0) + 30.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(svg, r#"<text x="{LEFT}" y="24" font-size="15" font-weight="bold">{}</text>"#, escape(title));
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="42" fill="#555">Step time breakdown ({} steps, mean {:.1} ms); GPU occupancy below</text>"##,
        steps.len(),
        analysis.steps.mean_ms
    );

    let top = 60.0;
    let longest = steps.iter().map(|s| s.duration_ms).fold(0.0, f64::max);
    let scale = if longest > 0.0 { BAR_AREA / longest } else { 0.0 };
    let slot = if steps.is_empty() { PLOT_WIDTH } else { PLOT_WIDTH / steps.len() as f64 };
    let bar = (slot * 0.7).max(1.0);
    let _ = writeln!(
        svg,
        r##"<line x1="{LEFT}" y1="{}" x2="{}" y2="{}" stroke="#333"/>"##,
        top + BAR_AREA,
        LEFT + PLOT_WIDTH,
        top + BAR_AREA
    );
    for tick in 0..=4 {
        let value = longest * f64::from(tick) / 4.0;
        let y = top + BAR_AREA - value * scale;
        let _ = writeln!(
            svg,
            r##"<text x="{}" y="{:.1}" text-anchor="end" fill="#555">{value:.0} ms</text>"##,
            LEFT - 6.0,
            y + 4.0
        );
        let _ =
            writeln!(svg, r##"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#eee"/>"##, LEFT + PLOT_WIDTH);
    }
    for (i, step) in steps.iter().enumerate() {
        let x = LEFT + i as f64 * slot + (slot - bar) / 2.0;
        let mut y = top + BAR_AREA;
        let values = [step.gpu_ms, step.data_wait_ms, step.sync_ms, step.host_ms, step.other_ms];
        for ((label, colour), value) in PARTS.iter().zip(values) {
            let h = value * scale;
            y -= h;
            let _ = writeln!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{colour}"><title>step {}: {label} {value:.2} ms</title></rect>"#,
                step.step
            );
        }
        if steps.len() <= 40 {
            let _ = writeln!(
                svg,
                r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#555">{}</text>"##,
                x + bar / 2.0,
                top + BAR_AREA + 14.0,
                step.step
            );
        }
    }
    for (i, (label, colour)) in PARTS.iter().enumerate() {
        let y = top + 10.0 + i as f64 * 18.0;
        let x = LEFT + PLOT_WIDTH + 16.0;
        let _ = writeln!(svg, r#"<rect x="{x}" y="{}" width="12" height="12" fill="{colour}"/>"#, y - 10.0);
        let _ = writeln!(svg, r#"<text x="{}" y="{y}">{label}</text>"#, x + 18.0);
    }

    let mut y = top + BAR_AREA + 40.0;
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="{y}" font-weight="bold">GPU occupancy over {:.1} ms</text>"#,
        analysis.window_ms
    );
    y += 10.0;
    for (device, bins) in &analysis.occupancy {
        let busy = bins.iter().sum::<f64>() / bins.len().max(1) as f64;
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end">GPU {device}</text>"#,
            LEFT - 6.0,
            y + STRIP / 2.0 + 4.0
        );
        let _ =
            writeln!(svg, r##"<rect x="{LEFT}" y="{y:.1}" width="{PLOT_WIDTH}" height="{STRIP}" fill="#f4f4f4"/>"##);
        let width = PLOT_WIDTH / bins.len().max(1) as f64;
        for (i, share) in bins.iter().enumerate().filter(|(_, share)| **share > 0.0) {
            let _ = writeln!(
                svg,
                r##"<rect x="{:.2}" y="{y:.1}" width="{:.2}" height="{STRIP}" fill="#4c78a8" fill-opacity="{share:.2}"/>"##,
                LEFT + i as f64 * width,
                width + 0.05
            );
        }
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{:.1}">{:.0}% busy</text>"#,
            LEFT + PLOT_WIDTH + 16.0,
            y + STRIP / 2.0 + 4.0,
            100.0 * busy
        );
        y += STRIP + 14.0;
    }
    svg.push_str("</svg>\n");
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
