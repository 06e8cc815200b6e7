//! From runs to a [`BaselineReport`]: each metric's direction, warm-up, steady-state
//! distribution and block means, and the bottleneck findings.

use std::collections::BTreeSet;

use metrics_schema::{
    BaselineMetric, BaselineReport, Direction, Distribution, LevelShift, MetricKind, SourcesRead, Unit,
};

use crate::{RunMetrics, Thresholds, Warmup, direction, findings, stats};

/// How to summarise.
#[derive(Debug, Clone)]
pub struct BaselineOptions<'a> {
    /// The warm-up rule for every series.
    pub warmup: Warmup,
    /// Direction overrides and ignored metrics.
    pub thresholds: &'a Thresholds,
    /// Wall time spent reading the sources, for the report's read rate.
    pub read_seconds: f64,
}

/// Summarises one run, or several repeated runs of one workload, into a baseline.
///
/// With several runs, each metric also keeps one value per run (its steady-state median): the
/// gate's unit of comparison when both sides have enough runs.
pub fn build_baseline(runs: &[RunMetrics], options: &BaselineOptions<'_>) -> BaselineReport {
    summarize_runs(runs, options, None)
}

/// Summarises the current side of a comparison like [`build_baseline`], with one difference:
/// each series loses as much of its start to warm-up as the same series did in `baseline` (per
/// run; at most half of it), whatever the warm-up rule would cut. A slow stretch at the start
/// of the current run is then judged as the cost it is, instead of being cut as a longer
/// warm-up.
pub fn build_current(runs: &[RunMetrics], options: &BaselineOptions<'_>, baseline: &BaselineReport) -> BaselineReport {
    summarize_runs(runs, options, Some(baseline))
}

fn summarize_runs(
    runs: &[RunMetrics],
    options: &BaselineOptions<'_>,
    reference: Option<&BaselineReport>,
) -> BaselineReport {
    let names: BTreeSet<&String> = runs.iter().flat_map(|run| run.series.keys().chain(run.scalars.keys())).collect();
    let mut notes: Vec<String> = runs.iter().flat_map(|run| run.notes.iter().cloned()).collect();
    let mut metrics: Vec<BaselineMetric> = names
        .into_iter()
        .filter_map(|name| {
            // The reference's warm-up per run, for the same metric.
            let cap = reference.and_then(|report| {
                let metric = report.metrics.iter().find(|m| &m.name == name && m.kind == MetricKind::Series)?;
                usize::try_from(metric.warmup / u64::from(report.runs.max(1))).ok()
            });
            summarize_metric(name, runs, options, cap, &mut notes)
        })
        .collect();
    metrics.sort_by(|a, b| {
        (a.better == Direction::Info).cmp(&(b.better == Direction::Info)).then_with(|| a.name.cmp(&b.name))
    });

    let mut findings = Vec::new();
    let mut seen = BTreeSet::new();
    for finding in runs.iter().flat_map(|run| &run.findings) {
        if seen.insert((finding.id.clone(), finding.title.clone())) {
            findings.push(finding.clone());
        }
    }
    let has_verdict = findings.iter().any(|f| f.id.starts_with("throughput-"));
    findings.extend(findings::analyse(&metrics, has_verdict, runs.len()));
    findings.sort_by_key(|finding| std::cmp::Reverse(finding.severity));

    let files: Vec<&crate::SourceFile> = runs.iter().flat_map(|run| &run.files).collect();
    let bytes: u64 = files.iter().map(|file| file.bytes).sum();
    let seconds = options.read_seconds;
    if runs.len() > 1 {
        notes.push(format!("summarises {} repeated runs; each metric keeps one value per run", runs.len()));
    }
    let mut info = runs.first().map(|run| run.info.clone()).unwrap_or_default();
    if runs.len() > 1 {
        let names: Vec<String> = runs.iter().filter_map(|run| run.info.name.clone()).collect();
        if !names.is_empty() {
            info.name = Some(names.join(", "));
        }
    }
    BaselineReport {
        run: info,
        sources: files.iter().map(|file| format!("{} ({})", file.path, file.format)).collect(),
        read: SourcesRead {
            files: files.len() as u64,
            bytes,
            seconds,
            mb_per_s: if seconds > 0.0 { bytes as f64 / 1e6 / seconds } else { 0.0 },
        },
        runs: u32::try_from(runs.len()).unwrap_or(u32::MAX),
        warmup_rule: options.warmup.to_string(),
        metrics,
        findings,
        damage: runs.iter().flat_map(RunMetrics::damage_summaries).collect(),
        notes,
    }
}

