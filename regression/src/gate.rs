//! The regression gate: a current run against a baseline, metric by metric.
//!
//! A metric **regresses** when both hold:
//!
//! 1. the change is statistically significant: a two-sided Mann–Whitney U test at `alpha`
//!    (0.01), on the runs' values when both sides have at least [`MIN_RUNS`] repeated runs,
//!    otherwise on block means of the steady-state series (blocks grown until neighbouring
//!    means are nearly uncorrelated, the test's variance inflated for the correlation left);
//! 2. the change, estimated by Hodges–Lehmann on the ratio, is beyond the metric's threshold
//!    (5%: a factor of 1.05 either way) in the worse direction, and its absolute size is beyond
//!    the metric's noise floor.
//!
//! With one value a side, (2) alone decides, except for tail figures (p95, p99, max), which are
//! not judged from one value a side unless the thresholds file sets their threshold.
//! **Improved** is the same in the better direction;
//! anything else is **unchanged**. Runs on different GPUs (or hosts, with
//! `require_same_host`), metrics missing on one side and series too short to test are **not
//! comparable**.

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
/// Steady-state samples a series needs to be tested.
pub const MIN_SERIES_SAMPLES: u64 = 16;
/// Blocks a side the block rule needs after merging.
pub const MIN_TEST_BLOCKS: usize = 6;
/// Remaining block correlation is capped here (an inflation of 39×).
const MAX_RHO: f64 = 0.95;

/// The decision rule in words, as printed in every output.
pub fn rule_text(thresholds: &Thresholds) -> String {
    format!(
        "A metric regresses when its change is statistically significant (two-sided Mann–Whitney U, p < {alpha}; on \
         the runs' values with {MIN_RUNS} or more runs a side, otherwise on block means of the steady-state series, \
         corrected for autocorrelation) and its Hodges–Lehmann estimate is beyond the metric's threshold (default \
         {threshold}: a factor of {factor:.2} either way) and noise floor, in the worse direction. With one value a \
         side, the threshold and noise floor alone decide (tails such as p95 are not judged from one value). \
         Improvements are judged the same way in the better direction.",
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
            [&base, &cur]
                .into_iter()
                .flatten()
                .map(|m| m.better)
                .find(|&d| d != Direction::Info)
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
            baseline: base.as_ref().map(BaselineMetric::typical),
            current: cur.as_ref().map(BaselineMetric::typical),
            change: None,
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
    change: f64,
    ci: Option<[f64; 2]>,
    p: Option<f64>,
    n: [u64; 2],
    /// True when the change is a ratio (both sides positive), so the threshold is a factor.
    ratio: bool,
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
    GateRule { rule: DecisionRule::Blocks, applies: blocks_apply, measure: measure_blocks },
    GateRule { rule: DecisionRule::Runs, applies: too_few_runs, measure: refuse_too_few_runs },
    GateRule { rule: DecisionRule::SingleValue, applies: |_, _| true, measure: measure_single },
];

fn runs_apply(base: &BaselineMetric, cur: &BaselineMetric) -> bool {
    base.runs.len() >= MIN_RUNS && cur.runs.len() >= MIN_RUNS
}

/// Whole-run values with repeats on a side, but fewer than [`MIN_RUNS`]: a spread that the rank
/// test cannot judge (4 against 4 cannot reach p < 0.01) and that comparing medians would ignore.
fn too_few_runs(base: &BaselineMetric, cur: &BaselineMetric) -> bool {
    base.runs.len() > 1 || cur.runs.len() > 1
}

fn refuse_too_few_runs(sides: &Sides<'_>) -> Result<Measured, String> {
    Err(format!(
        "too few runs to test: {} and {} a side (the runs rule needs {MIN_RUNS})",
        sides.base.runs.len().max(1),
        sides.cur.runs.len().max(1)
    ))
}

fn blocks_apply(base: &BaselineMetric, cur: &BaselineMetric) -> bool {
    base.kind == MetricKind::Series && cur.kind == MetricKind::Series
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
    comparison.change = Some(measured.change).filter(|c| c.is_finite());
    comparison.ci = measured.ci;
    comparison.p = measured.p;
    comparison.n = measured.n;
    let (verdict, reason) = judge(&measured, comparison, alpha);
    comparison.verdict = verdict;
    comparison.reason = reason;
}

/// The verdict from what was measured, with the reason in words.
fn judge(measured: &Measured, comparison: &Comparison, alpha: f64) -> (Verdict, String) {
    let change = measured.change;
    let threshold = comparison.threshold;
    let beyond = if measured.ratio {
        (1.0 + change).ln().abs() >= (1.0 + threshold).ln() - 1e-12
    } else {
        change.abs() >= threshold - 1e-12
    };
    let difference = match (comparison.baseline, comparison.current) {
        (Some(b), Some(c)) => (c - b).abs(),
        _ => 0.0,
    };
    let above_floor = difference > comparison.noise_floor;
    let significant = measured.p.is_none_or(|p| p < alpha);
    let worse = match comparison.better {
        Better::Lower => change > 0.0,
        Better::Higher => change < 0.0,
    };
    let shown = format_change(change);
    let p_text = measured.p.map(p_equals).unwrap_or_default();
    if !change.is_finite() || change == 0.0 {
        return (Verdict::Unchanged, "no change".to_owned());
    }
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
                crate::render::format_value(difference, comparison.unit),
                crate::render::format_value(comparison.noise_floor, comparison.unit)
            ),
        );
    }
    let evidence = match measured.p {
        Some(p) => format!("significant: {}, alpha {alpha}", p_equals(p)),
        None => "one value a side".to_owned(),
    };
    let (verdict, word) = if worse { (Verdict::Regressed, "worse") } else { (Verdict::Improved, "better") };
    (verdict, format!("{shown}, {word} beyond the {} threshold; {evidence}", percent(threshold)))
}

