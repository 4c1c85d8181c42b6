"""Metrics and figures for a run: training curves, kinetics, confusion matrix, patterns.

Every figure is a PNG written atomically; ``write_report`` writes ``report.md`` linking them.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ._io import atomic_write_bytes, atomic_write_text  # noqa: E402


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``(n_classes, n_classes)``: row = true class, column = predicted."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (y_true, y_pred), 1)
    return m


def _save(fig: Any, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def plot_training(history: dict[str, list[float]], best_epoch: int, path: Path) -> None:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
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
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.4), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
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


def plot_confusion(matrix: np.ndarray, class_names: Sequence[str], path: Path, title: str) -> None:
    k = len(class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * k, 0.8 + 0.55 * k))
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
    fig, (a, b) = plt.subplots(1, 2, figsize=(6, 3.4))
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
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
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


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=1, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_report(path: Path, metrics: dict[str, Any], plots: Sequence[tuple[str, str]]) -> None:
    """``report.md``: the key numbers and the plots."""
    m = metrics
    lines = [
        f"# deepcrn run: {m['task']}",
        "",
        f"Network {m['network_shape']} ({m['weight_kind']} weights), CRN in {m['crn_form']} form"
        f"{' with input shift' if m.get('input_shift') else ''}.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| network test accuracy | {m['nn_accuracy']:.4f} ({m['n_test']} test examples) |",
        f"| CRN test accuracy (exact equilibrium) | {m['crn_accuracy']:.4f} |",
        f"| CRN-network agreement (exact, every test example) | {m['agreement']:.4f} |",
        f"| max abs difference, CRN vs network outputs | {m['max_abs_diff']:.3g} |",
        f"| ReLU circuit of the CRN: nodes per level / max abs difference vs firing | "
        f"{'-'.join(map(str, m['circuit']['widths'])) or 'none'} / {m['circuit']['max_abs_diff_vs_firing']:.3g} |",
        f"| equivalent to the network for every input (symbolic) | {'yes' if m['proven_equivalent'] else 'no'}: "
        f"{m['proof']} |",
        f"| ODE examples (random rates {m['ode']['rate_range']}, seed {m['ode']['seed']}) | {m['ode']['n']} |",
        f"| ODE agreement / converged | {m['ode']['agreement']:.4f} / {m['ode']['converged']} of {m['ode']['n']} |",
        f"| ODE max abs difference vs network | {m['ode']['max_abs_diff']:.3g} |",
        f"| ODE stopping time (1/k), median / max | {m['ode']['median_time']:.3g} / {m['ode']['max_time']:.3g} |",
        f"| species / reactions (this CRN) | {m['n_species']} / {m['n_reactions']} |",
        f"| reactions, full / reduced form | {m['n_reactions_full']} / {m['n_reactions_reduced']} |",
        "| initial concentrations, min nonzero / max | "
        f"{m['concentration_range'][0]:.3g} / {m['concentration_range'][1]:.3g} |",
        f"| training / verification time (s) | {m['train_seconds']:.1f} / {m['verify_seconds']:.1f} |",
        "",
    ]
    if m.get("per_class_accuracy"):
        lines += [
            "Per-class CRN accuracy: " + ", ".join(f"{k} {v:.3f}" for k, v in m["per_class_accuracy"].items()),
            "",
        ]
    for title, file in plots:
        lines += [f"## {title}", "", f"![{title}]({file})", ""]
    if m.get("credit"):
        lines += [f"Pattern graphics: {m['credit']}.", ""]
    atomic_write_text(path, "\n".join(lines))
