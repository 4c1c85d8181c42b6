"""Figures and files for a run: training curves, kinetics, confusion matrix, patterns, JSON.

Every figure is a PNG written atomically. Figures are drawn on :class:`matplotlib.figure.Figure`
objects directly, never through pyplot, so importing this module leaves matplotlib's backend
(and any figures a user has open) alone.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import rcParams
from matplotlib.figure import Figure

from .._io import atomic_write_bytes, atomic_write_text


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``(n_classes, n_classes)``: row = true class, column = predicted."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (y_true, y_pred), 1)
    return m


def _figure(rows: int, cols: int, size: tuple[float, float]) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=size)
    return fig, np.atleast_2d(fig.subplots(rows, cols, squeeze=False))


def _save(fig: Figure, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())


def plot_training(history: dict[str, list[float]], best_epoch: int, path: Path) -> None:
    fig, axes = _figure(1, 2, (9, 3.4))
    ax1, ax2 = axes[0]
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax1.plot(epochs, history["loss"], color="tab:red")
    ax1.set(xlabel="epoch", ylabel="training loss", yscale="log", title="Loss")
    ax2.plot(epochs, history["train_acc"], label="train")
    ax2.plot(epochs, history["val_acc"], label="validation")
    ax2.axvline(best_epoch + 1, color="grey", ls=":", label=f"kept (epoch {best_epoch + 1})")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="Accuracy", ylim=(0, 1.02))
    ax2.legend(loc="lower right")
    _save(fig, path)


def plot_kinetics(
    trajectories: Sequence[tuple[np.ndarray, np.ndarray]],
    nn_values: np.ndarray,
    output_names: Sequence[str],
    path: Path,
    examples: Sequence[int],
) -> None:
    """Output values over time (log time axis) with the network's value dashed."""
    n = len(trajectories)
    fig, axes = _figure(1, n, (4.2 * n, 3.4))
    colours = rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (ax, (t, values)) in enumerate(zip(axes[0], trajectories)):
        tt = np.maximum(t, t[1] / 10 if len(t) > 1 else 1e-3)
        for j, name in enumerate(output_names):
            c = colours[j % len(colours)]
            ax.plot(tt, values[:, j], color=c, label=name)
            ax.axhline(nn_values[k, j], color=c, ls="--", lw=0.9)
        ax.set(xscale="log", xlabel="time (1/k)", title=f"test example {examples[k]}")
        if k == 0:
            ax.set_ylabel("output value (O+ - O-)")
    axes[0][-1].legend(fontsize=7, loc="best", title="dashed: network", title_fontsize=7)
    _save(fig, path)


def plot_counts(
    n_values: Sequence[float],
    accuracy: Sequence[float],
    agreement: Sequence[float],
    bound: Sequence[float],
    nn_accuracy: float,
    path: Path,
) -> None:
    """CRN test accuracy and class agreement with the network at integer counts against
    molecules per unit (log axis), the network's accuracy as a line; the proven rounding bound on
    a second axis."""
    fig, axes = _figure(1, 1, (5.8, 3.8))
    ax = axes[0, 0]
    ax.plot(n_values, accuracy, "o-", color="tab:blue", label="CRN test accuracy, integer counts")
    ax.plot(n_values, agreement, "^-", color="tab:green", ms=4, label="CRN-network class agreement")
    ax.axhline(nn_accuracy, color="black", ls="--", lw=1, label=f"network test accuracy ({nn_accuracy:.4f})")
    low = min([*accuracy, *agreement, nn_accuracy])
    ax.set(xscale="log", xlabel="molecules per unit of concentration N", ylim=(max(0.0, low - 0.02), 1.005))
    ax.set_title("How many molecules does the CRN need?")
    right = ax.twinx()
    right.plot(n_values, bound, "s:", color="tab:red", ms=4, label="proven rounding bound (output units)")
    right.set(yscale="log", ylabel="rounding bound")
    lines = ax.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, loc="upper right", bbox_to_anchor=(1.0, 0.9))
    _save(fig, path)


def plot_ssa(
    ssa: Sequence[tuple[np.ndarray, np.ndarray]],
    ode: Sequence[tuple[np.ndarray, np.ndarray]],
    output_names: Sequence[str],
    path: Path,
    examples: Sequence[int],
    molecules_per_unit: float,
) -> None:
    """Stochastic output trajectories (solid) next to the mass-action ODE (dashed), log time."""
    n = len(ssa)
    fig, axes = _figure(1, n, (4.2 * n, 3.4))
    colours = rcParams["axes.prop_cycle"].by_key()["color"]
    for k, ax in enumerate(axes[0]):
        t, values = ssa[k]
        t_ode, v_ode = ode[k]
        start = min(t[1] if len(t) > 1 else 1e-3, t_ode[1] if len(t_ode) > 1 else 1e-3)
        for j, name in enumerate(output_names):
            c = colours[j % len(colours)]
            ax.step(np.maximum(t, start), values[:, j], where="post", color=c, lw=1, label=name)
            ax.plot(np.maximum(t_ode, start), v_ode[:, j], color=c, ls="--", lw=0.9)
        ax.set(xscale="log", xlabel="time (1/k)", title=f"test example {examples[k]}, N = {molecules_per_unit:g}")
        if k == 0:
            ax.set_ylabel("output value")
    axes[0][-1].legend(fontsize=7, loc="best", title="solid: SSA, dashed: ODE", title_fontsize=7)
    _save(fig, path)


