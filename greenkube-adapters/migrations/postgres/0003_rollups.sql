-- Roll-ups and retention (see greenkube_core::ports::RetentionPolicy); the same design as the
-- SQLite store's 0003_rollups.
--
-- pod_rollups / node_rollups: sums of raw rows per pod (node) and hour (level 1) or day
-- (level 2), with the counts a report needs. A bucket's rows are replaced as a whole when it is
-- rolled up. rolled_buckets lists the buckets whose roll-up is current; dirty_buckets those
-- written since they were last rolled up (a write marks its hour and day dirty and not rolled,
-- in the same transaction). retention_state holds the cuts: raw rows before raw_before, hourly
-- roll-ups before hourly_before and daily roll-ups before daily_before are gone.
--
-- Times are `timestamptz` (whole microseconds, UTC) as in 0001; a bucket is the start of its
-- hour or day in UTC. Key columns use the "C" collation, like the raw rows' keys.
--
-- Writers lock the retention_state row FOR SHARE for their whole transaction; each step of
-- maintenance locks it FOR UPDATE, so a step never runs while a write is in flight (it can
-- neither seal a window under a writer nor miss rows written into the hour it rolls up).

CREATE TABLE pod_rollups (
    level                    smallint NOT NULL CHECK (level IN (1, 2)),
    bucket                   timestamptz NOT NULL,
    cluster                  text COLLATE "C" NOT NULL,
    namespace                text COLLATE "C" NOT NULL,
    pod                      text COLLATE "C" NOT NULL,
    workload_kind            text COLLATE "C" NOT NULL,
    workload                 text COLLATE "C" NOT NULL,
    node                     text COLLATE "C",
    first_window             timestamptz NOT NULL,
    last_window_end          timestamptz NOT NULL,
    energy_joules            double precision NOT NULL,
    energy_joules_low        double precision NOT NULL,
    energy_joules_high       double precision NOT NULL,
    co2e_grams               double precision NOT NULL,
    co2e_grams_low           double precision NOT NULL,
    co2e_grams_high          double precision NOT NULL,
    embodied_co2e_grams      double precision NOT NULL,
    embodied_co2e_grams_low  double precision NOT NULL,
    embodied_co2e_grams_high double precision NOT NULL,
    cost                     double precision NOT NULL,  -- sum of the known costs
    rows                     bigint NOT NULL,
    estimated_rows           bigint NOT NULL,
    no_cost_rows             bigint NOT NULL
);

CREATE INDEX pod_rollups_bucket ON pod_rollups (level, bucket);

CREATE TABLE node_rollups (
    level                    smallint NOT NULL CHECK (level IN (1, 2)),
    bucket                   timestamptz NOT NULL,
    cluster                  text COLLATE "C" NOT NULL,
    node                     text COLLATE "C" NOT NULL,
    first_window             timestamptz NOT NULL,
    last_window_end          timestamptz NOT NULL,
    energy_joules            double precision NOT NULL,
    energy_joules_low        double precision NOT NULL,
    energy_joules_high       double precision NOT NULL,
    co2e_grams               double precision NOT NULL,
    co2e_grams_low           double precision NOT NULL,
    co2e_grams_high          double precision NOT NULL,
    embodied_co2e_grams      double precision NOT NULL,
    embodied_co2e_grams_low  double precision NOT NULL,
    embodied_co2e_grams_high double precision NOT NULL
);

CREATE INDEX node_rollups_bucket ON node_rollups (level, bucket);

CREATE TABLE rolled_buckets (
    level  smallint NOT NULL CHECK (level IN (1, 2)),
    bucket timestamptz NOT NULL,
    PRIMARY KEY (level, bucket)
);

CREATE TABLE dirty_buckets (
    level  smallint NOT NULL CHECK (level IN (1, 2)),
    bucket timestamptz NOT NULL,
    PRIMARY KEY (level, bucket)
);

CREATE TABLE retention_state (
    id            integer PRIMARY KEY CHECK (id = 1),
    raw_before    timestamptz,
    hourly_before timestamptz,
    daily_before  timestamptz
);

INSERT INTO retention_state (id) VALUES (1);

-- Rows written before this migration: their hours and days wait for the first roll-up.
-- Buckets are truncated in UTC, whatever the session's TimeZone.
INSERT INTO dirty_buckets (level, bucket)
    SELECT 1, date_trunc('hour', window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
    FROM pod_footprints
    UNION
    SELECT 1, date_trunc('hour', window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
    FROM node_footprints
ON CONFLICT DO NOTHING;
INSERT INTO dirty_buckets (level, bucket)
    SELECT DISTINCT 2, date_trunc('day', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
    FROM dirty_buckets WHERE level = 1
ON CONFLICT DO NOTHING;
