//! The PostgreSQL store against a real server: the footprint repository and retention contracts,
//! and what only a real server can show (a connection killed mid-batch, a failure inside the
//! database, a newer schema, concurrent writers, writers racing maintenance, rows stored before
//! the roll-up migration, the session's time zone, a locale that sorts differently, missing
//! databases and refused credentials).
//!
//! The server comes from `GREENKUBE_TEST_POSTGRES_URL` (a role that may create schemas and
//! databases). `scripts/test.sh` starts a throwaway one (`scripts/services.sh`) and sets it;
//! without it every test here fails, saying so. Each test works in a schema (or database) of
//! its own, so they run in parallel and leave nothing behind.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use greenkube_adapters::store::postgres::{PostgresStore, count_rows};
use greenkube_adapters::store::{self, Backend, OpenOptions};
use greenkube_core::ports::{
    FootprintRepository, PodRowPager, ReportQuery, RetentionPolicy, StoreErrorKind, TimeRange,
    WindowRecords,
};
use greenkube_core::testsuite::RepositoryFixture;
use greenkube_core::testsuite::fixtures::{at, footprint, history, methodology};
use greenkube_core::{Footprint, GroupBy, Methodology, Period, aggregate};
use sqlx::{Connection as _, PgConnection};

const URL_VAR: &str = "GREENKUBE_TEST_POSTGRES_URL";

/// The test server's URL. Fails the test when it is not set: these tests never skip.
fn server_url() -> String {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{URL_VAR} is not set, so the PostgreSQL store cannot be tested. Run scripts/test.sh \
             (it starts a throwaway PostgreSQL and sets {URL_VAR}), or start one yourself with \
             `eval \"$(scripts/services.sh start)\"` before `cargo test`"
        ),
    }
}

/// A name no other test (in this process or another) uses.
fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}_{}_{nanos}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `url` with extra query parameters.
fn with_params(url: &str, params: &[(&str, &str)]) -> String {
    let mut out = url.to_string();
    for (k, v) in params {
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// `url` naming another database.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let (server, _) = base.rsplit_once('/').expect("the URL names a database");
    match query {
        Some(q) => format!("{server}/{database}?{q}"),
        None => format!("{server}/{database}"),
    }
}

async fn admin() -> PgConnection {
    PgConnection::connect(&server_url())
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test server ({URL_VAR}): {e}"))
}

/// A schema of the test's own; dropped (with everything in it) when the test ends.
struct Schema {
    name: String,
    /// The server URL with `search_path` set to the schema.
    url: String,
}

impl Schema {
    async fn new() -> Self {
        let name = unique("gk_test");
        let mut conn = admin().await;
        sqlx::raw_sql(&format!("CREATE SCHEMA {name}"))
            .execute(&mut conn)
            .await
            .expect("creates a schema");
        let url = with_params(&server_url(), &[("options[search_path]", &name)]);
        Self { name, url }
    }

    /// The schema's URL with more parameters.
    fn url_with(&self, params: &[(&str, &str)]) -> String {
        with_params(&self.url, params)
    }

    async fn open(&self) -> PostgresStore {
        PostgresStore::open(&self.url, OpenOptions::default())
            .await
            .expect("opens the test schema")
            .0
    }

    /// A connection to the schema (for what a test does behind the repository's back).
    async fn connect(&self) -> PgConnection {
        PgConnection::connect(&self.url)
            .await
            .expect("connects to the test schema")
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        // Blocking is fine at the end of a test; a runtime of its own keeps it off the test's.
        let statement = format!("SET lock_timeout = '5s'; DROP SCHEMA {} CASCADE", self.name);
        let _ = std::thread::spawn(move || drop_with(&statement)).join();
    }
}

/// Runs `statement` on the test server from a fresh runtime; errors are ignored (clean-up only).
fn drop_with(statement: &str) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    rt.block_on(async {
        if let Ok(mut conn) = PgConnection::connect(&server_url()).await {
            let _ = sqlx::raw_sql(statement).execute(&mut conn).await;
            let _ = conn.close().await;
        }
    });
}

/// A database of the test's own, dropped when the test ends.
struct Database {
    name: String,
    url: String,
}

impl Database {
    fn named(name: String) -> Self {
        let url = with_database(&server_url(), &name);
        Self { name, url }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = std::thread::spawn(move || drop_with(&statement)).join();
    }
}

mod contract {
    use super::*;

    async fn fixture() -> RepositoryFixture {
        let schema = Schema::new().await;
        let repo = schema.open().await;
        RepositoryFixture::with_guard(repo, schema)
    }

    greenkube_core::footprint_repository_contract_suite!(fixture);

    mod retention {
        use super::fixture;

        greenkube_core::retention_contract_suite!(fixture);
    }
}

fn everything() -> TimeRange {
    TimeRange::new(at(1970, 1, 1, 0, 0), at(9999, 1, 1, 0, 0)).expect("range")
}

