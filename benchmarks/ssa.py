"""SSA benchmark: deepcrn's ``levels`` engine against rebop (sparse) and GillesPy2 (its C++ SSA),
same CRNs, same rate constants (all 1), same initial counts, in one run.

Run: ``.venv/bin/python benchmarks/ssa.py [--quick] [--budget 60] [--limit 900]``. Prints a
markdown table and writes ``benchmarks/results/ssa.json``.

CRNs: ternary networks with seeded random weights (``run.py``'s ``ternary_network``), 4-8-3 and
196-256-256-256-10, reduced and full forms, and, when ``--mnist-network`` exists (default
``runs/mnist/network.json``, from ``deepcrn run mnist``), the trained MNIST network's CRN. One
input example each (4-8-3: standard normal, seed 1; 196 inputs: the first MNIST test image), at
N = 100, 1,000 and 10,000 molecules per unit (and N = 1 for 196-256-256-256-10, whose unscaled
random weights make values, so counts and events, grow ~10x per layer); every trajectory runs
to completion.

Every measurement runs in a fresh process (``spawn``), so "peak MB" is that process's peak
resident memory (ours loads its compiled kernels on a two-reaction CRN before timing, as rebop's
model is built before timing; our engine for the measured CRN is built inside the timing), and
ours and rebop's alternate (ours, rebop, ours, rebop), so drift in this shared machine's load
hits both alike. A complete trajectory's number of events is fixed (each
reaction fires its integer-count extent, :func:`deepcrn.exact.extents`), so events/s =
events per trajectory x trajectories/s. rebop records every event's time (``nb_steps=0``,
nothing else: its leanest run that still gives the completion time; its Rust core is called
directly, skipping the xarray wrapper); its final state is checked on one more trajectory, not
timed, run to completion and read at the end (where that has at most ``CHECK_EVENTS`` events). GillesPy2 reports
states on a time grid only: it runs to ``t_end`` = 3 x the longest completion time ours saw and
its final state is checked there; its build (compiling the model to C++) is timed apart.
A cell whose estimated time per trajectory exceeds ``--limit`` seconds is skipped, and says so
(estimated from the same simulator's seconds per event on the same CRN at the N before, else
from a prior); GillesPy2 runs where about ``--budget`` seconds allow.
``--truncated full=T1,reduced=T2`` adds 196-256-256-256-10 at N = 1,000 in those forms, every
trajectory stopped at the form's ``t_max`` (a complete one has ~4e10 events, out of reach of any exact SSA here):
seconds per truncated trajectory, events by ``t_max`` (mean; two-sample KS test, ours against rebop)
and events/s, each simulator in a fresh process on ``--truncated-trajectories`` trajectories.
Two-sample KS tests (alpha 0.01) on 200 trajectories of the 4-8-3 reduced CRN at N = 100 compare
completion times and the number of events by a fixed time, ours against rebop.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

RESULTS = Path(__file__).parent / "results"
#: rebop's final state is checked on one more (untimed) trajectory where it has at most this many events
CHECK_EVENTS = 3 * 10**7


# --------------------------------------------------------------------------- the CRNs
def build(case: dict[str, Any]) -> tuple[Any, np.ndarray]:
    """The CRN and its one input example ``(1, n_inputs)`` of a case."""
    from run import ternary_network

    from deepcrn.compile import compile_network
    from deepcrn.network import load_network

    if case["network"] == "trained":
        net = load_network(case["path"])
        lows = net.extra.get("input_lower_bounds")
        crn = compile_network(net, form=case["form"], input_lower_bounds=lows)
    else:
        shape = tuple(int(v) for v in case["network"].split("-"))
        crn = compile_network(ternary_network(shape, 0), form=case["form"])
    n_in = len(crn.inputs)
    if n_in == 196:
        from deepcrn.experiments.datasets import load_mnist

        x = load_mnist().x_test[:1]
    else:
        x = np.random.default_rng(1).normal(size=(1, n_in))
    return crn, x


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- measurements (children)
def _ours(case: dict[str, Any], n: float, trajectories: int, seed: int, t_max: float | None, queue: Any) -> None:
    """Our trajectories, to completion or stopped at ``t_max``."""
    from deepcrn.interop.text import parse_crn
    from deepcrn.stochastic import simulate

    crn, x = build(case)
    # Load the compiled kernels (Numba, once per process) before timing, as rebop's model is
    # built before timing: a two-reaction CRN, not this one (its engine is built in the timing).
    tiny = parse_crn("input x = X_p - X_n\noutput y = Y_p - Y_n\nX_p -> M + Y_p\nM + X_n -> Y_n")
    simulate(tiny, np.array([[1.0]]), 10, seed=0)
    start = time.perf_counter()
    xs = np.repeat(x, trajectories, axis=0)
    if t_max is None:
        res = simulate(crn, xs, n, seed=seed)
    else:  # a trajectory's full count of events may exceed the default refusal; only t_max matters
        res = simulate(crn, xs, n, seed=seed, t_max=t_max, max_events=10**15)
    seconds = time.perf_counter() - start
    queue.put(
        {
            "seconds": seconds,
            "outputs": res.outputs.tolist(),
            "times": res.times.tolist(),
            "events": res.events.tolist(),
            "completed": res.completed.tolist(),
            "peak_mb": _peak_mb(),
        }
    )


def _rebop(case: dict[str, Any], n: float, trajectories: int, seed: int, check: bool, t_max: float, queue: Any) -> None:
    """rebop's trajectories, to completion or stopped at ``t_max`` (``check``: read one more
    complete trajectory's final outputs, untimed)."""
    from deepcrn.interop.rebop import run_rebop, to_rebop
    from deepcrn.io_map import initial_counts

    crn, x = build(case)
    counts = initial_counts(crn, x, n)[0]
    model = to_rebop(crn, crn.rate_constants(), n)
    seeds = np.random.SeedSequence([seed, 3]).generate_state(trajectories, dtype=np.uint64)
    start = time.perf_counter()
    runs = [run_rebop(model, crn, counts, int(s), [], t_max) for s in seeds]
    seconds = time.perf_counter() - start
    out: dict[str, Any] = {
        "seconds": seconds,
        "times": [r.last for r in runs],
        "events": [r.events for r in runs],
        "completed": [r.completed for r in runs],
        "peak_mb": _peak_mb(),
    }
    if check:  # one more trajectory (not timed) run to completion, its final outputs read at t = 1e300
        data = model.run({s: int(c) for s, c in zip(crn.species, counts) if c}, 1e300, 1, rng=seed, sparse=True)
        scale = np.array([o.scale for o in crn.outputs])
        final = [int(data[o.pos].values[-1]) - int(data[o.neg].values[-1]) for o in crn.outputs]
        out["outputs"] = [(np.array(final) / (n * scale)).tolist()]
    queue.put(out)


