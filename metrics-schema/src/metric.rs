//! Metrics, their units and directions, distributions, and flattening reports into metrics.

use serde::{Deserialize, Serialize};

/// The unit of a [`Metric`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Unit {
    /// Seconds.
    Seconds,
    /// Milliseconds.
    Milliseconds,
    /// Microseconds.
    Microseconds,
    /// Bytes.
    Bytes,
    /// Percent, 0 to 100.
    Percent,
    /// A plain ratio or fraction (0.25 = a quarter).
    Ratio,
    /// Events per second (samples/s, images/s).
    PerSecond,
    /// A count of things.
    Count,
    /// Degrees Celsius.
    Celsius,
    /// Watts.
    Watts,
    /// A number without a unit (a loss, a score).
    Number,
}

impl Unit {
    /// A short suffix for tables (`ms`, `/s`, `%`); empty for plain numbers and ratios.
    pub fn suffix(self) -> &'static str {
        match self {
            Unit::Seconds => "s",
            Unit::Milliseconds => "ms",
            Unit::Microseconds => "µs",
            Unit::Bytes => "B",
            Unit::Percent => "%",
            Unit::PerSecond => "/s",
            Unit::Count | Unit::Ratio | Unit::Number => "",
            Unit::Celsius => "°C",
            Unit::Watts => "W",
        }
    }
}

/// Which direction is an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Smaller values are better (times, memory).
    Lower,
    /// Larger values are better (throughput, hit rates).
    Higher,
}

/// One named number with its unit and direction, the unit of comparison between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// A dotted name, `throughput.samples_per_s`.
    pub name: String,
    /// The value; always finite.
    pub value: f64,
    /// What the value counts.
    pub unit: Unit,
    /// Which way is an improvement.
    pub better: Better,
}

/// Summary statistics of a set of samples.
///
/// Percentiles interpolate linearly between the closest ranks (NumPy's default, `linear`), so
/// they agree with what a user computes in Python from the same samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// How many samples.
    pub count: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator; 0 for a single sample).
    pub stddev: f64,
    /// Smallest sample.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest sample.
    pub max: f64,
}

impl Distribution {
    /// Summarises the finite values of `samples`; NaN and infinities are left out. `None` when
    /// no finite sample remains.
    pub fn from_samples(samples: &[f64]) -> Option<Distribution> {
        let mut sorted: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        sorted.sort_unstable_by(f64::total_cmp);
        Self::from_sorted(&sorted)
    }

    /// Like [`Distribution::from_samples`] for samples already sorted ascending and finite.
    pub fn from_sorted(sorted: &[f64]) -> Option<Distribution> {
        let (&min, &max) = (sorted.first()?, sorted.last()?);
        let n = sorted.len() as f64;
        // Welford's update keeps the variance accurate for large, close-together values.
        let (mut mean, mut m2) = (0.0, 0.0);
        for (i, &x) in sorted.iter().enumerate() {
            let delta = x - mean;
            mean += delta / (i + 1) as f64;
            m2 += delta * (x - mean);
        }
        let stddev = if sorted.len() > 1 { (m2 / (n - 1.0)).sqrt() } else { 0.0 };
        Some(Distribution {
            count: sorted.len() as u64,
            mean,
            stddev,
            min,
            p50: percentile_of_sorted(sorted, 50.0),
            p90: percentile_of_sorted(sorted, 90.0),
            p95: percentile_of_sorted(sorted, 95.0),
            p99: percentile_of_sorted(sorted, 99.0),
            max,
        })
    }

    /// The named statistics in a fixed order, for tables and metrics.
    pub fn named_values(&self) -> [(&'static str, f64); 8] {
        [
            ("mean", self.mean),
            ("stddev", self.stddev),
            ("min", self.min),
            ("p50", self.p50),
            ("p90", self.p90),
            ("p95", self.p95),
            ("p99", self.p99),
            ("max", self.max),
        ]
    }
}

/// The `q`-th percentile (0–100) of ascending, non-empty `sorted`, interpolating linearly.
fn percentile_of_sorted(sorted: &[f64], q: f64) -> f64 {
    let rank = q / 100.0 * (sorted.len() - 1) as f64;
    let below = rank.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let weight = rank - below as f64;
    sorted[below] + (sorted[above] - sorted[below]) * weight
}

/// Turns a report into a flat list of [`Metric`]s with dotted names. The regression gate compares
/// these lists between runs, so names must stay stable across versions.
pub trait ToMetrics {
    /// Adds this value's metrics to `out`.
    fn collect_metrics(&self, out: &mut MetricsBuilder);

    /// All metrics of this value, in a stable order.
    fn metrics(&self) -> Vec<Metric> {
        let mut out = MetricsBuilder::default();
        self.collect_metrics(&mut out);
        out.finish()
    }
}

/// Collects metrics under a dotted prefix.
#[derive(Debug, Default)]
pub struct MetricsBuilder {
    prefix: String,
    metrics: Vec<Metric>,
}

impl MetricsBuilder {
    /// Adds `prefix.name`. A value that is not finite is left out: a metric that could not be
    /// computed is absent rather than a misleading number.
    pub fn add(&mut self, name: &str, value: f64, unit: Unit, better: Better) -> &mut Self {
        if value.is_finite() {
            let name = self.full_name(name);
            self.metrics.push(Metric { name, value, unit, better });
        }
        self
    }

