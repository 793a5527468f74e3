//! What the two SQL schemas share: the columns of a footprint row (both backends name them
//! alike; only the window and bucket columns differ, `*_us` integers in SQLite and
//! `timestamptz` in PostgreSQL) and the shape of the aggregate statement.

use std::fmt::Write as _;
use std::sync::Arc;

use greenkube_core::{GroupBy, Period};

/// An optional name as bound.
pub(crate) fn text(v: Option<&Arc<str>>) -> Option<&str> {
    v.map(AsRef::as_ref)
}

/// Estimation reasons as stored: a JSON list.
pub(crate) fn reasons_json(reasons: &[String]) -> String {
    serde_json::to_string(reasons).unwrap_or_else(|_| "[]".to_string())
}

/// Per-row columns of `pod_footprints` (after the window columns and the cluster, before the
/// methodology) with their PostgreSQL types, in the order rows are bound and read.
pub(crate) const POD_ROW_COLUMNS: [(&str, &str); 34] = [
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

/// Per-row columns of `node_footprints` and their PostgreSQL types, as [`POD_ROW_COLUMNS`].
pub(crate) const NODE_ROW_COLUMNS: [(&str, &str); 24] = [
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

/// The columns every footprint row ends with.
pub(crate) const METHODOLOGY_COLUMNS: [&str; 4] = [
    "methodology",
    "methodology_version",
    "data_version",
    "idle_policy",
];

/// Every column of a footprint table in order: the window's `start` and `end` columns, the
/// cluster, the row columns and the methodology.
pub(crate) fn columns<'a>(start: &'a str, end: &'a str, rows: &[(&'a str, &str)]) -> Vec<&'a str> {
    [start, end, "cluster"]
        .into_iter()
        .chain(rows.iter().map(|(name, _)| *name))
        .chain(METHODOLOGY_COLUMNS)
        .collect()
}

/// Columns in the select list of a stored pod row: the window, the cluster, the row's own and
/// the methodology's.
pub(crate) const POD_SELECT_COLUMNS: usize = 3 + POD_ROW_COLUMNS.len() + METHODOLOGY_COLUMNS.len();

