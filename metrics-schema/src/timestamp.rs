//! RFC 3339 UTC timestamps with millisecond precision.

use std::{
    fmt,
    str::FromStr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::Error;

/// A point in time, written as RFC 3339 in UTC with milliseconds (`2026-11-23T15:33:26.123Z`).
///
/// It holds whole milliseconds only, so a timestamp survives a trip through JSON unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(SystemTime);

impl Timestamp {
    /// Now, truncated to the millisecond.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// Truncates `time` to the millisecond.
    pub fn from_system_time(time: SystemTime) -> Self {
        let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp(UNIX_EPOCH + Duration::from_millis(since_epoch.as_millis() as u64))
    }

    /// A Unix time in seconds (as trackers record it), truncated to the millisecond. `None` for
    /// a time that is not finite, negative, or beyond the year 9999.
    pub fn from_unix_seconds(seconds: f64) -> Option<Self> {
        const YEAR_10000: f64 = 253_402_300_800.0;
        (seconds.is_finite() && (0.0..YEAR_10000).contains(&seconds))
            .then(|| Timestamp(UNIX_EPOCH + Duration::from_millis((seconds * 1000.0) as u64)))
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(self) -> u64 {
        self.0.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }

    /// The underlying system time.
    pub fn system_time(self) -> SystemTime {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_rfc3339_millis(self.0))
    }
}

impl FromStr for Timestamp {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        humantime::parse_rfc3339_weak(text.trim_end_matches('Z'))
            .map(Self::from_system_time)
            .map_err(|err| Error::InvalidTimestamp { input: text.to_owned(), reason: err.to_string() })
    }
}

crate::text_serde::serde_as_text!(Timestamp);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_millis_and_round_trips() {
        let time = UNIX_EPOCH + Duration::from_nanos(1_795_448_006_123_456_789);
        let stamp = Timestamp::from_system_time(time);
        assert_eq!(stamp.to_string(), "2026-11-23T15:33:26.123Z");
        assert_eq!(stamp.unix_millis(), 1_795_448_006_123);
        assert_eq!(stamp.to_string().parse::<Timestamp>().unwrap(), stamp);
    }

    #[test]
    fn accepts_second_precision_and_refuses_garbage() {
        let stamp: Timestamp = "2026-11-23T15:33:26Z".parse().unwrap();
        assert_eq!(stamp.unix_millis() % 1000, 0);
        let err = "yesterday".parse::<Timestamp>().unwrap_err();
        assert!(err.to_string().starts_with("invalid timestamp `yesterday`"), "{err}");
    }
}
