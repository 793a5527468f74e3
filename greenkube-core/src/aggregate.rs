//! Aggregation of footprint rows by pod, workload, namespace, node or cluster, and by period.
//!
//! Sums of energy, emissions and cost, with intervals summed bound by bound (the conservative
//! choice: the errors of one coefficient move every row the same way). Grouping by node or
//! cluster also counts the energy and embodied emissions no pod carries (node overhead), so a
//! cluster total equals the footprint's totals.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc, Weekday};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::error::UnknownNameError;
use crate::footprint::{Footprint, PodFootprint};
use crate::ranged::Ranged;
use crate::units::Money;

/// What rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GroupBy {
    /// One group per `(namespace, pod)`.
    #[default]
    Pod,
    /// One group per workload: owner kind and name, a ReplicaSet folded into its Deployment,
    /// a Job named like a CronJob's run folded into the CronJob, a bare pod by its name.
    Workload,
    /// One group per namespace.
    Namespace,
    /// One group per node (node overhead included).
    Node,
    /// One group per cluster (node overhead included).
    Cluster,
}

impl GroupBy {
    /// Every grouping.
    pub const ALL: [Self; 5] = [
        Self::Pod,
        Self::Workload,
        Self::Namespace,
        Self::Node,
        Self::Cluster,
    ];

    /// The columns that name a group, in order, as every tabular output writes them (CSV
    /// headers, Arrow tables): `namespace, pod` for pods, `namespace, workload_kind, workload`
    /// for workloads, and one column otherwise. [`GroupKey::column`] reads them.
    pub const fn key_columns(self) -> &'static [&'static str] {
        match self {
            Self::Pod => &["namespace", "pod"],
            Self::Workload => &["namespace", "workload_kind", "workload"],
            Self::Namespace => &["namespace"],
            Self::Node => &["node"],
            Self::Cluster => &["cluster"],
        }
    }

    /// Name as used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pod => "pod",
            Self::Workload => "workload",
            Self::Namespace => "namespace",
            Self::Node => "node",
            Self::Cluster => "cluster",
        }
    }
}

impl fmt::Display for GroupBy {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for GroupBy {
    type Err = UnknownNameError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|g| g.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| UnknownNameError {
                what: "grouping",
                given: text.to_string(),
                expected: "pod, workload, namespace, node, cluster",
            })
    }
}

/// Calendar period rows are bucketed into, by window start (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// `YYYY-MM-DDTHH:00`
    Hour,
    /// `YYYY-MM-DD`
    Day,
    /// ISO week, `YYYY-Www` with the ISO week-numbering year.
    Week,
    /// `YYYY-MM`
    Month,
    /// `YYYY`
    Year,
}

impl Period {
    /// Every period.
    pub const ALL: [Self; 5] = [Self::Hour, Self::Day, Self::Week, Self::Month, Self::Year];

    /// Name as used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Year => "year",
        }
    }

    /// The label of the period containing `time`.
    pub fn label(self, time: DateTime<Utc>) -> String {
        match self {
            Self::Hour => format!(
                "{:04}-{:02}-{:02}T{:02}:00",
                time.year(),
                time.month(),
                time.day(),
                time.hour()
            ),
            Self::Day => format!("{:04}-{:02}-{:02}", time.year(), time.month(), time.day()),
            Self::Week => {
                let week = time.iso_week();
                format!("{:04}-W{:02}", week.year(), week.week())
            }
            Self::Month => format!("{:04}-{:02}", time.year(), time.month()),
            Self::Year => format!("{:04}", time.year()),
        }
    }

    /// The start (UTC) of the period a [`label`](Self::label) names; `None` when the label is
    /// not one of this period's.
    pub fn start_of(self, label: &str) -> Option<DateTime<Utc>> {
        let midnight = |date: NaiveDate| date.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        match self {
            Self::Hour => NaiveDateTime::parse_from_str(label, "%Y-%m-%dT%H:%M")
                .ok()
                .filter(|t| t.minute() == 0)
                .map(|t| t.and_utc()),
            Self::Day => midnight(NaiveDate::parse_from_str(label, "%Y-%m-%d").ok()?),
            Self::Week => {
                let (year, week) = label.split_once("-W")?;
                let date = NaiveDate::from_isoywd_opt(
                    year.parse().ok()?,
                    week.parse().ok()?,
                    Weekday::Mon,
                )?;
                midnight(date)
            }
            Self::Month => {
                let (year, month) = label.split_once('-')?;
                midnight(NaiveDate::from_ymd_opt(
                    year.parse().ok()?,
                    month.parse().ok()?,
                    1,
                )?)
            }
            Self::Year => midnight(NaiveDate::from_ymd_opt(label.parse().ok()?, 1, 1)?),
        }
    }
}

