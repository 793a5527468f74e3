//! The request bodies of the Elasticsearch store, built without I/O: which documents a read may
//! see, the composite aggregation of a report, and one page of pod rows.

use greenkube_core::ports::{PodCursor, TimeRange};
use greenkube_core::{GroupBy, Period};
use serde_json::{Value, json};

use super::fields::{
    AGGREGATED_FIGURES, KEY_SOURCES, NODE_ROW, PERIOD_SOURCE, POD_ROW, group_fields,
    includes_nodes, micros, micros_ceil,
};

/// Buckets per composite aggregation request.
pub(super) const COMPOSITE_PAGE: usize = 1000;

/// Windows per `terms` clause (Elasticsearch's default `index.max_terms_count` is 65,536).
pub(super) const TERMS_PER_CLAUSE: usize = 50_000;

/// What a read may see, from the ledger (see the module docs of the store): rows of batches
/// up to `committed_through`, except aborted batches and rows superseded by a committed batch
/// whose clean-up has not finished.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Visibility {
    /// The highest committed batch.
    pub(super) committed_through: u64,
    /// Batches whose rows must not be seen (aborted, clean-up unfinished).
    pub(super) aborted: Vec<u64>,
    /// Committed batches whose clean-up has not finished, with their windows: in those
    /// windows, rows of older batches must not be seen.
    pub(super) superseding: Vec<(u64, Vec<String>)>,
}

impl Visibility {
    /// The `must_not` clauses that hide what must not be seen.
    pub(super) fn must_not(&self) -> Vec<Value> {
        let mut clauses = vec![json!({"range": {"batch": {"gt": self.committed_through}}})];
        if !self.aborted.is_empty() {
            clauses.push(json!({"terms": {"batch": self.aborted}}));
        }
        for (batch, windows) in &self.superseding {
            for chunk in windows.chunks(TERMS_PER_CLAUSE) {
                clauses.push(json!({"bool": {"filter": [
                    {"terms": {"window": chunk}},
                    {"range": {"batch": {"lt": batch}}}
                ]}}));
            }
        }
        clauses
    }
}

/// Windows whose start is in `range`.
pub(super) fn range_filter(range: TimeRange) -> Value {
    json!({"range": {"window_start_us": {
        "gte": micros_ceil(range.from()),
        "lt": micros_ceil(range.to())
    }}})
}

/// `filter` restricted to the rows (pod, node, roll-up) of one cluster, when one is given.
pub(super) fn in_cluster(filter: Value, cluster: Option<&str>) -> Value {
    match cluster {
        Some(name) => json!({"bool": {"filter": [filter, {"term": {"cluster": name}}]}}),
        None => filter,
    }
}

/// The visible rows of `range`, pod rows only or pod and node rows.
pub(super) fn visible_rows(range: TimeRange, with_nodes: bool, visibility: &Visibility) -> Value {
    let rows: &[&str] = if with_nodes {
        &[POD_ROW, NODE_ROW]
    } else {
        &[POD_ROW]
    };
    json!({"bool": {
        "filter": [range_filter(range), {"terms": {"row": rows}}],
        "must_not": visibility.must_not()
    }})
}

fn interval(period: Period) -> &'static str {
    match period {
        Period::Hour => "hour",
        Period::Day => "day",
        // Weeks start on Monday, so the bucket's start is in the ISO week it labels.
        Period::Week => "week",
        Period::Month => "month",
        Period::Year => "year",
    }
}

/// One request of a report over the documents `filter` selects (raw rows and roll-ups, which
/// share the field names the report reads): a composite aggregation over the group keys (and
/// the period as a `date_histogram` source on the window start, UTC; a roll-up's is its bucket
/// start), with the sums, counts and window bounds of each group; `after` is the previous
/// page's `after_key`.
pub(super) fn aggregate_body(
    filter: &Value,
    group_by: GroupBy,
    period: Option<Period>,
    after: Option<&Value>,
) -> Value {
    let fields = group_fields(group_by);
    let mut sources: Vec<Value> = KEY_SOURCES
        .iter()
        .filter(|(_, field)| fields.contains(field))
        .map(|(name, field)| json!({ *name: {"terms": {"field": field}} }))
        .collect();
    if let Some(p) = period {
        sources.push(json!({ PERIOD_SOURCE: {"date_histogram": {
            "field": "window_start",
            "calendar_interval": interval(p),
            "time_zone": "UTC"
        }}}));
    }
    let with_nodes = includes_nodes(group_by);
    let mut aggs = serde_json::Map::new();
    let mut sum = |field: String| {
        aggs.insert(field.clone(), json!({"sum": {"field": field}}));
    };
    for &(pod_field, node_field) in AGGREGATED_FIGURES {
        for suffix in ["", "_low", "_high"] {
            sum(format!("{pod_field}{suffix}"));
            if with_nodes {
                sum(format!("{node_field}{suffix}"));
            }
        }
    }
    for field in ["cost", "pod_rows", "estimated_rows", "no_cost"] {
        sum(field.to_string());
    }
    aggs.insert(
        "first_window".to_string(),
        json!({"min": {"field": "window_start_us"}}),
    );
    aggs.insert(
        "last_window".to_string(),
        json!({"max": {"field": "window_end_us"}}),
    );
    let mut composite = json!({"size": COMPOSITE_PAGE, "sources": sources});
    if let Some(after) = after {
        composite["after"] = after.clone();
    }
    json!({
        "size": 0,
        "track_total_hits": false,
        "query": filter,
        "aggs": {"groups": {"composite": composite, "aggs": aggs}}
    })
}

