-- Pod labels (see greenkube_core::ports::FootprintRepository::pod_labels): one row per pod,
-- with its workload and the labels (a JSON object as text, NULL when it has none) of the
-- latest window written for it, and the span of window starts written. Every footprint write
-- upserts the rows of its window's pods in the same transaction. Reports filter and group by
-- labels from here; roll-ups and retention cuts leave it alone.
--
-- Pods written before this migration have no row: their labels are unknown (reports say so).

CREATE TABLE pod_labels (
    cluster       text COLLATE "C" NOT NULL,   -- '' when the footprint names no cluster
    namespace     text COLLATE "C" NOT NULL,
    pod           text COLLATE "C" NOT NULL,
    workload_kind text NOT NULL,
    workload      text NOT NULL,
    labels        text,
    first_window  timestamptz NOT NULL,
    last_window   timestamptz NOT NULL,
    PRIMARY KEY (cluster, namespace, pod)
);

CREATE INDEX pod_labels_span ON pod_labels (last_window, first_window);
