//! The contract of [`FootprintRepository`], one `async fn` per rule. Each takes an **empty**
//! repository and panics (with a message naming the rule) when the repository breaks it.
//! [`crate::footprint_repository_contract_suite!`] turns them into one test each.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::aggregate::{AggregateRow, GroupBy, Period, aggregate};
use crate::footprint::Footprint;
use crate::methodology::{IdlePolicy, Methodology};
use crate::ports::{
    FootprintRepository, PodColumns, PodCursor, PodRecord, PodRowPager, ReportQuery,
    StoreErrorKind, TimeRange, WindowRecords,
};
use crate::ranged::Ranged;
use crate::testsuite::fixtures::{
    at, engine_history, footprint, history, history_window_starts, methodology,
};

/// Every window greenkube can store.
fn everything() -> TimeRange {
    range(at(1970, 1, 1, 0, 0), at(9999, 12, 31, 23, 59))
}

fn range(from: DateTime<Utc>, to: DateTime<Utc>) -> TimeRange {
    TimeRange::new(from, to).unwrap_or_else(|e| panic!("fixture range: {e}"))
}

async fn write(repo: &dyn FootprintRepository, batch: &[Footprint]) {
    if let Err(e) = repo.write_footprints(batch).await {
        panic!("{}: writing a valid batch failed: {e}", repo.backend());
    }
}

async fn query(repo: &dyn FootprintRepository, q: ReportQuery) -> Vec<AggregateRow> {
    repo.aggregate(&q)
        .await
        .unwrap_or_else(|e| panic!("{}: aggregate {q:?} failed: {e}", repo.backend()))
}

/// Every stored pod row in a range, through the pager.
async fn read_all(repo: &dyn FootprintRepository, range: TimeRange) -> Vec<PodRecord> {
    let mut pager = PodRowPager::new(repo, range, 500);
    let mut out = Vec::new();
    loop {
        match pager.next_page().await {
            Ok(Some(rows)) => out.extend(rows),
            Ok(None) => return out,
            Err(e) => panic!("{}: reading pod rows failed: {e}", repo.backend()),
        }
    }
}

fn key(r: &PodRecord) -> (DateTime<Utc>, Option<Arc<str>>, Arc<str>, Arc<str>) {
    (
        r.window_start,
        r.cluster.clone(),
        r.namespace.clone(),
        r.pod.clone(),
    )
}

/// The pod rows a store holds after writing `footprints` in order, in key order.
fn expected_rows(footprints: &[Footprint], range: TimeRange) -> Vec<PodRecord> {
    let mut latest: Vec<&Footprint> = Vec::new();
    for fp in footprints {
        let cluster = WindowRecords::from_footprint(fp).cluster;
        latest.retain(|f| {
            !(f.window_start == fp.window_start
                && WindowRecords::from_footprint(f).cluster == cluster)
        });
        latest.push(fp);
    }
    let mut rows: Vec<PodRecord> = latest
        .iter()
        .filter(|fp| range.contains(fp.window_start))
        .flat_map(|fp| WindowRecords::from_footprint(fp).pods)
        .collect();
    rows.sort_by_key(key);
    rows
}

fn in_range(footprints: &[Footprint], range: TimeRange) -> Vec<&Footprint> {
    footprints
        .iter()
        .filter(|fp| range.contains(fp.window_start))
        .collect()
}

