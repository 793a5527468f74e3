//! Stored pod rows by column: what a reader that wants tables (Arrow, data frames, CSV) asks a
//! store for, so a backend that can read its rows column by column does not build one
//! [`PodRecord`] per row first.
//!
//! Names are interned: each column keeps its distinct values once and one small key per row, so
//! a million rows of a thousand pods hold a thousand pod names, and a table made from them is
//! dictionary-encoded for free.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use foldhash::fast::RandomState;

use crate::ranged::Ranged;

use super::footprint_repository::{PodCursor, PodPage};
use super::records::PodRecord;

/// A column of names: the distinct values in the order first seen, and per row the index of
/// its value (`None` for no value).
#[derive(Debug, Clone, Default)]
pub struct NameColumn {
    values: Vec<Arc<str>>,
    keys: Vec<Option<u32>>,
    index: HashMap<Arc<str>, u32, RandomState>,
}

impl NameColumn {
    /// An empty column.
    pub fn new() -> Self {
        Self::default()
    }

    /// The distinct values, in the order first seen.
    pub fn values(&self) -> &[Arc<str>] {
        &self.values
    }

    /// Per row, the index of its value in [`Self::values`].
    pub fn keys(&self) -> &[Option<u32>] {
        &self.keys
    }

    /// The value of row `row` (`None` when it has none or is out of range).
    pub fn get(&self, row: usize) -> Option<&Arc<str>> {
        let key = (*self.keys.get(row)?)?;
        self.values.get(key as usize)
    }

    /// Rows in the column.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the column has no row.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key of `value`, adding it to the distinct values when it is new.
    pub fn intern(&mut self, value: &str) -> u32 {
        if let Some(&key) = self.index.get(value) {
            return key;
        }
        let key = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        let value: Arc<str> = Arc::from(value);
        self.index.insert(Arc::clone(&value), key);
        self.values.push(value);
        key
    }

    /// Appends a row holding the value of `key` (from [`Self::intern`]), or none.
    pub fn push_key(&mut self, key: Option<u32>) {
        self.keys.push(key);
    }

    /// Appends a row holding `value`. A value equal to the previous row's is not looked up.
    pub fn push(&mut self, value: Option<&str>) {
        let key = match value {
            None => None,
            Some(v) => match self.keys.last() {
                Some(&Some(last)) if &*self.values[last as usize] == v => Some(last),
                _ => Some(self.intern(v)),
            },
        };
        self.keys.push(key);
    }

    /// Reserves room for `rows` more rows.
    pub fn reserve(&mut self, rows: usize) {
        self.keys.reserve(rows);
    }

    /// Appends the rows of `other`, each holding the value it held there (the values `other`
    /// adds are interned in the order it first saw them, as pushing its rows would).
    pub fn append(&mut self, other: &Self) {
        let keys: Vec<u32> = other.values.iter().map(|v| self.intern(v)).collect();
        self.keys.extend(
            other
                .keys
                .iter()
                .map(|k| k.and_then(|k| keys.get(k as usize).copied())),
        );
    }
}

/// Two columns are equal when every row holds the same value, however the values were
/// interned.
impl PartialEq for NameColumn {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && (0..self.len()).all(|i| self.get(i) == other.get(i))
    }
}

/// A figure with its interval, by column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RangedColumn {
    /// The figures.
    pub point: Vec<f64>,
    /// Their low bounds.
    pub low: Vec<f64>,
    /// Their high bounds.
    pub high: Vec<f64>,
}

impl RangedColumn {
    /// Appends a row.
    pub fn push(&mut self, value: Ranged) {
        self.point.push(value.point);
        self.low.push(value.low);
        self.high.push(value.high);
    }

    /// The value of row `row`.
    pub fn get(&self, row: usize) -> Option<Ranged> {
        Some(Ranged {
            point: *self.point.get(row)?,
            low: *self.low.get(row)?,
            high: *self.high.get(row)?,
        })
    }

    /// Reserves room for `rows` more rows.
    pub fn reserve(&mut self, rows: usize) {
        self.point.reserve(rows);
        self.low.reserve(rows);
        self.high.reserve(rows);
    }

