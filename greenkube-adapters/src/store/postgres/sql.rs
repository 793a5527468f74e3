//! The SQL of the PostgreSQL store. Runtime queries only: nothing here needs a database at build
//! time.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use greenkube_core::{GroupBy, Period};

/// Columns every row of one window shares, bound once per window as `$1..$7`.
pub(super) const WINDOW_COLUMNS: [&str; 7] = [
    "window_start",
    "window_end",
    "cluster",
    "methodology",
    "methodology_version",
    "data_version",
    "idle_policy",
];

/// SQL types of [`WINDOW_COLUMNS`].
const WINDOW_TYPES: [&str; 7] = [
    "timestamptz",
    "timestamptz",
    "text",
    "text",
    "text",
    "text",
    "text",
];

/// Per-row columns of `pod_footprints` and their types, bound as one array each (`UNNEST`).
pub(super) const POD_ROW_COLUMNS: [(&str, &str); 34] = [
    ("namespace", "text"),
    ("pod", "text"),
    ("owner_kind", "text"),
    ("owner_name", "text"),
    ("workload_kind", "text"),
    ("workload", "text"),
    ("node", "text"),
    ("zone", "text"),
    ("region", "text"),
    ("provider", "text"),
    ("instance_type", "text"),
    ("cpu_usage_cores", "float8"),
    ("cpu_request_cores", "float8"),
    ("memory_usage_bytes", "float8"),
    ("memory_request_bytes", "float8"),
    ("restarts", "int8"),
    ("energy_joules", "float8"),
    ("energy_joules_low", "float8"),
    ("energy_joules_high", "float8"),
    ("co2e_grams", "float8"),
    ("co2e_grams_low", "float8"),
    ("co2e_grams_high", "float8"),
    ("embodied_co2e_grams", "float8"),
    ("embodied_co2e_grams_low", "float8"),
    ("embodied_co2e_grams_high", "float8"),
    ("cost", "float8"),
    ("pue", "float8"),
    ("pue_low", "float8"),
    ("pue_high", "float8"),
    ("grid_intensity", "float8"),
    ("grid_intensity_low", "float8"),
    ("grid_intensity_high", "float8"),
    ("estimated", "bool"),
    ("estimation_reasons", "jsonb"),
];

/// Per-row columns of `node_footprints` and their types.
pub(super) const NODE_ROW_COLUMNS: [(&str, &str); 24] = [
    ("node", "text"),
    ("provider", "text"),
    ("instance_type", "text"),
    ("zone", "text"),
    ("region", "text"),
    ("cpu_capacity_cores", "float8"),
    ("memory_capacity_bytes", "float8"),
    ("synthetic", "bool"),
    ("pue", "float8"),
    ("pue_low", "float8"),
    ("pue_high", "float8"),
    ("grid_intensity", "float8"),
    ("grid_intensity_low", "float8"),
    ("grid_intensity_high", "float8"),
    ("overhead_energy_joules", "float8"),
    ("overhead_energy_joules_low", "float8"),
    ("overhead_energy_joules_high", "float8"),
    ("overhead_co2e_grams", "float8"),
    ("overhead_co2e_grams_low", "float8"),
    ("overhead_co2e_grams_high", "float8"),
    ("unallocated_embodied_co2e_grams", "float8"),
    ("unallocated_embodied_co2e_grams_low", "float8"),
    ("unallocated_embodied_co2e_grams_high", "float8"),
    ("estimation_reasons", "jsonb"),
];

