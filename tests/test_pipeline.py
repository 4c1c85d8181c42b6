"""Fast versions of every `deepcrn run` task: the whole pipeline, asserting exact agreement."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deepcrn.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def check_outputs(folder: Path, pattern: bool = False) -> dict:  # type: ignore[type-arg]
    metrics = json.loads((folder / "metrics.json").read_text())
    for key in ("nn_accuracy", "crn_accuracy", "agreement", "n_species", "n_reactions", "n_test"):
        assert key in metrics
    assert metrics["agreement"] == 1.0  # tie-aware: near-ties count as agreeing
    # Accuracies are plain argmaxes: a near-tie may break either way (summation order), so they
    # can differ by the number of ties, and no more.
    assert abs(metrics["crn_accuracy"] - metrics["nn_accuracy"]) <= metrics["n_ties"] / metrics["n_test"] + 1e-12
    # The two exact engines agree, and the circuit has no more nodes than the network.
    assert metrics["circuit"]["max_abs_diff_vs_firing"] <= 1e-9 * (1.0 + metrics["final_concentration_max"])
    assert sum(metrics["circuit"]["widths"]) <= sum(int(w) for w in metrics["network_shape"].split("-")[1:-1])
    assert metrics["proven_equivalent"] is True, metrics["proof"]
    names = {"network.json", "crn.txt", "report.md", "training.png", "kinetics.png", "confusion.png"}
    if pattern:
        names.add("pattern.png")
    assert names <= {p.name for p in folder.iterdir()}
    assert (folder / "kinetics.png").read_bytes()[:4] == b"\x89PNG"
    return metrics


def test_iris_end_to_end(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(["run", "iris", "--out", str(tmp_path), "--epochs", "60", "--ode-examples", "3"], capsys)
    assert code == 0, out
    m = check_outputs(tmp_path)
    assert m["n_test"] == 45 and m["ode"]["n"] == 3 and m["ode"]["agreement"] == 1.0
    assert "agreement 1.0000" in out and "every input (symbolic): EQUIVALENT" in out
    # Reusing the trained network gives the same verification.
    code, _, _ = run(
        [
            "run",
            "iris",
            "--out",
            str(tmp_path / "again"),
            "--network",
            str(tmp_path / "network.json"),
            "--ode-examples",
            "1",
        ],
        capsys,
    )
    assert code == 0
    again = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert again["nn_accuracy"] == m["nn_accuracy"] and again["agreement"] == 1.0
    assert_recompiles(tmp_path, shift=False)
    # No kinetics at all: the numbers that cannot be measured are null, and the JSON is strict.
    code, out, _ = run(
        [
            "run",
            "iris",
            "--out",
            str(tmp_path / "none"),
            "--network",
            str(tmp_path / "network.json"),
            "--ode-examples",
            "0",
        ],
        capsys,
    )
    assert code == 0 and "no examples simulated" in out
    text = (tmp_path / "none" / "metrics.json").read_text()
    none = json.loads(text, parse_constant=lambda c: pytest.fail(f"metrics.json holds {c}"))
    assert none["ode"]["n"] == 0 and none["ode"]["agreement"] is None and none["ode"]["max_abs_diff"] is None


def assert_recompiles(folder: Path, shift: bool) -> None:
    """``network.json`` holds exactly what was compiled: recompiling it gives ``crn.txt`` byte for byte."""
    args = ["compile", str(folder / "network.json"), "-o", str(folder / "again.txt"), *(["--shift"] if shift else [])]
    assert main(args) == 0
    assert (folder / "again.txt").read_bytes() == (folder / "crn.txt").read_bytes()


def test_a_failed_run_leaves_the_folder_as_it_was(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A run that fails midway (here: in the kinetics stage, after network.json and crn.txt are
    written) leaves the previous results untouched and no temporary folder behind."""
    import deepcrn.experiments.run as runner
    from deepcrn.errors import SimulationError

    out = tmp_path / "runs" / "iris"
    out.mkdir(parents=True)
    (out / "metrics.json").write_text("old metrics\n")
    (out / "report.md").write_text("old report\n")

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise SimulationError("the kinetics stage failed (injected)")

    monkeypatch.setattr(runner, "kinetics_stage", broken)
    code, _, err = run(["run", "iris", "--out", str(out), "--epochs", "2", "--ode-examples", "1"], capsys)
    assert code == 2 and "injected" in err
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "report.md"]
    assert (out / "metrics.json").read_text() == "old metrics\n" and (out / "report.md").read_text() == "old report\n"
    assert sorted(p.name for p in out.parent.iterdir()) == ["iris"]
    monkeypatch.undo()
    code, _, _ = run(["run", "iris", "--out", str(out), "--epochs", "2", "--ode-examples", "1"], capsys)
    assert code == 0 and not (out / "report.md").read_text().startswith("old")
    assert sorted(p.name for p in out.parent.iterdir()) == ["iris"]


