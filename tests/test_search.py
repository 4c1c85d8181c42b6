"""`deepcrn search`: a real (tiny) grid on a Dask LocalCluster; Pareto fronts against brute force."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from deepcrn.cli import main
from deepcrn.compile import compile_network
from deepcrn.errors import DataError
from deepcrn.experiments.search import candidates, dominates, pareto_front, search
from deepcrn.experiments.tasks import TASKS, SearchSpace
from deepcrn.interop.text import load_crn
from deepcrn.network import load_network
from deepcrn.verify import verify_equivalence


def test_pareto_front_against_brute_force() -> None:
    rng = np.random.default_rng(0)
    rows = [{"a": float(a), "c": int(c)} for a, c in zip(rng.integers(0, 5, 60) / 4, rng.integers(1, 9, 60))]
    front = pareto_front(rows, "a", "c")
    for i, r in enumerate(rows):
        beaten = any(o["a"] >= r["a"] and o["c"] <= r["c"] and (o["a"] > r["a"] or o["c"] < r["c"]) for o in rows)
        assert front[i] == (not beaten)
    assert any(front)
    assert dominates({"accuracy": 0.98, "reactions": 8}, 0.98, 9)
    assert dominates({"accuracy": 0.99, "reactions": 9}, 0.98, 9)
    assert not dominates({"accuracy": 0.98, "reactions": 9}, 0.98, 9)
    assert not dominates({"accuracy": 0.97, "reactions": 3}, 0.98, 9)


def test_search_iris(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "search"
    args = [
        "search",
        "iris",
        "--epochs",
        "3",
        "--polish",
        "2",
        "--weight-scale",
        "0.5",
        "--seeds",
        "2",
        "--max-hidden",
        "2",
        "--weights",
        "ternary",
    ]
    code = main([*args, "--sparsity", "0,0.5", "--ode-examples", "2", "--workers", "2", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert {p.name for p in out.iterdir()} == {"pareto.csv", "pareto.png", "search.json", "networks"}
    with open(out / "pareto.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 1 * 2 * 2  # widths 1, 2 x ternary x two sparsities x two seeds
    assert {r["hidden"] for r in rows} == {"1", "2"} and {r["seed"] for r in rows} == {"0", "1"}
    summary = json.loads((out / "search.json").read_text())
    assert summary["candidates"] == 8 and summary["failed"] == [] and summary["paper"]["reactions"] == 9
    assert summary["n_eval"] == 150
    assert summary["training"]["epochs"] == 3 and summary["training"]["threshold"] == 0.15
    assert summary["training"]["polish"] == 2 and TASKS["iris"].recipe("paper").polish == 0
    assert summary["training"]["weight_scale"] == 0.5  # weights +-1/2: layer scales 2 (the recipe's are 1)
    parsed = [{"accuracy": float(r["accuracy"]), "reactions": int(r["reactions"])} for r in rows]
    assert [r["pareto_reactions"] == "1" for r in rows] == pareto_front(parsed, "accuracy", "reactions")
    assert all(r["proven_equivalent"] == "1" and r["ode_agreement"] == "1" for r in rows)
    chosen = summary["chosen"]
    assert chosen and {p.name for p in (out / "networks").iterdir()} == set(chosen)
    for name in chosen:
        row = next(r for r in rows if r["name"] == name)
        net = load_network(out / "networks" / name / "network.json")
        crn = load_crn(out / "networks" / name / "crn.txt")
        assert verify_equivalence(net, crn).equivalent and len(crn.reactions) == int(row["reactions"])
        assert compile_network(net).reactions == crn.reactions
        assert net.layers[0].scale == 2.0
    assert "the paper's 4-3-3: accuracy 0.9800, 9 reactions" in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "pattern"], "invalid choice: 'pattern'"),
        (["search", "iris", "--max-hidden", "0"], "must be at least 1"),
        (["search", "iris", "--weights", "ternary,float"], "expected weight kinds"),
        (["search", "iris", "--sparsity", "0,-1"], "values must be finite and >= 0"),
        (["search", "iris", "--polish", "-1"], "--polish"),
        (["search", "iris", "--weight-scale", "2e6"], "--weight-scale must be a number in [0.01, 100], got 2e+06"),
        (["search", "iris", "--weight-scale", "x"], "--weight-scale: expected a number, got 'x'"),
        (["search", "iris", "--scheduler", "localhost"], "is not a Dask scheduler address"),
        (["search", "heart", "--recipe", "default", "--max-hidden", "2"], "leaves no width; the smallest is 3"),
    ],
)
def test_bad_search_options(args: list[str], message: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main([*args, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("deepcrn: error: ") and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "o").exists()


def test_a_failing_candidate_is_left_out_not_fatal() -> None:
    """A candidate that stops on a user-level error is set aside with its message; the others are
    kept. Weights +-1e-40 (past what --weight-scale accepts) make layer scales of 1e40: a network
    with two hidden layers multiplies them past the 1e100 a CRN holds, one with one does not."""
    task = TASKS["iris"]
    ds = task.load(0, "paper")
    training = {**task.recipe("paper").training(), "epochs": 2, "restarts": 1, "weight_scale": 1e-40}
    cands = candidates(SearchSpace((2,), depths=(1, 2), kinds=("ternary",), sparsities=(0.0,)), 1)
    result = search(task, ds, cands, training, None, n_ode=0, n_workers=1)
    assert [r["name"] for r in result.rows] == ["2-ternary-s0-seed0"] and set(result.networks) == {"2-ternary-s0-seed0"}
    assert [f["name"] for f in result.failed] == ["2-2-ternary-s0-seed0"]
    assert "layer scales d_1 * ... * d_3 multiply to 1e+120" in result.failed[0]["error"]
    # When every candidate fails, the first one's error is the search's.
    with pytest.raises(DataError, match="every candidate failed; the first, 2-ternary-s0-seed0: training diverged"):
        search(task, ds, cands[:1], {**training, "weight_scale": 1.0, "lr": 1e30}, None, n_ode=0, n_workers=1)
