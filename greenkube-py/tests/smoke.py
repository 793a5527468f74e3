"""Smoke check of an installed greenkube package (a standalone script, not a pytest module).

Run it with the interpreter of the environment the package was installed into:

    python greenkube-py/tests/smoke.py [SNAPSHOT.json]

It estimates a snapshot (by default the repository's examples/snapshots/cluster.json), loads a
day of the demo into a temporary SQLite store and reports it (as a pandas DataFrame when pandas
is importable), then prints one line. Any failure is an exception and a non-zero exit.
"""

import json
import os
import sys
import tempfile

import greenkube

here = os.path.dirname(os.path.abspath(__file__))
path = (
    sys.argv[1]
    if len(sys.argv) > 1
    else os.path.join(here, os.pardir, os.pardir, "examples", "snapshots", "cluster.json")
)
with open(path, encoding="utf-8") as f:
    text = f.read()

footprint = greenkube.estimate(text)
assert footprint["schema"] == "greenkube.footprint/v1", footprint["schema"]
expected_pods = len(json.loads(text)["pods"])
assert len(footprint["pods"]) == expected_pods, (len(footprint["pods"]), expected_pods)
total = footprint["totals"]["total_co2e_grams"]
assert isinstance(total, float) and total > 0, total

# The store is opened by a relative URL from inside a temporary directory: an absolute Windows
# path (C:\...) is no part of a URL. Cleanup errors are ignored: Windows may hold the file a
# moment after the store is closed.
cwd = os.getcwd()
with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
    os.chdir(tmp)
    try:
        with greenkube.open("sqlite://smoke.db", create=True) as store:
            store.load_demo(days=1)
            table = store.report(since="2d")
    finally:
        os.chdir(cwd)
    assert table.num_rows > 0, "the demo store reports no rows"
try:
    import pandas  # noqa: F401  (the [pandas] extra)
except ImportError:
    frame = "pandas not installed"
else:
    df = table.to_pandas()
    assert len(df) == table.num_rows, (len(df), table.num_rows)
    frame = f"pandas DataFrame {df.shape[0]}x{df.shape[1]}"

print(
    f"greenkube {greenkube.__version__} (data {greenkube.data_version()}) from"
    f" {os.path.dirname(greenkube.__file__)}: {expected_pods} pods,"
    f" {total:.3f} gCO2e; demo report {table.num_rows} rows, {frame}"
)
