//! The regression gate: a current run against a baseline, metric by metric.
//!
//! A training or input pipeline is paid for by its total time, so the gate judges each side's
//! **steady-state mean** (time per step, samples per second over the run), not its median: a
//! stall every third step, a slow stretch early or late, or a ramp all move the mean by what
//! they cost, and a median would wave them through.
//!
//! A metric **regresses** when all of these hold:
//!
//! 1. the change is statistically significant at `alpha` (0.01):
//!    - **mean** rule (a series a side, or 2 to 4 runs' values): the log of the ratio of the two
//!      means, its standard error from each mean's Newey–West (HAC) variance by the delta
//!      method, against Student's t with the effective sample size's degrees of freedom.
//!      Newey–West keeps the error honest under autocorrelated steps; it is taken of the noise
//!      around a run's clear level shifts (found by a CUSUM split, at most 8 segments), because
//!      a slow stretch is what the run cost, not noise that makes its mean uncertain; and it is
//!      the quieter side's, the noise both share if nothing changed (a current run's stalls
//!      are evidence, not noise that excuses them). A rate is judged by its harmonic mean
//!      (events over time: the run's throughput);
//!    - **runs** rule (5 or more repeated runs a side): a two-sided Mann–Whitney U test on the
//!      runs' means;
//! 2. the estimated change is beyond the metric's threshold (5%: a factor of 1.05 either way) in
//!    the worse direction; a zero baseline has no relative change, and there the noise floor
//!    alone decides;
//! 3. the absolute difference is beyond the metric's noise floor (in its unit).
//!
//! With one value a side, (2) and (3) alone decide, except for tail figures (p95, p99, max),
//! which are not judged from one value a side unless the thresholds file sets their threshold.
//! **Improved** is the same in the better direction; anything else is **unchanged**. Runs on
//! different GPUs (or hosts, with `require_same_host`) and metrics missing on one side are
//! **not comparable**. Medians and level shifts inside a run are reported beside the verdict,
//! never instead of it; a short series is judged on what it has, and its interval says how
//! sure that is.

use std::collections::BTreeSet;

use metrics_schema::{
    BaselineMetric, BaselineReport, Better, Comparison, DecisionRule, Direction, GateSettings, MetricKind,
    RegressReport, RegressSide, Verdict, VerdictCounts,
};

use crate::{
    Thresholds,
    stats::{self, RankTest},
    thresholds::default_noise_floor,
};

/// Repeated runs a side needed for the runs rule (5 against 5 can reach p < 0.01 exactly).
pub const MIN_RUNS: usize = 5;
/// Below this many steady-state samples a side, a verdict says that the series is short.
pub const SHORT_SERIES: u64 = 50;

/// The decision rule in words, as printed in every output.
pub fn rule_text(thresholds: &Thresholds) -> String {
    format!(
        "A metric regresses when its steady-state mean (a rate's: harmonic, events over time) changes significantly \
         (p < {alpha}: the ratio of the two means against Student's t with the quieter side's Newey–West standard \
         error, which allows for autocorrelated steps and level shifts; with {MIN_RUNS} or more runs a side, \
         Mann–Whitney U on the runs' means), beyond the metric's threshold \
         (default {threshold}: a factor of {factor:.2} either way) and beyond its noise floor, in the worse direction. \
         A zero baseline is judged on the noise floor alone. With one value a side, the threshold and noise floor \
         alone decide (tails such as p95 are not judged from one value). Improvements are judged the same way in the \
         better direction.",
        alpha = thresholds.alpha,
        threshold = percent(thresholds.threshold),
        factor = 1.0 + thresholds.threshold,
    )
}

