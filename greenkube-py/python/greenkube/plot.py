"""Figures of greenkube's results, with matplotlib (the ``plot`` extra:
``pip install "greenkube[plot]"``).

Three figures, each returned as a ``matplotlib.figure.Figure`` (shown by Jupyter when it is a
cell's value; ``fig.savefig(...)`` otherwise), each drawing every figure's uncertainty interval:

* ``co2e_over_time(report)``: a report by period (``store.report(..., period="day")``) as a
  line per group with its interval as a shaded band;
* ``by_namespace(report)``: a report's groups as horizontal bars, operational and embodied
  stacked, the interval of the total as an error bar;
* ``savings(recommendations)``: the yearly CO2e each recommendation saves, with its interval,
  and its yearly cost saving when known.

They take a ``greenkube.Table`` (or ``Batches``), a pandas or polars DataFrame with the same
columns, or, for ``savings``, the ``Recommendations`` list. Pass ``ax=`` to draw into an axes
of your own figure. Every figure ends with a caption naming the reference data version (and the
methodology when the data says it) that produced the numbers. Nothing here uses pyplot's global
state, so it works the same headless, in scripts and in notebooks.

>>> daily = store.report(since="30d", group_by="namespace", period="day")  # doctest: +SKIP
>>> greenkube.plot.co2e_over_time(daily, top=5)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import io
import sys
from collections.abc import Mapping, Sequence
from typing import Any

try:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
except ImportError as _missing:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError("greenkube.plot needs matplotlib: pip install 'greenkube[plot]'") from _missing

__all__ = ["by_namespace", "co2e_over_time", "savings"]


def _show_in_ipython() -> None:
    """Lets IPython and Jupyter show a returned figure as a PNG, as they show pyplot's: these
    figures are made without pyplot, so nothing registered a display for them otherwise."""
    ipython_module = sys.modules.get("IPython")
    if ipython_module is None:
        return
    shell = ipython_module.get_ipython()
    if shell is None:
        return
    png = shell.display_formatter.formatters["image/png"]
    try:
        png.lookup_by_type(Figure)  # pyplot's inline backend is set up: it shows them already
    except KeyError:
        png.for_type(Figure, _png)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


_show_in_ipython()

#: The key columns a report can be grouped by, in the order they name a group.
KEY_COLUMNS = ("cluster", "namespace", "workload_kind", "workload", "pod", "node")

#: Figures a plot can show, with what they measure.
FIGURES = {
    "total_co2e_grams": ("CO2e, operational + embodied", "mass"),
    "co2e_grams": ("CO2e, operational (Scope 2)", "mass"),
    "embodied_co2e_grams": ("CO2e, embodied (Scope 3)", "mass"),
    "energy_joules": ("energy (IT)", "energy"),
}

_MASS_UNITS = ((1e6, "t"), (1e3, "kg"), (1.0, "g"))
_ENERGY_UNITS = ((3.6e9, "MWh"), (3.6e6, "kWh"), (3.6e3, "Wh"), (1.0, "J"))


def _pandas() -> Any:
    try:
        import pandas  # type: ignore[import-untyped, unused-ignore]
    except ImportError as missing:
        raise ImportError(
            "greenkube.plot reads tables through pandas: pip install 'greenkube[pandas]'"
        ) from missing
    return pandas


def _frame(data: Any) -> tuple[Any, dict[str, str]]:
    """The data as a pandas DataFrame, and the metadata it carries (a greenkube table's)."""
    pandas = _pandas()
    metadata: dict[str, str] = dict(getattr(data, "metadata", None) or {})
    if isinstance(data, pandas.DataFrame):
        return data, metadata
    if hasattr(data, "to_pandas"):
        frame = data.to_pandas()
        if hasattr(data, "table") and not metadata:  # Recommendations
            metadata = dict(data.table.metadata)
        return frame, metadata
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        return pandas.DataFrame(list(data)), metadata
    raise TypeError(
        f"expected a greenkube.Table, a pandas or polars DataFrame, or a list of dicts; got "
        f"{type(data).__name__}"
    )


def _require(frame: Any, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} needs the column(s) {', '.join(missing)}; the data has: "
            f"{', '.join(map(str, frame.columns))}"
        )


