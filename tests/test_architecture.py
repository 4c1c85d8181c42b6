"""Imports point one way: compile, simulate and export never import torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "deepcrn"


def _passes_in_a_fresh_interpreter(code: str) -> None:
    """Run ``code`` in a new Python process (nothing imported yet) and require it to succeed."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_core_modules_do_not_import_torch() -> None:
    """Nor optional simulators (rebop) until they are used."""
    code = (
        "import sys, deepcrn, deepcrn.compile, deepcrn.exact, deepcrn.kinetics, deepcrn.stochastic, deepcrn.interop,"
        " deepcrn.cli, deepcrn.verify, deepcrn.summary, deepcrn.interop.sbml, deepcrn.interop.rebop,"
        " deepcrn.experiments.sweep, deepcrn.experiments.report\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sklearn', 'mlxtend', 'rebop', 'xarray'))\n"
        "assert not bad, bad"
    )
    _passes_in_a_fresh_interpreter(code)


def test_numba_loads_only_when_a_crn_is_simulated() -> None:
    """The compiled kernels (Numba, ~0.3 s to import) stay out of the command line's start-up and
    of exact evaluation; integrating or sampling a CRN loads them."""
    code = (
        "import sys, numpy as np, deepcrn.cli, deepcrn.kinetics, deepcrn.stochastic\n"
        "from deepcrn.exact import evaluate\n"
        "from deepcrn.interop.text import parse_crn\n"
        "deepcrn.cli.build_parser()\n"
        "crn = parse_crn('input x = X_p - X_n\\noutput y = Y_p - Y_n\\nX_p -> M + Y_p\\nM + X_n -> Y_n')\n"
        "evaluate(crn, np.array([[1.0]]))\n"
        "assert 'numba' not in sys.modules, 'numba imported'\n"
        "deepcrn.stochastic.simulate(crn, np.array([[1.0]]), 10, seed=0)\n"
        "assert 'numba' in sys.modules"
    )
    _passes_in_a_fresh_interpreter(code)


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
    """network and crn import nothing of ours but errors, _io and _limits; only train/ imports torch."""
    ours = {p.stem for p in SRC.glob("*.py")} | {p.name for p in SRC.iterdir() if p.is_dir()}
    for name in ("network", "crn"):
        assert _imports(SRC / f"{name}.py") & ours <= {"errors", "_io", "_limits"}, name
    for path in SRC.rglob("*.py"):
        if "train" in path.relative_to(SRC).parts:
            continue
        assert "torch" not in _imports(path), path


def _module_name(path: Path) -> str:
    parts = ["deepcrn", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the deepcrn modules it imports, anywhere in its code (function-level imports
    count: they are cycles waiting for the first caller)."""
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    prefix = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    prefix = node.module or ""
                for alias in node.names:
                    full = f"{prefix}.{alias.name}"
                    targets.add(full if full in modules else prefix)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle ``[a, b, ..., a]`` in ``graph`` (depth-first search), or None."""
    colour: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        colour[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if colour.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if not colour.get(nxt):
                found = visit(nxt, [*path, nxt])
                if found:
                    return found
        colour[node] = 2
        return None

    for start in sorted(graph):
        if not colour.get(start):
            found = visit(start, [start])
            if found:
                return found
    return None


def test_no_import_cycles() -> None:
    """No module imports, directly or through others, a module that imports it back."""
    graph = _import_graph()
    assert len(graph) > 30 and "deepcrn.exact.circuit" in graph["deepcrn.verify"]  # the graph is real
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]  # the search works
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_pipeline_imports_point_one_way() -> None:
    """Records and their analysis know nothing of the engines, formats or experiments; the engines
    know nothing of formats, experiments or the command line; nothing imports the command line."""
    graph = _import_graph()
    layers = {
        "deepcrn.crn": {"deepcrn.exact", "deepcrn.kinetics", "deepcrn.interop", "deepcrn.experiments"},
        "deepcrn.analysis": {"deepcrn.exact", "deepcrn.kinetics", "deepcrn.interop", "deepcrn.experiments"},
        "deepcrn.exact": {"deepcrn.kinetics", "deepcrn.interop", "deepcrn.experiments"},
        "deepcrn.kinetics": {"deepcrn.interop", "deepcrn.experiments"},
        "deepcrn.compile": {"deepcrn.exact", "deepcrn.kinetics", "deepcrn.interop", "deepcrn.experiments"},
    }
    for module, targets in graph.items():
        assert "deepcrn.cli" not in targets, module
        for low, forbidden in layers.items():
            if module == low or module.startswith(low + "."):
                bad = {t for t in targets if any(t == f or t.startswith(f + ".") for f in forbidden)}
                assert not bad, f"{module} imports {sorted(bad)}"


def test_importing_the_report_leaves_matplotlibs_backend_alone() -> None:
    code = (
        "import matplotlib; matplotlib.use('svg')\n"
        "import deepcrn.experiments.report, deepcrn.experiments.run, deepcrn.cli\n"
        "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend()\n"
        "assert 'matplotlib.pyplot' not in __import__('sys').modules"
    )
    _passes_in_a_fresh_interpreter(code)