def _gillespy2(case: dict[str, Any], n: float, trajectories: int, t_end: float, seed: int, queue: Any) -> None:
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")  # scons
    import gillespy2

    from deepcrn.io_map import initial_counts
    from deepcrn.stochastic import propensity_constants

    crn, x = build(case)
    counts = initial_counts(crn, x, n)[0]
    model = gillespy2.Model(name="deepcrn")
    species = {s: gillespy2.Species(name=s, initial_value=int(c), mode="discrete") for s, c in zip(crn.species, counts)}
    model.add_species(list(species.values()))
    for i, (r, c) in enumerate(zip(crn.reactions, propensity_constants(crn, crn.rate_constants(), n))):
        terms = [repr(float(c))]
        for name, coef in r.reactants:
            terms += [name if m == 0 else f"({name} - {m})" for m in range(coef)]
        model.add_reaction(
            gillespy2.Reaction(
                name=f"r{i}",
                reactants={species[s]: k for s, k in r.reactants},
                products={species[s]: k for s, k in r.products},
                propensity_function=" * ".join(terms),
            )
        )
    model.timespan(gillespy2.TimeSpan(np.array([0.0, t_end])))
    start = time.perf_counter()
    solver = gillespy2.SSACSolver(model=model)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    results = model.run(solver=solver, number_of_trajectories=trajectories, seed=seed)
    seconds = time.perf_counter() - start
    scale = np.array([o.scale for o in crn.outputs])
    finals = [
        (
            (np.array([r[o.pos][-1] for o in crn.outputs]) - np.array([r[o.neg][-1] for o in crn.outputs]))
            / (n * scale)
        ).tolist()
        for r in results
    ]
    queue.put({"seconds": seconds, "build_s": build_s, "outputs": finals, "peak_mb": _peak_mb()})


