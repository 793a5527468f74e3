//! An inventory document (`recommend --inventory`). No panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = greenkube_core::Inventory::from_json_str(text);
    }
});
