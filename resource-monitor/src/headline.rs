//! The headline figures: the few metrics of a sample worth a chart in a training run's logger.

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

#[cfg(test)]
mod tests {
    use super::HEADLINE_METRICS;

    /// `*` is one dotted part, as in alert rules.
    fn matches(pattern: &str, name: &str) -> bool {
        let (a, b): (Vec<&str>, Vec<&str>) = (pattern.split('.').collect(), name.split('.').collect());
        a.len() == b.len() && a.iter().zip(&b).all(|(p, n)| p == n || *p == "*")
    }

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
}
