//! Properties of the decision rule, over random series: it never flags identical inputs, and
//! swapping the sides turns a regression into an improvement with the same p.

use metrics_schema::{Comparison, Verdict};
use proptest::prelude::*;
use regression::{BaselineOptions, Hint, Point, RunMetrics, Thresholds, Warmup, build_baseline, compare};

fn run_of(values: &[f64]) -> RunMetrics {
    let mut run = RunMetrics::default();
    for (step, &value) in values.iter().enumerate() {
        run.push(
            "perf/step_time_ms",
            Point { step: step as i64, wall_time: f64::NAN, value },
            Hint::default(),
            "property",
        );
    }
    run
}

fn gate(a: &[f64], b: &[f64]) -> Option<Comparison> {
    let thresholds = Thresholds::default();
    let options = BaselineOptions { warmup: Warmup::Samples(0), thresholds: &thresholds, read_seconds: 0.0 };
    let (base, current) = (build_baseline(&[run_of(a)], &options), build_baseline(&[run_of(b)], &options));
    compare(&base, &current, ["a", "b"], &thresholds).comparisons.into_iter().next()
}

/// Step times: a level, noise of a chosen size, sometimes a slow drift, sometimes spikes.
fn series() -> impl Strategy<Value = Vec<f64>> {
    (1.0f64..500.0, 0.0f64..0.3, prop::collection::vec(-1.0f64..1.0, 16..400), any::<bool>()).prop_map(
        |(level, noise, shocks, spiky)| {
            shocks
                .iter()
                .enumerate()
                .map(|(i, shock)| {
                    let spike = if spiky && i % 37 == 36 { 0.5 } else { 0.0 };
                    level * (1.0 + noise * shock + spike)
                })
                .collect()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn identical_inputs_are_never_flagged(values in series()) {
        if let Some(comparison) = gate(&values, &values) {
            prop_assert!(matches!(comparison.verdict, Verdict::Unchanged | Verdict::NotComparable), "{:?}: {}", comparison.verdict, comparison.reason);
        }
    }

    #[test]
    fn improvement_mirrors_regression(a in series(), b in series()) {
        let (forward, backward) = (gate(&a, &b), gate(&b, &a));
        let (Some(forward), Some(backward)) = (forward, backward) else { return Ok(()) };
        let mirrored = match forward.verdict {
            Verdict::Regressed => Verdict::Improved,
            Verdict::Improved => Verdict::Regressed,
            other => other,
        };
        prop_assert_eq!(backward.verdict, mirrored, "{} | {}", forward.reason, backward.reason);
        if let (Some(p), Some(q)) = (forward.p, backward.p) {
            prop_assert!((p - q).abs() < 1e-9, "p {} vs {}", p, q);
        }
        if let (Some(f), Some(g)) = (forward.change, backward.change) {
            // A ratio one way is its reciprocal the other way.
            prop_assert!(((1.0 + f) * (1.0 + g) - 1.0).abs() < 1e-9, "{} vs {}", f, g);
        }
    }
}

/// Every slowdown shape of the study, at a magnitude from 10% (9% less throughput) to 100%, any
/// noise seed: caught. The shapes are laid over runs with the study's typical noise (AR(1) steps,
/// a wobble, a run-to-run offset, a warm-up), summarised as `ocrperf regress` does.
fn shape() -> impl Strategy<Value = regression::study::Shape> {
    prop::sample::select(regression::study::Shape::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    #[test]
    fn every_shape_that_costs_nine_percent_of_throughput_is_caught(
        shape in shape(),
        magnitude in 0.1f64..1.0,
        seed in 0u64..1_000_000,
    ) {
        use regression::study::{Noise, slowed_run, unchanged_run, verdict};
        let baseline = unchanged_run(400, 20.0, &Noise::TYPICAL, 2 * seed);
        let current = slowed_run(400, 20.0, &Noise::TYPICAL, 2 * seed + 1, shape, magnitude);
        let found = verdict(&baseline, &current, &Thresholds::default());
        prop_assert_eq!(found, Verdict::Regressed, "{:?} +{:.1}%", shape, magnitude * 100.0);
    }

    #[test]
    fn unchanged_runs_with_typical_noise_are_not_flagged(seed in 0u64..1_000_000) {
        use regression::study::{Noise, unchanged_run, verdict};
        let baseline = unchanged_run(400, 20.0, &Noise::TYPICAL, 2 * seed);
        let current = unchanged_run(400, 20.0, &Noise::TYPICAL, 2 * seed + 1);
        let found = verdict(&baseline, &current, &Thresholds::default());
        prop_assert_eq!(found, Verdict::Unchanged);
    }

    /// The same slowdown seen as a rate (samples per second) is caught as well: the gate works
    /// on the mean of whatever is logged.
    #[test]
    fn a_slower_rate_is_caught_like_a_slower_step(shape in shape(), seed in 0u64..1_000_000) {
        use regression::study::{Noise, slowed_run, unchanged_run};
        let rate = |times: &[f64]| -> Vec<f64> { times.iter().map(|ms| 8_000.0 / ms).collect() };
        let baseline = rate(&unchanged_run(400, 20.0, &Noise::TYPICAL, 2 * seed));
        let current = rate(&slowed_run(400, 20.0, &Noise::TYPICAL, 2 * seed + 1, shape, 0.25));
        let mut runs = [RunMetrics::default(), RunMetrics::default()];
        for (run, values) in runs.iter_mut().zip([&baseline, &current]) {
            for (step, &value) in values.iter().enumerate() {
                run.push("perf/samples_per_s", Point { step: step as i64, wall_time: f64::NAN, value }, Hint::default(), "property");
            }
        }
        let thresholds = Thresholds::default();
        let options = BaselineOptions { warmup: Warmup::Auto, thresholds: &thresholds, read_seconds: 0.0 };
        let base = build_baseline(&runs[..1], &options);
        let cur = regression::build_current(&runs[1..], &options, &base);
        let report = compare(&base, &cur, ["a", "b"], &thresholds);
        prop_assert_eq!(report.comparisons[0].verdict, Verdict::Regressed, "{:?}: {}", shape, report.comparisons[0].reason);
    }
}