impl FromStr for Period {
    type Err = UnknownNameError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| UnknownNameError {
                what: "period",
                given: text.to_string(),
                expected: "hour, day, week, month, year",
            })
    }
}

/// The workload a pod belongs to: `(kind, name)`.
pub fn workload_of(pod: &PodFootprint) -> (Arc<str>, Arc<str>) {
    workload_key(
        pod.owner_kind.as_deref(),
        pod.owner_name.as_deref(),
        &pod.pod,
    )
}

/// The workload of a pod from its owner: a ReplicaSet `api-7d9f8c6b5` becomes Deployment
/// `api`; a Job `backup-28391234` (a CronJob run) becomes CronJob `backup`; an owner-less
/// pod is its own workload of kind `Pod`.
pub fn workload_key(kind: Option<&str>, name: Option<&str>, pod: &str) -> (Arc<str>, Arc<str>) {
    let (kind, name) = workload_ref(kind, name, pod);
    (Arc::from(kind), Arc::from(name))
}

/// [`workload_key`] borrowed from its inputs: `(kind, name)` without allocating.
pub fn workload_ref<'a>(
    kind: Option<&'a str>,
    name: Option<&'a str>,
    pod: &'a str,
) -> (&'a str, &'a str) {
    match (kind, name) {
        (Some("ReplicaSet"), Some(owner)) => match owner.rsplit_once('-') {
            Some((base, _)) if !base.is_empty() => ("Deployment", base),
            _ => ("ReplicaSet", owner),
        },
        (Some("Job"), Some(owner)) => match owner.rsplit_once('-') {
            Some((base, suffix))
                if !base.is_empty()
                    && suffix.len() >= 8
                    && suffix.bytes().all(|b| b.is_ascii_digit()) =>
            {
                ("CronJob", base)
            }
            _ => ("Job", owner),
        },
        (Some(kind), Some(owner)) if !kind.is_empty() && !owner.is_empty() => (kind, owner),
        _ => ("Pod", pod),
    }
}

/// The key of a group. Only the fields of the grouping are set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GroupKey {
    /// Period label, when bucketing by period.
    pub period: Option<String>,
    /// Cluster (cluster grouping).
    pub cluster: Option<Arc<str>>,
    /// Namespace (pod, workload, namespace groupings).
    pub namespace: Option<Arc<str>>,
    /// Workload kind (workload grouping).
    pub workload_kind: Option<Arc<str>>,
    /// Workload name (workload grouping).
    pub workload: Option<Arc<str>>,
    /// Pod (pod grouping).
    pub pod: Option<Arc<str>>,
    /// Node (node grouping).
    pub node: Option<Arc<str>>,
    /// Label key and the group's value of it (label grouping, [`crate::labels::Grouping`]);
    /// the value is `None` for the pods without the label.
    pub label: Option<(Arc<str>, Option<Arc<str>>)>,
}

impl GroupKey {
    /// The value of a key column ([`GroupBy::key_columns`], or `period`); `None` when the key
    /// has none or the name is not a key column.
    pub fn column(&self, name: &str) -> Option<&str> {
        match name {
            "period" => self.period.as_deref(),
            "cluster" => self.cluster.as_deref(),
            "namespace" => self.namespace.as_deref(),
            "workload_kind" => self.workload_kind.as_deref(),
            "workload" => self.workload.as_deref(),
            "pod" => self.pod.as_deref(),
            "node" => self.node.as_deref(),
            _ => {
                let key = name.strip_prefix(crate::labels::Grouping::LABEL_PREFIX)?;
                match &self.label {
                    Some((k, value)) if **k == *key => value.as_deref(),
                    _ => None,
                }
            }
        }
    }
}

/// Sums over one group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AggregateRow {
    /// The group.
    pub key: GroupKey,
    /// Energy, joules.
    pub energy_joules: Ranged,
    /// Operational emissions, grams.
    pub co2e_grams: Ranged,
    /// Embodied emissions, grams.
    pub embodied_co2e_grams: Ranged,
    /// Sum of known costs.
    pub cost: Money,
    /// Pod rows summed.
    pub rows: usize,
    /// Pod rows that were estimated.
    pub estimated_rows: usize,
    /// Pod rows without cost data.
    pub rows_without_cost: usize,
    /// Earliest window start.
    pub first_window: Option<DateTime<Utc>>,
    /// Latest window end.
    pub last_window: Option<DateTime<Utc>>,
}

