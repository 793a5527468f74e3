//! The roll-up and retention rules of [`FootprintRepository::maintain`], one `async fn` per
//! rule, each taking an **empty** repository. [`crate::retention_contract_suite!`] turns them
//! into tests.
//!
//! The fixture history ([`history`]) has exact figures (multiples of 1/16), so totals read from
//! roll-ups are compared with `==` against the in-memory aggregate of the raw footprints.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::aggregate::{AggregateRow, GroupBy, Period, aggregate};
use crate::footprint::Footprint;
use crate::ports::{
    FootprintRepository, PodRowPager, ReportQuery, RetentionPolicy, StoreErrorKind, TimeRange,
};
use crate::testsuite::fixtures::{at, footprint, history, methodology};

fn range(from: DateTime<Utc>, to: DateTime<Utc>) -> TimeRange {
    TimeRange::new(from, to).unwrap_or_else(|e| panic!("fixture range: {e}"))
}

fn everything() -> TimeRange {
    range(at(1970, 1, 1, 0, 0), at(9999, 12, 31, 23, 59))
}

fn policy(raw_hours: i64, hourly_days: i64, daily_days: Option<i64>) -> RetentionPolicy {
    RetentionPolicy::new(
        TimeDelta::hours(raw_hours),
        TimeDelta::days(hourly_days),
        daily_days.map(TimeDelta::days),
    )
    .unwrap_or_else(|e| panic!("fixture policy: {e}"))
}

/// After the last fixture window (2025-06-02 11:00).
fn now() -> DateTime<Utc> {
    at(2025, 6, 2, 12, 0)
}

async fn write(repo: &dyn FootprintRepository, batch: &[Footprint]) {
    if let Err(e) = repo.write_footprints(batch).await {
        panic!("{}: writing a valid batch failed: {e}", repo.backend());
    }
}

async fn maintain(
    repo: &dyn FootprintRepository,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
) -> crate::ports::MaintenanceSummary {
    repo.maintain(policy, now)
        .await
        .unwrap_or_else(|e| panic!("{}: maintain failed: {e}", repo.backend()))
}

async fn query(repo: &dyn FootprintRepository, q: ReportQuery) -> Vec<AggregateRow> {
    repo.aggregate(&q)
        .await
        .unwrap_or_else(|e| panic!("{}: aggregate {q:?} failed: {e}", repo.backend()))
}

fn expected(
    history: &[Footprint],
    r: TimeRange,
    g: GroupBy,
    p: Option<Period>,
) -> Vec<AggregateRow> {
    aggregate(
        history.iter().filter(|fp| r.contains(fp.window_start)),
        g,
        p,
    )
}

/// Every grouping and period over `ranges` equals the in-memory aggregate of `history`.
async fn assert_same_reports(
    repo: &dyn FootprintRepository,
    history: &[Footprint],
    ranges: &[TimeRange],
    periods: &[Option<Period>],
    when: &str,
) {
    for r in ranges {
        for group_by in GroupBy::ALL {
            for period in periods {
                let got = query(repo, ReportQuery::new(*r, group_by).with_period(*period)).await;
                let want = expected(history, *r, group_by, *period);
                assert_eq!(
                    got,
                    want,
                    "{}: {when}: aggregate over {r} by {group_by} per {period:?}",
                    repo.backend()
                );
            }
            // One cluster alone, from raw rows and roll-ups alike.
            let period = periods.first().copied().flatten();
            let q = ReportQuery::new(*r, group_by)
                .with_period(period)
                .in_cluster(Some(Arc::from("staging")));
            let got = query(repo, q).await;
            let staging: Vec<Footprint> = history
                .iter()
                .filter(|fp| fp.cluster.as_deref() == Some("staging"))
                .cloned()
                .collect();
            let want = expected(&staging, *r, group_by, period);
            assert_eq!(
                got,
                want,
                "{}: {when}: aggregate of cluster staging over {r} by {group_by} per {period:?}",
                repo.backend()
            );
        }
    }
}

const ALL_PERIODS: [Option<Period>; 6] = [
    None,
    Some(Period::Hour),
    Some(Period::Day),
    Some(Period::Week),
    Some(Period::Month),
    Some(Period::Year),
];

