//! Which way a metric improves, and its unit, when the source does not say.
//!
//! ocrperf reports carry their own `better`; a tracker's series is just a name. The name is
//! split into tokens ([`tokens`]: at `/`, `_`, `.`, `-`, any other punctuation, and camelCase
//! boundaries), and the tables below match whole tokens, first match wins, so that `bf16` is
//! never read as `f1` and `forward_runtime_ms` is a time. The thresholds file overrides them.
//!
//! Model quality (`loss`, `acc`, `f1`, `hmean`, `precision`, `recall`, `map`) is described in a
//! baseline but not gated: it is not a performance figure. A thresholds file that sets such a
//! metric's threshold gates it in its own direction ([`quality_direction`]).

use metrics_schema::{Direction, Unit};

use crate::Hint;

/// Splits a metric name into lower-case tokens: at every character that is not a letter or a
/// digit, and where a lower-case letter or digit is followed by an upper-case one
/// (`stepTimeMs`; but `mAP` is one word), or an upper-case run ends before a lower-case letter
/// (`GPUUtil`). Digits
/// stay with their letters (`bf16`, `p95`, `f1`).
pub fn tokens(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if c.is_uppercase() && !current.is_empty() {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            // A one-letter lower-case start stays with its capitals: `mAP`, not `m` + `ap`.
            let camel = (previous.is_lowercase() && current.chars().count() > 1) || previous.is_ascii_digit();
            if camel || (previous.is_uppercase() && next_is_lower) {
                out.push(std::mem::take(&mut current));
            }
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// How a rule matches a metric name's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// Some token is exactly this.
    Token(&'static str),
    /// These tokens stand next to each other, in order (`per`, `s`).
    Tokens(&'static [&'static str]),
    /// The last token is exactly this.
    LastToken(&'static str),
    /// The whole name, lower-cased, is exactly this (a tracker's own key).
    Name(&'static str),
    /// The name ends with `/` and this after something else (`samples/s`, `global_step/sec`):
    /// a rate written the way people write one.
    PerSlash(&'static str),
}

impl Pattern {
    /// Whether a name with these `tokens` (and lower-cased `name`) matches.
    pub fn matches(self, tokens: &[String], name: &str) -> bool {
        match self {
            Pattern::Token(token) => tokens.iter().any(|t| t == token),
            Pattern::Tokens(sequence) => {
                tokens.windows(sequence.len()).any(|window| window.iter().zip(sequence).all(|(t, s)| t == s))
            }
            Pattern::LastToken(token) => tokens.last().is_some_and(|t| t == token),
            Pattern::Name(exact) => name == exact,
            Pattern::PerSlash(unit) => {
                name.strip_suffix(unit).and_then(|rest| rest.strip_suffix('/')).is_some_and(|rest| !rest.is_empty())
            }
        }
    }

    /// As shown in reports: `token ms`, `tokens per s`, `last token epoch`, `name _runtime`.
    pub fn describe(self) -> String {
        match self {
            Pattern::Token(token) => format!("token `{token}`"),
            Pattern::Tokens(sequence) => format!("tokens `{}`", sequence.join(" ")),
            Pattern::LastToken(token) => format!("last token `{token}`"),
            Pattern::Name(exact) => format!("name `{exact}`"),
            Pattern::PerSlash(unit) => format!("ends `/{unit}`"),
        }
    }

    /// The tokens this pattern asks for (for the property that no rule matches inside a token).
    pub fn words(self) -> Vec<&'static str> {
        match self {
            Pattern::Token(token) | Pattern::LastToken(token) => vec![token],
            Pattern::Tokens(sequence) => sequence.to_vec(),
            Pattern::Name(_) | Pattern::PerSlash(_) => Vec::new(),
        }
    }
}

/// What a name rule says about a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// A counter, a clock or a setting: described, never gated.
    Info,
    /// A rate: higher is better.
    Throughput,
    /// A time: lower is better.
    Time,
    /// Model quality, better in the given direction, but not a performance figure: described,
    /// gated only when the thresholds file sets its threshold.
    Quality(Direction),
}

/// One rule of [`DIRECTION_RULES`].
#[derive(Debug, Clone, Copy)]
pub struct DirectionRule {
    /// What it matches.
    pub pattern: Pattern,
    /// What a match means.
    pub meaning: Meaning,
}

const fn rule(pattern: Pattern, meaning: Meaning) -> DirectionRule {
    DirectionRule { pattern, meaning }
}

/// Direction from a tracker metric's name. Clocks come first, so that `_timestamp` is not a
/// time; rates before times, so that `samples_per_s` is a rate; times before counters and
/// settings, so that `ms/step` and `lr_sched_time_ms` are times; quality last, so that
/// `map_time_ms` is a time.
pub const DIRECTION_RULES: &[DirectionRule] = &[
    // W&B's `_runtime` is the wall clock since the run started, not a time per anything.
    rule(Pattern::Name("_runtime"), Meaning::Info),
    rule(Pattern::Token("timestamp"), Meaning::Info),
    rule(Pattern::Token("throughput"), Meaning::Throughput),
    rule(Pattern::Token("fps"), Meaning::Throughput),
    rule(Pattern::Tokens(&["per", "s"]), Meaning::Throughput),
    rule(Pattern::Tokens(&["per", "sec"]), Meaning::Throughput),
    rule(Pattern::Tokens(&["per", "second"]), Meaning::Throughput),
    rule(Pattern::Tokens(&["it", "s"]), Meaning::Throughput),
    rule(Pattern::PerSlash("s"), Meaning::Throughput),
    rule(Pattern::PerSlash("sec"), Meaning::Throughput),
    rule(Pattern::PerSlash("second"), Meaning::Throughput),
    rule(Pattern::Token("ms"), Meaning::Time),
    rule(Pattern::Token("s"), Meaning::Time),
    rule(Pattern::Token("us"), Meaning::Time),
    rule(Pattern::Token("sec"), Meaning::Time),
    rule(Pattern::Token("seconds"), Meaning::Time),
    rule(Pattern::Token("time"), Meaning::Time),
    rule(Pattern::Token("runtime"), Meaning::Time),
    rule(Pattern::Token("latency"), Meaning::Time),
    rule(Pattern::Token("duration"), Meaning::Time),
    rule(Pattern::Token("wait"), Meaning::Time),
    rule(Pattern::LastToken("epoch"), Meaning::Info),
    rule(Pattern::LastToken("step"), Meaning::Info),
    rule(Pattern::Token("lr"), Meaning::Info),
    rule(Pattern::Tokens(&["learning", "rate"]), Meaning::Info),
    rule(Pattern::Token("loss"), Meaning::Quality(Direction::Lower)),
    rule(Pattern::Token("acc"), Meaning::Quality(Direction::Higher)),
    rule(Pattern::Token("accuracy"), Meaning::Quality(Direction::Higher)),
    rule(Pattern::Token("f1"), Meaning::Quality(Direction::Higher)),
    rule(Pattern::Token("hmean"), Meaning::Quality(Direction::Higher)),
    rule(Pattern::Token("precision"), Meaning::Quality(Direction::Higher)),
    rule(Pattern::Token("recall"), Meaning::Quality(Direction::Higher)),
    rule(Pattern::Token("map"), Meaning::Quality(Direction::Higher)),
];

/// Unit from a metric's name; a name no rule matches is a plain [`Unit::Number`].
pub const UNIT_RULES: &[(Pattern, Unit)] = &[
    (Pattern::Token("throughput"), Unit::PerSecond),
    (Pattern::Tokens(&["per", "s"]), Unit::PerSecond),
    (Pattern::Tokens(&["per", "sec"]), Unit::PerSecond),
    (Pattern::Tokens(&["per", "second"]), Unit::PerSecond),
    (Pattern::Tokens(&["it", "s"]), Unit::PerSecond),
    (Pattern::Token("fps"), Unit::PerSecond),
    (Pattern::PerSlash("s"), Unit::PerSecond),
    (Pattern::PerSlash("sec"), Unit::PerSecond),
    (Pattern::PerSlash("second"), Unit::PerSecond),
    (Pattern::Token("ms"), Unit::Milliseconds),
    (Pattern::Token("us"), Unit::Microseconds),
    (Pattern::Token("s"), Unit::Seconds),
    (Pattern::Token("sec"), Unit::Seconds),
    (Pattern::Token("seconds"), Unit::Seconds),
    (Pattern::Token("bytes"), Unit::Bytes),
    (Pattern::Token("percent"), Unit::Percent),
    (Pattern::Token("pct"), Unit::Percent),
    (Pattern::Token("fraction"), Unit::Ratio),
    (Pattern::Token("ratio"), Unit::Ratio),
    (Pattern::Token("share"), Unit::Ratio),
    (Pattern::Token("acc"), Unit::Ratio),
    (Pattern::Token("accuracy"), Unit::Ratio),
    (Pattern::Token("hmean"), Unit::Ratio),
    (Pattern::Token("f1"), Unit::Ratio),
    (Pattern::Token("precision"), Unit::Ratio),
    (Pattern::Token("recall"), Unit::Ratio),
];

/// The first direction rule that matches `name`.
pub fn direction_rule(name: &str) -> Option<&'static DirectionRule> {
    let (words, lower) = (tokens(name), name.to_lowercase());
    DIRECTION_RULES.iter().find(|rule| rule.pattern.matches(&words, &lower))
}

/// The direction in which `name` is better when it names model quality (a loss: lower; an
/// accuracy, F1, hmean, precision, recall or mAP: higher); `None` for anything else.
pub fn quality_direction(name: &str) -> Option<Direction> {
    match direction_rule(name)?.meaning {
        Meaning::Quality(direction) => Some(direction),
        _ => None,
    }
}

/// Whether `name` has a token that makes it a time (`ms`, `wait`, ...).
pub fn is_time_name(name: &str) -> bool {
    direction_rule(name).is_some_and(|rule| rule.meaning == Meaning::Time)
}

/// Whether some token of `name` is `word`.
pub fn has_token(name: &str, word: &str) -> bool {
    tokens(name).iter().any(|t| t == word)
}

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
    let (words, lower) = (tokens(name), name.to_lowercase());
    let unit = hint.unit.unwrap_or_else(|| {
        UNIT_RULES.iter().find(|(pattern, _)| pattern.matches(&words, &lower)).map_or(Unit::Number, |&(_, unit)| unit)
    });
    let (better, from) = match (overridden, hint.better) {
        (Some(direction), _) => (direction, "thresholds file".to_owned()),
        (None, Some(direction)) => (direction, "source".to_owned()),
        (None, None) => match DIRECTION_RULES.iter().find(|rule| rule.pattern.matches(&words, &lower)) {
            Some(rule) => match rule.meaning {
                Meaning::Info => (Direction::Info, format!("name: {}", rule.pattern.describe())),
                Meaning::Throughput => (Direction::Higher, format!("name: {}", rule.pattern.describe())),
                Meaning::Time => (Direction::Lower, format!("name: {}", rule.pattern.describe())),
                Meaning::Quality(_) => (
                    Direction::Info,
                    format!(
                        "name: {} (model quality: not gated unless the thresholds file sets its threshold)",
                        rule.pattern.describe()
                    ),
                ),
            },
            None => (Direction::Info, "no rule matches the name".to_owned()),
        },
    };
    Resolved { unit, better, from }
}