/// `INSERT INTO table (...) SELECT $1, ..., $7, unnest($8::type[]), unnest($9::type[]), ...`:
/// one statement per window whatever its size, with the same text every time (so the server
/// plans it once per connection). The arrays (all of one length) are unnested side by side in
/// the select list, which streams rows without the tuplestore `FROM UNNEST(...)` fills (about a
/// fifth faster on 1 M rows). JSON columns travel as `text[]` and are cast per row.
pub(super) fn insert(table: &str, row_columns: &[(&str, &str)]) -> String {
    let mut sql = format!("INSERT INTO {table} ({}", WINDOW_COLUMNS.join(", "));
    for (name, _) in row_columns {
        let _ = write!(sql, ", {name}");
    }
    sql.push_str(") SELECT ");
    for (i, ty) in WINDOW_TYPES.iter().enumerate() {
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

/// Columns of a stored pod row, in the order [`super::model::pod_from_row`] reads them.
const SELECT_POD_COLUMNS: &str = "window_start, window_end, cluster, namespace, pod, \
    owner_kind, owner_name, workload_kind, workload, node, zone, region, provider, instance_type, \
    cpu_usage_cores, cpu_request_cores, memory_usage_bytes, memory_request_bytes, restarts, \
    energy_joules, energy_joules_low, energy_joules_high, co2e_grams, co2e_grams_low, \
    co2e_grams_high, embodied_co2e_grams, embodied_co2e_grams_low, embodied_co2e_grams_high, \
    cost, pue, pue_low, pue_high, grid_intensity, grid_intensity_low, grid_intensity_high, \
    estimated, estimation_reasons::text, methodology, methodology_version, data_version, \
    idle_policy";

/// One page of pod rows: `$1` from, `$2` to, then (after a cursor) `$3..$6` the cursor key,
/// and the limit last. Key columns compare in the "C" collation: byte by byte.
pub(super) fn select_pods(after_cursor: bool) -> String {
    let mut sql = format!(
        "SELECT {SELECT_POD_COLUMNS} FROM pod_footprints \
         WHERE window_start >= $1 AND window_start < $2"
    );
    if after_cursor {
        sql.push_str(
            " AND (window_start, cluster, namespace, pod) > ($3, $4::text, $5::text, $6::text)",
        );
        sql.push_str(" ORDER BY window_start, cluster, namespace, pod LIMIT $7");
    } else {
        sql.push_str(" ORDER BY window_start, cluster, namespace, pod LIMIT $3");
    }
    sql
}

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

/// Key columns of each grouping (the others are selected as NULL).
fn keys(group_by: GroupBy) -> &'static [&'static str] {
    match group_by {
        GroupBy::Pod => &["k_namespace", "k_pod"],
        GroupBy::Workload => &["k_namespace", "k_workload_kind", "k_workload"],
        GroupBy::Namespace => &["k_namespace"],
        GroupBy::Node => &["k_node"],
        GroupBy::Cluster => &["k_cluster"],
    }
}

/// Every key column, in the order the aggregate query returns them.
const KEY_COLUMNS: [&str; 6] = [
    "k_cluster",
    "k_namespace",
    "k_workload_kind",
    "k_workload",
    "k_pod",
    "k_node",
];

/// A read plan as PostgreSQL compares it: half-open ranges of raw window starts, hours and days,
/// each bound already passed through [`super::model::bound`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct PlanBounds {
    pub(super) raw: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    pub(super) hourly: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    pub(super) daily: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

/// A value bound to the aggregate query, in placeholder order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Bind {
    /// A `timestamptz`.
    Time(DateTime<Utc>),
    /// A `timestamptz[]`.
    Times(Vec<DateTime<Utc>>),
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

/// How a source is restricted to the ranges of its part of the plan: a join (empty when the
/// ranges are compared one by one) and a condition.
struct Restriction {
    join: String,
    condition: String,
}

impl Restriction {
    fn new(column: &str, ranges: &[(DateTime<Utc>, DateTime<Utc>)], binds: &mut Vec<Bind>) -> Self {
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
            Self {
                join: String::new(),
                condition: format!("({})", parts.join(" OR ")),
            }
        } else {
            let a = placeholder(Bind::Times(ranges.iter().map(|r| r.0).collect()));
            let b = placeholder(Bind::Times(ranges.iter().map(|r| r.1).collect()));
            Self {
                join: format!(
                    " JOIN unnest(${a}::timestamptz[], ${b}::timestamptz[]) \
                     AS plan_range(range_from, range_to) \
                     ON {column} >= plan_range.range_from AND {column} < plan_range.range_to"
                ),
                condition: "TRUE".to_string(),
            }
        }
    }
}

const RAW_POD: &str = "SELECT NULLIF(cluster, '') AS k_cluster, namespace AS k_namespace, \
    workload_kind AS k_workload_kind, workload AS k_workload, pod AS k_pod, node AS k_node, \
    window_start AS t, window_start AS first_t, window_end AS end_t, \
    energy_joules AS e, energy_joules_low AS e_low, energy_joules_high AS e_high, \
    co2e_grams AS c, co2e_grams_low AS c_low, co2e_grams_high AS c_high, \
    embodied_co2e_grams AS m, embodied_co2e_grams_low AS m_low, embodied_co2e_grams_high AS m_high, \
    cost, 1::int8 AS n_pod, estimated::int4::int8 AS n_estimated, \
    (cost IS NULL)::int4::int8 AS n_no_cost FROM pod_footprints";

/// Named like [`RAW_POD`]: it comes first in the `UNION ALL` when the plan reads no raw rows.
const ROLLED_POD: &str = "SELECT NULLIF(cluster, '') AS k_cluster, namespace AS k_namespace, \
    workload_kind AS k_workload_kind, workload AS k_workload, pod AS k_pod, node AS k_node, \
    bucket AS t, first_window AS first_t, last_window_end AS end_t, \
    energy_joules AS e, energy_joules_low AS e_low, energy_joules_high AS e_high, \
    co2e_grams AS c, co2e_grams_low AS c_low, co2e_grams_high AS c_high, \
    embodied_co2e_grams AS m, embodied_co2e_grams_low AS m_low, embodied_co2e_grams_high AS m_high, \
    cost, rows AS n_pod, estimated_rows AS n_estimated, no_cost_rows AS n_no_cost \
    FROM pod_rollups";

