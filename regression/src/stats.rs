//! The statistics of the gate: blocking, autocorrelation, Mann–Whitney U and the
//! Hodges–Lehmann estimate with its confidence interval.
//!
//! Neighbouring steps of a training run are not independent (a slow data shard, a thermal
//! swing, a periodic checkpoint), so a rank test on raw steps would call a wobble significant.
//! Samples are averaged in blocks grown until neighbouring block means are nearly uncorrelated,
//! and the test's variance is inflated by `(1 + ρ)/(1 − ρ)` for the lag-1 correlation `ρ` that
//! remains.

/// At most this many block means are kept per series in a baseline.
pub const MAX_FINE_BLOCKS: usize = 256;
/// A block size is only considered while it leaves this many blocks.
pub const MIN_BLOCKS: usize = 8;
/// Blocks are grown until the lag-1 autocorrelation of their means is at most this.
pub const MAX_BLOCK_CORRELATION: f64 = 0.2;

/// The smallest power-of-two block size that leaves at most [`MAX_FINE_BLOCKS`] blocks, and the
/// blocks' means. A trailing partial block is dropped.
pub fn fine_blocks(values: &[f64]) -> (usize, Vec<f64>) {
    let mut size = 1;
    while values.len() / size > MAX_FINE_BLOCKS {
        size *= 2;
    }
    (size, block_means(values, size))
}

/// Means of consecutive blocks of `size` values (a trailing partial block is dropped).
pub fn block_means(values: &[f64], size: usize) -> Vec<f64> {
    values.chunks_exact(size.max(1)).map(|chunk| chunk.iter().sum::<f64>() / chunk.len() as f64).collect()
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

/// The merge factor (a power of two) for `means` that makes neighbouring means nearly
/// uncorrelated while leaving at least [`MIN_BLOCKS`] of them; the largest allowed one when
/// none does.
pub fn decorrelating_factor(means: &[f64]) -> usize {
    let mut factor = 1;
    loop {
        let merged = block_means(means, factor);
        if lag1_autocorrelation(&merged) <= MAX_BLOCK_CORRELATION {
            return factor;
        }
        if means.len() / (factor * 2) < MIN_BLOCKS {
            return factor;
        }
        factor *= 2;
    }
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
    fn blocks_and_autocorrelation() {
        let (size, means) = fine_blocks(&(0..1000).map(f64::from).collect::<Vec<_>>());
        assert_eq!((size, means.len()), (4, 250));
        assert_eq!(means[0], 1.5);
        // A slow sine: strongly correlated neighbours, so blocks grow.
        let sine: Vec<f64> = (0..256).map(|i| (f64::from(i) * std::f64::consts::TAU / 64.0).sin()).collect();
        assert!(lag1_autocorrelation(&sine) > 0.9);
        assert!(decorrelating_factor(&sine) >= 16, "{}", decorrelating_factor(&sine));
        // Alternating values are negatively correlated, which is fine as it is.
        let alternating: Vec<f64> = (0..64).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
        assert_eq!(decorrelating_factor(&alternating), 1);
        assert_eq!(lag1_autocorrelation(&[5.0; 10]), 0.0);
    }
}