fn summarize_metric(
    name: &str,
    runs: &[RunMetrics],
    options: &BaselineOptions<'_>,
    warmup_cap: Option<usize>,
    notes: &mut Vec<String>,
) -> Option<BaselineMetric> {
    let settings = options.thresholds.for_metric(name);
    let series: Vec<&crate::Series> = runs.iter().filter_map(|run| run.series.get(name)).collect();
    if !series.is_empty() {
        let hint = series[0].hint;
        let mut resolved = direction::resolve(name, hint, settings.direction);
        gate_quality_if_asked(name, &settings, &mut resolved);
        // NaN and infinities (a diverged loss, a logged placeholder) are left out, and said so.
        let logged: usize = series.iter().map(|s| s.points.len()).sum();
        let all_values: Vec<Vec<f64>> =
            series.iter().map(|s| s.values().into_iter().filter(|v| v.is_finite()).collect()).collect();
        let finite: usize = all_values.iter().map(Vec::len).sum();
        if finite < logged {
            let what = if finite == 0 { "so the metric is left out" } else { "left out of its figures" };
            notes.push(format!("`{name}`: {} of {logged} values are NaN or infinite, {what}", logged - finite));
        }
        if hint.better.is_none()
            && settings.direction.is_none()
            && resolved.better != Direction::Info
            && all_values.iter().any(|values| direction::is_cumulative(values))
        {
            resolved.better = Direction::Info;
            resolved.from = "cumulative counter (never decreases)".to_owned();
        }
        if settings.ignore {
            resolved.better = Direction::Info;
            resolved.from = "ignored by the thresholds file".to_owned();
        }
        let steady: Vec<&[f64]> = all_values
            .iter()
            .map(|values| {
                // The current run's steady state starts where the baseline's did (at most half
                // way): a longer warm-up is a cost, not something to cut.
                let start =
                    warmup_cap.map_or_else(|| options.warmup.steady_start(values), |cap| cap.min(values.len() / 2));
                &values[start..]
            })
            .collect();
        let warmup: usize = all_values.iter().zip(&steady).map(|(all, kept)| all.len() - kept.len()).sum();
        let pooled: Vec<f64> = steady.iter().flat_map(|values| values.iter().copied()).collect();
        let distribution = Distribution::from_samples(&pooled)?;
        // One block size for every run, so that their means are alike.
        let block_size = steady.iter().map(|values| stats::fine_block_size(values.len())).max().unwrap_or(1);
        // A rate's mean over a run is its events over its time: harmonic, per block and per run.
        let harmonic = resolved.unit == Unit::PerSecond && pooled.iter().all(|&x| x > 0.0);
        let blocks_of = |values: &[f64]| {
            if harmonic {
                stats::harmonic_block_means(values, block_size)
            } else {
                stats::block_means(values, block_size)
            }
        };
        let block_means: Vec<f64> = steady.iter().flat_map(|values| blocks_of(values)).collect();
        let per_run: Vec<Distribution> = if runs.len() > 1 {
            steady.iter().filter_map(|values| Distribution::from_samples(values)).collect()
        } else {
            Vec::new()
        };
        let run_means: Vec<f64> = steady
            .iter()
            .filter(|_| runs.len() > 1)
            .filter(|values| !values.is_empty())
            .map(|values| if harmonic { stats::harmonic_mean(values) } else { stats::mean(values) })
            .collect();
        // The warm-up's blocks, from its end, so that the gate can put back what a current run
        // cut beyond the baseline's warm-up (one run only).
        let warmup_block_means: Vec<f64> = match (all_values.as_slice(), steady.as_slice()) {
            ([all], [kept]) if all.len() > kept.len() => {
                let cut = &all[..all.len() - kept.len()];
                let whole = cut.len() / block_size * block_size;
                let finite_positive = cut.iter().all(|&x| x > 0.0);
                if harmonic && !finite_positive { Vec::new() } else { blocks_of(&cut[cut.len() - whole..]) }
            }
            _ => Vec::new(),
        };
        // A level shift is looked for in one run's fine block means; with repeated runs, their
        // spread is the runs rule's business.
        let level_shift = (runs.len() == 1 && resolved.better != Direction::Info)
            .then(|| stats::level_shift(&block_means, options.thresholds.threshold))
            .flatten()
            .map(|shift| LevelShift {
                at_sample: (warmup + shift.at * block_size) as u64,
                of_samples: pooled.len() as u64,
                before: shift.before,
                after: shift.after,
            });
        if let Some(shift) = &level_shift {
            notes.push(format!(
                "`{name}` shifts at sample {} of {} from {} to {}{} and stays there",
                shift.at_sample,
                shift.of_samples + warmup as u64,
                crate::render::format_value(shift.before, resolved.unit),
                crate::render::format_value(shift.after, resolved.unit),
                if shift.before > 0.0 {
                    format!(" ({})", crate::gate::format_change(shift.after / shift.before - 1.0))
                } else {
                    String::new()
                },
            ));
        }
        return Some(BaselineMetric {
            name: name.to_owned(),
            unit: resolved.unit,
            better: resolved.better,
            direction_from: resolved.from,
            source: series[0].source.clone(),
            kind: MetricKind::Series,
            samples: pooled.len() as u64,
            warmup: warmup as u64,
            distribution,
            block_size: block_size as u64,
            block_autocorrelation: (block_means.len() >= 3).then(|| stats::lag1_autocorrelation(&block_means)),
            block_means,
            runs: per_run.iter().map(|d| d.p50).collect(),
            run_means,
            level_shift,
            harmonic,
            warmup_block_means,
        });
    }
    let scalars: Vec<&crate::Scalar> = runs.iter().filter_map(|run| run.scalars.get(name)).collect();
    let first = scalars.first()?;
    let mut resolved = direction::resolve(name, first.hint, settings.direction);
    gate_quality_if_asked(name, &settings, &mut resolved);
    if settings.ignore {
        resolved.better = Direction::Info;
        resolved.from = "ignored by the thresholds file".to_owned();
    }
    let values: Vec<f64> = scalars.iter().map(|scalar| scalar.value).collect();
    Some(BaselineMetric {
        name: name.to_owned(),
        unit: resolved.unit,
        better: resolved.better,
        direction_from: resolved.from,
        source: first.source.clone(),
        kind: MetricKind::Scalar,
        samples: values.len() as u64,
        warmup: 0,
        distribution: Distribution::from_samples(&values)?,
        block_size: 0,
        block_means: Vec::new(),
        block_autocorrelation: None,
        run_means: if runs.len() > 1 { values.clone() } else { Vec::new() },
        runs: if runs.len() > 1 { values } else { Vec::new() },
        level_shift: None,
        harmonic: false,
        warmup_block_means: Vec::new(),
    })
}

