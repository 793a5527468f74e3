"""The Python binding: same numbers as the core, the contracts, errors, and the GIL."""

from __future__ import annotations

import ast
import copy
import datetime as dt
import doctest
import json
import math
import pickle
import re
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest

import greenkube
from greenkube import _native

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_SNAPSHOT = REPO / "examples" / "snapshots" / "cluster.json"

WINDOW_START = "2025-06-02T10:00:00Z"
WINDOW_END = "2025-06-02T10:05:00Z"  # 300 s


def snapshot(*pods: dict[str, Any], **nodes_and_more: Any) -> dict[str, Any]:
    """One AWS m5.large node in eu-west-3 (unless `nodes` is given) and the given pods on it."""
    doc: dict[str, Any] = {
        "schema": "greenkube.snapshot/v1",
        "window_start": WINDOW_START,
        "window_end": WINDOW_END,
        "nodes": [
            {
                "name": "node-1",
                "provider": "aws",
                "instance_type": "m5.large",
                "region": "eu-west-3",
            }
        ],
        "pods": list(pods),
    }
    doc.update(nodes_and_more)
    return doc


def pod(name: str, cpu: float | None = None, **more: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"namespace": "shop", "name": name, "node": "node-1"}
    if cpu is not None:
        row["cpu_usage_cores"] = cpu
    row.update(more)
    return row


def cluster_snapshot() -> dict[str, Any]:
    """A small mixed cluster: several providers, known and unknown types, costs, embodied."""
    return {
        "schema": "greenkube.snapshot/v1",
        "cluster": "prod-eu",
        "window_start": WINDOW_START,
        "window_end": WINDOW_END,
        "nodes": [
            {
                "name": "aws-1",
                "provider": "aws",
                "instance_type": "m5.xlarge",
                "region": "eu-west-3",
                "cpu_capacity_cores": 4,
                "memory_capacity_bytes": 16 * 2**30,
            },
            {
                "name": "gcp-1",
                "provider": "gcp",
                "instance_type": "n2-standard-8",
                "region": "europe-west1",
                "labels": {"topology.kubernetes.io/zone": "europe-west1-b"},
            },
            {
                "name": "onprem-1",
                "cpu_capacity_cores": 16,
                "memory_capacity_bytes": 64 * 2**30,
            },
        ],
        "pods": [
            {
                "namespace": "shop",
                "name": "web-1",
                "node": "aws-1",
                "owner_kind": "ReplicaSet",
                "owner_name": "web-7d9f",
                "cpu_usage_cores": 0.8,
                "cpu_request_cores": 1.0,
                "memory_usage_bytes": 900 * 2**20,
                "memory_request_bytes": 2**30,
                "restarts": 0,
            },
            {
                "namespace": "shop",
                "name": "db-0",
                "node": "gcp-1",
                "owner_kind": "StatefulSet",
                "owner_name": "db",
                "cpu_usage_cores": 2.5,
                "cpu_request_cores": 4.0,
                "memory_usage_bytes": 12 * 2**30,
                "memory_request_bytes": 16 * 2**30,
            },
            {"namespace": "batch", "name": "job-1", "node": "onprem-1", "cpu_usage_cores": 6.0},
            {"namespace": "batch", "name": "idle-1", "node": "onprem-1"},
            {"namespace": "orphans", "name": "lost-1", "node": "gone-1", "cpu_usage_cores": 0.1},
        ],
        "grid_intensity": {"FR": 31.5},
        "costs": [
            {"namespace": "shop", "pod": "web-1", "cost": 0.0125},
            {"namespace": "shop", "pod": "db-0", "cost": 0.09},
        ],
        "embodied": [{"provider": "aws", "instance_type": "m5.xlarge", "kgco2e": 1200.0}],
    }


