//! [`RunMetrics`]: what every reader produces, whatever the tracker.

use std::collections::BTreeMap;

use metrics_schema::{DamageSummary, Direction, Recommendation, RunInfo, Unit};

use crate::{Damage, Error};

/// One sample of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// The training step (or interval index) the value belongs to.
    pub step: i64,
    /// Unix time in seconds, when the source records it (NaN when not).
    pub wall_time: f64,
    /// The value.
    pub value: f64,
}

/// What a reader knows about a metric beyond its name. Anything left `None` is inferred from
/// the name (see [`crate::direction`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hint {
    /// The unit, when the format says.
    pub unit: Option<Unit>,
    /// The direction, when the format says (an ocrperf report's `better`).
    pub better: Option<Direction>,
}

impl Hint {
    /// A hint with both parts known.
    pub fn known(unit: Unit, better: Direction) -> Hint {
        Hint { unit: Some(unit), better: Some(better) }
    }
}

/// A named sequence of samples over a run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// The samples in the order the source holds them (by step for trackers).
    pub points: Vec<Point>,
    /// What the reader knows about it.
    pub hint: Hint,
    /// The file it came from.
    pub source: String,
}

impl Series {
    /// The values alone, in order.
    pub fn values(&self) -> Vec<f64> {
        self.points.iter().map(|p| p.value).collect()
    }
}

/// One value for a whole run.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The value.
    pub value: f64,
    /// What the reader knows about it.
    pub hint: Hint,
    /// The file it came from.
    pub source: String,
}

/// A file that was read, and in which format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The path.
    pub path: String,
    /// The format (`wandb`, `tensorboard`, `mlflow-sqlite`, ...).
    pub format: &'static str,
    /// Bytes read.
    pub bytes: u64,
}

/// Everything a run's sources say: named series, scalars, findings the sources made themselves
/// (an ocrperf report's verdict and recommendations, a monitor's alerts), configuration and
/// metadata.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunMetrics {
    /// Name, id, tool, start time, host, GPUs, commit.
    pub info: RunInfo,
    /// Per-step (or per-interval) metrics.
    pub series: BTreeMap<String, Series>,
    /// Whole-run values (report figures, a tracker's summary values that have no history).
    pub scalars: BTreeMap<String, Scalar>,
    /// Findings the sources themselves carry.
    pub findings: Vec<Recommendation>,
    /// Configuration and parameters (`key` → value as text).
    pub config: BTreeMap<String, String>,
    /// What `--lenient` skipped.
    pub damage: Vec<Damage>,
    /// The files read.
    pub files: Vec<SourceFile>,
    /// Caveats for the report.
    pub notes: Vec<String>,
    /// What was read anyway but looked wrong, or was skipped (steps going back, a FIFO in a
    /// run directory), each with its place: for the front end to show, not for the report.
    pub warnings: Vec<String>,
}

impl RunMetrics {
    /// Appends a sample to the series `name`, creating it with `hint` and `source`.
    pub fn push(&mut self, name: &str, point: Point, hint: Hint, source: &str) {
        match self.series.get_mut(name) {
            Some(series) => series.points.push(point),
            None => {
                let series = Series { points: vec![point], hint, source: source.to_owned() };
                self.series.insert(name.to_owned(), series);
            }
        }
    }

    /// Sets a whole-run value; a later source does not replace an earlier one.
    pub fn set_scalar(&mut self, name: &str, value: f64, hint: Hint, source: &str) {
        if value.is_finite() {
            self.scalars.entry(name.to_owned()).or_insert_with(|| Scalar { value, hint, source: source.to_owned() });
        }
    }