/// Compares `current` with `baseline`.
pub fn compare(
    baseline: &BaselineReport,
    current: &BaselineReport,
    labels: [&str; 2],
    thresholds: &Thresholds,
) -> RegressReport {
    let environment = environment_difference(baseline, current, thresholds.require_same_host);
    let names: BTreeSet<&str> =
        baseline.metrics.iter().chain(&current.metrics).map(|metric| metric.name.as_str()).collect();
    let find = |report: &'_ BaselineReport, name: &str| report.metrics.iter().find(|m| m.name == name).cloned();
    let mut counts = VerdictCounts::default();
    let mut comparisons = Vec::new();
    for name in names {
        let (base, cur) = (find(baseline, name), find(current, name));
        let settings = thresholds.for_metric(name);
        let direction = settings.direction.unwrap_or_else(|| {
            let recorded = [&base, &cur].into_iter().flatten().map(|m| m.better).find(|&d| d != Direction::Info);
            // Model quality is reported, and gated only when the thresholds file sets its
            // threshold (its direction is then the quality's own).
            recorded
                .or_else(|| settings.threshold_set.then(|| crate::direction::quality_direction(name)).flatten())
                .unwrap_or(Direction::Info)
        });
        let Some(better) = direction.better().filter(|_| !settings.ignore) else {
            counts.not_gated += 1;
            continue;
        };
        let unit = base.as_ref().or(cur.as_ref()).map(|m| m.unit).unwrap_or(metrics_schema::Unit::Number);
        let floor = settings.noise_floor.unwrap_or_else(|| default_noise_floor(unit));
        let rule = base.as_ref().zip(cur.as_ref()).map(|(b, c)| choose_rule(b, c).rule);
        if rule == Some(DecisionRule::SingleValue) && crate::is_tail(name) && !settings.threshold_set {
            // One value of a run's tail says nothing of how much it moves; see `is_tail`.
            counts.not_gated += 1;
            continue;
        }
        let mut comparison = Comparison {
            name: name.to_owned(),
            unit,
            better,
            baseline: base.as_ref().map(BaselineMetric::steady_mean),
            current: cur.as_ref().map(BaselineMetric::steady_mean),
            change: None,
            median_change: base.as_ref().zip(cur.as_ref()).and_then(|(b, c)| median_change(b, c)),
            ci: None,
            p: None,
            threshold: settings.threshold,
            noise_floor: floor,
            rule: DecisionRule::None,
            n: [0, 0],
            verdict: Verdict::NotComparable,
            reason: String::new(),
        };
        match (&base, &cur, &environment) {
            (_, _, Some(difference)) => comparison.reason = difference.clone(),
            (None, _, _) => comparison.reason = "not in the baseline".to_owned(),
            (_, None, _) => comparison.reason = "missing from the current run".to_owned(),
            (Some(b), Some(c), None) if b.unit != c.unit => {
                comparison.reason = format!("units differ: {:?} vs {:?}", b.unit, c.unit);
            }
            (Some(b), Some(c), None) => decide(choose_rule(b, c), b, c, thresholds.alpha, &mut comparison),
        }
        if let Some(shift) = cur.as_ref().and_then(|c| c.level_shift) {
            let unit = comparison.unit;
            comparison.reason.push_str(&format!(
                "; the current run shifts at sample {} from {} to {}",
                shift.at_sample,
                crate::render::format_value(shift.before, unit),
                crate::render::format_value(shift.after, unit)
            ));
        }
        match comparison.verdict {
            Verdict::Regressed => counts.regressed += 1,
            Verdict::Improved => counts.improved += 1,
            Verdict::Unchanged => counts.unchanged += 1,
            _ => counts.not_comparable += 1,
        }
        comparisons.push(comparison);
    }
    comparisons
        .sort_by(|a, b| verdict_order(a.verdict).cmp(&verdict_order(b.verdict)).then_with(|| a.name.cmp(&b.name)));
    let verdict = if counts.regressed > 0 {
        Verdict::Regressed
    } else if counts.improved > 0 {
        Verdict::Improved
    } else if counts.unchanged > 0 {
        Verdict::Unchanged
    } else {
        Verdict::NotComparable
    };
    RegressReport {
        baseline: RegressSide { label: labels[0].to_owned(), run: baseline.run.clone(), runs: baseline.runs },
        current: RegressSide { label: labels[1].to_owned(), run: current.run.clone(), runs: current.runs },
        rule: rule_text(thresholds),
        settings: GateSettings {
            threshold: thresholds.threshold,
            alpha: thresholds.alpha,
            confidence: 1.0 - thresholds.alpha,
            require_same_host: thresholds.require_same_host,
            thresholds_file: thresholds.path.as_ref().map(|p| p.display().to_string()),
        },
        verdict,
        counts,
        environment,
        comparisons,
    }
}

fn verdict_order(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Regressed => 0,
        Verdict::Improved => 1,
        Verdict::NotComparable => 2,
        _ => 3,
    }
}

/// Why the two runs' machines make them not comparable, if they do: different GPU models
/// whenever both sides name their GPUs; different hosts when asked.
fn environment_difference(baseline: &BaselineReport, current: &BaselineReport, same_host: bool) -> Option<String> {
    let (a, b) = (&baseline.run, &current.run);
    if !a.gpus.is_empty() && !b.gpus.is_empty() {
        let (mut left, mut right) = (a.gpus.clone(), b.gpus.clone());
        left.sort();
        right.sort();
        if left != right {
            return Some(format!("GPUs differ: {} vs {}", describe_gpus(&a.gpus), describe_gpus(&b.gpus)));
        }
    }
    if same_host {
        match (&a.host, &b.host) {
            (Some(x), Some(y)) if x != y => return Some(format!("hosts differ: {x} vs {y} (require_same_host)")),
            (None, _) | (_, None) => return Some("a host is unknown (require_same_host)".to_owned()),
            _ => {}
        }
    }
    None
}

/// `8× NVIDIA H100`.
pub fn describe_gpus(gpus: &[String]) -> String {
    let mut counted: Vec<(usize, &str)> = Vec::new();
    for gpu in gpus {
        match counted.iter_mut().find(|(_, name)| name == gpu) {
            Some((count, _)) => *count += 1,
            None => counted.push((1, gpu)),
        }
    }
    let parts: Vec<String> = counted.iter().map(|(count, name)| format!("{count}× {name}")).collect();
    parts.join(", ")
}

/// The inputs of one decision rule.
struct Sides<'a> {
    base: &'a BaselineMetric,
    cur: &'a BaselineMetric,
    alpha: f64,
}

/// What a rule measured: the change (relative), its interval, p and samples per side.
struct Measured {
    /// Relative change; `None` when the baseline is zero (no relative change exists).
    change: Option<f64>,
    ci: Option<[f64; 2]>,
    p: Option<f64>,
    n: [u64; 2],
    /// True when the change is a ratio (both sides positive), so the threshold is a factor.
    ratio: bool,
    /// What the reader should know about how sure the verdict is (a short series).
    caveat: Option<String>,
    /// The two means the rule judged, when they differ from the metrics' steady means (the
    /// current run's re-aligned warm-up).
    means: Option<[f64; 2]>,
}