/// Model quality (a loss, an accuracy) is described but not gated, unless the thresholds file
/// sets its threshold: then it is gated in its own direction.
fn gate_quality_if_asked(name: &str, settings: &crate::MetricSettings, resolved: &mut direction::Resolved) {
    if resolved.better == Direction::Info
        && settings.threshold_set
        && settings.direction.is_none()
        && let Some(better) = direction::quality_direction(name)
    {
        resolved.better = better;
        resolved.from = "model quality, gated by the thresholds file".to_owned();
    }
}

/// Scales a baseline's figures as if the workload were `factor` times slower (for metrics whose
/// lower values are better, values grow; for higher-is-better ones they shrink): the injected
/// slowdown of the gate's power benchmark. Info metrics are left alone.
pub fn slow_down(report: &mut BaselineReport, factor: f64) {
    for metric in &mut report.metrics {
        let scale = match metric.better {
            Direction::Lower => factor,
            Direction::Higher => 1.0 / factor,
            Direction::Info => continue,
        };
        let d = &mut metric.distribution;
        for value in
            [&mut d.mean, &mut d.stddev, &mut d.min, &mut d.p50, &mut d.p90, &mut d.p95, &mut d.p99, &mut d.max]
        {
            *value *= scale;
        }
        for value in metric
            .block_means
            .iter_mut()
            .chain(metric.runs.iter_mut())
            .chain(metric.run_means.iter_mut())
            .chain(metric.warmup_block_means.iter_mut())
        {
            *value *= scale;
        }
        if let Some(shift) = &mut metric.level_shift {
            shift.before *= scale;
            shift.after *= scale;
        }
    }
}

/// The steady-state values of a run's series, for charts: (x, value) pairs with x the step, and
/// the x where the steady state starts.
pub(crate) fn chart_points(series: &crate::Series, warmup: &Warmup) -> (Vec<(f64, f64)>, Option<f64>) {
    let values = series.values();
    let start = warmup.steady_start(&values);
    let points: Vec<(f64, f64)> = series.points.iter().map(|p| (p.step as f64, p.value)).collect();
    let cut = (start > 0).then(|| points.get(start).map_or(f64::NAN, |p| p.0));
    (points, cut)
}

