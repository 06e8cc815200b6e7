//! The gate on the committed tracker fixtures: a baseline and a run whose model step is 12%
//! slower, written by each tracker; and the false-alarm set of 24 unchanged runs.

use metrics_schema::Verdict;
use regression::{BaselineOptions, ReadOptions, SourceSpec, Thresholds, Warmup, build_baseline, compare, sources};

use crate::{fixtures, load, mlflow_db};

fn verdicts(base: &regression::RunMetrics, current: &regression::RunMetrics) -> Vec<(String, Verdict)> {
    let thresholds = Thresholds::default();
    let options = BaselineOptions { warmup: Warmup::Auto, thresholds: &thresholds, read_seconds: 0.0 };
    let report = compare(
        &build_baseline(std::slice::from_ref(base), &options),
        &build_baseline(std::slice::from_ref(current), &options),
        ["baseline", "current"],
        &thresholds,
    );
    report.comparisons.into_iter().map(|c| (c.name, c.verdict)).collect()
}

#[test]
fn each_tracker_fixture_gets_the_right_verdict_per_metric() {
    let scratch = tempfile::tempdir().unwrap();
    let db = mlflow_db(scratch.path());
    let pairs: Vec<(&str, [regression::RunMetrics; 2])> = vec![
        (
            "wandb 0.31",
            [load(&fixtures("wandb/baseline"), None).unwrap(), load(&fixtures("wandb/slower"), None).unwrap()],
        ),
        (
            "wandb 0.19",
            [
                load(&fixtures("wandb-0.19/baseline"), None).unwrap(),
                load(&fixtures("wandb-0.19/slower"), None).unwrap(),
            ],
        ),
        (
            "mlflow files",
            [
                load(&fixtures("mlflow-files/mlruns"), Some("baseline")).unwrap(),
                load(&fixtures("mlflow-files/mlruns"), Some("slower")).unwrap(),
            ],
        ),
        ("mlflow sqlite", [load(&db, Some("baseline")).unwrap(), load(&db, Some("slower")).unwrap()]),
        (
            "tensorboard",
            [
                load(&fixtures("tensorboard/baseline"), None).unwrap(),
                load(&fixtures("tensorboard/slower"), None).unwrap(),
            ],
        ),
    ];
    for (format, [base, slower]) in &pairs {
        let found = verdicts(base, slower);
        let verdict = |name: &str| found.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
        assert_eq!(verdict("perf/step_time_ms"), Some(Verdict::Regressed), "{format}: {found:?}");
        assert_eq!(verdict("perf/samples_per_sec"), Some(Verdict::Regressed), "{format}: {found:?}");
        assert_eq!(verdict("perf/data_wait_ms"), Some(Verdict::Unchanged), "{format}: {found:?}");
        // Model quality is described, not gated.
        assert_eq!(verdict("train/loss"), None, "{format}: {found:?}");
        assert_eq!(verdict("val/hmean"), None, "{format}: {found:?}");
        let unchanged = verdicts(base, base);
        assert!(unchanged.iter().all(|(_, v)| *v == Verdict::Unchanged), "{format}: {unchanged:?}");
    }
}

/// The noise set's runs, read once per test binary.
fn noise_runs() -> &'static [regression::RunMetrics] {
    static RUNS: std::sync::OnceLock<Vec<regression::RunMetrics>> = std::sync::OnceLock::new();
    RUNS.get_or_init(|| {
        let spec = SourceSpec { paths: vec![fixtures("noise")], run: None, repeats: true };
        sources::load(&spec, &ReadOptions::default()).unwrap()
    })
}

