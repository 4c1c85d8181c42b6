"""``deepcrn search TASK``: accuracy per reaction, over a grid of small networks, on Dask.

Each :class:`Candidate` (hidden widths, weight kind, sparsity pressure, seed) is trained with the
task's recipe (its preprocessing, evaluation set and training settings), pruned
(:func:`deepcrn.prune.prune`: exactly the same function), compiled to the reduced CRN in the task's
form, proven equivalent to its network (:func:`deepcrn.verify.verify_equivalence`) and simulated
by mass-action ODE under random rate constants on a few evaluation examples. A row records its
accuracy on the evaluation set (and on the validation and whole test splits), its CRN's cost
(reduced reactions, species, total products, ODE convergence time) and the checks.
:func:`pareto_front` marks the rows no other row beats on both accuracy and a cost.

Candidates are independent Dask tasks (the dataset is scattered to the workers once), so results
do not depend on how many workers run them; the scheduler is a local cluster by default, or any
running Dask scheduler (``address``).

    >>> rows = [{"acc": 0.9, "cost": 10}, {"acc": 0.95, "cost": 12}, {"acc": 0.9, "cost": 11}]
    >>> pareto_front(rows, "acc", "cost")
    [True, True, False]
    >>> [c.name for c in candidates(SearchSpace((2, 3), (1,), ("ternary",), (0.0,)), seeds=1)]
    ['2-ternary-s0-seed0', '3-ternary-s0-seed0']
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .._io import atomic_dir, atomic_write_text, make_dir
from ..analysis import stats
from ..compile import compile_network
from ..errors import DataError, DeepCRNError
from ..interop.text import save_crn
from ..io_map import agreement
from ..kinetics import simulate
from ..network import Network, WeightKind, from_dict
from ..prune import prune
from ..verify import verify_equivalence
from . import report
from .datasets import Dataset
from .sweep import check_address, dask_client
from .tasks import SearchSpace, Task, check_weight_scale

ODE_TOL = 1e-3


@dataclass(frozen=True)
class Candidate:
    """One network to train: hidden widths, weight kind, sparsity pressure, seed."""

    hidden: tuple[int, ...]
    kind: WeightKind
    sparsity: float
    seed: int

    @property
    def name(self) -> str:
        return f"{'-'.join(map(str, self.hidden))}-{self.kind}-s{self.sparsity:g}-seed{self.seed}"


def candidates(
    space: SearchSpace, seeds: int, max_hidden: int | None = None, kinds: Sequence[str] | None = None
) -> list[Candidate]:
    """The grid: every depth x width (at most ``max_hidden``) x kind x sparsity x seed ``0..seeds-1``."""
    widths = [w for w in space.widths if max_hidden is None or w <= max_hidden]
    if not widths:
        raise DataError(f"--max-hidden {max_hidden} leaves no width; the smallest is {min(space.widths)}")
    chosen = tuple(kinds) if kinds else space.kinds
    return [
        Candidate((w,) * d, k, s, seed)  # type: ignore[arg-type]
        for d in space.depths
        for w in widths
        for k in chosen
        for s in space.sparsities
        for seed in range(seeds)
    ]


def evaluate_candidate(
    cand: Candidate, ds: Dataset, training: dict[str, Any], lows: np.ndarray | None, n_ode: int
) -> dict[str, Any]:
    """Train, prune, compile, prove and simulate one candidate; a row of numbers and its network."""
    from .train import TrainConfig, train_network

    config = TrainConfig(**{**training, "hidden": cand.hidden, "sparsity": cand.sparsity}, kind=cand.kind)
    config.seed = cand.seed
    extra: dict[str, object] = {"input_names": ds.feature_names, "output_names": ds.class_names, "task": ds.name}
    if lows is not None:
        extra["input_lower_bounds"] = [float(v) for v in lows]
    result = train_network(ds.x_train, ds.y_train, ds.x_val, ds.y_val, ds.n_classes, config, extra)
    net, pruned = prune(result.network)
    crn = compile_network(net, "reduced", lows)
    size = stats(crn)
    ev = np.arange(len(ds.y_test)) if ds.eval_index is None else ds.eval_index
    pred = net.predict(ds.x_test)
    proof = verify_equivalence(net, crn)
    row: dict[str, Any] = {
        "name": cand.name,
        "hidden": "-".join(map(str, cand.hidden)),
        "kind": cand.kind,
        "sparsity": cand.sparsity,
        "seed": cand.seed,
        "pruned_hidden": "-".join(map(str, net.shape[1:-1])),
        "weight_kind": net.weight_kind,
        "accuracy": float(np.mean(pred[ev] == ds.y_test[ev])),
        "val_accuracy": float(np.mean(net.predict(ds.x_val) == ds.y_val)),
        "test_accuracy": float(np.mean(pred == ds.y_test)),
        "reactions": size["n_reactions"],
        "species": size["n_species"],
        "total_products": size["total_products"],
        "proven_equivalent": proof.equivalent,
        "train_seconds": result.seconds,
    }
    n = min(n_ode, len(ev))
    if n:
        pick = np.sort(np.random.default_rng(cand.seed).choice(ev, n, replace=False))
        ode = simulate(crn, ds.x_test[pick], rates="random", seed=cand.seed, tol=ODE_TOL)
        agree = agreement(net.forward(ds.x_test[pick]), ode.outputs, atol=2 * ode.tolerance)
        row.update(
            ode_median_time=float(np.median(ode.times)),
            ode_max_time=float(np.max(ode.times)),
            ode_converged=int(ode.converged.sum()),
            ode_examples=n,
            ode_agreement=agree.fraction,
        )
    else:
        row.update(ode_median_time=math.nan, ode_max_time=math.nan, ode_agreement=math.nan)
        row.update(ode_converged=0, ode_examples=0)
    return {"row": row, "network": net.to_dict()}


def _evaluate_or_fail(
    cand: Candidate, ds: Dataset, training: dict[str, Any], lows: np.ndarray | None, n_ode: int
) -> dict[str, Any]:
    """:func:`evaluate_candidate`, or ``{"failed": {"name", "error"}}`` when it stops on a user-level
    error (:class:`DeepCRNError`: training diverged, a network past the limits), so that one
    candidate's failure does not cost the others'."""
    try:
        return evaluate_candidate(cand, ds, training, lows, n_ode)
    except DeepCRNError as err:
        return {"failed": {"name": cand.name, "error": str(err)}}


def pareto_front(rows: Sequence[dict[str, Any]], gain: str, cost: str) -> list[bool]:
    """For each row: True when no other row has ``gain`` at least as high and ``cost`` at most as
    high, one of them strictly (rows equal on both are all kept)."""
    g = np.array([r[gain] for r in rows], dtype=float)
    c = np.array([r[cost] for r in rows], dtype=float)
    return [not bool(np.any((g >= g[i]) & (c <= c[i]) & ((g > g[i]) | (c < c[i])))) for i in range(len(rows))]


@dataclass
class SearchResult:
    """``rows``: one per candidate, in grid order (see :func:`evaluate_candidate`), with
    ``pareto_reactions`` and ``pareto_products`` (on the front of accuracy against reduced
    reactions, against total products) and ``dominates_paper`` (accuracy at least the paper's
    with fewer reactions, or higher with no more); ``networks``: their networks by name;
    ``failed``: the candidates that stopped on an error (name and message), not in ``rows``."""

    rows: list[dict[str, Any]]
    networks: dict[str, Network]
    seconds: float
    failed: list[dict[str, str]] = field(default_factory=list)


def dominates(row: dict[str, Any], accuracy: float, reactions: int) -> bool:
    """At least ``accuracy`` with fewer than ``reactions``, or more accuracy with no more reactions."""
    return bool(
        (row["accuracy"] >= accuracy and row["reactions"] < reactions)
        or (row["accuracy"] > accuracy and row["reactions"] <= reactions)
    )


def search(
    task: Task,
    ds: Dataset,
    cands: Sequence[Candidate],
    training: dict[str, Any],
    lows: np.ndarray | None,
    *,
    n_ode: int = 10,
    address: str | None = None,
    n_workers: int = 2,
    progress: bool = False,
) -> SearchResult:
    """Evaluate every candidate on Dask distributed and mark the Pareto fronts. A candidate that
    stops on a :class:`DeepCRNError` is set aside in ``failed``; if every one does, the first
    one's error is raised."""
    if n_workers < 1:
        raise DataError(f"--workers must be at least 1, got {n_workers}")
    check_address(address, DataError)
    start = time.perf_counter()
    with dask_client(address, n_workers) as client:
        from dask.distributed import as_completed

        ds_f = client.scatter(ds, broadcast=True)
        futures = [client.submit(_evaluate_or_fail, c, ds_f, training, lows, n_ode, pure=False) for c in cands]
        done: dict[str, dict[str, Any]] = {}
        for future in tqdm(as_completed(futures), total=len(futures), desc="search", unit="net", disable=not progress):
            out = future.result()
            done[out["failed"]["name"] if "failed" in out else out["row"]["name"]] = out
    failed = [done[c.name]["failed"] for c in cands if "failed" in done[c.name]]
    if failed and len(failed) == len(cands):
        raise DataError(f"every candidate failed; the first, {failed[0]['name']}: {failed[0]['error']}")
    kept = [c for c in cands if "row" in done[c.name]]
    rows = [done[c.name]["row"] for c in kept]
    for key, cost in (("pareto_reactions", "reactions"), ("pareto_products", "total_products")):
        for row, front in zip(rows, pareto_front(rows, "accuracy", cost)):
            row[key] = front
    ref = task.reference
    for row in rows:
        row["dominates_paper"] = ref is not None and dominates(row, ref.accuracy, ref.reactions)
    networks = {c.name: from_dict(done[c.name]["network"]) for c in kept}
    return SearchResult(rows, networks, time.perf_counter() - start, failed)


