"""examples/reproduce_paper.ipynb runs from top to bottom (in its fast mode: a few epochs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "reproduce_paper.ipynb"


def test_notebook_runs(data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("DEEPCRN_NOTEBOOK_FAST", "1")
    monkeypatch.setenv("DEEPCRN_NOTEBOOK_OUT", str(tmp_path / "runs"))
    monkeypatch.setenv("DEEPCRN_DATA", str(data_root.resolve()))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    src = Path(__file__).resolve().parents[1] / "src"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    text = "".join(o.get("text", "") + "".join(o.get("data", {}).get("text/markdown", "")) for o in outputs)
    # The table of ours against the paper, with every task and the paper's figures.
    for task, paper in (("iris", "0.9800"), ("virus", "0.9800"), ("mnist", "0.9300"), ("heart", "0.9840")):
        assert f"| {task} |" in text and paper in text
    assert "the paper's 100 test images" in text and "proven" in text and "NOT proven" not in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 5  # kinetics of the four tasks and the heart drawn by the CRN
    for task in ("iris", "virus", "mnist", "heart"):
        assert (tmp_path / "runs" / task / "metrics.json").is_file()
