"""Imports point one way: compile, simulate and export never import torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "deepcrn"


def test_core_modules_do_not_import_torch() -> None:
    """Nor optional simulators (rebop) until they are used."""
    code = (
        "import sys, deepcrn, deepcrn.compile, deepcrn.exact, deepcrn.kinetics, deepcrn.stochastic, deepcrn.interop,"
        " deepcrn.cli, deepcrn.verify, deepcrn.summary, deepcrn.interop.sbml, deepcrn.interop.rebop,"
        " deepcrn.experiments.sweep, deepcrn.experiments.report\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sklearn', 'mlxtend', 'rebop', 'xarray'))\n"
        "assert not bad, bad"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            found.add((node.module or "").split(".")[0])
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found.update(n.split(".")[0] for n in names)
    return found


def test_layering() -> None:
    """network and crn import nothing of ours but errors/_io; only train/ imports torch."""
    ours = {p.stem for p in SRC.glob("*.py")} | {p.name for p in SRC.iterdir() if p.is_dir()}
    for name in ("network", "crn"):
        assert _imports(SRC / f"{name}.py") & ours <= {"errors", "_io"}, name
    for path in SRC.rglob("*.py"):
        if "train" in path.relative_to(SRC).parts:
            continue
        assert "torch" not in _imports(path), path
