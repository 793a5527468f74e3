//! Pod labels in reports: filters (`team=payments`) and grouping by one label's value
//! (`label:team`).
//!
//! Stores keep, for each pod, the labels it last had when collected ([`PodLabels`]); a report
//! by label sums the store's per-pod rows ([`GroupBy::Pod`]) and then [`regroup`]s them here,
//! so every store and every front end filters and groups the same way. Kubernetes pods rarely
//! change labels during their life (a changed template makes new pods), so a pod's latest labels
//! describe its whole history.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::aggregate::{AggregateRow, GroupBy, GroupKey, workload_key};
use crate::error::UnknownNameError;
use crate::snapshot::Labels;

/// `KEY=VALUE`: the pods whose label `KEY` has the value `VALUE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LabelSelector {
    /// Label key (`team`, `app.kubernetes.io/name`).
    pub key: String,
    /// Wanted value (may be empty: the label is set to the empty string).
    pub value: String,
}

/// Why a label selector or a label grouping could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// Not `KEY=VALUE`.
    #[error("label filter {given:?}: expected KEY=VALUE, as in team=payments")]
    NotKeyValue {
        /// What was given.
        given: String,
    },
    /// An empty key.
    #[error("label {given:?}: the key is empty")]
    EmptyKey {
        /// What was given.
        given: String,
    },
}

impl FromStr for LabelSelector {
    type Err = LabelError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (key, value) = text
            .split_once('=')
            .ok_or_else(|| LabelError::NotKeyValue {
                given: text.to_string(),
            })?;
        let key = key.trim();
        if key.is_empty() {
            return Err(LabelError::EmptyKey {
                given: text.to_string(),
            });
        }
        Ok(Self {
            key: key.to_string(),
            value: value.trim().to_string(),
        })
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// Whether `labels` (`None`: unknown, or no labels) satisfies every selector. No selector
/// matches everything; a pod without labels matches no selector.
pub fn matches(labels: Option<&Labels>, selectors: &[LabelSelector]) -> bool {
    selectors.iter().all(|s| {
        labels
            .and_then(|l| l.get(&s.key))
            .is_some_and(|v| *v == s.value)
    })
}

/// How a report groups its rows: one of the store's groupings, or by the value of one label.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Grouping {
    /// A grouping every store computes itself.
    By(GroupBy),
    /// One group per value of the label `KEY` (`label:KEY` on the command line); pods without
    /// it form one group whose value is `None`.
    Label(Arc<str>),
}

impl Default for Grouping {
    fn default() -> Self {
        Self::By(GroupBy::default())
    }
}

impl From<GroupBy> for Grouping {
    fn from(group_by: GroupBy) -> Self {
        Self::By(group_by)
    }
}

impl Grouping {
    /// The prefix of a label grouping's name.
    pub const LABEL_PREFIX: &'static str = "label:";

    /// The columns that name a group, in order ([`GroupBy::key_columns`]; `label:KEY` for a
    /// label grouping). [`GroupKey::column`] reads them.
    pub fn key_columns(&self) -> Vec<String> {
        match self {
            Self::By(g) => g.key_columns().iter().map(ToString::to_string).collect(),
            Self::Label(key) => vec![format!("{}{key}", Self::LABEL_PREFIX)],
        }
    }

    /// The store grouping, when this is one.
    pub fn store_grouping(&self) -> Option<GroupBy> {
        match self {
            Self::By(g) => Some(*g),
            Self::Label(_) => None,
        }
    }

    /// Whether the groups hold node overhead (node and cluster groupings), which belongs to no
    /// pod, namespace or label.
    pub fn holds_node_overhead(&self) -> bool {
        matches!(self, Self::By(GroupBy::Node | GroupBy::Cluster))
    }
}

impl fmt::Display for Grouping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::By(g) => write!(f, "{g}"),
            Self::Label(key) => write!(f, "{}{key}", Self::LABEL_PREFIX),
        }
    }
}

