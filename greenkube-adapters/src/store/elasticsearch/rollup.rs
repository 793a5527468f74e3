//! Roll-ups and retention without I/O: the roll-up state the ledger carries, the roll-up
//! documents (`mappings/rollups.json`) and the request bodies that make and read them. The
//! requests themselves are in [`super::maintain`]; the design is in the store's module docs.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use greenkube_core::Period;
use greenkube_core::ports::{ReadPlan, RetentionState, StoreError, TimeRange, floor_time};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::BACKEND;
use super::fields::{AGGREGATED_FIGURES, NODE_ROW, POD_ROW, digest, instant, micros, micros_ceil};
use super::query::{COMPOSITE_PAGE, Visibility};

/// Microseconds in an hour.
pub(super) const HOUR_US: i64 = 3_600_000_000;
/// Microseconds in a day.
pub(super) const DAY_US: i64 = 86_400_000_000;

/// Buckets one list of the ledger may hold once expanded (about 114 years of hours): more is a
/// damaged ledger, refused rather than expanded.
const MAX_BUCKETS: usize = 1_000_000;

/// Hours (or days) rolled up per step of `maintain`: one write-lock hold, one commit.
pub(super) const BUCKETS_PER_STEP: usize = 24;

/// The composite source of a roll-up's bucket.
const BUCKET_SOURCE: &str = "bucket";

/// The group keys of a pod roll-up, and of a node roll-up.
const POD_KEYS: &[&str] = &[
    "cluster",
    "namespace",
    "pod",
    "workload_kind",
    "workload",
    "node",
];
const NODE_KEYS: &[&str] = &["cluster", "node"];

/// Row counters summed in pod roll-ups.
const POD_COUNTS: &[&str] = &["pod_rows", "estimated_rows", "no_cost"];

/// A level of roll-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    /// One document per pod (node) and hour, from raw rows.
    Hour,
    /// One document per pod (node) and day, from hourly roll-ups.
    Day,
}

impl Level {
    /// The `level` field of its documents.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    /// Bucket width in microseconds.
    pub(super) fn width_us(self) -> i64 {
        match self {
            Self::Hour => HOUR_US,
            Self::Day => DAY_US,
        }
    }
}

/// `us` rounded down to a multiple of `step`.
pub(super) fn floor_us(us: i64, step: i64) -> i64 {
    us - us.rem_euclid(step)
}

/// A set of bucket starts (microseconds, multiples of `STEP`), stored as runs of consecutive
/// buckets `[from, to)` so that months of rolled-up hours take a few numbers in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<[i64; 2]>", into = "Vec<[i64; 2]>")]
pub(super) struct Buckets<const STEP: i64>(BTreeSet<i64>);

impl<const STEP: i64> Buckets<STEP> {
    /// Adds the bucket containing `us`.
    pub(super) fn insert(&mut self, us: i64) {
        self.0.insert(floor_us(us, STEP));
    }

    /// Removes a bucket.
    pub(super) fn remove(&mut self, start: i64) {
        self.0.remove(&start);
    }

    /// True when a bucket starts in `[from, to)`.
    pub(super) fn any_in(&self, from: i64, to: i64) -> bool {
        from < to && self.0.range(from..to).next().is_some()
    }

    /// Bucket starts in `[from, to)`, in order.
    pub(super) fn starts_in(&self, from: i64, to: i64) -> impl Iterator<Item = i64> + '_ {
        self.0.range(from..to.max(from)).copied()
    }

    /// Forgets buckets starting before `cut`.
    pub(super) fn drop_before(&mut self, cut: i64) {
        self.0 = self.0.split_off(&cut);
    }

    /// Every bucket start, in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        self.0.iter().copied()
    }
}

impl<const STEP: i64> TryFrom<Vec<[i64; 2]>> for Buckets<STEP> {
    type Error = String;

    fn try_from(runs: Vec<[i64; 2]>) -> Result<Self, Self::Error> {
        let mut set = BTreeSet::new();
        for [from, to] in runs {
            if from >= to || from.rem_euclid(STEP) != 0 || to.rem_euclid(STEP) != 0 {
                return Err(format!(
                    "bucket run [{from}, {to}) is not whole buckets of {STEP} µs"
                ));
            }
            let count = to
                .checked_sub(from)
                .and_then(|span| usize::try_from(span / STEP).ok())
                .unwrap_or(usize::MAX);
            if count > MAX_BUCKETS.saturating_sub(set.len()) {
                return Err(format!("more than {MAX_BUCKETS} buckets"));
            }
            let mut t = from;
            while t < to {
                set.insert(t);
                t += STEP;
            }
        }
        Ok(Self(set))
    }
}