/// One decision rule: when it applies, and what it measures (or why it cannot).
struct GateRule {
    rule: DecisionRule,
    applies: fn(&BaselineMetric, &BaselineMetric) -> bool,
    measure: fn(&Sides<'_>) -> Result<Measured, String>,
}

/// The rules, in order of preference: the first that applies decides.
const GATE_RULES: &[GateRule] = &[
    GateRule { rule: DecisionRule::Runs, applies: runs_apply, measure: measure_runs },
    GateRule { rule: DecisionRule::Mean, applies: mean_applies, measure: measure_mean },
    GateRule { rule: DecisionRule::SingleValue, applies: |_, _| true, measure: measure_single },
];

/// Five or more runs a side, each with its mean (baselines before 0.2 kept only medians: those
/// are judged by the mean rule on their block means instead).
fn runs_apply(base: &BaselineMetric, cur: &BaselineMetric) -> bool {
    base.run_means.len() >= MIN_RUNS && cur.run_means.len() >= MIN_RUNS
}

/// The samples the mean rule averages: a series' block means, or the runs' values of a scalar
/// recorded once per run.
fn mean_samples(metric: &BaselineMetric) -> &[f64] {
    match metric.kind {
        MetricKind::Series => &metric.block_means,
        MetricKind::Scalar if !metric.run_means.is_empty() => &metric.run_means,
        MetricKind::Scalar => &metric.runs,
    }
}

fn mean_applies(base: &BaselineMetric, cur: &BaselineMetric) -> bool {
    mean_samples(base).len() >= 2 && mean_samples(cur).len() >= 2
}

/// The first rule of [`GATE_RULES`] that applies (the last always does).
fn choose_rule(base: &BaselineMetric, cur: &BaselineMetric) -> &'static GateRule {
    GATE_RULES.iter().find(|rule| (rule.applies)(base, cur)).unwrap_or(&GATE_RULES[GATE_RULES.len() - 1])
}

fn decide(rule: &GateRule, base: &BaselineMetric, cur: &BaselineMetric, alpha: f64, comparison: &mut Comparison) {
    let sides = Sides { base, cur, alpha };
    comparison.rule = rule.rule;
    let measured = match (rule.measure)(&sides) {
        Ok(measured) => measured,
        Err(reason) => {
            comparison.rule = DecisionRule::None;
            comparison.reason = reason;
            return;
        }
    };
    if let Some([baseline, current]) = measured.means {
        comparison.baseline = Some(baseline);
        comparison.current = Some(current);
    }
    if rule.rule == DecisionRule::Runs {
        let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len() as f64;
        comparison.baseline = Some(mean(&base.run_means));
        comparison.current = Some(mean(&cur.run_means));
    }
    comparison.change = measured.change.filter(|c| c.is_finite());
    comparison.ci = measured.ci;
    comparison.p = measured.p;
    comparison.n = measured.n;
    let (verdict, mut reason) = judge(&measured, comparison, alpha);
    if let Some(note) = median_note(comparison) {
        reason.push_str("; ");
        reason.push_str(&note);
    }
    if let Some(caveat) = &measured.caveat {
        reason.push_str("; ");
        reason.push_str(caveat);
    }
    comparison.verdict = verdict;
    comparison.reason = reason;
}

/// The change of the medians, when both are positive.
fn median_change(base: &BaselineMetric, cur: &BaselineMetric) -> Option<f64> {
    let (b, c) = (base.distribution.p50, cur.distribution.p50);
    (b > 0.0 && c > 0.0).then(|| c / b - 1.0)
}

/// Says so when the median tells another story than the mean (by more than the threshold):
/// the change is in some steps (stalls, a slow stretch), not in the typical one.
fn median_note(comparison: &Comparison) -> Option<String> {
    let (mean, median) = (comparison.change?, comparison.median_change?);
    let apart = ((1.0 + mean) / (1.0 + median)).ln().abs() >= (1.0 + comparison.threshold).ln();
    apart.then(|| {
        format!(
            "the median moved {}: the mean carries what some steps cost (stalls, a slow stretch)",
            format_change(median)
        )
    })
}

/// The verdict from what was measured, with the reason in words.
fn judge(measured: &Measured, comparison: &Comparison, alpha: f64) -> (Verdict, String) {
    let threshold = comparison.threshold;
    let difference = match (comparison.baseline, comparison.current) {
        (Some(b), Some(c)) => c - b,
        _ => 0.0,
    };
    let unit = comparison.unit;
    let shown = match measured.change {
        Some(change) => format_change(change),
        None => signed_value(difference, unit) + " from a zero baseline",
    };
    if difference == 0.0 || measured.change.is_some_and(|c| c == 0.0 || !c.is_finite()) {
        return (Verdict::Unchanged, "no change".to_owned());
    }
    let beyond = match measured.change {
        Some(change) if measured.ratio => (1.0 + change).ln().abs() >= (1.0 + threshold).ln() - 1e-12,
        Some(change) => change.abs() >= threshold - 1e-12,
        // No relative change from zero: the noise floor alone decides.
        None => true,
    };
    let above_floor = difference.abs() > comparison.noise_floor;
    let significant = measured.p.is_none_or(|p| p < alpha);
    let worse = match comparison.better {
        Better::Lower => difference > 0.0,
        Better::Higher => difference < 0.0,
    };
    let p_text = measured.p.map(p_equals).unwrap_or_default();
    if !significant {
        return (Verdict::Unchanged, format!("{shown} is not significant: {p_text}, alpha {alpha}"));
    }
    if !beyond {
        return (Verdict::Unchanged, format!("{shown} is within the {} threshold", percent(threshold)));
    }
    if !above_floor {
        return (
            Verdict::Unchanged,
            format!(
                "{shown} is below the noise floor ({} ≤ {})",
                crate::render::format_value(difference.abs(), unit),
                crate::render::format_value(comparison.noise_floor, unit)
            ),
        );
    }
    let evidence = match measured.p {
        Some(p) => format!("significant: {}, alpha {alpha}", p_equals(p)),
        None => "one value a side".to_owned(),
    };
    let (verdict, word) = if worse { (Verdict::Regressed, "worse") } else { (Verdict::Improved, "better") };
    let bar = if measured.change.is_some() {
        format!("the {} threshold", percent(threshold))
    } else {
        format!("the {} noise floor", crate::render::format_value(comparison.noise_floor, unit))
    };
    (verdict, format!("{shown}, {word} beyond {bar}; {evidence}"))
}

