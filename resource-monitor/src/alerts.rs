//! Alert rules (TOML) and their evaluation over the sample stream.
//!
//! A rule names a metric (a `*` matches one dotted part, so `gpu.*.temperature_c` watches every
//! GPU), a comparison and a threshold, and a `for` duration. For each matching metric it fires
//! once when its condition has held for `for`, and resolves once when the condition has been
//! false for `for` again; a value hovering at the threshold therefore cannot flap.
//!
//! ```toml
//! [[rule]]
//! name = "gpu-input-bound"
//! metric = "gpu.*.utilization_percent"
//! op = "<"
//! threshold = 30
//! for = "30s"
//! severity = "warning"
//! message = "GPU under 30% for 30 s while the job runs: input-bound?"
//! while_process = true
//! ```

use std::{collections::HashMap, path::Path, time::Duration};

use metrics_schema::{AlertEvent, AlertState, HumanDuration, Severity};
use serde::Deserialize;

use crate::Error;

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Comparison {
    /// `>`
    #[serde(rename = ">")]
    Above,
    /// `>=`
    #[serde(rename = ">=")]
    AtLeast,
    /// `<`
    #[serde(rename = "<")]
    Below,
    /// `<=`
    #[serde(rename = "<=")]
    AtMost,
}

impl Comparison {
    fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Above => value > threshold,
            Comparison::AtLeast => value >= threshold,
            Comparison::Below => value < threshold,
            Comparison::AtMost => value <= threshold,
        }
    }
}

/// One alert rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Identifies the rule in events.
    pub name: String,
    /// Metric name, `*` matching one dotted part.
    pub metric: String,
    /// How the value is compared.
    pub op: Comparison,
    /// The threshold.
    pub threshold: f64,
    /// How long the condition must hold (and then not hold) before the alert fires (resolves).
    #[serde(rename = "for", default = "zero")]
    pub hold: HumanDuration,
    /// `info`, `warning` or `critical`.
    #[serde(default = "warning")]
    pub severity: Severity,
    /// What it means, for people.
    pub message: String,
    /// Only while the watched process runs (the condition is false otherwise).
    #[serde(default)]
    pub while_process: bool,
}

fn zero() -> HumanDuration {
    HumanDuration(Duration::ZERO)
}

fn warning() -> Severity {
    Severity::Warning
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rule: Vec<Rule>,
}

/// Why rules text is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RulesError {
    /// TOML syntax, an unknown field, a missing one, or a value of the wrong kind.
    #[error("line {line}: {message}")]
    AtLine {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A problem with no line to point at.
    #[error("{0}")]
    Whole(String),
    /// A rule's threshold is not a finite number.
    #[error("rule `{rule}`: threshold must be a finite number")]
    Threshold {
        /// The rule.
        rule: String,
    },
}

/// Reads rules from a TOML file: `[[rule]]` tables.
///
/// # Errors
/// [`Error::Io`], or [`Error::Rules`] with the line (and for text that is not UTF-8, the line
/// and column of the first bad byte).
pub fn load_rules(path: &Path) -> Result<Vec<Rule>, Error> {
    let rules_error = |message: String| Error::Rules { path: path.to_owned(), message };
    let text = metrics_schema::text::read_text(path, metrics_schema::text::MAX_TEXT_FILE).map_err(|err| match err {
        metrics_schema::text::TextError::Io(cause) => Error::Io { path: path.to_owned(), cause },
        other => rules_error(other.to_string()),
    })?;
    parse_rules(&text).map_err(|err| rules_error(err.to_string()))
}

/// Parses rules from TOML text.
///
/// # Errors
/// [`RulesError`], naming the line where there is one.
pub fn parse_rules(text: &str) -> Result<Vec<Rule>, RulesError> {
    let file: RulesFile = toml::from_str(text).map_err(|err| {
        let message = err.message().to_owned();
        match err.span() {
            Some(span) => RulesError::AtLine { line: text[..span.start].lines().count().max(1), message },
            None => RulesError::Whole(message),
        }
    })?;
    if let Some(rule) = file.rule.iter().find(|rule| !rule.threshold.is_finite()) {
        return Err(RulesError::Threshold { rule: rule.name.clone() });
    }
    Ok(file.rule)
}

/// The built-in rules (`default_rules.toml`, parsed like any rules file); the README gives
/// where each number comes from.
pub fn default_rules() -> Vec<Rule> {
    // A test parses this file, so it cannot fail here.
    parse_rules(include_str!("default_rules.toml")).unwrap_or_default()
}

