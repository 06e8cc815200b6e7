//! The thresholds file (`perf/thresholds.toml`): the gate's settings and per-metric rules.
//!
//! ```toml
//! threshold = "5%"            # a change counts beyond a factor of 1.05 either way
//! alpha = 0.01                # significance level of the rank tests
//! require_same_host = false   # true: runs on differently named hosts are not comparable
//! warmup = "auto"             # or a sample count (20) or a fraction (0.1, "10%")
//!
//! [[metric]]
//! name = "perf/*"             # glob: `*` any characters, `?` one, `[abc]` a set
//! threshold = "3%"
//! noise_floor = 0.2           # smallest absolute change that counts, in the metric's unit
//! direction = "higher"        # higher, lower or info (never gated)
//!
//! [[metric]]
//! name = "system/*"
//! ignore = true
//! ```
//!
//! Every `[[metric]]` whose glob matches applies, in file order: a later one overrides the
//! fields it sets.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use metrics_schema::{Direction, Unit};
use serde::Deserialize;
use toml::Spanned;

use crate::{Error, Warmup};

/// The relative change that counts by default: 5%.
pub const DEFAULT_THRESHOLD: f64 = 0.05;
/// The default significance level.
pub const DEFAULT_ALPHA: f64 = 0.01;

/// The gate's settings and per-metric rules.
#[derive(Debug, Clone)]
pub struct Thresholds {
    /// The default relative threshold.
    pub threshold: f64,
    /// Significance level of the rank tests (their confidence intervals are at `1 − alpha`).
    pub alpha: f64,
    /// Whether differently named hosts make runs not comparable.
    pub require_same_host: bool,
    /// The warm-up rule, when the file sets one.
    pub warmup: Option<Warmup>,
    /// Per-metric rules, in file order.
    pub rules: Vec<MetricRule>,
    /// Where the settings came from.
    pub path: Option<PathBuf>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            threshold: DEFAULT_THRESHOLD,
            alpha: DEFAULT_ALPHA,
            require_same_host: false,
            warmup: None,
            rules: Vec::new(),
            path: None,
        }
    }
}

/// One `[[metric]]` table.
#[derive(Debug, Clone)]
pub struct MetricRule {
    /// The glob as written.
    pub pattern: String,
    matcher: GlobMatcher,
    /// Relative threshold.
    pub threshold: Option<f64>,
    /// Absolute noise floor.
    pub noise_floor: Option<f64>,
    /// Direction override.
    pub direction: Option<Direction>,
    /// Never gate.
    pub ignore: Option<bool>,
}

/// The settings that apply to one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSettings {
    /// Relative threshold.
    pub threshold: f64,
    /// Whether a `[[metric]]` rule set the threshold (rather than the default).
    pub threshold_set: bool,
    /// Absolute noise floor, when the file sets one (else the unit's default).
    pub noise_floor: Option<f64>,
    /// Direction override.
    pub direction: Option<Direction>,
    /// Never gate.
    pub ignore: bool,
}

impl Thresholds {
    /// The settings for `name`.
    pub fn for_metric(&self, name: &str) -> MetricSettings {
        let threshold = if is_tail(name) { self.threshold * TAIL_FACTOR } else { self.threshold };
        let mut settings =
            MetricSettings { threshold, threshold_set: false, noise_floor: None, direction: None, ignore: false };
        for rule in self.rules.iter().filter(|rule| rule.matcher.is_match(name)) {
            settings.threshold_set |= rule.threshold.is_some();
            settings.threshold = rule.threshold.unwrap_or(settings.threshold);
            settings.noise_floor = rule.noise_floor.or(settings.noise_floor);
            settings.direction = rule.direction.or(settings.direction);
            settings.ignore = rule.ignore.unwrap_or(settings.ignore);
        }
        settings
    }

    /// Reads a thresholds file.
    ///
    /// # Errors
    /// [`Error::Io`], or [`Error::Thresholds`] naming the line of a syntax error, an unknown
    /// key, a bad glob or an out-of-range value.
    pub fn read(path: &Path) -> Result<Thresholds, Error> {
        let text = std::fs::read_to_string(path).map_err(|cause| Error::io(path, cause))?;
        Thresholds::parse(&text, path)
    }