fn periods() -> impl Iterator<Item = Option<Period>> {
    std::iter::once(None).chain(Period::ALL.into_iter().map(Some))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

fn close_ranged(a: Ranged, b: Ranged) -> bool {
    close(a.point, b.point) && close(a.low, b.low) && close(a.high, b.high)
}

fn assert_close_rows(backend: &str, what: &str, got: &[AggregateRow], want: &[AggregateRow]) {
    let keys = |rows: &[AggregateRow]| rows.iter().map(|r| r.key.clone()).collect::<Vec<_>>();
    assert_eq!(keys(got), keys(want), "{backend}: {what}: group keys");
    for (g, w) in got.iter().zip(want) {
        let same = close_ranged(g.energy_joules, w.energy_joules)
            && close_ranged(g.co2e_grams, w.co2e_grams)
            && close_ranged(g.embodied_co2e_grams, w.embodied_co2e_grams)
            && close(g.cost.0, w.cost.0)
            && (g.rows, g.estimated_rows, g.rows_without_cost)
                == (w.rows, w.estimated_rows, w.rows_without_cost)
            && (g.first_window, g.last_window) == (w.first_window, w.last_window);
        assert!(same, "{backend}: {what}: got {g:#?}\nexpected {w:#?}");
    }
}

/// Every field of a pod row reads back as written: keys, owner and workload, node, zone,
/// provider, instance type, usage and requests, figures with their intervals, cost (and its
/// absence), PUE, grid intensity, estimated flag and reasons, methodology and data version.
pub async fn round_trip_keeps_every_field(repo: &dyn FootprintRepository) {
    let mut batch = vec![footprint(
        Some("prod"),
        at(2025, 6, 2, 10, 0),
        3,
        &methodology(Methodology::Full, "gkdata-0123456789ab"),
    )];
    batch.extend(engine_history());
    write(repo, &batch).await;
    let got = read_all(repo, everything()).await;
    let want = expected_rows(&batch, everything());
    assert_eq!(got.len(), want.len(), "{}: row count", repo.backend());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "{}: stored row differs", repo.backend());
    }
}

/// Writing the same window twice leaves one row per pod and the same totals; the second write
/// reports the rows it replaced.
pub async fn rewriting_a_window_is_idempotent(repo: &dyn FootprintRepository) {
    let m = methodology(Methodology::Full, "gkdata-0123456789ab");
    let fp = footprint(Some("prod"), at(2025, 6, 2, 10, 0), 1, &m);
    let first = repo
        .write_footprints(std::slice::from_ref(&fp))
        .await
        .unwrap_or_else(|e| panic!("{}: first write: {e}", repo.backend()));
    assert_eq!(
        (
            first.windows,
            first.pod_rows,
            first.node_rows,
            first.replaced_pod_rows
        ),
        (1, fp.pods.len(), fp.nodes.len(), 0),
        "{}: first write summary",
        repo.backend()
    );
    let q = ReportQuery::new(everything(), GroupBy::Cluster);
    let before = query(repo, q.clone()).await;
    let second = repo
        .write_footprints(std::slice::from_ref(&fp))
        .await
        .unwrap_or_else(|e| panic!("{}: second write: {e}", repo.backend()));
    assert_eq!(
        second.replaced_pod_rows,
        fp.pods.len(),
        "{}: the second write replaces every row",
        repo.backend()
    );
    assert_eq!(read_all(repo, everything()).await.len(), fp.pods.len());
    assert_eq!(
        query(repo, q).await,
        before,
        "{}: totals changed after writing the same window again",
        repo.backend()
    );
    assert_eq!(before, aggregate([&fp], GroupBy::Cluster, None));
}

/// A restated window (fewer pods, other figures, another methodology) replaces the stored one
/// entirely: no stale pod row, no stale node row.
pub async fn restating_a_window_replaces_it(repo: &dyn FootprintRepository) {
    let start = at(2025, 6, 2, 10, 0);
    let old = footprint(
        Some("prod"),
        start,
        1,
        &methodology(Methodology::Classic, "gkdata-0000000000a1"),
    );
    let mut new = footprint(
        Some("prod"),
        start,
        9,
        &methodology(Methodology::Full, "gkdata-0000000000b2"),
    );
    new.pods.remove(2);
    new.nodes.remove(1);
    let neighbour = footprint(
        Some("prod"),
        start + Duration::minutes(5),
        2,
        &old.methodology,
    );
    write(repo, &[old, neighbour.clone()]).await;
    write(repo, std::slice::from_ref(&new)).await;
    let all = [new.clone(), neighbour.clone()];
    assert_eq!(
        read_all(repo, everything()).await,
        expected_rows(&all, everything()),
        "{}: restated window",
        repo.backend()
    );
    for group_by in [GroupBy::Node, GroupBy::Pod] {
        assert_eq!(
            query(repo, ReportQuery::new(everything(), group_by)).await,
            aggregate(&all, group_by, None),
            "{}: restated window, by {group_by}",
            repo.backend()
        );
    }
}

