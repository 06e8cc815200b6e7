//! One trace event, parsed from its own bytes with only the fields the analyses use.
//!
//! The visitors are written by hand rather than derived so that a duplicated key keeps the last
//! value instead of failing, and so that numbers are accepted in any JSON shape Kineto and its
//! forks have written (`"stream": 7`, `"stream": "0x0"`, `"size": "2560"`).

use std::{borrow::Cow, fmt};

use serde::{
    Deserialize, Deserializer,
    de::{self, IgnoredAny, MapAccess, Visitor},
};

/// The fields of a trace event that matter here. Everything else is skipped unparsed.
#[derive(Debug, Default)]
pub(crate) struct RawEvent<'a> {
    pub(crate) ph: Option<Cow<'a, str>>,
    pub(crate) cat: Option<Cow<'a, str>>,
    pub(crate) name: Option<Cow<'a, str>>,
    pub(crate) pid: Option<RawId<'a>>,
    pub(crate) tid: Option<RawId<'a>>,
    pub(crate) ts: Option<f64>,
    pub(crate) dur: Option<f64>,
    pub(crate) args: RawArgs,
    /// `ts` or `dur` had a value that is not a number (text, `true`, an object): the event's
    /// time is unknown, which the reader reports rather than guessing.
    pub(crate) bad_time: Option<&'static str>,
}

/// A `pid` or `tid`: a number for real processes and threads, a string for Kineto's own
/// pseudo-tracks (`"Spans"`, `"stream 7"`, `""`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawId<'a> {
    Number(i64),
    Text(Cow<'a, str>),
}

/// The `args` entries the analyses read.
#[derive(Debug, Default)]
pub(crate) struct RawArgs {
    pub(crate) external_id: Option<i64>,
    pub(crate) correlation: Option<i64>,
    pub(crate) device: Option<i64>,
    pub(crate) stream: Option<i64>,
    pub(crate) bytes: Option<f64>,
    /// `[memory]` events: bytes allocated (positive) or freed (negative) by this event.
    pub(crate) alloc_bytes: Option<f64>,
    /// `[memory]` events: bytes allocated by the caching allocator after this event.
    pub(crate) total_allocated: Option<f64>,
    pub(crate) total_reserved: Option<f64>,
    pub(crate) device_id: Option<i64>,
    pub(crate) device_type: Option<i64>,
}

#[cfg(test)]
impl<'a> RawEvent<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// The byte index in `bytes` of serde_json's 1-based `line`/`column` position.
pub(crate) fn position_to_index(bytes: &[u8], line: usize, column: usize) -> usize {
    let mut line_start = 0;
    for _ in 1..line {
        match memchr::memchr(b'\n', &bytes[line_start..]) {
            Some(at) => line_start += at + 1,
            None => break,
        }
    }
    (line_start + column.saturating_sub(1)).min(bytes.len())
}

/// serde_json refuses a number beyond `f64` (`1e400`) and the `NaN`/`Infinity` that Python's
/// `json` writes, with "number out of range" or "expected value": when the error at `index`
/// is such a token, its start and a message naming the key it belongs to (`ts`, `dur`, ...).
pub(crate) fn explain_bad_number(bytes: &[u8], index: usize) -> Option<(usize, String)> {
    let is_token = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.');
    let index = index.min(bytes.len().checked_sub(1)?);
    if !is_token(bytes[index]) {
        return None;
    }
    let start = bytes[..index].iter().rposition(|&b| !is_token(b)).map_or(0, |at| at + 1);
    let end = bytes[index..].iter().position(|&b| !is_token(b)).map_or(bytes.len(), |at| index + at);
    let token = std::str::from_utf8(&bytes[start..end]).ok()?;
    // A JSON number (`1e400`) overflows; a word (`NaN`, `Infinity`) is no JSON number at all.
    let is_word = !token.trim_start_matches(['-', '+']).starts_with(|c: char| c.is_ascii_digit());
    let value: f64 = token.parse().ok()?;
    // The key: the last string before the `:` that precedes the token.
    let before = &bytes[..start];
    let colon = before.iter().rposition(|&b| !b.is_ascii_whitespace()).filter(|&at| before[at] == b':')?;
    let close = before[..colon].iter().rposition(|&b| !b.is_ascii_whitespace()).filter(|&at| before[at] == b'"')?;
    let open = before[..close].iter().rposition(|&b| b == b'"')?;
    let key = String::from_utf8_lossy(&before[open + 1..close]);
    let message = if is_word && !value.is_finite() {
        format!("`{key}` is {token}, which is not a number JSON allows (a finite number is needed)")
    } else if value.is_infinite() {
        format!("`{key}` is {}, beyond the range of a 64-bit number (a finite number is needed)", shorten(token))
    } else {
        return None;
    };
    Some((start, message))
}