/// Seconds per unit for time units; `None` for other units.
pub(crate) fn seconds_per_unit(unit: Unit) -> Option<f64> {
    match unit {
        Unit::Seconds => Some(1.0),
        Unit::Microseconds => Some(1e-6),
        Unit::Milliseconds => Some(1e-3),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::{Hint, Point};

    fn by_name(report: &BaselineReport) -> BTreeMap<&str, &BaselineMetric> {
        report.metrics.iter().map(|metric| (metric.name.as_str(), metric)).collect()
    }

    fn run_with(name: &str, values: &[f64]) -> RunMetrics {
        let mut run = RunMetrics::default();
        for (step, &value) in values.iter().enumerate() {
            run.push(name, Point { step: step as i64, wall_time: f64::NAN, value }, Hint::default(), "test");
        }
        run
    }

    #[test]
    fn a_series_gets_direction_warmup_distribution_and_blocks() {
        let mut values = vec![50.0; 20];
        values.extend((0..300).map(|i| 100.0 + f64::from(i % 7)));
        let run = run_with("perf/samples_per_sec", &values);
        let thresholds = Thresholds::default();
        let options = BaselineOptions { warmup: Warmup::Auto, thresholds: &thresholds, read_seconds: 0.0 };
        let report = build_baseline(&[run], &options);
        let metric = &report.metrics[0];
        assert_eq!((metric.better, metric.unit), (Direction::Higher, Unit::PerSecond));
        assert_eq!(metric.direction_from, "name: tokens `per sec`");
        // MSER-5 cuts whole batches of 5: the slow 20 and possibly one more batch.
        assert!((20..=30).contains(&metric.warmup), "{}", metric.warmup);
        assert_eq!(metric.samples + metric.warmup, 320);
        assert_eq!(metric.distribution.min, 100.0);
        assert_eq!(metric.block_size, 2);
        assert!(metric.runs.is_empty());
    }

    #[test]
    fn cumulative_counters_and_ignored_metrics_are_info() {
        let mut run = run_with("train/time", &(0..50).map(f64::from).collect::<Vec<_>>());
        run.merge(run_with("perf/step_time_ms", &[10.0; 50]));
        let thresholds =
            Thresholds::parse("[[metric]]\nname = \"perf/*\"\nignore = true\n", std::path::Path::new("t.toml"))
                .unwrap();
        let options = BaselineOptions { warmup: Warmup::Samples(0), thresholds: &thresholds, read_seconds: 0.0 };
        let report = build_baseline(&[run], &options);
        let by = by_name(&report);
        assert_eq!(by["train/time"].better, Direction::Info);
        assert_eq!(by["train/time"].direction_from, "cumulative counter (never decreases)");
        assert_eq!(by["perf/step_time_ms"].direction_from, "ignored by the thresholds file");
    }

    #[test]
    fn non_finite_values_are_left_out_and_said_so() {
        let run = run_with("train/loss", &[0.5, f64::NAN, 0.4, f64::INFINITY]);
        let nan_only = run_with("val/loss", &[f64::NAN, f64::NAN]);
        let mut both = run;
        both.merge(nan_only);
        let thresholds = Thresholds::default();
        let options = BaselineOptions { warmup: Warmup::Samples(0), thresholds: &thresholds, read_seconds: 0.0 };
        let report = build_baseline(&[both], &options);
        let names: Vec<&str> = report.metrics.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["train/loss"]);
        assert_eq!(report.metrics[0].samples, 2);
        assert_eq!(
            report.notes,
            [
                "`train/loss`: 2 of 4 values are NaN or infinite, left out of its figures",
                "`val/loss`: 2 of 2 values are NaN or infinite, so the metric is left out"
            ]
        );
    }

    #[test]
    fn repeated_runs_keep_one_value_per_run() {
        let runs: Vec<RunMetrics> = (0..3).map(|i| run_with("step_ms", &vec![10.0 + f64::from(i); 40])).collect();
        let thresholds = Thresholds::default();
        let options = BaselineOptions { warmup: Warmup::Samples(0), thresholds: &thresholds, read_seconds: 0.0 };
        let report = build_baseline(&runs, &options);
        assert_eq!(report.runs, 3);
        assert_eq!(report.metrics[0].runs, [10.0, 11.0, 12.0]);
        assert_eq!(report.metrics[0].samples, 120);
    }

    #[test]
    fn slowing_down_moves_each_direction_the_worse_way() {
        let mut run = run_with("step_ms", &[10.0; 40]);
        run.merge(run_with("images_per_s", &[100.0; 40]));
        let thresholds = Thresholds::default();
        let options = BaselineOptions { warmup: Warmup::Samples(0), thresholds: &thresholds, read_seconds: 0.0 };
        let mut report = build_baseline(&[run], &options);
        slow_down(&mut report, 1.1);
        let by = by_name(&report);
        assert!((by["step_ms"].distribution.p50 - 11.0).abs() < 1e-9);
        assert!((by["images_per_s"].block_means[0] - 100.0 / 1.1).abs() < 1e-9);
    }
}
