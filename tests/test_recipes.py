"""`deepcrn run TASK --recipe paper|faithful`: the paper's sizes, settings, data and evaluation sets wired
through to metrics.json (few epochs: these check the wiring, benchmarks/paper.py the accuracy)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deepcrn.cli import main
from deepcrn.experiments.protocols import load_iris_all
from deepcrn.experiments.run import RunOptions, train_config
from deepcrn.experiments.tasks import TASKS
from deepcrn.network import load_network


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def _metrics(folder: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((folder / "metrics.json").read_text())


def test_every_paper_task_has_both_recipes_and_a_reference() -> None:
    for name in ("iris", "virus", "mnist", "heart"):
        task = TASKS[name]
        assert {"default", "paper", "faithful"} <= set(task.recipes) and task.reference is not None
        faithful = task.recipe("faithful")
        assert not faithful.fan_in_scale and faithful.lr_scale == "glorot" and faithful.patience is None
        assert (
            task.recipe("paper").hidden
            == faithful.hidden
            == tuple(int(w) for w in task.reference.network.split("-")[1:-1])
        )


def test_iris_paper_recipe(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(
        [
            "run",
            "iris",
            "--recipe",
            "paper",
            "--epochs",
            "4",
            "--cv-folds",
            "2",
            "--ode-examples",
            "2",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 0, out
    m = _metrics(tmp_path)
    assert m["recipe"] == "paper" and m["network_shape"] == "4-3-3" and m["paper_accuracy"] == 0.98
    assert m["n_eval"] == m["n_test"] == m["n_train"] == 150 and m["evaluation_set"].startswith("all 150")
    assert m["paper_reactions"] == 9 and m["proven_equivalent"] and m["agreement"] == 1.0
    # nn_accuracy is the network's accuracy on all 150 flowers, as the authors measured theirs.
    net = load_network(tmp_path / "network.json")
    ds = load_iris_all()
    assert m["nn_accuracy"] == pytest.approx(np.mean(net.predict(ds.x_test) == ds.y_test))
    cv = m["cross_validation"]
    assert cv["folds"] == 2 and len(cv["accuracies"]) == 2 and cv["mean"] == pytest.approx(np.mean(cv["accuracies"]))
    training = json.loads((tmp_path / "network.json").read_text())["training"]
    recipe = TASKS["iris"].recipe("paper")
    assert training["recipe"] == "paper" and training["threshold"] == recipe.threshold == 0.15
    assert training["batch_size"] == 16 and training["fan_in_scale"] is False and training["epochs"] == 4
    assert training["restarts"] == recipe.restarts == 32
    assert "cross-validated accuracy" in out and "the paper (paper recipe): 4-3-3" in out
    report = (tmp_path / "report.md").read_text()
    assert "| accuracy on all 150 flowers (the training set) | 0.9800 |" in report
    # --restarts overrides the recipe's.
    args = ["run", "iris", "--recipe", "paper", "--epochs", "2", "--restarts", "2", "--cv-folds", "0"]
    code, out, _ = run([*args, "--ode-examples", "0", "--out", str(tmp_path / "r")], capsys)
    assert code == 0, out
    assert json.loads((tmp_path / "r" / "network.json").read_text())["training"]["restarts"] == 2


def test_heart_recipes(tmp_path: Path, capsys, data_root: Path) -> None:  # type: ignore[no-untyped-def]
    for recipe in ("paper", "faithful"):
        code, out, _ = run(
            [
                "run",
                "heart",
                "--recipe",
                recipe,
                "--epochs",
                "20",
                "--ode-examples",
                "2",
                "--out",
                str(tmp_path / recipe),
            ],
            capsys,
        )
        assert code == 0, out
        m = _metrics(tmp_path / recipe)
        assert m["network_shape"] == "2-8-2" and m["n_eval"] == 255 and m["paper_accuracy"] == 0.984
        assert m["dataset"]["coordinates"] == "centred" and m["cross_validation"] is None
        training = json.loads((tmp_path / recipe / "network.json").read_text())["training"]
        settings = TASKS["heart"].recipe(recipe).training()
        assert {k: training[k] for k in ("batch_size", "threshold", "lr", "restarts")} == {
            k: settings[k] for k in ("batch_size", "threshold", "lr", "restarts")
        }
        assert (tmp_path / recipe / "pattern.png").is_file()
    # The plain coordinates stay the default recipe's; centred ones on request.
    code, _, _ = run(
        [
            "run",
            "heart",
            "--epochs",
            "2",
            "--ode-examples",
            "0",
            "--hidden",
            "3",
            "--coordinates",
            "centred",
            "--out",
            str(tmp_path / "c"),
        ],
        capsys,
    )
    assert code == 0 and _metrics(tmp_path / "c")["dataset"]["coordinates"] == "centred"


def test_virus_and_mnist_paper_evaluation_sets(tmp_path: Path, capsys, data_root: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(
        ["run", "virus", "--recipe", "paper", "--epochs", "2", "--ode-examples", "2", "--out", str(tmp_path / "v")],
        capsys,
    )
    assert code == 0, out
    m = _metrics(tmp_path / "v")
    assert (m["n_train"], m["n_val"], m["n_test"], m["n_eval"]) == (558, 34, 104, 104)
    assert m["network_shape"] == "10-8-4" and m["input_shift"] and m["paper_reactions"] == 18
    # The recipe polishes the trained network: its training loss only falls.
    training = json.loads((tmp_path / "v" / "network.json").read_text())["training"]
    assert training["polish"] == TASKS["virus"].recipe("paper").polish == 10
    assert m["polish"]["sweeps"] >= 1 and m["polish"]["after"] <= m["polish"]["before"]
    assert "polished after training" in (tmp_path / "v" / "report.md").read_text()
    code, out, _ = run(
        [
            "run",
            "mnist",
            "--recipe",
            "paper",
            "--epochs",
            "1",
            "--train-subset",
            "300",
            "--polish",
            "0",
            "--weight-scale",
            "0.5",
            "--ode-examples",
            "2",
            "--out",
            str(tmp_path / "m"),
        ],
        capsys,
    )
    assert code == 0, out
    m = _metrics(tmp_path / "m")
    assert m["polish"] is None  # --polish 0 turns the recipe's polishing off
    # --weight-scale 0.5 overrides the recipe's 1/4: weights +-1/2, so every layer's scale is 2.
    mnist = TASKS["mnist"]
    assert train_config(mnist, RunOptions("mnist", tmp_path, recipe="paper")).weight_scale == 0.25
    assert train_config(mnist, RunOptions("mnist", tmp_path, recipe="faithful")).weight_scale == 1
    saved = json.loads((tmp_path / "m" / "network.json").read_text())
    assert saved["training"]["weight_scale"] == 0.5 and [layer["scale"] for layer in saved["layers"]] == [2.0, 2.0]
    assert saved["training"]["sparsity"] == TASKS["mnist"].recipe("paper").sparsity == 0.05  # the recipe's L1 pressure
    assert m["network_shape"] == "196-64-10" and m["n_eval"] == 100 and m["n_test"] == 10_000
    assert m["evaluation_set"] == "the paper's 100 test images" and 0 <= m["nn_test_accuracy"] <= 1
    assert set(m["ode"]["examples"]) <= set(
        json.loads((data_root / "paper" / "mnist_examples.json").read_text())["test_indices"]
    )
    assert "whole test split" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "heart", "--recipe", "paper", "--hidden", "4"], "--hidden does not apply with --recipe paper"),
        (
            ["run", "iris", "--recipe", "faithful", "--weights", "integer"],
            "--weights does not apply with --recipe faithful",
        ),
        (["run", "pattern", "--image", "x.png", "--recipe", "paper"], "task 'pattern' has no 'paper' recipe"),
        (
            ["run", "heart", "--recipe", "paper", "--coordinates", "plain"],
            "--coordinates does not apply to the heart task with --recipe paper",
        ),
        (["run", "iris", "--coordinates", "centred"], "--coordinates does not apply to the iris task"),
        (
            ["run", "mnist", "--recipe", "paper", "--test-subset", "5"],
            "--test-subset does not apply to the paper's 100 test images",
        ),
        (
            ["run", "mnist", "--recipe", "paper", "--mnist-size", "28"],
            "--mnist-size does not apply to the mnist task with --recipe paper",
        ),
        (["run", "iris", "--cv-folds", "1"], "--cv-folds must be 0 (none) or at least 2"),
        (["run", "iris", "--recipe", "cooking"], "invalid choice: 'cooking'"),
        (["run", "virus", "--recipe", "paper", "--polish", "-1"], "--polish"),
        (["run", "iris", "--weight-scale", "0"], "--weight-scale: must be a finite number > 0"),
        (["run", "iris", "--weight-scale", "1e-3"], "--weight-scale must be a number in [0.01, 100], got 0.001"),
        (["run", "mnist", "--recipe", "paper", "--weight-scale", "inf"], "--weight-scale: must be a finite number"),
    ],
)
def test_bad_recipe_options(args: list[str], message: str, tmp_path: Path, capsys, data_root: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run([*args, "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and out == ""
    assert err.startswith("deepcrn: error: ") and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()


def test_centred_coordinates_need_a_symmetric_mask(tmp_path: Path, capsys, data_root: Path) -> None:  # type: ignore[no-untyped-def]
    mask = data_root / "patterns" / "lightning.png"
    code, _, err = run(
        ["run", "pattern", "--image", str(mask), "--coordinates", "centred", "--out", str(tmp_path / "o")], capsys
    )
    assert code == 2 and "needs a left-right symmetric mask" in err and err.count("\n") == 1