/// Within one batch, a later footprint of the same window replaces an earlier one.
pub async fn same_window_twice_in_a_batch_keeps_the_last(repo: &dyn FootprintRepository) {
    let m = methodology(Methodology::Full, "gkdata-0123456789ab");
    let start = at(2025, 6, 2, 10, 0);
    let a = footprint(Some("prod"), start, 1, &m);
    let b = footprint(Some("prod"), start, 2, &m);
    write(repo, &[a, b.clone()]).await;
    assert_eq!(
        read_all(repo, everything()).await,
        expected_rows(std::slice::from_ref(&b), everything()),
        "{}: the last footprint of a window wins",
        repo.backend()
    );
}

/// A batch whose last window has an invalid row (NaN energy) fails with `InvalidData` naming
/// the pod, and leaves the store exactly as it was: the windows before it in the batch are
/// absent and the window it would have replaced is intact. The corrected batch then succeeds.
pub async fn batch_with_an_invalid_row_leaves_nothing(repo: &dyn FootprintRepository) {
    let m = methodology(Methodology::Full, "gkdata-0123456789ab");
    let start = at(2025, 6, 2, 10, 0);
    let stored = footprint(Some("prod"), start, 1, &m);
    write(repo, std::slice::from_ref(&stored)).await;
    let before_rows = read_all(repo, everything()).await;
    let before_totals = query(repo, ReportQuery::new(everything(), GroupBy::Node)).await;

    let restated = footprint(Some("prod"), start, 5, &m);
    let other = footprint(Some("staging"), start, 6, &m);
    let mut bad = footprint(Some("prod"), start + Duration::minutes(5), 7, &m);
    let last = bad.pods.len() - 1;
    bad.pods[last].energy_joules.point = f64::NAN;
    let bad_pod = bad.pods[last].pod.to_string();
    let batch = vec![restated, other, bad];
    let err = repo
        .write_footprints(&batch)
        .await
        .err()
        .unwrap_or_else(|| panic!("{}: a batch with a NaN row was accepted", repo.backend()));
    assert_eq!(
        err.kind(),
        StoreErrorKind::InvalidData,
        "{}: {err}",
        repo.backend()
    );
    assert!(
        err.to_string().contains(&bad_pod),
        "{}: the error names the pod: {err}",
        repo.backend()
    );
    assert_eq!(
        read_all(repo, everything()).await,
        before_rows,
        "{}: a failed batch changed the stored rows",
        repo.backend()
    );
    assert_eq!(
        query(repo, ReportQuery::new(everything(), GroupBy::Node)).await,
        before_totals,
        "{}: a failed batch changed the node rows",
        repo.backend()
    );

    let mut fixed = batch;
    let energy = &mut fixed[2].pods[last].energy_joules;
    energy.point = energy.low;
    write(repo, &fixed).await;
    assert_eq!(
        read_all(repo, everything()).await,
        expected_rows(&fixed, everything()),
        "{}: retrying the corrected batch",
        repo.backend()
    );
}

