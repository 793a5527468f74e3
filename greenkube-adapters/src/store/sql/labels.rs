//! The `pod_labels` table of both SQL backends (migration 0004): each pod's workload and latest
//! labels ([`FootprintRepository::pod_labels`](greenkube_core::ports::FootprintRepository)),
//! upserted in the transaction that writes its window.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use greenkube_core::PodLabels;
use greenkube_core::ports::{StoreError, TimeRange, WindowRecords};

use super::exec::{Bind as _, execute_in, fetch_all};
use super::rows::Columns;
use super::{Dialect, SqlStore};

/// Rows per upsert statement (8 placeholders each, under SQLite's limit of 32,766).
const ROWS_PER_UPSERT: usize = 500;

/// How a backend writes the upsert: its two-argument minimum and maximum, and whether its
/// placeholders are numbered (`$1`: PostgreSQL) or anonymous (`?`: SQLite, where sqlx looks each
/// numbered placeholder's name up in a list, which makes a statement of thousands of them
/// quadratic).
#[derive(Debug, Clone, Copy)]
pub(crate) struct UpsertSql {
    /// `MIN` or `LEAST`.
    pub(crate) least: &'static str,
    /// `MAX` or `GREATEST`.
    pub(crate) greatest: &'static str,
    /// `$N` placeholders rather than `?`.
    pub(crate) numbered: bool,
}

/// The upsert of `rows` entries: a new pod is inserted; a known one widens its window span
/// and takes the workload and labels of the written window when that window is its latest.
pub(crate) fn upsert(us: &str, dialect: UpsertSql, rows: usize) -> String {
    let UpsertSql {
        least,
        greatest,
        numbered,
    } = dialect;
    let mut text = format!(
        "INSERT INTO pod_labels (cluster, namespace, pod, workload_kind, workload, labels, \
         first_window{us}, last_window{us}) VALUES "
    );
    for row in 0..rows {
        text.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..8 {
            if column > 0 {
                text.push_str(", ");
            }
            if numbered {
                let _ = write!(text, "${}", row * 8 + column + 1);
            } else {
                text.push('?');
            }
        }
        text.push(')');
    }
    let latest = format!("excluded.last_window{us} >= pod_labels.last_window{us}");
    let _ = write!(
        text,
        " ON CONFLICT (cluster, namespace, pod) DO UPDATE SET \
         workload_kind = CASE WHEN {latest} THEN excluded.workload_kind ELSE pod_labels.workload_kind END, \
         workload = CASE WHEN {latest} THEN excluded.workload ELSE pod_labels.workload END, \
         labels = CASE WHEN {latest} THEN excluded.labels ELSE pod_labels.labels END, \
         first_window{us} = {least}(pod_labels.first_window{us}, excluded.first_window{us}), \
         last_window{us} = {greatest}(pod_labels.last_window{us}, excluded.last_window{us})"
    );
    text
}

/// The labels as stored: a JSON object, or NULL for none.
pub(crate) fn labels_json(labels: Option<&BTreeMap<String, String>>) -> Option<String> {
    labels.map(|l| serde_json::to_string(l).unwrap_or_else(|_| "{}".to_string()))
}

/// `(cluster as stored, namespace, pod)`.
type PodKey = (Arc<str>, Arc<str>, Arc<str>);

/// The entries of a batch's windows, one per pod (folded with [`PodLabels::absorb`]), in key
/// order: upserted once per batch, in one order, so two writers of the same pods lock their
/// rows in the same order and never wait for each other.
#[derive(Debug, Default)]
pub(crate) struct LabelBatch {
    entries: BTreeMap<PodKey, PodLabels>,
}

impl LabelBatch {
    /// Adds the entries of one window.
    pub(crate) fn add(&mut self, w: &WindowRecords) {
        let cluster: Arc<str> = w.cluster.clone().unwrap_or_else(|| Arc::from(""));
        for entry in &w.labels {
            let key = (cluster.clone(), entry.namespace.clone(), entry.pod.clone());
            match self.entries.get_mut(&key) {
                Some(known) => known.absorb(entry),
                None => {
                    self.entries.insert(key, entry.clone());
                }
            }
        }
    }

    /// The entries in key order, each with its cluster as stored (`""` for none).
    pub(crate) fn into_entries(self) -> Vec<(Arc<str>, PodLabels)> {
        self.entries
            .into_iter()
            .map(|((cluster, _, _), entry)| (cluster, entry))
            .collect()
    }

