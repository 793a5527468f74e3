-- Footprint rows: one per pod and window, and one overhead row per node and window.
--
-- Times are microseconds since 1970-01-01T00:00:00Z (UTC), so range scans and period buckets are
-- integer arithmetic. A window is identified by (cluster, window_start_us); writing it replaces
-- all its rows in one transaction. `cluster` is '' when the footprint names no cluster, and a
-- node row's `node` is '' for the node synthesised for pods that name none, so keys never
-- contain NULL (NULL is never equal to NULL in a unique index).
--
-- Every figure keeps its interval (`_low`, `_high`); every row keeps the methodology, its
-- version, the reference-data version and the idle policy that produced it.

CREATE TABLE pod_footprints (
    window_start_us      INTEGER NOT NULL,
    window_end_us        INTEGER NOT NULL,
    cluster              TEXT    NOT NULL,
    namespace            TEXT    NOT NULL,
    pod                  TEXT    NOT NULL,
    owner_kind           TEXT,
    owner_name           TEXT,
    workload_kind        TEXT    NOT NULL,
    workload             TEXT    NOT NULL,
    node                 TEXT,
    zone                 TEXT,
    region               TEXT,
    provider             TEXT,
    instance_type        TEXT,
    cpu_usage_cores      REAL,
    cpu_request_cores    REAL,
    memory_usage_bytes   REAL,
    memory_request_bytes REAL,
    restarts             INTEGER,
    energy_joules             REAL NOT NULL,
    energy_joules_low         REAL NOT NULL,
    energy_joules_high        REAL NOT NULL,
    co2e_grams                REAL NOT NULL,
    co2e_grams_low            REAL NOT NULL,
    co2e_grams_high           REAL NOT NULL,
    embodied_co2e_grams       REAL NOT NULL,
    embodied_co2e_grams_low   REAL NOT NULL,
    embodied_co2e_grams_high  REAL NOT NULL,
    cost                      REAL,
    pue                  REAL NOT NULL,
    pue_low              REAL NOT NULL,
    pue_high             REAL NOT NULL,
    grid_intensity       REAL NOT NULL,
    grid_intensity_low   REAL NOT NULL,
    grid_intensity_high  REAL NOT NULL,
    estimated            INTEGER NOT NULL CHECK (estimated IN (0, 1)),
    estimation_reasons   TEXT    NOT NULL,  -- JSON array of sentences
    methodology          TEXT    NOT NULL,
    methodology_version  TEXT    NOT NULL,
    data_version         TEXT    NOT NULL,
    idle_policy          TEXT    NOT NULL,
    CHECK (window_end_us > window_start_us),
    CHECK (namespace <> '' AND pod <> ''),
    CHECK (0 <= energy_joules_low AND energy_joules_low <= energy_joules AND energy_joules <= energy_joules_high),
    CHECK (0 <= co2e_grams_low AND co2e_grams_low <= co2e_grams AND co2e_grams <= co2e_grams_high),
    CHECK (0 <= embodied_co2e_grams_low AND embodied_co2e_grams_low <= embodied_co2e_grams
           AND embodied_co2e_grams <= embodied_co2e_grams_high),
    CHECK (cost IS NULL OR cost >= 0)
) STRICT;

-- The key, and the order of range scans and pages.
CREATE UNIQUE INDEX pod_footprints_key ON pod_footprints (window_start_us, cluster, namespace, pod);

CREATE TABLE node_footprints (
    window_start_us       INTEGER NOT NULL,
    window_end_us         INTEGER NOT NULL,
    cluster               TEXT    NOT NULL,
    node                  TEXT    NOT NULL,
    provider              TEXT,
    instance_type         TEXT,
    zone                  TEXT,
    region                TEXT,
    cpu_capacity_cores    REAL,
    memory_capacity_bytes REAL,
    synthetic             INTEGER NOT NULL CHECK (synthetic IN (0, 1)),
    pue                   REAL NOT NULL,
    pue_low               REAL NOT NULL,
    pue_high              REAL NOT NULL,
    grid_intensity        REAL NOT NULL,
    grid_intensity_low    REAL NOT NULL,
    grid_intensity_high   REAL NOT NULL,
    overhead_energy_joules                REAL NOT NULL,
    overhead_energy_joules_low            REAL NOT NULL,
    overhead_energy_joules_high           REAL NOT NULL,
    overhead_co2e_grams                   REAL NOT NULL,
    overhead_co2e_grams_low               REAL NOT NULL,
    overhead_co2e_grams_high              REAL NOT NULL,
    unallocated_embodied_co2e_grams       REAL NOT NULL,
    unallocated_embodied_co2e_grams_low   REAL NOT NULL,
    unallocated_embodied_co2e_grams_high  REAL NOT NULL,
    estimation_reasons    TEXT    NOT NULL,
    methodology           TEXT    NOT NULL,
    methodology_version   TEXT    NOT NULL,
    data_version          TEXT    NOT NULL,
    idle_policy           TEXT    NOT NULL,
    CHECK (window_end_us > window_start_us),
    CHECK (0 <= overhead_energy_joules_low AND overhead_energy_joules_low <= overhead_energy_joules
           AND overhead_energy_joules <= overhead_energy_joules_high),
    CHECK (0 <= overhead_co2e_grams_low AND overhead_co2e_grams_low <= overhead_co2e_grams
           AND overhead_co2e_grams <= overhead_co2e_grams_high),
    CHECK (0 <= unallocated_embodied_co2e_grams_low
           AND unallocated_embodied_co2e_grams_low <= unallocated_embodied_co2e_grams
           AND unallocated_embodied_co2e_grams <= unallocated_embodied_co2e_grams_high)
) STRICT;

CREATE UNIQUE INDEX node_footprints_key ON node_footprints (window_start_us, cluster, node);