/// Bad windows are refused with `InvalidData` and leave nothing: a window that ends before it
/// starts, duplicate pods, a negative cost, an interval that does not contain its point, an
/// empty namespace, a node twice.
pub async fn invalid_windows_are_rejected(repo: &dyn FootprintRepository) {
    let m = methodology(Methodology::Full, "gkdata-0123456789ab");
    let start = at(2025, 6, 2, 10, 0);
    let good = || footprint(Some("prod"), start, 1, &m);
    let mut cases: Vec<(&str, Footprint)> = Vec::new();
    let mut fp = good();
    fp.window_end = fp.window_start;
    cases.push(("empty window", fp));
    let mut fp = good();
    fp.pods.push(fp.pods[0].clone());
    cases.push(("duplicate pod", fp));
    let mut fp = good();
    fp.pods[1].cost = Some(crate::units::Money(-1.0));
    cases.push(("negative cost", fp));
    let mut fp = good();
    fp.pods[2].co2e_grams.high = fp.pods[2].co2e_grams.point / 4.0;
    cases.push(("point above its interval", fp));
    let mut fp = good();
    fp.pods[0].namespace = Arc::from("");
    cases.push(("empty namespace", fp));
    let mut fp = good();
    fp.nodes.push(fp.nodes[0].clone());
    cases.push(("duplicate node", fp));
    let mut fp = good();
    fp.nodes[0].overhead_co2e_grams.point = f64::INFINITY;
    cases.push(("infinite node figure", fp));
    for (what, fp) in cases {
        let err = repo
            .write_footprints(&[good(), fp])
            .await
            .err()
            .unwrap_or_else(|| panic!("{}: {what} accepted", repo.backend()));
        assert_eq!(
            err.kind(),
            StoreErrorKind::InvalidData,
            "{}: {what}: {err}",
            repo.backend()
        );
        assert!(
            read_all(repo, everything()).await.is_empty(),
            "{}: {what}: a refused batch left rows",
            repo.backend()
        );
    }
}

/// Aggregating in the store gives exactly what `aggregate()` gives in memory on the same
/// footprints, for every grouping and every period, over the whole history and over a part of
/// it (hand-built figures are exact in binary, so sums are compared with `==`).
pub async fn aggregates_match_in_memory_for_every_grouping_and_period(
    repo: &dyn FootprintRepository,
) {
    let history = history();
    write(repo, &history).await;
    let part = range(at(2024, 12, 30, 0, 0), at(2025, 6, 2, 10, 55));
    for r in [everything(), part] {
        let footprints = in_range(&history, r);
        for group_by in GroupBy::ALL {
            for period in periods() {
                let got = query(repo, ReportQuery::new(r, group_by).with_period(period)).await;
                let want = aggregate(footprints.iter().copied(), group_by, period);
                assert_eq!(
                    got,
                    want,
                    "{}: aggregate over {r} by {group_by} per {period:?}",
                    repo.backend()
                );
            }
            // One cluster alone: its pod and node rows, none of the other clusters' nor of
            // the rows written without a cluster name; an unknown cluster reads nothing.
            for cluster in ["prod", "nowhere"] {
                for period in [None, Some(Period::Day)] {
                    let q = ReportQuery::new(r, group_by)
                        .with_period(period)
                        .in_cluster(Some(Arc::from(cluster)));
                    let got = query(repo, q).await;
                    let want = aggregate(
                        footprints
                            .iter()
                            .copied()
                            .filter(|fp| fp.cluster.as_deref() == Some(cluster)),
                        group_by,
                        period,
                    );
                    assert_eq!(
                        got,
                        want,
                        "{}: aggregate of cluster {cluster} over {r} by {group_by} per {period:?}",
                        repo.backend()
                    );
                }
            }
        }
    }
}

/// Engine-made footprints (real figures) aggregate to the in-memory sums up to floating-point
/// summation order (relative 1e-9), with identical keys, counts and windows; the cluster total
/// of one window equals the footprint's own totals.
pub async fn aggregates_engine_footprints(repo: &dyn FootprintRepository) {
    let history = engine_history();
    write(repo, &history).await;
    for group_by in GroupBy::ALL {
        for period in periods() {
            let got = query(
                repo,
                ReportQuery::new(everything(), group_by).with_period(period),
            )
            .await;
            let want = aggregate(&history, group_by, period);
            let what = format!("by {group_by} per {period:?}");
            assert_close_rows(repo.backend(), &what, &got, &want);
        }
    }
    let fp = &history[0];
    let one = range(fp.window_start, fp.window_end);
    let got = query(repo, ReportQuery::new(one, GroupBy::Cluster)).await;
    let mine: Vec<AggregateRow> = got
        .into_iter()
        .filter(|r| r.key.cluster == fp.cluster)
        .collect();
    assert_eq!(mine.len(), 1, "{}: one cluster row", repo.backend());
    let t = &fp.totals;
    assert!(
        close_ranged(mine[0].energy_joules, t.energy_joules)
            && close_ranged(mine[0].co2e_grams, t.co2e_grams)
            && close_ranged(mine[0].embodied_co2e_grams, t.embodied_co2e_grams)
            && close(mine[0].cost.0, t.cost.0),
        "{}: cluster row {:#?} differs from the footprint totals {t:#?}",
        repo.backend(),
        mine[0]
    );
}