/// Ranks on the log scale when every value is positive (the change is then a ratio), else on
/// the values, the change relative to the pooled median's size.
fn rank_measure(a: &[f64], b: &[f64], inflation: f64, alpha: f64) -> Measured {
    let ratio = a.iter().chain(b).all(|&x| x > 0.0);
    let (ta, tb): (Vec<f64>, Vec<f64>) = if ratio {
        (a.iter().map(|x| x.ln()).collect(), b.iter().map(|x| x.ln()).collect())
    } else {
        (a.to_vec(), b.to_vec())
    };
    let RankTest { p, sigma, .. } = stats::mann_whitney(&ta, &tb, inflation);
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
        change: to_change(shift),
        ci: Some([to_change(low), to_change(high)]),
        p: Some(p),
        n: [a.len() as u64, b.len() as u64],
        ratio,
    }
}

fn measure_runs(sides: &Sides<'_>) -> Result<Measured, String> {
    Ok(rank_measure(&sides.base.runs, &sides.cur.runs, 1.0, sides.alpha))
}

fn measure_blocks(sides: &Sides<'_>) -> Result<Measured, String> {
    let (base, cur) = (sides.base, sides.cur);
    for (side, metric) in [("baseline", base), ("current run", cur)] {
        if metric.samples < MIN_SERIES_SAMPLES || metric.block_means.is_empty() {
            return Err(format!(
                "too few samples: the {side} has {} after warm-up (the block rule needs {MIN_SERIES_SAMPLES})",
                metric.samples
            ));
        }
    }
    let fine = [base.block_size.max(1) as usize, cur.block_size.max(1) as usize];
    let wanted = [
        fine[0] * stats::decorrelating_factor(&base.block_means),
        fine[1] * stats::decorrelating_factor(&cur.block_means),
    ];
    // One block size for both sides (block sizes are powers of two, so the larger is a multiple
    // of each side's fine size); smaller when that leaves too few blocks.
    let mut size = wanted[0].max(wanted[1]);
    let merge =
        |metric: &BaselineMetric, fine: usize, size: usize| stats::block_means(&metric.block_means, size / fine);
    loop {
        let (a, b) = (merge(base, fine[0], size), merge(cur, fine[1], size));
        if a.len() >= MIN_TEST_BLOCKS && b.len() >= MIN_TEST_BLOCKS {
            let rho = pooled_correlation(&a, &b);
            let inflation = (1.0 + rho) / (1.0 - rho);
            return Ok(rank_measure(&a, &b, inflation, sides.alpha));
        }
        if size / 2 < fine[0].max(fine[1]) {
            return Err(format!(
                "too few independent blocks: {} and {} (the block rule needs {MIN_TEST_BLOCKS} a side); the series are short \
                 for how correlated their steps are",
                a.len(),
                b.len()
            ));
        }
        size /= 2;
    }
}

