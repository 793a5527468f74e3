//! Durations (`30d`), retention periods (`forever`) and instants (`2025-06-01`) as every
//! front end reads them. An accepted duration is never negative. No panic.
#![no_main]

use greenkube_core::time_text::{parse_duration, parse_duration_or_forever, parse_instant};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(duration) = parse_duration(text) {
        assert!(
            duration >= chrono::TimeDelta::zero(),
            "{text:?} gave {duration}"
        );
    }
    let _ = parse_duration_or_forever(text);
    let _ = parse_instant(text);
});
