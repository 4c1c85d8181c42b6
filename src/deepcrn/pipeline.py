"""``deepcrn run TASK``: train (or load) a network, compile it, verify the CRN, report.

Verification evaluates the **whole test split** through the CRN exactly (every example), then
simulates ``n_ode`` test examples by mass-action ODE with random rate constants. Everything
lands in the output folder: ``network.json``, ``crn.txt``, ``metrics.json``, PNG plots and
``report.md``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import report
from ._io import make_dir
from .compile import compile_network
from .crn_text import save_crn
from .datasets import Dataset, load_task
from .errors import DataError
from .network import Network, WeightKind, load_network
from .simulate.circuit import relu_circuit
from .simulate.equilibrium import equilibrium, output_plan
from .simulate.ode import simulate_ode
from .verify import verify_equivalence

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskDefaults:
    hidden: tuple[int, ...]
    epochs: int
    batch_size: int
    lr: float
    shift: bool
    loss: str = "hinge"
    dropout: float = 0.0
    patience: int = 60


DEFAULTS: dict[str, TaskDefaults] = {
    "iris": TaskDefaults((8,), 200, 16, 0.01, shift=False),
    "virus": TaskDefaults((8,), 200, 32, 0.01, shift=True),
    "mnist": TaskDefaults((256, 128), 100, 64, 0.005, shift=True, dropout=0.2, patience=30),
    "heart": TaskDefaults((64, 64), 1000, 32, 0.01, shift=False, patience=300),
    "pattern": TaskDefaults((64, 64), 1000, 32, 0.01, shift=False, patience=300),
}


@dataclass(frozen=True)
class RunOptions:
    task: str
    out: Path
    seed: int = 0
    epochs: int | None = None
    hidden: tuple[int, ...] | None = None
    kind: WeightKind = "ternary"
    loss: str | None = None
    network: Path | None = None
    n_ode: int = 20
    image: str | None = None
    shift: bool | None = None
    train_subset: int | None = None
    test_subset: int | None = None
    mnist_train: Path | None = None
    mnist_size: int = 14
    progress: bool = True


def _subset(ds: Dataset, n_train: int | None, n_test: int | None, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    out = ds
    if n_train is not None and n_train < len(ds.y_train):
        keep = rng.choice(len(ds.y_train), n_train, replace=False)
        out = replace(out, x_train=ds.x_train[keep], y_train=ds.y_train[keep])
    if n_test is not None and n_test < len(ds.y_test) and ds.image_shape is None:
        keep = np.sort(rng.choice(len(ds.y_test), n_test, replace=False))
        out = replace(out, x_test=ds.x_test[keep], y_test=ds.y_test[keep])
    return out


def _train(ds: Dataset, opts: RunOptions, defaults: TaskDefaults) -> tuple[Network, dict[str, Any], float]:
    from .train import TrainConfig, train_network  # torch is imported only here

    config = TrainConfig(
        hidden=opts.hidden or defaults.hidden,
        kind=opts.kind,
        loss=(opts.loss or defaults.loss),  # type: ignore[arg-type]
        epochs=opts.epochs if opts.epochs is not None else defaults.epochs,
        batch_size=defaults.batch_size,
        lr=defaults.lr,
        dropout=defaults.dropout,
        patience=defaults.patience,
        seed=opts.seed,
    )
    extra: dict[str, object] = {
        "input_names": ds.feature_names,
        "output_names": ds.class_names,
        "task": ds.name,
        "training": {k: v for k, v in vars(config).items()},
    }
    if ds.input_lower_bounds is not None:
        extra["input_lower_bounds"] = [float(v) for v in ds.input_lower_bounds]
    result = train_network(ds.x_train, ds.y_train, ds.x_val, ds.y_val, ds.n_classes, config, extra, opts.progress)
    return result.network, {"history": result.history, "best_epoch": result.best_epoch}, result.seconds


def run_task(opts: RunOptions) -> dict[str, Any]:
    """Run one task end to end and return its metrics (also written to ``metrics.json``)."""
    if opts.task not in DEFAULTS:
        raise DataError(f"unknown task {opts.task!r}; choose one of {', '.join(DEFAULTS)}")
    defaults = DEFAULTS[opts.task]
    extra: dict[str, Any] = {}
    if opts.task == "mnist":
        extra = {"size": opts.mnist_size, "idx_dir": opts.mnist_train}
    elif opts.mnist_train is not None or opts.mnist_size != 14:
        raise DataError("--mnist-train and --mnist-size apply to the mnist task only")
    ds = load_task(opts.task, seed=opts.seed, image=opts.image, **extra)
    ds = _subset(ds, opts.train_subset, opts.test_subset, opts.seed)
    out = make_dir(opts.out)

    plots: list[tuple[str, str]] = []
    if opts.network is not None:
        net = load_network(opts.network)
        if net.n_inputs != ds.n_features or net.n_outputs != ds.n_classes:
            raise DataError(
                f"{opts.network}: network maps {net.n_inputs} inputs to {net.n_outputs} outputs, but task "
                f"{opts.task} has {ds.n_features} features and {ds.n_classes} classes"
            )
        training: dict[str, Any] = {}
        train_seconds = 0.0
    else:
        net, training, train_seconds = _train(ds, opts, defaults)
        report.plot_training(training["history"], training["best_epoch"], out / "training.png")
        plots.append(("Training curves", "training.png"))
    net.save(out / "network.json")

    shift = defaults.shift if opts.shift is None else opts.shift
    lows = ds.input_lower_bounds if shift else None
    if lows is not None:
        # A lower bound must hold on every example we evaluate; widen it where the data dip below.
        lows = np.minimum(lows, ds.x_test.min(axis=0))
    start = time.perf_counter()
    crn = compile_network(net, "reduced", lows)
    full = compile_network(net, "full", lows)
    compile_seconds = time.perf_counter() - start
    save_crn(crn, out / "crn.txt")

    start = time.perf_counter()
    nn_out = net.forward(ds.x_test)
    plan = output_plan(crn)
    crn_out = plan.outputs(plan.run_inputs(ds.x_test))
    nn_pred, crn_pred = nn_out.argmax(1), crn_out.argmax(1)
    exact_seconds = time.perf_counter() - start
    # The second exact engine: the ReLU circuit derived from the reactions (it is the network).
    start = time.perf_counter()
    circuit = relu_circuit(crn)
    circuit_out = circuit.evaluate(ds.x_test)
    circuit_seconds = time.perf_counter() - start
    proof = verify_equivalence(net, crn, circuit=circuit)

    n_ode = min(opts.n_ode, len(ds.y_test))
    ode_idx = np.sort(np.random.default_rng(opts.seed).choice(len(ds.y_test), n_ode, replace=False))
    start = time.perf_counter()
    ode = simulate_ode(crn, ds.x_test[ode_idx], rates="random", seed=opts.seed, tol=1e-3, progress=opts.progress)
    ode_seconds = time.perf_counter() - start
    ode_agree = float(np.mean(ode.outputs.argmax(1) == nn_pred[ode_idx])) if n_ode else float("nan")

    # Concentration range over the initial states of the test set (what a wet lab must span).
    init = crn.initial_state(ds.x_test[: min(len(ds.x_test), 2000)])
    final = equilibrium(crn, ds.x_test[: min(len(ds.x_test), 200)])
    nonzero = init[init > 0]
    per_class = {
        name: float(np.mean(crn_pred[ds.y_test == c] == c))
        for c, name in enumerate(ds.class_names)
        if np.any(ds.y_test == c)
    }
    metrics: dict[str, Any] = {
        "task": opts.task if opts.task != "pattern" else f"pattern:{ds.name}",
        "network_shape": "-".join(map(str, net.shape)),
        "weight_kind": net.weight_kind,
        "crn_form": "reduced",
        "input_shift": lows is not None,
        "nn_accuracy": float(np.mean(nn_pred == ds.y_test)),
        "crn_accuracy": float(np.mean(crn_pred == ds.y_test)),
        "agreement": float(np.mean(crn_pred == nn_pred)),
        "max_abs_diff": float(np.max(np.abs(crn_out - nn_out))),
        "n_test": int(len(ds.y_test)),
        "n_train": int(len(ds.y_train)),
        "n_val": int(len(ds.y_val)),
        "per_class_accuracy": per_class,
        "n_species": len(crn.species),
        "n_reactions": len(crn.reactions),
        "n_reactions_full": len(full.reactions),
        "n_reactions_reduced": len(crn.reactions),
        "n_species_full": len(full.species),
        "crn_stats": crn.stats(),
        "circuit": {
            "widths": list(circuit.widths),
            "multiply_adds": circuit.multiply_adds,
            "max_abs_diff_vs_firing": float(np.max(np.abs(circuit_out - crn_out))),
            "seconds": circuit_seconds,
        },
        "proven_equivalent": proof.equivalent,
        "proof": proof.reason,
        "ode": {
            "n": n_ode,
            "examples": ode_idx.tolist(),
            "seed": opts.seed,
            "rate_range": "0.1-10 (log-uniform)",
            "engine": ode.method,
            "agreement": ode_agree,
            "converged": int(ode.converged.sum()),
            "not_converged": [int(ode_idx[i]) for i in ode.not_converged],
            "max_abs_diff": float(np.max(np.abs(ode.outputs - nn_out[ode_idx]))) if n_ode else float("nan"),
            "median_time": float(np.median(ode.times)) if n_ode else float("nan"),
            "max_time": float(np.max(ode.times)) if n_ode else float("nan"),
            "seconds": ode_seconds,
        },
        "concentration_range": [float(nonzero.min()) if nonzero.size else 0.0, float(init.max())],
        "final_concentration_max": float(final.max()),
        "train_seconds": train_seconds,
        "compile_seconds": compile_seconds,
        "exact_seconds": exact_seconds,
        "verify_seconds": exact_seconds + ode_seconds,
        "seed": opts.seed,
        "dataset": ds.info,
    }
    if training:
        metrics["best_epoch"] = training["best_epoch"] + 1
        metrics["epochs_run"] = len(training["history"]["loss"])
    if ds.image_shape is not None:
        metrics["credit"] = ds.info.get("credit")

    if n_ode:
        show = list(range(min(3, n_ode)))
        report.plot_kinetics(
            [ode.trajectories[i] for i in show],
            nn_out[ode_idx[show]],
            crn.output_names,
            out / "kinetics.png",
            [int(ode_idx[i]) for i in show],
        )
        plots.append(("Kinetics (output values; dashed: the network)", "kinetics.png"))
    matrix = report.confusion(ds.y_test, crn_pred, ds.n_classes)
    metrics["confusion"] = matrix.tolist()
    report.plot_confusion(matrix, ds.class_names, out / "confusion.png", f"{opts.task}: CRN on the test set")
    plots.append(("Confusion matrix (CRN, exact)", "confusion.png"))
    if ds.image_shape is not None:
        h, w = ds.image_shape
        report.plot_pattern(
            ds.y_test.reshape(h, w), crn_pred.reshape(h, w), out / "pattern.png", str(ds.info.get("credit", ""))
        )
        plots.append(("Pattern drawn by the CRN", "pattern.png"))
    report.write_json(out / "metrics.json", metrics)
    report.write_report(out / "report.md", metrics, plots)
    return metrics