/// A window belongs to `[from, to)` by its start: a window starting at `to` is out, one
/// starting at `from` is in, one that started before `from` is out even if it ends after it.
pub async fn ranges_are_half_open(repo: &dyn FootprintRepository) {
    let m = methodology(Methodology::Full, "gkdata-0123456789ab");
    let t0 = at(2025, 6, 2, 10, 0);
    let five = Duration::minutes(5);
    let windows: Vec<Footprint> = (0..3)
        .map(|i| footprint(Some("prod"), t0 + five * i, i as u64, &m))
        .collect();
    write(repo, &windows).await;
    let cases = [
        (t0 + five, t0 + five * 2, vec![1]),
        (t0, t0 + five, vec![0]),
        (t0 + Duration::minutes(4), t0 + five, vec![]),
        (t0 + five, t0 + five, vec![]),
        (t0 - five, t0 + Duration::minutes(11), vec![0, 1, 2]),
        (t0 + Duration::seconds(1), t0 + five * 3, vec![1, 2]),
        // Bounds finer than the microseconds windows are stored with.
        (
            t0 + Duration::nanoseconds(1),
            t0 + five + Duration::nanoseconds(1),
            vec![1],
        ),
        (
            t0 - Duration::nanoseconds(999),
            t0 + five - Duration::nanoseconds(1),
            vec![0],
        ),
    ];
    for (from, to, expected) in cases {
        let r = range(from, to);
        let chosen: Vec<Footprint> = expected.iter().map(|&i| windows[i].clone()).collect();
        for group_by in [GroupBy::Cluster, GroupBy::Namespace] {
            assert_eq!(
                query(repo, ReportQuery::new(r, group_by)).await,
                aggregate(&chosen, group_by, None),
                "{}: aggregate over {r}",
                repo.backend()
            );
        }
        assert_eq!(
            read_all(repo, r).await,
            expected_rows(&chosen, everything()),
            "{}: pod rows over {r}",
            repo.backend()
        );
    }
}

/// Week labels are ISO weeks with the ISO week-numbering year across New Year (2020-W53 runs
/// into January 2021; 2024-12-30 is in 2025-W01), months and years are calendar ones, hours
/// and days are UTC.
pub async fn iso_weeks_and_months_across_new_year(repo: &dyn FootprintRepository) {
    let m = methodology(Methodology::Full, "gkdata-0123456789ab");
    let windows: Vec<Footprint> = history_window_starts()
        .into_iter()
        .enumerate()
        .map(|(i, start)| footprint(Some("prod"), start, i as u64, &m))
        .collect();
    write(repo, &windows).await;
    let labels = |rows: &[AggregateRow]| -> Vec<(String, usize)> {
        rows.iter()
            .map(|r| (r.key.period.clone().unwrap_or_default(), r.rows))
            .collect()
    };
    let pods = windows[0].pods.len();
    let weeks = query(
        repo,
        ReportQuery::new(everything(), GroupBy::Cluster).with_period(Some(Period::Week)),
    )
    .await;
    let expected: Vec<(String, usize)> = [
        ("2020-W53", 2),
        ("2021-W01", 1),
        ("2024-W52", 1),
        ("2025-W01", 5),
        ("2025-W02", 1),
        ("2025-W09", 2),
        ("2025-W23", 4),
    ]
    .into_iter()
    .map(|(l, n)| (l.to_string(), n * pods))
    .collect();
    assert_eq!(
        labels(&weeks),
        expected,
        "{}: ISO week labels",
        repo.backend()
    );
    let months = query(
        repo,
        ReportQuery::new(everything(), GroupBy::Cluster).with_period(Some(Period::Month)),
    )
    .await;
    let expected: Vec<(String, usize)> = [
        ("2020-12", 1),
        ("2021-01", 2),
        ("2024-12", 3),
        ("2025-01", 4),
        ("2025-02", 1),
        ("2025-03", 1),
        ("2025-06", 4),
    ]
    .into_iter()
    .map(|(l, n)| (l.to_string(), n * pods))
    .collect();
    assert_eq!(
        labels(&months),
        expected,
        "{}: month labels",
        repo.backend()
    );
    let hours = query(
        repo,
        ReportQuery::new(
            range(at(2025, 6, 2, 0, 0), at(2025, 6, 3, 0, 0)),
            GroupBy::Cluster,
        )
        .with_period(Some(Period::Hour)),
    )
    .await;
    assert_eq!(
        labels(&hours),
        vec![
            ("2025-06-02T10:00".to_string(), 3 * pods),
            ("2025-06-02T11:00".to_string(), pods)
        ],
        "{}: hour labels",
        repo.backend()
    );
    for period in Period::ALL {
        assert_eq!(
            query(
                repo,
                ReportQuery::new(everything(), GroupBy::Namespace).with_period(Some(period))
            )
            .await,
            aggregate(&windows, GroupBy::Namespace, Some(period)),
            "{}: by namespace per {period:?}",
            repo.backend()
        );
    }
}

