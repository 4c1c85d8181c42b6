"""The typed record of a ``deepcrn run`` (written as ``metrics.json``) and its ``report.md``.

``metrics.json`` holds at least DESIGN section 8's keys (``nn_accuracy``, ``crn_accuracy``,
``agreement``, ``n_species``, ``n_reactions``, ``n_test``); it is strict JSON (a value that
cannot be measured, such as the kinetics of zero examples, is ``null``, never NaN).

Class comparisons are tie-aware (:func:`deepcrn.io_map.agreement`): ``agreement`` counts an
example when the CRN's class is among the network's classes within ``tie_tolerance`` (relative
to the example's largest output, at least 1) of its best, and vice versa; ``n_ties`` counts the
test examples where the network has more than one such class.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._io import atomic_write_text


@dataclass
class CircuitCheck:
    """The ReLU circuit derived from the reactions, evaluated on the test split."""

    widths: list[int]
    multiply_adds: int
    max_abs_diff_vs_firing: float
    seconds: float


@dataclass
class KineticsCheck:
    """Mass-action ODE with random rate constants on ``n`` test examples."""

    n: int
    examples: list[int]
    seed: int
    rate_range: str
    engine: str
    stopping_rule: str
    tol: float
    agreement: float | None
    n_ties: int
    converged: int
    not_converged: list[int]
    max_abs_diff: float | None
    median_time: float | None
    max_time: float | None
    seconds: float


@dataclass
class CrossValidation:
    """Stratified ``folds``-fold cross-validated accuracy of the recipe (one network per fold)."""

    folds: int
    mean: float
    std: float
    accuracies: list[float]
    seconds: float


@dataclass
class CountsCheck:
    """The CRN at ``N`` molecules per unit (integer-count exact equilibrium) on the test split.

    ``agreement``: tie-aware class agreement with the network; ``max_rounding_error``: the
    largest ``|output - network output|`` seen; ``rounding_bound``: the largest proven bound
    over the outputs (:func:`deepcrn.exact.rounding_bound`), valid for every input."""

    N: float
    accuracy: float
    agreement: float
    n_ties: int
    max_rounding_error: float
    rounding_bound: float
    engine: str
    seconds: float


@dataclass
class SSACheck:
    """Stochastic trajectories (the levels engine) of a few test examples at ``N`` molecules
    per unit, rate constants as given in the CRN (1)."""

    N: float
    examples: list[int]
    completion_times: list[float]
    events: list[int]
    completed: int
    equal_to_exact: int  #: trajectories whose final outputs equal the integer-count equilibrium bit for bit
    seconds: float


@dataclass
class Metrics:
    """Everything a run measured (see the module docstring)."""

    task: str
    network_shape: str
    weight_kind: str
    crn_form: str
    input_shift: bool
    nn_accuracy: float
    crn_accuracy: float
    agreement: float
    n_ties: int
    tie_tolerance: float
    max_abs_diff: float
    n_test: int
    n_train: int
    n_val: int
    per_class_accuracy: dict[str, float]
    n_species: int
    n_reactions: int
    n_reactions_full: int
    n_reactions_reduced: int
    n_species_full: int
    crn_stats: dict[str, Any]
    exact_engine: str
    circuit: CircuitCheck
    proven_equivalent: bool
    proof: str
    ode: KineticsCheck
    concentration_range: list[float]
    final_concentration_max: float
    confusion: list[list[int]]
    train_seconds: float
    compile_seconds: float
    exact_seconds: float
    verify_seconds: float
    seed: int
    dataset: dict[str, Any]
    best_epoch: int | None = None
    epochs_run: int | None = None
    credit: str | None = None
    recipe: str = "default"
    evaluation_set: str = "test split"  # what nn_accuracy and crn_accuracy are measured on
    n_eval: int | None = None
    nn_test_accuracy: float | None = None  # on the whole test split
    crn_test_accuracy: float | None = None
    paper_accuracy: float | None = None  # the authors' figure on the same evaluation set
    paper_network: str | None = None
    paper_reactions: int | None = None  # their released CRN in this run's form
    paper_species: int | None = None
    paper_total_products: int | None = None
    recipe_fix: str | None = None  # what the paper recipe changes from the authors' training, and why
    polish: dict[str, float] | None = None  # polishing after training: sweeps, moves, objective before/after
    cross_validation: CrossValidation | None = None
    counts: list[CountsCheck] = field(default_factory=list)
    ssa: SSACheck | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        extra = out.pop("extra")
        return {**out, **extra}


def _fmt(value: float | None, spec: str = ".4f") -> str:
    return "n/a" if value is None else format(value, spec)


def _paper_lines(m: Metrics) -> list[str]:
    """The comparison with the authors' network, for paper recipes."""
    if m.paper_accuracy is None:
        return []
    cv = m.cross_validation
    lines = [
        "| | the paper (authors' released network) | this run |",
        "|---|---|---|",
        f"| network | {m.paper_network} | {m.network_shape} |",
        f"| accuracy on {m.evaluation_set} | {m.paper_accuracy:.4f} | {m.nn_accuracy:.4f} |",
        f"| reduced reactions / species / total products | {m.paper_reactions} / {m.paper_species} / "
        f"{m.paper_total_products} | {m.n_reactions} / {m.n_species} / {m.crn_stats.get('total_products')} |",
    ]
    if cv is not None:
        lines.append(
            f"| held-out accuracy, stratified {cv.folds}-fold cross-validation | not reported | "
            f"{cv.mean:.4f} +- {cv.std:.4f} |"
        )
    if m.recipe_fix:
        lines += ["", f"The {m.recipe} recipe departs from the authors' training: {m.recipe_fix}."]
    return [*lines, ""]