/// The lag-1 correlation left in both sides' block means, weighted by their counts; never
/// negative (negative correlation makes the test conservative, which is left as it is).
fn pooled_correlation(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (stats::lag1_autocorrelation(a), stats::lag1_autocorrelation(b));
    let rho = (ra * a.len() as f64 + rb * b.len() as f64) / (a.len() + b.len()) as f64;
    rho.clamp(0.0, MAX_RHO)
}

fn measure_single(sides: &Sides<'_>) -> Result<Measured, String> {
    let (b, c) = (sides.base.typical(), sides.cur.typical());
    let ratio = b > 0.0 && c > 0.0;
    let change = if ratio {
        c / b - 1.0
    } else if b == c {
        0.0
    } else {
        (c - b) / b.abs().max(c.abs())
    };
    Ok(Measured { change, ci: None, p: None, n: [1, 1], ratio })
}

/// `+12.3%`.
pub fn format_change(change: f64) -> String {
    format!("{:+.1}%", 100.0 * change)
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
        assert_eq!((slow.verdict, slow.rule), (Verdict::Regressed, DecisionRule::Blocks), "{}", slow.reason);
        let change = slow.change.unwrap();
        assert!((change - 0.10).abs() < 0.01, "{change}");
        let [low, high] = slow.ci.unwrap();
        assert!(low < change && change < high);
        let small = gate(step_times(1, 100.0), step_times(2, 102.0));
        assert_eq!(small.verdict, Verdict::Unchanged, "{}", small.reason);
        assert!(small.reason.contains("within the 5% threshold"), "{}", small.reason);
    }

    #[test]
    fn a_sine_wobble_in_an_unchanged_run_is_not_significant() {
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
                assert_ne!(result.verdict, Verdict::Regressed, "period {period}, phase {phase}: {}", result.reason);
                assert!(result.p.is_none_or(|p| p >= 0.01), "period {period}, phase {phase}: p = {:?}", result.p);
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
            metric.runs = (0..5).map(|i| level + f64::from(i) * 0.1).collect();
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
    fn two_to_four_runs_a_side_are_too_few_for_whole_run_values() {
        let scalar_runs = |values: &[f64]| {
            let mut metric = series("images_per_s", Direction::Higher, &[values[0]]);
            metric.kind = MetricKind::Scalar;
            metric.runs = values.to_vec();
            metric
        };
        let result = compare(
            &report(vec![scalar_runs(&[100.0, 101.0, 99.0])]),
            &report(vec![scalar_runs(&[80.0, 82.0, 81.0])]),
            ["b", "c"],
            &Thresholds::default(),
        );
        let comparison = &result.comparisons[0];
        assert_eq!(comparison.verdict, Verdict::NotComparable);
        assert_eq!(comparison.reason, "too few runs to test: 3 and 3 a side (the runs rule needs 5)");
    }

    #[test]
    fn not_comparable_cases() {
        let base = report(vec![
            series("step_ms", Direction::Lower, &step_times(1, 100.0)),
            series("only_base_ms", Direction::Lower, &[1.0; 20]),
        ]);
        let mut cur = report(vec![series("step_ms", Direction::Lower, &step_times(1, 100.0)[..10])]);
        let result = compare(&base, &cur, ["b", "c"], &Thresholds::default());
        let reasons: Vec<&str> = result.comparisons.iter().map(|c| c.reason.as_str()).collect();
        assert_eq!(result.verdict, Verdict::NotComparable);
        assert!(reasons.contains(&"missing from the current run"), "{reasons:?}");
        assert!(reasons.iter().any(|r| r.starts_with("too few samples: the current run has 10")), "{reasons:?}");
        cur.run.gpus = vec!["NVIDIA A100".into()];
        let mut base_gpu = base.clone();
        base_gpu.run.gpus = vec!["NVIDIA H100".into(); 2];
        let result = compare(&base_gpu, &cur, ["b", "c"], &Thresholds::default());
        assert_eq!(result.environment.as_deref(), Some("GPUs differ: 2× NVIDIA H100 vs 1× NVIDIA A100"));
        assert!(result.comparisons.iter().all(|c| c.verdict == Verdict::NotComparable));
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