/// Each row keeps the methodology, methodology version, data version and idle policy of the
/// footprint that produced it; restating one window changes only that window's rows.
pub async fn methodology_and_data_version_per_row(repo: &dyn FootprintRepository) {
    let t0 = at(2025, 6, 2, 10, 0);
    let classic = methodology(Methodology::Classic, "gkdata-0000000000a1");
    let mut full = methodology(Methodology::Full, "gkdata-0000000000b2");
    full.idle_policy = IdlePolicy::Overhead;
    let a = footprint(Some("prod"), t0, 1, &classic);
    let b = footprint(Some("prod"), t0 + Duration::minutes(5), 2, &full);
    write(repo, &[a.clone(), b.clone()]).await;
    let rows = read_all(repo, everything()).await;
    assert_eq!(rows.len(), a.pods.len() + b.pods.len());
    for r in &rows {
        let want = if r.window_start == t0 {
            &classic
        } else {
            &full
        };
        assert_eq!(
            &r.methodology,
            want,
            "{}: methodology of {}",
            repo.backend(),
            r.pod
        );
    }
    let restated = footprint(Some("prod"), t0, 1, &full);
    write(repo, std::slice::from_ref(&restated)).await;
    let rows = read_all(repo, everything()).await;
    assert!(
        rows.iter().all(|r| r.methodology == full),
        "{}: restated window keeps its new methodology",
        repo.backend()
    );
    assert!(
        rows.iter()
            .any(|r| r.methodology.data_version == "gkdata-0000000000b2")
    );
}

