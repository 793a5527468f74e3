-- Roll-ups and retention (see greenkube_core::ports::RetentionPolicy).
--
-- pod_rollups / node_rollups: sums of raw rows per pod (node) and hour (level 1) or day
-- (level 2), with the counts a report needs. A bucket's rows are replaced as a whole when it is
-- rolled up. rolled_buckets lists the buckets whose roll-up is current; dirty_buckets those
-- written since they were last rolled up (a write marks its hour and day dirty and not rolled,
-- in the same transaction). retention_state holds the cuts: raw rows before raw_before_us,
-- hourly roll-ups before hourly_before_us and daily roll-ups before daily_before_us are gone.

CREATE TABLE pod_rollups (
    level                    INTEGER NOT NULL CHECK (level IN (1, 2)),
    bucket_us                INTEGER NOT NULL,
    cluster                  TEXT    NOT NULL,
    namespace                TEXT    NOT NULL,
    pod                      TEXT    NOT NULL,
    workload_kind            TEXT    NOT NULL,
    workload                 TEXT    NOT NULL,
    node                     TEXT,
    first_window_us          INTEGER NOT NULL,
    last_window_end_us       INTEGER NOT NULL,
    energy_joules            REAL NOT NULL,
    energy_joules_low        REAL NOT NULL,
    energy_joules_high       REAL NOT NULL,
    co2e_grams               REAL NOT NULL,
    co2e_grams_low           REAL NOT NULL,
    co2e_grams_high          REAL NOT NULL,
    embodied_co2e_grams      REAL NOT NULL,
    embodied_co2e_grams_low  REAL NOT NULL,
    embodied_co2e_grams_high REAL NOT NULL,
    cost                     REAL NOT NULL,   -- sum of the known costs
    rows                     INTEGER NOT NULL,
    estimated_rows           INTEGER NOT NULL,
    no_cost_rows             INTEGER NOT NULL
) STRICT;

CREATE INDEX pod_rollups_bucket ON pod_rollups (level, bucket_us);

CREATE TABLE node_rollups (
    level                    INTEGER NOT NULL CHECK (level IN (1, 2)),
    bucket_us                INTEGER NOT NULL,
    cluster                  TEXT    NOT NULL,
    node                     TEXT    NOT NULL,
    first_window_us          INTEGER NOT NULL,
    last_window_end_us       INTEGER NOT NULL,
    energy_joules            REAL NOT NULL,
    energy_joules_low        REAL NOT NULL,
    energy_joules_high       REAL NOT NULL,
    co2e_grams               REAL NOT NULL,
    co2e_grams_low           REAL NOT NULL,
    co2e_grams_high          REAL NOT NULL,
    embodied_co2e_grams      REAL NOT NULL,
    embodied_co2e_grams_low  REAL NOT NULL,
    embodied_co2e_grams_high REAL NOT NULL
) STRICT;

CREATE INDEX node_rollups_bucket ON node_rollups (level, bucket_us);

CREATE TABLE rolled_buckets (
    level     INTEGER NOT NULL,
    bucket_us INTEGER NOT NULL,
    PRIMARY KEY (level, bucket_us)
) STRICT, WITHOUT ROWID;

CREATE TABLE dirty_buckets (
    level     INTEGER NOT NULL,
    bucket_us INTEGER NOT NULL,
    PRIMARY KEY (level, bucket_us)
) STRICT, WITHOUT ROWID;

CREATE TABLE retention_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    raw_before_us    INTEGER,
    hourly_before_us INTEGER,
    daily_before_us  INTEGER
) STRICT;

INSERT INTO retention_state (id) VALUES (1);

-- Rows written before this migration: their hours and days wait for the first roll-up.
INSERT OR IGNORE INTO dirty_buckets (level, bucket_us)
    SELECT DISTINCT 1, window_start_us - window_start_us % 3600000000 FROM pod_footprints
    UNION SELECT DISTINCT 1, window_start_us - window_start_us % 3600000000 FROM node_footprints;
INSERT OR IGNORE INTO dirty_buckets (level, bucket_us)
    SELECT DISTINCT 2, bucket_us - bucket_us % 86400000000 FROM dirty_buckets WHERE level = 1;