def large_snapshot(pods: int) -> dict[str, Any]:
    nodes = max(1, pods // 20)
    return {
        "schema": "greenkube.snapshot/v1",
        "window_start": WINDOW_START,
        "window_end": WINDOW_END,
        "nodes": [
            {"name": f"n{i}", "provider": "aws", "instance_type": "m5.xlarge", "region": "eu-west-3"}
            for i in range(nodes)
        ],
        "pods": [
            {
                "namespace": f"ns{i % 50}",
                "name": f"p{i}",
                "node": f"n{i % nodes}",
                "cpu_usage_cores": 0.01 * (i % 40),
                "cpu_request_cores": 0.2,
                "memory_usage_bytes": 1e8,
                "memory_request_bytes": 2e8,
            }
            for i in range(pods)
        ],
    }


def assert_snapshot_error(doc: Any, field: str | None, *words: str) -> greenkube.SnapshotError:
    with pytest.raises(greenkube.SnapshotError) as info:
        greenkube.estimate(doc)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.field == field, str(err)
    for word in words:
        assert word in str(err), str(err)
    return err


# Golden numbers: the core's, through Python.


def test_classic_single_pod_matches_greenkube() -> None:
    # m5.large: 2 vCPU, AWS 0.74..3.5 W per vCPU; 0.5 cores is 25 % for 300 s:
    # 2 x (0.74 + 0.25 x 2.76) W x 300 s = 858 J.
    footprint = greenkube.estimate(snapshot(pod("web-1", 0.5)), "classic")
    row = footprint["pods"][0]
    assert row["energy_joules"] == pytest.approx(858.0, abs=1e-9)
    assert row["zone"] == "FR"
    assert row["grid_intensity"] == 26
    assert row["provider"] == "aws"
    assert row["instance_type"] == "m5.large"
    assert footprint["totals"]["energy_joules"] == pytest.approx(858.0, abs=1e-9)


def test_classic_two_pods_share_by_cpu() -> None:
    footprint = greenkube.estimate(snapshot(pod("web-1", 0.5), pod("web-2", 0.3)), "classic")
    energies = [row["energy_joules"] for row in footprint["pods"]]
    assert energies[0] == pytest.approx(691.5, abs=1e-9)
    assert energies[1] == pytest.approx(414.9, abs=1e-9)
    assert [row["pod"] for row in footprint["pods"]] == ["web-1", "web-2"]


def test_operational_emissions_follow_the_formula() -> None:
    footprint = greenkube.estimate(snapshot(pod("web-1", 0.5)), "classic")
    row = footprint["pods"][0]
    expected = row["energy_joules"] / 3.6e6 * row["pue"] * row["grid_intensity"]
    assert row["co2e_grams"] == pytest.approx(expected, rel=1e-12)
    assert row["total_co2e_grams"] == pytest.approx(
        row["co2e_grams"] + row["embodied_co2e_grams"], rel=1e-12
    )


# Inputs.


@pytest.mark.parametrize("methodology", ["classic", "full"])
def test_dict_and_json_text_give_identical_results(methodology: str) -> None:
    doc = cluster_snapshot()
    from_dict = greenkube.estimate(doc, methodology)
    from_text = greenkube.estimate(json.dumps(doc), methodology)
    assert from_dict == from_text
    assert json.dumps(from_dict) == json.dumps(from_text)


def test_input_is_not_modified() -> None:
    doc = cluster_snapshot()
    before = copy.deepcopy(doc)
    greenkube.estimate(doc)
    assert doc == before


def test_other_mappings_tuples_and_aware_datetimes_are_accepted() -> None:
    doc = snapshot(pod("web-1", 0.5), pod("web-2", 0.3))
    expected = greenkube.estimate(doc)
    variant = dict(doc)
    variant["window_start"] = dt.datetime(2025, 6, 2, 10, 0, tzinfo=dt.timezone.utc)
    variant["window_end"] = dt.datetime(2025, 6, 2, 12, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    variant["pods"] = tuple(types.MappingProxyType(p) for p in doc["pods"])
    assert greenkube.estimate(types.MappingProxyType(variant)) == expected


def test_integers_are_numbers() -> None:
    assert greenkube.estimate(snapshot(pod("web-1", 1))) == greenkube.estimate(
        snapshot(pod("web-1", 1.0))
    )


def test_not_a_mapping_or_text_is_a_type_error() -> None:
    for bad in ([], 42, None, b"{}"):
        with pytest.raises(TypeError, match="dict or a JSON string"):
            greenkube.estimate(bad)  # type: ignore[arg-type]


# Methodologies and options.


def test_methodologies_are_listed_with_versions() -> None:
    listed = greenkube.methodologies()
    assert [m["name"] for m in listed] == ["classic", "full"]
    for m in listed:
        assert re.fullmatch(r"\d+\.\d+\.\d+", m["version"])
        assert m["summary"]
        footprint = greenkube.estimate(snapshot(pod("web-1", 0.5)), m["name"])
        assert footprint["methodology"]["name"] == m["name"]
        assert footprint["methodology"]["version"] == m["version"]


def test_default_methodology_is_full() -> None:
    doc = snapshot(pod("web-1", 0.5))
    assert greenkube.estimate(doc)["methodology"]["name"] == "full"
    assert greenkube.estimate(doc) == greenkube.estimate(doc, "full")
    assert greenkube.estimate(doc, "CLASSIC") == greenkube.estimate(doc, "classic")


def test_unknown_methodology_is_a_value_error_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="classic, full") as info:
        greenkube.estimate(snapshot(pod("web-1", 0.5)), "fancy")
    assert not isinstance(info.value, greenkube.SnapshotError)
    assert "fancy" in str(info.value)


def test_unknown_idle_policy_is_a_value_error_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="request, usage, even, overhead"):
        greenkube.estimate(snapshot(pod("web-1", 0.5)), idle_policy="sometimes")


