//! The SQL of the SQLite store. Runtime queries only: nothing here needs a database at build
//! time.

use std::fmt::Write as _;

use greenkube_core::{GroupBy, Period};

/// Columns of `pod_footprints`, in the order rows are bound and read.
pub(super) const POD_COLUMNS: [&str; 41] = [
    "window_start_us",
    "window_end_us",
    "cluster",
    "namespace",
    "pod",
    "owner_kind",
    "owner_name",
    "workload_kind",
    "workload",
    "node",
    "zone",
    "region",
    "provider",
    "instance_type",
    "cpu_usage_cores",
    "cpu_request_cores",
    "memory_usage_bytes",
    "memory_request_bytes",
    "restarts",
    "energy_joules",
    "energy_joules_low",
    "energy_joules_high",
    "co2e_grams",
    "co2e_grams_low",
    "co2e_grams_high",
    "embodied_co2e_grams",
    "embodied_co2e_grams_low",
    "embodied_co2e_grams_high",
    "cost",
    "pue",
    "pue_low",
    "pue_high",
    "grid_intensity",
    "grid_intensity_low",
    "grid_intensity_high",
    "estimated",
    "estimation_reasons",
    "methodology",
    "methodology_version",
    "data_version",
    "idle_policy",
];

/// Columns of `node_footprints`, in the order rows are bound.
pub(super) const NODE_COLUMNS: [&str; 31] = [
    "window_start_us",
    "window_end_us",
    "cluster",
    "node",
    "provider",
    "instance_type",
    "zone",
    "region",
    "cpu_capacity_cores",
    "memory_capacity_bytes",
    "synthetic",
    "pue",
    "pue_low",
    "pue_high",
    "grid_intensity",
    "grid_intensity_low",
    "grid_intensity_high",
    "overhead_energy_joules",
    "overhead_energy_joules_low",
    "overhead_energy_joules_high",
    "overhead_co2e_grams",
    "overhead_co2e_grams_low",
    "overhead_co2e_grams_high",
    "unallocated_embodied_co2e_grams",
    "unallocated_embodied_co2e_grams_low",
    "unallocated_embodied_co2e_grams_high",
    "estimation_reasons",
    "methodology",
    "methodology_version",
    "data_version",
    "idle_policy",
];

/// Rows per `INSERT` statement: one statement binds `rows × columns` parameters (SQLite allows
/// 32 766), and fewer, larger statements make the batch faster (256 rows: 10 496 parameters;
/// measured against 64, slightly less system time and no more than 4 MB more memory).
pub(super) const ROWS_PER_INSERT: usize = 256;

/// `INSERT INTO table (columns) VALUES (?, ...), ...` for `rows` rows.
pub(super) fn insert(table: &str, columns: &[&str], rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let one = format!("({})", vec!["?"; columns.len()].join(", "));
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&one);
    }
    sql
}

pub(super) const DELETE_POD_WINDOW: &str =
    "DELETE FROM pod_footprints WHERE window_start_us = ?1 AND cluster = ?2";
pub(super) const DELETE_NODE_WINDOW: &str =
    "DELETE FROM node_footprints WHERE window_start_us = ?1 AND cluster = ?2";

/// One page of pod rows: `?1` from, `?2` to, then (after a cursor) `?3..?6` the cursor key,
/// and the limit last.
pub(super) fn select_pods(after_cursor: bool) -> String {
    let mut sql = format!(
        "SELECT {} FROM pod_footprints WHERE window_start_us >= ?1 AND window_start_us < ?2",
        POD_COLUMNS.join(", ")
    );
    if after_cursor {
        sql.push_str(" AND (window_start_us, cluster, namespace, pod) > (?3, ?4, ?5, ?6)");
        sql.push_str(" ORDER BY window_start_us, cluster, namespace, pod LIMIT ?7");
    } else {
        sql.push_str(" ORDER BY window_start_us, cluster, namespace, pod LIMIT ?3");
    }
    sql
}

