//! Damaged input: every class fails with the uncompressed byte offset, or, leniently, keeps
//! what came before the damage.

use std::{io::Read, path::Path};

use profiler_analyze::{Error, ReadOptions, read_from, read_trace};

use crate::testdata;

fn h100_json() -> Vec<u8> {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(testdata("h100/dbnet_fp32_workers0_bs8.json.gz")).unwrap())
        .read_to_end(&mut json)
        .unwrap();
    json
}

fn read_bytes(bytes: &[u8], lenient: bool) -> Result<profiler_analyze::Trace, Error> {
    read_from(bytes, Path::new("damaged.json"), ReadOptions { lenient }, &mut |_| true)
}

#[test]
fn truncation_anywhere_reports_the_end_of_the_data() {
    let json = h100_json();
    let full = read_bytes(&json, false).unwrap();
    for cut in [1, 100, 2_000, json.len() / 3, json.len() / 2 + 7, json.len() - 3] {
        let err = read_bytes(&json[..cut], false).unwrap_err();
        let Error::Malformed { offset, message, .. } = &err else { panic!("{err:?}") };
        assert!(*offset <= cut as u64 && *offset + 4096 >= cut as u64, "cut {cut}: {err}");
        assert!(err.to_string().starts_with("damaged.json: byte "), "{err}");
        assert!(!message.is_empty());

        let partial = read_bytes(&json[..cut], true).unwrap();
        assert_eq!(partial.damage.as_ref().map(|d| d.offset), Some(*offset));
        assert!(partial.stats.events <= full.stats.events);
    }
}

#[test]
fn a_corrupt_event_in_the_middle_names_its_offset() {
    let mut json = h100_json();
    let at = json.len() / 2;
    let ts = at + json[at..].windows(5).position(|w| w == b"\"ts\":").unwrap();
    json[ts + 6] = b'x';
    let err = read_bytes(&json, false).unwrap_err();
    assert_eq!(err.offset(), Some(ts as u64 + 6), "{err}");

    let partial = read_bytes(&json, true).unwrap();
    let analysis = profiler_analyze::analyze(&partial);
    assert!(partial.stats.events > 10_000, "{}", partial.stats.events);
    assert!(analysis.steps.count >= 1);
}

