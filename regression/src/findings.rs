//! What a baseline's metrics show about the run's bottlenecks, beyond what ocrperf reports
//! already concluded: one rule per finding, each looking for the metrics it needs.
//!
//! - `data-wait-share`: data wait per step against step time, judged by `ocrperf throughput`'s
//!   rule (`Bottleneck::from_wait_fraction`: input-bound at ≥ 20%, compute-bound at ≤ 5%,
//!   balanced between; skipped when a throughput report gave its verdict);
//! - `step-time-spread`: p95 over median of the step time (uneven at ≥ 1.5×);
//! - `throughput-drift`: the median of the last quarter of the steady state against the first
//!   (drifting at ≥ 5% either way; one run only, block means keep the order);
//! - `gpu-utilisation`: each GPU's utilisation distribution (starved below a 30% median,
//!   under-used below 60%).

use std::collections::BTreeMap;

use metrics_schema::{BaselineMetric, Bottleneck, Direction, MetricKind, Recommendation, Severity, Unit};

use crate::summarize::seconds_per_unit;

/// What the rules look at.
pub(crate) struct Context<'a> {
    metrics: &'a [BaselineMetric],
    /// A throughput report already gave the input-bound verdict.
    has_verdict: bool,
    runs: usize,
}

/// One rule: its id and the check that makes its finding, when the metrics allow.
pub(crate) struct FindingRule {
    pub(crate) id: &'static str,
    pub(crate) check: fn(&Context<'_>) -> Vec<Recommendation>,
}

pub(crate) const FINDING_RULES: &[FindingRule] = &[
    FindingRule { id: "data-wait-share", check: data_wait_share },
    FindingRule { id: "step-time-spread", check: step_time_spread },
    FindingRule { id: "throughput-drift", check: throughput_drift },
    FindingRule { id: "gpu-utilisation", check: gpu_utilisation },
];

/// Runs every rule.
pub(crate) fn analyse(metrics: &[BaselineMetric], has_verdict: bool, runs: usize) -> Vec<Recommendation> {
    let context = Context { metrics, has_verdict, runs };
    let mut found = Vec::new();
    for rule in FINDING_RULES {
        for mut finding in (rule.check)(&context) {
            rule.id.clone_into(&mut finding.id);
            found.push(finding);
        }
    }
    found
}

fn series<'a>(
    context: &Context<'a>,
    wanted: impl Fn(&BaselineMetric) -> bool,
    preferred: &[&str],
) -> Option<&'a BaselineMetric> {
    let candidates: Vec<&BaselineMetric> =
        context.metrics.iter().filter(|m| m.kind == MetricKind::Series && wanted(m)).collect();
    preferred
        .iter()
        .find_map(|name| candidates.iter().find(|m| m.name == *name).copied())
        .or_else(|| candidates.first().copied())
}

fn is_time(metric: &BaselineMetric) -> bool {
    seconds_per_unit(metric.unit).is_some()
}

/// The run's step-time series: a lower-is-better time whose name says step, batch or iteration.
fn step_time<'a>(context: &Context<'a>) -> Option<&'a BaselineMetric> {
    series(
        context,
        |m| {
            let words = crate::direction::tokens(&m.name);
            let has = |word: &str| words.iter().any(|w| w == word);
            m.better == Direction::Lower
                && is_time(m)
                && !has("wait")
                && ["step", "batch", "iter", "iteration"].iter().any(|w| has(w))
        },
        &["batch.time_s", "trace.step_ms"],
    )
}

/// A finding; `analyse` sets its id to the rule's.
fn finding(severity: Severity, title: String, evidence: &[(&str, f64)], suggestion: &str) -> Recommendation {
    Recommendation {
        id: String::new(),
        severity,
        title,
        evidence: evidence.iter().map(|&(key, value)| (key.to_owned(), value)).collect::<BTreeMap<_, _>>(),
        suggestion: suggestion.to_owned(),
    }
}

fn data_wait_share(context: &Context<'_>) -> Vec<Recommendation> {
    if context.has_verdict {
        return Vec::new();
    }
    let wait = series(
        context,
        |m| m.better == Direction::Lower && is_time(m) && crate::direction::has_token(&m.name, "wait"),
        &["batch.data_wait_s", "trace.step_data_wait_ms"],
    );
    let (Some(wait), Some(step)) = (wait, step_time(context)) else { return Vec::new() };
    let to_ms = |m: &BaselineMetric| m.distribution.mean * seconds_per_unit(m.unit).unwrap_or(1.0) * 1e3;
    let (wait_ms, step_ms) = (to_ms(wait), to_ms(step));
    if step_ms <= 0.0 {
        return Vec::new();
    }
    let share = wait_ms / step_ms;
    // The verdict is `ocrperf throughput`'s own rule, so the two never disagree.
    let verdict = Bottleneck::from_wait_fraction(share);
    let (severity, suggestion) = match verdict {
        Bottleneck::InputBound => (
            Severity::Critical,
            "the accelerator waits for data: add DataLoader workers, cache DBNet targets (ocrperf targets), or \
             move augmentation off the training process",
        ),
        Bottleneck::Balanced => (Severity::Warning, "data wait is noticeable; more workers or prefetch would hide it"),
        _ => (Severity::Info, "the input pipeline keeps up"),
    };
    let verdict = verdict.as_str();
    vec![finding(
        severity,
        format!("{verdict}: data wait ({}) is {:.1}% of step time ({})", wait.name, 100.0 * share, step.name),
        &[("data_wait_ms_mean", wait_ms), ("step_ms_mean", step_ms), ("share", share)],
        suggestion,
    )]
}

