//! A footprint history (JSON array, or one footprint per line), as `recommend --history`,
//! `what-if` and `score` read one; an accepted history is then analysed by the recommender and
//! the score. No panic whatever the input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(history) = greenkube_core::read_footprints(text) else {
        return;
    };
    let config = greenkube_core::recommend::RecommenderConfig::default();
    let _ = greenkube_core::recommend::recommend(&history, None, &config);
    let _ = greenkube_core::score(
        &history,
        None,
        &greenkube_core::score::ScoreConfig::default(),
    );
});
