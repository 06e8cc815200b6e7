//! Any bytes: the reader returns a trace or an error, never panics or hangs, strict and lenient,
//! and whatever it returns analyses without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use profiler_analyze::{ReadOptions, analyze, read_from};

fuzz_target!(|data: &[u8]| {
    for lenient in [false, true] {
        let options = ReadOptions { lenient };
        if let Ok(trace) = read_from(data, "fuzz.json".as_ref(), options, &mut |_| true) {
            let _ = analyze(&trace);
        }
    }
});