    /// Appends the rows of `other`.
    pub fn append(&mut self, other: &Self) {
        self.point.extend_from_slice(&other.point);
        self.low.extend_from_slice(&other.low);
        self.high.extend_from_slice(&other.high);
    }
}

/// Pod rows by column, in the order of [`super::FootprintRepository::read_pod_rows`]; each
/// field is the [`PodRecord`] field of the same name. Times are whole microseconds since 1970
/// (UTC); `estimation_reasons` holds a row's reasons joined with `"; "`, none when it has none;
/// `cluster` is none for a footprint that names none.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(
    missing_docs,
    reason = "each field is the PodRecord field of the same name"
)]
pub struct PodColumns {
    pub window_start_us: Vec<i64>,
    pub window_end_us: Vec<i64>,
    pub cluster: NameColumn,
    pub namespace: NameColumn,
    pub pod: NameColumn,
    pub owner_kind: NameColumn,
    pub owner_name: NameColumn,
    pub workload_kind: NameColumn,
    pub workload: NameColumn,
    pub node: NameColumn,
    pub zone: NameColumn,
    pub region: NameColumn,
    pub provider: NameColumn,
    pub instance_type: NameColumn,
    pub cpu_usage_cores: Vec<Option<f64>>,
    pub cpu_request_cores: Vec<Option<f64>>,
    pub memory_usage_bytes: Vec<Option<f64>>,
    pub memory_request_bytes: Vec<Option<f64>>,
    pub restarts: Vec<Option<u64>>,
    pub energy_joules: RangedColumn,
    pub co2e_grams: RangedColumn,
    pub embodied_co2e_grams: RangedColumn,
    pub cost: Vec<Option<f64>>,
    pub pue: RangedColumn,
    pub grid_intensity: RangedColumn,
    pub estimated: Vec<bool>,
    pub estimation_reasons: NameColumn,
    pub methodology: NameColumn,
    pub methodology_version: NameColumn,
    pub data_version: NameColumn,
    pub idle_policy: NameColumn,
}

/// The separator of a row's reasons in [`PodColumns::estimation_reasons`].
pub const REASON_SEPARATOR: &str = "; ";

impl PodColumns {
    /// No rows.
    pub fn new() -> Self {
        Self::default()
    }

    /// The rows of `records`, by column.
    pub fn from_rows(records: &[PodRecord]) -> Self {
        let mut columns = Self::new();
        columns.reserve(records.len());
        for record in records {
            columns.push(record);
        }
        columns
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.window_start_us.len()
    }

    /// True when no row is held.
    pub fn is_empty(&self) -> bool {
        self.window_start_us.is_empty()
    }

    /// Reserves room for `rows` more rows in the columns that grow by row.
    pub fn reserve(&mut self, rows: usize) {
        self.window_start_us.reserve(rows);
        self.window_end_us.reserve(rows);
        for names in self.names_mut() {
            names.reserve(rows);
        }
        for figures in [
            &mut self.cpu_usage_cores,
            &mut self.cpu_request_cores,
            &mut self.memory_usage_bytes,
            &mut self.memory_request_bytes,
            &mut self.cost,
        ] {
            figures.reserve(rows);
        }
        self.restarts.reserve(rows);
        for ranged in [
            &mut self.energy_joules,
            &mut self.co2e_grams,
            &mut self.embodied_co2e_grams,
            &mut self.pue,
            &mut self.grid_intensity,
        ] {
            ranged.reserve(rows);
        }
        self.estimated.reserve(rows);
    }

    fn names_mut(&mut self) -> [&mut NameColumn; 17] {
        [
            &mut self.cluster,
            &mut self.namespace,
            &mut self.pod,
            &mut self.owner_kind,
            &mut self.owner_name,
            &mut self.workload_kind,
            &mut self.workload,
            &mut self.node,
            &mut self.zone,
            &mut self.region,
            &mut self.provider,
            &mut self.instance_type,
            &mut self.estimation_reasons,
            &mut self.methodology,
            &mut self.methodology_version,
            &mut self.data_version,
            &mut self.idle_policy,
        ]
    }

