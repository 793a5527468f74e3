//! The Boavizta embodied source against a real `boaviztapi` server (2.5.0 under uvicorn), and
//! the caching wrapper over the SQLite embodied cache.
//!
//! The server comes from `GREENKUBE_TEST_BOAVIZTA_URL`: `scripts/test.sh` starts it with
//! `scripts/boavizta-service.sh` and sets it. Without it the server tests fail, saying so; they
//! never skip. The expected figures are boaviztapi 2.5.0's, which the script pins.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use greenkube_adapters::sources::boavizta::{BoaviztaSource, CachedEmbodied};
use greenkube_adapters::sources::http::HttpPolicy;
use greenkube_core::ports::{
    EmbodiedCache, EmbodiedCacheEntry, EmbodiedFigure, EmbodiedSource, SourceError,
    SourceErrorKind, StoreError,
};

const URL_VAR: &str = "GREENKUBE_TEST_BOAVIZTA_URL";

/// The test server's URL. Fails the test when it is not set: these tests never skip.
fn server_url() -> String {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url.trim().to_owned(),
        _ => panic!(
            "{URL_VAR} is not set, so the Boavizta source cannot be tested. Run scripts/test.sh \
             (it starts boaviztapi and sets {URL_VAR}), or start it yourself with \
             `eval \"$(scripts/boavizta-service.sh start)\"` before `cargo test`"
        ),
    }
}

fn policy() -> HttpPolicy {
    HttpPolicy {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(20),
        attempts: 2,
        backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        ..HttpPolicy::default()
    }
}

fn boavizta() -> BoaviztaSource {
    BoaviztaSource::new(&server_url(), policy()).expect("source")
}

fn figure(kgco2e: f64, kgco2e_min: f64, kgco2e_max: f64, duration_hours: f64) -> EmbodiedFigure {
    EmbodiedFigure {
        kgco2e,
        kgco2e_min,
        kgco2e_max,
        duration_hours,
    }
}

#[tokio::test]
async fn m5_large_over_one_year() {
    let got = boavizta()
        .embodied("aws", "m5.large")
        .await
        .expect("answer");
    // 24 kg over m5.large's 6-year life, so 4.0 kg per 8760 h.
    assert_eq!(got, Some(figure(4.0, 2.32, 6.676, 8760.0)));
}

#[tokio::test]
async fn m5_large_over_one_hour() {
    let source = boavizta().with_duration_hours(1.0).expect("duration");
    let got = source.embodied("aws", "m5.large").await.expect("answer");
    assert_eq!(got, Some(figure(0.000_46, 0.000_264_8, 0.000_762_1, 1.0)));
}

#[tokio::test]
async fn names_are_matched_exactly_whatever_their_case() {
    let source = boavizta();
    assert_eq!(
        source.embodied("AWS", "M5.Large").await.expect("answer"),
        Some(figure(4.0, 2.32, 6.676, 8760.0))
    );
    // Azure's node label; Boavizta lists it in lower case (and fuzzy-matches the label as given
    // to `d2as_v4`, another figure: 3.9 kg).
    assert_eq!(
        source
            .embodied("azure", "Standard_D2as_v4")
            .await
            .expect("answer"),
        Some(figure(4.0, 2.415, 6.858, 8760.0))
    );
    // greenkube's `ovh` is Boavizta's `ovhcloud`.
    assert_eq!(
        source.embodied("ovh", "b3-8").await.expect("answer"),
        Some(figure(3.8, 2.294, 7.063, 8760.0))
    );
}

#[tokio::test]
async fn unknown_instances_are_none() {
    let source = boavizta();
    // HTTP 404.
    assert_eq!(
        source.embodied("aws", "nope.large").await.expect("answer"),
        None
    );
    // Fuzzy-matched by Boavizta to m1.large: another machine's figure, so unknown.
    assert_eq!(
        source.embodied("aws", "m9.large").await.expect("answer"),
        None
    );
    assert_eq!(source.embodied("gcp", "  ").await.expect("answer"), None);
}

