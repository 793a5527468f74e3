//! A configuration file (`--config FILE`) applied to the command line, then commands parsed
//! with it. No panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        greenkube_cli::fuzzing::config_file(text);
    }
});
