//! What the targets share: a one-thread runtime and a source answer from memory. Each target
//! includes this file and uses part of it.
#![allow(dead_code, reason = "each target uses part of it")]

use std::sync::OnceLock;

/// The runtime every target runs its async calls on (current thread, so the canned answer of
/// this thread is the one the sources read).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

/// Runs `work` with every HTTP request of the sources answered by `body`.
pub fn with_answer<T>(body: &[u8], work: impl std::future::Future<Output = T>) -> T {
    greenkube_adapters::sources::http::fuzzing::answer_with(Some(body));
    let out = runtime().block_on(work);
    greenkube_adapters::sources::http::fuzzing::answer_with(None);
    out
}

/// An instant for the targets that need one.
pub fn at(secs: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(secs, 0).expect("a valid instant")
}

/// The HTTP policy of the source targets: one attempt (a retry would read the same answer).
pub fn policy() -> greenkube_adapters::sources::http::HttpPolicy {
    greenkube_adapters::sources::http::HttpPolicy {
        attempts: 1,
        ..greenkube_adapters::sources::http::HttpPolicy::default()
    }
}