    /// Parses a thresholds file's text; `path` is for messages.
    ///
    /// # Errors
    /// As [`Thresholds::read`].
    pub fn parse(text: &str, path: &Path) -> Result<Thresholds, Error> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() as u64 + 1;
        let fail = |offset: usize, message: String| Error::Thresholds {
            path: path.to_owned(),
            line: line_of(offset),
            message,
        };
        let raw: RawFile = toml::from_str(text).map_err(|err| {
            let offset = err.span().map_or(0, |span| span.start);
            fail(offset, err.message().trim().replace('\n', " "))
        })?;
        let mut thresholds = Thresholds { path: Some(path.to_owned()), ..Thresholds::default() };
        if let Some(value) = raw.threshold {
            thresholds.threshold = relative(&value).map_err(|message| fail(value.span().start, message))?;
        }
        if let Some(alpha) = raw.alpha {
            let value = *alpha.get_ref();
            if !(value > 0.0 && value <= 0.5) {
                return Err(fail(alpha.span().start, format!("alpha {value} must be above 0 and at most 0.5")));
            }
            thresholds.alpha = value;
        }
        thresholds.require_same_host = raw.require_same_host.unwrap_or(false);
        if let Some(warmup) = raw.warmup {
            let text = match warmup.get_ref() {
                toml::Value::String(text) => text.clone(),
                toml::Value::Integer(count) => count.to_string(),
                toml::Value::Float(fraction) => fraction.to_string(),
                other => other.to_string(),
            };
            thresholds.warmup = Some(text.parse().map_err(|err: Error| fail(warmup.span().start, err.to_string()))?);
        }
        for rule in raw.metric {
            let start = rule.name.span().start;
            let pattern = rule.name.into_inner();
            let matcher = GlobBuilder::new(&pattern)
                .literal_separator(false)
                .build()
                .map_err(|err| fail(start, format!("bad glob `{pattern}`: {}", err.kind())))?
                .compile_matcher();
            let threshold = rule
                .threshold
                .map(|value| relative(&value).map_err(|message| fail(value.span().start, message)))
                .transpose()?;
            let noise_floor = match rule.noise_floor {
                Some(floor) if !(floor.get_ref().is_finite() && *floor.get_ref() >= 0.0) => {
                    return Err(fail(
                        floor.span().start,
                        format!("noise_floor {} must be a number ≥ 0", floor.get_ref()),
                    ));
                }
                floor => floor.map(Spanned::into_inner),
            };
            let direction = match rule.direction {
                Some(direction) => Some(match direction.get_ref().as_str() {
                    "higher" => Direction::Higher,
                    "lower" => Direction::Lower,
                    "info" => Direction::Info,
                    other => {
                        return Err(fail(
                            direction.span().start,
                            format!("direction `{other}`: write higher, lower or info"),
                        ));
                    }
                }),
                None => None,
            };
            thresholds.rules.push(MetricRule {
                pattern,
                matcher,
                threshold,
                noise_floor,
                direction,
                ignore: rule.ignore,
            });
        }
        Ok(thresholds)
    }
}

/// `"5%"` or `0.05`; a bare number of 1 or more is refused as ambiguous.
fn relative(value: &Spanned<toml::Value>) -> Result<f64, String> {
    let parsed = match value.get_ref() {
        toml::Value::String(text) => match text.trim().strip_suffix('%') {
            Some(percent) => percent
                .trim()
                .parse::<f64>()
                .map(|p| p / 100.0)
                .map_err(|_| format!("threshold `{text}` is not a percentage"))?,
            None => return Err(format!("threshold `{text}`: write it as a percentage (\"5%\") or a fraction (0.05)")),
        },
        // Zero is not ambiguous, it is no threshold: advice to write "0%" would be refused next.
        toml::Value::Integer(0) => return Err(zero_threshold()),
        toml::Value::Float(fraction) if *fraction == 0.0 => return Err(zero_threshold()),
        toml::Value::Float(fraction) if *fraction >= 1.0 => return Err(ambiguous(*fraction)),
        toml::Value::Integer(number) => return Err(ambiguous(*number as f64)),
        toml::Value::Float(fraction) => *fraction,
        other => return Err(format!("threshold {other}: write a percentage (\"5%\") or a fraction (0.05)")),
    };
    if parsed == 0.0 {
        return Err(zero_threshold());
    }
    if parsed.is_finite() && parsed > 0.0 && parsed < 10.0 {
        Ok(parsed)
    } else {
        Err(format!("threshold {}% must be above 0% and below 1000%", metrics_schema::format_number(parsed * 100.0)))
    }
}

