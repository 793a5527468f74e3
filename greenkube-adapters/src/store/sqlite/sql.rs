//! The SQL of the SQLite store's own operations. Runtime queries only: nothing here needs a
//! database at build time.

use greenkube_core::{GroupBy, Period};

use crate::store::sql::{
    AggregateSql, NODE_ROW_COLUMNS, POD_ROW_COLUMNS, Plan, Restriction, columns,
};

/// Columns of `pod_footprints` as stored before migration 5 (and read through
/// `pod_footprint_rows`), in order.
pub(super) fn pod_columns() -> Vec<&'static str> {
    columns("window_start_us", "window_end_us", &POD_ROW_COLUMNS)
}

/// The columns a pod row's note replaces (migration 5), each with the constant a row written
/// with a note stores there, in [`pod_columns`] order (they end it).
const NOTED_COLUMNS: [(&str, &str); 5] = [
    ("estimation_reasons", "'[]'"),
    ("methodology", "''"),
    ("methodology_version", "''"),
    ("data_version", "''"),
    ("idle_policy", "''"),
];

/// `INSERT INTO pod_footprints (...) VALUES ...` for `rows` rows written with a note: each
/// row binds the [`pod_columns`] before the noted ones (36), then its note's id.
pub(super) fn insert_noted_pods(rows: usize) -> String {
    let columns = pod_columns();
    let bound = columns.len() - NOTED_COLUMNS.len();
    debug_assert!(
        columns[bound..]
            .iter()
            .zip(NOTED_COLUMNS)
            .all(|(c, (n, _))| *c == n)
    );
    let mut values = vec!["?"; bound];
    values.extend(NOTED_COLUMNS.iter().map(|(_, constant)| *constant));
    values.push("?");
    let one = format!("({})", values.join(", "));
    format!(
        "INSERT INTO pod_footprints ({}, note) VALUES {}",
        columns.join(", "),
        vec![one; rows].join(", ")
    )
}

/// Values bound per pod row written with a note.
pub(super) const NOTED_POD_VALUES: usize = 37;

/// Columns of `node_footprints`, in the order rows are bound.
pub(super) fn node_columns() -> Vec<&'static str> {
    columns("window_start_us", "window_end_us", &NODE_ROW_COLUMNS)
}

/// Rows per `INSERT` statement: one statement binds `rows × columns` parameters (SQLite allows
/// 32 766), and fewer, larger statements make the batch faster (256 rows: 10 496 parameters;
/// measured against 64, slightly less system time and no more than 4 MB more memory).
pub(super) const ROWS_PER_INSERT: usize = 256;

/// `INSERT INTO table (columns) VALUES (?, ...), ...` for `rows` rows.
pub(super) fn insert(table: &str, columns: &[&str], rows: usize) -> String {
    let one = format!("({})", vec!["?"; columns.len()].join(", "));
    format!(
        "INSERT INTO {table} ({}) VALUES {}",
        columns.join(", "),
        vec![one; rows].join(", ")
    )
}

pub(super) const DELETE_POD_WINDOW: &str =
    "DELETE FROM pod_footprints WHERE window_start_us = ?1 AND cluster = ?2";
pub(super) const DELETE_NODE_WINDOW: &str =
    "DELETE FROM node_footprints WHERE window_start_us = ?1 AND cluster = ?2";

/// Microseconds in an hour.
pub(super) const MICROS_PER_HOUR: i64 = 3_600_000_000;
/// Microseconds in a day.
pub(super) const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The start of the period containing `t` (microseconds), in microseconds (UTC). Weeks start on Monday
/// (1970-01-01 was a Thursday, three days after a Monday), so the core labels the bucket with
/// its ISO week.
fn bucket(period: Option<Period>) -> String {
    let calendar = |modifier: &str| {
        format!(
            "(CAST(strftime('%s', t / 1000000, 'unixepoch', '{modifier}') \
             AS INTEGER) * 1000000)"
        )
    };
    match period {
        None => "NULL".to_string(),
        Some(Period::Hour) => format!("(t - t % {MICROS_PER_HOUR})"),
        Some(Period::Day) => format!("(t - t % {MICROS_PER_DAY})"),
        Some(Period::Week) => {
            format!("((t / {MICROS_PER_DAY} - (t / {MICROS_PER_DAY} + 3) % 7) * {MICROS_PER_DAY})")
        }
        Some(Period::Month) => calendar("start of month"),
        Some(Period::Year) => calendar("start of year"),
    }
}

/// `(column >= a AND column < b) OR ...` (integers only, so inlining them is safe).
fn in_ranges(column: &str, ranges: &[(i64, i64)]) -> Restriction {
    let parts: Vec<String> = ranges
        .iter()
        .map(|(a, b)| format!("({column} >= {a} AND {column} < {b})"))
        .collect();
    Restriction {
        join: String::new(),
        condition: format!("({})", parts.join(" OR ")),
    }
}

const AGGREGATE: AggregateSql = AggregateSql {
    time_suffix: "_us",
    text: "",
    float: "",
    int: "",
    flag: "",
    sum: "TOTAL",
};

/// The aggregate statement over a read plan in microseconds, or `None` when it reads nothing.
/// With `one_cluster`, the statement reads the cluster bound to `$1`.
pub(super) fn aggregate(
    group_by: GroupBy,
    period: Option<Period>,
    plan: &Plan<i64>,
    one_cluster: bool,
) -> Option<String> {
    crate::store::sql::aggregate(
        &AGGREGATE,
        group_by,
        period,
        &bucket(period),
        plan,
        one_cluster.then_some("$1"),
        in_ranges,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_has_one_placeholder_per_value() {
        let sql = insert("t", &["a", "b"], 3);
        assert_eq!(sql, "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)");
        assert!(ROWS_PER_INSERT * pod_columns().len() < 32_766);
    }

    #[test]
    fn noted_pods_bind_all_but_the_noted_columns_and_the_note() {
        let sql = insert_noted_pods(2);
        let one = sql.split("VALUES ").nth(1).unwrap();
        assert_eq!(one.matches('?').count(), 2 * NOTED_POD_VALUES);
        assert_eq!(sql.matches("'[]', '', '', '', '', ?)").count(), 2, "{sql}");
        assert!(sql.contains("idle_policy, note) VALUES"), "{sql}");
    }

    #[test]
    fn aggregate_reads_the_plan_in_microseconds() {
        let plan = Plan {
            daily: vec![(0, MICROS_PER_DAY)],
            ..Plan::default()
        };
        let sql = aggregate(GroupBy::Cluster, None, &plan, false).unwrap();
        assert!(
            sql.contains("FROM node_rollups WHERE level = 2 AND ((bucket_us >= 0 AND"),
            "{sql}"
        );
        assert!(!sql.contains("pod_footprints"));
        assert!(sql.contains("NULL AS bucket"), "{sql}");
    }
}
