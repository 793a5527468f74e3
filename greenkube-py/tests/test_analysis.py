"""recommend(), what_if() and score() through Python give the core's answers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import greenkube

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "snapshots" / "cluster.json"


def history() -> list[dict[str, Any]]:
    """A day of hourly windows of the example cluster, busy from 09:00 to 18:00."""
    base = json.loads(EXAMPLE.read_text())
    start = dt.datetime(2025, 6, 2, tzinfo=dt.timezone.utc)
    out = []
    for h in range(24):
        snap = json.loads(json.dumps(base))
        ws = start + dt.timedelta(hours=h)
        snap["window_start"] = ws.isoformat()
        snap["window_end"] = (ws + dt.timedelta(hours=1)).isoformat()
        load = 1.0 if 9 <= h < 18 else 0.3
        for pod in snap["pods"]:
            if pod.get("cpu_usage_cores") is not None:
                pod["cpu_usage_cores"] *= load
        out.append(greenkube.estimate(snap))
    return out


@pytest.fixture(scope="module")
def footprints() -> list[dict[str, Any]]:
    return history()


def test_recommend_returns_priced_recommendations(footprints: list[dict[str, Any]]) -> None:
    recs = greenkube.recommend(footprints)
    assert recs, "the example has oversized requests and an idle namespace"
    for r in recs:
        low, high = r["savings_co2e_grams_per_year_interval"]
        assert 0 <= low <= r["savings_co2e_grams_per_year"] <= high
        assert r["type"] in {
            "ZOMBIE_POD", "RIGHTSIZING_CPU", "RIGHTSIZING_MEMORY", "AUTOSCALING_CANDIDATE",
            "OFF_PEAK_SCALING", "IDLE_NAMESPACE", "CARBON_AWARE_SCHEDULING", "OVERPROVISIONED_NODE",
            "UNDERUTILIZED_NODE", "REGION_SHIFT", "INSTANCE_FAMILY", "NODE_CONSOLIDATION",
        }
    assert any(r["type"] == "IDLE_NAMESPACE" and r["target"] == "legacy" for r in recs)
    ordered = [r["savings_co2e_grams_per_year"] for r in recs]
    assert ordered == sorted(ordered, reverse=True)


def test_recommend_accepts_json_lines_and_filters(footprints: list[dict[str, Any]]) -> None:
    text = "\n".join(json.dumps(f) for f in footprints)
    assert greenkube.recommend(text) == greenkube.recommend(footprints)
    staging = greenkube.recommend(footprints, namespace="staging")
    assert all(r["namespace"] in (None, "staging") for r in staging)


def test_hpa_in_inventory_is_accepted(footprints: list[dict[str, Any]]) -> None:
    inventory = {"hpas": [{"namespace": "shop", "target_kind": "Deployment", "target_name": "api"}]}
    recs = greenkube.recommend(footprints, inventory)
    assert not any(
        r["type"] == "AUTOSCALING_CANDIDATE" and r["target"] == "api" and r["namespace"] == "shop"
        for r in recs
    )


def test_what_if_no_change_and_removal(footprints: list[dict[str, Any]]) -> None:
    none = greenkube.what_if(footprints, [])
    assert none["cluster"]["savings"]["total_co2e_grams"] == 0.0
    removal = greenkube.what_if(footprints, [{"change": "remove", "namespace": "legacy"}])
    assert removal["cluster"]["savings_per_year"]["cost"] > 0
    assert removal["targets"]["savings"]["total_co2e_grams"] > 0


def test_what_if_bad_change_is_a_value_error(footprints: list[dict[str, Any]]) -> None:
    with pytest.raises(ValueError, match="teleport"):
        greenkube.what_if(footprints, [{"change": "teleport"}])


def test_score_has_seven_dimensions(footprints: list[dict[str, Any]]) -> None:
    result = greenkube.score(footprints)
    assert 0 <= result["score"] <= 100
    names = [d["name"] for d in result["dimensions"]]
    assert len(names) == 7 and "node_efficiency" in names
    assert all(d["has_data"] for d in result["dimensions"] if d["name"] == "node_efficiency")


def test_bad_history_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="history"):
        greenkube.recommend([{"schema": "nope"}])
    with pytest.raises(TypeError):
        greenkube.recommend(42)  # type: ignore[arg-type]
