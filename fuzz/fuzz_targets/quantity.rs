//! A Kubernetes quantity (`500m`, `1Gi`, `1e3`, `-1`) as the inventory source reads one: an
//! accepted quantity is finite, and negative only when written with a minus sign (the callers
//! refuse negative amounts). No panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(value) = greenkube_adapters::sources::quantity::parse_quantity(text) {
        assert!(value.is_finite(), "{text:?} gave {value}");
        assert!(
            value >= 0.0 || text.starts_with('-'),
            "{text:?} gave {value}"
        );
    }
});