/// The rules a monitor runs, with what to tell the user about them before it starts: a TOML
/// file's rules and their [`rule_warnings`], each naming the file (`rules.toml: rule ...`), or
/// without a file the built-in rules (no warnings). What both front ends call for `--alerts`
/// and `rules=`.
///
/// # Errors
/// As [`load_rules`].
pub fn rules_with_warnings(path: Option<&Path>) -> Result<(Vec<Rule>, Vec<String>), Error> {
    let Some(path) = path else { return Ok((default_rules(), Vec::new())) };
    let rules = load_rules(path)?;
    let warnings = rule_warnings(&rules).into_iter().map(|warning| format!("{}: {warning}", path.display())).collect();
    Ok((rules, warnings))
}

/// What to tell the user about a rules file before the monitor starts: no rules at all (the
/// built-in ones are then off too), and rules whose metric pattern can match no metric the
/// monitor records (a typo such as `host.cpu_prcent`).
pub fn rule_warnings(rules: &[Rule]) -> Vec<String> {
    if rules.is_empty() {
        return vec![
            "the rules file has no [[rule]] tables: no alert can fire (without --alerts the built-in \
                     rules apply)"
                .to_owned(),
        ];
    }
    rules
        .iter()
        .filter(|rule| !metrics_schema::MONITOR_METRICS.iter().any(|known| patterns_overlap(&rule.metric, known)))
        .map(|rule| {
            format!(
                "rule `{}`: metric `{}` matches nothing the monitor records (see `ocrperf monitor --help`; \
                 names look like host.cpu_percent, gpu.*.utilization_percent)",
                rule.name, rule.metric
            )
        })
        .collect()
}

/// Whether a rule's pattern and a known metric template (both with `*` for one dotted part)
/// can name the same metric.
pub(crate) fn patterns_overlap(pattern: &str, template: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (pattern.split('.').collect(), template.split('.').collect());
    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x == y || *x == "*" || *y == "*")
}

/// Evaluates rules sample by sample.
#[derive(Debug)]
pub struct AlertEngine {
    rules: Vec<Rule>,
    /// Per (rule index, metric): the state of that alert.
    states: HashMap<(usize, String), AlertStatus>,
}

#[derive(Debug, Default, Clone, Copy)]
struct AlertStatus {
    firing: bool,
    /// When the condition (if not firing) or its negation (if firing) started to hold.
    since_ms: Option<u64>,
}