/// A series that never decreases over many samples and grows several-fold is a cumulative
/// counter (Lightning's `train/time`, samples seen): its steady state means nothing, so a
/// direction taken from its name does not apply. A step time that merely rises (a ramp, a
/// leak) grows far less than a counter that starts near zero, and stays gated.
pub fn is_cumulative(values: &[f64]) -> bool {
    let (Some(&first), Some(&last)) = (values.first(), values.last()) else {
        return false;
    };
    values.len() >= 8
        && values.windows(2).all(|pair| pair[1] >= pair[0])
        && values.windows(2).filter(|pair| pair[1] > pair[0]).count() * 10 >= (values.len() - 1) * 9
        && (first <= 0.0 || last >= CUMULATIVE_GROWTH * first)
}

/// How many times its first value a cumulative counter must reach.
const CUMULATIVE_GROWTH: f64 = 4.0;

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn direction(name: &str) -> Direction {
        resolve(name, Hint::default(), None).better
    }

    #[test]
    fn names_split_into_tokens() {
        assert_eq!(tokens("perf/bf16_step_time_ms"), ["perf", "bf16", "step", "time", "ms"]);
        assert_eq!(tokens("forwardRuntimeMs"), ["forward", "runtime", "ms"]);
        assert_eq!(tokens("GPUUtil.p95"), ["gpu", "util", "p95"]);
        assert_eq!(tokens("val/mAP"), ["val", "map"]);
        assert_eq!(tokens("train-it/s"), ["train", "it", "s"]);
        assert_eq!(tokens("_runtime"), ["runtime"]);
        assert_eq!(tokens("a..b  c"), ["a", "b", "c"]);
        assert!(tokens("/._").is_empty());
    }

    /// One case per rule, in table order: each rule is the first to match its name, and gives
    /// its direction.
    #[test]
    fn each_direction_rule_fires_for_its_own_name() {
        let cases = [
            ("_runtime", Direction::Info),
            ("_timestamp", Direction::Info),
            ("Throughput", Direction::Higher),
            ("render_fps", Direction::Higher),
            ("train/images_per_s", Direction::Higher),
            ("perf/samples_per_sec", Direction::Higher),
            ("loader/batches_per_second", Direction::Higher),
            ("train/it/s", Direction::Higher),
            ("samples/s", Direction::Higher),
            ("global_step/sec", Direction::Higher),
            ("tokens/second", Direction::Higher),
            ("perf/bf16_step_time_ms", Direction::Lower),
            ("compute_s", Direction::Lower),
            ("kernel_us", Direction::Lower),
            ("sec/step", Direction::Lower),
            ("wall_seconds", Direction::Lower),
            ("time/epoch", Direction::Lower),
            ("forward_runtime", Direction::Lower),
            ("serving/latency", Direction::Lower),
            ("step_duration", Direction::Lower),
            ("dataWait", Direction::Lower),
            ("trainer/epoch", Direction::Info),
            ("trainer/global_step", Direction::Info),
            ("lr-Adam", Direction::Info),
            ("optim/learning_rate", Direction::Info),
            ("train/loss", Direction::Info),
            ("val/acc", Direction::Info),
            ("val/accuracy", Direction::Info),
            ("val/f1", Direction::Info),
            ("val/hmean", Direction::Info),
            ("val/precision", Direction::Info),
            ("val/recall", Direction::Info),
            ("val/mAP", Direction::Info),
        ];
        assert_eq!(cases.len(), DIRECTION_RULES.len());
        for (rule, (name, expected)) in DIRECTION_RULES.iter().zip(cases) {
            assert_eq!(direction_rule(name).map(|r| r.pattern), Some(rule.pattern), "{name}");
            assert_eq!(direction(name), expected, "{name}");
        }
        assert_eq!(direction("weight_decay"), Direction::Info);
        assert_eq!(resolve("weight_decay", Hint::default(), None).from, "no rule matches the name");
    }

    #[test]
    fn the_names_of_the_hostile_run_read_right() {
        // `bf16` holds `f1`, `runtime` was a clock, `loss` was gated.
        assert_eq!(direction("perf/bf16_step_time_ms"), Direction::Lower);
        assert_eq!(direction("forward_runtime_ms"), Direction::Lower);
        assert_eq!(direction("train/loss"), Direction::Info);
        assert_eq!(quality_direction("train/loss"), Some(Direction::Lower));
        assert_eq!(quality_direction("val/hmean"), Some(Direction::Higher));
        assert_eq!(quality_direction("perf/step_time_ms"), None);
        // Times per step and per epoch, and a time beside a setting, are times.
        for name in ["ms/step", "sec/step", "time_per_step", "time/epoch", "perf/lr_sched_time_ms", "s/it"] {
            assert_eq!(direction(name), Direction::Lower, "{name}");
        }
        // Rates written with a slash are rates, not seconds.
        for name in ["samples/s", "img/s", "images/sec", "global_step/sec", "examples/sec", "fps"] {
            let resolved = resolve(name, Hint::default(), None);
            assert_eq!((resolved.better, resolved.unit), (Direction::Higher, Unit::PerSecond), "{name}");
        }
        assert_eq!(direction("/s"), Direction::Lower, "a bare `/s` is no rate of anything");
        assert!(resolve("val/hmean", Hint::default(), None).from.contains("model quality"));
        // Words that merely contain a keyword.
        for name in ["accumulate_grad", "mapping_count", "lossless_bytes", "timeline_events", "waiter_count"] {
            assert_eq!(direction(name), Direction::Info, "{name}");
        }
    }

    #[test]
    fn each_unit_rule_fires_for_its_own_name() {
        let cases = [
            ("throughput", Unit::PerSecond),
            ("images_per_s", Unit::PerSecond),
            ("samples_per_sec", Unit::PerSecond),
            ("batches_per_second", Unit::PerSecond),
            ("train/it/s", Unit::PerSecond),
            ("fps", Unit::PerSecond),
            ("img/s", Unit::PerSecond),
            ("examples/sec", Unit::PerSecond),
            ("tokens/second", Unit::PerSecond),
            ("step_ms", Unit::Milliseconds),
            ("data_wait_us", Unit::Microseconds),
            ("compute_s", Unit::Seconds),
            ("epoch_sec", Unit::Seconds),
            ("wall_seconds", Unit::Seconds),
            ("rss_bytes", Unit::Bytes),
            ("gpu_percent", Unit::Percent),
            ("util_pct", Unit::Percent),
            ("wait_fraction", Unit::Ratio),
            ("hit_ratio", Unit::Ratio),
            ("data_wait_share", Unit::Ratio),
            ("val/acc", Unit::Ratio),
            ("val/accuracy", Unit::Ratio),
            ("hmean", Unit::Ratio),
            ("f1", Unit::Ratio),
            ("precision", Unit::Ratio),
            ("recall", Unit::Ratio),
        ];
        assert_eq!(cases.len(), UNIT_RULES.len());
        for ((pattern, _), (name, unit)) in UNIT_RULES.iter().zip(cases) {
            let (words, lower) = (tokens(name), name.to_lowercase());
            let first = UNIT_RULES.iter().find(|(p, _)| p.matches(&words, &lower)).map(|(p, _)| *p);
            assert_eq!(first, Some(*pattern), "{name}");
            assert_eq!(resolve(name, Hint::default(), None).unit, unit, "{name}");
        }
        assert_eq!(resolve("loss", Hint::default(), None).unit, Unit::Number);
        assert_eq!(resolve("bf16_flops", Hint::default(), None).unit, Unit::Number);
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
        assert_eq!(resolve("epoch_time", Hint::default(), None).from, "name: token `time`");
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
        // A step time rising steadily from 100 to 200 ms is a slowdown, not a counter.
        let ramp: Vec<f64> = (0..400).map(|i| 100.0 + f64::from(i) / 4.0).collect();
        assert!(!is_cumulative(&ramp));
    }

    proptest! {
        /// No rule matches a keyword inside a longer token: `bf16` is not `f1`, `mapping` is
        /// not `map`, `lossless` is not `loss`.
        #[test]
        fn no_rule_matches_inside_a_token(
            rule_index in 0..DIRECTION_RULES.len() + UNIT_RULES.len(),
            prefix in "[a-z0-9]{0,3}",
            suffix in "[a-z0-9]{0,3}",
            before in "[a-z]{1,6}",
            after in "[a-z]{1,6}",
        ) {
            prop_assume!(!prefix.is_empty() || !suffix.is_empty());
            let pattern = match DIRECTION_RULES.get(rule_index) {
                Some(rule) => rule.pattern,
                None => UNIT_RULES[rule_index - DIRECTION_RULES.len()].0,
            };
            let words = pattern.words();
            prop_assume!(!words.is_empty());
            prop_assume!(!words.contains(&before.as_str()) && !words.contains(&after.as_str()));
            // Each of the pattern's words, grown into a longer token.
            let grown: Vec<String> = words.iter().map(|w| format!("{prefix}{w}{suffix}")).collect();
            // A grown word that is itself one of the pattern's words would match rightly.
            prop_assume!(grown.iter().all(|g| !words.contains(&g.as_str())));
            let name = format!("{before}/{}_{after}", grown.join("_"));
            let (found, lower) = (tokens(&name), name.to_lowercase());
            prop_assert!(!pattern.matches(&found, &lower), "{:?} matched {}", pattern, name);
        }
    }
}