def truncated_cell(case: dict[str, Any], n: float, t_max: float, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Ours against rebop on trajectories stopped at ``t_max``: time per (truncated) trajectory,
    events by ``t_max`` (mean, and a two-sample KS test of their distributions), events/s."""
    from scipy.stats import ks_2samp

    from deepcrn.analysis import stats
    from deepcrn.exact import extents

    crn, x = build(case)
    base = {
        "network": case["label"],
        "form": case["form"],
        "N": n,
        "t_max": t_max,
        "species": len(crn.species),
        "reactions": len(crn.reactions),
        "max_products": stats(crn)["max_products"],
        "events": int(extents(crn, x, n).sum()),  # of a complete trajectory
    }
    rows, samples = [], {}
    t, timeout = args.truncated_trajectories, args.limit * 5 + 300
    runs = {
        "deepcrn levels": lambda: child(_ours, case, n, t, 5, t_max, timeout=timeout),
        "rebop (sparse)": lambda: child(_rebop, case, n, t, 5, False, t_max, timeout=timeout),
    }
    for name, run_it in runs.items():
        got = run_it()
        if "error" in got:
            rows.append({**base, "simulator": name, "note": got["error"]})
            continue
        ev = np.array(got["events"], dtype=np.float64)
        samples[name] = ev
        rows.append(
            {
                **base,
                "simulator": name,
                "trajectories": len(ev),
                "s_per_trajectory": got["seconds"] / len(ev),
                "trajectories_per_s": len(ev) / got["seconds"],
                "events_per_s": float(ev.sum()) / got["seconds"],
                "events_by_t_max": [float(ev.mean()), float(ev.std(ddof=1)) if len(ev) > 1 else 0.0],
                "peak_mb": got["peak_mb"],
                "completed": int(sum(got["completed"])),
                "note": f"stopped at t = {t_max:g}: {ev.mean():.3g} events by then (mean)",
            }
        )
    if len(samples) == 2:
        p = float(ks_2samp(samples["deepcrn levels"], samples["rebop (sparse)"]).pvalue)
        for row in rows:
            row["events_by_t_max_ks_p"] = p
            row["note"] += f"; KS p = {p:.3f} (events by t_max, ours vs rebop)"
    return rows


def _guarded(target: Any, *args: Any) -> None:
    """Run a measurement in the child; an exception is reported, not lost."""
    queue = args[-1]
    try:
        target(*args)
    except BaseException as err:  # noqa: BLE001 - whatever it was, the parent reports it
        queue.put({"error": f"{type(err).__name__}: {err}"[:300]})


def child(target: Any, *args: Any, timeout: float) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_guarded, args=(target, *args, queue))
    proc.start()
    try:
        result = queue.get(timeout=timeout)
    except Exception as err:  # noqa: BLE001 - a child that dies or hangs is reported, not raised
        proc.kill()
        proc.join()
        return {"error": f"{type(err).__name__}: no result within {timeout:.0f} s (exit code {proc.exitcode})"}
    proc.join()
    return result


# --------------------------------------------------------------------------- driver
def bench_cell(
    case: dict[str, Any], n: float, rates: dict[tuple[str, str, str], float], args: argparse.Namespace
) -> list[dict[str, Any]]:
    from deepcrn.analysis import stats
    from deepcrn.exact import evaluate, extents

    crn, x = build(case)
    events = int(extents(crn, x, n).sum())
    exact = evaluate(crn, x, molecules_per_unit=n)[0]
    base = {
        "network": case["label"],
        "form": case["form"],
        "N": n,
        "species": len(crn.species),
        "reactions": len(crn.reactions),
        "max_products": stats(crn)["max_products"],
        "events": events,
    }
    rows = []
    measured: dict[str, list[dict[str, Any]]] = {"deepcrn levels": [], "rebop (sparse)": []}
    plan: dict[str, int] = {}

    def per_event(name: str) -> float:
        """Seconds per event: measured on this CRN at a smaller N, else a rough prior (rebop's
        cost per event grows with the number of reactions, as it recomputes every propensity)."""
        prior = 2e-6 if name == "deepcrn levels" else 1e-7 + 8e-9 * len(crn.reactions)
        return rates.get((case["label"], case["form"], name), prior)

    for name in ("deepcrn levels", "rebop (sparse)"):
        per_traj = events * per_event(name) + 0.002
        if per_traj > args.limit:
            rows.append(
                {**base, "simulator": name, "note": f"skipped: about {per_traj:.3g} s per trajectory (estimated)"}
            )
            continue
        plan[name] = int(max(1, min(args.trajectories, args.budget // per_traj)))
    rounds = 2 if min(plan.values(), default=1) > 1 else 1
    for k in range(rounds):  # alternate: ours, rebop, ours, rebop
        if "deepcrn levels" in plan:
            t = max(1, plan["deepcrn levels"] // rounds)
            measured["deepcrn levels"].append(
                child(_ours, case, n, t, 100 + k, None, timeout=args.limit * max(2, t) + 120)
            )
        if "rebop (sparse)" in plan:
            t = max(1, plan["rebop (sparse)"] // rounds)
            measured["rebop (sparse)"].append(
                child(
                    _rebop,
                    case,
                    n,
                    t,
                    200 + k,
                    k == 0 and events <= CHECK_EVENTS,
                    math.inf,
                    timeout=args.limit * max(2, t) + 120,
                )
            )
    longest = 0.0
    for name, parts in measured.items():
        if not parts:
            continue
        bad = [p["error"] for p in parts if "error" in p]
        if bad:
            rows.append({**base, "simulator": name, "note": bad[0]})
            continue
        trajectories = sum(len(p["times"]) for p in parts)
        seconds = sum(p["seconds"] for p in parts)
        outs = [o for p in parts for o in p.get("outputs", [])]
        same = all(np.array_equal(np.array(o), exact) for o in outs)
        assert all(e == events for p in parts for e in p["events"]), "a complete trajectory has a fixed event count"
        times = [t for p in parts for t in p["times"]]
        longest = max(longest, max(times))
        rows.append(
            {
                **base,
                "simulator": name,
                "trajectories": trajectories,
                "s_per_trajectory": seconds / trajectories,
                "trajectories_per_s": trajectories / seconds,
                "events_per_s": events * trajectories / seconds,
                "peak_mb": max(p["peak_mb"] for p in parts),
                "final_equal_exact": f"{'yes' if same else 'NO'} ({len(outs)} checked)",
                "completed": all(all(p["completed"]) for p in parts),
                "median_completion_time": float(np.median(times)),
                "note": "",
            }
        )
        if events:
            rates[(case["label"], case["form"], name)] = seconds / trajectories / events
    if args.gillespy2 and longest > 0:
        per_traj = 5 * events * per_event("rebop (sparse)")  # 2-8x rebop's time on the 4-8-3 CRNs
        t = int(min(50, args.trajectories, args.budget // max(per_traj, 1e-3)))
        if t:
            g = child(_gillespy2, case, n, t, 3 * longest, 7, timeout=args.limit * 3 + 600)
            if "error" in g:
                rows.append({**base, "simulator": "GillesPy2 (SSACSolver)", "note": g["error"]})
            else:
                same = all(np.array_equal(np.array(o), exact) for o in g["outputs"])
                rows.append(
                    {
                        **base,
                        "simulator": "GillesPy2 (SSACSolver)",
                        "trajectories": t,
                        "s_per_trajectory": g["seconds"] / t,
                        "trajectories_per_s": t / g["seconds"],
                        "events_per_s": events * t / g["seconds"],
                        "peak_mb": g["peak_mb"],
                        "final_equal_exact": f"{'yes' if same else 'NO'} ({t} checked, at t_end)",
                        "note": f"build {g['build_s']:.1f} s; states at t_end = {3 * longest:.3g} only",
                    }
                )
        else:
            rows.append(
                {
                    **base,
                    "simulator": "GillesPy2 (SSACSolver)",
                    "note": f"skipped: about {per_traj:.3g} s per trajectory (estimated), over the budget",
                }
            )
    return rows


def ks_check(trajectories: int = 200) -> dict[str, Any]:
    from scipy.stats import ks_2samp

    from deepcrn.stochastic import simulate

    crn, x = build({"network": "4-8-3", "form": "reduced"})
    xs = np.repeat(x, trajectories, axis=0)
    ours = simulate(crn, xs, 100, seed=1)
    theirs = simulate(crn, xs, 100, seed=2, engine="rebop")
    t0 = float(np.median(theirs.times)) / 10
    early_ours = simulate(crn, xs, 100, seed=3, t_max=t0)
    early_theirs = simulate(crn, xs, 100, seed=4, t_max=t0, engine="rebop")
    return {
        "crn": "4-8-3 reduced, N = 100",
        "trajectories": trajectories,
        "final_states_equal": bool(np.array_equal(ours.outputs, theirs.outputs)),
        "completion_time_ks_p": float(ks_2samp(ours.times, theirs.times).pvalue),
        "completion_time_median": [float(np.median(ours.times)), float(np.median(theirs.times))],
        "events_by_t0": t0,
        "events_by_t0_ks_p": float(ks_2samp(early_ours.events, early_theirs.events).pvalue),
        "alpha": 0.01,
    }


def _fmt(v: Any, spec: str) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| network | form | N | events / trajectory | simulator | trajectories | s / trajectory | trajectories/s "
        "| events/s | peak MB | final state = exact | note |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:
        events = f"{r['events']:.3g}"
        if "t_max" in r:  # a truncated cell: the events by t_max (mean), of the complete trajectory's
            by = r.get("events_by_t_max")
            events = f"{'-' if by is None else format(by[0], '.3g')} by t = {r['t_max']:g} (of {events})"
        lines.append(
            f"| {r['network']} | {r['form']} | {r['N']:g} | {events} | {r['simulator']} | "
            f"{r.get('trajectories', '')} | {_fmt(r.get('s_per_trajectory'), '.3g')} | "
            f"{_fmt(r.get('trajectories_per_s'), '.3g')} | {_fmt(r.get('events_per_s'), '.3g')} | "
            f"{_fmt(r.get('peak_mb'), '.0f')} | {r.get('final_equal_exact', '')} | {r.get('note', '')} |"
        )
    return "\n".join(lines)


def _forms_times(text: str) -> dict[str, float]:
    """``full=0.5,reduced=1e-4`` -> ``{"full": 0.5, "reduced": 1e-4}``."""
    out = {}
    for part in text.split(","):
        form, _, value = part.partition("=")
        try:
            t = float(value)
        except ValueError:
            t = math.nan
        if form.strip() not in ("full", "reduced") or not (t > 0 and math.isfinite(t)):
            raise argparse.ArgumentTypeError(f"expected FORM=T with FORM full or reduced and T > 0, got {part!r}")
        out[form.strip()] = t
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4-8-3 only, N = 100 and 1000")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per simulator per cell (default 60)")
    parser.add_argument("--limit", type=float, default=900.0, help="skip cells above this many s/trajectory")
    parser.add_argument("--trajectories", type=int, default=200, help="most trajectories per simulator per cell")
    parser.add_argument("--mnist-network", default="runs/mnist/network.json", help="a trained MNIST network")
    parser.add_argument(
        "--cases", default="small,random,trained", help="CRNs: small (4-8-3), random (196-256-256-256-10), trained"
    )
    parser.add_argument("--no-gillespy2", dest="gillespy2", action="store_false")
    parser.add_argument(
        "--truncated",
        type=_forms_times,
        default={},
        metavar="FORM=T[,FORM=T]",
        help="also run 196-256-256-256-10 at N = 1000 in these forms, each stopped at its t_max, "
        "e.g. full=0.5,reduced=1e-4 (default: none)",
    )
    parser.add_argument("--truncated-trajectories", type=int, default=20, help="trajectories per truncated cell")
    parser.add_argument("--json", default=str(RESULTS / "ssa.json"))
    args = parser.parse_args()
    try:
        import gillespy2  # noqa: F401
    except ImportError:
        args.gillespy2 = False
    which = set(args.cases.split(","))
    cases = [{"network": "4-8-3", "label": "4-8-3", "form": f} for f in ("reduced", "full") if "small" in which]
    ns = [100.0, 1000.0] if args.quick else [100.0, 1000.0, 10000.0]
    if not args.quick:
        if "random" in which:
            cases += [
                {"network": "196-256-256-256-10", "label": "196-256-256-256-10", "form": f, "extra_n": [1.0]}
                for f in ("reduced", "full")
            ]
        if "trained" in which and Path(args.mnist_network).exists():
            from deepcrn.network import load_network

            shape = "-".join(map(str, load_network(args.mnist_network).shape))
            cases += [
                {"network": "trained", "path": args.mnist_network, "label": f"{shape} (trained MNIST)", "form": f}
                for f in ("reduced", "full")
            ]
    # seconds per event of each simulator on each CRN, measured at the N before (cells run from
    # small to large N), to decide what to skip
    rates: dict[tuple[str, str, str], float] = {}
    rows: list[dict[str, Any]] = []
    for case in cases:
        for n in case.get("extra_n", []) + ns:
            print(f"{case['label']} {case['form']} N={n:g} ...", file=sys.stderr, flush=True)
            rows += bench_cell(case, n, rates, args)
    for form, t_max in args.truncated.items():
        print(f"196-256-256-256-10 {form} N=1000 to t = {t_max:g} ...", file=sys.stderr, flush=True)
        case = {"network": "196-256-256-256-10", "label": "196-256-256-256-10", "form": form}
        rows += truncated_cell(case, 1000.0, t_max, args)
    ks = ks_check()
    print(table(rows))
    print(
        f"\nKS (alpha 0.01), {ks['crn']}, {ks['trajectories']} trajectories each: completion time p = "
        f"{ks['completion_time_ks_p']:.3f}; events by t = {ks['events_by_t0']:.3g}: p = {ks['events_by_t0_ks_p']:.3f}; "
        f"final states equal: {ks['final_states_equal']}"
    )
    from deepcrn._io import atomic_write_text

    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"python": sys.version.split()[0], "machine": platform.machine(), "cpus": os.cpu_count()}
    atomic_write_text(out, json.dumps({"meta": meta, "rows": rows, "ks": ks}, indent=1) + "\n")
    print(f"\nwrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