const RAW_NODE: &str = "SELECT NULLIF(cluster, ''), NULL::text, NULL::text, NULL::text, \
    NULL::text, NULLIF(node, ''), window_start, window_start, window_end, \
    overhead_energy_joules, overhead_energy_joules_low, overhead_energy_joules_high, \
    overhead_co2e_grams, overhead_co2e_grams_low, overhead_co2e_grams_high, \
    unallocated_embodied_co2e_grams, unallocated_embodied_co2e_grams_low, \
    unallocated_embodied_co2e_grams_high, \
    NULL::float8, 0::int8, 0::int8, 0::int8 FROM node_footprints";

const ROLLED_NODE: &str = "SELECT NULLIF(cluster, ''), NULL::text, NULL::text, NULL::text, \
    NULL::text, NULLIF(node, ''), bucket, first_window, last_window_end, \
    energy_joules, energy_joules_low, energy_joules_high, co2e_grams, co2e_grams_low, \
    co2e_grams_high, embodied_co2e_grams, embodied_co2e_grams_low, embodied_co2e_grams_high, \
    NULL::float8, 0::int8, 0::int8, 0::int8 FROM node_rollups";

/// The aggregate query over a read plan, or `None` when the plan reads nothing: raw rows of the
/// plan's raw ranges, hourly and daily roll-ups of its hours and days, in one `UNION ALL`.
/// Returns the six key columns (NULL outside the grouping), the bucket start, the sums of each
/// figure and its bounds, the cost, pod rows, estimated rows, rows without cost, first window
/// start and last window end.
pub(super) fn aggregate(
    group_by: GroupBy,
    period: Option<Period>,
    plan: &PlanBounds,
) -> Option<Statement> {
    let with_nodes = matches!(group_by, GroupBy::Node | GroupBy::Cluster);
    let mut binds = Vec::new();
    let mut sources = Vec::new();
    if !plan.raw.is_empty() {
        // One set of placeholders for the pod and the node rows.
        let r = Restriction::new("window_start", &plan.raw, &mut binds);
        sources.push(format!("{RAW_POD}{} WHERE {}", r.join, r.condition));
        if with_nodes {
            sources.push(format!("{RAW_NODE}{} WHERE {}", r.join, r.condition));
        }
    }
    for (level, ranges) in [(1, &plan.hourly), (2, &plan.daily)] {
        if ranges.is_empty() {
            continue;
        }
        let r = Restriction::new("bucket", ranges, &mut binds);
        sources.push(format!(
            "{ROLLED_POD}{} WHERE level = {level} AND {}",
            r.join, r.condition
        ));
        if with_nodes {
            sources.push(format!(
                "{ROLLED_NODE}{} WHERE level = {level} AND {}",
                r.join, r.condition
            ));
        }
    }
    if sources.is_empty() {
        return None;
    }
    let source = sources.join(" UNION ALL ");
    let group = keys(group_by);
    let mut sql = String::from("SELECT ");
    for k in KEY_COLUMNS {
        if group.contains(&k) {
            let _ = write!(sql, "{k}, ");
        } else {
            let _ = write!(sql, "NULL::text AS {k}, ");
        }
    }
    let _ = write!(
        sql,
        "{} AS bucket, \
         SUM(e), SUM(e_low), SUM(e_high), SUM(c), SUM(c_low), SUM(c_high), \
         SUM(m), SUM(m_low), SUM(m_high), COALESCE(SUM(cost), 0), \
         SUM(n_pod)::int8, SUM(n_estimated)::int8, SUM(n_no_cost)::int8, \
         MIN(first_t), MAX(end_t) \
         FROM ({source}) AS s GROUP BY {}",
        bucket(period),
        group.join(", ")
    );
    if period.is_some() {
        sql.push_str(", bucket");
    }
    Some(Statement { text: sql, binds })
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
        let sql = insert("pod_footprints", &POD_ROW_COLUMNS);
        assert!(sql.contains("$41::text[]"), "{sql}");
        assert!(!sql.contains("$42"), "{sql}");
    }

    fn t(h: u32) -> DateTime<Utc> {
        use chrono::TimeZone as _;
        Utc.with_ymd_and_hms(2025, 6, 2, h, 0, 0).unwrap()
    }

    #[test]
    fn aggregate_groups_by_the_grouping_keys_only() {
        let plan = PlanBounds {
            raw: vec![(t(0), t(1)), (t(2), t(3))],
            ..PlanBounds::default()
        };
        let s = aggregate(GroupBy::Namespace, Some(Period::Week), &plan).unwrap();
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
        let plan = PlanBounds {
            raw: vec![(t(4), t(5))],
            daily: vec![(t(0), t(0) + chrono::TimeDelta::days(1))],
            ..PlanBounds::default()
        };
        let s = aggregate(GroupBy::Cluster, None, &plan).unwrap();
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
        assert!(aggregate(GroupBy::Cluster, None, &PlanBounds::default()).is_none());
    }

    #[test]
    fn many_ranges_are_bound_as_arrays() {
        let hours: Vec<_> = (0..20)
            .map(|h| (t(h), t(h) + chrono::TimeDelta::minutes(30)))
            .collect();
        let plan = PlanBounds {
            hourly: hours.clone(),
            ..PlanBounds::default()
        };
        let s = aggregate(GroupBy::Node, Some(Period::Hour), &plan).unwrap();
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
