"""Stores from Python: open, load the demo, report as tables, recommend, the lifecycle, errors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import greenkube

END = datetime(2026, 1, 2, tzinfo=timezone.utc)
START = END - timedelta(days=1)


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite store holding one day of the demo's synthetic cluster."""
    path = tmp_path_factory.mktemp("store") / "demo.db"
    url = f"sqlite://{path}"
    with greenkube.open(url, create=True) as store:
        loaded = store.load_demo(days=1, end=END)
    assert loaded["windows"] == 288
    assert loaded["pod_rows"] > 0 and loaded["co2e_grams"] > 0
    return url


def test_a_report_is_an_arrow_table_with_flat_columns(store_url: str) -> None:
    with greenkube.open(store_url) as store:
        table = store.report(start=START, end=END, group_by="namespace")
    assert isinstance(table, greenkube.Table)
    assert len(table) == table.num_rows > 3
    names = table.column_names
    assert names[:2] == ["namespace", "rows"]
    for figure in ("energy_joules", "co2e_grams", "embodied_co2e_grams", "total_co2e_grams"):
        assert {figure, f"{figure}_low", f"{figure}_high"} <= set(names)
    assert table.metadata["greenkube.schema"] == "greenkube.report/v1"
    assert table.metadata["greenkube.group_by"] == "namespace"
    assert table.metadata["greenkube.data_version"] == greenkube.data_version()
    assert "demo.db" in table.metadata["greenkube.store"]


def test_pandas_gets_categories_utc_times_and_consistent_intervals(store_url: str) -> None:
    with greenkube.open(store_url) as store:
        frame = store.report(start="2026-01-01", end="2026-01-02", group_by="pod").to_pandas()
    assert str(frame["namespace"].dtype) == "category"
    assert str(frame["pod"].dtype) == "category"
    assert str(frame["first_window"].dtype) == "datetime64[us, UTC]"
    assert (frame["total_co2e_grams_low"] <= frame["total_co2e_grams"]).all()
    assert (frame["total_co2e_grams"] <= frame["total_co2e_grams_high"]).all()
    assert frame["rows"].sum() > 0
    # Operational plus embodied is the total, row by row.
    gap = (frame["co2e_grams"] + frame["embodied_co2e_grams"] - frame["total_co2e_grams"]).abs()
    assert gap.max() < 1e-6 * frame["total_co2e_grams"].max()


def test_polars_and_pyarrow_read_the_same_table(store_url: str) -> None:
    import polars
    import pyarrow

    with greenkube.open(store_url) as store:
        table = store.report(start=START, end=END, group_by="namespace", period="hour")
    arrow = table.to_arrow()
    assert isinstance(arrow, pyarrow.Table)
    assert arrow.schema.metadata[b"greenkube.schema"] == b"greenkube.report/v1"
    assert arrow.column_names[0] == "period"
    frame = table.to_polars()
    assert isinstance(frame, polars.DataFrame)
    assert frame.shape == (arrow.num_rows, arrow.num_columns)
    assert frame.schema["first_window"] == polars.Datetime("us", "UTC")
    assert frame["total_co2e_grams"].sum() == pytest.approx(
        pyarrow.compute.sum(arrow["total_co2e_grams"]).as_py()
    )
    # 24 hours of every namespace.
    assert frame["period"].n_unique() == 24


def test_labels_filter_and_group_the_pods(store_url: str) -> None:
    import pyarrow.compute as pc

    with greenkube.open(store_url) as store:
        by_pod = store.report(start=START, end=END, group_by="pod").to_arrow()
        by_team = store.report(start=START, end=END, group_by="label:team").to_arrow()
        payments = store.report(
            start=START, end=END, group_by="namespace", labels={"team": "payments"}
        ).to_arrow()
        nobody = store.report(start=START, end=END, labels={"team": "nobody"}).to_arrow()
        with pytest.raises(ValueError, match="node overhead"):
            store.report(start=START, end=END, group_by="node", labels={"team": "payments"})
        with pytest.raises(ValueError, match="label:KEY"):
            store.report(start=START, end=END, group_by="label:")
    # The demo labels every pod with its team: the teams add up to every pod.
    assert by_team.column_names[0] == "label:team"
    teams = set(by_team["label:team"].to_pylist())
    assert {"payments", "storefront", "platform"} <= teams
    assert pc.sum(by_team["total_co2e_grams"]).as_py() == pytest.approx(
        pc.sum(by_pod["total_co2e_grams"]).as_py(), rel=1e-9
    )
    assert by_team.schema.metadata[b"greenkube.group_by"] == b"label:team"
    assert by_team.schema.metadata[b"greenkube.pods_without_labels"] == b"0"
    # The payments team's pods are in its two namespaces.
    assert set(payments["namespace"].to_pylist()) == {"payments", "auth"} & set(
        by_pod["namespace"].to_pylist()
    )
    team_row = by_team.filter(pc.equal(by_team["label:team"], "payments"))
    assert pc.sum(payments["total_co2e_grams"]).as_py() == pytest.approx(
        pc.sum(team_row["total_co2e_grams"]).as_py(), rel=1e-9
    )
    assert nobody.num_rows == 0


