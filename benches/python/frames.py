#!/usr/bin/env python3
"""How fast, and with how much memory, stored pod rows become a pandas or polars DataFrame.

    python benches/python/frames.py --store sqlite:///PATH/store.db [--repeat 3]

Reads every stored pod row of the store (``Store.footprints`` over the whole stored range:
Arrow record batches built in Rust, one store page at a time) into one DataFrame, with
pandas (``to_pandas()``: pyarrow, then pandas with categories) and with polars
(``to_polars()``), each in a fresh Python process so one measurement does not warm or
fragment the other. Prints, for each: the rows, the seconds (best and median of ``--repeat``
runs), the frame's own size (pandas ``memory_usage(deep=True)``, polars
``estimated_size()``), and the process's peak resident memory above what it held before the
read (``VmHWM`` minus ``VmRSS`` from /proc), and that peak as a multiple of the frame's size.

``benches/frames.sh`` builds the store (1,000,000 rows with the ``store_write`` example) and a
release build of the package, then runs this; the figures are in benches/README.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time


def status_kib(field: str) -> int:
    """A field of /proc/self/status, in KiB (VmRSS: now; VmHWM: the peak so far)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak() -> None:
    """Resets VmHWM to the current RSS (Linux 4.0+: write 5 to clear_refs)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")


def measure(url: str, library: str) -> dict[str, float]:
    """One read of every stored row into a frame, in this process."""
    import greenkube

    if library == "pandas":
        import pandas  # noqa: F401  (imported before the baseline)
        import pyarrow  # noqa: F401
    else:
        import polars  # noqa: F401

    with greenkube.open(url) as store:
        # Warm the store's own caches (SQLite pages) with a count, outside the timed read, as a
        # notebook that has just opened a store and looked at a report would have.
        store.report(since="100000d", group_by="cluster")
        reset_peak()
        before = status_kib("VmRSS")
        started = time.perf_counter()
        rows = store.footprints(since="100000d")
        if library == "pandas":
            frame = rows.to_pandas()
            seconds = time.perf_counter() - started
            size = int(frame.memory_usage(deep=True).sum())
            count = len(frame)
        else:
            frame = rows.to_polars()
            seconds = time.perf_counter() - started
            size = int(frame.estimated_size())
            count = frame.height
        peak = (status_kib("VmHWM") - before) * 1024
    return {"rows": count, "seconds": seconds, "frame_bytes": size, "peak_bytes": peak}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, help="store URL, e.g. sqlite:///tmp/bench.db")
    parser.add_argument("--repeat", type=int, default=3, help="runs per library (default 3)")
    parser.add_argument("--library", choices=["pandas", "polars"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.library:  # the child process: one measurement, as JSON
        print(json.dumps(measure(args.store, args.library)))
        return 0

    print(f"{'library':<8} {'rows':>10} {'best s':>8} {'median s':>9} {'frame MB':>9} "
          f"{'peak MB':>8} {'peak/frame':>10}")
    for library in ("pandas", "polars"):
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run(
                [sys.executable, __file__, "--store", args.store, "--library", library],
                check=True, capture_output=True, text=True,
            )
            runs.append(json.loads(out.stdout))
        seconds = [r["seconds"] for r in runs]
        last = runs[-1]
        peak = max(r["peak_bytes"] for r in runs)
        print(f"{library:<8} {last['rows']:>10,} {min(seconds):>8.3f} "
              f"{statistics.median(seconds):>9.3f} {last['frame_bytes'] / 1e6:>9.1f} "
              f"{peak / 1e6:>8.1f} {peak / last['frame_bytes']:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