/// One page of pod rows in `(window_start, cluster, namespace, pod)` order (keywords compare
/// byte by byte, and no cluster is `""`, which sorts first), after `after`; `size` is one more
/// than the page, to tell whether another follows.
pub(super) fn page_body(
    range: TimeRange,
    after: Option<&PodCursor>,
    size: usize,
    visibility: &Visibility,
) -> Value {
    let mut body = json!({
        "size": size,
        "track_total_hits": false,
        "query": visible_rows(range, false, visibility),
        "sort": [
            {"window_start_us": "asc"},
            {"cluster": "asc"},
            {"namespace": "asc"},
            {"pod": "asc"}
        ]
    });
    if let Some(c) = after {
        body["search_after"] = json!([
            micros(c.window_start()),
            c.cluster().unwrap_or(""),
            c.namespace(),
            c.pod()
        ]);
    }
    body
}

/// Rows of the given windows written by batches before `batch`: what `batch` replaces.
pub(super) fn superseded_by(batch: u64, windows: &[String], pods_only: bool) -> Value {
    let mut filter = vec![
        json!({"terms": {"window": windows}}),
        json!({"range": {"batch": {"lt": batch}}}),
    ];
    if pods_only {
        filter.push(json!({"term": {"row": POD_ROW}}));
    }
    json!({"bool": {"filter": filter}})
}

/// Every row a batch wrote.
pub(super) fn written_by(batch: u64) -> Value {
    json!({"term": {"batch": batch}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenkube_core::testsuite::fixtures::at;

    fn range() -> TimeRange {
        TimeRange::new(at(2025, 6, 1, 0, 0), at(2025, 7, 1, 0, 0)).unwrap()
    }

    #[test]
    fn hides_what_the_ledger_says() {
        let v = Visibility {
            committed_through: 7,
            aborted: vec![5],
            superseding: vec![(7, vec!["1/a".to_string()])],
        };
        let clauses = v.must_not();
        assert_eq!(clauses.len(), 3);
        assert_eq!(clauses[0], json!({"range": {"batch": {"gt": 7}}}));
        assert_eq!(clauses[1], json!({"terms": {"batch": [5]}}));
        assert_eq!(
            clauses[2]["bool"]["filter"][1],
            json!({"range": {"batch": {"lt": 7}}})
        );
        let many = Visibility {
            superseding: vec![(3, vec!["w".to_string(); TERMS_PER_CLAUSE + 1])],
            ..Visibility::default()
        };
        assert_eq!(many.must_not().len(), 3, "two clauses for one large batch");
    }

    #[test]
    fn report_groups_by_the_grouping_and_period() {
        let body = aggregate_body(
            &visible_rows(range(), false, &Visibility::default()),
            GroupBy::Namespace,
            Some(Period::Week),
            None,
        );
        let sources = &body["aggs"]["groups"]["composite"]["sources"];
        assert_eq!(
            sources,
            &json!([
                {"k_namespace": {"terms": {"field": "namespace"}}},
                {"k_period": {"date_histogram": {"field": "window_start", "calendar_interval": "week", "time_zone": "UTC"}}}
            ])
        );
        assert_eq!(
            body["query"]["bool"]["filter"][1],
            json!({"terms": {"row": ["pod"]}})
        );
        let aggs = body["aggs"]["groups"]["aggs"].as_object().unwrap();
        assert!(!aggs.contains_key("overhead_energy_joules"));
        let body = aggregate_body(
            &visible_rows(range(), true, &Visibility::default()),
            GroupBy::Cluster,
            None,
            Some(&json!({"k_cluster": "a"})),
        );
        assert_eq!(
            body["aggs"]["groups"]["composite"]["after"],
            json!({"k_cluster": "a"})
        );
        let aggs = body["aggs"]["groups"]["aggs"].as_object().unwrap();
        assert!(aggs.contains_key("unallocated_embodied_co2e_grams_high"));
        assert_eq!(
            body["query"]["bool"]["filter"][1],
            json!({"terms": {"row": ["pod", "node"]}})
        );
    }

    #[test]
    fn range_bounds_round_up() {
        let r = TimeRange::new(
            at(2025, 6, 1, 0, 0) + chrono::Duration::nanoseconds(1),
            at(2025, 6, 2, 0, 0),
        )
        .unwrap();
        assert_eq!(
            range_filter(r),
            json!({"range": {"window_start_us": {"gte": 1_748_736_000_000_001_i64, "lt": 1_748_822_400_000_000_i64}}})
        );
    }
}