/// `+30 ms`, `-2.5 ms`.
fn signed_value(value: f64, unit: metrics_schema::Unit) -> String {
    let text = crate::render::format_value(value.abs(), unit);
    if value < 0.0 { format!("-{text}") } else { format!("+{text}") }
}

/// Ranks on the log scale when every value is positive (the change is then a ratio), else on
/// the values, the change relative to the pooled median's size.
fn rank_measure(a: &[f64], b: &[f64], alpha: f64) -> Measured {
    let ratio = a.iter().chain(b).all(|&x| x > 0.0);
    let (ta, tb): (Vec<f64>, Vec<f64>) = if ratio {
        (a.iter().map(|x| x.ln()).collect(), b.iter().map(|x| x.ln()).collect())
    } else {
        (a.to_vec(), b.to_vec())
    };
    let RankTest { p, sigma, .. } = stats::mann_whitney(&ta, &tb, 1.0);
    let (shift, [low, high]) = stats::hodges_lehmann(&ta, &tb, sigma, 1.0 - alpha);
    let to_change = |shift: f64| {
        if ratio {
            shift.exp() - 1.0
        } else {
            let pooled: Vec<f64> = a.iter().chain(b).copied().collect();
            let scale = metrics_schema::Distribution::from_samples(&pooled)
                .map_or(0.0, |d| d.p50.abs().max(d.max.abs().min(d.min.abs())));
            if scale > 0.0 { shift / scale } else { 0.0 }
        }
    };
    Measured {
        change: Some(to_change(shift)),
        ci: Some([to_change(low), to_change(high)]),
        p: Some(p),
        n: [a.len() as u64, b.len() as u64],
        ratio,
        caveat: None,
        means: None,
    }
}

fn measure_runs(sides: &Sides<'_>) -> Result<Measured, String> {
    Ok(rank_measure(&sides.base.run_means, &sides.cur.run_means, sides.alpha))
}

/// The mean rule: each side's mean with its Newey–West variance (around the run's clear level
/// shifts, which are part of what it cost, not noise); the log ratio of the means (delta method)
/// when both are positive, else their difference; Student's t.
///
/// Under "no change" both sides share one noise, so the test takes the quieter side's: a
/// current run's stalls are evidence against "no change", not noise that excuses them (with
/// the noisier side's variance, two stalls costing 10% of a run were "not significant"). The
/// degrees of freedom are that side's effective sample size. A rate is judged by its harmonic
/// mean (events over time), as the run's throughput is.
fn measure_mean(sides: &Sides<'_>) -> Result<Measured, String> {
    let (base, cur) = (sides.base, sides.cur);
    let harmonic = base.harmonic && cur.harmonic;
    let current_samples = aligned_current(base, cur);
    // A rate's harmonic mean is the reciprocal of the mean time per event.
    let prepare = |values: &[f64]| -> Vec<f64> {
        if harmonic { values.iter().map(|x| 1.0 / x).collect() } else { values.to_vec() }
    };
    let (a, b) = (
        stats::hac_mean_segmented(&prepare(mean_samples(base))),
        stats::hac_mean_segmented(&prepare(&current_samples)),
    );
    let ratio = a.mean > 0.0 && b.mean > 0.0;
    // Per-sample long-run variances, relative on the log scale (var(ln mean) = var(mean)/mean²).
    let per_sample = |side: &stats::HacMean| {
        let variance = side.variance * side.n as f64;
        if ratio { variance / (side.mean * side.mean) } else { variance }
    };
    let quieter = if per_sample(&a) <= per_sample(&b) { &a } else { &b };
    let noise = per_sample(quieter);
    // In the prepared scale; a rate's change is the other way round (time per event).
    let estimate = if ratio { (b.mean / a.mean).ln() } else { b.mean - a.mean };
    let estimate = if harmonic { -estimate } else { estimate };
    let se = (noise * (1.0 / a.n as f64 + 1.0 / b.n as f64)).sqrt();
    let df = (quieter.effective_n - 1.0).max(1.0);
    let p = if se > 0.0 {
        (2.0 * stats::student_t_upper_tail(estimate.abs() / se, df)).min(1.0)
    } else if estimate == 0.0 {
        1.0
    } else {
        0.0
    };
    let half_width = stats::student_t_quantile(1.0 - sides.alpha / 2.0, df) * se;
    let (mean_a, mean_b) = if harmonic { (1.0 / a.mean, 1.0 / b.mean) } else { (a.mean, b.mean) };
    let (change, ci) = if ratio {
        (Some(estimate.exp() - 1.0), Some([(estimate - half_width).exp() - 1.0, (estimate + half_width).exp() - 1.0]))
    } else if mean_a != 0.0 {
        let scale = mean_a.abs();
        (Some(estimate / scale), Some([(estimate - half_width) / scale, (estimate + half_width) / scale]))
    } else {
        (None, None)
    };
    let samples = [base.samples, cur.samples];
    let caveat = (samples[0] < SHORT_SERIES || samples[1] < SHORT_SERIES).then(|| {
        let interval = match ci {
            Some([low, high]) => format!(
                "its {:.0}% interval is {} to {}",
                100.0 * (1.0 - sides.alpha),
                format_change(low),
                format_change(high)
            ),
            None => format!("{:.1} effective samples a side", a.effective_n.min(b.effective_n)),
        };
        format!("a short series ({} and {} samples after warm-up): {interval}", samples[0], samples[1])
    });
    Ok(Measured { change, ci, p: Some(p), n: [a.n as u64, b.n as u64], ratio, caveat, means: Some([mean_a, mean_b]) })
}

