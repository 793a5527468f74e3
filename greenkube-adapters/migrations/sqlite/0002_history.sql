-- The repositories besides footprints: archived snapshots, node history, intensity history,
-- recommendations with their lifecycle, the savings ledger and the embodied-figure cache.
-- Times are whole microseconds since 1970-01-01 UTC; an absent cluster is stored as ''.

CREATE TABLE snapshot_archive (
    cluster          TEXT    NOT NULL,
    window_start_us  INTEGER NOT NULL,
    -- The snapshot's JSON, gzip-compressed.
    body             BLOB    NOT NULL,
    PRIMARY KEY (window_start_us, cluster)
) WITHOUT ROWID;

CREATE TABLE node_versions (
    cluster        TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    valid_from_us  INTEGER NOT NULL,
    valid_to_us    INTEGER,
    -- The node's description as JSON (compared to detect a change).
    body           TEXT    NOT NULL,
    PRIMARY KEY (cluster, name, valid_from_us)
) WITHOUT ROWID;

CREATE TABLE node_observations (
    cluster    TEXT    NOT NULL PRIMARY KEY,
    latest_us  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE intensities (
    zone            TEXT    NOT NULL,
    at_us           INTEGER NOT NULL,
    gco2e_per_kwh   REAL    NOT NULL CHECK (gco2e_per_kwh >= 0),
    source          TEXT    NOT NULL,
    PRIMARY KEY (zone, at_us)
) WITHOUT ROWID;

CREATE TABLE recommendations (
    id    TEXT NOT NULL PRIMARY KEY,
    -- The record (recommendation and lifecycle) as JSON.
    body  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE savings_ledger (
    recommendation_id  TEXT    NOT NULL,
    period_start_us    INTEGER NOT NULL,
    period_end_us      INTEGER NOT NULL,
    kind               TEXT    NOT NULL,
    namespace          TEXT,
    co2e_grams         REAL    NOT NULL,
    cost               REAL,
    PRIMARY KEY (recommendation_id, period_start_us)
) WITHOUT ROWID;

CREATE INDEX savings_ledger_period ON savings_ledger (period_start_us);

CREATE TABLE embodied_cache (
    provider        TEXT    NOT NULL,
    instance_type   TEXT    NOT NULL,
    kgco2e          REAL,
    lifespan_hours  REAL,
    fetched_at_us   INTEGER NOT NULL,
    -- The answer with the caller's spelling.
    body            TEXT    NOT NULL,
    PRIMARY KEY (provider, instance_type)
) WITHOUT ROWID;
