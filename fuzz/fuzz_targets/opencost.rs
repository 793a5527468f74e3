//! OpenCost `/allocation` answers, through the source's decoding and merge. No panic; every
//! cost kept is finite and not negative.
#![no_main]

#[path = "common.rs"]
mod common;

use greenkube_adapters::sources::opencost::OpenCostSource;
use greenkube_core::ports::{CostSource, TimeRange};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let policy = common::policy();
    let source = OpenCostSource::new("http://opencost.fuzz.invalid/", policy).expect("a URL");
    let range =
        TimeRange::new(common::at(1_750_000_000), common::at(1_750_000_300)).expect("range");
    common::with_answer(data, async {
        if let Ok(costs) = source.costs(range).await {
            for entry in costs {
                let cost = entry.cost.0;
                assert!(cost.is_finite() && cost >= 0.0, "kept {cost}");
            }
        }
    });
});
