"""greenkube.plot draws the numbers it is given, with their intervals, and says what made them."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

import greenkube
import greenkube.plot as gp

matplotlib.use("Agg")

END = dt.datetime(2026, 1, 3, tzinfo=dt.timezone.utc)
START = END - dt.timedelta(days=2)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> greenkube.Store:
    path = tmp_path_factory.mktemp("plot") / "demo.db"
    opened = greenkube.open(f"sqlite://{path}", create=True)
    opened.load_demo(days=2, end=END)
    return opened


def caption(fig: Figure) -> str:
    label = fig.get_supxlabel()
    assert label, "every figure says what produced it"
    return label


def test_one_series_is_a_line_with_its_band(store: greenkube.Store) -> None:
    daily = store.report(start=START, end=END, group_by="cluster", period="hour")
    frame = daily.to_pandas()
    fig = gp.co2e_over_time(daily)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    (line,) = ax.get_lines()
    # Grams: the demo's hours are tens of grams.
    assert ax.get_ylabel() == "CO2e, operational + embodied (g)"
    assert np.allclose(line.get_ydata(), frame["total_co2e_grams"].to_numpy())
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    ys = np.concatenate([p.vertices[:, 1] for p in band.get_paths()])
    assert np.isclose(ys.min(), frame["total_co2e_grams_low"].min())
    assert np.isclose(ys.max(), frame["total_co2e_grams_high"].max())
    assert greenkube.data_version() in caption(fig)
    assert "per hour" in ax.get_title()


def test_groups_beyond_top_are_summed_as_other(store: greenkube.Store) -> None:
    daily = store.report(start=START, end=END, group_by="namespace", period="day")
    frame = daily.to_pandas()
    namespaces = frame["namespace"].nunique()
    assert namespaces > 3
    fig = gp.co2e_over_time(daily, top=3, figure="energy_joules")
    lines = fig.axes[0].get_lines()
    labels = [line.get_label() for line in lines]
    assert len(lines) == 4 and labels[-1] == f"other ({namespaces - 3})"
    # Every joule is drawn once: the lines add up to the report, day by day.
    divisor = {"J": 1, "Wh": 3.6e3, "kWh": 3.6e6, "MWh": 3.6e9}[
        fig.axes[0].get_ylabel().rsplit("(", 1)[1].rstrip(")")
    ]
    drawn = sum(np.asarray(line.get_ydata(), dtype=float) for line in lines) * divisor
    per_day = frame.groupby("period", observed=True)["energy_joules"].sum().sort_index().to_numpy()
    assert np.allclose(drawn, per_day)
    biggest = frame.groupby("namespace", observed=True)["energy_joules"].sum().nlargest(3)
    assert labels[:3] == list(biggest.index)


def test_bars_are_sorted_stacked_and_carry_the_interval(store: greenkube.Store) -> None:
    report = store.report(start=START, end=END, group_by="namespace")
    frame = report.to_pandas().sort_values("total_co2e_grams")
    fig = gp.by_namespace(report)
    ax = fig.axes[0]
    operational, embodied = ax.containers[0], ax.containers[1]
    assert len(operational) == len(frame)
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == list(frame["namespace"].astype(str))  # largest on top (last)
    unit = ax.get_xlabel().rsplit("(", 1)[1].rstrip(")")
    divisor = {"g": 1, "kg": 1e3, "t": 1e6}[unit]
    widths = np.array([b.get_width() for b in operational]) * divisor
    assert np.allclose(widths, frame["co2e_grams"].to_numpy())
    stacked = np.array([b.get_x() + b.get_width() for b in embodied]) * divisor
    assert np.allclose(stacked, frame["total_co2e_grams"].to_numpy())
    # The error bars span low..high of the total.
    errors = ax.containers[2]
    (segments,) = errors.lines[2]  # the whiskers, one segment per bar
    spans = np.array([[s[0][0], s[1][0]] for s in segments.get_segments()]) * divisor
    assert np.allclose(spans[:, 0], frame["total_co2e_grams_low"].to_numpy())
    assert np.allclose(spans[:, 1], frame["total_co2e_grams_high"].to_numpy())
    assert "CO2e by namespace" == ax.get_title()


def test_bars_beyond_top_are_one_other_bar(store: greenkube.Store) -> None:
    report = store.report(start=START, end=END, group_by="namespace")
    frame = report.to_pandas()
    fig = gp.by_namespace(report, top=4)
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert len(ticks) == 5 and ticks[0] == f"other ({len(frame) - 4})"
    unit = ax.get_xlabel().rsplit("(", 1)[1].rstrip(")")
    divisor = {"g": 1, "kg": 1e3, "t": 1e6}[unit]
    total = sum(b.get_x() + b.get_width() for b in ax.containers[1]) * divisor
    assert np.isclose(total, frame["total_co2e_grams"].sum())


def test_savings_draws_each_recommendation_with_its_interval(store: greenkube.Store) -> None:
    found = store.recommend(start=START, end=END)
    assert len(found) > 5
    fig = gp.savings(found, top=5)
    ax = fig.axes[0]
    bars = ax.containers[0]
    assert len(bars) == 5
    unit = ax.get_xlabel().rsplit("(", 1)[1].rstrip(")")
    divisor = {"g": 1, "kg": 1e3, "t": 1e6}[unit]
    expected = sorted((r["savings_co2e_grams_per_year"] for r in found), reverse=True)[:5]
    assert np.allclose([b.get_width() * divisor for b in bars], expected[::-1])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    top = max(found, key=lambda r: r["savings_co2e_grams_per_year"])
    assert labels[-1].startswith(top["type"].replace("_", " ").lower())
    # The same chart from the table and from plain dicts.
    again = gp.savings(found.to_pandas(), top=5).axes[0].containers[0]
    assert [b.get_width() for b in again] == [b.get_width() for b in bars]
    plain = gp.savings([dict(r) for r in found], top=5).axes[0].containers[0]
    assert [b.get_width() for b in plain] == [b.get_width() for b in bars]


def test_no_recommendations_is_a_figure_that_says_so() -> None:
    fig = gp.savings([])
    assert [t.get_text() for t in fig.axes[0].texts] == ["no recommendations"]


def test_an_axes_passed_in_is_drawn_into(store: greenkube.Store) -> None:
    fig = Figure()
    left, right = fig.subplots(1, 2)
    report = store.report(start=START, end=END, group_by="namespace")
    assert gp.by_namespace(report, ax=right) is fig
    assert len(right.containers) == 3 and not left.containers  # two stacks, the whiskers
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue().startswith(b"\x89PNG")


def test_wrong_data_is_named(store: greenkube.Store) -> None:
    report = store.report(start=START, end=END, group_by="namespace")
    with pytest.raises(ValueError, match='period="day"'):
        gp.co2e_over_time(report)
    daily = store.report(start=START, end=END, group_by="namespace", period="day")
    with pytest.raises(ValueError, match="total_co2e_grams, co2e_grams"):
        gp.co2e_over_time(daily, figure="cost")
    with pytest.raises(ValueError, match="the data has: namespace"):
        gp.by_namespace(report.to_pandas()[["namespace", "rows"]])
    with pytest.raises(TypeError, match="DataFrame"):
        gp.by_namespace(42)


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path.cwd())


def test_matplotlib_is_optional() -> None:
    plain = run("import sys, greenkube; print('matplotlib' in sys.modules)")
    assert plain.returncode == 0 and plain.stdout.strip() == "False", plain.stderr
    missing = run("import sys; sys.modules['matplotlib'] = None; import greenkube.plot")
    assert missing.returncode != 0
    assert "greenkube.plot needs matplotlib: pip install 'greenkube[plot]'" in missing.stderr