impl AggregateRow {
    /// Operational plus embodied emissions.
    pub fn total_co2e_grams(&self) -> Ranged {
        self.co2e_grams + self.embodied_co2e_grams
    }

    /// Adds another row's sums (figures, cost, row counts, window span) to this one's.
    pub fn absorb(&mut self, other: &Self) {
        self.energy_joules += other.energy_joules;
        self.co2e_grams += other.co2e_grams;
        self.embodied_co2e_grams += other.embodied_co2e_grams;
        self.cost += other.cost;
        self.rows += other.rows;
        self.estimated_rows += other.estimated_rows;
        self.rows_without_cost += other.rows_without_cost;
        self.first_window = match (self.first_window, other.first_window) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_window = self.last_window.max(other.last_window);
    }

    fn add_window(&mut self, footprint: &Footprint) {
        self.first_window = Some(
            self.first_window
                .map_or(footprint.window_start, |w| w.min(footprint.window_start)),
        );
        self.last_window = Some(
            self.last_window
                .map_or(footprint.window_end, |w| w.max(footprint.window_end)),
        );
    }
}

impl Serialize for AggregateRow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Uncertainty {
            energy_joules: Ranged,
            co2e_grams: Ranged,
            embodied_co2e_grams: Ranged,
            total_co2e_grams: Ranged,
        }
        let total = self.total_co2e_grams();
        let key = &self.key;
        let mut fields = serializer.serialize_struct("AggregateRow", 21)?;
        macro_rules! key_field {
            ($name:literal, $value:expr) => {
                if let Some(value) = &$value {
                    fields.serialize_field($name, value)?;
                } else {
                    fields.skip_field($name)?;
                }
            };
        }
        key_field!("period", key.period);
        key_field!("cluster", key.cluster);
        key_field!("namespace", key.namespace);
        key_field!("workload_kind", key.workload_kind);
        key_field!("workload", key.workload);
        key_field!("pod", key.pod);
        key_field!("node", key.node);
        if let Some((label, value)) = &key.label {
            let mut one = BTreeMap::new();
            one.insert(label, value);
            fields.serialize_field("label", &one)?;
        } else {
            fields.skip_field("label")?;
        }
        fields.serialize_field("energy_joules", &self.energy_joules.point)?;
        fields.serialize_field("co2e_grams", &self.co2e_grams.point)?;
        fields.serialize_field("embodied_co2e_grams", &self.embodied_co2e_grams.point)?;
        fields.serialize_field("total_co2e_grams", &total.point)?;
        fields.serialize_field("cost", &self.cost)?;
        fields.serialize_field("rows", &self.rows)?;
        fields.serialize_field("estimated_rows", &self.estimated_rows)?;
        fields.serialize_field("rows_without_cost", &self.rows_without_cost)?;
        fields.serialize_field("first_window", &self.first_window)?;
        fields.serialize_field("last_window", &self.last_window)?;
        fields.serialize_field(
            "uncertainty",
            &Uncertainty {
                energy_joules: self.energy_joules,
                co2e_grams: self.co2e_grams,
                embodied_co2e_grams: self.embodied_co2e_grams,
                total_co2e_grams: total,
            },
        )?;
        fields.end()
    }
}

/// Groups the pod rows of many footprints. Output is sorted by period, then group key.
pub fn aggregate<'a>(
    footprints: impl IntoIterator<Item = &'a Footprint>,
    group_by: GroupBy,
    period: Option<Period>,
) -> Vec<AggregateRow> {
    let mut aggregator = Aggregator::new(group_by, period);
    for footprint in footprints {
        aggregator.add(footprint);
    }
    aggregator.finish()
}

/// Groups footprints one at a time, so a stream of windows is summed in memory bounded by the
/// number of groups, not of windows ([`aggregate`] over an iterator).
#[derive(Debug, Clone)]
pub struct Aggregator {
    group_by: GroupBy,
    period: Option<Period>,
    groups: BTreeMap<GroupKey, AggregateRow>,
}

impl Aggregator {
    /// An empty aggregation.
    pub fn new(group_by: GroupBy, period: Option<Period>) -> Self {
        Self {
            group_by,
            period,
            groups: BTreeMap::new(),
        }
    }

    fn row(&mut self, key: GroupKey) -> &mut AggregateRow {
        self.groups.entry(key).or_insert_with_key(|k| AggregateRow {
            key: k.clone(),
            ..AggregateRow::default()
        })
    }

