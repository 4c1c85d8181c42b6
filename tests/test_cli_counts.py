"""The command line with molecule counts: ``evaluate --method exact|ssa --molecules-per-unit N``,
``--report``, ``--t-max``, every user error as one line with exit status 2, and
``run --molecules-per-unit``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deepcrn.cli import main
from deepcrn.exact import evaluate, rounding_bound
from deepcrn.interop.tables import format_csv, read_csv
from deepcrn.interop.text import load_crn

from .strategies import random_network, run_cli


@pytest.fixture
def crn_file(tmp_path: Path) -> Path:
    net = random_network(np.random.default_rng(1), "ternary", [3, 6, 2])
    net.save(tmp_path / "net.json")
    assert main(["compile", str(tmp_path / "net.json"), "-o", str(tmp_path / "crn.txt")]) == 0
    return tmp_path / "crn.txt"


def test_exact_at_integer_counts(tmp_path: Path, crn_file: Path, inputs_file: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    crn = load_crn(crn_file)
    x = read_csv(inputs_file)[1]
    report = tmp_path / "exact.json"
    code, out, err = run_cli(
        ["evaluate", crn_file, "--inputs", inputs_file, "--molecules-per-unit", "20", "--report", report], capsys
    )
    assert code == 0 and "proven rounding bound per output" in err
    assert out == format_csv(crn.output_names, evaluate(crn, x, molecules_per_unit=20))
    data = json.loads(report.read_text())
    assert data["molecules_per_unit"] == 20 and data["engine"] == "circuit"
    assert list(data["rounding_bound"].values()) == rounding_bound(crn, 20).tolist()
    code, fired, _ = run_cli(
        ["evaluate", crn_file, "--inputs", inputs_file, "--molecules-per-unit", "20", "--engine", "fire"], capsys
    )
    assert code == 0 and fired == out  # both engines, same bits


def test_ssa_equals_exact_and_reports(tmp_path: Path, crn_file: Path, inputs_file: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    report = tmp_path / "run.json"
    args = ["evaluate", crn_file, "--inputs", inputs_file, "--molecules-per-unit", "40"]
    code, exact_out, _ = run_cli(args, capsys)
    code, out, err = run_cli(args + ["--method", "ssa", "--seed", "7", "--rates", "random", "--report", report], capsys)
    assert code == 0 and out == exact_out
    assert "5/5 completed" in err and "5/5 completed trajectories end exactly at the integer-count equilibrium" in err
    data = json.loads(report.read_text())
    assert data["engine"] == "levels" and data["seed"] == 7 and data["t_max"] is None and data["rates"] == "random"
    assert [e["completed"] for e in data["per_example"]] == [True] * 5
    assert all(e["completion_time"] == e["last_event_time"] and e["events"] >= 0 for e in data["per_example"])
    # too short a t_max: incomplete examples are flagged, and outputs are the state at t_max
    code, out, err = run_cli(args + ["--method", "ssa", "--t-max", "1e-4", "--report", report], capsys)
    assert code == 0 and "had not completed by t=0.0001" in err and out != exact_out
    data = json.loads(report.read_text())
    assert data["completed"] < 5 and any(e["completion_time"] is None for e in data["per_example"])


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--molecules-per-unit", "0"], "--molecules-per-unit must be a finite number > 0, got 0"),
        (["--molecules-per-unit", "-3"], "--molecules-per-unit must be a finite number > 0, got -3"),
        (["--molecules-per-unit", "nan"], "--molecules-per-unit must be a finite number > 0, got nan"),
        (["--molecules-per-unit", "inf"], "--molecules-per-unit must be a finite number > 0, got inf"),
        (["--molecules-per-unit", "lots"], "--molecules-per-unit expects a number of molecules per unit, got 'lots'"),
        (["--molecules-per-unit", "1e300"], "molecules, more than the 4.61e+18 that exact integer (int64)"),
        (["--molecules-per-unit", "1e300", "--method", "ssa"], "molecules, more than the 4.61e+18"),
        (["--method", "ssa"], "--method ssa needs --molecules-per-unit N"),
        (["--method", "ode", "--molecules-per-unit", "10"], "applies to --method exact or ssa"),
        (["--report", "{tmp}/r.json"], "--report describes integer-count runs"),
        (["--method", "ssa", "--molecules-per-unit", "10", "--engine", "fire"], "--engine fire does not apply"),
        (["--molecules-per-unit", "10", "--engine", "levels"], "--engine levels does not apply to --method exact"),
        (["--method", "ssa", "--molecules-per-unit", "1e6", "--max-events", "10"], "reaction events"),
    ],
)
def test_user_errors_are_one_line(
    tmp_path: Path, crn_file: Path, inputs_file: Path, capsys, extra: list[str], message: str
) -> None:  # type: ignore[no-untyped-def]
    before = set(tmp_path.rglob("*"))
    extra = [e.replace("{tmp}", str(tmp_path)) for e in extra]
    code, out, err = run_cli(["evaluate", crn_file, "--inputs", inputs_file, *extra, "-o", tmp_path / "o.csv"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("deepcrn: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert message in err, err
    assert set(tmp_path.rglob("*")) == before  # no partial output


def test_run_with_molecule_counts(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli(
        [
            "run",
            "iris",
            "--out",
            tmp_path,
            "--epochs",
            "40",
            "--ode-examples",
            "1",
            "--molecules-per-unit",
            "1000,3",
            "--ssa-examples",
            "2",
        ],
        capsys,
    )
    assert code == 0, err
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert [c["N"] for c in m["counts"]] == [3, 1000]
    for c in m["counts"]:
        assert {"N", "accuracy", "agreement", "max_rounding_error", "rounding_bound"} <= set(c)
        assert c["max_rounding_error"] <= c["rounding_bound"]
    assert m["ssa"]["N"] == 3 and m["ssa"]["completed"] == 2 and m["ssa"]["equal_to_exact"] == 2
    assert {"counts.png", "ssa.png"} <= {p.name for p in tmp_path.iterdir()}
    assert "## Molecule counts" in (tmp_path / "report.md").read_text()
    assert "integer counts, N = 3 molecules per unit" in out
    code, _, err = run_cli(["run", "iris", "--out", tmp_path / "b", "--molecules-per-unit", "10,x"], capsys)
    assert code == 2 and "got 'x'" in err and err.count("\n") == 1