#[tokio::test]
async fn unsupported_providers_are_none_without_a_request() {
    // Nothing listens there: any request would fail as unreachable.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    drop(listener);
    let source = BoaviztaSource::new(&url, policy()).expect("source");
    assert_eq!(
        source
            .embodied("hetzner", "cx22")
            .await
            .expect("no request"),
        None
    );
    let err = source
        .embodied("aws", "m5.large")
        .await
        .expect_err("a request fails");
    assert_eq!(err.kind, SourceErrorKind::Unreachable);
}

/// A cache whose store is down.
#[derive(Debug)]
struct BrokenCache;

#[async_trait]
impl EmbodiedCache for BrokenCache {
    fn backend(&self) -> &'static str {
        "broken"
    }

    async fn cached_embodied(
        &self,
        _provider: &str,
        _instance_type: &str,
    ) -> Result<Option<EmbodiedCacheEntry>, StoreError> {
        Err(StoreError::unavailable("broken", "cannot read"))
    }

    async fn cache_embodied(&self, _entry: &EmbodiedCacheEntry) -> Result<(), StoreError> {
        Err(StoreError::unavailable("broken", "cannot write"))
    }
}

/// A source that answers a fixed figure, or fails.
#[derive(Debug)]
struct Fixed(Result<Option<EmbodiedFigure>, SourceError>);

#[async_trait]
impl EmbodiedSource for Fixed {
    async fn embodied(&self, _: &str, _: &str) -> Result<Option<EmbodiedFigure>, SourceError> {
        self.0.clone()
    }
}

#[tokio::test]
async fn a_broken_cache_does_not_stop_the_source() {
    let answer = figure(4.0, 2.32, 6.676, 8760.0);
    let cached = CachedEmbodied::new(
        Arc::new(Fixed(Ok(Some(answer)))),
        Arc::new(BrokenCache),
        chrono::Duration::days(7),
    );
    assert_eq!(
        cached.embodied("aws", "m5.large").await.expect("answer"),
        Some(answer)
    );
    let err = cached.take_cache_error().expect("remembered");
    assert_eq!(err.to_string(), "broken store: unavailable: cannot write");
    assert!(cached.take_cache_error().is_none());
}

/// The wrapper over the SQLite embodied cache.
#[cfg(feature = "sqlite")]
mod sqlite_cache {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use chrono::{DateTime, TimeZone, Utc};
    use greenkube_adapters::sources::clock::Clock;
    use greenkube_adapters::store::open;

    use super::*;

    /// Counts the calls that reach the wrapped source.
    #[derive(Debug)]
    struct Counting<S> {
        inner: S,
        calls: AtomicUsize,
    }

    impl<S> Counting<S> {
        fn new(inner: S) -> Self {
            Self {
                inner,
                calls: AtomicUsize::new(0),
            }
        }

        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl<S: EmbodiedSource> EmbodiedSource for Counting<S> {
        async fn embodied(
            &self,
            provider: &str,
            instance_type: &str,
        ) -> Result<Option<EmbodiedFigure>, SourceError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.inner.embodied(provider, instance_type).await
        }
    }

    /// A clock the test moves.
    #[derive(Clone)]
    struct TestClock(Arc<Mutex<DateTime<Utc>>>);

    impl TestClock {
        fn at(t: DateTime<Utc>) -> Self {
            Self(Arc::new(Mutex::new(t)))
        }

        fn set(&self, t: DateTime<Utc>) {
            *self.0.lock().unwrap() = t;
        }