@dataclass(frozen=True)
class SearchOptions:
    """What ``deepcrn search`` was asked (``None``: the task's default)."""

    task: str
    out: Path
    recipe: str = "paper"
    seeds: int = 5
    max_hidden: int | None = None
    kinds: tuple[str, ...] | None = None
    sparsities: tuple[float, ...] | None = None
    depths: tuple[int, ...] | None = None
    epochs: int | None = None
    polish: int | None = None
    weight_scale: float | None = None
    n_ode: int = 10
    address: str | None = None
    n_workers: int = 2
    progress: bool = False

    def __post_init__(self) -> None:
        if self.seeds < 1:
            raise DataError(f"--seeds must be at least 1, got {self.seeds}")
        if self.epochs is not None and self.epochs < 1:
            raise DataError(f"--epochs must be at least 1, got {self.epochs}")
        if self.n_ode < 0:
            raise DataError(f"--ode-examples must be 0 or more, got {self.n_ode}")
        if self.polish is not None and self.polish < 0:
            raise DataError(f"--polish must be 0 or more, got {self.polish}")
        check_weight_scale(self.weight_scale)
        if self.sparsities is not None and any(not (math.isfinite(s) and s >= 0) for s in self.sparsities):
            raise DataError(f"--sparsity values must be finite and >= 0, got {self.sparsities}")
        if self.n_workers < 1:
            raise DataError(f"--workers must be at least 1, got {self.n_workers}")
        check_address(self.address, DataError)


