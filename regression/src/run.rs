//! [`RunMetrics`]: what every reader produces, whatever the tracker.

use std::collections::BTreeMap;

use metrics_schema::{DamageSummary, Direction, Recommendation, RunInfo, Unit};

use crate::Damage;

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

    /// Takes in another source's part of the same run. Series and scalars already present keep
    /// their first source; metadata fills in what is missing.
    pub fn merge(&mut self, other: RunMetrics) {
        for (name, series) in other.series {
            self.series.entry(name).or_insert(series);
        }
        for (name, scalar) in other.scalars {
            self.scalars.entry(name).or_insert(scalar);
        }
        self.findings.extend(other.findings);
        for (key, value) in other.config {
            self.config.entry(key).or_insert(value);
        }
        self.damage.extend(other.damage);
        self.files.extend(other.files);
        self.notes.extend(other.notes);
        merge_info(&mut self.info, other.info);
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
    fn merging_keeps_the_first_source_and_joins_tools() {
        let mut a =
            RunMetrics { info: RunInfo { tool: "wandb".into(), ..RunInfo::default() }, ..RunMetrics::default() };
        a.push("loss", point(0, 1.0), Hint::default(), "a");
        let mut b = RunMetrics {
            info: RunInfo { tool: "ocrperf".into(), host: Some("gpu-01".into()), ..RunInfo::default() },
            ..RunMetrics::default()
        };
        b.push("loss", point(0, 9.0), Hint::default(), "b");
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
}