def test_filters_keep_one_namespace_or_cluster(store_url: str) -> None:
    with greenkube.open(store_url) as store:
        everything = store.report(start=START, end=END, group_by="pod").to_arrow()
        one = store.report(start=START, end=END, group_by="pod", namespace="catalog").to_arrow()
        demo = store.report(start=START, end=END, group_by="cluster", cluster="demo").to_arrow()
        nowhere = store.report(start=START, end=END, cluster="nowhere")
        with pytest.raises(ValueError, match="namespace filter needs a grouping"):
            store.report(start=START, end=END, group_by="node", namespace="catalog")
    assert 0 < one.num_rows < everything.num_rows
    assert set(one["namespace"].to_pylist()) == {"catalog"}
    assert demo["cluster"].to_pylist() == ["demo"]
    assert len(nowhere) == 0


def test_recommend_save_and_the_lifecycle(store_url: str) -> None:
    with greenkube.open(store_url) as store:
        found = store.recommend(start=START, end=END, save=True)
        assert found, "the demo cluster has findings"
        kept = store.recommendations("active")
        assert {r["recommendation"]["id"] for r in kept} == {r["id"] for r in found}
        first = found[0]["id"]
        applied = store.apply(first[:10])
        assert applied["status"] == "applied"
        second = found[1]["id"]
        assert store.ignore(second, "not now")["status"] == "ignored"
        assert store.unignore(second)["status"] == "active"
        statuses = {r["recommendation"]["id"]: r["status"] for r in store.recommendations()}
        assert statuses[first] == "applied" and statuses[second] == "active"
        with pytest.raises(KeyError):
            store.apply("no-such-recommendation")
        with pytest.raises(ValueError, match="status"):
            store.recommendations("done")


def test_maintain_rolls_up_without_changing_the_totals(store_url: str) -> None:
    with greenkube.open(store_url) as store:
        before = store.report(start=START, end=END, group_by="cluster").to_arrow()
        done = store.maintain(keep_raw="7d", keep_hourly="90d", keep_daily="forever")
        after = store.report(start=START, end=END, group_by="cluster").to_arrow()
    # The demo's windows are older than a week: their raw rows go (their roll-ups stay), and a
    # second pass has nothing left to do.
    assert set(done) == {
        "hours_rolled",
        "days_rolled",
        "raw_rows_deleted",
        "hourly_rows_deleted",
        "daily_rows_deleted",
    }
    assert done["raw_rows_deleted"] > 0
    assert after["total_co2e_grams"].to_pylist() == pytest.approx(
        before["total_co2e_grams"].to_pylist(), rel=1e-9
    )


def test_bad_arguments_say_which(store_url: str) -> None:
    with greenkube.open(store_url) as store:
        with pytest.raises(ValueError, match="since"):
            store.report(since="thirty days")
        with pytest.raises(ValueError, match="give either since"):
            store.report()
        with pytest.raises(ValueError, match="timezone-aware"):
            store.report(start=datetime(2026, 1, 1), end=END)
        with pytest.raises(ValueError, match="group"):
            store.report(since="1d", group_by="team")
        assert len(store.report(since=timedelta(days=3650))) > 0


