//! Durations as people write them: `200ms`, `1s`, `2m`, `1h30m`.

use std::{fmt, str::FromStr, time::Duration};

use crate::Error;

/// A [`Duration`] that reads and writes as `200ms`, `1s`, `2m` or `1h 30m`.
///
/// Every duration in ocrperf (command-line flags, alert rules in TOML) goes through this type,
/// so they all accept the same spellings. A bare number is refused: `5` could mean seconds or
/// milliseconds, and guessing wrong silently is worse than asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// The wrapped duration.
    pub fn get(self) -> Duration {
        self.0
    }
}

/// The durations one option or setting accepts, `min..=max`: every duration option parses
/// through [`DurationRange::parse`], so a value beyond what the code can add to a clock
/// (`18446744073709551615s`) is a clear refusal at the command line, never a panic later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    /// The least accepted.
    pub min: Duration,
    /// The most accepted.
    pub max: Duration,
}

impl DurationRange {
    /// `min..=max`.
    pub const fn new(min: Duration, max: Duration) -> Self {
        DurationRange { min, max }
    }

    /// Parses `text` as a [`HumanDuration`] and checks it lies in the range.
    ///
    /// # Errors
    /// [`Error::Duration`] for text that is not a duration, [`Error::DurationOutOfRange`] for
    /// one outside the range.
    pub fn parse(&self, text: &str) -> Result<HumanDuration, Error> {
        let duration: HumanDuration = text.parse()?;
        let out = |bound: Duration, above: bool| Error::DurationOutOfRange {
            input: text.trim().to_owned(),
            bound: HumanDuration(bound),
            above,
        };
        if duration.0 < self.min {
            return Err(out(self.min, false));
        }
        if duration.0 > self.max {
            return Err(out(self.max, true));
        }
        Ok(duration)
    }
}

impl From<Duration> for HumanDuration {
    fn from(duration: Duration) -> Self {
        HumanDuration(duration)
    }
}

impl FromStr for HumanDuration {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let trimmed = text.trim();
        let refuse = |reason: &str| Error::Duration { input: text.to_owned(), reason: reason.to_owned() };
        if trimmed.is_empty() {
            return Err(refuse("empty"));
        }
        if trimmed.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(refuse("a unit is needed"));
        }
        humantime::parse_duration(trimmed).map(HumanDuration).map_err(|err| refuse(&err.to_string()))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_zero() {
            return f.write_str("0s");
        }
        write!(f, "{}", humantime::format_duration(self.0).to_string().replace(' ', ""))
    }
}

crate::text_serde::serde_as_text!(HumanDuration);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Duration {
        text.parse::<HumanDuration>().unwrap().get()
    }

    #[test]
    fn reads_the_usual_spellings() {
        assert_eq!(parse("200ms"), Duration::from_millis(200));
        assert_eq!(parse("1s"), Duration::from_secs(1));
        assert_eq!(parse("2m"), Duration::from_secs(120));
        assert_eq!(parse("1h30m"), Duration::from_secs(5400));
        assert_eq!(parse("1h 30m"), Duration::from_secs(5400));
        assert_eq!(parse(" 15s "), Duration::from_secs(15));
        assert_eq!(parse("250us"), Duration::from_micros(250));
    }

    #[test]
    fn refuses_bare_numbers_and_junk() {
        for bad in ["", "5", "1.5", "fast", "-1s", "10 parsecs"] {
            let err = bad.parse::<HumanDuration>().unwrap_err().to_string();
            assert!(err.starts_with(&format!("invalid duration `{bad}`")), "{err}");
        }
        assert_eq!(
            "5".parse::<HumanDuration>().unwrap_err().to_string(),
            "invalid duration `5`: a unit is needed (write it like 200ms, 1s, 2m or 1h30m)"
        );
    }

    #[test]
    fn ranges_refuse_what_lies_outside() {
        let range = DurationRange::new(Duration::from_millis(10), Duration::from_secs(3600));
        assert_eq!(range.parse("10ms").unwrap().get(), Duration::from_millis(10));
        assert_eq!(range.parse("1h").unwrap().get(), Duration::from_secs(3600));
        let error = |text: &str| range.parse(text).unwrap_err().to_string();
        assert_eq!(error("18446744073709551615s"), "`18446744073709551615s` is longer than 1h, the most allowed here");
        assert_eq!(error("0s"), "`0s` is shorter than 10ms, the least allowed here");
        assert_eq!(error("1h1ms"), "`1h1ms` is longer than 1h, the most allowed here");
        assert!(error("99999999999999999999999s").starts_with("invalid duration `99999999999999999999999s`"));
        assert!(error("5").starts_with("invalid duration `5`: a unit is needed"));
    }

    #[test]
    fn writes_back_what_it_reads() {
        for text in ["200ms", "1s", "2m", "1h30m", "0s"] {
            let duration: HumanDuration = text.parse().unwrap();
            assert_eq!(duration.to_string(), text);
            assert_eq!(serde_json::to_string(&duration).unwrap(), format!("\"{text}\""));
        }
    }
}
