//! The statistics of the gate: blocking, autocorrelation, the Newey–West (HAC) variance of a
//! mean, Student's t, a level-shift (change-point) check, Mann–Whitney U and the
//! Hodges–Lehmann estimate with its confidence interval.
//!
//! Neighbouring steps of a training run are not independent (a slow data shard, a thermal
//! swing, a periodic checkpoint), so the variance of a run's mean is not `s²/n`: the gate uses
//! the heteroskedasticity-and-autocorrelation-consistent estimate of Newey and West (Bartlett
//! weights), which stays honest under autocorrelation and under the non-stationarity of a
//! level shift or a ramp (it widens the interval instead of hiding the change). The rank test
//! on whole runs remains for five or more repeated runs a side.

/// At most this many block means are kept per series in a baseline.
pub const MAX_FINE_BLOCKS: usize = 256;

/// The smallest power-of-two block size that leaves at most [`MAX_FINE_BLOCKS`] blocks, and the
/// blocks' means. A trailing partial block is dropped.
pub fn fine_blocks(values: &[f64]) -> (usize, Vec<f64>) {
    let size = fine_block_size(values.len());
    (size, block_means(values, size))
}

/// The smallest power-of-two block size that leaves at most [`MAX_FINE_BLOCKS`] blocks of `len`
/// values.
pub fn fine_block_size(len: usize) -> usize {
    let mut size = 1;
    while len / size > MAX_FINE_BLOCKS {
        size *= 2;
    }
    size
}

/// Means of consecutive blocks of `size` values (a trailing partial block is dropped).
pub fn block_means(values: &[f64], size: usize) -> Vec<f64> {
    values.chunks_exact(size.max(1)).map(mean).collect()
}

/// The mean of `values`; summed after dividing when the plain sum overflows (values near
/// f64::MAX), so that a huge but finite value never makes the mean infinite.
pub fn mean(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let sum = values.iter().sum::<f64>();
    if sum.is_finite() { sum / n } else { values.iter().map(|x| x / n).sum() }
}

/// Harmonic means of consecutive blocks of `size` positive values (a trailing partial block is
/// dropped): a block's events over its time, for rates.
pub fn harmonic_block_means(values: &[f64], size: usize) -> Vec<f64> {
    values.chunks_exact(size.max(1)).map(harmonic_mean).collect()
}

/// The harmonic mean of positive `values`: for rates, the events over the time.
pub fn harmonic_mean(values: &[f64]) -> f64 {
    values.len() as f64 / values.iter().map(|x| 1.0 / x).sum::<f64>()
}

/// Lag-1 autocorrelation; 0 for fewer than 3 values or no spread.
pub fn lag1_autocorrelation(values: &[f64]) -> f64 {
    if values.len() < 3 {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let spread: f64 = values.iter().map(|x| (x - mean) * (x - mean)).sum();
    if spread <= f64::EPSILON * mean.abs().max(1.0) {
        return 0.0;
    }
    let lagged: f64 = values.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum();
    lagged / spread
}

/// The result of a two-sided Mann–Whitney U test of `a` against `b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankTest {
    /// U of `b` (how often a `b` value exceeds an `a` value, ties counting half).
    pub u: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Standard deviation of U under the null hypothesis, after tie correction and inflation.
    pub sigma: f64,
}

/// Mann–Whitney U of `b` against `a`. Exact for small samples without ties and without
/// inflation; otherwise the normal approximation with tie and continuity corrections, its
/// variance multiplied by `inflation` (≥ 1) for autocorrelated samples.
pub fn mann_whitney(a: &[f64], b: &[f64], inflation: f64) -> RankTest {
    let (n_a, n_b) = (a.len(), b.len());
    let mut all: Vec<(f64, bool)> = a.iter().map(|&x| (x, false)).chain(b.iter().map(|&x| (x, true))).collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    let (mut rank_sum_b, mut tie_term, mut ties) = (0.0, 0.0, false);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let average_rank = (i + j) as f64 / 2.0 + 1.0;
        let group = (j - i + 1) as f64;
        if group > 1.0 {
            ties = true;
            tie_term += group * group * group - group;
        }
        rank_sum_b += all[i..=j].iter().filter(|(_, from_b)| *from_b).count() as f64 * average_rank;
        i = j + 1;
    }
    let u = rank_sum_b - (n_b * (n_b + 1)) as f64 / 2.0;
    let (na, nb, nf) = (n_a as f64, n_b as f64, n as f64);
    let mean = na * nb / 2.0;
    let variance = na * nb / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)).max(1.0)) * inflation.max(1.0);
    let sigma = variance.max(0.0).sqrt();
    if n_a == 0 || n_b == 0 {
        return RankTest { u, p: 1.0, sigma };
    }
    let p = if !ties && inflation <= 1.0 && n <= 60 {
        exact_two_sided(n_a, n_b, u)
    } else if sigma == 0.0 {
        1.0
    } else {
        let z = ((u - mean).abs() - 0.5).max(0.0) / sigma;
        (2.0 * normal_upper_tail(z)).min(1.0)
    };
    RankTest { u, p, sigma }
}

