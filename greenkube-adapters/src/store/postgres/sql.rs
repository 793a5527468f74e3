//! The SQL of the PostgreSQL store. Runtime queries only: nothing here needs a database at build
//! time.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use greenkube_core::{GroupBy, Period};

use crate::store::sql::{AggregateSql, Plan, Restriction};

/// Columns every row of one window shares and their types, bound once per window as `$1..$7`.
const WINDOW_COLUMNS: [(&str, &str); 7] = [
    ("window_start", "timestamptz"),
    ("window_end", "timestamptz"),
    ("cluster", "text"),
    ("methodology", "text"),
    ("methodology_version", "text"),
    ("data_version", "text"),
    ("idle_policy", "text"),
];

/// `INSERT INTO table (...) SELECT $1, ..., $7, unnest($8::type[]), unnest($9::type[]), ...`:
/// one statement per window whatever its size, with the same text every time (so the server
/// plans it once per connection). The arrays (all of one length) are unnested side by side in
/// the select list, which streams rows without the tuplestore `FROM UNNEST(...)` fills (about a
/// fifth faster on 1 M rows). JSON columns travel as `text[]` and are cast per row.
pub(super) fn insert(table: &str, row_columns: &[(&str, &str)]) -> String {
    let names: Vec<&str> = WINDOW_COLUMNS
        .iter()
        .chain(row_columns)
        .map(|c| c.0)
        .collect();
    let mut sql = format!("INSERT INTO {table} ({}) SELECT ", names.join(", "));
    for (i, (_, ty)) in WINDOW_COLUMNS.iter().enumerate() {
        let _ = write!(sql, "${}::{ty}, ", i + 1);
    }
    let selected: Vec<String> = row_columns
        .iter()
        .enumerate()
        .map(|(i, (_, ty))| {
            let n = i + WINDOW_COLUMNS.len() + 1;
            if *ty == "jsonb" {
                format!("unnest(${n}::text[])::jsonb")
            } else {
                format!("unnest(${n}::{ty}[])")
            }
        })
        .collect();
    sql.push_str(&selected.join(", "));
    sql
}

/// Transaction-scoped advisory locks on `$1` (sorted keys, taken in array order).
pub(super) const LOCK_WINDOWS: &str =
    "SELECT pg_advisory_xact_lock(k) FROM UNNEST($1::int8[]) WITH ORDINALITY AS l(k, i) ORDER BY i";

pub(super) const DELETE_POD_WINDOW: &str =
    "DELETE FROM pod_footprints WHERE window_start = $1 AND cluster = $2";
pub(super) const DELETE_NODE_WINDOW: &str =
    "DELETE FROM node_footprints WHERE window_start = $1 AND cluster = $2";

/// The start of the period containing `t` (a window start, or a roll-up's bucket), as a
/// `timestamptz`, computed in UTC whatever the session's `TimeZone`.
/// `date_trunc('week', ...)` gives the Monday of the ISO week; the core labels the bucket with
/// its ISO week and ISO year.
fn bucket(period: Option<Period>) -> String {
    let field = match period {
        None => return "NULL::timestamptz".to_string(),
        Some(Period::Hour) => "hour",
        Some(Period::Day) => "day",
        Some(Period::Week) => "week",
        Some(Period::Month) => "month",
        Some(Period::Year) => "year",
    };
    format!("(date_trunc('{field}', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')")
}

/// A value bound to the aggregate query, in placeholder order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Bind {
    /// A `timestamptz`.
    Time(DateTime<Utc>),
    /// A `timestamptz[]`.
    Times(Vec<DateTime<Utc>>),
    /// A `text`.
    Text(String),
}

/// The aggregate query and what to bind to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Statement {
    pub(super) text: String,
    pub(super) binds: Vec<Bind>,
}

/// Up to this many ranges of one source are compared one by one (`(t >= $a AND t < $b) OR
/// ...`, which the planner turns into index ranges, or a sequential scan for a wide one); more
/// are bound as two arrays and joined (one index range scan per range), so a plan of any size
/// binds a bounded number of parameters.
const INLINE_RANGES: usize = 16;

/// The restriction of a source to ranges of `column`, their bounds pushed to `binds`.
fn restrict(
    column: &str,
    ranges: &[(DateTime<Utc>, DateTime<Utc>)],
    binds: &mut Vec<Bind>,
) -> Restriction {
    let mut placeholder = |b: Bind| {
        binds.push(b);
        binds.len()
    };
    if ranges.len() <= INLINE_RANGES {
        let parts: Vec<String> = ranges
            .iter()
            .map(|(from, to)| {
                let a = placeholder(Bind::Time(*from));
                let b = placeholder(Bind::Time(*to));
                format!("({column} >= ${a} AND {column} < ${b})")
            })
            .collect();
        Restriction {
            join: String::new(),
            condition: format!("({})", parts.join(" OR ")),
        }
    } else {
        let a = placeholder(Bind::Times(ranges.iter().map(|r| r.0).collect()));
        let b = placeholder(Bind::Times(ranges.iter().map(|r| r.1).collect()));
        Restriction {
            join: format!(
                " JOIN unnest(${a}::timestamptz[], ${b}::timestamptz[]) \
                 AS plan_range(range_from, range_to) \
                 ON {column} >= plan_range.range_from AND {column} < plan_range.range_to"
            ),
            condition: "TRUE".to_string(),
        }
    }
}