def test_store_errors_are_typed_and_mask_passwords(tmp_path: Path) -> None:
    missing = f"sqlite://{tmp_path / 'missing.db'}"
    with pytest.raises(greenkube.UnavailableError) as unavailable:
        greenkube.open(missing)
    assert isinstance(unavailable.value, greenkube.StoreError)
    assert isinstance(unavailable.value, greenkube.Error)
    with pytest.raises(greenkube.InvalidDataError) as invalid:
        greenkube.open("postgres://gk:PLANTED@[broken/greenkube")
    assert isinstance(invalid.value, ValueError)
    assert "PLANTED" not in str(invalid.value)
    with pytest.raises(greenkube.UnavailableError) as unreachable:
        greenkube.open("postgres://gk:PLANTED@127.0.0.1:1/greenkube")
    assert "PLANTED" not in str(unreachable.value) and "127.0.0.1:1" in str(unreachable.value)


def test_footprint_errors_say_what_was_passed(tmp_path: Path) -> None:
    snapshot = {
        "schema": "greenkube.snapshot/v1",
        "window_start": "2025-06-02T10:00:00Z",
        "window_end": "2025-06-02T10:05:00Z",
        "nodes": [],
        "pods": [],
    }
    with pytest.raises(greenkube.FootprintError, match="this is a snapshot"):
        greenkube.recommend([snapshot])
    path = tmp_path / "history.jsonl"
    path.write_text("{}")
    with pytest.raises(greenkube.FootprintError, match="pass the file's contents"):
        greenkube.score(str(path))
    # Still ValueErrors, as before the hierarchy.
    with pytest.raises(ValueError):
        greenkube.what_if("[]", "not json")


def test_footprints_stream_pod_rows_in_batches(store_url: str) -> None:
    import pyarrow

    with greenkube.open(store_url) as store:
        # The demo's raw rows are older than a week and were rolled up by `maintain` in another
        # test; load a fresh day so raw rows exist whatever the order.
        store.load_demo(days=1, end="2026-12-01T00:00:00Z")
        stream = store.footprints(start="2026-11-30", end="2026-12-01", batch_size=500)
        assert isinstance(stream, greenkube.Batches)
        assert stream.metadata["greenkube.schema"] == "greenkube.pod_rows/v1"
        batches = list(stream)
        total = store.report(start="2026-11-30", end="2026-12-01", group_by="cluster").to_arrow()
        one = store.footprints(
            start="2026-11-30", end="2026-12-01", namespace="catalog"
        ).to_pandas()
    assert len(batches) > 1 and all(isinstance(b, pyarrow.RecordBatch) for b in batches)
    assert all(b.num_rows <= 500 for b in batches)
    rows = pyarrow.Table.from_batches(batches)
    # Every pod row the report counts, once.
    assert rows.num_rows == total["rows"].to_pylist()[0] > 0
    names = rows.column_names
    for column in ("window_start", "namespace", "pod", "co2e_grams_low", "methodology", "data_version"):
        assert column in names
    assert str(rows.schema.field("window_start").type) == "timestamp[us, tz=UTC]"
    assert set(one["namespace"].astype(str)) == {"catalog"}
    assert (one["co2e_grams_low"] <= one["co2e_grams"]).all()


def test_large_batches_read_in_parts_hold_the_same_rows(store_url: str) -> None:
    # Pages of 2,048 rows or more are read in parts on the cores, the next page while the
    # current one is taken in: the rows, their order and their values are those of small pages.
    with greenkube.open(store_url) as store:
        store.load_demo(days=1, end="2026-12-01T00:00:00Z")
        small = store.footprints(start="2026-11-30", end="2026-12-01", batch_size=500).to_arrow()
        large = store.footprints(start="2026-11-30", end="2026-12-01", batch_size=10_000)
        batches = list(large)
        # A stream left after its first batch, with the next page being read, lets the store close.
        abandoned = iter(store.footprints(start="2026-11-30", end="2026-12-01", batch_size=4_096))
        assert next(abandoned).num_rows == 4_096
    import pyarrow

    assert len(batches) >= 2 and batches[0].num_rows == 10_000
    # Compared by value: each batch has dictionaries of its own.
    assert pyarrow.Table.from_batches(batches).to_pylist() == small.to_pylist()
    with greenkube.open(store_url) as store:
        assert store.footprints(start="2026-11-30", end="2026-12-01").to_arrow().num_rows == small.num_rows