impl FromStr for Grouping {
    type Err = UnknownNameError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        match text.strip_prefix(Self::LABEL_PREFIX) {
            Some(key) if !key.trim().is_empty() => Ok(Self::Label(Arc::from(key.trim()))),
            Some(_) => Err(UnknownNameError {
                what: "grouping",
                given: text.to_string(),
                expected: "pod, workload, namespace, node, cluster, label:KEY",
            }),
            None => text
                .parse::<GroupBy>()
                .map(Self::By)
                .map_err(|e| UnknownNameError {
                    expected: "pod, workload, namespace, node, cluster, label:KEY",
                    ..e
                }),
        }
    }
}

/// What a store knows of one pod besides its figures: its workload and the labels it last had.
#[derive(Debug, Clone, PartialEq)]
pub struct PodLabels {
    /// Cluster the pod ran in (`None`: written without a cluster name).
    pub cluster: Option<Arc<str>>,
    /// Namespace.
    pub namespace: Arc<str>,
    /// Pod name.
    pub pod: Arc<str>,
    /// Workload kind, as [`workload_key`] names it.
    pub workload_kind: Arc<str>,
    /// Workload name.
    pub workload: Arc<str>,
    /// The labels of the pod's latest window (`None`: the pod had none).
    pub labels: Option<Labels>,
    /// Start of the first window the store has for the pod.
    pub first_window: DateTime<Utc>,
    /// Start of the latest window the store has for the pod.
    pub last_window: DateTime<Utc>,
}

impl PodLabels {
    /// The entry of one pod row of a window.
    pub fn of_row(
        cluster: Option<Arc<str>>,
        pod: &crate::footprint::PodFootprint,
        window_start: DateTime<Utc>,
    ) -> Self {
        let (workload_kind, workload) = workload_key(
            pod.owner_kind.as_deref(),
            pod.owner_name.as_deref(),
            &pod.pod,
        );
        Self {
            cluster,
            namespace: pod.namespace.clone(),
            pod: pod.pod.clone(),
            workload_kind,
            workload,
            labels: pod.labels.clone(),
            first_window: window_start,
            last_window: window_start,
        }
    }
}

impl PodLabels {
    /// Folds a later write of the same pod into this entry: the window span widens, and the
    /// workload and labels are those of the latest window (a write of the latest window again
    /// replaces them).
    pub fn absorb(&mut self, written: &Self) {
        if written.last_window >= self.last_window {
            self.workload_kind.clone_from(&written.workload_kind);
            self.workload.clone_from(&written.workload);
            self.labels.clone_from(&written.labels);
        }
        self.first_window = self.first_window.min(written.first_window);
        self.last_window = self.last_window.max(written.last_window);
    }

    /// Whether the pod has a window in `range` (see
    /// [`crate::ports::FootprintRepository::pod_labels`]).
    pub fn overlaps(&self, range: crate::ports::TimeRange) -> bool {
        self.first_window < range.to() && self.last_window >= range.from()
    }
}

/// What [`regroup`] left out or could not place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RegroupNotes {
    /// Pod groups the store has no labels for (written before greenkube kept labels): they
    /// match no filter, and a label grouping puts them with the pods without the label.
    pub pods_without_entry: usize,
}

