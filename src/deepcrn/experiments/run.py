"""``deepcrn run TASK``: train (or load) a network, compile it, verify the CRN, report.

One stage function per step, each taking records and returning records: :func:`load_data`,
:func:`obtain_network`, :func:`compile_stage`, :func:`exact_stage`, :func:`kinetics_stage`,
:func:`counts_stage`, :func:`write_outputs`; :func:`run_task` chains them. Verification
evaluates the **whole test split** through the CRN exactly (every example), proves the CRN
computes the network for every input, and simulates ``n_ode`` test examples by mass-action ODE
with random rate constants. With molecule counts (``molecules_per_unit``), the whole test split
also goes through the integer-count equilibrium at each ``N``, and a few test examples through
stochastic simulation (DESIGN section 9).

The output folder is written as a whole: everything goes to a temporary folder beside it that
replaces it at the end (:func:`deepcrn._io.atomic_dir`), so a run that fails midway leaves the
previous results untouched. ``network.json`` holds exactly what was compiled (with the input
lower bounds used by the shift), so ``deepcrn compile network.json [--shift]`` reproduces
``crn.txt`` byte for byte.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_dir
from ..analysis import stats
from ..compile import compile_network
from ..crn import CRN
from ..errors import DataError, SimulationError
from ..exact import engine_name, evaluator, final_state, relu_circuit, rounding_bound
from ..interop.text import save_crn
from ..io_map import TIE_RTOL, agreement, initial_counts, initial_state
from ..kinetics import KineticsResult, simulate
from ..kinetics.rates import check_seed
from ..network import Network, WeightKind, load_network
from ..verify import Equivalence, verify_equivalence
from . import report
from .datasets import Dataset
from .metrics import CircuitCheck, CountsCheck, CrossValidation, KineticsCheck, Metrics, SSACheck, write_report
from .tasks import Task, check_weight_scale, get_task

log = logging.getLogger(__name__)
ODE_TOL = 1e-3
RATE_RANGE = (0.1, 10.0)
#: ``deepcrn run`` simulates its SSA examples at the smallest N asked (where molecule noise shows
#: most, and the fewest events), unless a trajectory would need more events than this.
SSA_EVENTS = 10**8


#: the most restarts ``--restarts`` accepts (they train side by side, each with its own memory)
MAX_RESTARTS = 1024


@dataclass(frozen=True)
class RunOptions:
    """What ``deepcrn run`` was asked (``None``: the task's default)."""

    task: str
    out: Path
    seed: int = 0
    epochs: int | None = None
    restarts: int | None = None
    polish: int | None = None
    weight_scale: float | None = None
    hidden: tuple[int, ...] | None = None
    kind: WeightKind | None = None
    loss: str | None = None
    recipe: str = "default"
    coordinates: str | None = None
    cv_folds: int | None = None
    network: Path | None = None
    n_ode: int = 20
    image: str | None = None
    shift: bool | None = None
    train_subset: int | None = None
    test_subset: int | None = None
    mnist_train: Path | None = None
    mnist_size: int | None = None
    progress: bool = False
    molecules_per_unit: tuple[float, ...] = ()
    n_ssa: int = 3

    def __post_init__(self) -> None:
        for name in ("epochs", "restarts", "train_subset", "test_subset"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise DataError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
        if self.polish is not None and self.polish < 0:
            raise DataError(f"--polish must be 0 or more, got {self.polish}")
        check_weight_scale(self.weight_scale)
        if self.restarts is not None and self.restarts > MAX_RESTARTS:
            raise DataError(f"--restarts must be at most {MAX_RESTARTS}, got {self.restarts}")
        if self.n_ode < 0:
            raise DataError(f"--ode-examples must be 0 or more, got {self.n_ode}")
        if self.recipe != "default":
            for flag, value in (("--hidden", self.hidden), ("--weights", self.kind), ("--loss", self.loss)):
                if value is not None:
                    raise DataError(
                        f"{flag} does not apply with --recipe {self.recipe}: the recipe fixes the paper's "
                        "network size, ternary weights and squared hinge loss"
                    )
        if self.cv_folds is not None and self.cv_folds != 0 and self.cv_folds < 2:
            raise DataError(f"--cv-folds must be 0 (none) or at least 2, got {self.cv_folds}")
        try:
            check_seed(self.seed)
        except SimulationError as err:
            raise DataError(f"--seed: {err}") from None
        if self.n_ssa < 0:
            raise DataError(f"--ssa-examples must be 0 or more, got {self.n_ssa}")


@dataclass(frozen=True)
class Trained:
    network: Network
    history: dict[str, list[float]] | None  # None when the network was loaded, not trained
    best_epoch: int | None
    seconds: float
    polish: dict[str, float] | None = None  # what polishing did, when it ran


@dataclass(frozen=True)
class Compiled:
    crn: CRN  # reduced form: what is verified and written
    full: CRN
    lows: np.ndarray | None  # input lower bounds used by the shift
    network: Network  # the network as compiled (with those lower bounds recorded)
    seconds: float


@dataclass(frozen=True)
class ExactCheck:
    nn_out: np.ndarray
    crn_out: np.ndarray
    engine: str
    circuit: CircuitCheck
    proof: Equivalence
    seconds: float


def load_data(task: Task, opts: RunOptions) -> Dataset:
    """The task's dataset as the recipe prepares it, subsampled when asked (the hidden
    ``--train-subset``/``--test-subset``; the latter not where the evaluation set is a fixed part
    of the test split)."""
    ds = task.load(
        opts.seed,
        opts.recipe,
        image=opts.image,
        mnist_size=opts.mnist_size,
        mnist_train=opts.mnist_train,
        coordinates=opts.coordinates,
    )
    if opts.test_subset is not None and ds.eval_index is not None:
        raise DataError(f"--test-subset does not apply to {ds.evaluation}: the evaluation set is fixed")
    rng = np.random.default_rng(opts.seed)
    if opts.train_subset is not None and opts.train_subset < len(ds.y_train):
        keep = rng.choice(len(ds.y_train), opts.train_subset, replace=False)
        ds = replace(ds, x_train=ds.x_train[keep], y_train=ds.y_train[keep])
    if opts.test_subset is not None and opts.test_subset < len(ds.y_test) and ds.image_shape is None:
        keep = np.sort(rng.choice(len(ds.y_test), opts.test_subset, replace=False))
        ds = replace(ds, x_test=ds.x_test[keep], y_test=ds.y_test[keep])
    return ds


def obtain_network(task: Task, ds: Dataset, opts: RunOptions) -> Trained:
    """Load ``opts.network``, or train one (PyTorch is imported only here)."""
    if opts.network is not None:
        net = load_network(opts.network)
        if net.n_inputs != ds.n_features or net.n_outputs != ds.n_classes:
            raise DataError(
                f"{opts.network}: network maps {net.n_inputs} inputs to {net.n_outputs} outputs, but task "
                f"{opts.task} has {ds.n_features} features and {ds.n_classes} classes"
            )
        return Trained(net, None, None, 0.0)
    from .train import train_network

    config = train_config(task, opts)
    extra: dict[str, object] = {
        "input_names": ds.feature_names,
        "output_names": ds.class_names,
        "task": ds.name,
        "training": {**vars(config), "recipe": opts.recipe},
    }
    if ds.input_lower_bounds is not None:
        extra["input_lower_bounds"] = [float(v) for v in ds.input_lower_bounds]
    result = train_network(ds.x_train, ds.y_train, ds.x_val, ds.y_val, ds.n_classes, config, extra, opts.progress)
    return Trained(result.network, result.history, result.best_epoch, result.seconds, result.polish)


def train_config(task: Task, opts: RunOptions) -> Any:
    """The :class:`~deepcrn.experiments.train.TrainConfig` of ``opts.recipe``, with the options'
    overrides (hidden widths, weight kind, loss, epochs, restarts, polishing sweeps, weight scale)
    and seed."""
    from .train import TrainConfig

    settings = task.recipe(opts.recipe).training()
    for key, value in (
        ("hidden", opts.hidden),
        ("loss", opts.loss),
        ("epochs", opts.epochs),
        ("restarts", opts.restarts),
        ("polish", opts.polish),
        ("weight_scale", opts.weight_scale),
    ):
        if value is not None:
            settings[key] = value
    return TrainConfig(**settings, kind=opts.kind or "ternary", seed=opts.seed)


def shift_bounds(task: Task, ds: Dataset, shift: bool | None) -> np.ndarray | None:
    """The input lower bounds the input shift uses (None: no shift; ``shift`` None: the task's
    default): the dataset's, widened where the test data dip below them, since a bound must hold
    on every example evaluated."""
    if not (task.shift if shift is None else shift):
        return None
    if ds.input_lower_bounds is None:
        raise DataError(f"task {task.name} has no known input lower bounds; run it without --shift")
    return np.minimum(ds.input_lower_bounds, ds.x_test.min(axis=0))


def compile_stage(net: Network, task: Task, ds: Dataset, opts: RunOptions) -> Compiled:
    """Both forms, the reduced one with the input shift where it applies. A lower bound must
    hold on every example evaluated, so it is widened where the test data dip below it, and the
    network records the bounds it was compiled with."""
    lows = shift_bounds(task, ds, opts.shift)
    if lows is not None:
        net = Network(net.layers, net.weight_kind, {**net.extra, "input_lower_bounds": [float(v) for v in lows]})
    start = time.perf_counter()
    crn = compile_network(net, "reduced", lows)
    full = compile_network(net, "full", lows)
    return Compiled(crn, full, lows, net, time.perf_counter() - start)


def exact_stage(net: Network, crn: CRN, ds: Dataset) -> ExactCheck:
    """The whole test split through the CRN exactly, by both engines, and the symbolic proof."""
    start = time.perf_counter()
    nn_out = net.forward(ds.x_test)
    fire = evaluator(crn, "fire")
    crn_out = fire.evaluate(ds.x_test)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    circuit = relu_circuit(crn)
    circuit_out = circuit.evaluate(ds.x_test)
    check = CircuitCheck(
        list(circuit.widths),
        circuit.multiply_adds,
        float(np.max(np.abs(circuit_out - crn_out), initial=0.0)),
        time.perf_counter() - start,
    )
    proof = verify_equivalence(net, crn, circuit=circuit)
    return ExactCheck(nn_out, crn_out, engine_name(fire), check, proof, seconds)


def kinetics_stage(
    crn: CRN, x: np.ndarray, n_ode: int, seed: int, progress: bool, pool: np.ndarray | None = None
) -> tuple[np.ndarray, KineticsResult]:
    """``n_ode`` seeded test examples (rows of ``x``, drawn from ``pool``, default all) by
    mass-action ODE with random rate constants."""
    pool = np.arange(len(x)) if pool is None else pool
    n = min(n_ode, len(pool))
    idx = np.sort(np.random.default_rng(seed).choice(pool, n, replace=False))
    ode = simulate(crn, x[idx], rates="random", seed=seed, tol=ODE_TOL, record=min(3, n), progress=progress)
    return idx, ode


@dataclass(frozen=True)
class CountsRun:
    checks: list[CountsCheck]
    ssa: SSACheck | None
    ssa_trajectories: list[tuple[np.ndarray, np.ndarray]]
    ode_trajectories: list[tuple[np.ndarray, np.ndarray]]


def counts_stage(crn: CRN, x: np.ndarray, y: np.ndarray, nn_out: np.ndarray, opts: RunOptions) -> CountsRun:
    """The whole test split at each ``N`` of ``opts.molecules_per_unit`` (integer-count exact
    equilibrium: accuracy, tie-aware agreement with the network, largest error, proven bound), and
    ``opts.n_ssa`` seeded test examples by SSA at the smallest ``N`` (levels engine, rate
    constants as given; skipped with a warning beyond :data:`SSA_EVENTS` events) next to the
    mass-action ODE with the same rate constants."""
    from ..stochastic import event_counts
    from ..stochastic import simulate as ssa

    checks = []
    for n in opts.molecules_per_unit:
        start = time.perf_counter()
        ev = evaluator(crn, "auto", molecules_per_unit=n)
        out = ev.evaluate(x)
        agree = agreement(nn_out, out)
        checks.append(
            CountsCheck(
                N=n,
                accuracy=float(np.mean(out.argmax(1) == y)),
                agreement=agree.fraction,
                n_ties=agree.n_ties,
                max_rounding_error=float(np.max(np.abs(out - nn_out), initial=0.0)),
                rounding_bound=float(np.max(rounding_bound(crn, n), initial=0.0)),
                engine=engine_name(ev),
                seconds=time.perf_counter() - start,
            )
        )
    n_ssa = min(opts.n_ssa, len(x))
    if not opts.molecules_per_unit or n_ssa == 0:
        return CountsRun(checks, None, [], [])
    idx = np.sort(np.random.default_rng(opts.seed + 1).choice(len(x), n_ssa, replace=False))

    n = min(opts.molecules_per_unit)
    needed = int(event_counts(crn, initial_counts(crn, x[idx], n))[0].max())
    if needed > SSA_EVENTS:
        log.warning("no SSA: a trajectory at N = %g needs %d events (more than %d)", n, needed, SSA_EVENTS)
        return CountsRun(checks, None, [], [])
    start = time.perf_counter()
    res = ssa(crn, x[idx], n, seed=opts.seed, record=n_ssa, progress=opts.progress)
    seconds = time.perf_counter() - start
    exact_out = evaluator(crn, "auto", molecules_per_unit=n).evaluate(x[idx])
    ode = simulate(crn, x[idx], rates=res.rates, tol=1e-4, record=n_ssa)
    check = SSACheck(
        N=n,
        examples=idx.tolist(),
        completion_times=res.times.tolist(),
        events=res.events.tolist(),
        completed=int(res.completed.sum()),
        equal_to_exact=int(np.sum(np.all(res.outputs == exact_out, axis=1))),
        seconds=seconds,
    )
    return CountsRun(checks, check, res.trajectories, ode.trajectories)


def _kinetics_check(
    idx: np.ndarray, ode: KineticsResult, nn_out: np.ndarray, seed: int, seconds: float
) -> KineticsCheck:
    n = len(idx)
    # The ODE stops within its tolerance of the exact outputs: classes closer than twice that tie.
    agree = agreement(nn_out[idx], ode.outputs, atol=2 * ode.tolerance) if n else None
    diff = np.abs(ode.outputs - nn_out[idx])
    return KineticsCheck(
        n=n,
        examples=idx.tolist(),
        seed=seed,
        rate_range=f"{RATE_RANGE[0]:g}-{RATE_RANGE[1]:g} (log-uniform)",
        engine=ode.engine,
        stopping_rule=ode.stopping_rule,
        tol=ODE_TOL,
        agreement=agree.fraction if agree is not None else None,
        n_ties=agree.n_ties if agree is not None else 0,
        converged=int(ode.converged.sum()),
        not_converged=[int(idx[i]) for i in ode.not_converged],
        max_abs_diff=float(diff.max()) if n else None,
        median_time=float(np.median(ode.times)) if n else None,
        max_time=float(np.max(ode.times)) if n else None,
        seconds=seconds,
    )


def paper_fields(task: Task, recipe: str) -> dict[str, Any]:
    """The authors' figures to set beside ours (``paper_*`` in ``metrics.json``), for paper recipes."""
    ref = task.reference
    if recipe == "default" or ref is None:
        return {}
    return {
        "paper_accuracy": ref.accuracy,
        "paper_network": ref.network,
        "paper_reactions": ref.reactions,
        "paper_species": ref.species,
        "paper_total_products": ref.total_products,
        "recipe_fix": task.recipe(recipe).fix or None,
    }


def cross_validation(task: Task, ds: Dataset, opts: RunOptions) -> CrossValidation | None:
    """Stratified k-fold accuracy of the recipe (``--cv-folds``, default the recipe's): each fold's
    network is trained on the other folds exactly as the run's network is on all of them (where
    the recipe validates on its training set, so does each fold) and tested on the held-out fold."""
    folds = task.recipe(opts.recipe).cv_folds if opts.cv_folds is None else opts.cv_folds
    if not folds or opts.network is not None:
        return None
    from .protocols import stratified_folds
    from .train import train_network

    config = train_config(task, opts)
    same = ds.x_val is ds.x_train
    start = time.perf_counter()
    scores = []
    for k, (tr, te) in enumerate(stratified_folds(ds.y_train, folds, opts.seed)):
        config.seed = opts.seed * 1000 + k + 1
        x_val, y_val = (ds.x_train[tr], ds.y_train[tr]) if same else (ds.x_val, ds.y_val)
        net = train_network(ds.x_train[tr], ds.y_train[tr], x_val, y_val, ds.n_classes, config).network
        scores.append(float(np.mean(net.predict(ds.x_train[te]) == ds.y_train[te])))
    return CrossValidation(folds, float(np.mean(scores)), float(np.std(scores)), scores, time.perf_counter() - start)


def run_task(opts: RunOptions) -> Metrics:
    """Run one task end to end into ``opts.out`` (replaced as a whole) and return its metrics."""
    task = get_task(opts.task)
    ds = load_data(task, opts)
    with atomic_dir(opts.out) as out:
        plots: list[tuple[str, str]] = []
        trained = obtain_network(task, ds, opts)
        if trained.history is not None:
            report.plot_training(trained.history, trained.best_epoch or 0, out / "training.png")
            plots.append(("Training curves", "training.png"))
        comp = compile_stage(trained.network, task, ds, opts)
        net, crn = comp.network, comp.crn
        net.save(out / "network.json")
        save_crn(crn, out / "crn.txt")

        exact = exact_stage(net, crn, ds)
        start = time.perf_counter()
        idx, ode = kinetics_stage(crn, ds.x_test, opts.n_ode, opts.seed, opts.progress, ds.eval_index)
        ode_check = _kinetics_check(idx, ode, exact.nn_out, opts.seed, time.perf_counter() - start)

        counts = counts_stage(crn, ds.x_test, ds.y_test, exact.nn_out, opts)

        crn_pred = exact.crn_out.argmax(1)
        agree = agreement(exact.nn_out, exact.crn_out)
        init = initial_state(crn, ds.x_test[: min(len(ds.x_test), 2000)])
        final = final_state(crn, ds.x_test[: min(len(ds.x_test), 200)])
        nonzero = init[init > 0]
        matrix = report.confusion(ds.y_test, crn_pred, ds.n_classes)
        ev = np.arange(len(ds.y_test)) if ds.eval_index is None else ds.eval_index
        nn_pred = exact.nn_out.argmax(1)
        metrics = Metrics(
            task=opts.task if opts.task != "pattern" else f"pattern:{ds.name}",
            network_shape="-".join(map(str, net.shape)),
            weight_kind=net.weight_kind,
            crn_form="reduced",
            input_shift=comp.lows is not None,
            nn_accuracy=float(np.mean(nn_pred[ev] == ds.y_test[ev])),
            crn_accuracy=float(np.mean(crn_pred[ev] == ds.y_test[ev])),
            agreement=agree.fraction,
            n_ties=agree.n_ties,
            tie_tolerance=TIE_RTOL,
            max_abs_diff=float(np.max(np.abs(exact.crn_out - exact.nn_out))),
            n_test=int(len(ds.y_test)),
            n_train=int(len(ds.y_train)),
            n_val=int(len(ds.y_val)),
            per_class_accuracy={
                name: float(np.mean(crn_pred[ds.y_test == c] == c))
                for c, name in enumerate(ds.class_names)
                if np.any(ds.y_test == c)
            },
            n_species=len(crn.species),
            n_reactions=len(crn.reactions),
            n_reactions_full=len(comp.full.reactions),
            n_reactions_reduced=len(crn.reactions),
            n_species_full=len(comp.full.species),
            crn_stats=stats(crn),
            exact_engine=exact.engine,
            circuit=exact.circuit,
            proven_equivalent=exact.proof.equivalent,
            proof=exact.proof.reason,
            ode=ode_check,
            concentration_range=[float(nonzero.min()) if nonzero.size else 0.0, float(init.max())],
            final_concentration_max=float(final.max()),
            confusion=matrix.tolist(),
            train_seconds=trained.seconds,
            compile_seconds=comp.seconds,
            exact_seconds=exact.seconds,
            verify_seconds=exact.seconds + ode_check.seconds,
            seed=opts.seed,
            dataset=ds.info,
            best_epoch=None if trained.best_epoch is None else trained.best_epoch + 1,
            polish=trained.polish,
            epochs_run=None if trained.history is None else len(trained.history["loss"]),
            credit=ds.info.get("credit") if ds.image_shape is not None else None,
            recipe=opts.recipe,
            evaluation_set=ds.evaluation,
            n_eval=len(ev),
            nn_test_accuracy=float(np.mean(nn_pred == ds.y_test)),
            crn_test_accuracy=float(np.mean(crn_pred == ds.y_test)),
            **paper_fields(task, opts.recipe),
            cross_validation=cross_validation(task, ds, opts),
            counts=counts.checks,
            ssa=counts.ssa,
        )
        write_outputs(out, metrics, plots, ds, crn, idx, ode, exact, counts)
    return metrics


def write_outputs(
    out: Path,
    metrics: Metrics,
    plots: list[tuple[str, str]],
    ds: Dataset,
    crn: CRN,
    idx: np.ndarray,
    ode: KineticsResult,
    exact: ExactCheck,
    counts: CountsRun,
) -> None:
    """The plots, ``metrics.json`` and ``report.md``."""
    if len(idx):
        show = list(range(len(ode.trajectories)))
        report.plot_kinetics(
            ode.trajectories,
            exact.nn_out[idx[show]],
            crn.output_names,
            out / "kinetics.png",
            [int(idx[i]) for i in show],
        )
        plots.append(("Kinetics (output values; dashed: the network)", "kinetics.png"))
    if metrics.counts:
        report.plot_counts(
            [c.N for c in metrics.counts],
            [c.accuracy for c in metrics.counts],
            [c.agreement for c in metrics.counts],
            [c.rounding_bound for c in metrics.counts],
            metrics.nn_accuracy,
            out / "counts.png",
        )
        plots.append(("Accuracy at integer molecule counts (dashed: the network)", "counts.png"))
    if metrics.ssa is not None and counts.ssa_trajectories:
        report.plot_ssa(
            counts.ssa_trajectories,
            counts.ode_trajectories,
            crn.output_names,
            out / "ssa.png",
            metrics.ssa.examples,
            metrics.ssa.N,
        )
        plots.append(("Stochastic trajectories (solid) and the mass-action ODE (dashed)", "ssa.png"))
    crn_pred = exact.crn_out.argmax(1)
    report.plot_confusion(
        np.array(metrics.confusion), ds.class_names, out / "confusion.png", f"{metrics.task}: CRN on the test set"
    )
    plots.append(("Confusion matrix (CRN, exact)", "confusion.png"))
    if ds.image_shape is not None:
        h, w = ds.image_shape
        report.plot_pattern(
            ds.y_test.reshape(h, w), crn_pred.reshape(h, w), out / "pattern.png", str(ds.info.get("credit", ""))
        )
        plots.append(("Pattern drawn by the CRN", "pattern.png"))
    data: dict[str, Any] = metrics.to_dict()
    report.write_json(out / "metrics.json", data)
    write_report(out / "report.md", metrics, plots)