#[test]
fn other_bad_inputs_fail_cleanly() {
    for (bytes, needle) in [
        (&b""[..], "empty file"),
        (b"not json", "expected '{' or '['"),
        (br#"{"traceEvents": {"a": 1}}"#, "not an array"),
        (br#"{"traceEvents": [{"ph": "X", "ts": [}]}"#, "expected value"),
        (br#"{"traceEvents": [{"ph": "X", "name": 12}]}"#, "invalid type"),
        (br#"{"traceEvents": [{"ph": "X"}] "#, "not closed"),
        (br#"{"traceEvents": [], "deviceProperties": [1, }"#, ""),
    ] {
        let err = read_bytes(bytes, false).unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
        assert!(err.to_string().contains(needle), "{} -> {err}", String::from_utf8_lossy(bytes));
    }
}

#[test]
fn truncated_gzip_and_missing_files() {
    let compressed = std::fs::read(testdata("h100/dbnet_fp32_workers0_bs8.json.gz")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.json.gz");
    std::fs::write(&path, &compressed[..compressed.len() / 2]).unwrap();
    let err = read_trace(&path, ReadOptions::default(), &mut |_| true).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("cut.json.gz: byte "), "{err}");
    let partial = read_trace(&path, ReadOptions { lenient: true }, &mut |_| true).unwrap();
    assert!(partial.damage.is_some() && partial.stats.events > 1000);

    let err = read_trace(&dir.path().join("absent.json"), ReadOptions::default(), &mut |_| true).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    let err = read_trace(&path, ReadOptions::default(), &mut |_| false).unwrap_err();
    assert!(matches!(err, Error::Interrupted | Error::Malformed { .. }), "{err:?}");
}

#[test]
fn odd_but_valid_values_are_accepted() {
    let json = br#"[
      {"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#7", "pid": "12", "tid": "12", "ts": 1e3, "dur": 1000},
      {"ph": "X", "cat": "Kernel", "name": "k\u00e9", "pid": 0, "tid": "stream 7", "ts": 1100, "dur": "0x0"},
      {"ph": "X", "cat": "kernel", "name": "no time", "pid": 0, "tid": 7, "ts": null, "dur": 5},
      {"ph": "X", "cat": "kernel", "name": "CUPTI overflow", "pid": 0, "tid": 7, "ts": 1200, "dur": 7e11},
      {"ph": "X", "cat": "cpu_op", "name": "latest", "pid": 1, "tid": 1, "ts": 4e15, "dur": 1000},
      {"ph": "i", "name": "[memory]", "pid": 12, "tid": 12, "ts": 1300, "args": {"Device Type": 1, "Device Id": 0, "Total Allocated": 5e9, "Total Reserved": "6e9"}}
    ]"#;
    let trace = read_bytes(json, false).unwrap();
    assert_eq!(trace.stats.events, 6);
    // A duration over seven days is CUPTI overflow (dropped and counted, as HTA does); a time at
    // the clock's limit is kept, and its end stays far from i64::MAX ns (found by the fuzzer).
    assert_eq!((trace.stats.without_time, trace.stats.overflowed), (1, 1));
    assert_eq!(trace.gpu.len(), 1);
    assert_eq!(trace.gpu[0].end, trace.gpu[0].start, "a hex string is a number, as ROCm writes them");
    assert_eq!(trace.cpu[1].end, 4_000_000_000_001_000_000);
    assert_eq!(trace.memory[0].reserved, 6e9);
    let analysis = profiler_analyze::analyze(&trace);
    assert_eq!(analysis.steps.count, 1);
    assert_eq!(analysis.memory.unwrap()[0].peak_allocated_bytes, 5_000_000_000);
}

/// Values of the wrong type or impossible values in events the analyses keep: strictly, one
/// line with the byte offset; leniently, counted and left out.
#[test]
fn impossible_times_are_errors_with_their_offset_or_counted_when_lenient() {
    let step = |n: u32, ts: &str, dur: &str| {
        format!(
            r#"{{"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#{n}", "pid": 1, "tid": 1, "ts": {ts}, "dur": {dur}}}"#
        )
    };
    for (bad, expected) in [
        (step(1, "\"abc\"", "1000"), "event \"ProfilerStep#1\": `ts` is text that is not a number"),
        (step(1, "1000", "true"), "event \"ProfilerStep#1\": `dur` is true/false, not a number"),
        (step(1, "1000", "{}"), "event \"ProfilerStep#1\": `dur` is a list or an object, not a number"),
        (step(1, "1000", "-50"), "event \"ProfilerStep#1\": `dur` is -50 µs; a duration cannot be negative"),
        (
            step(1, "1000", "1e308"),
            "event \"ProfilerStep#1\": a step of 1e302 s, beyond the limit of 3600 s (one hour)",
        ),
        (step(1, "1000", "-1e308"), "event \"ProfilerStep#1\": `dur` is -1e308 µs; a duration cannot be negative"),
        // NaN and infinities written as text (JSON has no such numbers), and times past any clock.
        (step(1, "\"NaN\"", "1000"), "event \"ProfilerStep#1\": `ts` is NaN, not a finite number"),
        (step(1, "1000", "\"inf\""), "event \"ProfilerStep#1\": `dur` is inf, not a finite number"),
        (step(1, "\"1e400\"", "1000"), "event \"ProfilerStep#1\": `ts` is inf, not a finite number"),
        (
            step(1, "9e18", "1000"),
            "event \"ProfilerStep#1\": `ts` is 9e18 µs, beyond any real clock (the limit is ±4e15 µs, about 127 years)",
        ),
        (
            step(1, "-4.1e15", "1000"),
            "event \"ProfilerStep#1\": `ts` is -4.1e15 µs, beyond any real clock (the limit is ±4e15 µs, about 127 years)",
        ),
    ] {
        let json = format!("[{},\n{bad},\n{}]", step(0, "0", "1000"), step(2, "2000", "1000"));
        let err = read_bytes(json.as_bytes(), false).unwrap_err();
        let offset =
            json.find("{\"ph\": \"X\", \"cat\": \"user_annotation\", \"name\": \"ProfilerStep#1\"").unwrap() as u64;
        assert_eq!(err.offset(), Some(offset), "{err}");
        assert!(err.to_string().ends_with(expected), "{err}");
        let trace = read_bytes(json.as_bytes(), true).unwrap();
        assert_eq!(trace.stats.invalid, 1, "{bad}");
        assert_eq!(trace.first_invalid.as_ref().map(|d| d.offset), Some(offset));
        assert_eq!(profiler_analyze::analyze(&trace).steps.count, 2);
    }
    // A device event past any clock is refused as well: it used to vanish from the figures.
    let kernel = r#"{"ph": "X", "cat": "kernel", "name": "gemm", "pid": 0, "tid": 7, "ts": 1500, "dur": 1e300}"#;
    let json = format!("[{},\n{kernel}]", step(0, "0", "1000"));
    let err = read_bytes(json.as_bytes(), false).unwrap_err();
    assert_eq!(err.offset(), Some(json.find(kernel).unwrap() as u64), "{err}");
    assert!(
        err.to_string().ends_with(
            "event \"gemm\": `dur` is 1e300 µs, beyond any real clock (the limit is ±4e15 µs, about 127 years)"
        ),
        "{err}"
    );
    assert_eq!(read_bytes(json.as_bytes(), true).unwrap().stats.invalid, 1);
    // Events that are not kept are not checked (nor parsed beyond their kind).
    let json = r#"[{"ph": "X", "cat": "python_function", "name": "f", "ts": "abc", "dur": -1},
      {"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#0", "pid": 1, "tid": 1, "ts": 0, "dur": 10}]"#;
    assert_eq!(read_bytes(json.as_bytes(), false).unwrap().stats.invalid, 0);
}

/// Numbers JSON cannot hold (`1e400`, Python's `NaN`) are damage at their own byte, with the key.
#[test]
fn numbers_beyond_json_are_damage_at_their_byte() {
    for (value, expected) in [
        ("1e400", "`ts` is 1e400, beyond the range of a 64-bit number (a finite number is needed)"),
        ("NaN", "`ts` is NaN, which is not a number JSON allows (a finite number is needed)"),
        ("-Infinity", "`ts` is -Infinity, which is not a number JSON allows (a finite number is needed)"),
    ] {
        let json = format!(
            r#"{{"traceEvents": [{{"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#0", "pid": 1, "tid": 1, "ts": {value}, "dur": 5}}]}}"#
        );
        let err = read_bytes(json.as_bytes(), false).unwrap_err();
        assert_eq!(err.offset(), Some(json.find(value).unwrap() as u64), "{err}");
        assert_eq!(err.to_string(), format!("damaged.json: byte {}: {expected}", json.find(value).unwrap()));
        // Leniently it is damage like any other: what came before is kept, and it is said where.
        let trace = read_bytes(json.as_bytes(), true).unwrap();
        assert_eq!(trace.damage.map(|d| d.message), Some(expected.to_owned()));
    }
}

/// A step whose number is not one (`#-5`, `#abc`, beyond u64) is refused by name, never quietly
/// left out of the steps.
#[test]
fn steps_without_a_number_are_named() {
    for name in ["ProfilerStep#-5", "ProfilerStep#abc", "ProfilerStep#99999999999999999999999", "ProfilerStep#"] {
        let bad = format!(
            r#"{{"ph": "X", "cat": "user_annotation", "name": "{name}", "pid": 1, "tid": 1, "ts": 2000, "dur": 1000}}"#
        );
        let json = format!(
            r#"[{{"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#0", "pid": 1, "tid": 1, "ts": 0, "dur": 1000}},
{bad}]"#
        );
        let err = read_bytes(json.as_bytes(), false).unwrap_err();
        assert_eq!(err.offset(), Some(json.find(&bad).unwrap() as u64), "{err}");
        let number = name.trim_start_matches("ProfilerStep#");
        assert!(
            err.to_string().ends_with(&format!(
                "event \"{name}\": `{number}` is not a step number (torch.profiler counts steps 0, 1, 2, ... up to \
                 18446744073709551615)"
            )),
            "{err}"
        );
        let trace = read_bytes(json.as_bytes(), true).unwrap();
        assert_eq!((trace.stats.invalid, profiler_analyze::analyze(&trace).steps.count), (1, 1));
    }
    // The GPU-side annotation of a step is held to the same rule.
    let json = r#"[{"ph": "X", "cat": "gpu_user_annotation", "name": "ProfilerStep#x", "pid": 0, "tid": 7, "ts": 0, "dur": 10}]"#;
    assert!(read_bytes(json.as_bytes(), false).unwrap_err().to_string().contains("`x` is not a step number"));
}