/// Exact two-sided p of U for sample sizes `m` and `n` without ties: the distribution of U is
/// counted by dynamic programming over subsets of ranks.
fn exact_two_sided(m: usize, n: usize, u: f64) -> f64 {
    let max_u = m * n;
    // ways[k][s]: subsets of size k of the ranks seen so far whose U-contribution sums to s.
    let mut ways = vec![vec![0.0f64; max_u + 1]; m + 1];
    ways[0][0] = 1.0;
    for item in 0..m + n {
        for k in (1..=m.min(item + 1)).rev() {
            // Choosing rank `item` as the k-th smallest of the chosen adds (item - (k - 1)) to U.
            let add = item + 1 - k;
            if add > n {
                continue;
            }
            for s in (add..=max_u).rev() {
                ways[k][s] += ways[k - 1][s - add];
            }
        }
    }
    let total: f64 = ways[m].iter().sum();
    let mean = max_u as f64 / 2.0;
    let distance = (u - mean).abs();
    let extreme: f64 = ways[m]
        .iter()
        .enumerate()
        .filter(|(s, _)| (*s as f64 - mean).abs() >= distance - 1e-9)
        .map(|(_, count)| count)
        .sum();
    (extreme / total).min(1.0)
}

/// The Hodges–Lehmann estimate of the shift from `a` to `b` (the median of all pairwise
/// differences `b_j − a_i`) and its distribution-free confidence interval at `confidence`,
/// taken from the order statistics of those differences (Moses), with the rank test's `sigma`.
pub fn hodges_lehmann(a: &[f64], b: &[f64], sigma: f64, confidence: f64) -> (f64, [f64; 2]) {
    let mut differences: Vec<f64> = Vec::with_capacity(a.len() * b.len());
    for &y in b {
        for &x in a {
            differences.push(y - x);
        }
    }
    differences.sort_by(f64::total_cmp);
    let count = differences.len();
    if count == 0 {
        return (f64::NAN, [f64::NAN, f64::NAN]);
    }
    let median = if count % 2 == 1 {
        differences[count / 2]
    } else {
        (differences[count / 2 - 1] + differences[count / 2]) / 2.0
    };
    // Hollander & Wolfe: the bounds are the C-th smallest and C-th largest differences, with
    // C = ⌊N/2 − z·σ_U⌋ (at least 1).
    let z = normal_quantile(0.5 + confidence / 2.0);
    let c = (count as f64 / 2.0 - z * sigma).floor().max(1.0) as usize;
    let k = (c - 1).min((count - 1) / 2);
    (median, [differences[k], differences[count - 1 - k]])
}

/// The Newey–West lag for `n` samples: `max(⌊4(n/100)^(2/9)⌋ + 1, ⌊n^(1/3)⌋)`, at most `n − 1`.
///
/// The first term is the usual rule of thumb; the second keeps the lag growing with long
/// series, where a slow wobble spans many samples.
pub fn newey_west_lag(n: usize) -> usize {
    if n < 2 {
        return 0;
    }
    let nf = n as f64;
    let rule_of_thumb = (4.0 * (nf / 100.0).powf(2.0 / 9.0)).floor() as usize + 1;
    let cube_root = nf.cbrt().floor() as usize;
    rule_of_thumb.max(cube_root).min(n - 1)
}

/// A mean with its Newey–West standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HacMean {
    /// The mean.
    pub mean: f64,
    /// The variance of the mean (long-run variance over `n`).
    pub variance: f64,
    /// The samples it was computed from.
    pub n: usize,
    /// Effective independent samples, `n · γ₀ / long-run variance`, between 1 and `n`: the
    /// degrees of freedom the autocorrelation leaves.
    pub effective_n: f64,
}

