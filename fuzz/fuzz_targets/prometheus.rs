//! Prometheus answers: every query of a three-window usage read and of the node read is
//! answered with the input, and the source's own decoding, checks and assembly run on it. No
//! panic; every usage figure kept is finite and not negative.
#![no_main]

#[path = "common.rs"]
mod common;

use greenkube_adapters::sources::prometheus::PrometheusSource;
use greenkube_core::ports::{TimeRange, UsageSource};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let policy = common::policy();
    let source = PrometheusSource::new("http://prometheus.fuzz.invalid/", policy).expect("a URL");
    let range =
        TimeRange::new(common::at(1_750_000_000), common::at(1_750_000_900)).expect("range");
    let step = std::time::Duration::from_secs(300);
    common::with_answer(data, async {
        if let Ok(windows) = source.usage(range, step).await {
            for window in windows {
                for pod in window.pods {
                    let cpu = pod.cpu_usage_cores.map(|c| c.0);
                    let memory = pod.memory_usage_bytes.map(|b| b.0);
                    for value in [cpu, memory].into_iter().flatten() {
                        assert!(value.is_finite() && value >= 0.0, "kept {value}");
                    }
                }
            }
        }
        let _ = source.nodes(common::at(1_750_000_900)).await;
    });
});