fn zero_threshold() -> String {
    "threshold 0 would count every change, however small, as beyond it: give a small percentage instead (\"1%\")"
        .to_owned()
}

/// A bare number of 1 or more: a percentage or a fraction? Only advice that would be accepted.
fn ambiguous(number: f64) -> String {
    let shown = metrics_schema::format_number(number);
    if number > 0.0 && number < 1000.0 {
        format!(
            "threshold {shown} is ambiguous: write \"{shown}%\" or {}",
            metrics_schema::format_number(number / 100.0)
        )
    } else {
        format!(
            "threshold {shown} is ambiguous and out of range: a threshold is above 0% and below 1000% (\"5%\" or 0.05)"
        )
    }
}

/// Tail figures get this many times the default threshold.
pub const TAIL_FACTOR: f64 = 4.0;

/// Whether `name` is a tail figure of a distribution (`p95`, `p99`, `max`): one run's tail moves
/// far more between unchanged runs than its middle (the built-in workload's batch time over 20
/// unchanged runs: p95 from 20.2 to 24.3 ms, the median within 0.1%). A tail with one value a
/// side is therefore not judged unless the thresholds file sets its threshold; with repeated
/// runs it is, at [`TAIL_FACTOR`] times the threshold.
pub fn is_tail(name: &str) -> bool {
    crate::direction::tokens(name).iter().any(|part| matches!(part.as_str(), "p95" | "p99" | "p999" | "max"))
}