fn step_time_spread(context: &Context<'_>) -> Vec<Recommendation> {
    let Some(step) = step_time(context) else { return Vec::new() };
    let d = &step.distribution;
    if d.p50 <= 0.0 {
        return Vec::new();
    }
    let ratio = d.p95 / d.p50;
    let cv = if d.mean > 0.0 { d.stddev / d.mean } else { 0.0 };
    let (severity, words, suggestion) = if ratio >= 1.5 {
        (
            Severity::Warning,
            "uneven",
            "slow steps recur: look for periodic work (logging, checkpoints, validation), garbage collection, or \
             stalls in data loading; a profiler trace of a slow step shows which",
        )
    } else {
        (Severity::Info, "steady", "")
    };
    vec![finding(
        severity,
        format!("step time is {words}: p95 is {ratio:.2}× the median ({})", step.name),
        &[("p50", d.p50), ("p95", d.p95), ("p95_over_p50", ratio), ("coefficient_of_variation", cv)],
        suggestion,
    )]
}

fn throughput_drift(context: &Context<'_>) -> Vec<Recommendation> {
    if context.runs > 1 {
        return Vec::new();
    }
    let throughput = series(
        context,
        |m| m.better == Direction::Higher && m.unit == Unit::PerSecond && m.block_means.len() >= 8,
        &["batch.samples_per_s"],
    );
    let Some(metric) = throughput else { return Vec::new() };
    let quarter = metric.block_means.len() / 4;
    let median = |values: &[f64]| metrics_schema::Distribution::from_samples(values).map_or(f64::NAN, |d| d.p50);
    let first = median(&metric.block_means[..quarter]);
    let last = median(&metric.block_means[metric.block_means.len() - quarter..]);
    if !(first > 0.0 && last.is_finite()) {
        return Vec::new();
    }
    let drift = last / first - 1.0;
    let (severity, title, suggestion) = if drift <= -0.05 {
        (
            Severity::Warning,
            format!(
                "throughput fell {:.1}% from the first to the last quarter of the run ({})",
                -100.0 * drift,
                metric.name
            ),
            "a slowdown during the run: memory growth, a cache outgrowing RAM, thermal or power throttling, or \
             fragmentation; compare the monitor's GPU clocks and RSS over the run",
        )
    } else if drift >= 0.05 {
        (
            Severity::Info,
            format!(
                "throughput rose {:.1}% from the first to the last quarter of the run ({})",
                100.0 * drift,
                metric.name
            ),
            "the run was still warming up: a longer warm-up cut (--warmup) gives a steadier baseline",
        )
    } else {
        (Severity::Info, format!("throughput is steady over the run ({:+.1}%, {})", 100.0 * drift, metric.name), "")
    };
    vec![finding(severity, title, &[("first_quarter", first), ("last_quarter", last), ("drift", drift)], suggestion)]
}

