-- Footprint rows: one per pod and window, and one overhead row per node and window.
--
-- Times are `timestamptz` (microseconds, UTC); period buckets are `date_trunc` in UTC, whatever
-- the session's TimeZone. A window is identified by (cluster, window_start); writing it replaces
-- all its rows in one transaction. `cluster` is '' when the footprint names no cluster, and a node
-- row's `node` is '' for the node synthesised for pods that name none, so keys never contain NULL.
-- Key columns use the "C" collation: keys compare byte by byte (as greenkube pages them),
-- whatever the database's locale.
--
-- Every figure keeps its interval (`_low`, `_high`); every row keeps the methodology, its
-- version, the reference-data version and the idle policy that produced it.

CREATE TABLE pod_footprints (
    window_start         timestamptz NOT NULL,
    window_end           timestamptz NOT NULL,
    cluster              text COLLATE "C" NOT NULL,
    namespace            text COLLATE "C" NOT NULL,
    pod                  text COLLATE "C" NOT NULL,
    owner_kind           text,
    owner_name           text,
    workload_kind        text NOT NULL,
    workload             text NOT NULL,
    node                 text,
    zone                 text,
    region               text,
    provider             text,
    instance_type        text,
    cpu_usage_cores      double precision,
    cpu_request_cores    double precision,
    memory_usage_bytes   double precision,
    memory_request_bytes double precision,
    restarts             bigint,
    energy_joules             double precision NOT NULL,
    energy_joules_low         double precision NOT NULL,
    energy_joules_high        double precision NOT NULL,
    co2e_grams                double precision NOT NULL,
    co2e_grams_low            double precision NOT NULL,
    co2e_grams_high           double precision NOT NULL,
    embodied_co2e_grams       double precision NOT NULL,
    embodied_co2e_grams_low   double precision NOT NULL,
    embodied_co2e_grams_high  double precision NOT NULL,
    cost                      double precision,
    pue                  double precision NOT NULL,
    pue_low              double precision NOT NULL,
    pue_high             double precision NOT NULL,
    grid_intensity       double precision NOT NULL,
    grid_intensity_low   double precision NOT NULL,
    grid_intensity_high  double precision NOT NULL,
    estimated            boolean NOT NULL,
    estimation_reasons   jsonb   NOT NULL,  -- array of sentences
    methodology          text    NOT NULL,
    methodology_version  text    NOT NULL,
    data_version         text    NOT NULL,
    idle_policy          text    NOT NULL,
    -- The key, and the order of range scans and pages.
    PRIMARY KEY (window_start, cluster, namespace, pod),
    CHECK (window_end > window_start),
    CHECK (namespace <> '' AND pod <> ''),
    CHECK (jsonb_typeof(estimation_reasons) = 'array'),
    CHECK (0 <= energy_joules_low AND energy_joules_low <= energy_joules AND energy_joules <= energy_joules_high),
    CHECK (0 <= co2e_grams_low AND co2e_grams_low <= co2e_grams AND co2e_grams <= co2e_grams_high),
    CHECK (0 <= embodied_co2e_grams_low AND embodied_co2e_grams_low <= embodied_co2e_grams
           AND embodied_co2e_grams <= embodied_co2e_grams_high),
    CHECK (cost IS NULL OR cost >= 0)
);

CREATE TABLE node_footprints (
    window_start          timestamptz NOT NULL,
    window_end            timestamptz NOT NULL,
    cluster               text COLLATE "C" NOT NULL,
    node                  text COLLATE "C" NOT NULL,
    provider              text,
    instance_type         text,
    zone                  text,
    region                text,
    cpu_capacity_cores    double precision,
    memory_capacity_bytes double precision,
    synthetic             boolean NOT NULL,
    pue                   double precision NOT NULL,
    pue_low               double precision NOT NULL,
    pue_high              double precision NOT NULL,
    grid_intensity        double precision NOT NULL,
    grid_intensity_low    double precision NOT NULL,
    grid_intensity_high   double precision NOT NULL,
    overhead_energy_joules                double precision NOT NULL,
    overhead_energy_joules_low            double precision NOT NULL,
    overhead_energy_joules_high           double precision NOT NULL,
    overhead_co2e_grams                   double precision NOT NULL,
    overhead_co2e_grams_low               double precision NOT NULL,
    overhead_co2e_grams_high              double precision NOT NULL,
    unallocated_embodied_co2e_grams       double precision NOT NULL,
    unallocated_embodied_co2e_grams_low   double precision NOT NULL,
    unallocated_embodied_co2e_grams_high  double precision NOT NULL,
    estimation_reasons    jsonb   NOT NULL,
    methodology           text    NOT NULL,
    methodology_version   text    NOT NULL,
    data_version          text    NOT NULL,
    idle_policy           text    NOT NULL,
    PRIMARY KEY (window_start, cluster, node),
    CHECK (window_end > window_start),
    CHECK (jsonb_typeof(estimation_reasons) = 'array'),
    CHECK (0 <= overhead_energy_joules_low AND overhead_energy_joules_low <= overhead_energy_joules
           AND overhead_energy_joules <= overhead_energy_joules_high),
    CHECK (0 <= overhead_co2e_grams_low AND overhead_co2e_grams_low <= overhead_co2e_grams
           AND overhead_co2e_grams <= overhead_co2e_grams_high),
    CHECK (0 <= unallocated_embodied_co2e_grams_low
           AND unallocated_embodied_co2e_grams_low <= unallocated_embodied_co2e_grams
           AND unallocated_embodied_co2e_grams <= unallocated_embodied_co2e_grams_high)
);