fn full() -> greenkube_core::MethodologyInfo {
    methodology(Methodology::Full, "gkdata-0123456789ab")
}

#[tokio::test]
async fn postgres_and_postgresql_urls_open_and_migrate_once() {
    let schema = Schema::new().await;
    let first = store::open(&schema.url).await.expect("opens");
    assert_eq!(first.backend, Backend::Postgres);
    assert_eq!(first.footprints.backend(), "postgres");
    assert_eq!(first.migrations.applied.len(), 5);
    assert_eq!(first.migrations.applied[0].description, "footprints");
    assert_eq!(first.migrations.applied[1].description, "history");
    assert_eq!(first.migrations.applied[2].description, "rollups");
    assert_eq!(first.migrations.applied[3].description, "pod labels");
    assert_eq!(first.migrations.applied[4].description, "row notes");
    assert_eq!(first.migrations.schema_version, 5);
    let password = url_password(&server_url());
    if let Some(p) = &password {
        assert!(!first.location.contains(p.as_str()), "{}", first.location);
    }
    let fp = footprint(Some("prod"), at(2025, 6, 2, 10, 0), 1, &full());
    first
        .footprints
        .write_footprints(std::slice::from_ref(&fp))
        .await
        .expect("writes");
    drop(first);
    let other_scheme = schema.url.replacen("postgres://", "postgresql://", 1);
    assert!(other_scheme.starts_with("postgresql://"), "{other_scheme}");
    let again = store::open_with(
        &other_scheme,
        OpenOptions {
            create_if_missing: false,
        },
    )
    .await
    .expect("reopens");
    assert!(again.migrations.applied.is_empty());
    let rows = again
        .footprints
        .aggregate(&ReportQuery::new(everything(), GroupBy::Namespace))
        .await
        .expect("aggregates");
    assert_eq!(rows, aggregate([&fp], GroupBy::Namespace, None));
}

/// The password in `postgres://user:password@...`, if any.
fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let user_info = rest.split_once('@')?.0;
    let password = user_info.split_once(':')?.1;
    (!password.is_empty()).then(|| password.to_string())
}

#[tokio::test]
async fn a_missing_database_is_created_only_when_asked() {
    let db = Database::named(unique("gk_new"));
    let err = store::open_with(
        &db.url,
        OpenOptions {
            create_if_missing: false,
        },
    )
    .await
    .expect_err("missing database");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err:#}");
    assert!(
        err.to_string()
            .contains(&format!("database `{}` does not exist", db.name)),
        "{err}"
    );
    let repos = store::open(&db.url).await.expect("creates the database");
    assert_eq!(repos.migrations.applied.len(), 5);
    let fp = footprint(None, at(2025, 6, 2, 10, 0), 1, &full());
    repos
        .footprints
        .write_footprints(std::slice::from_ref(&fp))
        .await
        .expect("writes");
    drop(repos);
    let again = store::open(&db.url).await.expect("opens again");
    assert!(again.migrations.applied.is_empty());
}

#[tokio::test]
async fn refused_credentials_are_unavailable_and_the_password_is_never_shown() {
    let url = server_url();
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (user_info, host) = rest.split_once('@').expect("the URL names a user");
    let user = user_info.split_once(':').map_or(user_info, |(u, _)| u);
    let wrong = format!("{scheme}://{user}:hunter2-wrong@{host}");
    let err = store::open(&wrong)
        .await
        .expect_err("the test server must require passwords (scripts/services.sh makes it so)");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err:#}");
    assert!(err.to_string().contains("refused the credentials"), "{err}");
    let mut chain = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        let _ = write!(chain, " {s} {s:?}");
        source = s.source();
    }
    assert!(!chain.contains("hunter2-wrong"), "{chain}");
    if let Some(p) = url_password(&url) {
        assert!(!chain.contains(&p), "the real password leaked: {err:#}");
    }
}

#[tokio::test]
async fn a_schema_from_a_newer_greenkube_is_a_conflict() {
    let schema = Schema::new().await;
    drop(schema.open().await);
    let mut conn = schema.connect().await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, '\\x00'::bytea, 0)",
    )
    .execute(&mut conn)
    .await
    .expect("insert");
    let err = store::open(&schema.url).await.expect_err("refused");
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains("newer greenkube"), "{err}");
}