/// Rolling up hours and days, then sealing raw rows and hourly detail, never changes a report
/// over whole hours (before) or whole days (after the hourly cut), for every grouping and period.
pub async fn roll_ups_keep_every_total(repo: &dyn FootprintRepository) {
    let history = history();
    write(repo, &history).await;
    let whole_hours = [
        everything(),
        range(at(2024, 12, 30, 0, 0), at(2025, 6, 2, 11, 0)),
        range(at(2025, 1, 1, 0, 0), at(2025, 1, 1, 1, 0)),
    ];
    // Roll up everything, seal nothing.
    let first = maintain(repo, &policy(24 * 365 * 100, 365 * 100, None), now()).await;
    assert!(
        first.hours_rolled > 0 && first.days_rolled > 0,
        "{}: nothing rolled up: {first:?}",
        repo.backend()
    );
    assert_eq!(
        first.raw_rows_deleted,
        0,
        "{}: nothing is old enough",
        repo.backend()
    );
    assert_same_reports(repo, &history, &whole_hours, &ALL_PERIODS, "rolled up").await;

    // Seal raw rows before 11:00 (the 11:00 window stays raw).
    let second = maintain(repo, &policy(1, 365 * 100, None), now()).await;
    assert_eq!(second.state.raw_before, Some(at(2025, 6, 2, 11, 0)));
    assert!(
        second.raw_rows_deleted > 0,
        "{}: {second:?}",
        repo.backend()
    );
    assert_same_reports(repo, &history, &whole_hours, &ALL_PERIODS, "raw sealed").await;

    // Seal hourly detail before 2025-06-01: whole-day ranges keep every total, except by hour.
    let third = maintain(repo, &policy(1, 1, None), now()).await;
    assert_eq!(third.state.hourly_before, Some(at(2025, 6, 1, 0, 0)));
    let whole_days = [
        everything(),
        range(at(2024, 12, 30, 0, 0), at(2025, 6, 2, 0, 0)),
    ];
    let not_hourly = [
        None,
        Some(Period::Day),
        Some(Period::Week),
        Some(Period::Month),
        Some(Period::Year),
    ];
    assert_same_reports(repo, &history, &whole_days, &not_hourly, "hourly sealed").await;
    let recent = [range(at(2025, 6, 1, 0, 0), at(2025, 6, 3, 0, 0))];
    assert_same_reports(repo, &history, &recent, &ALL_PERIODS, "recent hours").await;
    let err = repo
        .aggregate(
            &ReportQuery::new(everything(), GroupBy::Cluster).with_period(Some(Period::Hour)),
        )
        .await
        .expect_err("hourly detail is gone");
    assert_eq!(err.kind(), StoreErrorKind::InvalidData, "{err}");
    assert!(err.message().contains("2025-06-01"), "{err}");
}

/// A range that starts or ends inside a sealed hour covers the whole hour; inside a day whose
/// hourly detail is gone, the whole day.
pub async fn sealed_edges_cover_whole_hours_and_days(repo: &dyn FootprintRepository) {
    let history = history();
    write(repo, &history).await;
    maintain(repo, &policy(1, 365 * 100, None), now()).await;
    let got = query(
        repo,
        ReportQuery::new(
            range(at(2025, 6, 2, 10, 3), at(2025, 6, 2, 10, 7)),
            GroupBy::Pod,
        ),
    )
    .await;
    let want = expected(
        &history,
        range(at(2025, 6, 2, 10, 0), at(2025, 6, 2, 11, 0)),
        GroupBy::Pod,
        None,
    );
    assert_eq!(got, want, "{}: a sealed hour is read whole", repo.backend());
    // Past the cut, raw rows answer to the minute.
    let got = query(
        repo,
        ReportQuery::new(
            range(at(2025, 6, 2, 10, 3), at(2025, 6, 2, 11, 7)),
            GroupBy::Cluster,
        ),
    )
    .await;
    let want = expected(
        &history,
        range(at(2025, 6, 2, 10, 0), at(2025, 6, 2, 11, 7)),
        GroupBy::Cluster,
        None,
    );
    assert_eq!(got, want, "{}: sealed start, raw end", repo.backend());

    maintain(repo, &policy(1, 1, None), now()).await;
    let got = query(
        repo,
        ReportQuery::new(
            range(at(2025, 1, 1, 0, 3), at(2025, 1, 1, 0, 4)),
            GroupBy::Namespace,
        ),
    )
    .await;
    let want = expected(
        &history,
        range(at(2025, 1, 1, 0, 0), at(2025, 1, 2, 0, 0)),
        GroupBy::Namespace,
        None,
    );
    assert_eq!(
        got,
        want,
        "{}: a day without hourly detail is read whole",
        repo.backend()
    );
}