impl AlertEngine {
    /// An engine over these rules.
    pub fn new(rules: Vec<Rule>) -> AlertEngine {
        AlertEngine { rules, states: HashMap::new() }
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Feeds one sample's metrics; returns the alerts that fired or resolved at it.
    /// `process_running` gates `while_process` rules.
    pub fn observe(&mut self, t_ms: u64, i: u64, metrics: &[(String, f64)], process_running: bool) -> Vec<AlertEvent> {
        let mut events = Vec::new();
        for (index, rule) in self.rules.iter().enumerate() {
            for (name, value) in metrics.iter().filter(|(name, _)| metric_matches(&rule.metric, name)) {
                let condition = rule.op.holds(*value, rule.threshold) && (!rule.while_process || process_running);
                let status = self.states.entry((index, name.clone())).or_default();
                // Fires when the condition has held for `for`; resolves when it has not for `for`.
                let changing = condition != status.firing;
                if !changing {
                    status.since_ms = None;
                    continue;
                }
                let since = *status.since_ms.get_or_insert(t_ms);
                if t_ms.saturating_sub(since) as u128 >= rule.hold.get().as_millis() {
                    status.firing = condition;
                    status.since_ms = None;
                    events.push(AlertEvent {
                        t_ms,
                        i,
                        rule: rule.name.clone(),
                        metric: name.clone(),
                        state: if condition { AlertState::Firing } else { AlertState::Resolved },
                        severity: rule.severity,
                        message: rule.message.clone(),
                        value: *value,
                    });
                }
            }
        }
        events
    }

    /// How many alerts are firing now.
    pub fn active(&self) -> usize {
        self.states.values().filter(|status| status.firing).count()
    }

    /// Firing alerts as (rule, metric), for the Prometheus `ocrperf_alert_active` gauge.
    pub fn active_alerts(&self) -> Vec<(String, String)> {
        let mut active: Vec<(String, String)> = self
            .states
            .iter()
            .filter(|(_, status)| status.firing)
            .map(|((index, metric), _)| (self.rules[*index].name.clone(), metric.clone()))
            .collect();
        active.sort();
        active
    }
}

/// Whether metric `name` matches `pattern`, where `*` stands for exactly one dotted part
/// (`gpu.*.power_w` matches `gpu.0.power_w`, not `gpu.0.power_limit_w`): the one matcher of
/// alert rules and of the figures a front end selects ([`crate::select_metrics`]).
pub fn metric_matches(pattern: &str, name: &str) -> bool {
    let mut parts = name.split('.');
    for want in pattern.split('.') {
        match parts.next() {
            Some(part) if want == "*" || want == part => {}
            _ => return false,
        }
    }
    parts.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(op: Comparison, threshold: f64, hold_s: u64) -> AlertEngine {
        AlertEngine::new(vec![Rule {
            name: "r".to_owned(),
            metric: "gpu.*.utilization_percent".to_owned(),
            op,
            threshold,
            hold: HumanDuration(Duration::from_secs(hold_s)),
            severity: Severity::Warning,
            message: "m".to_owned(),
            while_process: false,
        }])
    }

    /// Feeds one value per second; returns (second, state) of each event.
    fn run(engine: &mut AlertEngine, values: &[f64]) -> Vec<(u64, AlertState)> {
        values
            .iter()
            .enumerate()
            .flat_map(|(second, &value)| {
                let metrics = vec![("gpu.0.utilization_percent".to_owned(), value)];
                engine.observe(second as u64 * 1000, second as u64, &metrics, true)
            })
            .map(|event| (event.t_ms / 1000, event.state))
            .collect()
    }

    #[test]
    fn fires_after_for_not_before_and_resolves_once() {
        let mut low = engine(Comparison::Below, 30.0, 5);
        // Low from second 2; fires at second 7 (held 5 s), not at 6.
        let values = [90.0, 90.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 80.0, 80.0, 80.0, 80.0, 80.0, 80.0, 80.0];
        assert_eq!(run(&mut low, &values), vec![(7, AlertState::Firing), (14, AlertState::Resolved)]);
        assert_eq!(low.active(), 0);
    }

    #[test]
    fn a_value_at_the_threshold_does_not_flap() {
        let mut low = engine(Comparison::Below, 30.0, 3);
        // Alternating around the threshold never holds for 3 s: nothing fires.
        let jitter: Vec<f64> = (0..40).map(|i| if i % 2 == 0 { 29.9 } else { 30.0 }).collect();
        assert_eq!(run(&mut low, &jitter), vec![]);
        // Once firing, a single good second does not resolve it.
        let mut values = vec![10.0; 5];
        values.extend([50.0, 10.0, 50.0, 10.0, 50.0, 10.0]);
        assert_eq!(run(&mut low, &values), vec![(3, AlertState::Firing)]);
        assert_eq!(low.active_alerts(), vec![("r".to_owned(), "gpu.0.utilization_percent".to_owned())]);
    }

    #[test]
    fn zero_for_fires_at_once_and_gates_on_the_process() {
        let mut hot = engine(Comparison::AtLeast, 85.0, 0);
        assert_eq!(run(&mut hot, &[80.0, 85.0, 84.0]), vec![(1, AlertState::Firing), (2, AlertState::Resolved)]);
        let mut gated = AlertEngine::new(default_rules());
        let metrics = vec![("gpu.0.utilization_percent".to_owned(), 5.0)];
        for second in 0..60 {
            assert!(gated.observe(second * 1000, second, &metrics, false).is_empty());
        }
        let fired: Vec<AlertEvent> = (60..100).flat_map(|s| gated.observe(s * 1000, s, &metrics, true)).collect();
        assert_eq!(fired.len(), 1);
        assert_eq!((fired[0].rule.as_str(), fired[0].t_ms), ("gpu-input-bound", 90_000));
    }

    #[test]
    fn wildcards_match_one_part() {
        assert!(metric_matches("gpu.*.temperature_c", "gpu.3.temperature_c"));
        assert!(!metric_matches("gpu.*.temperature_c", "gpu.3.x.temperature_c"));
        assert!(!metric_matches("gpu.*", "gpu.3.temperature_c"));
        assert!(metric_matches("host.cpu_percent", "host.cpu_percent"));
    }

    #[test]
    fn the_built_in_rules_are_a_rules_file_like_any_other() {
        let rules = parse_rules(include_str!("default_rules.toml")).unwrap();
        assert_eq!(rules, default_rules());
        assert_eq!(rules.len(), 8);
        assert!(rule_warnings(&rules).is_empty(), "{:?}", rule_warnings(&rules));
        let hot = rules.iter().find(|rule| rule.name == "gpu-hot").unwrap();
        assert_eq!((hot.op, hot.threshold, hot.severity), (Comparison::AtLeast, 85.0, Severity::Critical));
    }

    #[test]
    fn typos_in_metric_patterns_and_empty_files_are_warned_about() {
        let rules = parse_rules(
            "[[rule]]\nname = \"typo\"\nmetric = \"host.cpu_prcent\"\nop = \">\"\nthreshold = 1\nmessage = \"m\"\n\
             [[rule]]\nname = \"ok\"\nmetric = \"disk.*.busy_percent\"\nop = \">\"\nthreshold = 1\nmessage = \"m\"\n\
             [[rule]]\nname = \"any gpu field\"\nmetric = \"gpu.0.*\"\nop = \">\"\nthreshold = 1\nmessage = \"m\"\n",
        )
        .unwrap();
        let warnings = rule_warnings(&rules);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("rule `typo`: metric `host.cpu_prcent` matches nothing"), "{warnings:?}");
        let empty = parse_rules("# nothing yet\n").unwrap();
        assert!(rule_warnings(&empty)[0].contains("no alert can fire"));
    }