    /// Upserts the entries, in the write's transaction.
    pub(crate) async fn write<D: Dialect>(
        self,
        conn: &mut D::Connection,
        dialect: UpsertSql,
    ) -> Result<(), StoreError> {
        write_entries::<D>(conn, &self.into_entries(), dialect).await
    }
}

async fn write_entries<D: Dialect>(
    conn: &mut D::Connection,
    entries: &[(Arc<str>, PodLabels)],
    dialect: UpsertSql,
) -> Result<(), StoreError> {
    let mut full: Option<String> = None;
    for chunk in entries.chunks(ROWS_PER_UPSERT) {
        let partial;
        let text: &str = if chunk.len() == ROWS_PER_UPSERT {
            full.get_or_insert_with(|| upsert(D::TIME_SUFFIX, dialect, ROWS_PER_UPSERT))
        } else {
            partial = upsert(D::TIME_SUFFIX, dialect, chunk.len());
            &partial
        };
        let mut query = sqlx::query(text);
        for (cluster, entry) in chunk {
            query = query
                .arg(cluster.to_string())
                .arg(entry.namespace.to_string())
                .arg(entry.pod.to_string())
                .arg(entry.workload_kind.to_string())
                .arg(entry.workload.to_string())
                .arg(labels_json(entry.labels.as_deref()))
                .time(entry.first_window)
                .time(entry.last_window);
        }
        execute_in::<D>(conn, query, "recording pod labels").await?;
    }
    Ok(())
}

/// See `FootprintRepository::pod_labels`.
pub(crate) async fn read_labels<D: Dialect>(
    store: &SqlStore<D>,
    range: TimeRange,
    cluster: Option<&str>,
) -> Result<Vec<PodLabels>, StoreError> {
    let us = D::TIME_SUFFIX;
    let mut text = format!(
        "SELECT cluster, namespace, pod, workload_kind, workload, labels, first_window{us}, \
         last_window{us} FROM pod_labels WHERE first_window{us} < $1 AND last_window{us} >= $2"
    );
    if cluster.is_some() {
        text.push_str(" AND cluster = $3");
    }
    let mut query = sqlx::query(&text).bound(range.to()).bound(range.from());
    if let Some(c) = cluster {
        query = query.arg(c.to_string());
    }
    let rows = fetch_all(store.pool(), query, "reading pod labels").await?;
    let mut out = rows
        .iter()
        .map(|row| {
            let mut c = Columns::<D>::new(row);
            let cluster = c.name()?.filter(|c| !c.is_empty());
            let namespace = c.name()?;
            let pod = c.name()?;
            let workload_kind = c.name()?;
            let workload = c.name()?;
            let labels = c
                .get::<Option<String>>()?
                .map(|text| {
                    serde_json::from_str::<BTreeMap<String, String>>(&text).map_err(|e| {
                        StoreError::invalid_data(
                            D::BACKEND,
                            format!("stored pod labels are not a JSON object of strings: {e}"),
                        )
                    })
                })
                .transpose()?
                .map(Arc::new);
            let missing = || StoreError::invalid_data(D::BACKEND, "stored pod labels: empty name");
            Ok(PodLabels {
                cluster,
                namespace: namespace.ok_or_else(missing)?,
                pod: pod.ok_or_else(missing)?,
                workload_kind: workload_kind.ok_or_else(missing)?,
                workload: workload.ok_or_else(missing)?,
                labels,
                first_window: c.time()?,
                last_window: c.time()?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    // Sorted here, byte by byte, whatever the database's collation.
    out.sort_by(|a, b| (&a.cluster, &a.namespace, &a.pod).cmp(&(&b.cluster, &b.namespace, &b.pod)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upsert_has_eight_placeholders_a_row_and_keeps_the_latest() {
        let pg = UpsertSql {
            least: "LEAST",
            greatest: "GREATEST",
            numbered: true,
        };
        let text = upsert("", pg, 2);
        assert!(text.contains("($1, $2, $3, $4, $5, $6, $7, $8), ($9, $10"));
        assert!(text.ends_with("GREATEST(pod_labels.last_window, excluded.last_window)"));
        assert!(!text.contains("$17"));
        assert_eq!(text.matches("excluded.last_window >= ").count(), 3);
        let sqlite = UpsertSql {
            least: "MIN",
            greatest: "MAX",
            numbered: false,
        };
        let text = upsert("_us", sqlite, 2);
        assert!(text.contains("VALUES (?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?) ON"));
        assert!(!text.contains('$'));
    }
}
