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

A history is a list of footprints (or JSON text, one per line): ``recommend(history)`` lists what
to change with the CO2e and cost each change saves per year, ``what_if(history, changes)``
recomputes the history with changes applied, and ``score(history)`` rates the cluster 0 to 100.

The computation runs in Rust (``greenkube-core``) with the GIL released.
"""

from greenkube._native import (
    SnapshotError,
    __version__,
    data_version,
    estimate,
    methodologies,
    recommend,
    score,
    what_if,
)

__all__ = [
    "SnapshotError",
    "__version__",
    "data_version",
    "estimate",
    "methodologies",
    "recommend",
    "score",
    "what_if",
]