CSV_COLUMNS = (
    "name", "hidden", "kind", "sparsity", "seed", "pruned_hidden", "weight_kind", "accuracy", "val_accuracy",
    "test_accuracy", "reactions", "species", "total_products", "ode_median_time", "ode_max_time", "ode_converged",
    "ode_examples", "ode_agreement", "proven_equivalent", "pareto_reactions", "pareto_products", "dominates_paper",
    "train_seconds",
)  # fmt: skip


def run_search(opts: SearchOptions) -> tuple[SearchResult, dict[str, Any]]:
    """Search ``opts.task`` and write ``opts.out`` (replaced as a whole): ``pareto.csv`` (every
    candidate), ``pareto.png``, ``search.json`` (the summary) and ``networks/NAME/`` (network and
    CRN) for every network on a front or dominating the paper's."""
    from .run import shift_bounds
    from .tasks import get_task

    task = get_task(opts.task)
    recipe = task.recipe(opts.recipe)
    space = task.space
    if space is None:
        raise DataError(f"task {task.name!r} has no search space; search one of the paper's tasks")
    space = SearchSpace(space.widths, opts.depths or space.depths, space.kinds, opts.sparsities or space.sparsities)
    cands = candidates(space, opts.seeds, opts.max_hidden, opts.kinds)
    ds = task.load(0, opts.recipe)
    lows = shift_bounds(task, ds, None)
    training = recipe.training()
    if opts.epochs is not None:
        training["epochs"] = opts.epochs
    if opts.polish is not None:
        training["polish"] = opts.polish
    if opts.weight_scale is not None:
        training["weight_scale"] = opts.weight_scale
    result = search(
        task, ds, cands, training, lows, n_ode=opts.n_ode, address=opts.address, n_workers=opts.n_workers,
        progress=opts.progress,
    )  # fmt: skip
    summary = _summary(task, opts, ds, result, training)
    with atomic_dir(opts.out) as out:
        lines = [",".join(CSV_COLUMNS)] + [",".join(_cell(row[c]) for c in CSV_COLUMNS) for row in result.rows]
        atomic_write_text(out / "pareto.csv", "\n".join(lines) + "\n")
        report.plot_pareto(result.rows, task.reference, out / "pareto.png", f"{task.name}: {ds.evaluation}")
        for name in summary["chosen"]:
            net = result.networks[name]
            folder = make_dir(out / "networks" / name)
            net.save(folder / "network.json")
            save_crn(compile_network(net, "reduced", lows), folder / "crn.txt")
        report.write_json(out / "search.json", summary)
    return result, summary


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return "" if math.isnan(value) else format(value, ".6g")
    return str(value)


