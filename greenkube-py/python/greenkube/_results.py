"""Results that are documents and tables at once.

``estimate`` returns a ``Footprint``, ``recommend`` (and ``Store.recommend``,
``Store.recommendations``) ``Recommendations``, ``what_if`` a ``WhatIf`` and ``score`` a
``Score``. Each is the plain document (a ``dict`` or a ``list`` of dicts, exactly as before,
JSON-serialisable) and also gives its rows as a ``greenkube.Table`` with flat columns, built in
Rust from the same values: ``footprint.pods``, ``footprint.nodes``, ``recommendations.table``,
``what_if.table``, ``score.table``. Copies and pickles are plain dicts and lists.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from greenkube._table import Table


class _Document(dict[str, Any]):
    """A result document (a plain ``dict``) that keeps the Rust value its tables are built from."""

    __slots__ = ("_outcome",)

    def __init__(self, document: dict[str, Any], outcome: Any) -> None:
        super().__init__(document)
        self._outcome = outcome

    def _table(self, name: str) -> Table:
        table: Table = self._outcome.table(name)
        return table

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self),))


class Footprint(_Document):
    """One window's footprint (``greenkube.footprint/v1``): the document, and its tables.

    ``footprint["pods"]`` is the list of pod dicts, as in the contract (intervals nested under
    ``"uncertainty"``); ``footprint.pods`` is the same rows as a ``greenkube.Table`` with flat
    columns (``co2e_grams``, ``co2e_grams_low``, ``co2e_grams_high``, ...), one row per pod,
    with the columns of ``Store.footprints``; ``footprint.nodes`` one row per node, with the
    energy and emissions no pod carries (``overhead_energy_joules``,
    ``unallocated_embodied_co2e_grams``).

    >>> footprint = greenkube.estimate(snapshot)  # doctest: +SKIP
    >>> footprint.pods.to_pandas().nlargest(5, "total_co2e_grams")  # doctest: +SKIP
    """

    __slots__ = ()

    @property
    def pods(self) -> Table:
        """One row per pod, flat columns (as ``Store.footprints`` gives stored rows)."""
        return self._table("pods")

    @property
    def nodes(self) -> Table:
        """One row per node: the whole node, and the part not attributed to pods."""
        return self._table("nodes")


class Recommendations(list[dict[str, Any]]):
    """Recommendations, largest CO2e savings first: a list of dicts, and a table.

    ``recommendations.table`` (or ``to_pandas()``, ``to_polars()``, ``to_arrow()``) has one row
    per recommendation: ``id``, ``type``, ``scope``, ``priority``, ``cluster``, ``namespace``,
    ``target_kind``, ``target``, ``node``, ``reason``, current and recommended requests,
    ``schedule``, ``savings_co2e_grams_per_year`` with ``_low`` and ``_high``,
    ``savings_cost_per_year``, ``savings_basis``, ``methodology``, ``data_version``; for the
    recommendations a store keeps, also ``status``, ``created_at``, ``updated_at``,
    ``applied_at``, ``ignored_at`` and ``ignored_reason``.

    >>> found = store.recommend(since="7d")  # doctest: +SKIP
    >>> found.to_pandas()[["type", "target", "savings_co2e_grams_per_year"]]  # doctest: +SKIP
    """

    __slots__ = ("_outcome",)

    def __init__(self, document: list[dict[str, Any]], outcome: Any) -> None:
        super().__init__(document)
        self._outcome = outcome

    @property
    def table(self) -> Table:
        """One row per recommendation, flat columns."""
        table: Table = self._outcome.table("recommendations")
        return table

    def to_arrow(self) -> Any:
        """The table as a ``pyarrow.Table``."""
        return self.table.to_arrow()

    def to_pandas(self) -> Any:
        """The table as a pandas DataFrame."""
        return self.table.to_pandas()

    def to_polars(self) -> Any:
        """The table as a polars DataFrame."""
        return self.table.to_polars()

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (list(self),))


class WhatIf(_Document):
    """What a set of changes would have done to a history: the document, and a table.

    ``what_if.table`` has eight rows: ``scope`` (``cluster``, or ``targets``: the changed
    workloads and nodes) by ``measure`` (``baseline``, ``projected``, ``savings`` over the
    history, ``savings_per_year``), with energy, operational, embodied and total CO2e (each
    with ``_low`` and ``_high``) and cost.
    """

    __slots__ = ()

    @property
    def table(self) -> Table:
        """Baseline, projection and savings, for the cluster and for the targets."""
        return self._table("comparison")


class Score(_Document):
    """The sustainability score of a history (0 to 100): the document, and a table.

    ``score.table`` has one row per dimension: ``dimension``, ``weight``, ``score``,
    ``has_data``, ``detail``; the overall score is ``score["score"]`` and the table's
    ``metadata["greenkube.score"]``.
    """

    __slots__ = ()

    @property
    def table(self) -> Table:
        """The seven dimensions, one row each."""
        return self._table("dimensions")


class CollectedWindow:
    """One window read from a cluster's sources by ``greenkube.collect_window``.

    ``snapshot`` is the ``greenkube.snapshot/v1`` document the collector assembled (nodes,
    pods with their usage, costs, intensities, and ``degraded_sources``); ``footprint`` its
    ``greenkube.Footprint``; ``degraded`` the sources that failed (each a dict with ``source``,
    ``kind`` and ``detail``; the rows they affected say so in their reasons); ``stored`` the
    store the window was kept in, or ``None``. Unpacks as ``snapshot, footprint``.

    >>> window = greenkube.collect_window("http://prometheus:9090")  # doctest: +SKIP
    >>> window.footprint.pods.to_pandas()  # doctest: +SKIP
    """

    __slots__ = ("snapshot", "footprint", "degraded", "stored")

    def __init__(
        self,
        snapshot: dict[str, Any],
        footprint: Footprint,
        *,
        degraded: list[dict[str, Any]],
        stored: str | None,
    ) -> None:
        self.snapshot = snapshot
        self.footprint = footprint
        self.degraded = degraded
        self.stored = stored

    def __iter__(self) -> Iterator[Any]:
        return iter((self.snapshot, self.footprint))

    def __repr__(self) -> str:
        start = self.snapshot.get("window_start")
        pods = len(self.snapshot.get("pods", []))
        where = f", stored in {self.stored}" if self.stored else ""
        return f"<greenkube.CollectedWindow {start}: {pods} pods{where}>"