        fn clock(&self) -> Clock {
            let inner = self.0.clone();
            Arc::new(move || *inner.lock().unwrap())
        }
    }

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, d, 10, 0, 0).unwrap()
    }

    #[tokio::test]
    async fn the_sqlite_cache_answers_known_and_unknown_instances_within_max_age() {
        let repos = open("sqlite::memory:").await.expect("SQLite in memory");
        let source = Arc::new(Counting::new(boavizta()));
        let clock = TestClock::at(day(1));
        let cached = CachedEmbodied::new(
            source.clone(),
            repos.embodied.clone(),
            chrono::Duration::days(7),
        )
        .with_clock(clock.clock());

        // First time: asked, with Boavizta's bounds, and stored.
        assert_eq!(
            cached.embodied("aws", "m5.large").await.expect("fetched"),
            Some(figure(4.0, 2.32, 6.676, 8760.0))
        );
        assert_eq!(source.calls(), 1);
        assert_eq!(
            repos
                .embodied
                .cached_embodied("AWS", "M5.LARGE")
                .await
                .expect("read"),
            Some(EmbodiedCacheEntry {
                provider: "aws".to_owned(),
                instance_type: "m5.large".to_owned(),
                kgco2e: Some(4.0),
                lifespan_hours: Some(8760.0),
                fetched_at: day(1),
            })
        );

        // Within max age: from the cache, which keeps no bounds.
        clock.set(day(8));
        assert_eq!(
            cached.embodied("aws", "m5.large").await.expect("cached"),
            Some(figure(4.0, 4.0, 4.0, 8760.0))
        );
        assert_eq!(source.calls(), 1);

        // "Unknown instance" is cached too.
        assert_eq!(
            cached.embodied("aws", "nope.large").await.expect("unknown"),
            None
        );
        assert_eq!(
            cached.embodied("aws", "nope.large").await.expect("unknown"),
            None
        );
        assert_eq!(source.calls(), 2);
        assert_eq!(
            repos
                .embodied
                .cached_embodied("aws", "nope.large")
                .await
                .expect("read")
                .map(|e| (e.kgco2e, e.lifespan_hours)),
            Some((None, None))
        );

        // Older than max age: asked again.
        clock.set(day(8) + chrono::Duration::seconds(1));
        assert_eq!(
            cached.embodied("aws", "m5.large").await.expect("refetched"),
            Some(figure(4.0, 2.32, 6.676, 8760.0))
        );
        assert_eq!(source.calls(), 3);
        assert!(cached.take_cache_error().is_none());
    }

    #[tokio::test]
    async fn source_errors_pass_through_and_cache_nothing() {
        let repos = open("sqlite::memory:").await.expect("SQLite in memory");
        let down = SourceError::new(
            greenkube_core::ports::SourceKind::Boavizta,
            SourceErrorKind::Unreachable,
            "connection refused",
        );
        let cached = CachedEmbodied::new(
            Arc::new(Fixed(Err(down.clone()))),
            repos.embodied.clone(),
            chrono::Duration::days(7),
        );
        assert_eq!(cached.embodied("aws", "m5.large").await, Err(down));
        assert_eq!(
            repos
                .embodied
                .cached_embodied("aws", "m5.large")
                .await
                .expect("read"),
            None
        );
    }

    #[tokio::test]
    async fn entries_from_the_future_or_without_lifespan_are_fetched_again() {
        let repos = open("sqlite::memory:").await.expect("SQLite in memory");
        let answer = figure(16.0, 9.28, 26.7, 8760.0);
        let source = Arc::new(Counting::new(Fixed(Ok(Some(answer)))));
        let cached = CachedEmbodied::new(
            source.clone(),
            repos.embodied.clone(),
            chrono::Duration::days(7),
        )
        .with_clock(TestClock::at(day(10)).clock());
        let stored = |fetched_at, lifespan_hours| EmbodiedCacheEntry {
            provider: "aws".to_owned(),
            instance_type: "m5.2xlarge".to_owned(),
            kgco2e: Some(16.0),
            lifespan_hours,
            fetched_at,
        };
        // Written by a collector whose clock is ahead.
        repos
            .embodied
            .cache_embodied(&stored(day(11), Some(8760.0)))
            .await
            .expect("write");
        assert_eq!(
            cached.embodied("aws", "m5.2xlarge").await.expect("answer"),
            Some(answer)
        );
        assert_eq!(source.calls(), 1);
        // A figure without the duration it covers cannot be used.
        repos
            .embodied
            .cache_embodied(&stored(day(9), None))
            .await
            .expect("write");
        assert_eq!(
            cached.embodied("aws", "m5.2xlarge").await.expect("answer"),
            Some(answer)
        );
        assert_eq!(source.calls(), 2);
        // The answer replaced it: now it is fresh.
        assert_eq!(
            cached.embodied("AWS", "M5.2XLARGE").await.expect("answer"),
            Some(figure(16.0, 16.0, 16.0, 8760.0))
        );
        assert_eq!(source.calls(), 2);
    }
}