impl<const STEP: i64> From<Buckets<STEP>> for Vec<[i64; 2]> {
    fn from(buckets: Buckets<STEP>) -> Self {
        let mut runs: Vec<[i64; 2]> = Vec::new();
        for start in buckets.0 {
            match runs.last_mut() {
                Some(run) if run[1] == start => run[1] = start + STEP,
                _ => runs.push([start, start + STEP]),
            }
        }
        runs
    }
}

/// The roll-up state, kept in the ledger so that a batch's commit marks its hours stale in the
/// same compare-and-swap that makes it visible.
///
/// A bucket is *dirty* when rows were committed into it since it was last rolled up, *rolled*
/// when its roll-up documents are current; never both. Only rolled hours at or after the raw
/// cut and rolled days at or after the hourly cut are kept: reads consult no others.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(super) struct RollupState {
    /// Bumped by every change of `maintain` that changes what a read sees (a bucket rolled up,
    /// a cut advanced), so that a read overlapping one starts again.
    #[serde(default)]
    pub(super) epoch: u64,
    /// Raw rows of windows starting before this are gone (microseconds, a whole hour).
    #[serde(default)]
    pub(super) raw_before_us: Option<i64>,
    /// Hourly roll-ups of hours before this are gone (a whole day).
    #[serde(default)]
    pub(super) hourly_before_us: Option<i64>,
    /// Daily roll-ups of days before this are gone (a whole day).
    #[serde(default)]
    pub(super) daily_before_us: Option<i64>,
    /// Hours written since they were last rolled up.
    #[serde(default)]
    pub(super) dirty_hours: Buckets<HOUR_US>,
    /// Days written since they were last rolled up.
    #[serde(default)]
    pub(super) dirty_days: Buckets<DAY_US>,
    /// Hours whose hourly roll-ups are current.
    #[serde(default)]
    pub(super) rolled_hours: Buckets<HOUR_US>,
    /// Days whose daily roll-ups are current.
    #[serde(default)]
    pub(super) rolled_days: Buckets<DAY_US>,
}

fn cut(us: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    us.map(|us| {
        instant(us).map_err(|_| {
            StoreError::invalid_data(
                BACKEND,
                format!("the store ledger is damaged: retention cut {us} µs is out of range"),
            )
        })
    })
    .transpose()
}

impl RollupState {
    /// Where history is sealed.
    pub(super) fn retention(&self) -> Result<RetentionState, StoreError> {
        Ok(RetentionState {
            raw_before: cut(self.raw_before_us)?,
            hourly_before: cut(self.hourly_before_us)?,
            daily_before: cut(self.daily_before_us)?,
        })
    }

    /// Records new cuts, and forgets the rolled buckets reads no longer consult.
    pub(super) fn set_retention(&mut self, state: RetentionState) {
        self.raw_before_us = state.raw_before.map(micros);
        self.hourly_before_us = state.hourly_before.map(micros);
        self.daily_before_us = state.daily_before.map(micros);
        if let Some(cut) = self.raw_before_us {
            self.rolled_hours.drop_before(cut);
        }
        if let Some(cut) = self.hourly_before_us {
            self.rolled_days.drop_before(cut);
        }
    }

    /// A window starting at `start_us` was committed: its hour and day are stale.
    pub(super) fn mark_written(&mut self, start_us: i64) {
        let hour = floor_us(start_us, HOUR_US);
        let day = floor_us(start_us, DAY_US);
        self.dirty_hours.insert(hour);
        self.dirty_days.insert(day);
        self.rolled_hours.remove(hour);
        self.rolled_days.remove(day);
    }

    /// Up to `limit` dirty hours that ended at or before `now_us`, oldest first.
    pub(super) fn hours_to_roll(&self, now_us: i64, limit: usize) -> Vec<i64> {
        self.dirty_hours
            .iter()
            .take_while(|h| h.saturating_add(HOUR_US) <= now_us)
            .take(limit)
            .collect()
    }

    /// Up to `limit` dirty days that ended at or before `now_us` and have no dirty hour left.
    pub(super) fn days_to_roll(&self, now_us: i64, limit: usize) -> Vec<i64> {
        self.dirty_days
            .iter()
            .take_while(|d| d.saturating_add(DAY_US) <= now_us)
            .filter(|d| !self.dirty_hours.any_in(*d, d.saturating_add(DAY_US)))
            .take(limit)
            .collect()
    }