    /// Takes in another source's part of the same run, refusing a metric both have; metadata
    /// fills in what is missing. This is how the sources of one run are joined.
    ///
    /// # Errors
    /// [`Error::DuplicateMetric`] naming both sources when `other` has a metric (series or
    /// whole-run value) that this run already has: neither is dropped in silence. `self` is
    /// unchanged then.
    pub fn try_merge(&mut self, other: RunMetrics) -> Result<(), Error> {
        if let Some(name) = other.series.keys().chain(other.scalars.keys()).find(|name| self.has_metric(name)) {
            return Err(Error::DuplicateMetric {
                name: name.clone(),
                first: self.source_of(name).unwrap_or_default(),
                second: other.source_of(name).unwrap_or_default(),
            });
        }
        self.merge(other);
        Ok(())
    }

    /// Takes in another source's part of the same run; metadata fills in what is missing. A
    /// metric both have is kept twice, `other`'s under a source-qualified name (`loss [b.csv]`),
    /// never dropped; [`RunMetrics::try_merge`] refuses it instead.
    pub fn merge(&mut self, other: RunMetrics) {
        let qualified = |name: String, source: &str, run: &RunMetrics| {
            if run.has_metric(&name) { format!("{name} [{source}]") } else { name }
        };
        for (name, series) in other.series {
            let name = qualified(name, &series.source, self);
            self.series.insert(name, series);
        }
        for (name, scalar) in other.scalars {
            let name = qualified(name, &scalar.source, self);
            self.scalars.insert(name, scalar);
        }
        self.findings.extend(other.findings);
        for (key, value) in other.config {
            self.config.entry(key).or_insert(value);
        }
        self.damage.extend(other.damage);
        self.files.extend(other.files);
        self.notes.extend(other.notes);
        self.warnings.extend(other.warnings);
        merge_info(&mut self.info, other.info);
    }

    /// Whether the run has a metric of this name, as a series or a whole-run value.
    fn has_metric(&self, name: &str) -> bool {
        self.series.contains_key(name) || self.scalars.contains_key(name)
    }

    /// The source of the metric `name`.
    fn source_of(&self, name: &str) -> Option<String> {
        self.series.get(name).map(|s| s.source.clone()).or_else(|| self.scalars.get(name).map(|s| s.source.clone()))
    }

    /// Warnings for series whose steps repeat or go back (two runs in one log, a restart):
    /// read anyway, every value kept, as `throughput` does with batch events. A series that
    /// logs no step at all (every step the same, as MLflow without `step=`) is not warned about.
    pub(crate) fn check_step_order(&mut self) {
        for (name, series) in &self.series {
            let Some(first) = series.points.first() else { continue };
            if series.points.iter().all(|p| p.step == first.step) {
                continue;
            }
            let backwards: Vec<(i64, i64)> =
                series.points.windows(2).filter(|w| w[1].step <= w[0].step).map(|w| (w[0].step, w[1].step)).collect();
            if let Some(&(before, after)) = backwards.first() {
                self.warnings.push(format!(
                    "{}: `{name}`: step {after} follows step {before} (steps repeat or go back {} {}); two runs in \
                     one log, or a restart? every value was kept",
                    series.source,
                    backwards.len(),
                    if backwards.len() == 1 { "time" } else { "times" },
                ));
            }
        }
    }

    /// GPU names with their whitespace made uniform (trimmed, runs of spaces as one), so that
    /// `NVIDIA  H100` and `NVIDIA H100 ` are the same model.
    pub(crate) fn normalise_gpu_names(&mut self) {
        for gpu in &mut self.info.gpus {
            *gpu = normalise_gpu_name(gpu);
        }
    }

    /// The damage as the report records it.
    pub fn damage_summaries(&self) -> Vec<DamageSummary> {
        self.damage
            .iter()
            .map(|damage| DamageSummary {
                file: damage.path.display().to_string(),
                offset: damage.place.offset().unwrap_or(0),
                message: match damage.place {
                    crate::Place::Line { line, .. } => format!("line {line}: {}", damage.message),
                    _ => damage.message.clone(),
                },
            })
            .collect()
    }
}

