//! Where a series' steady state starts.
//!
//! The default is MSER-5 (White, 1997; the "marginal standard error rule" of simulation output
//! analysis): average the series in batches of 5, and cut the number of batches `d` (at most
//! half of them) that minimises `Σ(z − z̄)² / (k − d)²` over the batches `z` that remain: the
//! squared standard error of the remaining mean. A warm-up that differs from the rest inflates
//! the spread and is cut; a stationary series keeps nearly everything, because cutting shrinks
//! the denominator.
//!
//! Two refinements keep a slow wobble from passing for warm-up (the gate then cuts the current
//! run where the baseline's steady state starts, so a long cut would hide a slow stretch of the
//! current run): of the cuts nearly as good as the best (within twice the sampling error of the
//! statistic), the shortest is the candidate; and the cut is trimmed to the batches at the start
//! that stand out from the steady state, by more than 5% of its level and more than three of its
//! standard deviations.

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
                "auto: MSER-5 (cuts the start that inflates the standard error of the mean and stands out from the \
                 steady state, at most half)",
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
    let statistics: Vec<f64> = (0..=k / 2)
        .map(|d| {
            let left = (k - d) as f64;
            let spread = (squares[d] - sum[d] * sum[d] / left).max(0.0);
            spread / (left * left)
        })
        .collect();
    let best = statistics.iter().copied().fold(f64::INFINITY, f64::min);
    // The shortest cut that is nearly as good as the best: on a steady series with a wobble the
    // statistic is flat, and the plain minimum would cut a quarter or half of it at random (a
    // slow stretch of the current run would then vanish as "warm-up"); a real warm-up makes it
    // fall steeply until the warm-up ends, and that is where the first near-best cut is.
    // "Nearly": within the sampling error of a variance from k batches, about √(2/k) relative,
    // twice over; 30% for 400 samples, 80% for 60.
    let near_best = 1.0 + 2.0 * (2.0 / k as f64).sqrt();
    let candidate = statistics.iter().position(|&statistic| statistic <= best * near_best).unwrap_or(0);
    // A slow wobble can still make a long cut look best. Warm-up is only the start that stands
    // out from the steady state: the cut ends at the first batch before the candidate whose
    // mean is within 5% of the rest's, or within three of the rest's standard deviations.
    let rest = &batches[candidate..];
    let rest_mean = rest.iter().sum::<f64>() / rest.len() as f64;
    let rest_sd = (rest.iter().map(|z| (z - rest_mean) * (z - rest_mean)).sum::<f64>() / rest.len() as f64).sqrt();
    let level = (rest_mean + mean).abs();
    let tolerance = (MATERIAL * level).max(3.0 * rest_sd);
    let first_in_line = batches[..candidate].iter().position(|z| (z - rest_mean).abs() <= tolerance);
    first_in_line.unwrap_or(candidate) * BATCH
}

/// A warm-up batch differs from the steady state by more than this share of its level.
const MATERIAL: f64 = 0.05;

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
