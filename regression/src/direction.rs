//! Which way a metric improves, and its unit, when the source does not say.
//!
//! ocrperf reports carry their own `better`; a tracker's series is just a name. These tables
//! decide from the name (lower-cased), first match wins. The thresholds file overrides them.

use metrics_schema::{Direction, Unit};

use crate::Hint;

/// How a rule matches a metric name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// The name ends with this.
    Suffix(&'static str),
    /// The name contains this.
    Contains(&'static str),
    /// The last `/`- or `.`-separated part of the name is exactly this.
    LastPart(&'static str),
}

impl Pattern {
    /// Whether `name` (lower-cased) matches.
    pub fn matches(self, name: &str) -> bool {
        match self {
            Pattern::Suffix(suffix) => name.ends_with(suffix),
            Pattern::Contains(part) => name.contains(part),
            Pattern::LastPart(part) => name.rsplit(['/', '.']).next() == Some(part),
        }
    }

    /// As shown in reports: `*_per_s`, `*time*`, `epoch`.
    pub fn describe(self) -> String {
        match self {
            Pattern::Suffix(suffix) => format!("*{suffix}"),
            Pattern::Contains(part) => format!("*{part}*"),
            Pattern::LastPart(part) => part.to_owned(),
        }
    }
}

/// One rule of [`DIRECTION_RULES`].
#[derive(Debug, Clone, Copy)]
pub struct DirectionRule {
    /// What it matches.
    pub pattern: Pattern,
    /// The direction it gives.
    pub direction: Direction,
}

const fn rule(pattern: Pattern, direction: Direction) -> DirectionRule {
    DirectionRule { pattern, direction }
}

/// Direction from a tracker metric's name. Counters and clocks that merely contain a keyword
/// come first, so that `_timestamp` is not "a time, lower is better".
pub const DIRECTION_RULES: &[DirectionRule] = &[
    rule(Pattern::Contains("timestamp"), Direction::Info),
    rule(Pattern::Contains("runtime"), Direction::Info),
    rule(Pattern::LastPart("epoch"), Direction::Info),
    rule(Pattern::LastPart("step"), Direction::Info),
    rule(Pattern::LastPart("lr"), Direction::Info),
    rule(Pattern::Contains("learning_rate"), Direction::Info),
    rule(Pattern::Suffix("_per_s"), Direction::Higher),
    rule(Pattern::Contains("per_sec"), Direction::Higher),
    rule(Pattern::Contains("throughput"), Direction::Higher),
    rule(Pattern::Contains("hmean"), Direction::Higher),
    rule(Pattern::Contains("f1"), Direction::Higher),
    rule(Pattern::Suffix("_ms"), Direction::Lower),
    rule(Pattern::Contains("time"), Direction::Lower),
    rule(Pattern::Contains("loss"), Direction::Lower),
    rule(Pattern::Contains("wait"), Direction::Lower),
];

/// Unit from a metric's name; a name no rule matches is a plain [`Unit::Number`].
pub const UNIT_RULES: &[(Pattern, Unit)] = &[
    (Pattern::Suffix("_per_s"), Unit::PerSecond),
    (Pattern::Contains("per_sec"), Unit::PerSecond),
    (Pattern::Contains("throughput"), Unit::PerSecond),
    (Pattern::Suffix("_ms"), Unit::Milliseconds),
    (Pattern::Suffix("_s"), Unit::Seconds),
    (Pattern::Suffix("_sec"), Unit::Seconds),
    (Pattern::Suffix("_seconds"), Unit::Seconds),
    (Pattern::Suffix("_bytes"), Unit::Bytes),
    (Pattern::Contains("percent"), Unit::Percent),
    (Pattern::Suffix("_pct"), Unit::Percent),
    (Pattern::Contains("fraction"), Unit::Ratio),
    (Pattern::Contains("ratio"), Unit::Ratio),
    (Pattern::Contains("hmean"), Unit::Ratio),
    (Pattern::Contains("f1"), Unit::Ratio),
    (Pattern::Contains("precision"), Unit::Ratio),
    (Pattern::Contains("recall"), Unit::Ratio),
];

/// A metric's unit and direction, and why it has that direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The unit.
    pub unit: Unit,
    /// The direction.
    pub better: Direction,
    /// Why: `thresholds file`, `report`, `name: *_per_s`, `no rule matches the name`.
    pub from: String,
}

/// Resolves a metric: a direction from the thresholds file first, then what the source said,
/// then the name rules.
pub fn resolve(name: &str, hint: Hint, overridden: Option<Direction>) -> Resolved {
    let lower = name.to_ascii_lowercase();
    let unit = hint.unit.unwrap_or_else(|| {
        UNIT_RULES.iter().find(|(pattern, _)| pattern.matches(&lower)).map_or(Unit::Number, |&(_, unit)| unit)
    });
    let (better, from) = match (overridden, hint.better) {
        (Some(direction), _) => (direction, "thresholds file".to_owned()),
        (None, Some(direction)) => (direction, "source".to_owned()),
        (None, None) => match DIRECTION_RULES.iter().find(|rule| rule.pattern.matches(&lower)) {
            Some(rule) => (rule.direction, format!("name: {}", rule.pattern.describe())),
            None => (Direction::Info, "no rule matches the name".to_owned()),
        },
    };
    Resolved { unit, better, from }
}

/// A series that never decreases over many samples is a cumulative counter (Lightning's
/// `train/time`, samples seen): its steady state means nothing, so a direction taken from its
/// name does not apply.
pub fn is_cumulative(values: &[f64]) -> bool {
    values.len() >= 8
        && values.windows(2).all(|pair| pair[1] >= pair[0])
        && values.windows(2).filter(|pair| pair[1] > pair[0]).count() * 10 >= (values.len() - 1) * 9
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direction(name: &str) -> Direction {
        resolve(name, Hint::default(), None).better
    }

    /// One case per rule, in table order: each rule fires for its name and decides it.
    #[test]
    fn each_direction_rule_fires_for_its_own_name() {
        let cases = [
            ("_timestamp", Direction::Info),
            ("_runtime", Direction::Info),
            ("trainer/epoch", Direction::Info),
            ("global.step", Direction::Info),
            ("optim/lr", Direction::Info),
            ("learning_rate", Direction::Info),
            ("train/images_per_s", Direction::Higher),
            ("perf/samples_per_sec", Direction::Higher),
            ("Throughput", Direction::Higher),
            ("val/hmean", Direction::Higher),
            ("val/f1", Direction::Higher),
            ("perf/data_wait_ms", Direction::Lower),
            ("epoch_time", Direction::Lower),
            ("train/loss", Direction::Lower),
            ("data_wait", Direction::Lower),
        ];
        assert_eq!(cases.len(), DIRECTION_RULES.len());
        for (rule, (name, expected)) in DIRECTION_RULES.iter().zip(cases) {
            let lower = name.to_ascii_lowercase();
            let first = DIRECTION_RULES.iter().position(|r| r.pattern.matches(&lower));
            assert_eq!(first.map(|i| DIRECTION_RULES[i].pattern), Some(rule.pattern), "{name}");
            assert_eq!(direction(name), expected, "{name}");
        }
        assert_eq!(direction("weight_decay"), Direction::Info);
        assert_eq!(resolve("weight_decay", Hint::default(), None).from, "no rule matches the name");
    }

    #[test]
    fn each_unit_rule_fires_for_its_own_name() {
        let cases = [
            ("images_per_s", Unit::PerSecond),
            ("samples_per_sec", Unit::PerSecond),
            ("throughput", Unit::PerSecond),
            ("step_ms", Unit::Milliseconds),
            ("compute_s", Unit::Seconds),
            ("epoch_sec", Unit::Seconds),
            ("wall_seconds", Unit::Seconds),
            ("rss_bytes", Unit::Bytes),
            ("gpu_percent", Unit::Percent),
            ("util_pct", Unit::Percent),
            ("wait_fraction", Unit::Ratio),
            ("hit_ratio", Unit::Ratio),
            ("hmean", Unit::Ratio),
            ("f1", Unit::Ratio),
            ("precision", Unit::Ratio),
            ("recall", Unit::Ratio),
        ];
        assert_eq!(cases.len(), UNIT_RULES.len());
        for ((pattern, _), (name, unit)) in UNIT_RULES.iter().zip(cases) {
            let first = UNIT_RULES.iter().find(|(p, _)| p.matches(name)).map(|(p, _)| *p);
            assert_eq!(first, Some(*pattern), "{name}");
            assert_eq!(resolve(name, Hint::default(), None).unit, unit, "{name}");
        }
        assert_eq!(resolve("loss", Hint::default(), None).unit, Unit::Number);
    }

    #[test]
    fn overrides_come_before_sources_and_sources_before_names() {
        let hint = Hint::known(Unit::Seconds, Direction::Higher);
        let from_source = resolve("train/loss", hint, None);
        assert_eq!(
            (from_source.better, from_source.unit, from_source.from.as_str()),
            (Direction::Higher, Unit::Seconds, "source")
        );
        let overridden = resolve("train/loss", hint, Some(Direction::Info));
        assert_eq!((overridden.better, overridden.from.as_str()), (Direction::Info, "thresholds file"));
        assert_eq!(resolve("train/loss", Hint::default(), None).from, "name: *loss*");
    }

    #[test]
    fn cumulative_counters() {
        let clock: Vec<f64> = (0..20).map(f64::from).collect();
        assert!(is_cumulative(&clock));
        let mut noisy = clock.clone();
        noisy[10] = 5.0;
        assert!(!is_cumulative(&noisy));
        assert!(!is_cumulative(&[1.0; 20]), "flat is not cumulative");
        assert!(!is_cumulative(&clock[..5]), "too short to tell");
    }
}