/// A token as written, cut short when it is long (a number of 400 digits).
fn shorten(token: &str) -> String {
    if token.len() <= 24 { token.to_owned() } else { format!("{}…", &token[..20]) }
}

macro_rules! keys {
    ($name:ident { $($variant:ident = $($text:literal)|+),* $(,)? }) => {
        #[derive(Debug, Clone, Copy)]
        enum $name { $($variant,)* Other }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct KeyVisitor;
                impl Visitor<'_> for KeyVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a key")
                    }
                    fn visit_str<E: de::Error>(self, key: &str) -> Result<$name, E> {
                        Ok(match key { $($($text)|+ => $name::$variant,)* _ => $name::Other })
                    }
                }
                deserializer.deserialize_identifier(KeyVisitor)
            }
        }
    };
}

keys!(EventKey { Ph = "ph", Cat = "cat", Name = "name", Pid = "pid", Tid = "tid", Ts = "ts", Dur = "dur", Args = "args" });

keys!(ArgKey {
    ExternalId = "External id" | "external id",
    Correlation = "correlation",
    Device = "device",
    Stream = "stream",
    Bytes = "bytes",
    AllocBytes = "Bytes",
    TotalAllocated = "Total Allocated",
    TotalReserved = "Total Reserved",
    DeviceId = "Device Id",
    DeviceType = "Device Type",
});

impl<'de: 'a, 'a> Deserialize<'de> for RawEvent<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EventVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for EventVisitor<'a> {
            type Value = RawEvent<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a trace event object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEvent<'a>, A::Error> {
                let mut event = RawEvent::default();
                while let Some(key) = map.next_key::<EventKey>()? {
                    match key {
                        EventKey::Ph | EventKey::Cat => {
                            let value = map.next_value::<Option<LooseStr<'a>>>()?.map(|s| s.0);
                            if matches!(key, EventKey::Ph) {
                                event.ph = value;
                            } else {
                                event.cat = value;
                            }
                            // Kineto writes `ph` and `cat` first: an event the analyses do not
                            // keep (Python stack spans, flows, metadata) is then skipped to its
                            // end without decoding a single further value.
                            if let Some(ph) = event.ph.as_deref()
                                && super::is_dropped(ph, event.cat.as_deref())
                            {
                                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                                return Ok(event);
                            }
                        }
                        EventKey::Name => event.name = map.next_value::<Option<LooseStr<'a>>>()?.map(|s| s.0),
                        EventKey::Pid => event.pid = map.next_value()?,
                        EventKey::Tid => event.tid = map.next_value()?,
                        EventKey::Ts => {
                            let (value, bad) = map.next_value::<TimeNumber>()?.checked("`ts`");
                            event.ts = value;
                            event.bad_time = event.bad_time.or(bad);
                        }
                        EventKey::Dur => {
                            let (value, bad) = map.next_value::<TimeNumber>()?.checked("`dur`");
                            event.dur = value;
                            event.bad_time = event.bad_time.or(bad);
                        }
                        EventKey::Args => event.args = map.next_value::<Option<RawArgs>>()?.unwrap_or_default(),
                        EventKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(event)
            }
        }
        deserializer.deserialize_map(EventVisitor(std::marker::PhantomData))
    }
}