fn gpu_utilisation(context: &Context<'_>) -> Vec<Recommendation> {
    context
        .metrics
        .iter()
        .filter(|m| {
            m.kind == MetricKind::Series
                && ((m.name.starts_with("gpu.") && m.name.ends_with(".utilization_percent"))
                    || (m.name.starts_with("system/gpu.") && m.name.ends_with(".gpu")))
        })
        .map(|metric| {
            let d = &metric.distribution;
            let (severity, words, suggestion) = if d.p50 < 30.0 {
                (Severity::Critical, "starved", "the GPU mostly waits: find the input or host bottleneck first")
            } else if d.p50 < 60.0 {
                (
                    Severity::Warning,
                    "under-used",
                    "larger batches, more loader workers or fewer host syncs would feed it",
                )
            } else {
                (Severity::Info, "busy", "")
            };
            finding(
                severity,
                format!(
                    "{} is {words}: utilisation median {:.0}%, p90 {:.0}%, mean {:.0}%",
                    metric.name, d.p50, d.p90, d.mean
                ),
                &[("p50", d.p50), ("p90", d.p90), ("p95", d.p95), ("mean", d.mean), ("min", d.min)],
                suggestion,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(name: &str, unit: Unit, better: Direction, values: &[f64]) -> BaselineMetric {
        let mut metric = crate::test_support::series_metric(name, unit, better, values);
        // The drift rule reads block means in order: one per value here.
        metric.block_size = 1;
        metric.block_means = values.to_vec();
        metric
    }

    fn ids(metrics: &[BaselineMetric], has_verdict: bool) -> Vec<(String, Severity)> {
        analyse(metrics, has_verdict, 1).into_iter().map(|f| (f.id, f.severity)).collect()
    }

    #[test]
    fn data_wait_share_fires_and_defers_to_a_report_verdict() {
        let metrics = [
            metric("perf/step_time_ms", Unit::Milliseconds, Direction::Lower, &[100.0; 10]),
            metric("perf/data_wait_ms", Unit::Milliseconds, Direction::Lower, &[30.0; 10]),
        ];
        let found = analyse(&metrics, false, 1);
        assert_eq!(found[0].id, "data-wait-share");
        assert_eq!(found[0].severity, Severity::Critical);
        assert!((found[0].evidence["share"] - 0.3).abs() < 1e-12);
        assert!(!ids(&metrics, true).iter().any(|(id, _)| id == "data-wait-share"));
        let light = [metrics[0].clone(), metric("perf/data_wait_ms", Unit::Milliseconds, Direction::Lower, &[1.0; 10])];
        assert!(ids(&light, false).contains(&("data-wait-share".to_owned(), Severity::Info)));
    }

    #[test]
    fn data_wait_share_uses_the_throughput_verdict_at_its_edges() {
        let at = |wait: f64| {
            let metrics = [
                metric("perf/step_time_ms", Unit::Milliseconds, Direction::Lower, &[100.0; 10]),
                metric("perf/data_wait_ms", Unit::Milliseconds, Direction::Lower, &[wait; 10]),
            ];
            let found = analyse(&metrics, false, 1).into_iter().find(|f| f.id == "data-wait-share").unwrap();
            let share = found.evidence["share"];
            (share, found.severity, found.title)
        };
        // Exactly 5%: compute-bound, as `Bottleneck::from_wait_fraction` says.
        let (share, severity, title) = at(5.0);
        assert_eq!(share, 0.05);
        assert_eq!(Bottleneck::from_wait_fraction(share), Bottleneck::ComputeBound);
        assert_eq!(severity, Severity::Info);
        assert!(title.starts_with("compute-bound: data wait (perf/data_wait_ms) is 5.0% of step time"), "{title}");
        // Between: balanced.
        let (_, severity, title) = at(10.0);
        assert_eq!(severity, Severity::Warning);
        assert!(title.starts_with("balanced: data wait (perf/data_wait_ms) is 10.0%"), "{title}");
        // Exactly 20%: input-bound.
        let (share, severity, title) = at(20.0);
        assert_eq!(share, 0.2);
        assert_eq!(Bottleneck::from_wait_fraction(share), Bottleneck::InputBound);
        assert_eq!(severity, Severity::Critical);
        assert!(title.starts_with("input-bound: data wait (perf/data_wait_ms) is 20.0% of step time"), "{title}");
    }

    #[test]
    fn step_time_spread_fires_on_uneven_steps() {
        let mut uneven = vec![100.0; 18];
        uneven.extend([300.0, 320.0]);
        let found = ids(&[metric("batch_time_ms", Unit::Milliseconds, Direction::Lower, &uneven)], false);
        assert!(found.contains(&("step-time-spread".to_owned(), Severity::Warning)), "{found:?}");
        let steady = ids(&[metric("batch_time_ms", Unit::Milliseconds, Direction::Lower, &[100.0; 20])], false);
        assert!(steady.contains(&("step-time-spread".to_owned(), Severity::Info)));
    }

    #[test]
    fn throughput_drift_fires_when_the_run_slows() {
        let falling: Vec<f64> = (0..40).map(|i| 100.0 - f64::from(i)).collect();
        let found = ids(&[metric("samples_per_s", Unit::PerSecond, Direction::Higher, &falling)], false);
        assert_eq!(found, [("throughput-drift".to_owned(), Severity::Warning)]);
        let steady = ids(&[metric("samples_per_s", Unit::PerSecond, Direction::Higher, &[100.0; 40])], false);
        assert_eq!(steady, [("throughput-drift".to_owned(), Severity::Info)]);
        let several_runs = analyse(&[metric("samples_per_s", Unit::PerSecond, Direction::Higher, &falling)], false, 3);
        assert!(several_runs.is_empty());
    }

    #[test]
    fn gpu_utilisation_grades_each_gpu() {
        let metrics = [
            metric("gpu.0.utilization_percent", Unit::Percent, Direction::Higher, &[20.0; 10]),
            metric("system/gpu.1.gpu", Unit::Percent, Direction::Info, &[45.0; 10]),
            metric("gpu.2.utilization_percent", Unit::Percent, Direction::Higher, &[95.0; 10]),
        ];
        let severities: Vec<Severity> = analyse(&metrics, false, 1).into_iter().map(|f| f.severity).collect();
        assert_eq!(severities, [Severity::Critical, Severity::Warning, Severity::Info]);
    }

    #[test]
    fn every_rule_is_listed_once() {
        let ids: Vec<&str> = FINDING_RULES.iter().map(|rule| rule.id).collect();
        assert_eq!(ids, ["data-wait-share", "step-time-spread", "throughput-drift", "gpu-utilisation"]);
    }
}
