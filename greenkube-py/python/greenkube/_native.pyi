"""Type stubs of the compiled module ``greenkube._native``; keep in step with ``src/lib.rs``."""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Final, Literal, TypedDict, final

from greenkube._results import CollectedWindow, Footprint, Recommendations, Score, WhatIf
from greenkube._table import Batches, Table

__all__ = [
    "__version__",
    "Error",
    "SnapshotError",
    "FootprintError",
    "StoreError",
    "UnavailableError",
    "ConflictError",
    "InvalidDataError",
    "SourceError",
    "Store",
    "Outcome",
    "open",
    "collect_window",
    "estimate",
    "data_version",
    "methodologies",
    "recommend",
    "what_if",
    "score",
]

__version__: Final[str]

class Error(Exception):
    """Base of every greenkube error."""

class SnapshotError(Error, ValueError):
    """A snapshot greenkube cannot estimate.

    ``field`` is the JSON path of the offending value (for example ``pods[3].cpu_usage_cores``),
    or None when the error is not about one field.
    """

    field: str | None

class FootprintError(Error, ValueError):
    """A footprint or history greenkube cannot read (also: a snapshot given where footprints are
    expected, a file path given instead of its contents)."""

class StoreError(Error):
    """The store failed or refused the request; the message names the store (password masked)."""

class UnavailableError(StoreError):
    """The store cannot be reached or opened now (missing, unreachable, locked, full)."""

class ConflictError(StoreError):
    """The store refused a write that conflicts with what it holds."""

class InvalidDataError(StoreError, ValueError):
    """The store holds, or was given, data it cannot accept (also: an invalid store URL)."""

class SourceError(Error):
    """A data source failed; ``source`` names it (``prometheus``, ``kubernetes``, ...)."""

    source: str | None

_Time = datetime | str
_Duration = timedelta | str
_GroupBy = Literal["pod", "workload", "namespace", "node", "cluster"]
_Period = Literal["hour", "day", "week", "month", "year"]
_Status = Literal["active", "applied", "ignored", "stale", "all"]
_MethodologyName = Literal["full", "classic"]
_IdlePolicy = Literal["request", "usage", "even", "overhead"]

class _Restated(TypedDict):
    methodology: str
    idle_policy: str
    windows: int
    stored: bool
    before: Table
    after: Table

@final
class Outcome:
    """The Rust value behind a ``Footprint``, ``Recommendations``, ``WhatIf`` or ``Score``."""

    def table(self, name: str) -> Table:
        """The result's table of that name."""

