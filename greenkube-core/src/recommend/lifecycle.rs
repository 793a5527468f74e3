//! What a team did about each recommendation: states `active`, `applied`, `ignored`, `stale`,
//! reconciliation of a new scan with the stored records, ranking, and realised savings.
//!
//! Fixed against GreenKube: an ignored recommendation stays ignored across scans (its numbers
//! are refreshed, its status is not); identities include the scope, target and node, so
//! recommendations of the same type on different nodes or workloads never collide.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Recommendation, RecommendationType};
use crate::aggregate::workload_key;
use crate::footprint::Footprint;
use crate::methodology::Methodology;
use crate::ranged::Ranged;
use crate::whatif::{SECONDS_PER_YEAR, difference};

/// Lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecommendationStatus {
    /// Found by the latest scan, not acted on.
    Active,
    /// The team applied it.
    Applied,
    /// The team chose not to act; stays ignored while the finding persists.
    Ignored,
    /// No longer found by the latest scan.
    Stale,
}

/// A recommendation with its lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendationRecord {
    /// The latest version of the recommendation.
    pub recommendation: Recommendation,
    /// State.
    pub status: RecommendationStatus,
    /// First found.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// When applied.
    pub applied_at: Option<DateTime<Utc>>,
    /// When ignored.
    pub ignored_at: Option<DateTime<Utc>>,
    /// Why ignored.
    pub ignored_reason: Option<String>,
    /// What the team reported when applying it (absent in records written before this field
    /// existed, and when nothing was reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_values: Option<AppliedValues>,
}

/// What a team reports when it applies a recommendation (GreenKube's
/// `ApplyRecommendationRequest`); every field optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppliedValues {
    /// The CPU request actually set, cores.
    pub actual_cpu_request_cores: Option<f64>,
    /// The memory request actually set, bytes.
    pub actual_memory_request_bytes: Option<f64>,
    /// Realised CO2e savings per year, grams, when the team measured them.
    pub co2e_grams_per_year: Option<f64>,
    /// Realised money savings per year, when the team measured them.
    pub cost_per_year: Option<f64>,
}

/// Savings per year of an applied recommendation, from what the team reported (see
/// [`RecommendationRecord::applied_savings`]; [`realised_savings`] measures them in the history).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AppliedSavings {
    /// CO2e, grams per year.
    pub co2e_grams_per_year: f64,
    /// Money per year; `None` when the cost effect is not known.
    pub cost_per_year: Option<f64>,
}

impl RecommendationRecord {
    /// Marks the record applied.
    pub fn apply(&mut self, now: DateTime<Utc>) {
        self.status = RecommendationStatus::Applied;
        self.applied_at = Some(now);
        self.updated_at = now;
    }

    /// Marks the record applied with what the team reports (kept for [`Self::applied_savings`]).
    pub fn apply_with(&mut self, values: AppliedValues, now: DateTime<Utc>) {
        self.apply(now);
        self.applied_values = (values != AppliedValues::default()).then_some(values);
    }

    /// The savings an applied recommendation realises, per year (`None` unless applied).
    ///
    /// Measured savings the team reported win. Otherwise a rightsizing applied part-way
    /// (the request set between the current and the recommended one) realises the share
    /// `(current - actual) / (current - recommended)`, clamped to 0..=1, of the projected
    /// savings; anything else realises the projection.
    pub fn applied_savings(&self) -> Option<AppliedSavings> {
        if self.status != RecommendationStatus::Applied {
            return None;
        }
        let rec = &self.recommendation;
        let values = self.applied_values.clone().unwrap_or_default();
        let (current, recommended, actual) = match rec.kind {
            RecommendationType::RightsizingCpu => (
                rec.current_cpu_request_cores,
                rec.recommended_cpu_request_cores,
                values.actual_cpu_request_cores,
            ),
            RecommendationType::RightsizingMemory => (
                rec.current_memory_request_bytes,
                rec.recommended_memory_request_bytes,
                values.actual_memory_request_bytes,
            ),
            _ => (None, None, None),
        };
        let share = match (current, recommended, actual) {
            (Some(current), Some(recommended), Some(actual)) if current - recommended > 0.0 => {
                ((current - actual) / (current - recommended)).clamp(0.0, 1.0)
            }
            _ => 1.0,
        };
        Some(AppliedSavings {
            co2e_grams_per_year: values
                .co2e_grams_per_year
                .unwrap_or(rec.savings_co2e_grams_per_year * share),
            cost_per_year: values
                .cost_per_year
                .or(rec.savings_cost_per_year.map(|cost| cost * share)),
        })
    }

    /// Marks the record ignored.
    pub fn ignore(&mut self, reason: Option<String>, now: DateTime<Utc>) {
        self.status = RecommendationStatus::Ignored;
        self.ignored_at = Some(now);
        self.ignored_reason = reason;
        self.updated_at = now;
    }