@pytest.mark.parametrize("policy", ["request", "usage", "even", "overhead"])
def test_idle_policies(policy: str) -> None:
    footprint = greenkube.estimate(cluster_snapshot(), idle_policy=policy)
    assert footprint["methodology"]["idle_policy"] == policy
    node_energy = sum(n["energy_joules"] for n in footprint["nodes"])
    assert footprint["totals"]["energy_joules"] == pytest.approx(node_energy, rel=1e-9)


def test_default_zone_and_intensity() -> None:
    doc = snapshot(pod("web-1", 0.5), nodes=[{"name": "node-1", "cpu_capacity_cores": 4}])
    assert greenkube.estimate(doc)["pods"][0]["zone"] is None
    assert greenkube.estimate(doc, default_zone="FR")["pods"][0]["zone"] == "FR"
    row = greenkube.estimate(doc, default_intensity=123.0)["pods"][0]
    assert row["grid_intensity"] == 123.0
    assert row["estimated"] is True


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0])
def test_bad_default_intensity_is_a_value_error(bad: float) -> None:
    with pytest.raises(ValueError, match="default_intensity"):
        greenkube.estimate(snapshot(pod("web-1", 0.5)), default_intensity=bad)


# The footprint contract.


@pytest.mark.parametrize("methodology", ["classic", "full"])
def test_footprint_contract(methodology: str) -> None:
    footprint = greenkube.estimate(cluster_snapshot(), methodology)
    assert footprint["schema"] == "greenkube.footprint/v1"
    assert footprint["methodology"]["data_version"] == greenkube.data_version()
    assert footprint["cluster"] == "prod-eu"
    assert footprint["window_start"].startswith("2025-06-02T10:00:00")
    assert footprint["window_end"].startswith("2025-06-02T10:05:00")
    assert set(footprint) >= {"pods", "nodes", "totals", "warnings"}
    assert [(p["namespace"], p["pod"]) for p in footprint["pods"]] == [
        (p["namespace"], p["name"]) for p in cluster_snapshot()["pods"]
    ]
    for row in footprint["pods"]:
        for key in (
            "namespace", "pod", "node", "zone", "provider", "instance_type", "owner_kind",
            "owner_name", "cpu_usage_cores", "cpu_request_cores", "memory_usage_bytes",
            "memory_request_bytes", "energy_joules", "co2e_grams", "embodied_co2e_grams",
            "total_co2e_grams", "cost", "pue", "grid_intensity", "estimated",
            "estimation_reasons", "uncertainty",
        ):  # fmt: skip
            assert key in row, key
        assert isinstance(row["estimated"], bool)
        assert all(isinstance(reason, str) for reason in row["estimation_reasons"])
        for figure in ("energy_joules", "co2e_grams", "embodied_co2e_grams"):
            low, high = row["uncertainty"][figure]
            assert low <= row[figure] <= high, (row["pod"], figure)
            assert math.isfinite(low) and math.isfinite(high)
    by_pod = {p["pod"]: p for p in footprint["pods"]}
    assert by_pod["web-1"]["cost"] == 0.0125
    assert by_pod["job-1"]["cost"] is None
    assert by_pod["web-1"]["owner_kind"] == "ReplicaSet"