/// The current run's samples for the mean rule, its steady state starting where the baseline's
/// did. A current side summarised from its sources already is (`build_current`); one read from
/// a `baseline.json` cut its own warm-up: blocks it cut beyond the baseline's warm-up are put
/// back from its warm-up blocks, and blocks the baseline cut that it kept are dropped.
fn aligned_current(base: &BaselineMetric, cur: &BaselineMetric) -> Vec<f64> {
    let samples = mean_samples(cur);
    let one_run = base.runs.is_empty() && cur.runs.is_empty();
    if cur.kind != MetricKind::Series || !one_run || cur.block_size == 0 || cur.warmup == base.warmup {
        return samples.to_vec();
    }
    let block = cur.block_size as f64;
    if cur.warmup > base.warmup {
        let extra = ((cur.warmup - base.warmup) as f64 / block).round() as usize;
        let warm = &cur.warmup_block_means;
        let put_back = &warm[warm.len() - extra.min(warm.len())..];
        put_back.iter().chain(samples).copied().collect()
    } else {
        let drop = ((base.warmup - cur.warmup) as f64 / block).round() as usize;
        samples[drop.min(samples.len().saturating_sub(2))..].to_vec()
    }
}

fn measure_single(sides: &Sides<'_>) -> Result<Measured, String> {
    let (b, c) = (sides.base.steady_mean(), sides.cur.steady_mean());
    let ratio = b > 0.0 && c > 0.0;
    let change = if ratio {
        Some(c / b - 1.0)
    } else if b == c {
        Some(0.0)
    } else if b != 0.0 {
        Some((c - b) / b.abs())
    } else {
        None
    };
    Ok(Measured { change, ci: None, p: None, n: [1, 1], ratio, caveat: None, means: None })
}

/// `+12.3%`.
pub fn format_change(change: f64) -> String {
    let percent = 100.0 * change;
    // A change from a near-zero baseline can be astronomically large: no 300-digit numbers.
    if percent.abs() >= 1e6 { format!("{percent:+.1e}%") } else { format!("{percent:+.1}%") }
}

/// `5%`, `2.5%`.
pub fn percent(fraction: f64) -> String {
    trim_number(fraction * 100.0) + "%"
}