    /// Back to active.
    pub fn unignore(&mut self, now: DateTime<Utc>) {
        self.status = RecommendationStatus::Active;
        self.ignored_at = None;
        self.ignored_reason = None;
        self.updated_at = now;
    }
}

/// Merges a new scan into the stored records. Matching is on the stable `id`:
/// - found again: the numbers are refreshed; `active`, `ignored` and `applied` keep their state,
///   `stale` becomes `active` again;
/// - new: inserted `active`;
/// - `active` records the scan no longer finds become `stale`.
pub fn reconcile(
    previous: Vec<RecommendationRecord>,
    fresh: &[Recommendation],
    now: DateTime<Utc>,
) -> Vec<RecommendationRecord> {
    let mut by_id: HashMap<String, RecommendationRecord> = previous
        .into_iter()
        .map(|r| (r.recommendation.id.clone(), r))
        .collect();
    let mut out = Vec::with_capacity(by_id.len() + fresh.len());
    for rec in fresh {
        match by_id.remove(&rec.id) {
            Some(mut record) => {
                record.recommendation = rec.clone();
                record.updated_at = now;
                if record.status == RecommendationStatus::Stale {
                    record.status = RecommendationStatus::Active;
                }
                out.push(record);
            }
            None => out.push(RecommendationRecord {
                recommendation: rec.clone(),
                status: RecommendationStatus::Active,
                created_at: now,
                updated_at: now,
                applied_at: None,
                ignored_at: None,
                ignored_reason: None,
                applied_values: None,
            }),
        }
    }
    let mut rest: Vec<RecommendationRecord> = by_id.into_values().collect();
    rest.sort_by(|a, b| a.recommendation.id.cmp(&b.recommendation.id));
    for mut record in rest {
        if record.status == RecommendationStatus::Active {
            record.status = RecommendationStatus::Stale;
            record.updated_at = now;
        }
        out.push(record);
    }
    out
}

/// A savings measure of a recommendation.
type Measure = fn(&Recommendation) -> f64;

/// What to rank by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RankBy {
    /// CO2e savings per year.
    Co2e,
    /// Cost savings per year.
    Cost,
}

/// The top `limit` recommendations with positive savings by the chosen measure, largest first;
/// ties broken by the other savings, then priority, then id.
pub fn rank(recs: &[Recommendation], by: RankBy, limit: usize) -> Vec<&Recommendation> {
    let co2e = |r: &Recommendation| r.savings_co2e_grams_per_year;
    let cost = |r: &Recommendation| r.savings_cost_per_year.unwrap_or(0.0);
    let (first, second): (Measure, Measure) = match by {
        RankBy::Co2e => (co2e, cost),
        RankBy::Cost => (cost, co2e),
    };
    let mut out: Vec<&Recommendation> = recs.iter().filter(|r| first(r) > 0.0).collect();
    out.sort_by(|a, b| {
        first(b)
            .total_cmp(&first(a))
            .then_with(|| second(b).total_cmp(&second(a)))
            .then_with(|| b.priority.cmp(&a.priority))
            .then_with(|| a.id.cmp(&b.id))
    });
    out.truncate(limit.max(1));
    out
}

