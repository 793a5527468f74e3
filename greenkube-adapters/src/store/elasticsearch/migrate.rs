//! Opening an Elasticsearch store: what the server is, the schema versions of the indices
//! (kept in each mapping's `_meta`), index templates and indices created when missing, and the
//! upgrade of footprint indices from schema 1 (see the store's module documentation).

use greenkube_core::ports::StoreError;
use serde_json::{Value, json};

use super::BACKEND;
use super::client::Client;
use super::error::unexpected;
use super::indices::{
    FOOTPRINTS_MAPPING, HISTORY_MAPPINGS, HISTORY_SCHEMA_VERSION, META_MAPPING, MIGRATIONS,
    ROLLUPS_MAPPING, SCHEMA_VERSION,
};
use super::store::ElasticsearchStore;
use crate::store::{AppliedMigration, MigrationReport, OpenOptions};

fn mapping(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| {
        StoreError::other(BACKEND, "the built-in index mapping is not JSON").with_source(e)
    })
}

/// Checks that the server answers like Elasticsearch or OpenSearch (`GET /`).
async fn check_server(client: &Client) -> Result<(), StoreError> {
    let doing = "connecting";
    let root = client.info(doing).await?;
    if root.pointer("/version/number").is_none() {
        return Err(unexpected(
            doing,
            format!(
                "`{}` does not answer like Elasticsearch or OpenSearch",
                client.location()
            ),
        ));
    }
    Ok(())
}

/// The schema version of an index, from its mapping's `_meta`; `None` when the index does not
/// exist, [`StoreErrorKind::Conflict`] when it exists without one (not made by greenkube).
async fn index_schema_version(client: &Client, index: &str) -> Result<Option<i64>, StoreError> {
    let doing = "reading the index mappings";
    let reply = client.mapping(index, doing).await?;
    if reply.status == 404 {
        return Ok(None);
    }
    let body = reply.into_ok(doing)?;
    let version = body
        .as_object()
        .and_then(|indices| indices.values().next())
        .and_then(|i| i.pointer("/mappings/_meta/greenkube_schema_version"))
        .and_then(Value::as_i64);
    match version {
        Some(v) => Ok(Some(v)),
        None => Err(StoreError::conflict(
            BACKEND,
            format!(
                "index `{index}` at `{}` exists but was not made by greenkube (no schema \
                 version in its mapping); choose another `index_prefix`",
                client.location()
            ),
        )),
    }
}

/// Puts the index template of `index` (schema `version`) and creates the index (an existing
/// index is kept).
async fn install_index(
    client: &Client,
    index: &str,
    mapping_text: &str,
    version: i64,
) -> Result<(), StoreError> {
    let template = mapping(mapping_text)?;
    let doing = "installing the index template";
    client
        .put_index_template(
            index,
            &json!({
                "index_patterns": [index],
                "priority": 200,
                "template": template,
                "_meta": {"managed_by": "greenkube", "greenkube_schema_version": version}
            }),
            doing,
        )
        .await?;
    let doing = "creating the index";
    let reply = client.create_index(index, &template, doing).await?;
    if reply.is_success() || reply.error().kind == "resource_already_exists_exception" {
        Ok(())
    } else {
        reply.into_ok(doing).map(|_| ())
    }
}

impl ElasticsearchStore {
    /// Brings the store up to date: the history indices' versions are checked first (nothing
    /// is changed when one is newer or foreign), then the footprint indices are migrated, then
    /// the history indices that are missing are created. The report is the footprint indices'
    /// (the store's schema, [`SCHEMA_VERSION`]), as `greenkube migrate` shows it; the history
    /// indices have a schema version of their own ([`HISTORY_SCHEMA_VERSION`]) and are created
    /// like the index templates, without a migration number.
    pub(super) async fn migrate(
        &self,
        options: OpenOptions,
    ) -> Result<MigrationReport, StoreError> {
        check_server(&self.client).await?;
        let mut missing = Vec::new();
        for (index, mapping) in self.indices.history().into_iter().zip(HISTORY_MAPPINGS) {
            match index_schema_version(&self.client, index).await? {
                Some(HISTORY_SCHEMA_VERSION) => {}
                Some(v) if v > HISTORY_SCHEMA_VERSION => {
                    return Err(StoreError::conflict(
                        BACKEND,
                        format!(
                            "index `{index}` has schema version {v}, which this greenkube \
                             (history schema {HISTORY_SCHEMA_VERSION}) does not know: it was \
                             written by a newer greenkube"
                        ),
                    ));
                }
                Some(v) => {
                    return Err(StoreError::conflict(
                        BACKEND,
                        format!("index `{index}` has unknown schema version {v}"),
                    ));
                }
                None => missing.push((index, mapping)),
            }
        }
        let applied = self.migrate_footprints(options).await?;
        for (index, mapping) in missing {
            install_index(&self.client, index, mapping, HISTORY_SCHEMA_VERSION).await?;
        }
        Ok(MigrationReport {
            applied,
            schema_version: SCHEMA_VERSION,
        })
    }

