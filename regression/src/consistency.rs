//! Whether a baseline's summary of a metric agrees with the values it holds.
//!
//! `ocrperf baseline` writes each metric's distribution, block means and per-run values from
//! the same samples, so relations between them always hold in a file it wrote; a hand edit
//! (a median lowered to make the gate pass, a block mean changed) breaks one of them. Only
//! relations that rounding cannot break are checked, with a tolerance far above it.

use metrics_schema::{BaselineMetric, MetricKind};

/// Relative slack for float rounding: the summary's sums and interpolations are exact to about
/// 1e-15 of the values' scale per sample; this is a million times more.
const SLACK: f64 = 1e-9;

/// Checks one metric: the count is the samples; min ≤ p50 ≤ p90 ≤ p95 ≤ p99 ≤ max and the mean
/// between min and max; the standard deviation at most the range; every block mean and per-run
/// value between min and max; and the block means, times the block size, account for the
/// samples' sum (what the blocks leave over lies between min and max per left-over sample).
///
/// # Errors
/// What disagrees, in a sentence.
pub(crate) fn check(metric: &BaselineMetric) -> Result<(), String> {
    let d = &metric.distribution;
    let values = [d.mean, d.stddev, d.min, d.p50, d.p90, d.p95, d.p99, d.max];
    if values.iter().any(|v| !v.is_finite()) {
        return Err("its distribution holds a value that is not a finite number".to_owned());
    }
    if d.count != metric.samples {
        return Err(format!("its distribution counts {} samples but the metric says {}", d.count, metric.samples));
    }
    let scale = d.min.abs().max(d.max.abs());
    let tol = SLACK * scale;
    let ordered = [("min", d.min), ("p50", d.p50), ("p90", d.p90), ("p95", d.p95), ("p99", d.p99), ("max", d.max)];
    for pair in ordered.windows(2) {
        let ((low_name, low), (high_name, high)) = (pair[0], pair[1]);
        if low > high + tol {
            return Err(format!("{low_name} {low} is above {high_name} {high}"));
        }
    }
    let within = |value: f64| value >= d.min - tol && value <= d.max + tol;
    if !within(d.mean) {
        return Err(format!("mean {} is outside min {} to max {}", d.mean, d.min, d.max));
    }
    if d.stddev < 0.0 || d.stddev > (d.max - d.min) + tol {
        return Err(format!("standard deviation {} is impossible for min {} and max {}", d.stddev, d.min, d.max));
    }
    for (what, list) in
        [("block mean", &metric.block_means), ("run value", &metric.runs), ("run mean", &metric.run_means)]
    {
        if let Some(value) = list.iter().find(|&&value| !within(value)) {
            return Err(format!("{what} {value} is outside min {} to max {}", d.min, d.max));
        }
    }
    if let Some(value) = metric.warmup_block_means.iter().find(|value| !value.is_finite()) {
        return Err(format!("warm-up block mean {value} is not a finite number"));
    }
    // A rate's harmonic block means do not add up to its (arithmetic) mean.
    if metric.kind == MetricKind::Scalar || metric.block_means.is_empty() || metric.harmonic {
        return Ok(());
    }
    let blocks = metric.block_means.len() as u64;
    let covered =
        blocks.checked_mul(metric.block_size).filter(|&covered| metric.block_size > 0 && covered <= metric.samples);
    let Some(covered) = covered else {
        return Err(format!(
            "{blocks} block means of {} samples each need more than its {} samples",
            metric.block_size, metric.samples
        ));
    };
    // The samples' sum is the blocks' sums plus what the blocks leave over, each between min
    // and max.
    let total = d.mean * metric.samples as f64;
    let in_blocks = metric.block_means.iter().sum::<f64>() * metric.block_size as f64;
    let left = (metric.samples - covered) as f64;
    let rest = total - in_blocks;
    let sum_tol = SLACK * scale * metric.samples as f64;
    if rest < left * d.min - sum_tol || rest > left * d.max + sum_tol {
        return Err(format!(
            "its block means average {} but its mean is {}",
            metric.block_means.iter().sum::<f64>() / blocks as f64,
            d.mean
        ));
    }
    Ok(())
}

/// The line (1-based) and byte offset of the line where `name`'s entry starts in a pretty-printed
/// baseline (`"name": "<name>"`), if it can be found.
pub(crate) fn line_of(text: &str, name: &str) -> Option<(u64, u64)> {
    let quoted = serde_json::to_string(name).ok()?;
    let at = text.find(&format!("\"name\": {quoted}")).or_else(|| text.find(&format!("\"name\":{quoted}")))?;
    let line_start = text[..at].rfind('\n').map_or(0, |newline| newline + 1);
    Some((text[..at].matches('\n').count() as u64 + 1, line_start as u64))
}

#[cfg(test)]
mod tests {
    use metrics_schema::{Direction, Distribution, Unit};

    use super::*;

    fn metric(samples: &[f64], block_size: usize) -> BaselineMetric {
        let distribution = Distribution::from_samples(samples).unwrap();
        let block_means = crate::stats::block_means(samples, block_size);
        BaselineMetric {
            name: "perf/step_time_ms".into(),
            unit: Unit::Milliseconds,
            better: Direction::Lower,
            direction_from: "name".into(),
            source: "x".into(),
            kind: MetricKind::Series,
            samples: samples.len() as u64,
            warmup: 0,
            distribution,
            block_size: block_size as u64,
            block_means,
            block_autocorrelation: None,
            runs: Vec::new(),
            run_means: Vec::new(),
            level_shift: None,
            harmonic: false,
            warmup_block_means: Vec::new(),
        }
    }

    fn samples() -> Vec<f64> {
        (0..103).map(|i| 100.0 + f64::from((i * 37) % 11) * 0.37 + 1e-7 * f64::from(i)).collect()
    }

    #[test]
    fn what_the_summary_writes_always_agrees() {
        for block_size in [1, 2, 4, 8, 16, 128] {
            check(&metric(&samples(), block_size)).unwrap();
        }
        check(&metric(&[5.0], 1)).unwrap();
        check(&metric(&[1e300, 1e300, 1e300], 2)).unwrap();
        check(&metric(&[-3.0, -3.0, -2.0], 1)).unwrap();
    }

    #[test]
    fn hand_edits_are_caught() {
        let edit = |change: fn(&mut BaselineMetric)| {
            let mut m = metric(&samples(), 1);
            change(&mut m);
            check(&m).unwrap_err()
        };
        assert_eq!(edit(|m| m.distribution.p50 = 50.0), "min 100 is above p50 50");
        assert!(edit(|m| m.distribution.mean = 99.0).starts_with("mean 99 is outside min 100"));
        assert!(edit(|m| m.distribution.mean += 0.1).starts_with("its block means average"));
        assert!(edit(|m| m.block_means[0] += 1.0).starts_with("its block means average"));
        assert!(edit(|m| m.block_means[0] = 50.0).starts_with("block mean 50 is outside"));
        assert_eq!(edit(|m| m.samples = 10), "its distribution counts 103 samples but the metric says 10");
        assert_eq!(edit(|m| m.block_size = 2), "103 block means of 2 samples each need more than its 103 samples");
        assert!(edit(|m| m.distribution.stddev = 50.0).starts_with("standard deviation 50 is impossible"));
    }

    #[test]
    fn the_line_of_a_metric() {
        let text = "{\n  \"metrics\": [\n    {\n      \"name\": \"a\\\"b\",\n";
        assert_eq!(line_of(text, "a\"b"), Some((4, 23)));
        assert_eq!(line_of(text, "c"), None);
    }
}