/// Realised savings of an applied recommendation: the target's CO2e per year before
/// `applied_at` minus after, both from the history's own figures and only from footprints of the
/// given methodology (the baseline is computed with the same methodology as the result). `None`
/// when either period has no data.
pub fn realised_savings(
    history: &[Footprint],
    record: &RecommendationRecord,
    methodology: Methodology,
) -> Option<Ranged> {
    let applied = record.applied_at?;
    let rec = &record.recommendation;
    let mut before = (Ranged::ZERO, 0.0);
    let mut after = (Ranged::ZERO, 0.0);
    for footprint in history.iter().filter(|f| f.methodology.name == methodology) {
        let mut sum = Ranged::ZERO;
        let mut node_level = false;
        for pod in &footprint.pods {
            if rec
                .namespace
                .as_deref()
                .is_some_and(|namespace| namespace != pod.namespace.as_ref())
            {
                continue;
            }
            let (kind, name) = workload_key(
                pod.owner_kind.as_deref(),
                pod.owner_name.as_deref(),
                &pod.pod,
            );
            let hit = match (rec.kind, rec.target_kind.as_deref()) {
                (RecommendationType::IdleNamespace, _) => true,
                (_, Some(target_kind)) => {
                    target_kind == kind.as_ref() && rec.target == name.as_ref()
                }
                _ => {
                    node_level = true;
                    false
                }
            };
            if hit {
                sum += pod.total_co2e_grams();
            }
        }
        if node_level {
            sum = footprint.totals.co2e_grams + footprint.totals.embodied_co2e_grams;
        }
        let slot = if footprint.window_start < applied {
            &mut before
        } else {
            &mut after
        };
        slot.0 += sum;
        slot.1 += footprint.seconds();
    }
    if before.1 <= 0.0 || after.1 <= 0.0 {
        return None;
    }
    let rate = |(sum, secs): (Ranged, f64)| sum.scale(SECONDS_PER_YEAR / secs);
    Some(difference(rate(before), rate(after)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommend::{Priority, Scope};

    fn rec(id: &str, co2e: f64, cost: Option<f64>) -> Recommendation {
        Recommendation {
            id: id.into(),
            kind: RecommendationType::RightsizingCpu,
            scope: Scope::Workload,
            priority: Priority::Medium,
            namespace: Some("ns".into()),
            target_kind: Some("Deployment".into()),
            target: id.into(),
            node: None,
            reason: String::new(),
            current_cpu_request_cores: None,
            recommended_cpu_request_cores: None,
            current_memory_request_bytes: None,
            recommended_memory_request_bytes: None,
            schedule: None,
            changes: Vec::new(),
            savings_co2e_grams_per_year: co2e,
            savings_cost_per_year: cost,
            savings_co2e_grams_per_year_interval: [co2e, co2e],
            savings_basis: "attributed".into(),
            methodology: "full".into(),
            data_version: "gkdata-test".into(),
            cluster: None,
        }
    }

    #[test]
    fn applied_savings_follow_what_the_team_reports() {
        let mut recommendation = rec("cpu", 1000.0, Some(50.0));
        recommendation.current_cpu_request_cores = Some(0.5);
        recommendation.recommended_cpu_request_cores = Some(0.2);
        let mut record = reconcile(Vec::new(), &[recommendation], t(1)).remove(0);
        assert_eq!(record.applied_savings(), None, "not applied yet");
        // GreenKube's worked example: 500 m -> 200 m recommended, 350 m applied: half.
        record.apply_with(
            AppliedValues {
                actual_cpu_request_cores: Some(0.35),
                ..AppliedValues::default()
            },
            t(2),
        );
        let half = record.applied_savings().unwrap();
        assert!((half.co2e_grams_per_year - 500.0).abs() < 1e-9, "{half:?}");
        assert!((half.cost_per_year.unwrap() - 25.0).abs() < 1e-9);
        // Measured savings win; a request above the current one realises nothing.
        record.apply_with(
            AppliedValues {
                actual_cpu_request_cores: Some(0.8),
                cost_per_year: Some(7.0),
                ..AppliedValues::default()
            },
            t(3),
        );
        let none = record.applied_savings().unwrap();
        assert_eq!(none.co2e_grams_per_year, 0.0);
        assert_eq!(none.cost_per_year, Some(7.0));
        // Nothing reported: the projection; and the record reads back without the field.
        record.apply_with(AppliedValues::default(), t(4));
        assert_eq!(record.applied_values, None);
        assert_eq!(
            record.applied_savings().unwrap().co2e_grams_per_year,
            1000.0
        );
        let json = serde_json::to_string(&record).unwrap();
        assert!(!json.contains("applied_values"), "{json}");
        let back: RecommendationRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, record);
    }

    fn t(h: u32) -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2025, 6, 2, h, 0, 0).unwrap()
    }

    #[test]
    fn ignored_stays_ignored_across_scans() {
        let first = reconcile(
            Vec::new(),
            &[rec("a", 10.0, None), rec("b", 5.0, None)],
            t(1),
        );
        let mut records = first;
        records[0].ignore(Some("on purpose".into()), t(2));
        let next = reconcile(records, &[rec("a", 12.0, None), rec("b", 6.0, None)], t(3));
        let a = next.iter().find(|r| r.recommendation.id == "a").unwrap();
        assert_eq!(a.status, RecommendationStatus::Ignored);
        assert_eq!(a.recommendation.savings_co2e_grams_per_year, 12.0);
        assert_eq!(next.len(), 2, "no duplicate for the ignored one");
    }

    #[test]
    fn vanished_active_becomes_stale_and_comes_back() {
        let records = reconcile(Vec::new(), &[rec("a", 1.0, None)], t(1));
        let records = reconcile(records, &[], t(2));
        assert_eq!(records[0].status, RecommendationStatus::Stale);
        let records = reconcile(records, &[rec("a", 1.0, None)], t(3));
        assert_eq!(records[0].status, RecommendationStatus::Active);
        assert_eq!(records[0].created_at, t(1));
    }

    #[test]
    fn applied_is_kept() {
        let mut records = reconcile(Vec::new(), &[rec("a", 1.0, None)], t(1));
        records[0].apply(t(2));
        let records = reconcile(records, &[], t(3));
        assert_eq!(records[0].status, RecommendationStatus::Applied);
    }

    #[test]
    fn ranking_orders_and_filters() {
        let recs = [
            rec("a", 10.0, Some(1.0)),
            rec("b", 20.0, None),
            rec("c", 0.0, Some(5.0)),
        ];
        let by_co2 = rank(&recs, RankBy::Co2e, 10);
        assert_eq!(
            by_co2.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["b", "a"]
        );
        let by_cost = rank(&recs, RankBy::Cost, 1);
        assert_eq!(by_cost[0].id, "c");
    }
}