/// All 276 pairs of the 24 unchanged tracker runs, and all 190 pairs of the 20 recorded runs of
/// the built-in workload: no regression, no improvement.
#[test]
fn no_false_alarm_over_all_pairs_of_unchanged_runs() {
    let spec = SourceSpec { paths: vec![fixtures("builtin")], run: None, repeats: true };
    let builtin = sources::load(&spec, &ReadOptions::default()).unwrap();
    assert_eq!(builtin.len(), 20);
    let (alarms, pairs) = false_alarms(&builtin);
    assert_eq!(pairs, 190);
    assert!(alarms.is_empty(), "{} false alarms: {alarms:#?}", alarms.len());
    let runs = noise_runs();
    assert_eq!(runs.len(), 24);
    let (alarms, pairs) = false_alarms(runs);
    assert_eq!(pairs, 276);
    assert!(alarms.is_empty(), "{} false alarms: {alarms:#?}", alarms.len());
}

/// The regressions and improvements over every pair of `runs`, and the number of pairs.
fn false_alarms(runs: &[regression::RunMetrics]) -> (Vec<String>, usize) {
    let thresholds = Thresholds::default();
    let options = BaselineOptions { warmup: Warmup::Auto, thresholds: &thresholds, read_seconds: 0.0 };
    let baselines: Vec<_> = runs.iter().map(|run| build_baseline(std::slice::from_ref(run), &options)).collect();
    let mut alarms = Vec::new();
    let mut pairs = 0;
    for (i, a) in baselines.iter().enumerate() {
        for b in &baselines[i + 1..] {
            pairs += 1;
            let report = compare(a, b, ["a", "b"], &thresholds);
            alarms.extend(
                report
                    .comparisons
                    .iter()
                    .filter(|c| matches!(c.verdict, Verdict::Regressed | Verdict::Improved))
                    .map(|c| format!("{}: {}", c.name, c.reason)),
            );
        }
    }
    (alarms, pairs)
}

/// How many of the comparisons of `a[i]` against `b[j]` slowed down by `factor` (every
/// `i < j` pair) call `perf/step_time_ms` regressed.
fn flagged(baselines: &[metrics_schema::BaselineReport], factor: f64, thresholds: &Thresholds) -> (usize, usize) {
    let (mut caught, mut trials) = (0, 0);
    for (i, a) in baselines.iter().enumerate() {
        for b in &baselines[i + 1..] {
            let mut slower = b.clone();
            regression::slow_down(&mut slower, factor);
            let report = compare(a, &slower, ["a", "b"], thresholds);
            let step = report.comparisons.iter().find(|c| c.name == "perf/step_time_ms").unwrap();
            trials += 1;
            caught += usize::from(step.verdict == Verdict::Regressed);
        }
    }
    (caught, trials)
}

/// The noise set's runs differ by a run-level offset (1% sd each) plus what their AR(1) noise
/// leaves in each run's level (about 0.4%): two runs differ by about 1.5% sd, which no
/// within-run statistic can see. One run a side: a 10% slowdown is caught in every pair; a 2%
/// one is flagged where the runs' own difference adds 3% or more (about 2.6% of pairs by the
/// normal tail; 10 of 276 here). Three runs a side average it out: 2% is never flagged.
#[test]
fn power_with_one_and_with_three_runs_a_side() {
    let runs = noise_runs();
    let thresholds = Thresholds::default();
    let options = BaselineOptions { warmup: Warmup::Auto, thresholds: &thresholds, read_seconds: 0.0 };
    let singles: Vec<_> = runs.iter().map(|run| build_baseline(std::slice::from_ref(run), &options)).collect();
    assert_eq!(flagged(&singles, 1.10, &thresholds), (276, 276));
    let (two_percent, trials) = flagged(&singles, 1.02, &thresholds);
    assert!(two_percent * 100 <= trials * 5, "2% flagged in {two_percent} of {trials} single-run pairs");

    let triples: Vec<_> = runs.chunks(3).map(|group| build_baseline(group, &options)).collect();
    assert_eq!(triples.len(), 8);
    assert_eq!(flagged(&triples, 1.10, &thresholds), (28, 28));
    assert_eq!(flagged(&triples, 1.02, &thresholds), (0, 28));
}
