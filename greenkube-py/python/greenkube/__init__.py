"""greenkube: the energy, carbon and cost footprint of Kubernetes workloads.

Estimate one window of one cluster (a ``greenkube.snapshot/v1`` document, as a dict or as
JSON text) and get its ``greenkube.footprint/v1`` document back as plain Python objects:

>>> import greenkube
>>> snapshot = {
...     "schema": "greenkube.snapshot/v1",
...     "window_start": "2025-06-02T10:00:00Z",
...     "window_end": "2025-06-02T10:05:00Z",
...     "nodes": [{"name": "node-1", "provider": "aws", "instance_type": "m5.large",
...                "region": "eu-west-3"}],
...     "pods": [{"namespace": "shop", "name": "web-1", "node": "node-1",
...               "cpu_usage_cores": 0.5}],
... }
>>> footprint = greenkube.estimate(snapshot, "classic")
>>> footprint["pods"][0]["energy_joules"]
858.0
>>> footprint["pods"][0]["zone"]
'FR'

The footprint is a ``greenkube.Footprint``: the document (a ``dict``), whose rows are also
tables with flat columns (``footprint.pods``, ``footprint.nodes``: ``greenkube.Table``, with
``to_pandas()``, ``to_polars()``, ``to_arrow()``):

>>> footprint.pods.column_names[:5]
['cluster', 'window_start', 'window_end', 'namespace', 'pod']
>>> footprint.pods.num_rows
1

A history is a list of footprints (or JSON text, one per line): ``recommend(history)`` lists what
to change with the CO2e and cost each change saves per year (``greenkube.Recommendations``: the
list of dicts, and ``.table``), ``what_if(history, changes)`` recomputes the history with changes
applied (``greenkube.WhatIf``), and ``score(history)`` rates the cluster 0 to 100
(``greenkube.Score``).

Collection: ``collect_window(prometheus_url, kubeconfig=..., opencost_url=..., at=...)`` reads
one window from the cluster's sources through the collector ``greenkube collect`` runs and
returns its snapshot and footprint (``greenkube.CollectedWindow``).

Stores: ``greenkube.open(url)`` opens the store the command line and the server use (SQLite
``sqlite://greenkube.db``, PostgreSQL ``postgres://...``, Elasticsearch ``http://...``):
``store.report(since="30d", group_by="namespace")`` gives a ``greenkube.Table`` (Arrow, with
``to_pandas()``, ``to_polars()``, ``to_arrow()``), ``store.footprints(since="30d")`` the pod rows
streamed in Arrow batches (``greenkube.Batches``), ``store.recommend(since="7d", save=True)``
what to change, ``store.recommendations()`` what is kept and ``apply``/``ignore``/``unignore``
change it, ``store.restate(since="30d", methodology="classic")`` recomputes stored windows,
``store.maintain()`` rolls up and applies retention, ``store.load_demo()`` loads the demo's
synthetic cluster.

Errors: every greenkube error is a ``greenkube.Error``: ``SnapshotError`` and ``FootprintError``
(bad input, also ``ValueError``), ``StoreError`` (``UnavailableError``, ``ConflictError``,
``InvalidDataError``), ``SourceError``.

The computation runs in Rust (``greenkube-core``) with the GIL released.
"""

from greenkube._native import (
    ConflictError,
    Error,
    FootprintError,
    InvalidDataError,
    SnapshotError,
    SourceError,
    Store,
    StoreError,
    UnavailableError,
    __version__,
    collect_window,
    data_version,
    estimate,
    methodologies,
    open,
    recommend,
    score,
    what_if,
)
from greenkube._results import CollectedWindow, Footprint, Recommendations, Score, WhatIf
from greenkube._table import Batches, Table

__all__ = [
    "Batches",
    "CollectedWindow",
    "ConflictError",
    "Error",
    "Footprint",
    "FootprintError",
    "InvalidDataError",
    "Recommendations",
    "Score",
    "SnapshotError",
    "SourceError",
    "Store",
    "StoreError",
    "Table",
    "UnavailableError",
    "WhatIf",
    "__version__",
    "collect_window",
    "data_version",
    "estimate",
    "methodologies",
    "open",
    "recommend",
    "score",
    "what_if",
]
