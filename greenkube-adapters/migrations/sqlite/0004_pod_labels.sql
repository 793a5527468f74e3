-- Pod labels (see greenkube_core::ports::FootprintRepository::pod_labels): one row per pod,
-- with its workload and the labels (a JSON object, NULL when it has none) of the latest window
-- written for it, and the span of window starts written. Every footprint write upserts the
-- rows of its window's pods in the same transaction. Reports filter and group by labels from
-- here; roll-ups and retention cuts leave it alone.
--
-- Pods written before this migration have no row: their labels are unknown (reports say so).

CREATE TABLE pod_labels (
    cluster         TEXT    NOT NULL,   -- '' when the footprint names no cluster
    namespace       TEXT    NOT NULL,
    pod             TEXT    NOT NULL,
    workload_kind   TEXT    NOT NULL,
    workload        TEXT    NOT NULL,
    labels          TEXT,
    first_window_us INTEGER NOT NULL,
    last_window_us  INTEGER NOT NULL,
    PRIMARY KEY (cluster, namespace, pod)
) STRICT, WITHOUT ROWID;

CREATE INDEX pod_labels_span ON pod_labels (last_window_us, first_window_us);