/// The select list of a stored pod row, in the order `rows::pod_from_row` reads it; the JSON
/// column is followed by `text` (a cast, where the backend needs one).
fn pod_select_list(start: &str, end: &str, text: &str) -> String {
    columns(start, end, &POD_ROW_COLUMNS)
        .into_iter()
        .map(|c| match c {
            "estimation_reasons" => format!("{c}{text}"),
            _ => c.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a backend's page statement is written: the suffix of its time columns, what follows a
/// text placeholder and the JSON column, the table or view rows are read from, and what keeps
/// its planner from seeking by the window start alone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageSql {
    /// What ends the names of the window columns (`_us` in SQLite).
    pub(crate) us: &'static str,
    /// What follows a text placeholder and the JSON column (a cast, where the backend needs
    /// one).
    pub(crate) text: &'static str,
    /// The table or view the rows are read from ([`super::Dialect::POD_ROWS`]).
    pub(crate) rows: &'static str,
    /// What goes before the window start in the range's bounds when a key bounds the page
    /// ([`super::Dialect::NOT_INDEXED`]).
    pub(crate) not_indexed: &'static str,
    /// With the row's note id (`note`, migration 5) after its columns: for a reader that reads
    /// the table and looks the notes up itself.
    pub(crate) with_note: bool,
}

/// One page of pod rows in key order: `$1` from, `$2` to, then (after a cursor) `$3..$6` the
/// cursor key `(window start, cluster, namespace, pod)`, and the limit last.
pub(crate) fn select_pods(sql: PageSql, after_cursor: bool) -> String {
    select_pods_upto(sql, after_cursor, false)
}

/// [`select_pods`], and with `upto_cursor` only the rows up to a key, inclusive: its four
/// placeholders follow the cursor's (or the range's), before the limit.
///
/// A bound by key is what the index is searched by: the range's bound on the same side is
/// written with [`PageSql::not_indexed`], or SQLite would seek by the window start and step
/// over every row of the cursor's window before it (and, for the upper bound, every row to the
/// range's end).
pub(crate) fn select_pods_upto(sql: PageSql, after_cursor: bool, upto_cursor: bool) -> String {
    let PageSql {
        us,
        text,
        rows,
        not_indexed,
        with_note,
    } = sql;
    let start = format!("window_start{us}");
    let from = if after_cursor { not_indexed } else { "" };
    let to = if upto_cursor { not_indexed } else { "" };
    let note = if with_note { ", note" } else { "" };
    let mut sql = format!(
        "SELECT {}{note} FROM {rows} WHERE {from}{start} >= $1 AND {to}{start} < $2",
        pod_select_list(&start, &format!("window_end{us}"), text)
    );
    let mut next = 3;
    for (wanted, op) in [(after_cursor, ">"), (upto_cursor, "<=")] {
        if wanted {
            let _ = write!(
                sql,
                " AND ({start}, cluster, namespace, pod) {op} (${}, ${}{text}, ${}{text}, ${}{text})",
                next,
                next + 1,
                next + 2,
                next + 3
            );
            next += 4;
        }
    }
    let _ = write!(
        sql,
        " ORDER BY {start}, cluster, namespace, pod LIMIT ${next}"
    );
    sql
}

/// A read plan in the backend's bounds: half-open ranges of raw window starts, hours and days.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Plan<T> {
    pub(crate) raw: Vec<(T, T)>,
    pub(crate) hourly: Vec<(T, T)>,
    pub(crate) daily: Vec<(T, T)>,
}

/// How a source is restricted to the ranges of its part of a plan: a join (empty when the
/// ranges are compared one by one) and a condition.
#[derive(Debug, Default)]
pub(crate) struct Restriction {
    pub(crate) join: String,
    pub(crate) condition: String,
}

/// How a backend writes the aggregate statement: the suffix of its time columns (`_us` in
/// SQLite), the casts its `UNION ALL` and sums need (nothing in SQLite), and its sums.
#[derive(Debug)]
pub(crate) struct AggregateSql {
    /// The suffix of the time columns (`window_start`, `bucket`, `first_window`, ...).
    pub(crate) time_suffix: &'static str,
    /// What types a NULL in a text column.
    pub(crate) text: &'static str,
    /// What types a NULL in a float column.
    pub(crate) float: &'static str,
    /// What makes an integer (a constant, a count) a 64-bit integer.
    pub(crate) int: &'static str,
    /// What makes a boolean a 64-bit integer (1 for true).
    pub(crate) flag: &'static str,
    /// The sum of floats (0 over no row).
    pub(crate) sum: &'static str,
}

/// The figures summed, `(pod row and roll-up column, node row column, alias)`; each also has
/// `_low` and `_high`.
const FIGURES: [(&str, &str, &str); 3] = [
    ("energy_joules", "overhead_energy_joules", "e"),
    ("co2e_grams", "overhead_co2e_grams", "c"),
    (
        "embodied_co2e_grams",
        "unallocated_embodied_co2e_grams",
        "m",
    ),
];

/// `column AS alias, column_low AS alias_low, ...` of the figures (aliases when `aliased`), the
/// pod columns or the node ones.
fn figures(node: bool, aliased: bool) -> String {
    let mut out = Vec::new();
    for (pod_column, node_column, alias) in FIGURES {
        let column = if node { node_column } else { pod_column };
        for bound in ["", "_low", "_high"] {
            out.push(if aliased {
                format!("{column}{bound} AS {alias}{bound}")
            } else {
                format!("{column}{bound}")
            });
        }
    }
    out.join(", ")
}

impl AggregateSql {
    /// The four sources: raw pod rows, raw node rows, pod roll-ups and node roll-ups, each
    /// selecting the six key columns (NULL where the row has none), the time the period
    /// buckets (`t`), the first window start and last window end, the three figures with their
    /// bounds, the cost and the pod, estimated and no-cost row counts (the first one names them).
    fn sources(&self) -> [String; 4] {
        let Self {
            time_suffix: us,
            text,
            float,
            int,
            flag,
            ..
        } = self;
        let keys = "NULLIF(cluster, '') AS k_cluster, namespace AS k_namespace, \
            workload_kind AS k_workload_kind, workload AS k_workload, pod AS k_pod, node AS k_node";
        let node_keys = format!(
            "NULLIF(cluster, ''), NULL{text}, NULL{text}, NULL{text}, NULL{text}, NULLIF(node, '')"
        );
        let no_pods = format!("NULL{float}, 0{int}, 0{int}, 0{int}");
        let raw_times = format!("window_start{us}, window_start{us}, window_end{us}");
        let rolled_times = format!("bucket{us}, first_window{us}, last_window_end{us}");
        [
            format!(
                "SELECT {keys}, window_start{us} AS t, window_start{us} AS first_t, \
                 window_end{us} AS end_t, {}, cost, 1{int} AS n_pod, \
                 estimated{flag} AS n_estimated, (cost IS NULL){flag} AS n_no_cost \
                 FROM pod_footprints",
                figures(false, true)
            ),
            format!(
                "SELECT {node_keys}, {raw_times}, {}, {no_pods} FROM node_footprints",
                figures(true, false)
            ),
            // Named like the raw pod rows: it comes first when the plan reads no raw rows.
            format!(
                "SELECT {keys}, bucket{us} AS t, first_window{us} AS first_t, \
                 last_window_end{us} AS end_t, {}, cost, rows AS n_pod, \
                 estimated_rows AS n_estimated, no_cost_rows AS n_no_cost FROM pod_rollups",
                figures(false, true)
            ),
            format!(
                "SELECT {node_keys}, {rolled_times}, {}, {no_pods} FROM node_rollups",
                figures(false, false)
            ),
        ]
    }

    /// What follows the bucket in the outer select list.
    fn totals(&self) -> String {
        let Self { sum, int, .. } = self;
        let figures: Vec<String> = FIGURES
            .iter()
            .flat_map(|(_, _, alias)| {
                ["", "_low", "_high"].map(|bound| format!("{sum}({alias}{bound})"))
            })
            .collect();
        format!(
            "{}, COALESCE({sum}(cost), 0), SUM(n_pod){int}, SUM(n_estimated){int}, SUM(n_no_cost){int}, \
             MIN(first_t), MAX(end_t)",
            figures.join(", ")
        )
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

/// Every key column, in the order the aggregate statement returns them.
const KEY_COLUMNS: [&str; 6] = [
    "k_cluster",
    "k_namespace",
    "k_workload_kind",
    "k_workload",
    "k_pod",
    "k_node",
];

/// The aggregate statement over a read plan, or `None` when the plan reads nothing: raw rows of
/// the plan's raw ranges, hourly and daily roll-ups (levels 1 and 2) of its hours and days, in
/// one `UNION ALL`, grouped by the grouping's keys and the period `bucket` (an expression of
/// the sources' time `t`). Returns the six key columns (NULL outside the grouping), the bucket
/// start, the sums of each figure and its bounds, the cost, pod rows, estimated rows, rows
/// without cost, first window start and last window end. `restrict` writes the restriction of
/// a source to ranges of a column (the raw pod and node rows share one). `cluster`, when
/// given, is the placeholder of the one cluster to read (every source compares its `cluster`
/// column with it).
pub(crate) fn aggregate<T>(
    sql: &AggregateSql,
    group_by: GroupBy,
    period: Option<Period>,
    bucket: &str,
    plan: &Plan<T>,
    cluster: Option<&str>,
    mut restrict: impl FnMut(&str, &[(T, T)]) -> Restriction,
) -> Option<String> {
    let in_cluster = cluster.map_or_else(String::new, |c| format!(" AND cluster = {c}"));
    let with_nodes = matches!(group_by, GroupBy::Node | GroupBy::Cluster);
    let [raw_pod, raw_node, rolled_pod, rolled_node] = sql.sources();
    let mut sources = Vec::new();
    let mut add = |pod: &str, node: &str, filter: String| {
        sources.push(format!("{pod}{filter}"));
        if with_nodes {
            sources.push(format!("{node}{filter}"));
        }
    };
    let us = sql.time_suffix;
    if !plan.raw.is_empty() {
        let r = restrict(&format!("window_start{us}"), &plan.raw);
        add(
            &raw_pod,
            &raw_node,
            format!("{} WHERE {}{in_cluster}", r.join, r.condition),
        );
    }
    for (level, ranges) in [(1, &plan.hourly), (2, &plan.daily)] {
        if !ranges.is_empty() {
            let r = restrict(&format!("bucket{us}"), ranges);
            let filter = format!(
                "{} WHERE level = {level} AND {}{in_cluster}",
                r.join, r.condition
            );
            add(&rolled_pod, &rolled_node, filter);
        }
    }
    if sources.is_empty() {
        return None;
    }
    let group = keys(group_by);
    let mut text = String::from("SELECT ");
    for k in KEY_COLUMNS {
        if group.contains(&k) {
            let _ = write!(text, "{k}, ");
        } else {
            let _ = write!(text, "NULL{} AS {k}, ", sql.text);
        }
    }
    let _ = write!(
        text,
        "{bucket} AS bucket, {} FROM ({}) AS s GROUP BY {}",
        sql.totals(),
        sources.join(" UNION ALL "),
        group.join(", ")
    );
    if period.is_some() {
        text.push_str(", bucket");
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Markers in place of the casts, to see where each goes.
    const SQL: AggregateSql = AggregateSql {
        time_suffix: "_us",
        text: "/*text*/",
        float: "/*float*/",
        int: "/*int*/",
        flag: "/*flag*/",
        sum: "SUM",
    };

    /// Ranges as text, to see where each restriction goes.
    fn inline(column: &str, ranges: &[(i64, i64)]) -> Restriction {
        Restriction {
            join: String::new(),
            condition: format!("{column} IN {ranges:?}"),
        }
    }

    #[test]
    fn aggregate_groups_by_the_grouping_keys_only() {
        let plan = Plan {
            raw: vec![(0, 10), (20, 30)],
            ..Plan::default()
        };
        let sql = aggregate(
            &SQL,
            GroupBy::Namespace,
            Some(Period::Day),
            "t",
            &plan,
            None,
            inline,
        )
        .unwrap();
        assert!(sql.ends_with("GROUP BY k_namespace, bucket"), "{sql}");
        assert!(sql.contains("NULL/*text*/ AS k_node"), "{sql}");
        assert!(sql.contains("(cost IS NULL)/*flag*/ AS n_no_cost"), "{sql}");
        assert!(!sql.contains("node_footprints"));
        assert!(
            sql.contains("FROM pod_footprints WHERE window_start_us IN [(0, 10), (20, 30)]"),
            "{sql}"
        );
        assert!(
            sql.contains("window_end_us AS end_t, energy_joules AS e,"),
            "{sql}"
        );
        let plan = Plan {
            raw: vec![(0, 1)],
            daily: vec![(0, 5)],
            ..Plan::default()
        };
        let sql = aggregate(&SQL, GroupBy::Cluster, None, "NULL", &plan, None, inline).unwrap();
        assert!(
            sql.contains("FROM node_rollups WHERE level = 2 AND bucket_us IN [(0, 5)]"),
            "{sql}"
        );
        assert!(
            sql.contains("FROM node_footprints WHERE window_start_us IN [(0, 1)]"),
            "{sql}"
        );
        // One cluster: every source compares its cluster column with the placeholder.
        let one = aggregate(
            &SQL,
            GroupBy::Cluster,
            None,
            "NULL",
            &plan,
            Some("$9"),
            inline,
        )
        .unwrap();
        assert_eq!(one.matches(" AND cluster = $9").count(), 4, "{one}");
        assert!(
            one.contains(
                "FROM node_rollups WHERE level = 2 AND bucket_us IN [(0, 5)] AND cluster = $9"
            ),
            "{one}"
        );
        assert!(
            sql.contains("overhead_energy_joules, overhead_energy_joules_low,"),
            "{sql}"
        );
        assert!(sql.contains("NULL/*float*/, 0/*int*/, 0/*int*/"), "{sql}");
        assert!(!sql.contains("level = 1"));
        assert!(sql.ends_with("GROUP BY k_cluster"), "{sql}");
        assert!(
            aggregate(
                &SQL,
                GroupBy::Cluster,
                None,
                "NULL",
                &Plan::default(),
                None,
                inline
            )
            .is_none()
        );
    }

    #[test]
    fn columns_and_pages() {
        let all = columns("s", "e", &POD_ROW_COLUMNS);
        assert_eq!(all.len(), 41);
        assert_eq!(all.len(), POD_SELECT_COLUMNS);
        assert_eq!(&all[..4], ["s", "e", "cluster", "namespace"]);
        assert_eq!(columns("s", "e", &NODE_ROW_COLUMNS).len(), 31);
        let sqlite = PageSql {
            us: "_us",
            text: "",
            rows: "pod_footprints",
            not_indexed: "+",
            with_note: false,
        };
        let postgres = PageSql {
            us: "",
            text: "::text",
            rows: "pod_footprints",
            not_indexed: "",
            with_note: false,
        };
        let first = select_pods(sqlite, false);
        assert!(
            first.starts_with("SELECT window_start_us, window_end_us, cluster, namespace, pod,"),
            "{first}"
        );
        assert!(
            first.ends_with(
                "FROM pod_footprints WHERE window_start_us >= $1 AND window_start_us < $2 \
                 ORDER BY window_start_us, cluster, namespace, pod LIMIT $3"
            ),
            "{first}"
        );
        let next = select_pods(postgres, true);
        assert!(
            next.contains("estimation_reasons::text, methodology"),
            "{next}"
        );
        assert!(
            next.ends_with(
                "WHERE window_start >= $1 AND window_start < $2 \
                 AND (window_start, cluster, namespace, pod) > ($3, $4::text, $5::text, $6::text) \
                 ORDER BY window_start, cluster, namespace, pod LIMIT $7"
            ),
            "{next}"
        );
        let noted = select_pods(
            PageSql {
                with_note: true,
                ..sqlite
            },
            false,
        );
        assert!(
            noted.contains("idle_policy, note FROM pod_footprints WHERE"),
            "{noted}"
        );
        let part = select_pods_upto(sqlite, true, true);
        assert!(
            part.ends_with(
                "WHERE +window_start_us >= $1 AND +window_start_us < $2 \
                 AND (window_start_us, cluster, namespace, pod) > ($3, $4, $5, $6) \
                 AND (window_start_us, cluster, namespace, pod) <= ($7, $8, $9, $10) \
                 ORDER BY window_start_us, cluster, namespace, pod LIMIT $11"
            ),
            "{part}"
        );
        assert!(select_pods_upto(sqlite, false, true).ends_with(
            "WHERE window_start_us >= $1 AND +window_start_us < $2 \
                 AND (window_start_us, cluster, namespace, pod) <= ($3, $4, $5, $6) \
                 ORDER BY window_start_us, cluster, namespace, pod LIMIT $7"
        ));
    }
}