    /// Appends one row.
    pub fn push(&mut self, r: &PodRecord) {
        self.window_start_us.push(r.window_start.timestamp_micros());
        self.window_end_us.push(r.window_end.timestamp_micros());
        self.cluster.push(r.cluster.as_deref());
        self.namespace.push(Some(&r.namespace));
        self.pod.push(Some(&r.pod));
        self.owner_kind.push(r.owner_kind.as_deref());
        self.owner_name.push(r.owner_name.as_deref());
        self.workload_kind.push(Some(&r.workload_kind));
        self.workload.push(Some(&r.workload));
        self.node.push(r.node.as_deref());
        self.zone.push(r.zone.as_deref());
        self.region.push(r.region.as_deref());
        self.provider.push(r.provider.as_deref());
        self.instance_type.push(r.instance_type.as_deref());
        self.cpu_usage_cores.push(r.cpu_usage_cores.map(|v| v.0));
        self.cpu_request_cores
            .push(r.cpu_request_cores.map(|v| v.0));
        self.memory_usage_bytes
            .push(r.memory_usage_bytes.map(|v| v.0));
        self.memory_request_bytes
            .push(r.memory_request_bytes.map(|v| v.0));
        self.restarts.push(r.restarts);
        self.energy_joules.push(r.energy_joules);
        self.co2e_grams.push(r.co2e_grams);
        self.embodied_co2e_grams.push(r.embodied_co2e_grams);
        self.cost.push(r.cost.map(|m| m.0));
        self.pue.push(r.pue);
        self.grid_intensity.push(r.grid_intensity);
        self.estimated.push(r.estimated);
        let reasons = r.estimation_reasons.join(REASON_SEPARATOR);
        self.estimation_reasons
            .push((!r.estimation_reasons.is_empty()).then_some(reasons.as_str()));
        self.methodology.push(Some(r.methodology.name.name()));
        self.methodology_version.push(Some(&r.methodology.version));
        self.data_version.push(Some(&r.methodology.data_version));
        self.idle_policy
            .push(Some(r.methodology.idle_policy.name()));
    }

    /// Appends the rows of `other` after these (a page read in parts, put back together).
    pub fn append(&mut self, other: &Self) {
        // Every field named, so a new column cannot be forgotten here, and each paired with
        // its own by name.
        let Self {
            window_start_us,
            window_end_us,
            cluster,
            namespace,
            pod,
            owner_kind,
            owner_name,
            workload_kind,
            workload,
            node,
            zone,
            region,
            provider,
            instance_type,
            cpu_usage_cores,
            cpu_request_cores,
            memory_usage_bytes,
            memory_request_bytes,
            restarts,
            energy_joules,
            co2e_grams,
            embodied_co2e_grams,
            cost,
            pue,
            grid_intensity,
            estimated,
            estimation_reasons,
            methodology,
            methodology_version,
            data_version,
            idle_policy,
        } = self;
        window_start_us.extend_from_slice(&other.window_start_us);
        window_end_us.extend_from_slice(&other.window_end_us);
        for (mine, theirs) in [
            (cluster, &other.cluster),
            (namespace, &other.namespace),
            (pod, &other.pod),
            (owner_kind, &other.owner_kind),
            (owner_name, &other.owner_name),
            (workload_kind, &other.workload_kind),
            (workload, &other.workload),
            (node, &other.node),
            (zone, &other.zone),
            (region, &other.region),
            (provider, &other.provider),
            (instance_type, &other.instance_type),
            (estimation_reasons, &other.estimation_reasons),
            (methodology, &other.methodology),
            (methodology_version, &other.methodology_version),
            (data_version, &other.data_version),
            (idle_policy, &other.idle_policy),
        ] {
            mine.append(theirs);
        }
        for (mine, theirs) in [
            (cpu_usage_cores, &other.cpu_usage_cores),
            (cpu_request_cores, &other.cpu_request_cores),
            (memory_usage_bytes, &other.memory_usage_bytes),
            (memory_request_bytes, &other.memory_request_bytes),
            (cost, &other.cost),
        ] {
            mine.extend_from_slice(theirs);
        }
        restarts.extend_from_slice(&other.restarts);
        for (mine, theirs) in [
            (energy_joules, &other.energy_joules),
            (co2e_grams, &other.co2e_grams),
            (embodied_co2e_grams, &other.embodied_co2e_grams),
            (pue, &other.pue),
            (grid_intensity, &other.grid_intensity),
        ] {
            mine.append(theirs);
        }
        estimated.extend_from_slice(&other.estimated);
    }