    /// The roll-ups of `buckets` are current.
    pub(super) fn mark_rolled(&mut self, level: Level, buckets: &[i64]) {
        for &b in buckets {
            match level {
                Level::Hour => {
                    self.dirty_hours.remove(b);
                    self.rolled_hours.insert(b);
                }
                Level::Day => {
                    self.dirty_days.remove(b);
                    self.rolled_days.insert(b);
                }
            }
        }
        self.epoch += 1;
    }

    /// Plans a read of `range` by `period`: where raw rows, hourly and daily roll-ups are read.
    pub(super) fn plan(
        &self,
        range: TimeRange,
        period: Option<Period>,
    ) -> Result<ReadPlan, StoreError> {
        let retention = self.retention()?;
        let eff = retention.effective_range(range);
        let from = micros(floor_time(eff.from(), TimeDelta::days(1)));
        let to = micros_ceil(eff.to());
        let instants = |starts: Vec<i64>| -> Result<BTreeSet<DateTime<Utc>>, StoreError> {
            starts.into_iter().map(instant).collect()
        };
        let hours = instants(self.rolled_hours.starts_in(from, to).collect())?;
        let days = instants(self.rolled_days.starts_in(from, to).collect())?;
        ReadPlan::new(range, period, &retention, &hours, &days)
            .map_err(|e| StoreError::invalid_data(BACKEND, e.to_string()))
    }
}

/// `{"range": {field: [from, to)}}` for each range, any of which may match.
fn any_range(field: &str, ranges: impl Iterator<Item = (i64, i64)>) -> Value {
    let clauses: Vec<Value> = ranges
        .map(|(from, to)| json!({"range": {field: {"gte": from, "lt": to}}}))
        .collect();
    json!({"bool": {"should": clauses, "minimum_should_match": 1}})
}

fn plan_ranges(ranges: &[TimeRange]) -> impl Iterator<Item = (i64, i64)> + '_ {
    ranges
        .iter()
        .map(|r| (micros_ceil(r.from()), micros_ceil(r.to())))
}

/// What a report reads under a plan, over the footprint and roll-up indices together: the
/// visible raw rows of the plan's raw ranges, and the hourly and daily roll-ups of its hourly
/// and daily ranges (pod rows only, or pod and node rows). `None` when the plan reads nothing.
pub(super) fn plan_filter(
    plan: &ReadPlan,
    with_nodes: bool,
    visibility: &Visibility,
    footprints_index: &str,
    rollups_index: &str,
) -> Option<Value> {
    let mut sources = Vec::new();
    if !plan.raw.is_empty() {
        sources.push(json!({"bool": {
            "filter": [
                {"term": {"_index": footprints_index}},
                any_range("window_start_us", plan_ranges(&plan.raw))
            ],
            "must_not": visibility.must_not()
        }}));
    }
    for (level, ranges) in [(Level::Hour, &plan.hourly), (Level::Day, &plan.daily)] {
        if ranges.is_empty() {
            continue;
        }
        sources.push(json!({"bool": {"filter": [
            {"term": {"_index": rollups_index}},
            {"term": {"level": level.name()}},
            any_range("bucket_us", plan_ranges(ranges))
        ]}}));
    }
    if sources.is_empty() {
        return None;
    }
    let rows: &[&str] = if with_nodes {
        &[POD_ROW, NODE_ROW]
    } else {
        &[POD_ROW]
    };
    Some(json!({"bool": {
        "filter": [{"terms": {"row": rows}}],
        "should": sources,
        "minimum_should_match": 1
    }}))
}

/// The fields summed into a roll-up of `row` documents.
fn summed_fields(row: &str) -> Vec<String> {
    let mut out = Vec::new();
    for &(pod_field, node_field) in AGGREGATED_FIGURES {
        let base = if row == POD_ROW {
            pod_field
        } else {
            node_field
        };
        for suffix in ["", "_low", "_high"] {
            out.push(format!("{base}{suffix}"));
        }
    }
    if row == POD_ROW {
        out.push("cost".to_string());
        out.extend(POD_COUNTS.iter().map(|c| (*c).to_string()));
    }
    out
}

fn keys_of(row: &str) -> &'static [&'static str] {
    if row == POD_ROW { POD_KEYS } else { NODE_KEYS }
}