def _summary(
    task: Task, opts: SearchOptions, ds: Dataset, result: SearchResult, training: dict[str, Any]
) -> dict[str, Any]:
    rows = result.rows
    chosen = [r["name"] for r in rows if r["pareto_reactions"] or r["pareto_products"] or r["dominates_paper"]]
    configs: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        configs.setdefault(f"{r['hidden']}-{r['kind']}-s{r['sparsity']:g}", []).append(r)
    per_config = {
        name: {
            "seeds": len(group),
            "accuracy_mean": float(np.mean([r["accuracy"] for r in group])),
            "accuracy_std": float(np.std([r["accuracy"] for r in group])),
            "reactions_mean": float(np.mean([r["reactions"] for r in group])),
            "total_products_mean": float(np.mean([r["total_products"] for r in group])),
            "dominating_seeds": sum(bool(r["dominates_paper"]) for r in group),
        }
        for name, group in configs.items()
    }
    ref = task.reference
    return {
        "task": task.name,
        "recipe": opts.recipe,
        "evaluation_set": ds.evaluation,
        "n_eval": ds.n_eval,
        "candidates": len(rows) + len(result.failed),
        "failed": result.failed,
        "training": training,
        "paper": None if ref is None else vars(ref),
        "chosen": chosen,
        "dominating": [r["name"] for r in rows if r["dominates_paper"]],
        "configs": per_config,
        "seconds": result.seconds,
    }
