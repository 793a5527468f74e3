"""Type stubs of the compiled module ``greenkube._native``; keep in step with ``src/lib.rs``."""

from collections.abc import Mapping, Sequence
from typing import Any, Final, TypedDict

__all__ = [
    "__version__",
    "SnapshotError",
    "estimate",
    "data_version",
    "methodologies",
    "recommend",
    "what_if",
    "score",
]

__version__: Final[str]

class SnapshotError(ValueError):
    """A snapshot greenkube cannot estimate.

    ``field`` is the JSON path of the offending value (for example ``pods[3].cpu_usage_cores``),
    or None when the error is not about one field.
    """

    field: str | None

class _Methodology(TypedDict):
    name: str
    version: str
    summary: str

def estimate(
    snapshot: Mapping[str, Any] | str,
    methodology: str = "full",
    *,
    idle_policy: str = "request",
    default_zone: str | None = None,
    default_intensity: float | None = None,
) -> dict[str, Any]:
    """Estimates the footprint of one snapshot (a dict or JSON text).

    Returns the ``greenkube.footprint/v1`` document as plain Python objects. Raises
    ``SnapshotError`` naming the offending field when the snapshot is not valid, and
    ``ValueError`` for an unknown methodology or idle policy.
    """

def data_version() -> str:
    """Version of the embedded reference data, as named in every footprint."""

def methodologies() -> list[_Methodology]:
    """The methodologies ``estimate`` accepts, default last."""

def recommend(
    history: Sequence[Mapping[str, Any]] | str,
    inventory: Mapping[str, Any] | str | None = None,
    *,
    namespace: str | None = None,
    include_system_namespaces: bool = False,
) -> list[dict[str, Any]]:
    """Recommendations from a history of footprints, largest CO2e savings first.

    Each has ``type``, ``scope``, ``namespace``, ``target``, ``node``, ``reason``,
    ``savings_co2e_grams_per_year`` (with ``savings_co2e_grams_per_year_interval``),
    ``savings_cost_per_year`` (None when unknown) and the ``changes`` that realise it.
    """

def what_if(
    history: Sequence[Mapping[str, Any]] | str,
    changes: Sequence[Mapping[str, Any]] | str,
    *,
    max_windows: int | None = None,
) -> dict[str, Any]:
    """Applies changes to a history; returns baseline, projection and savings for the cluster
    and for the pods the changes touch."""

def score(
    history: Sequence[Mapping[str, Any]] | str,
    inventory: Mapping[str, Any] | str | None = None,
) -> dict[str, Any]:
    """The sustainability score (0 to 100) of a history, with its seven dimensions."""
