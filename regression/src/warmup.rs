//! Where a series' steady state starts.
//!
//! The default is MSER-5 (White, 1997; the "marginal standard error rule" of simulation output
//! analysis): average the series in batches of 5, and cut the number of batches `d` (at most
//! half of them) that minimises `Σ(z − z̄)² / (k − d)²` over the batches `z` that remain: the
//! squared standard error of the remaining mean. A warm-up that differs from the rest inflates
//! the spread and is cut; a stationary series keeps nearly everything, because cutting shrinks
//! the denominator.

use std::{fmt, str::FromStr};

use crate::Error;

/// How much of each series' start is warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Warmup {
    /// MSER-5.
    #[default]
    Auto,
    /// A fixed number of samples.
    Samples(u64),
    /// A fraction of the samples (0 ≤ f < 1).
    Fraction(f64),
}

impl FromStr for Warmup {
    type Err = Error;

    fn from_str(text: &str) -> Result<Warmup, Error> {
        let text = text.trim();
        let bad =
            || Error::Setting(format!("warm-up `{text}`: give `auto`, a sample count (20) or a fraction (0.1 or 10%)"));
        if text.eq_ignore_ascii_case("auto") {
            return Ok(Warmup::Auto);
        }
        if let Some(percent) = text.strip_suffix('%') {
            let value: f64 = percent.trim().parse().map_err(|_| bad())?;
            return Warmup::fraction(value / 100.0).ok_or_else(bad);
        }
        if let Ok(count) = text.parse::<u64>() {
            return Ok(Warmup::Samples(count));
        }
        let value: f64 = text.parse().map_err(|_| bad())?;
        Warmup::fraction(value).ok_or_else(bad)
    }
}

impl Warmup {
    fn fraction(value: f64) -> Option<Warmup> {
        (value.is_finite() && (0.0..1.0).contains(&value)).then_some(Warmup::Fraction(value))
    }

    /// The index of the first steady-state sample of `values`.
    pub fn steady_start(self, values: &[f64]) -> usize {
        match self {
            Warmup::Auto => mser5(values),
            Warmup::Samples(count) => usize::try_from(count).unwrap_or(usize::MAX).min(values.len()),
            Warmup::Fraction(fraction) => ((values.len() as f64 * fraction).floor() as usize).min(values.len()),
        }
    }
}

impl fmt::Display for Warmup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warmup::Auto => f.write_str(
                "auto: MSER-5 (cuts the start that most inflates the standard error of the mean, at most half)",
            ),
            Warmup::Samples(count) => write!(f, "the first {count} samples of each series"),
            Warmup::Fraction(fraction) => write!(f, "the first {:.0}% of each series", fraction * 100.0),
        }
    }
}

/// Batches of this many samples.
const BATCH: usize = 5;

fn mser5(values: &[f64]) -> usize {
    let k = values.len() / BATCH;
    if k < 4 {
        return 0;
    }
    // Centre first, so that the running sums do not cancel for values far from zero.
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let batches: Vec<f64> =
        values.chunks_exact(BATCH).map(|chunk| chunk.iter().sum::<f64>() / BATCH as f64 - mean).collect();
    // Suffix sums give each candidate's statistic in O(1).
    let mut sum = vec![0.0; k + 1];
    let mut squares = vec![0.0; k + 1];
    for j in (0..k).rev() {
        sum[j] = sum[j + 1] + batches[j];
        squares[j] = squares[j + 1] + batches[j] * batches[j];
    }
    let mut best = (f64::INFINITY, 0);
    for d in 0..=k / 2 {
        let left = (k - d) as f64;
        let spread = (squares[d] - sum[d] * sum[d] / left).max(0.0);
        let statistic = spread / (left * left);
        // Strictly smaller: ties keep the shorter cut.
        if statistic < best.0 {
            best = (statistic, d);
        }
    }
    best.1 * BATCH
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!("auto".parse::<Warmup>().unwrap(), Warmup::Auto);
        assert_eq!("20".parse::<Warmup>().unwrap(), Warmup::Samples(20));
        assert_eq!("0.1".parse::<Warmup>().unwrap(), Warmup::Fraction(0.1));
        assert_eq!("25%".parse::<Warmup>().unwrap(), Warmup::Fraction(0.25));
        for bad in ["1.5", "-3", "100%", "x", "nan"] {
            assert!(bad.parse::<Warmup>().is_err(), "{bad}");
        }
    }

    #[test]
    fn mser_cuts_a_slow_start_and_keeps_a_stationary_series() {
        // 40 slow samples, then 160 around 10 with a deterministic wobble.
        let wobble = |i: usize| ((i * 7919) % 13) as f64 / 13.0 - 0.5;
        let mut values: Vec<f64> = (0..40).map(|i| 30.0 + wobble(i)).collect();
        values.extend((40..200).map(|i| 10.0 + wobble(i)));
        let cut = Warmup::Auto.steady_start(&values);
        assert!((40..=45).contains(&cut), "{cut}");
        let stationary: Vec<f64> = (0..200).map(|i| 10.0 + wobble(i)).collect();
        assert!(Warmup::Auto.steady_start(&stationary) <= 20);
        assert_eq!(Warmup::Auto.steady_start(&[1.0; 12]), 0, "too short to judge");
    }

    #[test]
    fn fixed_rules() {
        let values = [0.0; 10];
        assert_eq!(Warmup::Samples(3).steady_start(&values), 3);
        assert_eq!(Warmup::Samples(30).steady_start(&values), 10);
        assert_eq!(Warmup::Fraction(0.25).steady_start(&values), 2);
    }
}
