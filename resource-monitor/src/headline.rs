//! The headline figures: the few metrics of a sample worth a chart in a training run's logger,
//! and the one selection of figures by name pattern.

use crate::alerts::{metric_matches, patterns_overlap};

/// What the Lightning `ResourceMonitor` callback logs unless told otherwise: the headline
/// figures of a [`metrics_schema::MonitorSample`], not every disk, network interface and clock
/// (a logger with hundreds of columns hides the few that explain a slow run).
///
/// Each entry is a metric name of [`metrics_schema::MonitorSample::metrics`], where `*` stands
/// for one dotted part (a disk's name, a GPU's index), as in alert rules. The Python package
/// reads this list as `ocrperf._native.HEADLINE_METRICS`, so it keeps no copy of its own.
pub const HEADLINE_METRICS: &[&str] = &[
    "host.cpu_percent",
    "host.cpu_min_core_percent",
    "host.memory_used_percent",
    "host.memory_used_bytes",
    "host.swap_used_bytes",
    "disk.*.busy_percent",
    "gpu.*.utilization_percent",
    "gpu.*.memory_utilization_percent",
    "gpu.*.memory_used_bytes",
    "gpu.*.temperature_c",
    "gpu.*.power_w",
    "process.cpu_percent",
    "process.rss_bytes",
];

/// The figures of `metrics` whose name matches one of `patterns` ([`metric_matches`]: `*` is
/// one dotted part, as in alert rules), in their order: what the Lightning `ResourceMonitor`
/// callback logs of a sample.
pub fn select_metrics<P: AsRef<str>>(metrics: &[(String, f64)], patterns: &[P]) -> Vec<(String, f64)> {
    metrics
        .iter()
        .filter(|(name, _)| patterns.iter().any(|pattern| metric_matches(pattern.as_ref(), name)))
        .cloned()
        .collect()
}

/// What to tell the user about a selection before it runs: each pattern that can match
/// nothing the monitor records ([`metrics_schema::MONITOR_METRICS`]), a typo such as
/// `host.cpu_prcent` or a glob such as `gpu.*` that `*` (one dotted part) never completes.
pub fn metric_pattern_warnings<P: AsRef<str>>(patterns: &[P]) -> Vec<String> {
    patterns
        .iter()
        .map(AsRef::as_ref)
        .filter(|pattern| !metrics_schema::MONITOR_METRICS.iter().any(|known| patterns_overlap(pattern, known)))
        .map(|pattern| {
            format!(
                "metric pattern `{pattern}` matches nothing the monitor records (`*` stands for one dotted part; \
                 names look like host.cpu_percent, gpu.*.utilization_percent)"
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{HEADLINE_METRICS, metric_pattern_warnings, select_metrics};
    use crate::metric_matches as matches;

    /// A renamed metric would leave its headline pattern logging nothing, silently.
    #[test]
    fn every_headline_pattern_matches_a_metric_of_a_real_sample() {
        let sample: metrics_schema::MonitorSample =
            serde_json::from_str(include_str!("../tests/data/full_sample.json")).unwrap();
        let names: Vec<String> = sample.metrics().into_iter().map(|(name, _)| name).collect();
        for pattern in HEADLINE_METRICS {
            assert!(names.iter().any(|name| matches(pattern, name)), "{pattern} matches none of {names:?}");
        }
        assert!(matches("gpu.*.power_w", "gpu.0.power_w") && !matches("gpu.*.power_w", "gpu.0.power_limit_w"));
    }

    #[test]
    fn a_selection_keeps_the_figures_its_patterns_match_in_order() {
        let latest: Vec<(String, f64)> =
            [("gpu.0.power_w", 1.0), ("gpu.0.power_limit_w", 2.0), ("host.cpu_percent", 3.0), ("gpu.1.power_w", 4.0)]
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect();
        let picked = select_metrics(&latest, &["gpu.*.power_w", "host.cpu_percent"]);
        let expected = [("gpu.0.power_w", 1.0), ("host.cpu_percent", 3.0), ("gpu.1.power_w", 4.0)];
        assert_eq!(picked, expected.map(|(name, value)| (name.to_owned(), value)));
        // `*` never spans a dot, unlike fnmatch's.
        assert!(select_metrics(&latest, &["gpu.*"]).is_empty());
        assert!(select_metrics(&latest, &[] as &[&str]).is_empty());
    }

    #[test]
    fn patterns_that_can_match_nothing_are_warned_about() {
        assert!(metric_pattern_warnings(HEADLINE_METRICS).is_empty());
        let warnings = metric_pattern_warnings(&["host.cpu_prcent", "gpu.*", "disk.*.busy_percent"]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].starts_with("metric pattern `host.cpu_prcent` matches nothing"), "{warnings:?}");
        assert!(warnings[1].starts_with("metric pattern `gpu.*` matches nothing"), "{warnings:?}");
    }
}