    /// Adds `prefix.name.mean`, `.p50`, … `.max` (not the count or stddev, which are not
    /// performance figures).
    pub fn distribution(&mut self, name: &str, distribution: &Distribution, unit: Unit, better: Better) -> &mut Self {
        for (stat, value) in distribution.named_values() {
            if stat != "stddev" {
                self.add(&format!("{name}.{stat}"), value, unit, better);
            }
        }
        self
    }

    /// Runs `fill` with `name` appended to the prefix.
    pub fn scope(&mut self, name: &str, fill: impl FnOnce(&mut MetricsBuilder)) -> &mut Self {
        let saved = self.prefix.len();
        self.prefix = self.full_name(name);
        fill(self);
        self.prefix.truncate(saved);
        self
    }

    /// The metrics collected so far.
    pub fn finish(self) -> Vec<Metric> {
        self.metrics
    }

    fn full_name(&self, name: &str) -> String {
        if self.prefix.is_empty() { name.to_owned() } else { format!("{}.{name}", self.prefix) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_matches_numpy_linear_percentiles() {
        // numpy.percentile(range(1, 11), [50, 90, 95, 99]) == [5.5, 9.1, 9.55, 9.91]
        let samples: Vec<f64> = (1..=10).rev().map(f64::from).collect();
        let d = Distribution::from_samples(&samples).unwrap();
        assert_eq!((d.count, d.min, d.max), (10, 1.0, 10.0));
        assert!((d.mean - 5.5).abs() < 1e-12);
        assert!((d.p50 - 5.5).abs() < 1e-12);
        assert!((d.p90 - 9.1).abs() < 1e-12);
        assert!((d.p95 - 9.55).abs() < 1e-12);
        assert!((d.p99 - 9.91).abs() < 1e-12);
        // numpy.std(range(1, 11), ddof=1)
        assert!((d.stddev - 3.0276503540974917).abs() < 1e-12);
    }

    #[test]
    fn distribution_skips_non_finite_samples() {
        assert_eq!(Distribution::from_samples(&[]), None);
        assert_eq!(Distribution::from_samples(&[f64::NAN, f64::INFINITY]), None);
        let d = Distribution::from_samples(&[f64::NAN, 4.0]).unwrap();
        assert_eq!((d.count, d.mean, d.stddev, d.p99), (1, 4.0, 0.0, 4.0));
    }

    #[test]
    fn distribution_is_stable_for_large_close_values() {
        let samples = [1e9 + 4.0, 1e9 + 7.0, 1e9 + 13.0, 1e9 + 16.0];
        let d = Distribution::from_samples(&samples).unwrap();
        assert!((d.stddev - 5.477225575051661).abs() < 1e-6, "{}", d.stddev);
    }

    struct Toy;

    impl ToMetrics for Toy {
        fn collect_metrics(&self, out: &mut MetricsBuilder) {
            out.scope("throughput", |t| {
                t.add("samples_per_s", 812.5, Unit::PerSecond, Better::Higher);
                t.add("broken", f64::NAN, Unit::Ratio, Better::Lower);
                t.distribution(
                    "batch_time_ms",
                    &Distribution::from_samples(&[1.0, 2.0]).unwrap(),
                    Unit::Milliseconds,
                    Better::Lower,
                );
            });
            out.add("top_level", 1.0, Unit::Count, Better::Lower);
        }
    }

    #[test]
    fn reports_flatten_to_dotted_names() {
        let names: Vec<String> = Toy.metrics().into_iter().map(|m| m.name).collect();
        assert_eq!(
            names,
            [
                "throughput.samples_per_s",
                "throughput.batch_time_ms.mean",
                "throughput.batch_time_ms.min",
                "throughput.batch_time_ms.p50",
                "throughput.batch_time_ms.p90",
                "throughput.batch_time_ms.p95",
                "throughput.batch_time_ms.p99",
                "throughput.batch_time_ms.max",
                "top_level",
            ]
        );
    }

    #[test]
    fn json_forms() {
        let metric = Metric {
            name: "throughput.samples_per_s".into(),
            value: 812.5,
            unit: Unit::PerSecond,
            better: Better::Higher,
        };
        insta::assert_json_snapshot!("metric", metric);
        let units = [
            Unit::Seconds,
            Unit::Milliseconds,
            Unit::Microseconds,
            Unit::Bytes,
            Unit::Percent,
            Unit::Ratio,
            Unit::PerSecond,
            Unit::Count,
            Unit::Celsius,
            Unit::Watts,
            Unit::Number,
        ];
        insta::assert_json_snapshot!("units", units);
        insta::assert_json_snapshot!("distribution", Distribution::from_samples(&[3.0, 1.0, 2.0, 10.0]).unwrap());
    }
}
