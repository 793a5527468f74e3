-- Row notes: what a pod row says about how its figures were made (its estimation reasons, and
-- the methodology, methodology version, reference-data version and idle policy), stored once
-- per distinct set and named by id. A window of 1,000 pods on 20 nodes has about 20 distinct
-- sets; written on every row they were about 290 of its 684 bytes.
--
-- Rows written from this version on carry `note` and store '[]' and '' in the five columns
-- the note replaces (they are NOT NULL, and changing that would rewrite every stored row).
-- Rows stored before keep their own columns and a NULL `note`, so no row is rewritten and the
-- migration takes no time whatever the store's size. Reads go through `pod_footprint_rows`,
-- which gives every row the columns of `pod_footprints` as they were, from its note or its
-- own; a note that is missing reads as NULL reasons and an empty methodology, which the
-- reader refuses as invalid data instead of passing on.
--
-- Notes are never deleted: a set is a few hundred bytes, and a cluster makes few.

CREATE TABLE row_notes (
    id                  INTEGER PRIMARY KEY,
    estimation_reasons  TEXT NOT NULL,  -- JSON array of sentences
    methodology         TEXT NOT NULL,
    methodology_version TEXT NOT NULL,
    data_version        TEXT NOT NULL,
    idle_policy         TEXT NOT NULL,
    UNIQUE (estimation_reasons, methodology, methodology_version, data_version, idle_policy)
) STRICT;

ALTER TABLE pod_footprints ADD COLUMN note INTEGER;

CREATE VIEW pod_footprint_rows AS
SELECT
    p.window_start_us,
    p.window_end_us,
    p.cluster,
    p.namespace,
    p.pod,
    p.owner_kind,
    p.owner_name,
    p.workload_kind,
    p.workload,
    p.node,
    p.zone,
    p.region,
    p.provider,
    p.instance_type,
    p.cpu_usage_cores,
    p.cpu_request_cores,
    p.memory_usage_bytes,
    p.memory_request_bytes,
    p.restarts,
    p.energy_joules,
    p.energy_joules_low,
    p.energy_joules_high,
    p.co2e_grams,
    p.co2e_grams_low,
    p.co2e_grams_high,
    p.embodied_co2e_grams,
    p.embodied_co2e_grams_low,
    p.embodied_co2e_grams_high,
    p.cost,
    p.pue,
    p.pue_low,
    p.pue_high,
    p.grid_intensity,
    p.grid_intensity_low,
    p.grid_intensity_high,
    p.estimated,
    CASE WHEN p.note IS NULL THEN p.estimation_reasons ELSE n.estimation_reasons END
        AS estimation_reasons,
    CASE WHEN p.note IS NULL THEN p.methodology ELSE n.methodology END AS methodology,
    CASE WHEN p.note IS NULL THEN p.methodology_version ELSE n.methodology_version END
        AS methodology_version,
    CASE WHEN p.note IS NULL THEN p.data_version ELSE n.data_version END AS data_version,
    CASE WHEN p.note IS NULL THEN p.idle_policy ELSE n.idle_policy END AS idle_policy
FROM pod_footprints AS p
LEFT JOIN row_notes AS n ON n.id = p.note;