/// The mean of `values` and the variance of that mean, with Bartlett-weighted autocovariances up
/// to [`newey_west_lag`]. A negative long-run variance (possible only through rounding) is
/// floored at the plain `γ₀ / n`, which is never negative.
pub fn hac_mean(values: &[f64]) -> HacMean {
    let n = values.len();
    if n == 0 {
        return HacMean { mean: f64::NAN, variance: f64::NAN, n, effective_n: 0.0 };
    }
    let mean = mean(values);
    if n == 1 {
        return HacMean { mean, variance: f64::INFINITY, n, effective_n: 1.0 };
    }
    let centred: Vec<f64> = values.iter().map(|x| x - mean).collect();
    let autocovariance = |lag: usize| centred.iter().zip(&centred[lag..]).map(|(a, b)| a * b).sum::<f64>() / n as f64;
    let gamma0 = autocovariance(0);
    let lag = newey_west_lag(n);
    let mut long_run = gamma0;
    for k in 1..=lag {
        let weight = 1.0 - k as f64 / (lag + 1) as f64;
        long_run += 2.0 * weight * autocovariance(k);
    }
    // γ₀ uses 1/n: with few samples that underestimates; Bessel's n/(n−1) restores it.
    let bessel = n as f64 / (n - 1) as f64;
    let long_run = long_run.max(gamma0) * bessel;
    let effective_n =
        if long_run > 0.0 { (n as f64 * gamma0 * bessel / long_run).clamp(1.0, n as f64) } else { n as f64 };
    HacMean { mean, variance: long_run / n as f64, n, effective_n }
}

/// A level shift found inside one series: where, and the means before and after.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shift {
    /// Index of the first sample after the shift.
    pub at: usize,
    /// Mean before it.
    pub before: f64,
    /// Mean from it on.
    pub after: f64,
    /// The shift's t statistic, against the residuals' Newey–West variance.
    pub t: f64,
}

/// |t| a level shift needs to be reported. The largest of many correlated split statistics is
/// compared, so the bar is far above a single test's 2.6 (a sine wobble or AR(1) noise must not
/// read as a shift).
pub const SHIFT_T: f64 = 6.0;

/// The single most likely level shift in `values` (CUSUM: the split that maximises the
/// weighted difference of the two segments' means, searched over the middle 80%), when it is
/// clear ([`SHIFT_T`] against the Newey–West variance of the residuals around the two segment
/// means) and at least `min_relative` of the earlier level. Fewer than 10 values: none.
pub fn level_shift(values: &[f64], min_relative: f64) -> Option<Shift> {
    let n = values.len();
    if n < 10 {
        return None;
    }
    let mut prefix = vec![0.0; n + 1];
    for (i, x) in values.iter().enumerate() {
        prefix[i + 1] = prefix[i] + x;
    }
    let total = prefix[n];
    let (low, high) = ((n / 10).max(2), n - (n / 10).max(2));
    let mut best: Option<(f64, usize)> = None;
    for (k, &before_k) in prefix.iter().enumerate().take(high + 1).skip(low) {
        let (left, right) = (before_k / k as f64, (total - before_k) / (n - k) as f64);
        let score = (right - left).abs() * ((k * (n - k)) as f64 / n as f64).sqrt();
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, k));
        }
    }
    let (_, at) = best?;
    let before = prefix[at] / at as f64;
    let after = (total - prefix[at]) / (n - at) as f64;
    let residuals: Vec<f64> = values.iter().enumerate().map(|(i, x)| x - if i < at { before } else { after }).collect();
    let spread = hac_mean(&residuals).variance * n as f64;
    let scale = (spread * (1.0 / at as f64 + 1.0 / (n - at) as f64)).sqrt();
    let t = if scale > 0.0 {
        (after - before) / scale
    } else if after == before {
        0.0
    } else {
        f64::INFINITY
    };
    let relative = if before != 0.0 { ((after - before) / before).abs() } else { f64::INFINITY };
    (t.abs() >= SHIFT_T && relative >= min_relative).then_some(Shift { at, before, after, t })
}