def _unit(kind: str, largest: float) -> tuple[float, str]:
    """The divisor and unit that make `largest` readable (g, kg, t; J, Wh, kWh, MWh)."""
    units = _MASS_UNITS if kind == "mass" else _ENERGY_UNITS
    for divisor, name in units:
        if abs(largest) >= divisor:
            return divisor, name
    return units[-1]


def _figure_column(column: str) -> tuple[str, str]:
    if column not in FIGURES:
        raise ValueError(f"figure: expected one of {', '.join(FIGURES)}; got {column!r}")
    return FIGURES[column]


def _axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        figure = ax.get_figure()
        if not isinstance(figure, Figure):  # a subfigure's axes: draw, return its root figure
            figure = ax.get_figure(root=True)
        assert isinstance(figure, Figure)
        return figure, ax
    figure = Figure(figsize=size, layout="constrained")
    return figure, figure.add_subplot()


def _caption(figure: Figure, metadata: Mapping[str, str], extra: str) -> None:
    """What produced the numbers, under the plot."""
    parts = ["greenkube"]
    methodology = metadata.get("greenkube.methodology")
    if methodology:
        version = metadata.get("greenkube.methodology_version", "")
        parts.append(f"methodology {methodology} {version}".rstrip())
    data = metadata.get("greenkube.data_version")
    if data:
        parts.append(f"reference data {data}")
    if metadata.get("greenkube.from") and metadata.get("greenkube.to"):
        parts.append(f"{metadata['greenkube.from'][:16]} to {metadata['greenkube.to'][:16]}")
    parts.append(extra)
    figure.supxlabel(" · ".join(parts), fontsize="small", color="0.35")


def _group_labels(frame: Any) -> Any:
    """One label per row from the report's key columns (`shop/web`, `prod`, ...)."""
    keys = [c for c in KEY_COLUMNS if c in frame.columns and c != "workload_kind"]
    if not keys:
        return None
    labels = frame[keys[0]].astype(str)
    for key in keys[1:]:
        labels = labels + "/" + frame[key].astype(str)
    return labels.str.replace("None", "(none)", regex=False)


def _period_start(text: str) -> dt.datetime:
    """The start of a report period: `2026-01-01T10:00`, `2026-01-01`, `2026-W01`, `2026-01`,
    `2026`."""
    if "-W" in text:
        start = dt.datetime.strptime(text + "-1", "%G-W%V-%u")
    elif len(text) == 4:
        start = dt.datetime(int(text), 1, 1)
    elif len(text) == 7:
        start = dt.datetime.strptime(text, "%Y-%m")
    else:
        start = dt.datetime.fromisoformat(text)
    return start.replace(tzinfo=dt.timezone.utc)


