//! A snapshot document: parsed as `greenkube estimate` parses one, then estimated under both
//! methodologies. Whatever the input: no panic; an accepted snapshot gives finite figures whose
//! intervals hold their point, and its footprint reads back as a footprint.
#![no_main]

use greenkube_core::{EstimateOptions, Methodology, Ranged, Snapshot};

fn sound(what: &str, r: Ranged) {
    assert!(
        r.point.is_finite() && r.low.is_finite() && r.high.is_finite(),
        "{what}: {r:?} is not finite"
    );
    // A relative tolerance for the rounding of sums.
    let slack = 1e-9 * r.point.abs().max(1.0);
    assert!(
        r.low <= r.point + slack && r.point <= r.high + slack,
        "{what}: {r:?} does not hold its point"
    );
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(snapshot) = Snapshot::from_json_str(text) else {
        return;
    };
    for methodology in [Methodology::Classic, Methodology::Full] {
        let options = EstimateOptions {
            methodology,
            ..EstimateOptions::default()
        };
        let Ok(footprint) = greenkube_core::estimate(&snapshot, &options) else {
            continue;
        };
        for pod in &footprint.pods {
            sound("energy", pod.energy_joules);
            sound("co2e", pod.co2e_grams);
            sound("embodied", pod.embodied_co2e_grams);
        }
        sound("total energy", footprint.totals.energy_joules);
        sound("total co2e", footprint.totals.co2e_grams);
        let json = serde_json::to_string(&footprint).expect("a footprint serialises");
        greenkube_core::read_footprints(&json).expect("a footprint reads back");
    }
});