/// The mean of `values` with the variance of that mean from the noise around its clear level
/// shifts: the series is split where [`level_shift`] finds a shift (recursively, into at most
/// [`MAX_SEGMENTS`] segments of at least 10 values), and the Newey–West variance is taken of
/// the residuals around each segment's mean.
///
/// A slow stretch of a run is part of what that run cost, not noise around its mean: left in,
/// it would inflate the variance and hide the very change it makes. Without a clear shift this
/// is [`hac_mean`].
pub fn hac_mean_segmented(values: &[f64]) -> HacMean {
    let plain = hac_mean(values);
    let mut cuts = vec![0, values.len()];
    split_at_shifts(values, 0, &mut cuts);
    if cuts.len() == 2 {
        return plain;
    }
    cuts.sort_unstable();
    let mut residuals = Vec::with_capacity(values.len());
    for window in cuts.windows(2) {
        let segment = &values[window[0]..window[1]];
        let mean = segment.iter().sum::<f64>() / segment.len() as f64;
        residuals.extend(segment.iter().map(|x| x - mean));
    }
    let noise = hac_mean(&residuals);
    HacMean { mean: plain.mean, variance: noise.variance, n: plain.n, effective_n: noise.effective_n }
}

/// Segments a series may be split into by [`hac_mean_segmented`].
pub const MAX_SEGMENTS: usize = 8;

fn split_at_shifts(values: &[f64], offset: usize, cuts: &mut Vec<usize>) {
    if cuts.len() > MAX_SEGMENTS || values.len() < 20 {
        return;
    }
    if let Some(shift) = level_shift(values, 0.0) {
        cuts.push(offset + shift.at);
        split_at_shifts(&values[..shift.at], offset, cuts);
        split_at_shifts(&values[shift.at..], offset + shift.at, cuts);
    }
}

/// `P(T > t)` for Student's t with `df` degrees of freedom (any real `df` > 0; the normal
/// beyond 10⁶), through the regularised incomplete beta function.
pub fn student_t_upper_tail(t: f64, df: f64) -> f64 {
    if t.is_nan() {
        return f64::NAN;
    }
    if !df.is_finite() || df > 1e6 {
        return normal_upper_tail(t);
    }
    let x = df / (df + t * t);
    let tail = 0.5 * regularized_incomplete_beta(df / 2.0, 0.5, x);
    if t >= 0.0 { tail } else { 1.0 - tail }
}

/// The `p` quantile of Student's t with `df` degrees of freedom (bisection on the CDF, to
/// 1e-10).
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    if !df.is_finite() || df > 1e6 {
        return normal_quantile(p);
    }
    if p == 0.5 {
        return 0.0;
    }
    let (mut low, mut high) = (-1e3, 1e3);
    for _ in 0..200 {
        let middle = (low + high) / 2.0;
        if 1.0 - student_t_upper_tail(middle, df) < p {
            low = middle;
        } else {
            high = middle;
        }
        if high - low < 1e-10 {
            break;
        }
    }
    (low + high) / 2.0
}

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, n = 9; relative error below 1e-13).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEFFICIENTS[0];
    for (i, c) in COEFFICIENTS.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// `I_x(a, b)`, by the continued fraction (modified Lentz), on the side where it converges fast.
fn regularized_incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b
    }
}

fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let nonzero = |value: f64| if value.abs() < TINY { TINY } else { value };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / nonzero(1.0 - qab * x / qap);
    let mut h = d;
    // One step of the modified Lentz recurrence with the coefficient `aa`: the factor that
    // multiplies `h`.
    let mut step = |aa: f64| {
        d = 1.0 / nonzero(1.0 + aa * d);
        c = nonzero(1.0 + aa / c);
        d * c
    };
    for m in 1..=300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        h *= step(m * (b - m) * x / ((qam + m2) * (a + m2)));
        let factor = step(-(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)));
        h *= factor;
        if (factor - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// `P(Z > z)` for a standard normal `Z`.
pub fn normal_upper_tail(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function (Numerical Recipes' Chebyshev fit, relative error below
/// 1.2e-7: ample for p-values).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let value = t * poly.exp();
    if x >= 0.0 { value } else { 2.0 - value }
}

/// The standard normal quantile (Acklam's rational approximation, refined by one Newton step).
pub fn normal_quantile(p: f64) -> f64 {
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    const A: [f64; 6] = [
        -39.696_830_286_653_76,
        220.946_098_424_520_5,
        -275.928_510_446_968_7,
        138.357_751_867_269,
        -30.664_798_066_147_16,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -54.476_098_798_224_06,
        161.585_836_858_040_9,
        -155.698_979_859_886_6,
        66.801_311_887_719_72,
        -13.280_681_552_885_72,
    ];
    const C: [f64; 6] = [
        -0.007_784_894_002_430_293,
        -0.322_396_458_041_136_4,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [0.007_784_695_709_041_462, 0.322_467_129_070_039_8, 2.445_134_137_142_996, 3.754_408_661_907_416];
    let low = 0.024_25;
    let x = if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // One Newton step on the CDF.
    let error = 0.5 * erfc(-x / std::f64::consts::SQRT_2) - p;
    let density = (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
    x - error / density
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_functions_match_tables() {
        assert!((normal_upper_tail(1.959_963_985) - 0.025).abs() < 1e-7);
        assert!((normal_upper_tail(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-6);
        assert!((normal_quantile(0.995) - 2.575_829_304).abs() < 1e-6);
        assert!((normal_quantile(0.01) + 2.326_347_874).abs() < 1e-6);
    }

    #[test]
    fn exact_mann_whitney_matches_scipy() {
        // scipy.stats.mannwhitneyu([1,2,3,4,5], [6,7,8,9,10], method="exact").pvalue == 0.007936507936507936
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [6.0, 7.0, 8.0, 9.0, 10.0];
        let test = mann_whitney(&a, &b, 1.0);
        assert_eq!(test.u, 25.0);
        assert!((test.p - 0.007_936_507_936_507_936).abs() < 1e-12, "{}", test.p);
        // scipy: mannwhitneyu([1,3,5,7], [2,4,6,8,10], method="exact").pvalue == 0.4126984126984127
        let test = mann_whitney(&[1.0, 3.0, 5.0, 7.0], &[2.0, 4.0, 6.0, 8.0, 10.0], 1.0);
        assert_eq!(test.u, 14.0);
        assert!((test.p - 0.412_698_412_698_412_7).abs() < 1e-12, "{}", test.p);
    }

    #[test]
    fn normal_mann_whitney_with_ties_matches_scipy() {
        // scipy.stats.mannwhitneyu(b, a, method="asymptotic", use_continuity=True):
        // statistic 56.5, pvalue 0.010515245935858907 (SciPy 1.17).
        let a = [1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 5.0];
        let b = [3.0, 4.0, 4.0, 5.0, 5.0, 6.0, 7.0, 7.0];
        let test = mann_whitney(&a, &b, 1.0);
        assert_eq!(test.u, 56.5);
        assert!((test.p - 0.010_515_245_935_858_907).abs() < 1e-6, "{}", test.p);
        // Inflation widens it.
        assert!(mann_whitney(&a, &b, 3.0).p > test.p);
    }

    #[test]
    fn swapping_sides_mirrors_the_statistic() {
        let a = [1.0, 4.0, 2.5, 8.0, 3.0, 3.0];
        let b = [2.0, 5.0, 9.0, 7.0, 6.5, 3.0, 11.0];
        let (forward, backward) = (mann_whitney(&a, &b, 1.0), mann_whitney(&b, &a, 1.0));
        assert_eq!(forward.u + backward.u, (a.len() * b.len()) as f64);
        assert!((forward.p - backward.p).abs() < 1e-12);
        let (shift, ci) = hodges_lehmann(&a, &b, forward.sigma, 0.95);
        let (back, back_ci) = hodges_lehmann(&b, &a, backward.sigma, 0.95);
        assert_eq!(shift, -back);
        assert_eq!(ci, [-back_ci[1], -back_ci[0]]);
    }

    #[test]
    fn hodges_lehmann_recovers_a_shift() {
        let a: Vec<f64> = (0..20).map(f64::from).collect();
        let b: Vec<f64> = a.iter().map(|x| x + 3.0).collect();
        let test = mann_whitney(&a, &b, 1.0);
        let (shift, [low, high]) = hodges_lehmann(&a, &b, test.sigma, 0.95);
        assert_eq!(shift, 3.0);
        assert!(low < 3.0 && high > 3.0 && low > -5.0 && high < 11.0, "{low}..{high}");
    }

    #[test]
    fn student_t_matches_tables() {
        // scipy.stats.t.sf(2.0, 5) == 0.05096973941492914; t.sf(1.0, 1) == 0.25;
        // t.ppf(0.995, 10) == 3.169272672616981.
        assert!((student_t_upper_tail(2.0, 5.0) - 0.050_969_739_414_929_14).abs() < 1e-9);
        assert!((student_t_upper_tail(1.0, 1.0) - 0.25).abs() < 1e-12);
        assert!((student_t_upper_tail(-1.0, 1.0) - 0.75).abs() < 1e-12);
        assert!((student_t_quantile(0.995, 10.0) - 3.169_272_672_616_981).abs() < 1e-7);
        assert!((student_t_quantile(0.995, 1e9) - 2.575_829_304).abs() < 1e-6);
        // Between its neighbours for a real-valued df.
        let (three, four) = (student_t_quantile(0.975, 3.0), student_t_quantile(0.975, 4.0));
        let between = student_t_quantile(0.975, 3.5);
        assert!(four < between && between < three, "{four} {between} {three}");
    }

    #[test]
    fn newey_west_variance() {
        assert_eq!(newey_west_lag(400), 7);
        assert_eq!(newey_west_lag(30), 4);
        assert_eq!(newey_west_lag(2), 1);
        // Independent-looking values: close to s²/n.
        let alternating: Vec<f64> = (0..100).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
        let plain = hac_mean(&alternating);
        assert_eq!(plain.mean, 0.0);
        // Negative autocorrelation is floored at γ₀, never below.
        assert!((plain.variance - 1.0 / 99.0).abs() < 1e-12, "{}", plain.variance);
        // A level shift inflates the variance of the mean far beyond s²/n.
        let shifted: Vec<f64> = (0..100).map(|i| if i < 50 { 1.0 } else { 2.0 }).collect();
        let hac = hac_mean(&shifted);
        let naive = 0.25 * 100.0 / 99.0 / 100.0;
        assert!(hac.variance > 4.0 * naive, "{} vs {naive}", hac.variance);
        assert!(hac.effective_n < 25.0, "{}", hac.effective_n);
        assert_eq!(hac_mean(&[3.0; 20]).variance, 0.0);
    }

    #[test]
    fn a_slow_stretch_is_not_noise_around_the_mean() {
        let noise = |i: usize| ((i * 7919 % 101) as f64 / 101.0 - 0.5) * 0.04;
        let stretch: Vec<f64> = (0..200).map(|i| if (20..60).contains(&i) { 1.5 } else { 1.0 } + noise(i)).collect();
        let (plain, segmented) = (hac_mean(&stretch), hac_mean_segmented(&stretch));
        assert_eq!(plain.mean, segmented.mean);
        assert!(segmented.variance * 20.0 < plain.variance, "{} vs {}", segmented.variance, plain.variance);
        let steady: Vec<f64> = (0..200).map(|i| 1.0 + noise(i)).collect();
        assert_eq!(hac_mean_segmented(&steady), hac_mean(&steady));
    }

    #[test]
    fn a_level_shift_is_found_where_it_is_and_noise_has_none() {
        let noise = |i: usize| ((i * 7919 % 101) as f64 / 101.0 - 0.5) * 0.04;
        let shifted: Vec<f64> = (0..200).map(|i| if i < 120 { 2.0 } else { 1.0 } + noise(i)).collect();
        let shift = level_shift(&shifted, 0.05).expect("a shift");
        assert!((118..=122).contains(&shift.at), "{}", shift.at);
        assert!((shift.before - 2.0).abs() < 0.01 && (shift.after - 1.0).abs() < 0.01, "{shift:?}");
        let steady: Vec<f64> = (0..200).map(|i| 1.0 + noise(i)).collect();
        assert_eq!(level_shift(&steady, 0.05), None);
        let wobble: Vec<f64> = (0..200).map(|i| 1.0 + 0.03 * (i as f64 / 30.0).sin() + noise(i)).collect();
        assert_eq!(level_shift(&wobble, 0.05), None);
        // Clear but smaller than asked for.
        let small: Vec<f64> = (0..200).map(|i| if i < 100 { 1.0 } else { 1.02 }).collect();
        assert_eq!(level_shift(&small, 0.05), None);
    }

    #[test]
    fn blocks_and_autocorrelation() {
        let (size, means) = fine_blocks(&(0..1000).map(f64::from).collect::<Vec<_>>());
        assert_eq!((size, means.len()), (4, 250));
        assert_eq!(means[0], 1.5);
        // A slow sine: strongly correlated neighbours.
        let sine: Vec<f64> = (0..256).map(|i| (f64::from(i) * std::f64::consts::TAU / 64.0).sin()).collect();
        assert!(lag1_autocorrelation(&sine) > 0.9);
        // Alternating values are negatively correlated.
        let alternating: Vec<f64> = (0..64).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
        assert!(lag1_autocorrelation(&alternating) < -0.9);
        assert_eq!(harmonic_mean(&[1.0, 4.0, 4.0]), 2.0);
        assert_eq!(lag1_autocorrelation(&[5.0; 10]), 0.0);
    }
}