def co2e_over_time(
    report: Any,
    *,
    figure: str = "total_co2e_grams",
    top: int = 6,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """A report by period as a line per group, with its uncertainty interval as a band.

    ``report`` comes from ``store.report(..., period="hour" | "day" | "week" | "month" |
    "year")`` (a ``greenkube.Table``, or a DataFrame with its columns). ``figure`` is the
    column drawn: ``total_co2e_grams`` (default), ``co2e_grams``, ``embodied_co2e_grams`` or
    ``energy_joules``; the unit (g, kg, t; Wh, kWh, MWh) follows the largest value. With
    several groups (namespaces, pods, ...), the ``top`` largest over the whole range get a line
    each and the rest are summed as "other". The band of "other" sums the bounds of its groups
    (a conservative interval: the groups' errors are not assumed independent).

    >>> greenkube.plot.co2e_over_time(store.report(since="30d", period="day"))  # doctest: +SKIP
    """
    frame, metadata = _frame(report)
    if "period" not in frame.columns:
        raise ValueError(
            "co2e_over_time needs a report by period: pass period=\"day\" (or hour, week, "
            "month, year) to store.report"
        )
    quantity, kind = _figure_column(figure)
    low, high = f"{figure}_low", f"{figure}_high"
    _require(frame, [figure, low, high], "co2e_over_time")
    pandas = _pandas()
    data = pandas.DataFrame(
        {
            "when": [_period_start(str(p)) for p in frame["period"]],
            "point": frame[figure].astype(float),
            "low": frame[low].astype(float),
            "high": frame[high].astype(float),
        }
    )
    labels = _group_labels(frame)
    data["group"] = labels.to_numpy() if labels is not None else "all"
    totals = data.groupby("group")["point"].sum().sort_values(ascending=False)
    kept = list(totals.index[: max(top, 1)])
    if len(totals) > len(kept):
        others = len(totals) - len(kept)
        data.loc[~data["group"].isin(kept), "group"] = f"other ({others})"
        kept.append(f"other ({others})")
    series = data.groupby(["group", "when"], sort=True)[["point", "low", "high"]].sum()
    divisor, unit = _unit(kind, float(series["high"].abs().max() or 0.0))

    fig, axes = _axes(ax, (10, 4.8))
    for group in kept:
        rows = series.loc[group]
        x = list(rows.index)
        (line,) = axes.plot(x, rows["point"] / divisor, label=str(group), marker="." if len(x) < 40 else None)
        axes.fill_between(x, rows["low"] / divisor, rows["high"] / divisor, color=line.get_color(), alpha=0.2, linewidth=0)
    axes.set_ylabel(f"{quantity} ({unit})")
    axes.set_ylim(bottom=0)
    axes.grid(True, alpha=0.3)
    if len(kept) > 1:
        axes.legend(loc="upper left", fontsize="small", ncols=min(len(kept), 4))
    fig.autofmt_xdate()
    axes.set_title(title or f"{quantity} per {_period_name(frame)}")
    _caption(fig, metadata, "shaded: uncertainty interval")
    return fig


def _period_name(frame: Any) -> str:
    first = str(frame["period"].iloc[0]) if len(frame) else ""
    if "-W" in first:
        return "week"
    return {4: "year", 7: "month", 10: "day"}.get(len(first), "hour")


def by_namespace(
    report: Any,
    *,
    top: int = 15,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """A report's groups as horizontal bars, largest on top: operational and embodied CO2e
    stacked, the uncertainty interval of their total as an error bar.

    ``report`` is a ``greenkube.Table`` from ``store.report(group_by="namespace")`` (or any
    grouping: the bars are its groups; a report by period is summed over its periods first).
    The ``top`` largest groups get a bar each; the rest are summed into one "other" bar, with
    their bounds summed (a conservative interval).

    >>> greenkube.plot.by_namespace(store.report(since="30d"))  # doctest: +SKIP
    """
    frame, metadata = _frame(report)
    columns = ["co2e_grams", "embodied_co2e_grams", "total_co2e_grams",
               "total_co2e_grams_low", "total_co2e_grams_high"]
    _require(frame, columns, "by_namespace")
    pandas = _pandas()
    labels = _group_labels(frame)
    data = pandas.DataFrame({c: frame[c].astype(float) for c in columns})
    data["group"] = labels.to_numpy() if labels is not None else "all"
    data = data.groupby("group")[columns].sum().sort_values("total_co2e_grams", ascending=False)
    if len(data) > max(top, 1):
        rest = data.iloc[max(top, 1):].sum()
        data = pandas.concat(
            [data.iloc[: max(top, 1)], pandas.DataFrame([rest], index=[f"other ({len(data) - top})"])]
        )
    divisor, unit = _unit("mass", float(data["total_co2e_grams_high"].max() if len(data) else 0.0))
    data = data.iloc[::-1]  # largest at the top
    names = [str(n) for n in data.index]

    fig, axes = _axes(ax, (9, max(2.5, 0.45 * len(names) + 1.5)))
    operational = data["co2e_grams"] / divisor
    embodied = data["embodied_co2e_grams"] / divisor
    axes.barh(names, operational, label="operational (Scope 2)", color="#2a7ab0")
    axes.barh(names, embodied, left=operational, label="embodied (Scope 3)", color="#9ccb86")
    total = data["total_co2e_grams"] / divisor
    axes.errorbar(
        total,
        names,
        xerr=[total - data["total_co2e_grams_low"] / divisor,
              data["total_co2e_grams_high"] / divisor - total],
        fmt="none",
        ecolor="0.2",
        capsize=3,
        label="interval of the total",
    )
    axes.set_xlabel(f"CO2e ({unit})")
    axes.set_xlim(left=0)
    axes.grid(True, axis="x", alpha=0.3)
    axes.legend(loc="lower right", fontsize="small")
    group = metadata.get("greenkube.group_by", "group")
    axes.set_title(title or f"CO2e by {group}")
    _caption(fig, metadata, "bars: point estimates; whiskers: uncertainty interval")
    return fig


def _recommendation_rows(recommendations: Any) -> Any:
    """Recommendations as a frame with the table's columns, from the list or a table."""
    pandas = _pandas()
    if isinstance(recommendations, pandas.DataFrame):
        return recommendations
    if hasattr(recommendations, "to_pandas"):
        return recommendations.to_pandas()
    rows = []
    for r in recommendations:
        low, high = r.get("savings_co2e_grams_per_year_interval") or (None, None)
        rows.append({
            "type": r.get("type"),
            "namespace": r.get("namespace"),
            "target": r.get("target"),
            "savings_co2e_grams_per_year": r.get("savings_co2e_grams_per_year"),
            "savings_co2e_grams_per_year_low": low,
            "savings_co2e_grams_per_year_high": high,
            "savings_cost_per_year": r.get("savings_cost_per_year"),
        })
    return pandas.DataFrame(rows)


def savings(
    recommendations: Any,
    *,
    top: int = 15,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """The CO2e each recommendation saves per year, largest on top, with its uncertainty
    interval as an error bar and its yearly cost saving written at the bar's end when known.

    ``recommendations`` is what ``store.recommend``, ``store.recommendations`` or
    ``greenkube.recommend`` return (or their ``.to_pandas()``). Shows the ``top`` largest.
    Without recommendations, the figure says so.

    >>> greenkube.plot.savings(store.recommend(since="7d"))  # doctest: +SKIP
    """
    frame = _recommendation_rows(recommendations)
    metadata = dict(getattr(getattr(recommendations, "table", None), "metadata", None) or {})
    fig, axes = _axes(ax, (9, 3))
    if len(frame) == 0:
        axes.text(0.5, 0.5, "no recommendations", ha="center", va="center",
                  transform=axes.transAxes, fontsize="large", color="0.4")
        axes.set_axis_off()
        axes.set_title(title or "CO2e saved per year")
        _caption(fig, metadata, "nothing to change in this range")
        return fig
    columns = ["type", "target", "savings_co2e_grams_per_year",
               "savings_co2e_grams_per_year_low", "savings_co2e_grams_per_year_high"]
    _require(frame, columns, "savings")
    data = frame.sort_values("savings_co2e_grams_per_year", ascending=False).head(max(top, 1))
    data = data.iloc[::-1]
    names = []
    for row in data.itertuples():
        namespace = getattr(row, "namespace", None)
        scoped = isinstance(namespace, str) and namespace and namespace != row.target
        where = f"{namespace}/{row.target}" if scoped else str(row.target)
        if len(where) > 40:
            where = where[:39] + "…"
        names.append(f"{str(row.type).replace('_', ' ').lower()}: {where}")
    point = data["savings_co2e_grams_per_year"].astype(float)
    divisor, unit = _unit("mass", float(data["savings_co2e_grams_per_year_high"].astype(float).max()))
    if len(fig.axes) == 1 and ax is None:
        fig.set_size_inches(10, max(2.5, 0.42 * len(names) + 1.5))
    y = list(range(len(names)))
    axes.barh(y, point / divisor, color="#3b9c6d", label="CO2e saved per year")
    axes.errorbar(
        point / divisor,
        y,
        xerr=[(point - data["savings_co2e_grams_per_year_low"].astype(float)) / divisor,
              (data["savings_co2e_grams_per_year_high"].astype(float) - point) / divisor],
        fmt="none",
        ecolor="0.2",
        capsize=3,
    )
    axes.set_yticks(y, names, fontsize="small")
    if "savings_cost_per_year" in data.columns:
        highs = data["savings_co2e_grams_per_year_high"].astype(float) / divisor
        for i, (cost, end) in enumerate(zip(data["savings_cost_per_year"], highs)):
            if cost is not None and cost == cost:  # not None, not NaN
                axes.annotate(f" {cost:,.0f}/yr", (end, i), va="center", fontsize="x-small", color="0.3")
    axes.set_xlabel(f"CO2e saved per year ({unit})")
    axes.set_xlim(left=0)
    axes.margins(x=0.15)
    axes.grid(True, axis="x", alpha=0.3)
    axes.set_title(title or "What each recommendation saves per year")
    _caption(fig, metadata, "whiskers: uncertainty interval; cost saved per year at the end")
    return fig