#[tokio::test]
async fn a_failure_inside_the_database_rolls_the_batch_back() {
    let schema = Schema::new().await;
    let repo = schema.open().await;
    let m = full();
    let t0 = at(2025, 6, 2, 10, 0);
    let stored = footprint(Some("prod"), t0, 1, &m);
    repo.write_footprints(std::slice::from_ref(&stored))
        .await
        .expect("writes");
    // The database itself refuses one row of the last window (the rows are valid for the core),
    // after the batch has already replaced a window and inserted others.
    let mut conn = schema.connect().await;
    sqlx::raw_sql(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'refused'; END $$; \
         CREATE TRIGGER refuse BEFORE INSERT ON pod_footprints FOR EACH ROW \
         WHEN (NEW.pod = 'kube-proxy-x2x4q' AND NEW.window_start > '2025-06-02T10:00:00Z') \
         EXECUTE FUNCTION refuse()",
    )
    .execute(&mut conn)
    .await
    .expect("trigger");
    let batch = vec![
        footprint(Some("prod"), t0, 2, &m),
        footprint(Some("staging"), t0, 3, &m),
        footprint(Some("prod"), t0 + Duration::minutes(5), 4, &m),
    ];
    let err = repo.write_footprints(&batch).await.expect_err("refused");
    assert!(format!("{err:#}").contains("inserting pod rows"), "{err}");
    assert_eq!(count_rows(&repo).await.expect("counts"), (8, 3));
    let by_pod = repo
        .aggregate(&ReportQuery::new(everything(), GroupBy::Pod))
        .await
        .expect("aggregates");
    assert_eq!(by_pod, aggregate([&stored], GroupBy::Pod, None));
    // Once the cause is gone, the same batch goes through: retrying is safe.
    sqlx::raw_sql("DROP TRIGGER refuse ON pod_footprints")
        .execute(&mut conn)
        .await
        .expect("drop trigger");
    repo.write_footprints(&batch).await.expect("retry");
    assert_eq!(count_rows(&repo).await.expect("counts"), (24, 9));
}