impl<'de> Deserialize<'de> for RawArgs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArgsVisitor;
        impl<'de> Visitor<'de> for ArgsVisitor {
            type Value = RawArgs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an args object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawArgs, A::Error> {
                let mut args = RawArgs::default();
                while let Some(key) = map.next_key::<ArgKey>()? {
                    let integer = |value: LooseNumber| value.0.map(|v| v as i64);
                    match key {
                        ArgKey::ExternalId => args.external_id = integer(map.next_value()?),
                        ArgKey::Correlation => args.correlation = integer(map.next_value()?),
                        ArgKey::Device => args.device = integer(map.next_value()?),
                        ArgKey::Stream => args.stream = integer(map.next_value()?),
                        ArgKey::Bytes => args.bytes = map.next_value::<LooseNumber>()?.0,
                        ArgKey::AllocBytes => args.alloc_bytes = map.next_value::<LooseNumber>()?.0,
                        ArgKey::TotalAllocated => args.total_allocated = map.next_value::<LooseNumber>()?.0,
                        ArgKey::TotalReserved => args.total_reserved = map.next_value::<LooseNumber>()?.0,
                        ArgKey::DeviceId => args.device_id = integer(map.next_value()?),
                        ArgKey::DeviceType => args.device_type = integer(map.next_value()?),
                        ArgKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(args)
            }
        }
        deserializer.deserialize_map(ArgsVisitor)
    }
}

/// A string, borrowed when it has no escapes.
struct LooseStr<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for LooseStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for StrVisitor<'a> {
            type Value = LooseStr<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<LooseStr<'a>, E> {
                Ok(LooseStr(Cow::Borrowed(text)))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<LooseStr<'a>, E> {
                Ok(LooseStr(Cow::Owned(text.to_owned())))
            }
        }
        deserializer.deserialize_str(StrVisitor(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawId<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for IdVisitor<'a> {
            type Value = RawId<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a string")
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawId<'a>, E> {
                Ok(RawId::Number(value))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawId<'a>, E> {
                Ok(RawId::Number(value as i64))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<RawId<'a>, E> {
                Ok(RawId::Number(value as i64))
            }
            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<RawId<'a>, E> {
                Ok(match text.parse() {
                    Ok(number) => RawId::Number(number),
                    Err(_) => RawId::Text(Cow::Borrowed(text)),
                })
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawId<'a>, E> {
                Ok(match text.parse() {
                    Ok(number) => RawId::Number(number),
                    Err(_) => RawId::Text(Cow::Owned(text.to_owned())),
                })
            }
        }
        deserializer.deserialize_any(IdVisitor(std::marker::PhantomData))
    }
}

/// A `ts` or `dur`: a JSON number or a numeric string (as [`LooseNumber`]), absent for
/// `null`, and otherwise a value of the wrong type, which is remembered.
#[derive(Debug, Clone, Copy)]
struct TimeNumber {
    value: Option<f64>,
    /// What was there instead of a number.
    wrong: Option<&'static str>,
}

impl TimeNumber {
    /// The value, and a message naming `field` when it was of the wrong type.
    fn checked(self, field: &'static str) -> (Option<f64>, Option<&'static str>) {
        let message = self.wrong.map(|wrong| match (field, wrong) {
            ("`ts`", "text") => "`ts` is text that is not a number",
            ("`ts`", "true/false") => "`ts` is true/false, not a number",
            ("`ts`", _) => "`ts` is a list or an object, not a number",
            (_, "text") => "`dur` is text that is not a number",
            (_, "true/false") => "`dur` is true/false, not a number",
            _ => "`dur` is a list or an object, not a number",
        });
        (self.value, message)
    }
}

