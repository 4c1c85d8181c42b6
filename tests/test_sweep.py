"""Sweeps over random rate draws on a real Dask LocalCluster."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deepcrn.cli import main
from deepcrn.compile import compile_network
from deepcrn.errors import SimulationError
from deepcrn.experiments.sweep import draw_seed, run_draw, sweep
from deepcrn.interop.tables import read_csv
from deepcrn.interop.text import parse_crn, save_crn

from .strategies import random_network


@pytest.fixture(scope="module")
def case() -> tuple:  # type: ignore[type-arg]
    rng = np.random.default_rng(4)
    crn = compile_network(random_network(rng, "ternary", [3, 5, 2]))
    return crn, rng.normal(size=(6, 3))


def test_same_results_with_one_and_two_workers(case) -> None:  # type: ignore[no-untyped-def]
    crn, x = case
    one = sweep(crn, x, 3, seed=7, n_workers=1)
    two = sweep(crn, x, 3, seed=7, n_workers=2)
    np.testing.assert_array_equal(one.outputs, two.outputs)
    np.testing.assert_array_equal(one.times, two.times)
    assert one.converged.all() and np.all(one.abs_error <= one.tolerance) and one.class_agreement == 1.0
    # Each draw is the same computation run alone; draws differ in their rates.
    alone = run_draw(crn, x, 2, 7, 0.1, 10.0, 1e-3, 1e6)
    np.testing.assert_array_equal(alone["outputs"], two.outputs[2])
    assert not np.array_equal(two.rates[0], two.rates[1]) and draw_seed(7, 0) != draw_seed(7, 1)


def test_sweep_cli(case, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    crn, x = case
    save_crn(crn, tmp_path / "crn.txt")
    (tmp_path / "x.csv").write_text("a,b,c\n" + "\n".join(",".join(map(str, r)) for r in x) + "\n")
    code = main(
        [
            "sweep",
            str(tmp_path / "crn.txt"),
            "--inputs",
            str(tmp_path / "x.csv"),
            "--rate-draws",
            "2",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "2 draws x 6 examples" in out and "| draw |" in out
    header, rows = read_csv(tmp_path / "out" / "sweep.csv")
    assert header[:2] == ["draw", "max_abs_diff"] and rows.shape == (2, 5)
    assert json.loads((tmp_path / "out" / "sweep.json").read_text())["converged"] == 12
    assert (tmp_path / "out" / "sweep.png").read_bytes()[:4] == b"\x89PNG"


def test_sweep_refuses_what_it_cannot_run(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SimulationError, match="competitive"):
        sweep(parse_crn("init A = 1\nA -> B\nA -> C"), np.zeros((1, 0)), 2)
    crn = parse_crn("input x = A - B\noutput y = C - D\nA -> C\nB -> D")
    save_crn(crn, tmp_path / "c.txt")
    (tmp_path / "x.csv").write_text("x\n1\n")
    code = main(
        [
            "sweep",
            str(tmp_path / "c.txt"),
            "--inputs",
            str(tmp_path / "x.csv"),
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2 and "cannot reach the Dask scheduler" in capsys.readouterr().err
