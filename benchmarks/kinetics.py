"""Kinetics benchmark: per-example SciPy BDF, libRoadRunner, the batched integrator, exact.

Run: ``.venv/bin/python benchmarks/kinetics.py [--quick]``. Prints a markdown table and writes
``benchmarks/results/kinetics.json``. Ternary networks with seeded random weights; inputs are
standard normal, except for 196-input networks, which get MNIST test images (14x14) when
``DEEPCRN_DATA`` holds them. Random rate constants (log-uniform over [0.1, 10], seed 1), ODE
tolerance 1e-3 on the outputs. Each measurement runs in its own process, so "peak MB" is that
process's peak resident memory. libRoadRunner loads the model once (time reported apart), then
per example sets the inputs, resets and integrates to t = 1e4 (it has no residual stopping rule).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))


def _inputs(shape: tuple[int, ...], n: int) -> np.ndarray:
    if shape[0] == 196:
        try:
            from deepcrn.experiments.datasets import load_mnist

            return load_mnist().x_test[:n]
        except Exception:
            pass
    return np.random.default_rng(1).normal(size=(n, shape[0]))


def _measure(kind: str, shape: tuple[int, ...], form: str, n: int, queue: Any) -> None:
    from run import ternary_network

    from deepcrn.compile import compile_network
    from deepcrn.exact import FiringPlan, evaluate
    from deepcrn.kinetics import simulate
    from deepcrn.kinetics.rates import random_rates

    crn = compile_network(ternary_network(shape, 0), form=form)
    x = _inputs(shape, n)
    exact = evaluate(crn, x)
    rates = random_rates(len(crn.reactions), seed=1)
    out: dict[str, Any] = {"method": kind, "n": n}
    start = time.perf_counter()
    if kind == "exact":
        y = FiringPlan.for_outputs(crn).evaluate(x)
    elif kind in ("batched", "scipy"):
        res = simulate(crn, x, rates, tol=1e-3, engine="batched" if kind == "batched" else "scipy")
        y = res.outputs
        out["converged"] = int(res.converged.sum())
    else:
        import roadrunner

        from deepcrn.interop.sbml import to_sbml

        text = to_sbml(crn.with_rates(rates))
        rr = roadrunner.RoadRunner(text)
        out["load_s"] = time.perf_counter() - start
        queue.put(("loaded", out["load_s"]))
        start = time.perf_counter()
        rr.integrator.relative_tolerance = 1e-8
        rr.integrator.absolute_tolerance = 1e-10
        y = np.empty_like(exact)
        for i, row in enumerate(x):
            for spec, v in zip(crn.inputs, row):
                rr.setValue(f"init({spec.name})", float(v))
            rr.reset()
            rr.simulate(0, 1e4, 10)
            y[i] = [rr[o] for o in crn.output_names]
    elapsed = time.perf_counter() - start
    out.update(
        seconds=elapsed,
        per_s=n / elapsed,
        max_err=float(np.abs(y - exact).max()),
        peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
    queue.put(("done", out))


def measure(kind: str, shape: tuple[int, ...], form: str, n: int, timeout: float) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(kind, shape, form, n, queue))
    proc.start()
    deadline = time.perf_counter() + timeout
    result: dict[str, Any] = {"method": kind, "n": n}
    try:
        while True:
            tag, value = queue.get(timeout=max(0.1, deadline - time.perf_counter()))
            if tag == "loaded":
                result["load_s"] = value
                continue
            result = value
            break
    except Exception:
        result["status"] = f"timed out after {timeout:.0f} s" + (
            " (model loaded)" if "load_s" in result else " loading"
        )
    proc.kill()
    proc.join()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "kinetics.json"))
    args = parser.parse_args(argv)
    big = (196, 256, 256, 256, 10)
    #         shape, form, N batched/exact, N scipy, N roadrunner, roadrunner timeout
    plan = [
        ((4, 8, 3), "reduced", 10_000, 20, 20, 120),
        ((4, 8, 3), "full", 10_000, 20, 20, 120),
        ((10, 8, 4), "reduced", 10_000, 20, 20, 120),
        ((10, 8, 4), "full", 10_000, 20, 20, 120),
        ((196, 64, 10), "reduced", 10_000, 5, 5, 60),
        ((196, 64, 10), "full", 10_000, 5, 5, 60),
        (big, "reduced", 10_000, 1, 1, 60),
        (big, "full", 1_000, 1, 1, 60),
    ]
    if args.quick:
        plan = [((4, 8, 3), "reduced", 500, 3, 3, 60), ((196, 64, 10), "reduced", 200, 1, 1, 20)]
    rows = []
    for shape, form, n_fast, n_scipy, n_rr, rr_timeout in plan:
        name = "-".join(map(str, shape))
        for kind, n, timeout in (
            ("exact", n_fast, 600),
            ("batched", n_fast, 900),
            ("scipy", n_scipy, 600),
            ("roadrunner", n_rr, rr_timeout),
        ):
            print(f"{name} {form} {kind} (N={n}) ...", file=sys.stderr, flush=True)
            r = measure(kind, shape, form, n, timeout)
            r.update(network=name, form=form)
            rows.append(r)
    header = "| network | form | method | N | examples/s | max abs err vs exact | peak MB | note |"
    print(header)
    print("|" + "|".join(["---"] * (header.count("|") - 1)) + "|")
    for r in rows:
        note = r.get("status", "")
        if "load_s" in r:
            note = (note + "; " if note else "") + f"load {r['load_s']:.1f} s"
        if "converged" in r:
            note = (note + "; " if note else "") + f"{r['converged']}/{r['n']} converged"
        per = f"{r['per_s']:.3g}" if "per_s" in r else "-"
        err = f"{r['max_err']:.1e}" if "max_err" in r else "-"
        mem = f"{r['peak_mb']:.0f}" if "peak_mb" in r else "-"
        print(f"| {r['network']} | {r['form']} | {r['method']} | {r['n']} | {per} | {err} | {mem} | {note} |")
    by = {(r["network"], r["form"], r["method"]): r for r in rows}
    for (net, form, method), r in by.items():
        if method == "batched" and "per_s" in r and "per_s" in by.get((net, form, "scipy"), {}):
            print(
                f"speed-up of the batched integrator over per-example SciPy, {net} {form}: "
                f"{r['per_s'] / by[(net, form, 'scipy')]['per_s']:.0f}x"
            )
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