    /// Puts the index template of a footprint index and creates it (an existing index is
    /// kept).
    async fn install(&self, index: &str, mapping_text: &str) -> Result<(), StoreError> {
        install_index(&self.client, index, mapping_text, SCHEMA_VERSION).await
    }

    /// Puts the current index template of an existing index and adds what its mapping lacks
    /// (new fields, the schema version in `_meta`).
    async fn upgrade_mapping(&self, index: &str, mapping_text: &str) -> Result<(), StoreError> {
        self.install(index, mapping_text).await?;
        let doing = "upgrading the index mapping";
        let mappings = mapping(mapping_text)?
            .get("mappings")
            .cloned()
            .ok_or_else(|| unexpected(doing, "the built-in mapping has no `mappings`"))?;
        self.client.put_mapping(index, &mappings, doing).await
    }

    /// Brings the footprint indices up to date; returns the migrations applied.
    async fn migrate_footprints(
        &self,
        options: OpenOptions,
    ) -> Result<Vec<AppliedMigration>, StoreError> {
        let newer = |index: &str, v: i64| {
            StoreError::conflict(
                BACKEND,
                format!(
                    "index `{index}` has schema version {v}, which this greenkube (schema \
                     {SCHEMA_VERSION}) does not know: it was written by a newer greenkube"
                ),
            )
        };
        // The schema version of the store is the footprint index's; 0: a new store.
        let from = match index_schema_version(&self.client, &self.indices.footprints).await? {
            Some(v) if v > SCHEMA_VERSION => return Err(newer(&self.indices.footprints, v)),
            Some(v) if v >= 1 => v,
            Some(v) => {
                return Err(StoreError::conflict(
                    BACKEND,
                    format!(
                        "index `{}` has unknown schema version {v}",
                        self.indices.footprints
                    ),
                ));
            }
            None if !options.create_if_missing => {
                return Err(StoreError::unavailable(
                    BACKEND,
                    format!(
                        "no greenkube indices `{}` at `{}`",
                        self.indices.footprints,
                        self.client.location()
                    ),
                ));
            }
            None => {
                self.install(&self.indices.footprints, FOOTPRINTS_MAPPING)
                    .await?;
                0
            }
        };
        match index_schema_version(&self.client, &self.indices.meta).await? {
            Some(v) if v > SCHEMA_VERSION => return Err(newer(&self.indices.meta, v)),
            Some(v) if v < SCHEMA_VERSION => {
                self.upgrade_mapping(&self.indices.meta, META_MAPPING)
                    .await?;
            }
            Some(_) => {}
            None => self.install(&self.indices.meta, META_MAPPING).await?,
        }
        match index_schema_version(&self.client, &self.indices.rollups).await? {
            Some(v) if v > SCHEMA_VERSION => return Err(newer(&self.indices.rollups, v)),
            Some(_) => {}
            None => self.install(&self.indices.rollups, ROLLUPS_MAPPING).await?,
        }
        self.meta.create_ledger().await?;
        if from == 1 {
            // Rows written before roll-ups: their hours wait for the first roll-up. The
            // version is raised last, so an interrupted upgrade is simply done again.
            self.mark_stored_rows_dirty().await?;
            self.upgrade_mapping(&self.indices.footprints, FOOTPRINTS_MAPPING)
                .await?;
        } else {
            self.meta.read().await?.ledger.rollups()?;
        }
        Ok(MIGRATIONS
            .iter()
            .filter(|(version, _)| *version > from)
            .map(|(version, description)| AppliedMigration {
                version: *version,
                description: (*description).to_string(),
            })
            .collect())
    }
}
