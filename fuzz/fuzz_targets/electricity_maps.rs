//! Electricity Maps answers (latest, history, forecast), through the source's decoding and
//! checks. No panic; every intensity kept is finite and not negative.
#![no_main]

#[path = "common.rs"]
mod common;

use greenkube_adapters::sources::electricity_maps::ElectricityMapsSource;
use greenkube_core::ports::IntensitySource;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let policy = common::policy();
    let source = ElectricityMapsSource::new("http://em.fuzz.invalid/v3/", "fuzz-token", policy)
        .expect("a URL");
    common::with_answer(data, async {
        let mut points = Vec::new();
        points.extend(source.latest("FR").await.ok());
        points.extend(source.history("DE").await.unwrap_or_default());
        points.extend(source.forecast("PL").await.unwrap_or_default());
        for point in points {
            let g = point.gco2e_per_kwh;
            assert!(g.is_finite() && g >= 0.0, "kept {g}");
        }
    });
});
