"""The tour notebook (examples/notebooks/tour.ipynb) runs headless, top to bottom, in a real
Jupyter kernel (nbclient), and draws its figures."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebooks" / "tour.ipynb"


def test_the_tour_notebook_runs(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # Kept without outputs in the repository, so a diff shows the code only.
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3, "the namespace bars, the daily series and the savings chart"
    frames = [o for o in outputs if "text/html" in o.get("data", {})]
    assert len(frames) >= 5, "the report, the pod rows, recommendations, what-if, score"