/// `p` with two significant digits, and `< 0.0001` below that.
pub fn format_p(p: f64) -> String {
    if p < 1e-4 {
        return "< 0.0001".to_owned();
    }
    let decimals = (1 - p.log10().floor() as i32).clamp(1, 6) as usize;
    let text = format!("{p:.decimals$}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `p = 0.012`, or `p < 0.0001`.
pub fn p_equals(p: f64) -> String {
    let text = format_p(p);
    if text.starts_with('<') { format!("p {text}") } else { format!("p = {text}") }
}

/// A number with at most four significant digits and no trailing zeros.
pub fn trim_number(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let digits = (3 - value.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let text = format!("{value:.digits$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_owned() } else { text }
}

#[cfg(test)]
mod tests {
    use metrics_schema::{RunInfo, Unit};

    use super::*;

    fn series(name: &str, better: Direction, values: &[f64]) -> BaselineMetric {
        crate::test_support::series_metric(name, Unit::Milliseconds, better, values)
    }

    fn report(metrics: Vec<BaselineMetric>) -> BaselineReport {
        BaselineReport {
            run: RunInfo { tool: "test".into(), ..RunInfo::default() },
            sources: Vec::new(),
            read: Default::default(),
            runs: 1,
            warmup_rule: "none".into(),
            metrics,
            findings: Vec::new(),
            damage: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Deterministic noise in [-0.5, 0.5).
    fn noise(seed: u64, i: usize) -> f64 {
        let mut x = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add((i as u64).wrapping_mul(1_442_695_040_888_963_407));
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    fn step_times(seed: u64, level: f64) -> Vec<f64> {
        (0..400).map(|i| level * (1.0 + 0.04 * noise(seed, i))).collect()
    }

    fn gate(base: Vec<f64>, cur: Vec<f64>) -> Comparison {
        let b = report(vec![series("step_ms", Direction::Lower, &base)]);
        let c = report(vec![series("step_ms", Direction::Lower, &cur)]);
        compare(&b, &c, ["b", "c"], &Thresholds::default()).comparisons.remove(0)
    }

    #[test]
    fn a_ten_percent_slowdown_regresses_and_two_percent_does_not() {
        let slow = gate(step_times(1, 100.0), step_times(2, 110.0));
        assert_eq!((slow.verdict, slow.rule), (Verdict::Regressed, DecisionRule::Mean), "{}", slow.reason);
        let change = slow.change.unwrap();
        assert!((change - 0.10).abs() < 0.01, "{change}");
        let [low, high] = slow.ci.unwrap();
        assert!(low < change && change < high);
        let small = gate(step_times(1, 100.0), step_times(2, 102.0));
        assert_eq!(small.verdict, Verdict::Unchanged, "{}", small.reason);
        assert!(small.reason.contains("within the 5% threshold"), "{}", small.reason);
    }

    #[test]
    fn a_sine_wobble_in_an_unchanged_run_is_not_flagged() {
        for period in [7.0, 30.0, 64.0, 150.0, 500.0] {
            for phase in [0.0, 1.0, 2.5] {
                let wave = |shift: f64, seed: u64| -> Vec<f64> {
                    (0..400)
                        .map(|i| {
                            100.0
                                + 3.0 * ((i as f64 / period + shift) * std::f64::consts::TAU).sin()
                                + 0.5 * noise(seed, i)
                        })
                        .collect()
                };
                let result = gate(wave(0.0, 3), wave(phase, 4));
                // A slow wobble moves a run's mean (a 500-step period over 400 steps, by up to 2%):
                // that may be significant for these two runs, and the threshold is the guard.
                assert_eq!(result.verdict, Verdict::Unchanged, "period {period}, phase {phase}: {}", result.reason);
                assert!(
                    result.change.is_some_and(|c| c.abs() < 0.03),
                    "period {period}, phase {phase}: {:?}",
                    result.change
                );
            }
        }
    }

    #[test]
    fn improvement_is_the_mirror_of_regression() {
        let (a, b) = (step_times(5, 100.0), step_times(6, 120.0));
        let forward = gate(a.clone(), b.clone());
        let backward = gate(b, a);
        assert_eq!((forward.verdict, backward.verdict), (Verdict::Regressed, Verdict::Improved));
        assert!((forward.p.unwrap() - backward.p.unwrap()).abs() < 1e-12);
        let (f, g) = (forward.change.unwrap(), backward.change.unwrap());
        assert!(((1.0 + f) * (1.0 + g) - 1.0).abs() < 1e-9, "{f} {g}");
    }

    #[test]
    fn single_values_use_threshold_and_noise_floor() {
        let scalar = |value: f64| {
            let mut metric = series("images_per_s", Direction::Higher, &[value]);
            metric.kind = MetricKind::Scalar;
            metric.unit = Unit::PerSecond;
            metric
        };
        let compare_one = |a: f64, b: f64| {
            compare(&report(vec![scalar(a)]), &report(vec![scalar(b)]), ["b", "c"], &Thresholds::default())
                .comparisons
                .remove(0)
        };
        let slower = compare_one(100.0, 90.0);
        assert_eq!((slower.verdict, slower.rule), (Verdict::Regressed, DecisionRule::SingleValue));
        assert_eq!(compare_one(100.0, 97.0).verdict, Verdict::Unchanged);
        assert_eq!(compare_one(90.0, 100.0).verdict, Verdict::Improved);
        // A noise floor in the metric's unit holds back a large relative change of a small value.
        let thresholds =
            Thresholds::parse("[[metric]]\nname = \"*\"\nnoise_floor = 5.0\n", std::path::Path::new("t")).unwrap();
        let floored = compare(&report(vec![scalar(2.0)]), &report(vec![scalar(1.0)]), ["b", "c"], &thresholds);
        assert_eq!(floored.comparisons[0].verdict, Verdict::Unchanged);
        assert!(floored.comparisons[0].reason.contains("noise floor"), "{}", floored.comparisons[0].reason);
    }

    #[test]
    fn a_single_tail_value_is_not_judged_unless_asked() {
        let scalar = |name: &str, value: f64| {
            let mut metric = series(name, Direction::Lower, &[value]);
            metric.kind = MetricKind::Scalar;
            metric
        };
        let (base, cur) = (report(vec![scalar("batch_ms.p95", 20.0)]), report(vec![scalar("batch_ms.p95", 30.0)]));
        let result = compare(&base, &cur, ["b", "c"], &Thresholds::default());
        assert!(result.comparisons.is_empty());
        assert_eq!(result.counts.not_gated, 1);
        let asked = Thresholds::parse("[[metric]]\nname = \"*.p95\"\nthreshold = \"20%\"\n", std::path::Path::new("t"))
            .unwrap();
        assert_eq!(compare(&base, &cur, ["b", "c"], &asked).comparisons[0].verdict, Verdict::Regressed);
    }

    #[test]
    fn runs_rule_with_five_runs_a_side() {
        let runs = |level: f64| -> BaselineMetric {
            let mut metric = series("step_ms", Direction::Lower, &step_times(7, level));
            metric.run_means = (0..5).map(|i| level + f64::from(i) * 0.1).collect();
            metric
        };
        let result =
            compare(&report(vec![runs(100.0)]), &report(vec![runs(110.0)]), ["b", "c"], &Thresholds::default());
        let comparison = &result.comparisons[0];
        assert_eq!(
            (comparison.rule, comparison.verdict, comparison.n),
            (DecisionRule::Runs, Verdict::Regressed, [5, 5])
        );
        assert!((comparison.p.unwrap() - 0.007_936_507_936_507_936).abs() < 1e-12);
    }

    #[test]
    fn two_to_four_runs_a_side_are_judged_by_their_mean() {
        let scalar_runs = |values: &[f64]| {
            let mut metric = series("images_per_s", Direction::Higher, &[values[0]]);
            metric.kind = MetricKind::Scalar;
            metric.runs = values.to_vec();
            metric.run_means = values.to_vec();
            metric
        };
        let judge = |base: &[f64], cur: &[f64]| {
            compare(
                &report(vec![scalar_runs(base)]),
                &report(vec![scalar_runs(cur)]),
                ["b", "c"],
                &Thresholds::default(),
            )
            .comparisons
            .remove(0)
        };
        let slower = judge(&[100.0, 101.0, 99.0], &[80.0, 82.0, 81.0]);
        assert_eq!((slower.rule, slower.verdict, slower.n), (DecisionRule::Mean, Verdict::Regressed, [3, 3]));
        assert!((slower.change.unwrap() - (81.0 / 100.0 - 1.0)).abs() < 1e-12);
        // Runs that disagree among themselves are not significant on a 2% change.
        let noisy = judge(&[100.0, 120.0, 80.0], &[98.0, 118.0, 78.0]);
        assert_eq!(noisy.verdict, Verdict::Unchanged, "{}", noisy.reason);
    }

    #[test]
    fn a_short_series_is_judged_and_says_how_sure() {
        let base: Vec<f64> = step_times(1, 100.0)[..15].to_vec();
        let cur: Vec<f64> = step_times(2, 200.0)[..15].to_vec();
        let result = gate(base.clone(), cur);
        assert_eq!((result.verdict, result.rule), (Verdict::Regressed, DecisionRule::Mean), "{}", result.reason);
        assert!(
            result.reason.contains("a short series (15 and 15 samples after warm-up): its 99% interval is +"),
            "{}",
            result.reason
        );
        let same = gate(base, step_times(3, 100.0)[..15].to_vec());
        assert_eq!(same.verdict, Verdict::Unchanged, "{}", same.reason);
    }

    #[test]
    fn a_zero_baseline_is_judged_on_the_noise_floor() {
        let waits = |level: f64| -> Vec<f64> { (0..200).map(|i| level * (1.0 + 0.2 * noise(9, i))).collect() };
        let result = gate(vec![0.0; 200], waits(30.0));
        assert_eq!(result.verdict, Verdict::Regressed, "{}", result.reason);
        assert_eq!(result.change, None);
        assert!(
            result.reason.starts_with("+29.88 ms from a zero baseline, worse beyond the 0.5 ms noise floor"),
            "{}",
            result.reason
        );
        // Within the floor: unchanged, however large relatively.
        assert_eq!(gate(vec![0.0; 200], waits(0.3)).verdict, Verdict::Unchanged);
        assert_eq!(gate(vec![0.0; 200], vec![0.0; 200]).reason, "no change");
    }

    #[test]
    fn microseconds_have_the_same_noise_floor_as_milliseconds() {
        let waits = |level: f64, unit: Unit| {
            let mut metric = series("perf/data_wait_us", Direction::Lower, &step_times(17, level));
            metric.unit = unit;
            metric
        };
        let judge = |a: f64, b: f64| {
            compare(
                &report(vec![waits(a, Unit::Microseconds)]),
                &report(vec![waits(b, Unit::Microseconds)]),
                ["b", "c"],
                &Thresholds::default(),
            )
            .comparisons
            .remove(0)
        };
        let small = judge(100.0, 200.0);
        assert_eq!(small.verdict, Verdict::Unchanged, "{}", small.reason);
        assert!(small.reason.contains("below the noise floor (100 µs ≤ 500 µs)"), "{}", small.reason);
        assert_eq!(judge(1_000.0, 30_000.0).verdict, Verdict::Regressed);
    }

    #[test]
    fn stalls_move_the_mean_and_the_median_is_a_second_figure() {
        let base = step_times(1, 100.0);
        let stalled: Vec<f64> =
            step_times(2, 100.0).iter().enumerate().map(|(i, v)| if i % 3 == 0 { 3.0 * v } else { *v }).collect();
        let result = gate(base, stalled);
        assert_eq!(result.verdict, Verdict::Regressed, "{}", result.reason);
        assert!((result.change.unwrap() - 0.667).abs() < 0.02, "{:?}", result.change);
        assert!(result.median_change.unwrap().abs() < 0.02, "{:?}", result.median_change);
        assert!(result.reason.contains("the median moved"), "{}", result.reason);
    }

    #[test]
    fn a_few_large_stalls_cost_what_they_cost() {
        // Two 6 s stalls in 1000 steps of 120 ms: the run took 10% longer.
        let base: Vec<f64> = (0..1000).map(|i| 120.0 * (1.0 + 0.04 * noise(11, i))).collect();
        let mut stalled: Vec<f64> = (0..1000).map(|i| 120.0 * (1.0 + 0.04 * noise(12, i))).collect();
        stalled[300] += 6000.0;
        stalled[700] += 6000.0;
        let result = gate(base.clone(), stalled);
        assert_eq!(result.verdict, Verdict::Regressed, "{}", result.reason);
        // One stall of the size of the whole run.
        let mut one = step_times(13, 120.0);
        one[200] += 120.0 * 400.0;
        assert_eq!(gate(step_times(14, 120.0), one).verdict, Verdict::Regressed);
    }

    #[test]
    fn a_rate_is_judged_by_its_harmonic_mean() {
        // Every 25th step takes 3.5 times as long: 9% less throughput over the run, though the
        // plain mean of the per-step rates moves by under 3%.
        let times = |seed: u64, stalls: bool| -> Vec<f64> {
            (0..1000)
                .map(|i| 0.1 * (1.0 + 0.04 * noise(seed, i)) * if stalls && i % 25 == 0 { 3.5 } else { 1.0 })
                .collect()
        };
        let rate = |times: Vec<f64>| -> BaselineMetric {
            let rates: Vec<f64> = times.iter().map(|t| 8.0 / t).collect();
            let mut metric = series("perf/samples_per_sec", Direction::Higher, &rates);
            metric.unit = Unit::PerSecond;
            metric.harmonic = true;
            metric.block_means = stats::harmonic_block_means(&rates, metric.block_size as usize);
            metric
        };
        let (base, cur) = (rate(times(15, false)), rate(times(16, true)));
        let result = compare(&report(vec![base]), &report(vec![cur]), ["b", "c"], &Thresholds::default());
        let comparison = &result.comparisons[0];
        assert_eq!(comparison.verdict, Verdict::Regressed, "{}", comparison.reason);
        assert!((comparison.change.unwrap() + 0.09).abs() < 0.01, "{:?}", comparison.change);
    }

    #[test]
    fn not_comparable_cases() {
        let base = report(vec![
            series("step_ms", Direction::Lower, &step_times(1, 100.0)),
            series("only_base_ms", Direction::Lower, &[1.0; 20]),
        ]);
        let mut cur = report(vec![series("renamed_step_ms", Direction::Lower, &step_times(1, 100.0))]);
        let result = compare(&base, &cur, ["b", "c"], &Thresholds::default());
        let reasons: Vec<&str> = result.comparisons.iter().map(|c| c.reason.as_str()).collect();
        assert_eq!(result.verdict, Verdict::NotComparable);
        assert_eq!(result.counts.not_comparable, 3);
        assert!(reasons.contains(&"missing from the current run"), "{reasons:?}");
        assert!(reasons.contains(&"not in the baseline"), "{reasons:?}");
        cur.run.gpus = vec!["NVIDIA A100".into()];
        let mut base_gpu = base.clone();
        base_gpu.run.gpus = vec!["NVIDIA H100".into(); 2];
        let result = compare(&base_gpu, &cur, ["b", "c"], &Thresholds::default());
        assert_eq!(result.environment.as_deref(), Some("GPUs differ: 2× NVIDIA H100 vs 1× NVIDIA A100"));
        assert!(result.comparisons.iter().all(|c| c.verdict == Verdict::NotComparable));
    }

    #[test]
    fn model_quality_is_gated_only_when_asked() {
        let mut loss = series("train/loss", Direction::Info, &step_times(1, 1.0));
        loss.unit = Unit::Number;
        let mut doubled = series("train/loss", Direction::Info, &step_times(2, 2.0));
        doubled.unit = Unit::Number;
        let (base, cur) = (report(vec![loss]), report(vec![doubled]));
        let result = compare(&base, &cur, ["b", "c"], &Thresholds::default());
        assert_eq!((result.counts.not_gated, result.comparisons.len()), (1, 0));
        let asked =
            Thresholds::parse("[[metric]]\nname = \"train/loss\"\nthreshold = \"10%\"\n", std::path::Path::new("t"))
                .unwrap();
        let result = compare(&base, &cur, ["b", "c"], &asked);
        assert_eq!(result.comparisons[0].verdict, Verdict::Regressed, "{}", result.comparisons[0].reason);
    }

    #[test]
    fn info_and_ignored_metrics_are_not_gated() {
        let base =
            report(vec![series("lr", Direction::Info, &[1.0; 20]), series("step_ms", Direction::Lower, &[1.0; 20])]);
        let thresholds =
            Thresholds::parse("[[metric]]\nname = \"step_*\"\nignore = true\n", std::path::Path::new("t")).unwrap();
        let result = compare(&base, &base, ["b", "c"], &thresholds);
        assert_eq!(result.counts.not_gated, 2);
        assert!(result.comparisons.is_empty());
    }

    #[test]
    fn numbers_for_people() {
        assert_eq!(format_change(0.1234), "+12.3%");
        assert_eq!(format_change(2.996e300), "+3.0e302%");
        assert_eq!(percent(0.05), "5%");
        assert_eq!(percent(0.025), "2.5%");
        assert_eq!(trim_number(0.5), "0.5");
        assert_eq!(trim_number(1234.5678), "1235");
        assert_eq!(trim_number(0.000_123_46), "0.0001235");
        assert_eq!(format_p(0.00794), "0.0079");
        assert_eq!(format_p(1.0), "1");
        assert_eq!(format_p(0.2), "0.2");
        assert_eq!(format_p(1e-9), "< 0.0001");
    }
}
