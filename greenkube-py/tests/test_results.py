"""Results are documents and tables at once: estimate, recommend, what_if, score, restate."""

from __future__ import annotations

import copy
import datetime as dt
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

import greenkube

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "snapshots" / "cluster.json"
END = dt.datetime(2026, 1, 3, tzinfo=dt.timezone.utc)


def history() -> list[greenkube.Footprint]:
    """Twelve hourly windows of the example cluster, busy from 09:00."""
    base = json.loads(EXAMPLE.read_text())
    start = dt.datetime(2025, 6, 2, 6, tzinfo=dt.timezone.utc)
    out = []
    for h in range(12):
        snap = copy.deepcopy(base)
        ws = start + dt.timedelta(hours=h)
        snap["window_start"] = ws.isoformat()
        snap["window_end"] = (ws + dt.timedelta(hours=1)).isoformat()
        for pod in snap["pods"]:
            if pod.get("cpu_usage_cores") is not None:
                pod["cpu_usage_cores"] *= 1.0 if h >= 3 else 0.3
        out.append(greenkube.estimate(snap))
    return out


@pytest.fixture(scope="module")
def footprints() -> list[greenkube.Footprint]:
    return history()


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def test_a_footprint_is_still_its_document() -> None:
    fp = greenkube.estimate(EXAMPLE.read_text())
    assert isinstance(fp, dict) and isinstance(fp, greenkube.Footprint)
    assert fp["schema"] == "greenkube.footprint/v1"
    assert "uncertainty" in fp["pods"][0]
    # JSON, copies and pickles are the plain document.
    assert json.loads(json.dumps(fp)) == json.loads(json.dumps(dict(fp)))
    assert type(pickle.loads(pickle.dumps(fp))) is dict
    assert pickle.loads(pickle.dumps(fp)) == dict(fp)
    assert type(copy.deepcopy(fp)) is dict


def test_footprint_pods_table_has_the_documents_figures_flat() -> None:
    fp = greenkube.estimate(EXAMPLE.read_text(), "classic")
    pods = fp.pods
    assert isinstance(pods, greenkube.Table)
    assert pods.metadata["greenkube.schema"] == "greenkube.pod_rows/v1"
    assert pods.metadata["greenkube.methodology"] == "classic"
    assert pods.metadata["greenkube.data_version"] == greenkube.data_version()
    frame = pods.to_pandas()
    assert len(frame) == len(fp["pods"]) == 30
    assert str(frame["namespace"].dtype) == "category"
    assert str(frame["window_start"].dtype) == "datetime64[us, UTC]"
    by_pod = {(p["namespace"], p["pod"]): p for p in fp["pods"]}
    for row in frame.itertuples():
        doc = by_pod[(row.namespace, row.pod)]
        assert close(row.co2e_grams, doc["co2e_grams"])
        low, high = doc["uncertainty"]["total_co2e_grams"]
        assert close(row.total_co2e_grams_low, low) and close(row.total_co2e_grams_high, high)
        assert row.estimated == doc["estimated"]
        assert row.methodology == "classic"
    assert (frame["energy_joules_low"] <= frame["energy_joules"]).all()
    assert (frame["energy_joules"] <= frame["energy_joules_high"]).all()


def test_footprint_nodes_table_adds_up_with_the_pods() -> None:
    fp = greenkube.estimate(EXAMPLE.read_text())
    nodes = fp.nodes.to_pandas()
    pods = fp.pods.to_pandas()
    assert len(nodes) == len(fp["nodes"])
    # Energy is conserved: what the pods carry plus what no pod carries is the nodes' energy.
    carried = pods["energy_joules"].sum() + nodes["overhead_energy_joules"].sum()
    assert close(carried, nodes["energy_joules"].sum())
    assert close(nodes["energy_joules"].sum(), fp["totals"]["energy_joules"])
    assert set(nodes["node"].dropna()) <= {n["node"] for n in fp["nodes"]}
    assert nodes["utilisation"].between(0, 1).all()


def test_recommendations_table_matches_the_list(footprints: list[greenkube.Footprint]) -> None:
    recs = greenkube.recommend(footprints)
    assert isinstance(recs, list) and isinstance(recs, greenkube.Recommendations)
    assert len(recs) > 0
    frame = recs.to_pandas()
    assert list(frame["id"]) == [r["id"] for r in recs]
    assert list(frame["type"]) == [r["type"] for r in recs]
    assert list(frame["target"]) == [r["target"] for r in recs]
    for row, r in zip(frame.itertuples(), recs):
        low, high = r["savings_co2e_grams_per_year_interval"]
        assert close(row.savings_co2e_grams_per_year, r["savings_co2e_grams_per_year"])
        assert close(row.savings_co2e_grams_per_year_low, low)
        assert close(row.savings_co2e_grams_per_year_high, high)
    assert recs.table.metadata["greenkube.schema"] == "greenkube.recommendations/v1"
    assert recs.to_polars().height == len(recs)
    assert type(pickle.loads(pickle.dumps(recs))) is list
    # A footprint passes back in as history: the subclasses are dicts.
    assert greenkube.recommend([dict(f) for f in footprints]) == recs


