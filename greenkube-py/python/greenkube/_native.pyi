"""Type stubs of the compiled module ``greenkube._native``; keep in step with ``src/lib.rs``."""

from collections.abc import Mapping
from typing import Any, Final, TypedDict

__all__ = ["__version__", "SnapshotError", "estimate", "data_version", "methodologies"]

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