/// The connection of a writer is killed (`pg_terminate_backend`, as a crash or a network cut
/// would) while its batch is half-written: a trigger holds it on the last window, after every
/// other window of the batch went in. Nothing of the batch is ever visible, the stored window it
/// was replacing is intact, the writer gets `Unavailable`, and retrying the same batch on the
/// same repository completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_killed_mid_batch_leaves_nothing_and_a_retry_completes() {
    let schema = Schema::new().await;
    let writer_name = unique("gk_writer");
    let (repo, _) = PostgresStore::open(
        &schema.url_with(&[("application_name", &writer_name)]),
        OpenOptions::default(),
    )
    .await
    .expect("opens");
    let repo = Arc::new(repo);
    let m = full();
    let t0 = at(2025, 6, 2, 0, 0);
    let stored = footprint(Some("prod"), t0, 1, &m);
    repo.write_footprints(std::slice::from_ref(&stored))
        .await
        .expect("writes");
    let before_rows = count_rows(&repo).await.expect("counts");
    let before = repo
        .aggregate(&ReportQuery::new(everything(), GroupBy::Pod))
        .await
        .expect("aggregates");

    // 300 windows (2 400 pod rows), the first replacing the stored one.
    let windows = 300_i64;
    let batch: Vec<Footprint> = (0..windows)
        .map(|i| {
            footprint(
                Some("prod"),
                t0 + Duration::minutes(5 * i),
                2 + i as u64,
                &m,
            )
        })
        .collect();
    let last = batch.last().expect("a batch").window_start;
    let mut conn = schema.connect().await;
    sqlx::raw_sql(&format!(
        "CREATE FUNCTION stall() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN PERFORM pg_sleep(120); RETURN NEW; END $$; \
         CREATE TRIGGER stall BEFORE INSERT ON pod_footprints FOR EACH ROW \
         WHEN (NEW.window_start = '{}') EXECUTE FUNCTION stall()",
        last.to_rfc3339()
    ))
    .execute(&mut conn)
    .await
    .expect("trigger");

    let writing = {
        let repo = repo.clone();
        let batch = batch.clone();
        tokio::spawn(async move { repo.write_footprints(&batch).await })
    };
    // Wait until the writer is stuck inside its last window.
    let deadline = Instant::now() + StdDuration::from_secs(60);
    let pid: i32 = loop {
        let pid: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 \
             AND wait_event = 'PgSleep' AND state = 'active'",
        )
        .bind(&writer_name)
        .fetch_optional(&mut conn)
        .await
        .expect("pg_stat_activity");
        if let Some(pid) = pid {
            break pid;
        }
        assert!(
            Instant::now() < deadline,
            "the writer never reached its last window"
        );
        assert!(!writing.is_finished(), "the writer finished early");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    };
    // While it is in flight, none of its 299 written windows is visible.
    let (visible, replaced_window): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM pod_footprints), \
         (SELECT COUNT(*) FROM pod_footprints WHERE window_start = $1)",
    )
    .bind(t0)
    .fetch_one(&mut conn)
    .await
    .expect("counts");
    assert_eq!(
        (visible, replaced_window),
        (8, 8),
        "half a batch is visible"
    );

    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut conn)
        .await
        .expect("pg_terminate_backend");
    assert!(killed);
    let err = writing
        .await
        .expect("writer task")
        .expect_err("the writer's connection was killed");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err:#}");
    assert!(err.kind().is_retryable());

    assert_eq!(count_rows(&repo).await.expect("counts"), before_rows);
    assert_eq!(
        repo.aggregate(&ReportQuery::new(everything(), GroupBy::Pod))
            .await
            .expect("aggregates"),
        before,
        "a killed batch changed what is stored"
    );

    sqlx::raw_sql("DROP TRIGGER stall ON pod_footprints")
        .execute(&mut conn)
        .await
        .expect("drop trigger");
    let summary = repo.write_footprints(&batch).await.expect("retry");
    assert_eq!(summary.windows, batch.len());
    assert_eq!(summary.replaced_pod_rows, stored.pods.len());
    let pods: usize = batch.iter().map(|fp| fp.pods.len()).sum();
    let nodes: usize = batch.iter().map(|fp| fp.nodes.len()).sum();
    assert_eq!(
        count_rows(&repo).await.expect("counts"),
        (pods as u64, nodes as u64)
    );
    for group_by in [GroupBy::Cluster, GroupBy::Pod] {
        assert_eq!(
            repo.aggregate(&ReportQuery::new(everything(), group_by))
                .await
                .expect("aggregates"),
            aggregate(&batch, group_by, None),
            "after the retry, by {group_by}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_all_land() {
    let schema = Schema::new().await;
    let repo = Arc::new(schema.open().await);
    let m = full();
    let t0 = at(2025, 6, 2, 0, 0);
    let mut tasks = Vec::new();
    for writer in 0..4_i64 {
        let repo = repo.clone();
        let m = m.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10_i64 {
                let start = t0 + Duration::minutes(5 * (writer * 10 + i));
                let fp = footprint(Some("prod"), start, 1, &m);
                repo.write_footprints(std::slice::from_ref(&fp))
                    .await
                    .expect("concurrent write");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(count_rows(&repo).await.expect("counts"), (40 * 8, 40 * 3));
}

/// Writers of the same window take turns: each succeeds, and one copy (the last committed)
/// remains.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_racing_on_the_same_window_take_turns() {
    let schema = Schema::new().await;
    let repo = Arc::new(schema.open().await);
    let m = full();
    let t0 = at(2025, 6, 2, 0, 0);
    let mut tasks = Vec::new();
    for seed in 0..8_i64 {
        let repo = repo.clone();
        // Each batch holds the raced window and one of its own, in either order.
        let shared = footprint(Some("prod"), t0, seed.unsigned_abs(), &m);
        let own = footprint(
            Some("prod"),
            t0 + Duration::minutes(5 * (1 + seed)),
            seed.unsigned_abs(),
            &m,
        );
        let batch = if seed % 2 == 0 {
            vec![shared, own]
        } else {
            vec![own, shared]
        };
        tasks.push(tokio::spawn(async move {
            for _ in 0..5 {
                repo.write_footprints(&batch)
                    .await
                    .unwrap_or_else(|e| panic!("a racing writer failed: {e:#}"));
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(count_rows(&repo).await.expect("counts"), (9 * 8, 9 * 3));
}

/// sqlx opens every session in UTC, but a session whose time zone was changed (here: every
/// pooled connection set to Chatham, UTC+12:45) still buckets hours, days, ISO weeks, months
/// and years in UTC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buckets_are_utc_whatever_the_session_time_zone() {
    let schema = Schema::new().await;
    let repo = schema.open().await;
    let pool = repo.pool();
    let mut held = Vec::new();
    for _ in 0..pool.options().get_max_connections() {
        let mut conn = pool.acquire().await.expect("a pooled connection");
        sqlx::raw_sql("SET TimeZone = 'Pacific/Chatham'")
            .execute(&mut *conn)
            .await
            .expect("set the session time zone");
        held.push(conn);
    }
    drop(held);
    let zone: String = sqlx::query_scalar("SHOW TimeZone")
        .fetch_one(pool)
        .await
        .expect("time zone");
    assert_eq!(zone, "Pacific/Chatham");
    let history = history();
    repo.write_footprints(&history).await.expect("writes");
    for period in Period::ALL {
        for group_by in [GroupBy::Cluster, GroupBy::Namespace] {
            assert_eq!(
                repo.aggregate(&ReportQuery::new(everything(), group_by).with_period(Some(period)))
                    .await
                    .expect("aggregates"),
                aggregate(&history, group_by, Some(period)),
                "by {group_by} per {period:?} in a +12:45 session"
            );
        }
    }
}

/// In a database whose default collation sorts `a` before `B` (ICU `en-US`), keys still page
/// byte by byte, as the core orders them.
#[tokio::test]
async fn keys_page_byte_by_byte_whatever_the_locale() {
    let db = Database::named(unique("gk_icu"));
    let mut conn = admin().await;
    sqlx::raw_sql(&format!(
        "CREATE DATABASE {} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'",
        db.name
    ))
    .execute(&mut conn)
    .await
    .expect("creates a database with an ICU locale");
    let repo = PostgresStore::open(&db.url, OpenOptions::default())
        .await
        .expect("opens")
        .0;
    let m = full();
    let t0 = at(2025, 6, 2, 10, 0);
    let names = ["a-1", "B-2", "_x", "é-3", "Z", "b", "A"];
    let mut batch = Vec::new();
    for cluster in ["prod", "Prod", "_ops"] {
        let mut fp = footprint(Some(cluster), t0, 1, &m);
        for (pod, name) in fp.pods.iter_mut().zip(names.iter().cycle()) {
            pod.pod = Arc::from(format!("{name}-{}", pod.pod));
            pod.namespace = Arc::from(if name.starts_with('_') {
                "Kube"
            } else {
                "apps"
            });
        }
        batch.push(fp);
    }
    repo.write_footprints(&batch).await.expect("writes");
    let mut want: Vec<_> = batch
        .iter()
        .flat_map(|fp| WindowRecords::from_footprint(fp).pods)
        .collect();
    want.sort_by(|a, b| {
        (a.window_start, &a.cluster, &a.namespace, &a.pod).cmp(&(
            b.window_start,
            &b.cluster,
            &b.namespace,
            &b.pod,
        ))
    });
    for page in [1, 2, 5] {
        let mut pager = PodRowPager::new(&repo, everything(), page);
        let mut got = Vec::new();
        while let Some(rows) = pager.next_page().await.expect("page") {
            got.extend(rows);
        }
        assert_eq!(got, want, "pages of {page}");
    }
    for group_by in [GroupBy::Pod, GroupBy::Cluster, GroupBy::Namespace] {
        assert_eq!(
            repo.aggregate(&ReportQuery::new(everything(), group_by))
                .await
                .expect("aggregates"),
            aggregate(&batch, group_by, None),
            "by {group_by}"
        );
    }
    repo.pool().close().await;
}

fn keep_everything() -> RetentionPolicy {
    RetentionPolicy::new(Duration::days(365 * 100), Duration::days(365 * 100), None)
        .expect("policy")
}

/// Every grouping, per `periods`, over `range`, equals the in-memory aggregate of `stored`.
async fn assert_reports(
    repo: &PostgresStore,
    stored: &[Footprint],
    range: TimeRange,
    periods: &[Option<Period>],
    when: &str,
) {
    for group_by in GroupBy::ALL {
        for period in periods {
            let got = repo
                .aggregate(&ReportQuery::new(range, group_by).with_period(*period))
                .await
                .unwrap_or_else(|e| panic!("{when}: aggregate: {e:#}"));
            let want = aggregate(
                stored.iter().filter(|fp| range.contains(fp.window_start)),
                group_by,
                *period,
            );
            assert_eq!(
                got, want,
                "{when}: over {range} by {group_by} per {period:?}"
            );
        }
    }
}

/// Late writes into every other rolled-up hour leave plans of more ranges than are compared one
/// by one (raw rows and hourly roll-ups alternate, 24 ranges each): the ranges bound as arrays
/// still read every row once, from a whole range or one that starts and ends inside hours.
#[tokio::test]
async fn plans_of_many_ranges_read_every_row_once() {
    let schema = Schema::new().await;
    let repo = schema.open().await;
    let m = full();
    let t0 = at(2025, 6, 1, 0, 0);
    // Three days of two windows an hour (the third day stays rolled up whole).
    let mut stored: Vec<Footprint> = (0..72 * 2)
        .map(|i| {
            footprint(
                Some("prod"),
                t0 + Duration::minutes(30 * i + 10),
                i as u64,
                &m,
            )
        })
        .collect();
    repo.write_footprints(&stored).await.expect("writes");
    let first = repo
        .maintain(&keep_everything(), t0 + Duration::days(4))
        .await
        .expect("maintains");
    assert_eq!((first.hours_rolled, first.days_rolled), (72, 3));
    let rewritten: Vec<Footprint> = (0..48)
        .step_by(2)
        .map(|h| {
            footprint(
                Some("prod"),
                t0 + Duration::minutes(60 * h + 10),
                500 + h as u64,
                &m,
            )
        })
        .collect();
    repo.write_footprints(&rewritten)
        .await
        .expect("late writes");
    for fp in &rewritten {
        let slot = stored
            .iter_mut()
            .find(|s| s.window_start == fp.window_start)
            .expect("a stored window");
        *slot = fp.clone();
    }
    let periods = [None, Some(Period::Hour), Some(Period::Day)];
    assert_reports(&repo, &stored, everything(), &periods, "late writes").await;
    let inside = TimeRange::new(
        t0 + Duration::minutes(20),
        t0 + Duration::hours(70) + Duration::minutes(20),
    )
    .expect("range");
    assert_reports(
        &repo,
        &stored,
        inside,
        &periods,
        "late writes, inside hours",
    )
    .await;
    let again = repo
        .maintain(&keep_everything(), t0 + Duration::days(4))
        .await
        .expect("maintains");
    assert_eq!((again.hours_rolled, again.days_rolled), (24, 2));
    assert_reports(&repo, &stored, everything(), &periods, "rolled up again").await;
}

/// Rows stored under schema version 2 are marked for roll-up by migration 3: the first
/// `maintain` rolls up each of their hours and days, and reports are unchanged.
#[tokio::test]
async fn rows_stored_before_the_rollup_migration_are_rolled_up() {
    let source = Schema::new().await;
    let history = history();
    source
        .open()
        .await
        .write_footprints(&history)
        .await
        .expect("writes");
    let target = Schema::new().await;
    let mut conn = target.connect().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut migrator = sqlx::migrate::Migrator::new(dir)
        .await
        .expect("reads the migrations");
    migrator.migrations = migrator
        .migrations
        .iter()
        .filter(|m| m.version <= 2)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    migrator
        .run(&mut conn)
        .await
        .expect("migrates to version 2");
    sqlx::raw_sql(&format!(
        "INSERT INTO pod_footprints SELECT * FROM {0}.pod_footprint_rows; \
         INSERT INTO node_footprints SELECT * FROM {0}.node_footprints",
        source.name
    ))
    .execute(&mut conn)
    .await
    .expect("copies the rows");
    let (repo, report) = PostgresStore::open(&target.url, OpenOptions::default())
        .await
        .expect("opens");
    assert_eq!(report.applied.len(), 3);
    assert_eq!(report.applied[0].description, "rollups");
    assert_eq!(report.applied[1].description, "pod labels");
    assert_eq!(report.applied[2].description, "row notes");
    assert!(
        repo.pod_labels(everything(), None)
            .await
            .expect("reads pod labels")
            .is_empty(),
        "rows stored before labels were kept have no labels (unknown, not none)"
    );
    let periods = [None, Some(Period::Day), Some(Period::Week)];
    assert_reports(&repo, &history, everything(), &periods, "migrated").await;
    let hours: BTreeSet<_> = history
        .iter()
        .map(|fp| fp.window_start.format("%F %H").to_string())
        .collect();
    let days: BTreeSet<_> = history
        .iter()
        .map(|fp| fp.window_start.date_naive())
        .collect();
    let policy = RetentionPolicy::new(Duration::hours(1), Duration::days(1), None).expect("policy");
    let summary = repo
        .maintain(&policy, at(2025, 6, 3, 0, 0))
        .await
        .expect("maintains");
    assert_eq!(
        (summary.hours_rolled, summary.days_rolled),
        (hours.len(), days.len())
    );
    assert_eq!(
        count_rows(&repo).await.expect("counts"),
        (0, 0),
        "all sealed"
    );
    assert_reports(
        &repo,
        &history,
        everything(),
        &periods,
        "rolled up and sealed",
    )
    .await;
}

/// Writers of three clusters rewrite a day of windows while `maintain` runs again and again, then
/// while a `maintain` seals their first hours: every write that succeeded counts once, with its
/// last figures; writes refused are refused as sealed (`Conflict`) and change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_racing_maintenance_are_never_lost() {
    let schema = Schema::new().await;
    let repo = Arc::new(schema.open().await);
    let t0 = at(2025, 6, 1, 0, 0);
    let starts: Vec<_> = (0..36).map(|i| t0 + Duration::minutes(20 * i)).collect();
    let clusters = ["a", "b", "c"];

    // Writes `pass` over every window of `cluster`, one window per batch; returns the windows
    // that were written (the others were refused as sealed).
    let write_pass = |cluster: &'static str, pass: u64| {
        let repo = repo.clone();
        let starts = starts.clone();
        tokio::spawn(async move {
            let m = full();
            let mut written = Vec::new();
            for (i, start) in starts.iter().enumerate() {
                let fp = footprint(Some(cluster), *start, pass * 100 + i as u64, &m);
                match repo.write_footprints(std::slice::from_ref(&fp)).await {
                    Ok(_) => written.push(fp),
                    Err(e) if e.kind() == StoreErrorKind::Conflict => {
                        assert!(e.message().contains("sealed history"), "{e}");
                    }
                    Err(e) => panic!("a write failed: {e:#}"),
                }
            }
            written
        })
    };
    // The last successful write of each (cluster, window).
    let mut stored = BTreeMap::new();
    let keep = |stored: &mut BTreeMap<_, _>, written: Vec<Footprint>| {
        for fp in written {
            stored.insert((fp.cluster.clone(), fp.window_start), fp);
        }
    };

    for pass in 0..2 {
        let writers: Vec<_> = clusters.iter().map(|c| write_pass(c, pass)).collect();
        while !writers.iter().all(tokio::task::JoinHandle::is_finished) {
            repo.maintain(&keep_everything(), t0 + Duration::days(1))
                .await
                .expect("maintains while writers write");
        }
        for w in writers {
            keep(&mut stored, w.await.expect("writer"));
        }
    }
    let expected: Vec<Footprint> = stored.values().cloned().collect();
    let periods = [None, Some(Period::Hour), Some(Period::Day)];
    assert_reports(
        &repo,
        &expected,
        everything(),
        &periods,
        "after racing roll-ups",
    )
    .await;
    repo.maintain(&keep_everything(), t0 + Duration::days(1))
        .await
        .expect("maintains");
    assert_reports(&repo, &expected, everything(), &periods, "rolled up").await;

    // Raw rows before 06:00 are sealed while the third pass is written.
    let seal = RetentionPolicy::new(Duration::hours(1), Duration::days(30), None).expect("policy");
    let writers: Vec<_> = clusters.iter().map(|c| write_pass(c, 2)).collect();
    tokio::time::sleep(StdDuration::from_millis(30)).await;
    let sealed = repo
        .maintain(&seal, t0 + Duration::hours(7))
        .await
        .expect("seals");
    assert_eq!(sealed.state.raw_before, Some(t0 + Duration::hours(6)));
    for w in writers {
        keep(&mut stored, w.await.expect("writer"));
    }
    let expected: Vec<Footprint> = stored.values().cloned().collect();
    // Hourly detail before 2025-05-02 is gone (30 days): reports over the day itself.
    let day = TimeRange::new(t0, t0 + Duration::days(1)).expect("range");
    assert_reports(&repo, &expected, day, &periods, "after racing the seal").await;
    repo.maintain(&seal, t0 + Duration::hours(7))
        .await
        .expect("maintains");
    assert_reports(&repo, &expected, day, &periods, "rolled up after the seal").await;
}

/// Eight stores opened at once on a database that does not exist yet (each on a thread and a
/// runtime of its own, as eight processes would): one creates it, every one finds the schema
/// current, and every window lands.
#[tokio::test]
async fn concurrent_first_opens_all_migrate_and_write() {
    let database = Database::named(unique("gk_fresh"));
    let m = methodology(Methodology::Full, "gkdata-0123456789ab");
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let url = database.url.clone();
            let m = m.clone();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let (store, _) = PostgresStore::open(&url, OpenOptions::default())
                        .await
                        .map_err(|e| format!("open {i}: {e}"))?;
                    let window = footprint(
                        Some("c"),
                        at(2025, 6, 2, 10, 0) + Duration::minutes(5 * i),
                        u64::try_from(i).unwrap(),
                        &m,
                    );
                    store
                        .write_footprints(&[window])
                        .await
                        .map_err(|e| format!("write {i}: {e}"))?;
                    Ok::<_, String>(())
                })
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap().unwrap_or_else(|e| panic!("{e}"));
    }
    let store = PostgresStore::open(&database.url, OpenOptions::default())
        .await
        .unwrap()
        .0;
    let per_window = footprint(Some("c"), at(2025, 6, 2, 10, 0), 0, &m)
        .pods
        .len();
    let (pod_rows, _) = count_rows(&store).await.unwrap();
    assert_eq!(pod_rows, 8 * u64::try_from(per_window).unwrap());
}

/// A window of `pods` pods (the fixture's pods, renamed), large enough that its `COPY` is sent
/// in several chunks.
fn large_window(cluster: &str, seed: u64, pods: usize) -> Footprint {
    let mut fp = footprint(Some(cluster), at(2025, 6, 2, 10, 0), seed, &full());
    let base = fp.pods.clone();
    fp.pods = (0..pods)
        .map(|i| {
            let mut p = base[i % base.len()].clone();
            p.pod = Arc::from(format!("{}-{i}", p.pod));
            p
        })
        .collect();
    fp
}

/// Every stored pod row, through the pager.
async fn all_rows(repo: &dyn FootprintRepository) -> Vec<greenkube_core::ports::PodRecord> {
    let mut pager = PodRowPager::new(repo, everything(), 2_000);
    let mut out = Vec::new();
    while let Some(rows) = pager.next_page().await.expect("reads a page") {
        out.extend(rows);
    }
    out
}

/// Pod rows go in with a binary `COPY` sent in chunks: a window of 6,000 pods (several
/// megabytes) reads back exactly as SQLite in memory (written through sqlx statements) reads
/// it, field for field; writing it again replaces it (same rows, all counted as replaced).
#[tokio::test]
async fn a_large_window_copies_exactly_and_rewrites_idempotently() {
    let schema = Schema::new().await;
    let repo = schema.open().await;
    let (reference, _) = greenkube_adapters::store::sqlite::SqliteStore::open(
        "sqlite::memory:",
        OpenOptions::default(),
    )
    .await
    .expect("opens in memory");
    let batch = vec![
        large_window("prod", 7, 6_000),
        large_window("staging", 8, 10),
    ];
    let first = repo.write_footprints(&batch).await.expect("writes");
    assert_eq!(first.pod_rows, 6_010);
    assert_eq!(first.replaced_pod_rows, 0);
    reference.write_footprints(&batch).await.expect("writes");
    let stored = all_rows(&repo).await;
    assert_eq!(stored.len(), 6_010);
    assert_eq!(stored, all_rows(&reference).await);
    let again = repo.write_footprints(&batch).await.expect("rewrites");
    assert_eq!(again.replaced_pod_rows, 6_010);
    assert_eq!(all_rows(&repo).await, stored);
}

/// Every stored pod row, through the pager.
async fn all_pod_rows(repo: &dyn FootprintRepository) -> Vec<greenkube_core::ports::PodRecord> {
    let mut pager = greenkube_core::ports::PodRowPager::new(repo, everything(), 500);
    let mut out = Vec::new();
    while let Some(rows) = pager.next_page().await.expect("reads a page") {
        out.extend(rows);
    }
    out
}

/// Pod rows stored at schema 4 (reasons and methodology on every row) read back as they were
/// after migration 5, beside rows written since with a note; an old window written again is
/// replaced; a noted row stores only the columns' defaults; writers adding the same new note at
/// once both land, on one note.
#[tokio::test]
async fn rows_stored_before_row_notes_read_as_before_beside_new_ones() {
    let all = history();
    let (old, new) = all.split_at(all.len() / 2);
    let source = Schema::new().await;
    let current = source.open().await;
    current.write_footprints(old).await.expect("writes");
    let target = Schema::new().await;
    let mut conn = target.connect().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut migrator = sqlx::migrate::Migrator::new(dir)
        .await
        .expect("reads the migrations");
    migrator.migrations = migrator
        .migrations
        .iter()
        .filter(|m| m.version <= 4)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    migrator
        .run(&mut conn)
        .await
        .expect("migrates to version 4");
    sqlx::raw_sql(&format!(
        "INSERT INTO pod_footprints SELECT * FROM {0}.pod_footprint_rows; \
         INSERT INTO node_footprints SELECT * FROM {0}.node_footprints",
        source.name
    ))
    .execute(&mut conn)
    .await
    .expect("copies the rows as version 4 stored them");
    let (migrated, report) = PostgresStore::open(&target.url, OpenOptions::default())
        .await
        .expect("opens and migrates");
    assert_eq!(report.applied.len(), 1);
    assert_eq!(report.applied[0].description, "row notes");
    let before = all_pod_rows(&current).await;
    assert!(!before.is_empty());
    assert_eq!(
        all_pod_rows(&migrated).await,
        before,
        "old rows read as before"
    );

    // Two writers add the same new notes at once (another methodology version).
    let mut m = full();
    m.version = "9.9.9".to_string();
    let t0 = at(2026, 1, 1, 0, 0);
    let racing = |cluster: &'static str| {
        let repo = migrated.clone();
        let m = m.clone();
        tokio::spawn(async move {
            let batch: Vec<Footprint> = (0..4)
                .map(|i| footprint(Some(cluster), t0 + Duration::minutes(5 * i), 7, &m))
                .collect();
            repo.write_footprints(&batch).await.map(|_| batch)
        })
    };
    let (a, b) = (racing("east"), racing("west"));
    let a = a.await.expect("joins").expect("writes");
    let b = b.await.expect("joins").expect("writes");
    for (repo, batches) in [
        (&migrated, [new, &old[..2], &a, &b]),
        (&current, [new, &old[..2], &a, &b]),
    ] {
        for batch in batches {
            repo.write_footprints(batch).await.expect("writes");
        }
    }
    let both = all_pod_rows(&migrated).await;
    assert_eq!(both, all_pod_rows(&current).await);
    let query = ReportQuery::new(everything(), GroupBy::Workload);
    assert_eq!(
        migrated.aggregate(&query).await.expect("aggregates"),
        current.aggregate(&query).await.expect("aggregates")
    );
    let (own, noted, plain): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE note IS NULL), COUNT(*) FILTER (WHERE note IS NOT NULL), \
         COUNT(*) FILTER (WHERE note IS NOT NULL AND estimation_reasons = '[]' \
         AND methodology = '' AND methodology_version = '' AND data_version = '' \
         AND idle_policy = '') FROM pod_footprints",
    )
    .fetch_one(&mut conn)
    .await
    .expect("counts");
    let rewritten: usize = old[..2].iter().map(|fp| fp.pods.len()).sum();
    let old_rows: usize = old.iter().map(|fp| fp.pods.len()).sum();
    assert_eq!(
        own as usize,
        old_rows - rewritten,
        "old rows keep their own notes"
    );
    assert_eq!((noted as usize, plain), (both.len() - own as usize, noted));
    let versions: Vec<(String, i64)> =
        sqlx::query_as("SELECT methodology_version, COUNT(*) FROM row_notes GROUP BY 1 ORDER BY 1")
            .fetch_all(&mut conn)
            .await
            .expect("counts notes");
    let reasons_lists: BTreeSet<Vec<String>> = a
        .iter()
        .flat_map(|fp| fp.pods.iter())
        .map(|p| p.reasons.iter().map(ToString::to_string).collect())
        .collect();
    assert_eq!(
        versions.last(),
        Some(&(
            "9.9.9".to_string(),
            i64::try_from(reasons_lists.len()).expect("a few")
        )),
        "one note per distinct set, whichever writer added it: {versions:?}"
    );
}
