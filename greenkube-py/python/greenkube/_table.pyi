"""Types of ``greenkube._table`` (the DataFrame libraries are optional extras)."""

from collections.abc import Iterator
from typing import Any

import pandas  # type: ignore[import-untyped, unused-ignore]
import polars
import pyarrow  # type: ignore[import-untyped, unused-ignore]

class Table:
    """A tabular result of greenkube, held as an Arrow table built in Rust; flat columns (every
    figure with ``_low`` and ``_high``), UTC timestamps, dictionary-encoded names."""

    def __init__(self, native: Any, columns: list[str], metadata: dict[str, str]) -> None: ...
    @property
    def column_names(self) -> list[str]:
        """The column names, in order."""
    @property
    def metadata(self) -> dict[str, str]:
        """What the table is: ``greenkube.schema``, ``greenkube.store``, the range, ..."""
    @property
    def num_rows(self) -> int:
        """Number of rows."""
    def __len__(self) -> int: ...
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """The Arrow PyCapsule stream of the table."""
    def to_arrow(self) -> pyarrow.Table:
        """The table as a ``pyarrow.Table`` (needs pyarrow 14 or later)."""
    def to_pandas(self) -> pandas.DataFrame:
        """The table as a pandas DataFrame (names as categories, timestamps in UTC)."""
    def to_polars(self) -> polars.DataFrame:
        """The table as a polars DataFrame (names as categoricals, timestamps in UTC)."""

class Batches:
    """Stored pod rows streamed as Arrow record batches, one store page at a time (read once)."""

    def __init__(self, native: Any, metadata: dict[str, str]) -> None: ...
    @property
    def metadata(self) -> dict[str, str]:
        """What the stream is: ``greenkube.schema``, the store and the range."""
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """The Arrow PyCapsule stream (read once)."""
    def __iter__(self) -> Iterator[pyarrow.RecordBatch]: ...
    def to_arrow(self) -> pyarrow.Table:
        """All the rows as one ``pyarrow.Table``."""
    def to_pandas(self) -> pandas.DataFrame:
        """All the rows as one pandas DataFrame."""
    def to_polars(self) -> polars.DataFrame:
        """All the rows as one polars DataFrame."""