/// One request rolling up `buckets` of `level` for `row` documents: a composite aggregation by
/// bucket and group keys, summing every figure and bound, the known costs and the row counters,
/// with the first window start and the last window end. Hours read the visible raw rows (search
/// the footprint index); days read the hourly roll-ups (search the roll-up index).
pub(super) fn roll_body(
    level: Level,
    row: &str,
    buckets: &[i64],
    visibility: &Visibility,
    after: Option<&Value>,
) -> Value {
    let width = level.width_us();
    let ranges = buckets.iter().map(|b| (*b, b.saturating_add(width)));
    let query = match level {
        Level::Hour => json!({"bool": {
            "filter": [{"term": {"row": row}}, any_range("window_start_us", ranges)],
            "must_not": visibility.must_not()
        }}),
        Level::Day => json!({"bool": {"filter": [
            {"term": {"row": row}},
            {"term": {"level": Level::Hour.name()}},
            any_range("bucket_us", ranges)
        ]}}),
    };
    let mut sources = vec![json!({BUCKET_SOURCE: {"date_histogram": {
        "field": "window_start",
        "calendar_interval": level.name(),
        "time_zone": "UTC"
    }}})];
    sources.extend(
        keys_of(row)
            .iter()
            .map(|k| json!({ *k: {"terms": {"field": k}} })),
    );
    let mut aggs = Map::new();
    for field in summed_fields(row) {
        aggs.insert(field.clone(), json!({"sum": {"field": field}}));
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
        "query": query,
        "aggs": {"groups": {"composite": composite, "aggs": aggs}}
    })
}

/// The roll-up documents of the given buckets of a level (to clear them before rolling again).
pub(super) fn buckets_query(level: Level, buckets: &[i64]) -> Value {
    json!({"bool": {"filter": [
        {"term": {"level": level.name()}},
        {"terms": {"bucket_us": buckets}}
    ]}})
}

/// Roll-ups of a level whose bucket starts before `cut_us` (retention).
pub(super) fn before_query(level: Level, cut_us: i64) -> Value {
    json!({"bool": {"filter": [
        {"term": {"level": level.name()}},
        {"range": {"bucket_us": {"lt": cut_us}}}
    ]}})
}

/// Raw rows of windows starting before `cut_us` (retention).
pub(super) fn raw_before_query(cut_us: i64) -> Value {
    json!({"range": {"window_start_us": {"lt": cut_us}}})
}

/// One request listing the hours that hold visible raw rows (pod or node), by composite pages.
pub(super) fn hours_with_rows_body(visibility: &Visibility, after: Option<&Value>) -> Value {
    let mut composite = json!({"size": COMPOSITE_PAGE, "sources": [
        {BUCKET_SOURCE: {"date_histogram": {
            "field": "window_start",
            "calendar_interval": "hour",
            "time_zone": "UTC"
        }}}
    ]});
    if let Some(after) = after {
        composite["after"] = after.clone();
    }
    json!({
        "size": 0,
        "track_total_hits": false,
        "query": {"bool": {"must_not": visibility.must_not()}},
        "aggs": {"groups": {"composite": composite}}
    })
}

fn bad_bucket(what: &str, bucket: &Value) -> StoreError {
    StoreError::other(
        BACKEND,
        format!("rolling up footprints: unexpected bucket ({what}): {bucket}"),
    )
}

/// The bucket start of a composite bucket (its `date_histogram` key, epoch milliseconds), in
/// microseconds.
pub(super) fn bucket_start_us(bucket: &Value) -> Result<i64, StoreError> {
    bucket
        .pointer(&format!("/key/{BUCKET_SOURCE}"))
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
        .and_then(|ms| ms.checked_mul(1000))
        .ok_or_else(|| bad_bucket("bucket start", bucket))
}

