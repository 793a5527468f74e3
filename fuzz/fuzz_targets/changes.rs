//! A what-if changes file, as `greenkube what-if --changes` reads one. No panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = greenkube_core::whatif::changes_from_json(text);
    }
});
