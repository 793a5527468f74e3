//! Row notes (schema 5 of both SQL stores): a pod row's estimation reasons and methodology,
//! stored once per distinct set in `row_notes` and named by id from the row's `note` column.
//! Reads go through the view `pod_footprint_rows` ([`super::Dialect::POD_ROWS`]).

use std::collections::HashMap;

use greenkube_core::MethodologyInfo;
use greenkube_core::ports::StoreError;

use super::exec::{Bind as _, fetch_all_in};
use super::rows::Columns;
use super::{Dialect, reasons_json};

/// The notes a write has looked up or added, by reasons and methodology. Kept for one write
/// only: an id added in a transaction that rolls back is gone with it.
#[derive(Default)]
pub(crate) struct NoteIds {
    ids: HashMap<Vec<String>, Vec<(MethodologyInfo, i64)>, foldhash::fast::RandomState>,
}

impl NoteIds {
    /// The id of the note `(reasons, methodology)`, when this write has it.
    pub(crate) fn get(&self, reasons: &[String], methodology: &MethodologyInfo) -> Option<i64> {
        self.ids
            .get(reasons)?
            .iter()
            .find(|(m, _)| m == methodology)
            .map(|&(_, id)| id)
    }

    /// Remembers the id of the note `(reasons, methodology)`.
    pub(crate) fn insert(&mut self, reasons: &[String], methodology: &MethodologyInfo, id: i64) {
        self.ids
            .entry(reasons.to_vec())
            .or_default()
            .push((methodology.clone(), id));
    }
}

/// A note as [`super::Statements::note_id`] and `note_insert` bind it: the reasons as stored
/// (a JSON list), the methodology's name and version, the data version and the idle policy.
pub(crate) fn note_values<'m>(
    reasons: &[String],
    methodology: &'m MethodologyInfo,
) -> (String, &'m str, &'m str, &'m str, &'m str) {
    (
        reasons_json(reasons),
        methodology.name.name(),
        methodology.version.as_str(),
        methodology.data_version.as_str(),
        methodology.idle_policy.name(),
    )
}

/// The id of the note `(reasons, methodology)`, in the write's transaction `conn`: this
/// write's, the stored one, or a new one. When a writer adds the same note at the same moment
/// (PostgreSQL), the insert adds nothing and the second look finds that writer's note.
pub(crate) async fn note_id<D: Dialect>(
    conn: &mut D::Connection,
    notes: &mut NoteIds,
    reasons: &[String],
    methodology: &MethodologyInfo,
) -> Result<i64, StoreError> {
    if let Some(id) = notes.get(reasons, methodology) {
        return Ok(id);
    }
    let (json, name, version, data_version, idle_policy) = note_values(reasons, methodology);
    for text in [D::SQL.note_id, D::SQL.note_insert, D::SQL.note_id] {
        let query = sqlx::query::<D>(text)
            .arg(json.clone())
            .arg(name.to_string())
            .arg(version.to_string())
            .arg(data_version.to_string())
            .arg(idle_policy.to_string());
        let rows = fetch_all_in(conn, query, "storing a row note").await?;
        if let Some(row) = rows.first() {
            let id: i64 = Columns::<D>::new(row).get()?;
            notes.insert(reasons, methodology, id);
            return Ok(id);
        }
    }
    Err(StoreError::other(
        D::BACKEND,
        "storing a row note: it was neither found nor added",
    ))
}

#[cfg(test)]
mod tests {
    use greenkube_core::{IdlePolicy, Methodology};

    use super::*;

    #[test]
    fn ids_are_kept_per_reasons_and_methodology() {
        let full = MethodologyInfo::new(Methodology::Full, IdlePolicy::Request, "d1");
        let classic = MethodologyInfo::new(Methodology::Classic, IdlePolicy::Usage, "d1");
        let reasons = vec!["a".to_string()];
        let mut ids = NoteIds::default();
        assert_eq!(ids.get(&reasons, &full), None);
        ids.insert(&reasons, &full, 7);
        ids.insert(&reasons, &classic, 8);
        ids.insert(&[], &full, 9);
        assert_eq!(ids.get(&reasons, &full), Some(7));
        assert_eq!(ids.get(&reasons, &classic), Some(8));
        assert_eq!(ids.get(&[], &full), Some(9));
        assert_eq!(ids.get(&[], &classic), None);
        assert_eq!(note_values(&reasons, &classic).0, r#"["a"]"#);
    }
}
