//! Boavizta answers (embodied emissions of a cloud instance), through the source's decoding.
//! No panic; a figure kept is finite and not negative.
#![no_main]

#[path = "common.rs"]
mod common;

use greenkube_adapters::sources::boavizta::BoaviztaSource;
use greenkube_core::ports::EmbodiedSource;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let policy = common::policy();
    let source = BoaviztaSource::new("http://boavizta.fuzz.invalid/", policy).expect("a URL");
    common::with_answer(data, async {
        if let Ok(Some(figure)) = source.embodied("aws", "m5.large").await {
            let kg = figure.kgco2e;
            assert!(kg.is_finite() && kg >= 0.0, "kept {kg}");
        }
    });
});
