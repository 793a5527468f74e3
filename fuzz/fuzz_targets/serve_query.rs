//! A query string of the HTTP API, through every reader of parameters. No panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        greenkube_cli::fuzzing::serve_query(text);
    }
});