/// The smallest absolute difference that counts, when the thresholds file sets none: changes
/// below a unit's resolution in practice are noise however large they are relatively (a data
/// wait of 0.1 ms becoming 0.2 ms is +100% and means nothing).
pub fn default_noise_floor(unit: Unit) -> f64 {
    match unit {
        Unit::Milliseconds => 0.5,
        Unit::Seconds => 0.000_5,
        Unit::Microseconds => 500.0,
        // Shares of time (a data-wait fraction) move by a few points on a busy machine: the
        // built-in workload's went from 4.5% to 7.3% of batch time, unchanged, with both cores
        // contended. Five points is also the throughput verdict's first band.
        Unit::Ratio => 0.05,
        Unit::Percent => 1.0,
        Unit::Bytes => 1_048_576.0,
        Unit::Celsius => 1.0,
        Unit::Watts => 5.0,
        _ => 0.0,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    threshold: Option<Spanned<toml::Value>>,
    alpha: Option<Spanned<f64>>,
    require_same_host: Option<bool>,
    warmup: Option<Spanned<toml::Value>>,
    #[serde(default)]
    metric: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Spanned<String>,
    threshold: Option<Spanned<toml::Value>>,
    noise_floor: Option<Spanned<f64>>,
    direction: Option<Spanned<String>>,
    ignore: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Thresholds, String> {
        Thresholds::parse(text, Path::new("perf/thresholds.toml")).map_err(|err| err.to_string())
    }

    #[test]
    fn later_rules_override_earlier_ones() {
        let thresholds = parse(
            "threshold = \"4%\"\nalpha = 0.05\nrequire_same_host = true\nwarmup = 20\n\n\
             [[metric]]\nname = \"perf/*\"\nthreshold = 0.03\nnoise_floor = 0.2\n\n\
             [[metric]]\nname = \"perf/data_wait_ms\"\ndirection = \"info\"\n\n\
             [[metric]]\nname = \"system/**\"\nignore = true\n",
        )
        .unwrap();
        assert_eq!((thresholds.threshold, thresholds.alpha, thresholds.require_same_host), (0.04, 0.05, true));
        assert_eq!(thresholds.warmup, Some(Warmup::Samples(20)));
        let wait = thresholds.for_metric("perf/data_wait_ms");
        assert_eq!(
            wait,
            MetricSettings {
                threshold: 0.03,
                threshold_set: true,
                noise_floor: Some(0.2),
                direction: Some(Direction::Info),
                ignore: false
            }
        );
        assert_eq!(thresholds.for_metric("perf/samples_per_sec").direction, None);
        assert!(thresholds.for_metric("system/gpu.0.gpu").ignore);
        assert_eq!(thresholds.for_metric("train/loss").threshold, 0.04);
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("threshold = 5\n", "perf/thresholds.toml:1: threshold 5 is ambiguous: write \"5%\" or 0.05"),
            (
                "threshold = 0\n",
                "perf/thresholds.toml:1: threshold 0 would count every change, however small, as beyond it: give a \
                 small percentage instead (\"1%\")",
            ),
            (
                "threshold = \"0%\"\n",
                "perf/thresholds.toml:1: threshold 0 would count every change, however small, as beyond it: give a \
                 small percentage instead (\"1%\")",
            ),
            (
                "threshold = 5000\n",
                "perf/thresholds.toml:1: threshold 5000 is ambiguous and out of range: a threshold is above 0% and \
                 below 1000% (\"5%\" or 0.05)",
            ),
            (
                "threshold = \"fast\"\n",
                "perf/thresholds.toml:1: threshold `fast`: write it as a percentage (\"5%\") or a fraction (0.05)",
            ),
            ("alpha = 0.9\n", "perf/thresholds.toml:1: alpha 0.9 must be above 0 and at most 0.5"),
            (
                "\n[[metric]]\nname = \"a[\"\n",
                "perf/thresholds.toml:3: bad glob `a[`: unclosed character class; missing ']'",
            ),
            (
                "[[metric]]\nname = \"a\"\ndirection = \"up\"\n",
                "perf/thresholds.toml:3: direction `up`: write higher, lower or info",
            ),
            (
                "[[metric]]\nname = \"a\"\nnoise_floor = -1.0\n",
                "perf/thresholds.toml:3: noise_floor -1 must be a number ≥ 0",
            ),
            (
                "warmup = \"soon\"\n",
                "perf/thresholds.toml:1: warm-up `soon`: give `auto`, a sample count (20) or a fraction (0.1 or 10%)",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).unwrap_err(), expected, "{text}");
        }
        let unknown = parse("treshold = \"5%\"\n").unwrap_err();
        assert!(unknown.starts_with("perf/thresholds.toml:1: unknown field `treshold`"), "{unknown}");
        let syntax = parse("threshold = \n").unwrap_err();
        assert!(syntax.starts_with("perf/thresholds.toml:1: "), "{syntax}");
        assert!(!syntax.contains('\n'));
    }

    #[test]
    fn tails_get_a_wider_threshold() {
        let thresholds = Thresholds::default();
        for tail in ["throughput.batch_time_ms.p95", "trace.steps.p95_ms", "latency_p99", "step.max"] {
            assert!(is_tail(tail), "{tail}");
            assert!((thresholds.for_metric(tail).threshold - 0.20).abs() < 1e-12, "{tail}");
        }
        for middle in ["throughput.batch_time_ms.p50", "maximum_batch", "perf/step_time_ms", "p95x"] {
            assert!(!is_tail(middle), "{middle}");
        }
        // A threshold the file sets for the metric wins.
        let set = Thresholds::parse("[[metric]]\nname = \"*.p95\"\nthreshold = \"8%\"\n", Path::new("t")).unwrap();
        assert_eq!(set.for_metric("a.p95").threshold, 0.08);
    }

    #[test]
    fn noise_floors_by_unit() {
        assert_eq!(default_noise_floor(Unit::Milliseconds), 0.5);
        assert_eq!(default_noise_floor(Unit::Seconds) * 1000.0, 0.5);
        assert_eq!(default_noise_floor(Unit::Microseconds) / 1000.0, 0.5);
        assert_eq!(default_noise_floor(Unit::PerSecond), 0.0);
    }
}