    /// Adds the pod rows of one footprint (and, grouped by node or cluster, its node
    /// overhead).
    pub fn add(&mut self, footprint: &Footprint) {
        let group_by = self.group_by;
        let period_label = self.period.map(|p| p.label(footprint.window_start));
        for pod in &footprint.pods {
            let mut key = GroupKey {
                period: period_label.clone(),
                ..GroupKey::default()
            };
            match group_by {
                GroupBy::Pod => {
                    key.namespace = Some(pod.namespace.clone());
                    key.pod = Some(pod.pod.clone());
                }
                GroupBy::Workload => {
                    let (kind, name) = workload_of(pod);
                    key.namespace = Some(pod.namespace.clone());
                    key.workload_kind = Some(kind);
                    key.workload = Some(name);
                }
                GroupBy::Namespace => key.namespace = Some(pod.namespace.clone()),
                GroupBy::Node => key.node.clone_from(&pod.node.name),
                GroupBy::Cluster => key.cluster.clone_from(&footprint.cluster),
            }
            let row = self.row(key);
            row.energy_joules += pod.energy_joules;
            row.co2e_grams += pod.co2e_grams;
            row.embodied_co2e_grams += pod.embodied_co2e_grams;
            row.cost += pod.cost.unwrap_or(Money::ZERO);
            row.rows += 1;
            row.estimated_rows += usize::from(pod.estimated());
            row.rows_without_cost += usize::from(pod.cost.is_none());
            row.add_window(footprint);
        }
        if matches!(group_by, GroupBy::Node | GroupBy::Cluster) {
            for node in &footprint.nodes {
                let key = GroupKey {
                    period: period_label.clone(),
                    node: if group_by == GroupBy::Node {
                        node.node.name.clone()
                    } else {
                        None
                    },
                    cluster: if group_by == GroupBy::Cluster {
                        footprint.cluster.clone()
                    } else {
                        None
                    },
                    ..GroupKey::default()
                };
                let row = self.row(key);
                row.energy_joules += node.overhead_energy_joules;
                row.co2e_grams += node.overhead_co2e_grams;
                row.embodied_co2e_grams += node.unallocated_embodied_co2e_grams;
                row.add_window(footprint);
            }
        }
    }

    /// The rows, sorted by period, then group key.
    pub fn finish(self) -> Vec<AggregateRow> {
        self.groups.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn iso_week_uses_iso_year() {
        // 2024-12-30 is in ISO week 1 of 2025; GreenKube labels it 2024-W01.
        let t = Utc.with_ymd_and_hms(2024, 12, 30, 10, 0, 0).unwrap();
        assert_eq!(Period::Week.label(t), "2025-W01");
        let t = Utc.with_ymd_and_hms(2021, 1, 3, 10, 0, 0).unwrap();
        assert_eq!(Period::Week.label(t), "2020-W53");
    }

    #[test]
    fn period_labels_name_their_start() {
        let t = Utc.with_ymd_and_hms(2024, 12, 31, 10, 5, 0).unwrap();
        for period in Period::ALL {
            let start = period.start_of(&period.label(t)).expect("a label parses");
            assert!(start <= t, "{}: {start}", period.name());
            assert_eq!(period.label(start), period.label(t), "{}", period.name());
        }
        assert_eq!(
            Period::Week.start_of("2025-W01"),
            Some(Utc.with_ymd_and_hms(2024, 12, 30, 0, 0, 0).unwrap())
        );
        assert_eq!(Period::Day.start_of("2025-13-01"), None);
        assert_eq!(Period::Hour.start_of("2025-06-02T10:30"), None);
        assert_eq!(Period::Month.start_of("junk"), None);
    }

    #[test]
    fn period_labels() {
        let t = Utc.with_ymd_and_hms(2025, 6, 2, 10, 5, 0).unwrap();
        assert_eq!(Period::Hour.label(t), "2025-06-02T10:00");
        assert_eq!(Period::Day.label(t), "2025-06-02");
        assert_eq!(Period::Month.label(t), "2025-06");
        assert_eq!(Period::Year.label(t), "2025");
    }

    #[test]
    fn workload_folding() {
        let k = |kind, name| workload_key(Some(kind), Some(name), "p");
        assert_eq!(k("ReplicaSet", "api-7d9f8c6b5").1.as_ref(), "api");
        assert_eq!(k("ReplicaSet", "api-7d9f8c6b5").0.as_ref(), "Deployment");
        assert_eq!(k("Job", "backup-28391234").0.as_ref(), "CronJob");
        assert_eq!(k("Job", "migrate-v2").0.as_ref(), "Job");
        assert_eq!(k("StatefulSet", "db").1.as_ref(), "db");
        let bare = workload_key(None, None, "debug-shell");
        assert_eq!((bare.0.as_ref(), bare.1.as_ref()), ("Pod", "debug-shell"));
    }
}
