"""collect_window: one window from a real Prometheus (started by scripts/test-python.sh or
scripts/test.sh, with the fixed synthetic history of scripts/gen-prometheus-history.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import greenkube

AT = "2024-01-01T01:00:00Z"  # the window [00:55, 01:00) of the synthetic history


@pytest.fixture(scope="module")
def prometheus() -> str:
    url = os.environ.get("GREENKUBE_TEST_PROMETHEUS_URL")
    if not url:
        pytest.fail(
            "GREENKUBE_TEST_PROMETHEUS_URL is not set: run scripts/test-python.sh (it starts the "
            "test Prometheus) or eval \"$(scripts/prometheus-service.sh start)\" first"
        )
    return url


def test_a_window_from_prometheus(prometheus: str) -> None:
    window = greenkube.collect_window(prometheus, no_kubernetes=True, at=AT, cluster="e2e")
    assert isinstance(window, greenkube.CollectedWindow)
    snapshot, footprint = window
    assert snapshot["schema"] == "greenkube.snapshot/v1"
    assert snapshot["window_start"] == "2024-01-01T00:55:00Z"
    assert snapshot["window_end"] == "2024-01-01T01:00:00Z"
    assert snapshot["cluster"] == "e2e"
    pods = {(p["namespace"], p["name"]): p for p in snapshot["pods"]}
    # The web and proxy containers only, not the pause container or the pod cgroup.
    assert pods[("default", "web-1")]["cpu_usage_cores"] == 0.375
    assert pods[("default", "web-1")]["memory_usage_bytes"] == 250 * 1024 * 1024
    assert window.degraded == [] and window.stored is None
    assert isinstance(footprint, greenkube.Footprint)
    assert footprint["window_start"] == "2024-01-01T00:55:00Z"
    frame = footprint.pods.to_pandas()
    assert len(frame) == len(snapshot["pods"]) == 6
    assert set(frame["cluster"]) == {"e2e"}
    web1 = frame[(frame["namespace"] == "default") & (frame["pod"] == "web-1")].iloc[0]
    assert web1["cpu_usage_cores"] == 0.375 and web1["total_co2e_grams"] > 0
    assert "2024-01-01T00:55:00Z" in repr(window)


def test_a_window_kept_in_a_store_is_there_once(prometheus: str, tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'gk.db'}"
    with greenkube.open(url, create=True) as store:
        for _ in range(2):  # collecting the same window again replaces it
            window = greenkube.collect_window(prometheus, no_kubernetes=True, at=AT, store=store)
            assert window.stored is not None and "gk.db" in window.stored
        rows = store.footprints(start="2024-01-01T00:00:00Z", end="2024-01-01T02:00:00Z").to_pandas()
    assert len(rows) == 6
    assert set(rows["window_start"].astype(str)) == {"2024-01-01 00:55:00+00:00"}


def test_a_failing_source_is_named_on_the_rows(prometheus: str) -> None:
    window = greenkube.collect_window(
        prometheus, no_kubernetes=True, at=AT, opencost_url="http://127.0.0.1:9", timeout=2
    )
    assert [d["source"] for d in window.degraded] == ["opencost"]
    frame = window.footprint.pods.to_pandas()
    assert frame["cost"].isna().all()
    assert frame["estimation_reasons"].str.contains("opencost", case=False).all()


def test_an_unreachable_prometheus_is_a_source_error_without_the_password() -> None:
    with pytest.raises(greenkube.SourceError) as caught:
        greenkube.collect_window(
            "http://scraper:s3cret-pass@127.0.0.1:9", no_kubernetes=True, at=AT, timeout=1
        )
    assert caught.value.source == "prometheus"
    message = str(caught.value)
    assert "127.0.0.1:9" in message and "s3cret-pass" not in message


def test_bad_arguments_say_which() -> None:
    with pytest.raises(ValueError, match="timeout"):
        greenkube.collect_window("http://127.0.0.1:9", no_kubernetes=True, timeout=0)
    with pytest.raises(ValueError, match="step"):
        greenkube.collect_window("http://127.0.0.1:9", no_kubernetes=True, step="soon")
    with pytest.raises(ValueError, match="at"):
        greenkube.collect_window("http://127.0.0.1:9", no_kubernetes=True, at="yesterday-ish")
    with pytest.raises(ValueError, match="methodology"):
        greenkube.collect_window("http://127.0.0.1:9", no_kubernetes=True, methodology="vibes")