/// Regroups rows summed by pod (the store's [`GroupBy::Pod`] rows, with or without periods) by
/// `grouping`, keeping only the pods whose labels satisfy `selectors`. `directory` holds the
/// entries of the pods of one cluster (or of rows written without a cluster name), keyed by
/// namespace and pod. Rows come out sorted by period, then group key, as every report is.
///
/// Node and cluster groupings hold node overhead, which no label selects: for them this
/// returns the rows unchanged when there is no selector, and none otherwise (callers reject
/// that combination first).
pub fn regroup(
    pod_rows: impl IntoIterator<Item = AggregateRow>,
    directory: &BTreeMap<(Arc<str>, Arc<str>), &PodLabels>,
    selectors: &[LabelSelector],
    grouping: &Grouping,
) -> (Vec<AggregateRow>, RegroupNotes) {
    let mut notes = RegroupNotes::default();
    let mut groups: BTreeMap<GroupKey, AggregateRow> = BTreeMap::new();
    for row in pod_rows {
        let (Some(namespace), Some(pod)) = (row.key.namespace.clone(), row.key.pod.clone()) else {
            continue;
        };
        let entry = directory.get(&(namespace.clone(), pod.clone())).copied();
        if entry.is_none() {
            notes.pods_without_entry += 1;
        }
        let labels = entry.and_then(|e| e.labels.as_ref());
        if !matches(labels, selectors) {
            continue;
        }
        let mut key = GroupKey {
            period: row.key.period.clone(),
            ..GroupKey::default()
        };
        match grouping {
            Grouping::By(GroupBy::Pod) => {
                key.namespace = Some(namespace);
                key.pod = Some(pod);
            }
            Grouping::By(GroupBy::Workload) => {
                let (kind, name) = entry.map_or_else(
                    || workload_key(None, None, &pod),
                    |e| (e.workload_kind.clone(), e.workload.clone()),
                );
                key.namespace = Some(namespace);
                key.workload_kind = Some(kind);
                key.workload = Some(name);
            }
            Grouping::By(GroupBy::Namespace) => key.namespace = Some(namespace),
            Grouping::By(GroupBy::Node | GroupBy::Cluster) => {
                if selectors.is_empty() {
                    key = row.key.clone();
                } else {
                    continue;
                }
            }
            Grouping::Label(label) => {
                key.label = Some((
                    label.clone(),
                    labels
                        .and_then(|l| l.get(&**label))
                        .map(|v| Arc::from(&**v)),
                ));
            }
        }
        groups
            .entry(key)
            .or_insert_with_key(|k| AggregateRow {
                key: k.clone(),
                ..AggregateRow::default()
            })
            .absorb(&row);
    }
    (groups.into_values().collect(), notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ranged::Ranged;
    use crate::units::Money;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Arc::new(
            pairs
                .iter()
                .map(|&(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn entry(namespace: &str, pod: &str, owner: &str, l: Option<Labels>) -> PodLabels {
        let t = DateTime::<Utc>::from_timestamp(0, 0).unwrap();
        PodLabels {
            cluster: None,
            namespace: namespace.into(),
            pod: pod.into(),
            workload_kind: "Deployment".into(),
            workload: owner.into(),
            labels: l,
            first_window: t,
            last_window: t,
        }
    }

    fn row(period: Option<&str>, namespace: &str, pod: &str, grams: f64) -> AggregateRow {
        AggregateRow {
            key: GroupKey {
                period: period.map(str::to_string),
                namespace: Some(namespace.into()),
                pod: Some(pod.into()),
                ..GroupKey::default()
            },
            co2e_grams: Ranged::new(grams, grams / 2.0, grams * 2.0),
            cost: Money(grams / 16.0),
            rows: 3,
            estimated_rows: 1,
            ..AggregateRow::default()
        }
    }

    #[test]
    fn selectors_parse_and_say_what_is_wrong() {
        let s: LabelSelector = "team = payments".parse().unwrap();
        assert_eq!((s.key.as_str(), s.value.as_str()), ("team", "payments"));
        assert_eq!(s.to_string(), "team=payments");
        let empty: LabelSelector = "tier=".parse().unwrap();
        assert_eq!(empty.value, "");
        assert_eq!(
            "team".parse::<LabelSelector>().unwrap_err().to_string(),
            "label filter \"team\": expected KEY=VALUE, as in team=payments"
        );
        assert!(matches!(
            "=x".parse::<LabelSelector>(),
            Err(LabelError::EmptyKey { .. })
        ));
    }

    #[test]
    fn groupings_parse_labels_and_store_groupings() {
        assert_eq!(
            "label:team".parse::<Grouping>().unwrap(),
            Grouping::Label("team".into())
        );
        assert_eq!(
            "Namespace".parse::<Grouping>().unwrap(),
            Grouping::By(GroupBy::Namespace)
        );
        let e = "label:".parse::<Grouping>().unwrap_err().to_string();
        assert!(e.contains("label:KEY"), "{e}");
        let e = "team".parse::<Grouping>().unwrap_err().to_string();
        assert!(e.contains("label:KEY"), "{e}");
        assert_eq!(
            Grouping::Label("app.kubernetes.io/name".into()).key_columns(),
            ["label:app.kubernetes.io/name"]
        );
        assert_eq!(Grouping::Label("team".into()).to_string(), "label:team");
    }

    #[test]
    fn a_pod_without_labels_matches_no_selector() {
        let team = [LabelSelector {
            key: "team".into(),
            value: "a".into(),
        }];
        assert!(matches(None, &[]));
        assert!(!matches(None, &team));
        assert!(matches(
            Some(labels(&[("team", "a"), ("x", "y")])).as_ref(),
            &team
        ));
        assert!(!matches(Some(&labels(&[("team", "b")])), &team));
    }

    #[test]
    fn regrouping_filters_then_sums_by_the_grouping() {
        let entries = [
            entry("shop", "api-1", "api", Some(labels(&[("team", "web")]))),
            entry("shop", "api-2", "api", Some(labels(&[("team", "web")]))),
            entry("shop", "db-0", "db", Some(labels(&[("team", "data")]))),
            entry("ops", "shell", "shell", None),
        ];
        let directory: BTreeMap<_, _> = entries
            .iter()
            .map(|e| ((e.namespace.clone(), e.pod.clone()), e))
            .collect();
        let rows = || {
            vec![
                row(Some("2026-01"), "shop", "api-1", 4.0),
                row(Some("2026-01"), "shop", "api-2", 8.0),
                row(Some("2026-01"), "shop", "db-0", 16.0),
                row(Some("2026-01"), "ops", "shell", 32.0),
                row(Some("2026-01"), "ops", "gone", 64.0),
                row(Some("2026-02"), "shop", "api-1", 1.0),
            ]
        };
        let web = [LabelSelector {
            key: "team".into(),
            value: "web".into(),
        }];
        let (by_workload, notes) =
            regroup(rows(), &directory, &web, &Grouping::By(GroupBy::Workload));
        assert_eq!(notes.pods_without_entry, 1);
        assert_eq!(by_workload.len(), 2, "{by_workload:?}");
        assert_eq!(by_workload[0].key.workload.as_deref(), Some("api"));
        assert_eq!(by_workload[0].co2e_grams, Ranged::new(12.0, 6.0, 24.0));
        assert_eq!(by_workload[0].rows, 6);
        assert_eq!(by_workload[0].estimated_rows, 2);
        assert_eq!(by_workload[0].cost, Money(0.75));
        assert_eq!(by_workload[1].key.period.as_deref(), Some("2026-02"));

        let (by_team, _) = regroup(rows(), &directory, &[], &Grouping::Label("team".into()));
        let teams: Vec<(Option<&str>, Option<&str>, f64)> = by_team
            .iter()
            .map(|r| {
                let (_, value) = r.key.label.as_ref().unwrap();
                (
                    r.key.period.as_deref(),
                    value.as_deref(),
                    r.co2e_grams.point,
                )
            })
            .collect();
        assert_eq!(
            teams,
            [
                (Some("2026-01"), None, 96.0),
                (Some("2026-01"), Some("data"), 16.0),
                (Some("2026-01"), Some("web"), 12.0),
                (Some("2026-02"), Some("web"), 1.0),
            ]
        );
        let all: f64 = rows().iter().map(|r| r.co2e_grams.point).sum();
        assert_eq!(by_team.iter().map(|r| r.co2e_grams.point).sum::<f64>(), all);

        let (nodes, _) = regroup(rows(), &directory, &web, &Grouping::By(GroupBy::Node));
        assert!(nodes.is_empty());
    }
}