def test_result_is_plain_python_and_json_serialisable() -> None:
    footprint = greenkube.estimate(cluster_snapshot())

    def check_plain(value: Any) -> None:
        """Fails on anything JSON does not have (tuples included: intervals are lists)."""
        if isinstance(value, dict):
            assert all(type(k) is str for k in value)
            for v in value.values():
                check_plain(v)
        elif isinstance(value, list):
            for v in value:
                check_plain(v)
        else:
            assert type(value) in (str, int, float, bool, type(None)), type(value)

    check_plain(footprint)
    assert json.loads(json.dumps(footprint, allow_nan=False)) == footprint


def test_pod_row_keys_follow_the_contract_order() -> None:
    row = greenkube.estimate(snapshot(pod("web-1", 0.5)))["pods"][0]
    keys = list(row)
    assert keys[:6] == ["namespace", "pod", "node", "zone", "provider", "instance_type"]
    assert keys.index("energy_joules") < keys.index("co2e_grams") < keys.index("uncertainty")


# Errors.


def test_snapshot_error_is_a_value_error() -> None:
    assert issubclass(greenkube.SnapshotError, ValueError)
    assert greenkube.SnapshotError is _native.SnapshotError
    assert greenkube.SnapshotError("made in Python").field is None


def test_unknown_field_is_named() -> None:
    err = assert_snapshot_error(snapshot(pod("web-1", 0.5, bogus=1)), "pods[0].bogus", "bogus")
    assert "unknown field" in str(err)


def test_unknown_field_is_named_from_json_text() -> None:
    text = json.dumps(snapshot(pod("web-1", 0.5), pod("web-2", 0.1, bogus=1)))
    assert_snapshot_error(text, "pods[1].bogus", "unknown field")


def test_unknown_top_level_field_is_named() -> None:
    assert_snapshot_error(snapshot(pod("web-1", 0.5), extra=True), "extra")


@pytest.mark.parametrize(
    ("value", "words"),
    [(math.nan, ["NaN", "finite"]), (math.inf, ["inf", "finite"]), (-math.inf, ["finite"])],
)
def test_non_finite_usage_is_named(value: float, words: list[str]) -> None:
    assert_snapshot_error(snapshot(pod("web-1", value)), "pods[0].cpu_usage_cores", *words)


def test_nan_deep_in_the_document_is_named() -> None:
    doc = snapshot(pod("web-1", 0.5), grid_intensity={"FR": math.nan})
    assert_snapshot_error(doc, "grid_intensity.FR", "NaN")


def test_negative_usage_is_named() -> None:
    doc = snapshot(pod("web-1", 0.5), pod("web-2", 0.1, memory_usage_bytes=-5))
    assert_snapshot_error(doc, "pods[1].memory_usage_bytes", "negative")
    assert_snapshot_error(json.dumps(doc), "pods[1].memory_usage_bytes", "negative")


def test_window_ending_before_it_starts_is_named() -> None:
    doc = snapshot(pod("web-1", 0.5), window_end="2025-06-02T09:55:00Z")
    assert_snapshot_error(doc, "window_end", "before")


def test_empty_window_is_named() -> None:
    assert_snapshot_error(snapshot(window_end=WINDOW_START), "window_end", "empty")


def test_wrong_type_is_named() -> None:
    assert_snapshot_error(snapshot(pod("web-1", "lots")), "pods[0].cpu_usage_cores")


def test_wrong_schema_is_named() -> None:
    assert_snapshot_error(snapshot(schema="greenkube.snapshot/v9"), "schema", "v9")


def test_duplicate_pod_is_named() -> None:
    assert_snapshot_error(snapshot(pod("web-1", 0.5), pod("web-1", 0.2)), "pods[1]", "duplicate")


def test_invalid_json_text() -> None:
    with pytest.raises(greenkube.SnapshotError) as info:
        greenkube.estimate(json.dumps(snapshot(pod("web-1", 0.5)))[:-3])
    assert "line 1" in str(info.value)


def test_naive_datetime_is_refused() -> None:
    doc = snapshot(pod("web-1", 0.5), window_start=dt.datetime(2025, 6, 2, 10))
    assert_snapshot_error(doc, "window_start", "timezone")