def test_virus_fast(tmp_path: Path, data_root: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(["run", "virus", "--out", str(tmp_path), "--epochs", "15", "--ode-examples", "2"], capsys)
    assert code == 0, err
    m = check_outputs(tmp_path)
    assert m["n_test"] == 104 and m["input_shift"] is True
    assert_recompiles(tmp_path, shift=True)


def test_mnist_fast(tmp_path: Path, data_root: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(
        [
            "run",
            "mnist",
            "--out",
            str(tmp_path),
            "--epochs",
            "2",
            "--hidden",
            "16",
            "--train-subset",
            "800",
            "--test-subset",
            "500",
            "--ode-examples",
            "1",
        ],
        capsys,
    )
    assert code == 0, err
    m = check_outputs(tmp_path)
    assert m["n_test"] == 500 and m["network_shape"] == "196-16-10"


def test_mnist_user_training_set_at_28x28(tmp_path: Path, data_root: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from .test_datasets import _idx

    rng = np.random.default_rng(0)
    train = tmp_path / "idx"
    train.mkdir()
    _idx(train / "train-images-idx3-ubyte.gz", rng.integers(0, 256, size=(60, 28, 28)))
    _idx(train / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, size=60))
    code, _, err = run(
        [
            "run",
            "mnist",
            "--out",
            str(tmp_path / "o"),
            "--epochs",
            "1",
            "--hidden",
            "4",
            "--mnist-train",
            str(train),
            "--mnist-size",
            "28",
            "--test-subset",
            "50",
            "--ode-examples",
            "1",
        ],
        capsys,
    )
    assert code == 0, err
    m = check_outputs(tmp_path / "o")
    assert m["network_shape"] == "784-4-10" and m["n_train"] + m["n_val"] == 60
    code, _, err = run(["run", "mnist", "--mnist-train", str(tmp_path / "none"), "--out", str(tmp_path / "p")], capsys)
    assert code == 2 and "must hold train-images-idx3-ubyte.gz" in err
    code, _, err = run(["run", "iris", "--mnist-size", "28", "--out", str(tmp_path / "q")], capsys)
    assert code == 2 and "--mnist-size does not apply to the iris task" in err


def test_heart_fast(tmp_path: Path, data_root: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(["run", "heart", "--out", str(tmp_path), "--epochs", "40", "--ode-examples", "2"], capsys)
    assert code == 0, err
    m = check_outputs(tmp_path, pattern=True)
    assert m["n_test"] == 255 and "Joseph Wain" in m["credit"]


def test_pattern_from_any_image(tmp_path: Path, data_root: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    image = data_root / "patterns" / "lightning.png"
    code, _, err = run(
        [
            "run",
            "pattern",
            "--image",
            str(image),
            "--out",
            str(tmp_path),
            "--epochs",
            "20",
            "--ode-examples",
            "1",
            "--hidden",
            "8",
        ],
        capsys,
    )
    assert code == 0, err
    check_outputs(tmp_path, pattern=True)


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "pattern"], "needs --image"),
        (["run", "pattern", "--image", "/nonexistent.png"], "no such file"),
        (["run", "iris", "--network", "/nonexistent.json"], "cannot read network file"),
    ],
)
def test_run_user_errors(tmp_path: Path, capsys, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run([*args, "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and message in err and err.count("\n") == 1


def test_run_missing_dataset(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DEEPCRN_DATA", str(tmp_path / "none"))
    code, _, err = run(["run", "virus", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "DEEPCRN_DATA" in err and str(tmp_path / "none" / "gse73072") in err


def test_run_network_of_wrong_shape(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from .strategies import random_network

    path = tmp_path / "n.json"
    random_network(np.random.default_rng(0), "ternary", [5, 3, 2]).save(path)
    code, _, err = run(["run", "iris", "--network", str(path), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "maps 5 inputs to 2 outputs" in err


def test_unknown_task_is_a_one_line_usage_error(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["run", "cifar"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deepcrn: error: run: argument task: invalid choice: 'cifar'") and err.count("\n") == 1