/// A GPU model name with its whitespace made uniform: trimmed, each run of spaces or tabs one
/// space.
pub(crate) fn normalise_gpu_name(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Fills the fields of `into` that are empty from `from`; tools are joined with `+`.
fn merge_info(into: &mut RunInfo, from: RunInfo) {
    fn fill<T>(slot: &mut Option<T>, value: Option<T>) {
        if slot.is_none() {
            *slot = value;
        }
    }
    fill(&mut into.name, from.name);
    fill(&mut into.id, from.id);
    fill(&mut into.started_at, from.started_at);
    fill(&mut into.host, from.host);
    fill(&mut into.cpu_model, from.cpu_model);
    fill(&mut into.git_commit, from.git_commit);
    if into.gpus.is_empty() {
        into.gpus = from.gpus;
    }
    if into.tool.is_empty() {
        into.tool = from.tool;
    } else if !from.tool.is_empty() && !into.tool.split('+').any(|tool| tool == from.tool) {
        into.tool = format!("{}+{}", into.tool, from.tool);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(step: i64, value: f64) -> Point {
        Point { step, wall_time: f64::NAN, value }
    }

    #[test]
    fn merging_joins_tools_and_fills_metadata() {
        let mut a =
            RunMetrics { info: RunInfo { tool: "wandb".into(), ..RunInfo::default() }, ..RunMetrics::default() };
        a.push("loss", point(0, 1.0), Hint::default(), "a");
        let mut b = RunMetrics {
            info: RunInfo { tool: "ocrperf".into(), host: Some("gpu-01".into()), ..RunInfo::default() },
            ..RunMetrics::default()
        };
        b.push("throughput", point(0, 5.0), Hint::default(), "b");
        b.set_scalar("nan is dropped", f64::NAN, Hint::default(), "b");
        a.merge(b);
        assert_eq!(a.series["loss"].source, "a");
        assert_eq!(a.series["loss"].values(), [1.0]);
        assert_eq!(a.series["throughput"].source, "b");
        assert!(a.scalars.is_empty());
        assert_eq!(a.info.tool, "wandb+ocrperf");
        assert_eq!(a.info.host.as_deref(), Some("gpu-01"));
    }

    #[test]
    fn a_metric_from_two_sources_is_an_error_naming_both() {
        let mut a = RunMetrics::default();
        a.push("loss", point(0, 1.0), Hint::default(), "runs/a.wandb");
        let mut b = RunMetrics::default();
        b.set_scalar("loss", 9.0, Hint::default(), "runs/metrics.csv");
        assert_eq!(
            a.try_merge(b.clone()).unwrap_err().to_string(),
            "metric `loss` comes from both runs/a.wandb and runs/metrics.csv; one run cannot have it twice: give \
             only one of these sources"
        );
        assert_eq!(a.series["loss"].values(), [1.0]);
        assert!(a.scalars.is_empty());
        // Merged without the check, both are kept.
        a.merge(b);
        assert_eq!(a.series["loss"].values(), [1.0]);
        assert_eq!(a.scalars["loss [runs/metrics.csv]"].value, 9.0);
    }

    #[test]
    fn steps_that_repeat_or_go_back_are_warned_about_once_per_series() {
        let mut run = RunMetrics::default();
        for step in [0, 1, 2, 1, 2, 3, 3] {
            run.push("loss", point(step, 1.0), Hint::default(), "events.out.tfevents.1.vm");
        }
        for _ in 0..3 {
            run.push("no_steps", point(0, 1.0), Hint::default(), "mlruns/0/r/metrics/no_steps");
        }
        run.check_step_order();
        assert_eq!(
            run.warnings,
            ["events.out.tfevents.1.vm: `loss`: step 1 follows step 2 (steps repeat or go back 2 times); two runs \
              in one log, or a restart? every value was kept"]
        );
    }

    #[test]
    fn gpu_names_differing_in_whitespace_become_one() {
        let mut run = RunMetrics::default();
        run.info.gpus = vec!["NVIDIA  H100\t80GB ".into(), " NVIDIA H100 80GB".into()];
        run.normalise_gpu_names();
        assert_eq!(run.info.gpus, ["NVIDIA H100 80GB", "NVIDIA H100 80GB"]);
    }
}