def plot_confusion(matrix: np.ndarray, class_names: Sequence[str], path: Path, title: str) -> None:
    k = len(class_names)
    fig, axes = _figure(1, 1, (1.0 + 0.55 * k, 0.8 + 0.55 * k))
    ax = axes[0, 0]
    ax.imshow(matrix, cmap="Blues")
    for i in range(k):
        for j in range(k):
            v = matrix[i, j]
            ax.text(
                j, i, str(v), ha="center", va="center", fontsize=8, color="white" if v > matrix.max() / 2 else "black"
            )
    ax.set_xticks(range(k), class_names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), class_names, fontsize=8)
    ax.set(xlabel="CRN prediction", ylabel="true class", title=title)
    _save(fig, path)


def plot_pattern(target: np.ndarray, drawn: np.ndarray, path: Path, credit: str) -> None:
    fig, axes = _figure(1, 2, (6, 3.4))
    a, b = axes[0]
    a.imshow(target, cmap="Greys", vmin=0, vmax=1)
    a.set_title("target mask")
    b.imshow(drawn, cmap="Greys", vmin=0, vmax=1)
    wrong = np.argwhere(target != drawn)
    if len(wrong):
        b.scatter(wrong[:, 1], wrong[:, 0], marker="x", color="red", s=18, label="differs")
        b.legend(loc="lower right", fontsize=7)
    b.set_title("drawn by the CRN")
    for ax in (a, b):
        ax.set_xticks([])
        ax.set_yticks([])
    fig.text(0.5, 0.01, credit, ha="center", fontsize=7)
    _save(fig, path)


def plot_sweep(abs_error: np.ndarray, times: np.ndarray, path: Path, tol: float) -> None:
    """Distribution over draws x examples of |CRN - NN| and of the convergence time."""
    fig, axes = _figure(1, 2, (9, 3.4))
    a, b = axes[0]
    err = abs_error.ravel()
    a.hist(np.log10(np.maximum(err, 1e-16)), bins=30, color="tab:blue")
    a.axvline(np.log10(tol), color="tab:red", ls="--", label=f"tolerance {tol:g}")
    a.set(xlabel="log10 max |CRN - NN| at the stop", ylabel="examples x draws", title="Output error across rate draws")
    a.legend(fontsize=7)
    order = np.argsort(np.median(times, axis=1))
    b.boxplot([times[d] for d in order], showfliers=False)
    b.set(
        yscale="log", xlabel="rate draw (sorted by median)", ylabel="time to tolerance (1/k)", title="Convergence time"
    )
    b.set_xticks([])
    _save(fig, path)


def plot_pareto(rows: Sequence[dict[str, Any]], reference: Any, path: Path, title: str) -> None:
    """Accuracy against reduced reactions and against total products: every candidate (grey),
    each Pareto front (line), and the paper's network (red star; ``reference``: a
    :class:`~deepcrn.experiments.tasks.Reference` or None)."""
    fig, axes = _figure(1, 2, (10, 3.8))
    acc = np.array([r["accuracy"] for r in rows], dtype=float)
    for ax, cost, front, label in (
        (axes[0][0], "reactions", "pareto_reactions", "reduced reactions"),
        (axes[0][1], "total_products", "pareto_products", "total products (log)"),
    ):
        c = np.array([r[cost] for r in rows], dtype=float)
        on = np.array([bool(r[front]) for r in rows])
        ax.scatter(c[~on], acc[~on], s=12, color="0.65", label="candidates")
        order = np.argsort(c[on])
        ax.step(c[on][order], acc[on][order], where="post", color="tab:blue", lw=1)
        ax.scatter(c[on], acc[on], s=22, color="tab:blue", label="Pareto front", zorder=3)
        if reference is not None:
            ax.scatter(
                [getattr(reference, cost)], [reference.accuracy], marker="*", s=160, color="tab:red", zorder=4,
                label=f"paper {reference.network}",
            )  # fmt: skip
        ax.set(xlabel=label, ylabel="accuracy", title=title)
        if cost == "total_products":
            ax.set_xscale("log")
        ax.legend(fontsize=7, loc="lower right")
    _save(fig, path)


def write_json(path: Path, data: Any) -> None:
    """Strict JSON (no NaN or infinity: those become null), written atomically."""
    atomic_write_text(path, json.dumps(_clean(data), indent=1, allow_nan=False) + "\n")


def _clean(value: Any) -> Any:
    """``value`` with NumPy scalars and arrays as Python values, paths as strings and non-finite
    floats as None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        return _clean(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value