/// Sealed history is final: writing a window before the raw cut is refused and leaves the
/// store unchanged; raw pages no longer see sealed rows; windows after the cut are written.
pub async fn sealed_windows_are_refused(repo: &dyn FootprintRepository) {
    let history = history();
    write(repo, &history).await;
    maintain(repo, &policy(1, 365 * 100, None), now()).await;
    let state = repo
        .retention_state()
        .await
        .unwrap_or_else(|e| panic!("{}: retention state: {e}", repo.backend()));
    assert_eq!(state.raw_before, Some(at(2025, 6, 2, 11, 0)));

    let before = query(repo, ReportQuery::new(everything(), GroupBy::Cluster)).await;
    let m = methodology(crate::methodology::Methodology::Full, "gkdata-0000000000b2");
    let late = footprint(Some("prod"), at(2025, 6, 2, 10, 5), 999, &m);
    let fresh = footprint(Some("prod"), at(2025, 6, 2, 11, 5), 7, &m);
    let err = repo
        .write_footprints(&[fresh.clone(), late])
        .await
        .expect_err("a sealed window cannot be written");
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "{err}");
    assert!(err.message().contains("2025-06-02 10:05"), "{err}");
    let after = query(repo, ReportQuery::new(everything(), GroupBy::Cluster)).await;
    assert_eq!(
        after,
        before,
        "{}: a refused batch changed the store",
        repo.backend()
    );

    write(repo, std::slice::from_ref(&fresh)).await;
    let mut pager = PodRowPager::new(repo, everything(), 100);
    let mut starts = Vec::new();
    while let Some(rows) = pager
        .next_page()
        .await
        .unwrap_or_else(|e| panic!("{}: pages: {e}", repo.backend()))
    {
        starts.extend(rows.iter().map(|r| r.window_start));
    }
    assert!(!starts.is_empty());
    assert!(
        starts.iter().all(|s| *s >= at(2025, 6, 2, 11, 0)),
        "{}: raw pages show sealed rows",
        repo.backend()
    );
}

/// A window rewritten in an hour that was already rolled up counts once, with its new figures,
/// before and after the next roll-up.
pub async fn rewrites_in_rolled_up_hours_count_once(repo: &dyn FootprintRepository) {
    let mut history = history();
    write(repo, &history).await;
    let keep = policy(24 * 365 * 100, 365 * 100, None);
    maintain(repo, &keep, now()).await;
    let m = methodology(
        crate::methodology::Methodology::Classic,
        "gkdata-0000000000c3",
    );
    let restated = footprint(Some("prod"), at(2025, 3, 1, 0, 0), 555, &m);
    write(repo, std::slice::from_ref(&restated)).await;
    history
        .retain(|fp| !(fp.window_start == restated.window_start && fp.cluster == restated.cluster));
    history.push(restated);
    let ranges = [
        everything(),
        range(at(2025, 3, 1, 0, 0), at(2025, 3, 2, 0, 0)),
    ];
    assert_same_reports(repo, &history, &ranges, &ALL_PERIODS, "after a late write").await;
    let again = maintain(repo, &keep, now()).await;
    assert_eq!(
        (again.hours_rolled, again.days_rolled),
        (1, 1),
        "{}: only the rewritten hour and its day are rolled up again",
        repo.backend()
    );
    assert_same_reports(repo, &history, &ranges, &ALL_PERIODS, "rolled up again").await;
}

/// Only complete hours are rolled up; a second run at the same time does nothing; cuts never
/// move back when a later run has a shorter `now`.
pub async fn maintenance_is_idempotent(repo: &dyn FootprintRepository) {
    let history = history();
    write(repo, &history).await;
    let p = policy(1, 365 * 100, None);
    // 11:30: the 11:00 hour is not complete.
    let first = maintain(repo, &p, at(2025, 6, 2, 11, 30)).await;
    assert!(first.hours_rolled > 0);
    let second = maintain(repo, &p, at(2025, 6, 2, 11, 30)).await;
    assert_eq!(
        (
            second.hours_rolled,
            second.days_rolled,
            second.raw_rows_deleted
        ),
        (0, 0, 0),
        "{}: a second run did work: {second:?}",
        repo.backend()
    );
    let third = maintain(repo, &p, now()).await;
    assert_eq!(
        third.hours_rolled,
        1,
        "{}: the 11:00 hour completed",
        repo.backend()
    );
    let back = maintain(repo, &p, at(2025, 1, 1, 0, 0)).await;
    assert_eq!(
        back.state,
        third.state,
        "{}: cuts moved back",
        repo.backend()
    );
    assert_same_reports(
        repo,
        &history,
        &[everything()],
        &[None, Some(Period::Day)],
        "after repeated runs",
    )
    .await;
}

/// Daily retention removes history for good: reports over it find nothing.
pub async fn daily_retention_forgets_old_days(repo: &dyn FootprintRepository) {
    let history = history();
    write(repo, &history).await;
    let summary = maintain(repo, &policy(1, 1, Some(2)), now()).await;
    assert_eq!(summary.state.daily_before, Some(at(2025, 5, 31, 0, 0)));
    assert!(summary.daily_rows_deleted > 0 || summary.raw_rows_deleted > 0);
    let kept = range(at(2025, 5, 31, 0, 0), at(2025, 6, 3, 0, 0));
    let got = query(repo, ReportQuery::new(everything(), GroupBy::Cluster)).await;
    let want = expected(&history, kept, GroupBy::Cluster, None);
    assert_eq!(got, want, "{}: only the kept days remain", repo.backend());
}