const AGGREGATE: AggregateSql = AggregateSql {
    time_suffix: "",
    text: "::text",
    float: "::float8",
    int: "::int8",
    flag: "::int4::int8",
    sum: "SUM",
};

/// The aggregate statement over a read plan (see `crate::store::sql::aggregate`) and what to
/// bind to it, or `None` when the plan reads nothing.
pub(super) fn aggregate(
    group_by: GroupBy,
    period: Option<Period>,
    plan: &Plan<DateTime<Utc>>,
    cluster: Option<&str>,
) -> Option<Statement> {
    // The cluster, when there is one, is `$1`, compared by every source.
    let mut binds: Vec<Bind> = cluster
        .map(|c| Bind::Text(c.to_string()))
        .into_iter()
        .collect();
    let text = crate::store::sql::aggregate(
        &AGGREGATE,
        group_by,
        period,
        &bucket(period),
        plan,
        cluster.map(|_| "$1::text"),
        |column, ranges| restrict(column, ranges, &mut binds),
    )?;
    Some(Statement { text, binds })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_unnests_one_array_per_row_column() {
        let sql = insert("t", &[("a", "text"), ("b", "jsonb")]);
        assert_eq!(
            sql,
            "INSERT INTO t (window_start, window_end, cluster, methodology, methodology_version, \
             data_version, idle_policy, a, b) SELECT $1::timestamptz, $2::timestamptz, $3::text, \
             $4::text, $5::text, $6::text, $7::text, unnest($8::text[]), \
             unnest($9::text[])::jsonb"
        );
        let sql = insert("pod_footprints", &crate::store::sql::POD_ROW_COLUMNS);
        assert!(sql.contains("$41::text[]"), "{sql}");
        assert!(!sql.contains("$42"), "{sql}");
    }

    fn t(h: u32) -> DateTime<Utc> {
        use chrono::TimeZone as _;
        Utc.with_ymd_and_hms(2025, 6, 2, h, 0, 0).unwrap()
    }

    #[test]
    fn aggregate_groups_by_the_grouping_keys_only() {
        let plan = Plan {
            raw: vec![(t(0), t(1)), (t(2), t(3))],
            ..Plan::default()
        };
        let s = aggregate(GroupBy::Namespace, Some(Period::Week), &plan, None).unwrap();
        assert!(
            s.text.ends_with("GROUP BY k_namespace, bucket"),
            "{}",
            s.text
        );
        assert!(s.text.contains("date_trunc('week', t AT TIME ZONE 'UTC')"));
        assert!(s.text.contains("NULL::text AS k_node"));
        assert!(!s.text.contains("node_footprints"));
        assert!(
            s.text
                .contains("((window_start >= $1 AND window_start < $2) OR (window_start >= $3"),
            "{}",
            s.text
        );
        assert_eq!(s.binds.len(), 4);
        let plan = Plan {
            raw: vec![(t(4), t(5))],
            daily: vec![(t(0), t(0) + chrono::TimeDelta::days(1))],
            ..Plan::default()
        };
        let s = aggregate(GroupBy::Cluster, None, &plan, None).unwrap();
        assert!(s.text.contains("UNION ALL"));
        assert!(s.text.contains("NULL::timestamptz AS bucket"));
        assert!(
            s.text
                .contains("FROM node_rollups WHERE level = 2 AND ((bucket >= $3")
        );
        assert!(
            s.text
                .contains("FROM node_footprints WHERE ((window_start >= $1"),
            "the node rows share the pod rows' placeholders: {}",
            s.text
        );
        assert!(!s.text.contains("level = 1"));
        assert!(s.text.ends_with("GROUP BY k_cluster"), "{}", s.text);
        assert_eq!(s.binds.len(), 4);
        // One cluster: bound first, compared by every source; the ranges follow it.
        let s = aggregate(GroupBy::Cluster, None, &plan, Some("prod")).unwrap();
        assert_eq!(s.binds.first(), Some(&Bind::Text("prod".to_string())));
        assert_eq!(s.binds.len(), 5);
        assert_eq!(
            s.text.matches(" AND cluster = $1::text").count(),
            4,
            "{}",
            s.text
        );
        assert!(
            s.text
                .contains("FROM node_footprints WHERE ((window_start >= $2"),
            "{}",
            s.text
        );
        assert!(aggregate(GroupBy::Cluster, None, &Plan::default(), None).is_none());
    }

    #[test]
    fn many_ranges_are_bound_as_arrays() {
        let hours: Vec<_> = (0..20)
            .map(|h| (t(h), t(h) + chrono::TimeDelta::minutes(30)))
            .collect();
        let plan = Plan {
            hourly: hours.clone(),
            ..Plan::default()
        };
        let s = aggregate(GroupBy::Node, Some(Period::Hour), &plan, None).unwrap();
        assert!(
            s.text
                .contains("FROM pod_rollups JOIN unnest($1::timestamptz[], $2::timestamptz[])"),
            "{}",
            s.text
        );
        assert!(
            s.text
                .contains("FROM node_rollups JOIN unnest($1::timestamptz[]")
        );
        assert!(s.text.contains("WHERE level = 1 AND TRUE"));
        assert_eq!(
            s.binds,
            vec![
                Bind::Times(hours.iter().map(|r| r.0).collect()),
                Bind::Times(hours.iter().map(|r| r.1).collect()),
            ]
        );
    }
}
