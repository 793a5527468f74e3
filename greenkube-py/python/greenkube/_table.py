"""``greenkube.Table``: a tabular result, as Arrow, with conversions to pandas, polars, pyarrow.

The precise types (``pandas.DataFrame``, ...) are in ``_table.pyi``."""

from __future__ import annotations

from typing import Any


class Table:
    """A tabular result of greenkube (a report, footprints), held as an Arrow table built in Rust.

    Columns are flat: every figure comes with its interval as ``<name>_low`` and ``<name>_high``
    (``co2e_grams``, ``co2e_grams_low``, ``co2e_grams_high``, ...); timestamps are in UTC;
    names (namespace, pod, node, ...) are dictionary-encoded. ``metadata`` says what the table
    is (``greenkube.schema``), where it comes from and the reference data version.

    It implements the Arrow PyCapsule interface (``__arrow_c_stream__``), so any Arrow-aware
    library reads it directly; ``to_pandas()`` and ``to_arrow()`` need ``pyarrow``
    (``pip install 'greenkube[pandas]'``), ``to_polars()`` needs ``polars``
    (``greenkube[polars]``).

    >>> table = store.report(since="30d", group_by="namespace")  # doctest: +SKIP
    >>> table.to_pandas().sort_values("total_co2e_grams").tail(3)  # doctest: +SKIP
    """

    __slots__ = ("_native", "_columns", "_metadata")

    def __init__(self, native: Any, columns: list[str], metadata: dict[str, str]) -> None:
        self._native = native
        self._columns = list(columns)
        self._metadata = dict(metadata)

    @property
    def column_names(self) -> list[str]:
        """The column names, in order."""
        return list(self._columns)

    @property
    def metadata(self) -> dict[str, str]:
        """What the table is: ``greenkube.schema``, ``greenkube.store``, the range, ..."""
        return dict(self._metadata)

    @property
    def num_rows(self) -> int:
        """Number of rows."""
        return len(self._native)

    def __len__(self) -> int:
        return len(self._native)

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """The Arrow PyCapsule stream of the table (for Arrow-aware libraries)."""
        return self._native.__arrow_c_stream__(requested_schema)

    def to_arrow(self) -> Any:
        """The table as a ``pyarrow.Table`` (needs pyarrow 14 or later)."""
        try:
            import pyarrow
        except ImportError as missing:
            raise ImportError(
                "to_arrow() and to_pandas() need pyarrow: pip install 'greenkube[pandas]'"
            ) from missing
        return pyarrow.table(self)

    def to_pandas(self) -> Any:
        """The table as a pandas DataFrame (names as categories, timestamps in UTC)."""
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        """The table as a polars DataFrame (names as categoricals, timestamps in UTC)."""
        try:
            import polars
        except ImportError as missing:
            raise ImportError("to_polars() needs polars: pip install 'greenkube[polars]'") from missing
        frame = polars.DataFrame(self)
        if not isinstance(frame, polars.DataFrame):  # pragma: no cover - defensive
            raise TypeError("polars did not read the Arrow stream")
        return frame

    def __repr__(self) -> str:
        schema = self._metadata.get("greenkube.schema", "table")
        return f"<greenkube.Table {schema}: {self.num_rows} rows x {len(self._columns)} columns>"


class Batches:
    """Stored pod rows, streamed: Arrow record batches read from the store one page at a time.

    The stream is read once: iterate it (``for batch in store.footprints(...)`` gives
    ``pyarrow.RecordBatch`` objects, for histories that do not fit in memory), or turn it whole
    into a frame with ``to_pandas()``, ``to_polars()`` or ``to_arrow()``. Columns are flat, as
    in ``Table``: one row per pod and window, every figure with ``_low`` and ``_high``, the
    methodology and reference data version of each row. It implements the Arrow PyCapsule
    stream interface (``__arrow_c_stream__``).
    """

    __slots__ = ("_native", "_metadata")

    def __init__(self, native: Any, metadata: dict[str, str]) -> None:
        self._native = native
        self._metadata = dict(metadata)

    @property
    def metadata(self) -> dict[str, str]:
        """What the stream is: ``greenkube.schema``, the store and the range."""
        return dict(self._metadata)

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """The Arrow PyCapsule stream (read once)."""
        return self._native.__arrow_c_stream__(requested_schema)

    def _reader(self) -> Any:
        try:
            import pyarrow
        except ImportError as missing:
            raise ImportError(
                "reading batches needs pyarrow: pip install 'greenkube[pandas]'"
            ) from missing
        return pyarrow.RecordBatchReader.from_stream(self)

    def __iter__(self) -> Any:
        return iter(self._reader())

    def to_arrow(self) -> Any:
        """All the rows as one ``pyarrow.Table`` (needs pyarrow)."""
        return self._reader().read_all()

    def to_pandas(self) -> Any:
        """All the rows as one pandas DataFrame (names and reasons as categories, timestamps in
        UTC). The Arrow buffers are released column by column as the frame is built, so the
        peak is not two whole copies."""
        return self.to_arrow().to_pandas(split_blocks=True, self_destruct=True)

    def to_polars(self) -> Any:
        """All the rows as one polars DataFrame."""
        try:
            import polars
        except ImportError as missing:
            raise ImportError("to_polars() needs polars: pip install 'greenkube[polars]'") from missing
        return polars.DataFrame(self)

    def __repr__(self) -> str:
        schema = self._metadata.get("greenkube.schema", "batches")
        return f"<greenkube.Batches {schema}>"