/// The roll-up document (and its id) of one composite bucket of [`roll_body`]. The id is
/// derived from the level, bucket and group keys, so rolling a bucket up again overwrites it.
pub(super) fn document(
    bucket: &Value,
    level: Level,
    row: &str,
    buckets: &[i64],
) -> Result<(String, Value), StoreError> {
    let start = bucket_start_us(bucket)?;
    if !buckets.contains(&start) {
        return Err(bad_bucket("a bucket that was not asked for", bucket));
    }
    let value = |agg: &str| -> Result<f64, StoreError> {
        match bucket.get(agg).and_then(|a| a.get("value")) {
            Some(Value::Number(n)) => n
                .as_f64()
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad_bucket(agg, bucket)),
            // A sum over documents that lack the field.
            Some(Value::Null) | None => Ok(0.0),
            Some(_) => Err(bad_bucket(agg, bucket)),
        }
    };
    let mut doc = Map::new();
    doc.insert("row".to_string(), json!(row));
    doc.insert("level".to_string(), json!(level.name()));
    doc.insert("bucket_us".to_string(), json!(start));
    doc.insert("window_start".to_string(), json!(start.div_euclid(1000)));
    let mut key_parts = vec![level.name().to_string(), row.to_string(), start.to_string()];
    for key in keys_of(row) {
        let text = bucket
            .pointer(&format!("/key/{key}"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad_bucket(key, bucket))?;
        key_parts.push(text.to_string());
        doc.insert((*key).to_string(), json!(text));
    }
    for field in summed_fields(row) {
        let v = value(&field)?;
        if POD_COUNTS.contains(&field.as_str()) {
            if v < 0.0 || v.fract() != 0.0 || v > 9.0e15 {
                return Err(bad_bucket(&field, bucket));
            }
            doc.insert(field, json!(v as i64));
        } else {
            doc.insert(field, json!(v));
        }
    }
    let first = value("first_window")?.round() as i64;
    let last = value("last_window")?.round() as i64;
    doc.insert("window_start_us".to_string(), json!(first));
    doc.insert("window_end_us".to_string(), json!(last));
    let parts: Vec<&str> = key_parts.iter().map(String::as_str).collect();
    let level_tag = match level {
        Level::Hour => "h",
        Level::Day => "d",
    };
    let row_tag = if row == POD_ROW { "p" } else { "n" };
    let id = format!("{level_tag}-{row_tag}-{start}-{}", digest(&parts));
    Ok((id, Value::Object(doc)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenkube_core::testsuite::fixtures::at;

    #[test]
    fn buckets_are_stored_as_runs() {
        let mut hours: Buckets<HOUR_US> = Buckets::default();
        for h in [0, 1, 2, 5, 7, 8] {
            hours.insert(h * HOUR_US + 17);
        }
        let json = serde_json::to_value(&hours).unwrap();
        assert_eq!(
            json,
            json!([
                [0, 3 * HOUR_US],
                [5 * HOUR_US, 6 * HOUR_US],
                [7 * HOUR_US, 9 * HOUR_US]
            ])
        );
        let back: Buckets<HOUR_US> = serde_json::from_value(json).unwrap();
        assert_eq!(back, hours);
        assert!(hours.any_in(4 * HOUR_US, 6 * HOUR_US));
        assert!(!hours.any_in(3 * HOUR_US, 5 * HOUR_US));
        hours.drop_before(5 * HOUR_US);
        assert_eq!(hours.iter().count(), 3);
        for bad in [
            json!([[0, 0]]),
            json!([[1, HOUR_US]]),
            json!([[0, i64::MAX - i64::MAX % HOUR_US]]),
        ] {
            assert!(serde_json::from_value::<Buckets<HOUR_US>>(bad).is_err());
        }
    }

    #[test]
    fn writes_make_buckets_dirty_and_rolling_makes_them_current() {
        let mut s = RollupState::default();
        let t = micros(at(2025, 6, 2, 10, 5));
        s.mark_written(t);
        s.mark_written(micros(at(2025, 6, 2, 11, 0)));
        let hour = floor_us(t, HOUR_US);
        let day = floor_us(t, DAY_US);
        assert_eq!(s.hours_to_roll(hour + HOUR_US, 10), vec![hour]);
        assert!(
            s.days_to_roll(day + DAY_US, 10).is_empty(),
            "11:00 is dirty"
        );
        s.mark_rolled(Level::Hour, &s.hours_to_roll(day + DAY_US, 10));
        assert_eq!(s.days_to_roll(day + DAY_US, 10), vec![day]);
        assert!(
            s.days_to_roll(day + DAY_US - 1, 10).is_empty(),
            "incomplete"
        );
        s.mark_rolled(Level::Day, &[day]);
        assert_eq!(s.epoch, 2);
        assert!(s.rolled_hours.any_in(hour, hour + 1));
        s.mark_written(t);
        assert!(!s.rolled_hours.any_in(hour, hour + 1), "stale again");
        assert!(!s.rolled_days.any_in(day, day + 1));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(serde_json::from_value::<RollupState>(json).unwrap(), s);
        // A ledger of schema 1 has none of the fields.
        assert_eq!(
            serde_json::from_value::<RollupState>(json!({})).unwrap(),
            RollupState::default()
        );
    }

    #[test]
    fn plans_read_roll_ups_of_current_buckets() {
        let mut s = RollupState::default();
        let day = micros(at(2025, 6, 1, 0, 0));
        for h in 0..24 {
            s.mark_written(day + h * HOUR_US);
        }
        s.mark_written(micros(at(2025, 6, 2, 0, 0)));
        s.mark_rolled(Level::Hour, &s.hours_to_roll(i64::MAX, 100));
        s.mark_rolled(Level::Day, &[day]);
        let range = TimeRange::new(at(2025, 5, 31, 0, 0), at(2025, 6, 2, 0, 30)).unwrap();
        let plan = s.plan(range, Some(Period::Day)).unwrap();
        assert_eq!(plan.daily.len(), 1);
        assert!(plan.hourly.is_empty(), "00:00 is only half inside");
        assert_eq!(plan.raw.len(), 2);
        let filter = plan_filter(&plan, false, &Visibility::default(), "f", "r").unwrap();
        let sources = filter["bool"]["should"].as_array().unwrap();
        assert_eq!(sources.len(), 2);
        assert_eq!(
            sources[1]["bool"]["filter"][1],
            json!({"term": {"level": "day"}})
        );
        assert_eq!(
            filter["bool"]["filter"][0],
            json!({"terms": {"row": ["pod"]}})
        );
        s.set_retention(RetentionState {
            raw_before: Some(at(2025, 6, 2, 0, 0)),
            hourly_before: Some(at(2025, 6, 1, 0, 0)),
            daily_before: None,
        });
        assert_eq!(
            s.rolled_hours.iter().count(),
            1,
            "sealed hours are forgotten"
        );
        let err = s
            .plan(range, Some(Period::Hour))
            .expect_err("hourly detail is gone");
        assert!(err.message().contains("2025-06-01"), "{err}");
    }

    #[test]
    fn documents_keep_sums_counts_and_windows() {
        let start = micros(at(2025, 6, 2, 10, 0));
        let bucket = json!({
            "key": {"bucket": start / 1000, "cluster": "", "namespace": "shop", "pod": "a",
                    "workload_kind": "Deployment", "workload": "api", "node": "n1"},
            "doc_count": 3,
            "energy_joules": {"value": 1.5}, "energy_joules_low": {"value": 1.0},
            "energy_joules_high": {"value": 2.0}, "co2e_grams": {"value": 0.25},
            "cost": {"value": 0.0}, "pod_rows": {"value": 3.0},
            "estimated_rows": {"value": 1.0}, "no_cost": {"value": 3.0},
            "first_window": {"value": 1.748_858_4E15}, "last_window": {"value": 1.748_862E15}
        });
        let (id, doc) = document(&bucket, Level::Hour, POD_ROW, &[start]).unwrap();
        assert!(id.starts_with(&format!("h-p-{start}-")), "{id}");
        assert_eq!(doc["pod_rows"], json!(3));
        assert_eq!(doc["co2e_grams_low"], json!(0.0));
        assert_eq!(doc["window_start"], json!(start / 1000));
        assert_eq!(doc["window_start_us"], json!(1_748_858_400_000_000_i64));
        assert_eq!(doc["cluster"], json!(""));
        let (again, _) = document(&bucket, Level::Hour, POD_ROW, &[start]).unwrap();
        assert_eq!(again, id, "ids are deterministic");
        let (day_id, _) = document(&bucket, Level::Day, POD_ROW, &[start]).unwrap();
        assert_ne!(day_id, id);
        assert!(document(&bucket, Level::Hour, POD_ROW, &[start + HOUR_US]).is_err());
        let mut bad = bucket.clone();
        bad["pod_rows"]["value"] = json!(1.5);
        assert!(document(&bad, Level::Hour, POD_ROW, &[start]).is_err());
        let body = roll_body(Level::Day, NODE_ROW, &[start], &Visibility::default(), None);
        let aggs = body["aggs"]["groups"]["aggs"].as_object().unwrap();
        assert!(aggs.contains_key("overhead_energy_joules_high"));
        assert!(!aggs.contains_key("cost"));
        assert_eq!(
            body["aggs"]["groups"]["composite"]["sources"][0]["bucket"]["date_histogram"]["calendar_interval"],
            json!("day")
        );
    }
}