def write_report(path: Path, m: Metrics, plots: Sequence[tuple[str, str]]) -> None:
    """``report.md``: the key numbers and the plots."""
    ode = m.ode
    ties = f" ({m.n_ties} near-ties within {m.tie_tolerance:g} counted as agreeing)" if m.n_ties else ""
    lines = [
        f"# deepcrn run: {m.task}",
        "",
        f"Network {m.network_shape} ({m.weight_kind} weights), CRN in {m.crn_form} form"
        f"{' with input shift' if m.input_shift else ''}; recipe {m.recipe}.",
        "",
        *_paper_lines(m),
        "| measure | value |",
        "|---|---|",
        f"| network accuracy on {m.evaluation_set} | {m.nn_accuracy:.4f} ({m.n_eval or m.n_test} examples) |",
        *(
            [f"| network accuracy on the whole test split | {m.nn_test_accuracy:.4f} ({m.n_test} examples) |"]
            if m.n_eval is not None and m.n_eval != m.n_test and m.nn_test_accuracy is not None
            else []
        ),
        f"| CRN test accuracy (exact equilibrium, {m.exact_engine}) | {m.crn_accuracy:.4f} |",
        f"| CRN-network agreement (exact, every test example, tie-aware) | {m.agreement:.4f}{ties} |",
        f"| max abs difference, CRN vs network outputs | {m.max_abs_diff:.3g} |",
        f"| ReLU circuit of the CRN: nodes per layer / max abs difference vs firing | "
        f"{'-'.join(map(str, m.circuit.widths)) or 'none'} / {m.circuit.max_abs_diff_vs_firing:.3g} |",
        f"| equivalent to the network for every input (symbolic) | {'yes' if m.proven_equivalent else 'no'}: "
        f"{m.proof} |",
        f"| ODE examples (random rates {ode.rate_range}, seed {ode.seed}; {ode.engine} engine, "
        f"{ode.stopping_rule} rule, tol {ode.tol:g}) | {ode.n} |",
        f"| ODE agreement / converged | {_fmt(ode.agreement)} / {ode.converged} of {ode.n} |",
        f"| ODE max abs difference vs network | {_fmt(ode.max_abs_diff, '.3g')} |",
        f"| ODE stopping time (1/k), median / max | {_fmt(ode.median_time, '.3g')} / {_fmt(ode.max_time, '.3g')} |",
        f"| species / reactions (this CRN) | {m.n_species} / {m.n_reactions} |",
        f"| reactions, full / reduced form | {m.n_reactions_full} / {m.n_reactions_reduced} |",
        "| initial concentrations, min nonzero / max | "
        f"{m.concentration_range[0]:.3g} / {m.concentration_range[1]:.3g} |",
        *(
            [
                f"| polished after training: sweeps / moves / training loss (+ sparsity penalty) before -> after | "
                f"{m.polish['sweeps']:.0f} / {m.polish['moves']:.0f} / {m.polish['before']:.4g} -> "
                f"{m.polish['after']:.4g} |"
            ]
            if m.polish is not None
            else []
        ),
        f"| training / verification time (s) | {m.train_seconds:.1f} / {m.verify_seconds:.1f} |",
        "",
    ]
    if m.counts:
        lines += [
            "## Molecule counts",
            "",
            "Integer counts: every species starts with rint(N * concentration) molecules; the integer-count "
            "equilibrium is computed exactly. The rounding bound is proven for every input.",
            "",
            "| molecules per unit N | CRN test accuracy | agreement with network | max abs error vs network "
            "| proven rounding bound |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {c.N:g} | {c.accuracy:.4f} | {c.agreement:.4f} | {c.max_rounding_error:.3g} | {c.rounding_bound:.3g} |"
            for c in m.counts
        ]
        lines.append("")
    if m.ssa is not None:
        t = m.ssa.completion_times
        lines += [
            f"SSA (exact in distribution) at N = {m.ssa.N:g} on test examples {', '.join(map(str, m.ssa.examples))}: "
            f"{m.ssa.completed}/{len(m.ssa.examples)} completed, {m.ssa.equal_to_exact} end exactly at the "
            f"integer-count equilibrium; events {', '.join(map(str, m.ssa.events))}; completion times "
            f"{', '.join(f'{v:.3g}' for v in t)} (1/k); {m.ssa.seconds:.1f} s.",
            "",
        ]
    if m.per_class_accuracy:
        lines += [
            "Per-class CRN accuracy: " + ", ".join(f"{k} {v:.3f}" for k, v in m.per_class_accuracy.items()),
            "",
        ]
    for title, file in plots:
        lines += [f"## {title}", "", f"![{title}]({file})", ""]
    if m.credit:
        lines += [f"Pattern graphics: {m.credit}.", ""]
    atomic_write_text(path, "\n".join(lines))