/// Paging visits every row of a range once, in key order, never returns more rows than asked,
/// and says there is no next page exactly on the last one; a zero limit is `InvalidData`.
pub async fn pages_visit_every_row_once(repo: &dyn FootprintRepository) {
    let history = history();
    write(repo, &history).await;
    let part = range(at(2024, 12, 30, 0, 0), at(2025, 3, 1, 0, 0));
    for r in [everything(), part] {
        let want = expected_rows(&history, r);
        for limit in [1, 7, want.len(), want.len() + 1, 100_000] {
            let mut got: Vec<PodRecord> = Vec::new();
            let mut cursor: Option<PodCursor> = None;
            loop {
                let page = repo
                    .read_pod_rows(r, cursor.as_ref(), limit)
                    .await
                    .unwrap_or_else(|e| panic!("{}: read page: {e}", repo.backend()));
                assert!(
                    page.rows.len() <= limit,
                    "{}: page too long",
                    repo.backend()
                );
                got.extend(page.rows);
                let remaining = want.len() - got.len().min(want.len());
                assert_eq!(
                    page.next.is_some(),
                    remaining > 0,
                    "{}: limit {limit}: `next` after {} of {} rows",
                    repo.backend(),
                    got.len(),
                    want.len()
                );
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            assert_eq!(got, want, "{}: pages of {limit} over {r}", repo.backend());
        }
    }
    let err = repo
        .read_pod_rows(everything(), None, 0)
        .await
        .err()
        .unwrap_or_else(|| panic!("{}: limit 0 accepted", repo.backend()));
    assert_eq!(err.kind(), StoreErrorKind::InvalidData);
}

/// Pages by column hold the rows, the order and the cursors of the pages by row.
pub async fn pod_columns_match_pod_rows(repo: &dyn FootprintRepository) {
    let history = history();
    write(repo, &history).await;
    let part = range(at(2024, 12, 30, 0, 0), at(2025, 3, 1, 0, 0));
    for r in [everything(), part] {
        for limit in [1, 5, 100_000] {
            let mut cursor: Option<PodCursor> = None;
            let mut pages = 0;
            loop {
                let rows = repo
                    .read_pod_rows(r, cursor.as_ref(), limit)
                    .await
                    .unwrap_or_else(|e| panic!("{}: read page: {e}", repo.backend()));
                let columns = repo
                    .read_pod_columns(r, cursor.as_ref(), limit)
                    .await
                    .unwrap_or_else(|e| panic!("{}: read page by column: {e}", repo.backend()));
                assert_eq!(
                    columns.columns,
                    PodColumns::from_rows(&rows.rows),
                    "{}: page {pages} of {limit} over {r}",
                    repo.backend()
                );
                assert_eq!(columns.next, rows.next, "{}: next cursor", repo.backend());
                pages += 1;
                match rows.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            assert!(pages > 1 || limit == 100_000, "{}: paged", repo.backend());
        }
    }
    let err = repo
        .read_pod_columns(everything(), None, 0)
        .await
        .err()
        .unwrap_or_else(|| panic!("{}: limit 0 accepted by column", repo.backend()));
    assert_eq!(err.kind(), StoreErrorKind::InvalidData);
}

/// The same window start and pod names in two clusters (and in a footprint naming none) are
/// separate rows; rewriting one cluster's window leaves the others alone.
pub async fn clusters_are_separate(repo: &dyn FootprintRepository) {
    let m = methodology(Methodology::Full, "gkdata-0123456789ab");
    let t0 = at(2025, 6, 2, 10, 0);
    let a = footprint(Some("a"), t0, 1, &m);
    let b = footprint(Some("b"), t0, 2, &m);
    let none = footprint(None, t0, 3, &m);
    let mut empty_name = footprint(Some(""), t0 + Duration::minutes(5), 4, &m);
    empty_name.pods.truncate(1);
    write(
        repo,
        &[a.clone(), b.clone(), none.clone(), empty_name.clone()],
    )
    .await;
    let a2 = footprint(Some("a"), t0, 5, &m);
    write(repo, std::slice::from_ref(&a2)).await;
    let all = [a2, b, none, empty_name];
    assert_eq!(
        read_all(repo, everything()).await,
        expected_rows(&all, everything()),
        "{}: clusters",
        repo.backend()
    );
    let by_cluster = query(repo, ReportQuery::new(everything(), GroupBy::Cluster)).await;
    let keys: Vec<Option<&str>> = by_cluster
        .iter()
        .map(|r| r.key.cluster.as_deref())
        .collect();
    assert_eq!(
        keys,
        vec![None, Some("a"), Some("b")],
        "{}: an empty cluster name is stored as none",
        repo.backend()
    );
}

/// Every pod written leaves one entry with its workload and the labels of its latest window;
/// rewriting an older window keeps them; ranges and clusters select entries by the span of
/// windows written (see [`FootprintRepository::pod_labels`]).
pub async fn pod_labels_keep_the_latest_window(repo: &dyn FootprintRepository) {
    use crate::labels::PodLabels;
    use crate::testsuite::fixtures::fixture_labels;
    let m = methodology(Methodology::Full, "gkdata-0123456789ab");
    let t0 = at(2025, 6, 2, 10, 0);
    let t1 = t0 + Duration::minutes(5);
    let t2 = t0 + Duration::hours(2);
    let relabel = |mut fp: Footprint, team: &str| {
        for pod in &mut fp.pods {
            if let Some(labels) = &pod.labels {
                let mut labels = (**labels).clone();
                labels.insert("team".into(), team.into());
                pod.labels = Some(Arc::new(labels));
            }
        }
        fp
    };
    let mut last = relabel(footprint(Some("prod"), t2, 3, &m), "moved");
    // One pod loses its labels in its latest window; another appears only there.
    last.pods[0].labels = None;
    last.pods.truncate(last.pods.len() - 1);
    let first = footprint(Some("prod"), t0, 1, &m);
    write(repo, &[first.clone(), last.clone()]).await;
    // Rewritten after the latest window: an older window does not change the labels.
    let middle = relabel(footprint(Some("prod"), t1, 2, &m), "older");
    let other = footprint(None, t1, 4, &m);
    write(repo, &[middle.clone(), other.clone()]).await;

    let entries = |fp: &Footprint, first_window, last_window| -> Vec<PodLabels> {
        fp.pods
            .iter()
            .map(|p| PodLabels {
                first_window,
                last_window,
                ..PodLabels::of_row(fp.cluster.clone(), p, fp.window_start)
            })
            .collect()
    };
    let mut prod = entries(&last, t0, t2);
    // The pod missing from the latest window keeps the labels of its own latest (t1).
    prod.extend(middle.pods.last().map(|p| PodLabels {
        first_window: t0,
        last_window: t1,
        ..PodLabels::of_row(Some("prod".into()), p, t1)
    }));
    assert_ne!(
        prod.last().and_then(|g| g.labels.clone()),
        first
            .pods
            .last()
            .and_then(|p| fixture_labels(&p.namespace, &p.pod)),
        "fixture: the rewritten window relabels the pod"
    );
    let mut expected = entries(&other, t1, t1);
    expected.extend(prod.iter().cloned());
    let order = |l: &PodLabels| (l.cluster.clone(), l.namespace.clone(), l.pod.clone());
    expected.sort_by_key(order);
    let read = |range, cluster: Option<&'static str>| async move {
        repo.pod_labels(range, cluster)
            .await
            .unwrap_or_else(|e| panic!("{}: pod_labels failed: {e}", repo.backend()))
    };
    assert_eq!(
        read(everything(), None).await,
        expected,
        "{}: pod labels of every cluster",
        repo.backend()
    );
    let mut prod_sorted = prod.clone();
    prod_sorted.sort_by_key(order);
    assert_eq!(
        read(everything(), Some("prod")).await,
        prod_sorted,
        "{}: pod labels of one cluster",
        repo.backend()
    );
    assert!(
        read(everything(), Some("nowhere")).await.is_empty(),
        "{}: an unknown cluster has no pod labels",
        repo.backend()
    );
    // After the gone pod's last window (t1) and from the start of the latest (t2).
    let late = read(
        range(t1 + Duration::minutes(1), t2 + Duration::minutes(1)),
        Some("prod"),
    )
    .await;
    assert_eq!(
        late.len(),
        last.pods.len(),
        "{}: pods whose windows end before the range are left out",
        repo.backend()
    );
    assert!(
        read(range(at(2025, 6, 1, 0, 0), t0), None).await.is_empty(),
        "{}: a range before every window has no pod",
        repo.backend()
    );
}

/// An empty store aggregates to no rows and reads no page.
pub async fn empty_store(repo: &dyn FootprintRepository) {
    for group_by in GroupBy::ALL {
        assert!(
            query(
                repo,
                ReportQuery::new(everything(), group_by).with_period(Some(Period::Day))
            )
            .await
            .is_empty(),
            "{}: empty store",
            repo.backend()
        );
    }
    let page = repo
        .read_pod_rows(everything(), None, 10)
        .await
        .unwrap_or_else(|e| panic!("{}: read empty store: {e}", repo.backend()));
    assert!(page.rows.is_empty() && page.next.is_none());
}