def test_what_if_table_is_baseline_projection_savings(footprints: list[greenkube.Footprint]) -> None:
    result = greenkube.what_if(footprints, [{"change": "remove", "namespace": "legacy"}])
    assert isinstance(result, greenkube.WhatIf)
    frame = result.table.to_pandas()
    assert len(frame) == 8
    for row in frame.itertuples():
        doc = result[row.scope][row.measure]
        assert close(row.total_co2e_grams, doc["total_co2e_grams"]), (row.scope, row.measure)
    cluster = frame[frame["scope"] == "cluster"].set_index("measure")
    saved = cluster.loc["baseline", "total_co2e_grams"] - cluster.loc["projected", "total_co2e_grams"]
    assert close(saved, cluster.loc["savings", "total_co2e_grams"])
    assert cluster.loc["savings", "total_co2e_grams"] > 0
    assert result.table.metadata["greenkube.windows"] == str(result["windows"])


def test_score_table_has_the_seven_dimensions(footprints: list[greenkube.Footprint]) -> None:
    result = greenkube.score(footprints)
    assert isinstance(result, greenkube.Score)
    frame = result.table.to_pandas()
    assert list(frame["dimension"]) == [d["name"] for d in result["dimensions"]]
    assert len(frame) == 7
    assert close(frame["weight"].sum(), 1.0)
    assert list(frame["score"]) == [d["score"] for d in result["dimensions"]]
    assert float(result.table.metadata["greenkube.score"]) == result["score"]


def test_an_unknown_table_name_is_a_value_error() -> None:
    fp = greenkube.estimate(EXAMPLE.read_text())
    with pytest.raises(ValueError, match="no table `dimensions`"):
        fp._outcome.table("dimensions")


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("results") / "demo.db"
    url = f"sqlite://{path}"
    with greenkube.open(url, create=True) as store:
        store.load_demo(days=1, end=END)
    return url


def test_kept_recommendations_have_their_lifecycle_in_the_table(store_url: str) -> None:
    with greenkube.open(store_url) as store:
        found = store.recommend(start="2026-01-02", end=END, save=True)
        assert isinstance(found, greenkube.Recommendations) and found
        store.ignore(found[0]["id"], "not now")
        kept = store.recommendations("all")
    frame = kept.to_pandas()
    assert {"status", "created_at", "ignored_at", "ignored_reason"} <= set(frame.columns)
    assert str(frame["created_at"].dtype) == "datetime64[us, UTC]"
    ignored = frame[frame["id"] == found[0]["id"]].iloc[0]
    assert ignored["status"] == "ignored" and ignored["ignored_reason"] == "not now"
    assert set(frame["status"]) <= {"active", "applied", "ignored", "stale"}


def test_restate_dry_run_then_for_real(store_url: str) -> None:
    with greenkube.open(store_url) as store:
        before = store.report(start="2026-01-02", end=END, group_by="cluster").to_pandas()
        dry = store.restate(start="2026-01-02", end=END, methodology="classic", dry_run=True)
        assert dry["windows"] == 288 and dry["stored"] is False
        assert dry["methodology"] == "classic"
        dry_before = dry["before"].to_pandas()
        dry_after = dry["after"].to_pandas()
        assert close(dry_before["total_co2e_grams"].sum(), before["total_co2e_grams"].sum())
        assert not close(dry_after["total_co2e_grams"].sum(), dry_before["total_co2e_grams"].sum())
        # A dry run writes nothing.
        again = store.report(start="2026-01-02", end=END, group_by="cluster").to_pandas()
        assert close(again["total_co2e_grams"].sum(), before["total_co2e_grams"].sum())

        done = store.restate(start="2026-01-02", end=END, methodology="classic")
        assert done["stored"] is True
        after = store.report(start="2026-01-02", end=END, group_by="cluster").to_pandas()
        assert close(after["total_co2e_grams"].sum(), dry_after["total_co2e_grams"].sum())
        rows = store.footprints(start="2026-01-02", end=END).to_pandas()
        assert set(rows["methodology"]) == {"classic"}
        # Back to the default, so other tests see the demo as loaded.
        store.restate(start="2026-01-02", end=END, methodology="full")
        with pytest.raises(ValueError, match="methodology"):
            store.restate(start="2026-01-02", end=END, methodology="guess")


def test_results_keep_dict_and_list_behaviour(footprints: list[greenkube.Footprint]) -> None:
    recs: list[dict[str, Any]] = greenkube.recommend(footprints)
    assert recs[:1] == [recs[0]]
    score: dict[str, Any] = greenkube.score(footprints)
    assert "dimensions" in score and json.dumps(score)


def test_what_if_and_score_read_a_store_range(store_url: str) -> None:
    with greenkube.open(store_url) as store:
        found = store.recommend(start="2026-01-02", end=END)
        change = next(r for r in found if r["changes"])
        result = store.what_if(change["changes"], start="2026-01-02", end=END)
        everything = store.what_if(change["changes"], start="2026-01-02", end=END, max_windows=None)
        score = store.score(start="2026-01-02", end=END)
        nothing = store.what_if([], start="2026-01-02", end=END)
        with pytest.raises(ValueError, match="changes"):
            store.what_if([{"change": "teleport"}], start="2026-01-02", end=END)
    assert isinstance(result, greenkube.WhatIf)
    assert result["windows"] == 288 and result["windows_evaluated"] == 48
    assert everything["windows_evaluated"] == 288
    assert result["cluster"]["savings"]["total_co2e_grams"] > 0
    assert nothing["cluster"]["savings"]["total_co2e_grams"] == 0.0
    # The sampled projection is close to the full one (an even spread of a regular day).
    full = everything["cluster"]["savings_per_year"]["total_co2e_grams"]
    sampled = result["cluster"]["savings_per_year"]["total_co2e_grams"]
    assert abs(sampled - full) <= 0.25 * full
    assert isinstance(score, greenkube.Score) and 0 <= score["score"] <= 100
    assert score["windows"] == 288
    assert len(score.table) == 7