impl<'de> Deserialize<'de> for TimeNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeVisitor;
        impl<'de> Visitor<'de> for TimeVisitor {
            type Value = TimeNumber;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<TimeNumber, E> {
                Ok(TimeNumber { value: Some(value as f64), wrong: None })
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<TimeNumber, E> {
                Ok(TimeNumber { value: Some(value as f64), wrong: None })
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<TimeNumber, E> {
                Ok(TimeNumber { value: Some(value), wrong: None })
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<TimeNumber, E> {
                let parsed = match text.strip_prefix("0x") {
                    Some(hex) => i64::from_str_radix(hex, 16).ok().map(|v| v as f64),
                    None => text.trim().parse().ok(),
                };
                Ok(TimeNumber { value: parsed, wrong: parsed.is_none().then_some("text") })
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<TimeNumber, E> {
                Ok(TimeNumber { value: None, wrong: Some("true/false") })
            }
            fn visit_unit<E: de::Error>(self) -> Result<TimeNumber, E> {
                Ok(TimeNumber { value: None, wrong: None })
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<TimeNumber, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(TimeNumber { value: None, wrong: Some("list") })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TimeNumber, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(TimeNumber { value: None, wrong: Some("object") })
            }
        }
        deserializer.deserialize_any(TimeVisitor)
    }
}

/// A number written as a JSON number or a numeric string (decimal or `0x` hex); anything
/// else (null, text, arrays) reads as absent rather than failing the whole trace.
#[derive(Debug, Clone, Copy, Default)]
struct LooseNumber(Option<f64>);

impl<'de> Deserialize<'de> for LooseNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The same shapes as a time; what is not a number reads as absent.
        TimeNumber::deserialize(deserializer).map(|number| LooseNumber(number.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kineto_2x_and_2021_shapes() {
        let kernel = br#"{"ph": "X", "cat": "kernel", "name": "k\"q", "pid": 0, "tid": 7, "ts": 12.5, "dur": 3,
            "args": {"External id": 9, "device": 0, "stream": 7, "correlation": 44, "grid": [1, 2, 3], "External id": 10}}"#;
        let event = RawEvent::parse(kernel).unwrap();
        assert_eq!(event.name.as_deref(), Some("k\"q"));
        assert_eq!((event.ts, event.dur), (Some(12.5), Some(3.0)));
        assert_eq!((event.args.external_id, event.args.correlation, event.args.stream), (Some(10), Some(44), Some(7)));

        let legacy = br#"{"ph": "X", "cat": "Kernel", "pid": 0, "tid": "stream 7", "ts": 1623142623531625,
            "args": {"external id": 544, "stream": "0x7", "size": "2560"}}"#;
        let event = RawEvent::parse(legacy).unwrap();
        assert_eq!(event.tid, Some(RawId::Text(Cow::Borrowed("stream 7"))));
        assert_eq!((event.args.external_id, event.args.stream), (Some(544), Some(7)));
        assert_eq!(event.ts, Some(1_623_142_623_531_625.0));

        let odd = br#"{"ph": "i", "pid": "406", "ts": null, "args": {"Bytes": [1], "Total Allocated": "12"}}"#;
        let event = RawEvent::parse(odd).unwrap();
        assert_eq!(event.pid, Some(RawId::Number(406)));
        assert_eq!((event.ts, event.args.total_allocated), (None, Some(12.0)));
    }

    #[test]
    fn bad_events_fail_with_a_position() {
        let bytes = b"{\"ph\": \"X\",\n  \"ts\": 1.5.3}";
        let err = RawEvent::parse(bytes).unwrap_err();
        let index = position_to_index(bytes, err.line(), err.column());
        assert!((20..=24).contains(&index), "{index} for {err}");
        assert!(RawEvent::parse(br#"{"name": 5}"#).is_err());
        assert!(RawEvent::parse(br#"[1]"#).is_err());
    }

    #[test]
    fn numbers_json_cannot_hold_are_named_with_their_key() {
        let explain = |bytes: &[u8]| {
            let err = RawEvent::parse(bytes).unwrap_err();
            explain_bad_number(bytes, position_to_index(bytes, err.line(), err.column()))
        };
        assert_eq!(
            explain(br#"{"ph": "X", "ts": 1e400, "dur": 5}"#),
            Some((18, "`ts` is 1e400, beyond the range of a 64-bit number (a finite number is needed)".to_owned()))
        );
        assert_eq!(
            explain(br#"{"ph": "X", "dur" :  NaN}"#),
            Some((21, "`dur` is NaN, which is not a number JSON allows (a finite number is needed)".to_owned()))
        );
        assert_eq!(
            explain(br#"{"ph": "X", "ts": -Infinity}"#),
            Some((18, "`ts` is -Infinity, which is not a number JSON allows (a finite number is needed)".to_owned()))
        );
        let long = format!(r#"{{"ts": 1{}}}"#, "0".repeat(400));
        let (_, message) = explain(long.as_bytes()).unwrap();
        assert_eq!(
            message,
            "`ts` is 10000000000000000000…, beyond the range of a 64-bit number (a finite number is needed)"
        );
        // Other damage is left to serde's own message.
        assert_eq!(explain(br#"{"ph": "X", "ts": 1.5.3}"#), None);
        assert_eq!(explain(br#"{"ph": "X", "ts": tru}"#), None);
    }
}