@final
class Store:
    """A store, open (SQLite, PostgreSQL or Elasticsearch), on the same use cases as the command
    line and the server. Every call releases the GIL; Ctrl-C interrupts it."""

    @property
    def location(self) -> str:
        """Where the store is (its URL, password masked)."""

    def report(
        self,
        since: _Duration | None = None,
        *,
        start: _Time | None = None,
        end: _Time | None = None,
        group_by: _GroupBy | str = "namespace",
        period: _Period | None = None,
        namespace: str | None = None,
        cluster: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> Table:
        """Sums the stored footprints of a range (``since``, or ``start`` and ``end``), grouped.

        ``group_by`` also takes ``"label:KEY"`` (one row per value of the pods' label ``KEY``,
        in a ``label:KEY`` column; pods without it have none); ``labels={"team": "payments"}``
        keeps the pods whose labels have every one of these values."""

    def footprints(
        self,
        since: _Duration | None = None,
        *,
        start: _Time | None = None,
        end: _Time | None = None,
        namespace: str | None = None,
        cluster: str | None = None,
        batch_size: int = 10_000,
    ) -> Batches:
        """The stored pod rows of a range, streamed in Arrow batches."""

    def recommend(
        self,
        since: _Duration | None = None,
        *,
        start: _Time | None = None,
        end: _Time | None = None,
        namespace: str | None = None,
        save: bool = False,
    ) -> Recommendations:
        """What to change, from the stored history of a range; ``save`` keeps the scan."""

    def recommendations(self, status: _Status | None = None) -> Recommendations:
        """The recommendations the store keeps, with their state (``.table``: with ``status``,
        ``created_at``, ``updated_at``, ``applied_at``, ``ignored_at``, ``ignored_reason``)."""

    def apply(self, id: str) -> dict[str, Any]:
        """Marks a kept recommendation applied (``id`` or a unique prefix)."""

    def ignore(self, id: str, reason: str | None = None) -> dict[str, Any]:
        """Ignores a kept recommendation while its finding persists."""

    def unignore(self, id: str) -> dict[str, Any]:
        """Makes an ignored recommendation active again."""

    def maintain(
        self, *, keep_raw: str = "7d", keep_hourly: str = "90d", keep_daily: str = "forever"
    ) -> dict[str, int]:
        """Rolls stored footprints up by hour and day and applies retention."""

    def load_demo(
        self, *, days: int = 30, seed: int = 42, end: _Time | None = None
    ) -> dict[str, Any]:
        """Loads the demo's synthetic cluster into the store, as ``greenkube demo`` does."""

    def restate(
        self,
        since: _Duration | None = None,
        *,
        start: _Time | None = None,
        end: _Time | None = None,
        methodology: _MethodologyName = "full",
        idle_policy: _IdlePolicy = "request",
        dry_run: bool = False,
    ) -> _Restated:
        """Recomputes the stored windows of a range from their archived snapshots under another
        methodology or idle policy, as ``greenkube restate`` does (``dry_run``: nothing written)."""

    def what_if(
        self,
        changes: Sequence[Mapping[str, Any]] | str,
        since: _Duration | None = None,
        *,
        start: _Time | None = None,
        end: _Time | None = None,
        cluster: str | None = None,
        max_windows: int | None = 48,
    ) -> WhatIf:
        """Applies changes to the archived windows of a range: baseline, projection, savings."""

    def score(
        self,
        since: _Duration | None = None,
        *,
        start: _Time | None = None,
        end: _Time | None = None,
        cluster: str | None = None,
    ) -> Score:
        """The sustainability score (0 to 100) of the archived windows of a range."""

    def close(self) -> None:
        """Closes the store (SQLite folds its log into the file)."""

    def __enter__(self) -> Store: ...
    def __exit__(
        self,
        *_exc: type[BaseException] | BaseException | TracebackType | None,
    ) -> bool: ...

def open(url: str, *, create: bool = False) -> Store:
    """Opens the store a URL names (created when missing if ``create``)."""

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
) -> Footprint:
    """Estimates the footprint of one snapshot (a dict or JSON text).

    Returns the ``greenkube.footprint/v1`` document as plain Python objects (a ``Footprint``,
    which is a ``dict``; ``.pods`` and ``.nodes`` give its rows as tables). Raises
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
) -> Recommendations:
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
) -> WhatIf:
    """Applies changes to a history; returns baseline, projection and savings for the cluster
    and for the pods the changes touch."""

def score(
    history: Sequence[Mapping[str, Any]] | str,
    inventory: Mapping[str, Any] | str | None = None,
) -> Score:
    """The sustainability score (0 to 100) of a history, with its seven dimensions."""

def collect_window(
    prometheus_url: str | None = None,
    *,
    kubeconfig: str | None = None,
    no_kubernetes: bool = False,
    opencost_url: str | None = None,
    electricity_maps_token: str | None = None,
    electricity_maps_url: str | None = None,
    boavizta_url: str | None = None,
    at: _Time | None = None,
    step: _Duration | None = None,
    cluster: str | None = None,
    methodology: _MethodologyName = "full",
    idle_policy: _IdlePolicy = "request",
    store: Store | None = None,
    timeout: float = 30.0,
) -> CollectedWindow:
    """Reads the last complete window before ``at`` (default now) from the cluster's sources,
    as ``greenkube collect`` does, and estimates it; keeps it in ``store`` when given."""