    /// The cursor just after row `row` (for the next page), or `None` when there is no such
    /// row or its times or names are missing.
    pub fn cursor_after(&self, row: usize) -> Option<PodCursor> {
        Some(PodCursor::at(
            DateTime::<Utc>::from_timestamp_micros(*self.window_start_us.get(row)?)?,
            self.cluster.get(row).cloned(),
            Arc::clone(self.namespace.get(row)?),
            Arc::clone(self.pod.get(row)?),
        ))
    }
}

/// One page of pod rows by column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodColumnPage {
    /// The rows, in key order.
    pub columns: PodColumns,
    /// Where to continue, or `None` when no row is left in the range.
    pub next: Option<PodCursor>,
}

/// A page of rows, transposed.
impl From<PodPage> for PodColumnPage {
    fn from(page: PodPage) -> Self {
        Self {
            columns: PodColumns::from_rows(&page.rows),
            next: page.next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_interned_and_compared_by_value() {
        let mut a = NameColumn::new();
        for v in [Some("web"), Some("web"), None, Some("db"), Some("web")] {
            a.push(v);
        }
        assert_eq!(a.values().len(), 2);
        assert_eq!(a.keys(), &[Some(0), Some(0), None, Some(1), Some(0)]);
        assert_eq!(a.get(3).map(|v| &**v), Some("db"));
        assert_eq!(a.get(2), None);
        assert_eq!(a.get(9), None);
        let mut b = NameColumn::new();
        let db = b.intern("db");
        let web = b.intern("web");
        for k in [Some(web), Some(web), None, Some(db), Some(web)] {
            b.push_key(k);
        }
        assert_eq!(a, b, "same values per row, interned in another order");
        b.push(Some("web"));
        assert_ne!(a, b);
    }

    #[test]
    fn appended_columns_equal_the_rows_pushed_in_order() {
        use crate::Methodology;
        use crate::ports::WindowRecords;
        use crate::testsuite::fixtures::{at, footprint, methodology};

        let full = methodology(Methodology::Full, "gkdata-x");
        let classic = methodology(Methodology::Classic, "gkdata-y");
        let rows: Vec<PodRecord> = [
            footprint(Some("c1"), at(2025, 6, 2, 10, 0), 1, &full),
            footprint(None, at(2025, 6, 2, 10, 5), 2, &classic),
            footprint(Some("c2"), at(2025, 6, 2, 10, 10), 3, &full),
        ]
        .iter()
        .flat_map(|fp| WindowRecords::from_footprint(fp).pods)
        .collect();
        let whole = PodColumns::from_rows(&rows);
        for cut in [0, 1, rows.len() / 2, rows.len() - 1, rows.len()] {
            let (first, second) = rows.split_at(cut);
            let mut joined = PodColumns::from_rows(first);
            joined.append(&PodColumns::from_rows(second));
            assert_eq!(joined, whole, "cut at {cut}");
            assert_eq!(joined.len(), rows.len());
            for names in [&joined.pod, &joined.methodology, &joined.cluster] {
                let mut distinct = names.values().to_vec();
                distinct.sort();
                distinct.dedup();
                assert_eq!(distinct.len(), names.values().len(), "each value kept once");
            }
        }
        let mut a = NameColumn::new();
        a.push(Some("x"));
        let mut b = NameColumn::new();
        for v in [Some("y"), None, Some("x")] {
            b.push(v);
        }
        a.append(&b);
        assert_eq!(a.keys(), &[Some(0), Some(1), None, Some(0)]);
        assert_eq!(a.values().len(), 2);
    }
}