    #[test]
    #[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
    fn a_rules_file_comes_with_its_warnings_naming_it() {
        let (rules, warnings) = rules_with_warnings(None).unwrap();
        assert_eq!((rules, warnings), (default_rules(), Vec::<String>::new()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.toml");
        std::fs::write(
            &path,
            "[[rule]]\nname = \"typo\"\nmetric = \"gpu.*\"\nop = \">\"\nthreshold = 1\nmessage = \"m\"\n",
        )
        .unwrap();
        let (rules, warnings) = rules_with_warnings(Some(&path)).unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(
            warnings,
            [format!(
                "{}: rule `typo`: metric `gpu.*` matches nothing the monitor records (see `ocrperf monitor --help`; names look like host.cpu_percent, gpu.*.utilization_percent)",
                path.display()
            )]
        );
        assert!(matches!(rules_with_warnings(Some(&dir.path().join("absent.toml"))), Err(Error::Io { .. })));
    }

    #[test]
    fn every_metric_a_sample_records_is_a_known_template() {
        let sample: metrics_schema::MonitorSample =
            serde_json::from_str(include_str!("../tests/data/full_sample.json")).unwrap();
        for (name, _) in sample.metrics() {
            assert!(
                metrics_schema::MONITOR_METRICS.iter().any(|known| patterns_overlap(&name, known)),
                "{name} is missing from MONITOR_METRICS"
            );
        }
    }

    #[test]
    fn rules_files_parse_and_errors_name_the_line() {
        let rules = parse_rules(
            "[[rule]]\nname = \"hot\"\nmetric = \"gpu.*.temperature_c\"\nop = \">=\"\nthreshold = 80\nfor = \"2m\"\nmessage = \"hot\"\n",
        )
        .unwrap();
        assert_eq!(rules[0].hold.get(), Duration::from_secs(120));
        assert_eq!(rules[0].severity, Severity::Warning);
        let err = parse_rules("[[rule]]\nname = \"x\"\nmetric = \"m\"\nop = \"=\"\nthreshold = 1\nmessage = \"m\"\n")
            .unwrap_err();
        assert!(matches!(err, RulesError::AtLine { line: 4, .. }), "{err}");
        let err = parse_rules(
            "[[rule]]\nname = \"x\"\nmetric = \"m\"\nop = \">\"\nthreshold = 1\nmessage = \"m\"\nsevertiy = \"info\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("severtiy"), "{err}");
        let err = parse_rules(
            "[[rule]]\nname = \"x\"\nmetric = \"m\"\nop = \">\"\nthreshold = 1\nmessage = \"m\"\nseverity = \"loud\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("line 7:") && err.contains("`info`, `warning`"), "{err}");
        assert!(
            parse_rules(
                "[[rule]]\nname = \"x\"\nmetric = \"m\"\nop = \">\"\nthreshold = 1\nfor = \"5\"\nmessage = \"m\"\n"
            )
            .is_err()
        );
    }
}
