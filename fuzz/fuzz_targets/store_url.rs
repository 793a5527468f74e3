//! A store URL: which backend, the Elasticsearch settings it carries, and how it is shown
//! (redacted). No panic; a redacted URL never shows the password the URL parser sees.
#![no_main]

use greenkube_adapters::secret::redact_url;
use greenkube_adapters::store::Backend;
use greenkube_adapters::store::elasticsearch::ElasticsearchConfig;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Backend::of_url(text);
    let shown = redact_url(text);
    if let Ok(config) = ElasticsearchConfig::from_url(text)
        && let Some(password) = config.password.as_deref()
        && password.len() >= 6
    {
        assert!(
            !shown.contains(&format!(":{password}@")),
            "{text:?} is shown as {shown:?}"
        );
    }
});