def test_non_json_python_values_are_named() -> None:
    assert_snapshot_error(snapshot(pod("web-1") | {"name": b"web"}), "pods[0].name", "bytes")
    assert_snapshot_error(snapshot({1: "x"}), "pods[0]", "keys must be strings")


def test_self_containing_document_is_refused() -> None:
    doc: dict[str, Any] = snapshot()
    doc["nodes"] = [doc]
    with pytest.raises(greenkube.SnapshotError, match="nested deeper"):
        greenkube.estimate(doc)


def test_snapshot_error_survives_pickling() -> None:
    with pytest.raises(greenkube.SnapshotError) as info:
        greenkube.estimate(snapshot(pod("web-1", -1.0)))
    copy_ = pickle.loads(pickle.dumps(info.value))
    assert type(copy_) is greenkube.SnapshotError
    assert copy_.field == "pods[0].cpu_usage_cores"
    assert str(copy_) == str(info.value)


# The GIL.


def test_estimate_releases_the_gil() -> None:
    # Made once, as JSON text, so the call is almost all Rust. While a worker thread runs it,
    # this thread counts. time.sleep(0) hands the GIL over every turn, so the count advances
    # only while the worker does not hold the GIL: if estimate held it, the count would stand
    # still from the worker's first read to its last.
    text = json.dumps(large_snapshot(20_000))
    counter = 0
    seen: dict[str, Any] = {}

    def work() -> None:
        seen["before"] = counter
        started = time.perf_counter()
        seen["footprint"] = greenkube.estimate(text)
        seen["seconds"] = time.perf_counter() - started
        seen["after"] = counter

    worker = threading.Thread(target=work)
    worker.start()
    while worker.is_alive():
        counter += 1
        time.sleep(0)
    worker.join()
    assert len(seen["footprint"]["pods"]) == 20_000
    advanced = seen["after"] - seen["before"]
    assert advanced >= 20, f"counter advanced {advanced} times in {seen['seconds']:.3f} s"


def test_threads_get_the_same_answers() -> None:
    docs = [snapshot(pod("web-1", 0.1 * (i + 1))) for i in range(8)]
    expected = [greenkube.estimate(doc) for doc in docs]
    results: list[Any] = [None] * len(docs)

    def work(i: int) -> None:
        results[i] = greenkube.estimate(json.dumps(docs[i]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(docs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == expected


# The example snapshot, the package surface and its docs.


def test_example_cluster_snapshot_estimates() -> None:
    if EXAMPLE_SNAPSHOT.exists():
        text = EXAMPLE_SNAPSHOT.read_text(encoding="utf-8")
    else:  # The same kind of cluster, built here.
        text = json.dumps(cluster_snapshot())
    doc = json.loads(text)
    for methodology in ("classic", "full"):
        footprint = greenkube.estimate(text, methodology)
        assert footprint == greenkube.estimate(doc, methodology)
        assert len(footprint["pods"]) == len(doc.get("pods") or [])
        assert footprint["totals"]["energy_joules"] > 0
        for row in footprint["pods"]:
            low, high = row["uncertainty"]["energy_joules"]
            assert low <= row["energy_joules"] <= high


def test_versions() -> None:
    cargo = (REPO / "Cargo.toml").read_text(encoding="utf-8")
    match = re.search(r'\[workspace\.package\][^\[]*?\nversion = "([^"]+)"', cargo)
    assert match, "workspace version not found"
    assert greenkube.__version__ == match.group(1)
    assert re.fullmatch(r"gkdata-[0-9a-f]{12}", greenkube.data_version())


def test_stub_declares_exactly_the_module() -> None:
    stub = Path(greenkube.__file__).with_name("_native.pyi")
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    declared = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            declared.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            declared.add(node.target.id)
    public = {name for name in declared if not name.startswith("_") or name.startswith("__")}
    assert public == set(_native.__all__)
    # The package adds its pure-Python classes (tables and results) and hides the native
    # `Outcome` (held by the results).
    pure = {"Table", "Batches", "Footprint", "Recommendations", "WhatIf", "Score", "CollectedWindow"}
    assert set(greenkube.__all__) == (set(_native.__all__) - {"Outcome"}) | pure
    assert Path(greenkube.__file__).with_name("py.typed").exists()


def test_package_docstring_examples() -> None:
    result = doctest.testmod(greenkube, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0
