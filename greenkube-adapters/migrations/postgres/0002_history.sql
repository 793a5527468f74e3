-- The repositories besides footprints: archived snapshots, node history, intensity history,
-- recommendations with their lifecycle, the savings ledger and the embodied-figure cache.
--
-- Times are `timestamptz` (whole microseconds, UTC). An absent cluster is stored as '', so keys
-- never contain NULL. Key columns use the "C" collation: they order byte by byte (as the core
-- and the SQLite store order them), whatever the database's locale.

-- One archived snapshot per (cluster, window start), replaced when archived again.
CREATE TABLE snapshot_archive (
    window_start  timestamptz NOT NULL,
    cluster       text COLLATE "C" NOT NULL,
    -- The snapshot's JSON, gzip-compressed (the same bytes as in the SQLite store).
    body          bytea NOT NULL,
    archived_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (window_start, cluster)
);

-- Nodes as a slowly changing dimension (type 2): one row per version, valid over
-- [valid_from, valid_to); the current version has no valid_to.
CREATE TABLE node_versions (
    cluster     text COLLATE "C" NOT NULL,
    name        text COLLATE "C" NOT NULL,
    valid_from  timestamptz NOT NULL,
    valid_to    timestamptz,
    -- The node's description (compared to detect a change).
    body        jsonb NOT NULL,
    PRIMARY KEY (cluster, name, valid_from),
    CHECK (valid_to IS NULL OR valid_to >= valid_from),
    CHECK (jsonb_typeof(body) = 'object')
);

-- At most one current version per node.
CREATE UNIQUE INDEX node_versions_current ON node_versions (cluster, name) WHERE valid_to IS NULL;

-- The latest observation per cluster: older ones are refused. Writers of a cluster lock its row,
-- so they take turns.
CREATE TABLE node_observations (
    cluster  text COLLATE "C" NOT NULL PRIMARY KEY,
    -- NULL only inside the transaction that creates the row.
    latest   timestamptz
);

CREATE TABLE intensities (
    zone           text COLLATE "C" NOT NULL,
    -- The time the value applies from.
    at_time        timestamptz NOT NULL,
    -- Finite and not negative ('NaN' compares above 'Infinity' in PostgreSQL).
    gco2e_per_kwh  double precision NOT NULL
        CHECK (gco2e_per_kwh >= 0 AND gco2e_per_kwh < 'Infinity'::double precision),
    source         text NOT NULL,
    PRIMARY KEY (zone, at_time)
);

CREATE TABLE recommendations (
    id    text COLLATE "C" NOT NULL PRIMARY KEY,
    -- The record (recommendation and lifecycle) as JSON.
    body  jsonb NOT NULL,
    CHECK (jsonb_typeof(body) = 'object')
);

CREATE TABLE savings_ledger (
    recommendation_id  text COLLATE "C" NOT NULL,
    period_start       timestamptz NOT NULL,
    period_end         timestamptz NOT NULL,
    kind               text NOT NULL,
    namespace          text,
    co2e_grams         double precision NOT NULL
        CHECK (co2e_grams > '-Infinity'::double precision AND co2e_grams < 'Infinity'::double precision),
    cost               double precision
        CHECK (cost > '-Infinity'::double precision AND cost < 'Infinity'::double precision),
    PRIMARY KEY (recommendation_id, period_start)
);

CREATE INDEX savings_ledger_period ON savings_ledger (period_start);

CREATE TABLE embodied_cache (
    -- The key: provider and instance type in lower case.
    provider_key       text COLLATE "C" NOT NULL,
    instance_type_key  text COLLATE "C" NOT NULL,
    -- As the caller spelled them.
    provider           text NOT NULL,
    instance_type      text NOT NULL,
    -- NULL when the source does not know the instance type.
    kgco2e             double precision,
    lifespan_hours     double precision,
    fetched_at         timestamptz NOT NULL,
    PRIMARY KEY (provider_key, instance_type_key)
);
