//! Per-metric statistics over a run, in bounded memory.

use metrics_schema::{Distribution, MetricSummary};

/// Values kept per metric for percentiles. A day at 100 ms is 864,000 samples per metric;
/// keeping every other one each time the store fills gives evenly spaced samples in fixed space.
const KEPT: usize = 8192;

/// Mean and maximum are exact; the p95 comes from up to 8,192 evenly spaced samples.
#[derive(Debug, Default)]
pub struct Summary {
    metrics: Vec<Series>,
}

#[derive(Debug)]
struct Series {
    name: String,
    count: u64,
    /// A running mean, not a sum: values near `f64::MAX` must not overflow it.
    mean: f64,
    max: f64,
    kept: Vec<f64>,
    /// Keep one value in `stride`.
    stride: u64,
}

impl Summary {
    /// Adds one sample's metrics.
    pub fn add(&mut self, metrics: &[(String, f64)]) {
        for (name, value) in metrics {
            if !value.is_finite() {
                continue;
            }
            let series = match self.metrics.iter_mut().position(|s| s.name == *name) {
                Some(index) => &mut self.metrics[index],
                None => {
                    self.metrics.push(Series {
                        name: name.clone(),
                        count: 0,
                        mean: 0.0,
                        max: f64::NEG_INFINITY,
                        kept: Vec::new(),
                        stride: 1,
                    });
                    self.metrics.last_mut().expect("just pushed")
                }
            };
            if series.count.is_multiple_of(series.stride) {
                if series.kept.len() == KEPT {
                    let halved: Vec<f64> = series.kept.iter().step_by(2).copied().collect();
                    series.kept = halved;
                    series.stride *= 2;
                }
                if series.count.is_multiple_of(series.stride) {
                    series.kept.push(*value);
                }
            }
            series.count += 1;
            series.mean += (value - series.mean) / series.count as f64;
            series.max = series.max.max(*value);
        }
    }

    /// The statistics, in the order metrics first appeared.
    pub fn finish(&self) -> Vec<MetricSummary> {
        self.metrics
            .iter()
            .map(|series| {
                let p95 = Distribution::from_samples(&series.kept).map_or(f64::NAN, |d| d.p95);
                MetricSummary {
                    name: series.name.clone(),
                    mean: round(series.mean),
                    p95: round(p95),
                    max: round(series.max),
                }
            })
            .collect()
    }
}

/// Three decimals, where that stays finite (`1e308 × 1000` does not).
fn round(value: f64) -> f64 {
    let rounded = (value * 1000.0).round() / 1000.0;
    if rounded.is_finite() { rounded } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_values_give_finite_statistics() {
        let mut summary = Summary::default();
        for value in [1e308, 1e308, 1.5e308, f64::INFINITY, f64::NAN] {
            summary.add(&[("host.memory_used_bytes".to_owned(), value)]);
        }
        let metric = &summary.finish()[0];
        assert!(metric.mean.is_finite() && metric.p95.is_finite() && metric.max.is_finite(), "{metric:?}");
        assert!((metric.mean / 1e308 - 7.0 / 6.0).abs() < 1e-12, "{metric:?}");
        assert_eq!(metric.max, 1.5e308);
    }

    #[test]
    fn statistics_stay_exact_or_close_in_bounded_memory() {
        let mut summary = Summary::default();
        // Uniform values 0..100 from a fixed-seed generator (not periodic, which would alias
        // with the power-of-two decimation).
        let mut state = 42u64;
        let mut sum = 0.0;
        for _ in 0..100_000u32 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let value = (state >> 33) as f64 / (1u64 << 31) as f64 * 100.0;
            sum += value;
            summary.add(&[("a".to_owned(), value), ("b".to_owned(), 1.0)]);
        }
        let stats = summary.finish();
        assert_eq!(stats[0].name, "a");
        assert!((stats[0].mean - sum / 100_000.0).abs() < 1e-3);
        assert!(stats[0].max > 99.99);
        assert!((stats[0].p95 - 95.0).abs() < 1.0, "{}", stats[0].p95);
        assert_eq!((stats[1].mean, stats[1].p95, stats[1].max), (1.0, 1.0, 1.0));
        assert!(summary.metrics[0].kept.len() <= KEPT);
    }
}
