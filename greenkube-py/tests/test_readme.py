"""The top-level README's Python example runs as written, where it says it runs: a directory
with the demo's store (`greenkube.db`) and the repository's examples."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import greenkube

REPO = Path(__file__).resolve().parents[2]


def test_the_readme_python_example_runs(tmp_path: Path) -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("From Python (") : text.index("From Rust:")]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    with greenkube.open(f"sqlite://{tmp_path / 'greenkube.db'}", create=True) as store:
        store.load_demo(days=8)  # what `greenkube demo` leaves, a shorter history
    (tmp_path / "examples").symlink_to(REPO / "examples")
    import pandas

    here = Path.cwd()
    out = io.StringIO()
    try:
        os.chdir(tmp_path)
        with contextlib.redirect_stdout(out), pandas.option_context(
            "display.max_columns", None, "display.width", 10_000
        ):
            exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(here)
    printed = out.getvalue()
    assert "co2e_grams_low" in printed and "savings_co2e_grams_per_year" in printed
    assert "catalog" in printed  # a namespace of the demo