/// Microseconds in an hour.
pub(super) const MICROS_PER_HOUR: i64 = 3_600_000_000;
/// Microseconds in a day.
pub(super) const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The start of the period containing `t_us`, in microseconds (UTC). Weeks start on Monday
/// (1970-01-01 was a Thursday, three days after a Monday), so the core labels the bucket with
/// its ISO week.
fn bucket(period: Option<Period>) -> String {
    let calendar = |modifier: &str| {
        format!(
            "(CAST(strftime('%s', t_us / 1000000, 'unixepoch', '{modifier}') \
             AS INTEGER) * 1000000)"
        )
    };
    match period {
        None => "NULL".to_string(),
        Some(Period::Hour) => format!("(t_us - t_us % {MICROS_PER_HOUR})"),
        Some(Period::Day) => format!("(t_us - t_us % {MICROS_PER_DAY})"),
        Some(Period::Week) => format!(
            "((t_us / {MICROS_PER_DAY} - (t_us / {MICROS_PER_DAY} + 3) % 7) * {MICROS_PER_DAY})"
        ),
        Some(Period::Month) => calendar("start of month"),
        Some(Period::Year) => calendar("start of year"),
    }
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
pub(super) const KEY_COLUMNS: [&str; 6] = [
    "k_cluster",
    "k_namespace",
    "k_workload_kind",
    "k_workload",
    "k_pod",
    "k_node",
];

/// A read plan in microseconds: half-open ranges of raw window starts, hours and days.
#[derive(Debug, Default)]
pub(super) struct PlanMicros {
    pub(super) raw: Vec<(i64, i64)>,
    pub(super) hourly: Vec<(i64, i64)>,
    pub(super) daily: Vec<(i64, i64)>,
}

/// `(column >= a AND column < b) OR ...` (integers only, so inlining them is safe).
fn in_ranges(column: &str, ranges: &[(i64, i64)]) -> String {
    let parts: Vec<String> = ranges
        .iter()
        .map(|(a, b)| format!("({column} >= {a} AND {column} < {b})"))
        .collect();
    format!("({})", parts.join(" OR "))
}

const RAW_POD: &str = "SELECT NULLIF(cluster, '') AS k_cluster, namespace AS k_namespace, \
    workload_kind AS k_workload_kind, workload AS k_workload, pod AS k_pod, node AS k_node, \
    window_start_us AS t_us, window_start_us AS first_us, window_end_us AS end_us, \
    energy_joules AS e, energy_joules_low AS e_low, energy_joules_high AS e_high, \
    co2e_grams AS c, co2e_grams_low AS c_low, co2e_grams_high AS c_high, \
    embodied_co2e_grams AS m, embodied_co2e_grams_low AS m_low, embodied_co2e_grams_high AS m_high, \
    cost, 1 AS n_pod, estimated AS n_estimated, (cost IS NULL) AS n_no_cost \
    FROM pod_footprints WHERE ";

const ROLLED_POD: &str = "SELECT NULLIF(cluster, '') AS k_cluster, namespace AS k_namespace, workload_kind AS k_workload_kind, \
    workload AS k_workload, pod AS k_pod, node AS k_node, \
    bucket_us AS t_us, first_window_us AS first_us, last_window_end_us AS end_us, \
    energy_joules AS e, energy_joules_low AS e_low, energy_joules_high AS e_high, \
    co2e_grams AS c, co2e_grams_low AS c_low, co2e_grams_high AS c_high, \
    embodied_co2e_grams AS m, embodied_co2e_grams_low AS m_low, \
    embodied_co2e_grams_high AS m_high, \
    cost, rows AS n_pod, estimated_rows AS n_estimated, no_cost_rows AS n_no_cost \
    FROM pod_rollups WHERE level = ";

const RAW_NODE: &str = "SELECT NULLIF(cluster, '') AS k_cluster, NULL AS k_namespace, NULL AS k_workload_kind, \
    NULL AS k_workload, NULL AS k_pod, NULLIF(node, '') AS k_node, window_start_us, window_start_us, window_end_us, \
    overhead_energy_joules, overhead_energy_joules_low, overhead_energy_joules_high, \
    overhead_co2e_grams, overhead_co2e_grams_low, overhead_co2e_grams_high, \
    unallocated_embodied_co2e_grams, unallocated_embodied_co2e_grams_low, \
    unallocated_embodied_co2e_grams_high, NULL, 0, 0, 0 FROM node_footprints WHERE ";

const ROLLED_NODE: &str = "SELECT NULLIF(cluster, '') AS k_cluster, NULL AS k_namespace, NULL AS k_workload_kind, \
    NULL AS k_workload, NULL AS k_pod, NULLIF(node, '') AS k_node, bucket_us, first_window_us, last_window_end_us, \
    energy_joules, energy_joules_low, energy_joules_high, co2e_grams, co2e_grams_low, \
    co2e_grams_high, embodied_co2e_grams, embodied_co2e_grams_low, embodied_co2e_grams_high, \
    NULL, 0, 0, 0 FROM node_rollups WHERE level = ";

/// The aggregate query over a read plan, or `None` when the plan reads nothing. Returns the
/// six key columns (NULL outside the grouping), the bucket start, the sums of each figure and
/// its bounds, the cost, pod rows, estimated rows, rows without cost, first window start and
/// last window end.
pub(super) fn aggregate(
    group_by: GroupBy,
    period: Option<Period>,
    plan: &PlanMicros,
) -> Option<String> {
    let with_nodes = matches!(group_by, GroupBy::Node | GroupBy::Cluster);
    let mut sources = Vec::new();
    if !plan.raw.is_empty() {
        let filter = in_ranges("window_start_us", &plan.raw);
        sources.push(format!("{RAW_POD}{filter}"));
        if with_nodes {
            sources.push(format!("{RAW_NODE}{filter}"));
        }
    }
    for (level, ranges) in [(1, &plan.hourly), (2, &plan.daily)] {
        if ranges.is_empty() {
            continue;
        }
        let filter = in_ranges("bucket_us", ranges);
        sources.push(format!("{ROLLED_POD}{level} AND {filter}"));
        if with_nodes {
            sources.push(format!("{ROLLED_NODE}{level} AND {filter}"));
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
            let _ = write!(sql, "NULL AS {k}, ");
        }
    }
    let _ = write!(
        sql,
        "{} AS bucket, \
         TOTAL(e), TOTAL(e_low), TOTAL(e_high), TOTAL(c), TOTAL(c_low), TOTAL(c_high), \
         TOTAL(m), TOTAL(m_low), TOTAL(m_high), TOTAL(cost), \
         SUM(n_pod), SUM(n_estimated), SUM(n_no_cost), MIN(first_us), MAX(end_us) \
         FROM ({source}) GROUP BY {}",
        bucket(period),
        group.join(", ")
    );
    if period.is_some() {
        sql.push_str(", bucket");
    }
    Some(sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_has_one_placeholder_per_value() {
        let sql = insert("t", &["a", "b"], 3);
        assert_eq!(sql, "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)");
        assert!(ROWS_PER_INSERT * POD_COLUMNS.len() < 32_766);
    }

    #[test]
    fn aggregate_groups_by_the_grouping_keys_only() {
        let plan = PlanMicros {
            raw: vec![(0, 10), (20, 30)],
            ..PlanMicros::default()
        };
        let sql = aggregate(GroupBy::Namespace, Some(Period::Day), &plan).unwrap();
        assert!(sql.ends_with("GROUP BY k_namespace, bucket"), "{sql}");
        assert!(sql.contains("NULL AS k_node"));
        assert!(!sql.contains("node_footprints"));
        assert!(sql.contains("(window_start_us >= 0 AND window_start_us < 10) OR"));
        let plan = PlanMicros {
            daily: vec![(0, MICROS_PER_DAY)],
            ..PlanMicros::default()
        };
        let sql = aggregate(GroupBy::Cluster, None, &plan).unwrap();
        assert!(sql.contains("FROM node_rollups WHERE level = 2"), "{sql}");
        assert!(!sql.contains("pod_footprints"));
        assert!(sql.ends_with("GROUP BY k_cluster"), "{sql}");
        assert!(aggregate(GroupBy::Cluster, None, &PlanMicros::default()).is_none());
    }
}
