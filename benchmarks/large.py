"""Large networks end to end: kinetics on every CRN form, and a 28x28 MNIST-size network.

Run: ``.venv/bin/python benchmarks/large.py [--examples 10000] [--scipy-examples 2]
[--big-ode-examples 1000] [--forms full,reduced,dsd] [--no-big]``. Prints markdown tables and
writes ``benchmarks/results/large.json``.

**Kinetics on every form** (the 196-256-256-256-10 ternary network with seeded random weights,
``run.py``'s ``ternary_network``; MNIST 14x14 test images when ``DEEPCRN_DATA`` holds them,
else standard-normal inputs; random rate constants log-uniform over [0.1, 10], seed 1;
stopping tolerance 1e-3 relative to each example's scale). For each form: the batched
integrator on the first ``--examples`` images (default 1,000; the issue's target is 10,000, and
the table says which was measured: times for 10,000 from fewer are extrapolated linearly and
marked so); every example's distance from the exact equilibrium against its tolerance; steps
per example; the cost of one sweep (one backward-Euler step by topological sweep, per example,
on a chunk of examples) and of the network's NumPy forward pass (per example, float64); the
lower bound "steps x one sweep" (a step of the integrator is three sweeps: one of ``h`` and two
of ``h/2``, so 3x the bound is its floor); SciPy BDF per example on ``--scipy-examples``
examples (sparse Jacobian; each example alone) and the speed-up. Each form runs in its own
process (``spawn``), so "peak MB" is that run's peak resident memory.

**784-1024-1024-10** (28x28 MNIST size, seeded random ternary weights; inputs the first 10,000
MNIST 28x28 test images, or standard normal): compile time of each form, the CRN's text and
``.npz`` sizes and read times, ``deepcrn evaluate CRN.npz --inputs X.csv -o Y.csv`` end to end
(a fresh ``deepcrn`` process; inputs from CSV and from ``.npy``, outputs to CSV; best of 3)
against the NumPy forward pass, and the reduced form's ODE on ``--big-ode-examples`` examples
(default 100, extrapolated to 1,000 and marked so). NumPy runs without transparent huge pages,
as ``deepcrn``'s commands do, unless ``NUMPY_MADVISE_HUGEPAGE`` is set.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# As deepcrn's commands do (cli._tune_memory): no transparent huge pages for NumPy unless the
# caller chose, since compacting memory for them costs seconds of system time on some machines.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))

RESULTS = Path(__file__).parent / "results"
SHAPE = (196, 256, 256, 256, 10)
BIG = (784, 1024, 1024, 10)
TOL = 1e-3


def _inputs(n_in: int, n: int) -> tuple[np.ndarray, str]:
    try:
        from deepcrn.experiments.datasets import load_mnist

        size = {196: 14, 784: 28}[n_in]
        return load_mnist(0, size).x_test[:n], f"MNIST {size}x{size} test images"
    except Exception:  # no data: say so in the table
        return np.random.default_rng(1).normal(size=(n, n_in)), "standard normal"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- one form (child)
def _form(form: str, n: int, n_scipy: int, rtol: float | None, queue: Any) -> None:
    from run import best_of, lean_forward, ternary_network

    from deepcrn.analysis import stats
    from deepcrn.compile import compile_network
    from deepcrn.exact import evaluate
    from deepcrn.io_map import initial_state
    from deepcrn.kinetics import simulate
    from deepcrn.kinetics.batched import BatchedIntegrator, chunk_size
    from deepcrn.kinetics.rates import random_rates

    net = ternary_network(SHAPE, 0)
    start = time.perf_counter()
    crn = compile_network(net, form=form)  # type: ignore[arg-type]
    out: dict[str, Any] = {"form": form, "compile_s": time.perf_counter() - start}
    s = stats(crn)
    out.update(species=s["n_species"], reactions=s["n_reactions"], depth=s["depth"])
    x, out["inputs"] = _inputs(SHAPE[0], n)
    rates = random_rates(len(crn.reactions), seed=1)
    exact = evaluate(crn, x)

    start = time.perf_counter()
    res = simulate(crn, x, rates, tol=TOL, engine="batched", rtol=rtol)
    seconds = time.perf_counter() - start
    err = np.abs(res.outputs - exact).max(axis=1) / res.tolerance
    out.update(
        n=n,
        rtol=rtol,
        seconds=seconds,
        ms_per_example=1e3 * seconds / n,
        converged=int(res.converged.sum()),
        within_tolerance=int(np.sum(err <= 1.0)),
        worst_error_over_tolerance=float(err.max()),
        steps_mean=float(res.steps.mean()),
        steps_max=int(res.steps.max()),
    )

    # One sweep (a backward-Euler step over every level) per example, on a chunk of examples.
    integ = BatchedIntegrator(crn, rates)
    b = min(n, chunk_size(len(integ.plan.tracked)), 512)
    c = np.ascontiguousarray(initial_state(crn, x[:b])[:, integ.plan.tracked].T)
    h = np.full(b, 0.1)
    out["sweep_us"] = 1e6 * best_of(lambda: integ.step(c, h), 5) / b
    layers = [(layer.effective_weights.astype(float), layer.bias, layer.activation == "relu") for layer in net.layers]
    xs = x[: min(n, 2000)]
    out["forward_us"] = 1e6 * best_of(lambda: lean_forward(layers, xs), 7) / len(xs)
    out["lower_bound_ms"] = 1e-3 * out["steps_mean"] * out["sweep_us"]
    out["peak_mb_batched"] = _peak_mb()

    if n_scipy:
        start = time.perf_counter()
        sci = simulate(crn, x[:n_scipy], rates, tol=TOL, engine="scipy")
        out["scipy_ms_per_example"] = 1e3 * (time.perf_counter() - start) / n_scipy
        out["scipy_converged"] = int(sci.converged.sum())
        out["scipy_n"] = n_scipy
    out["peak_mb"] = _peak_mb()
    queue.put(out)


def child(target: Any, *args: Any, timeout: float) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    deadline = time.perf_counter() + timeout
    result: dict[str, Any] = {"status": f"did not finish within {timeout:.0f} s"}
    while time.perf_counter() < deadline:
        try:
            result = queue.get(timeout=5)
            break
        except Exception:  # queue.Empty: still running, or died (an error, out of memory)
            if not proc.is_alive():
                result = {"status": f"the measuring process died (exit code {proc.exitcode})"}
                break
    proc.kill()
    proc.join()
    return result


# --------------------------------------------------------------------------- 784-1024-1024-10 (child)
def _big(n_ode: int, queue: Any) -> None:
    from run import best_of, lean_forward, ternary_network

    from deepcrn.compile import compile_network
    from deepcrn.exact import evaluate
    from deepcrn.interop.binary import save_binary
    from deepcrn.interop.load import load_any_crn
    from deepcrn.interop.text import save_crn
    from deepcrn.kinetics import simulate
    from deepcrn.kinetics.rates import random_rates

    net = ternary_network(BIG, 0)
    x, label = _inputs(BIG[0], 10_000)
    layers = [(layer.effective_weights.astype(float), layer.bias, layer.activation == "relu") for layer in net.layers]
    out: dict[str, Any] = {"network": "-".join(map(str, BIG)), "inputs": label, "forms": {}}
    out["forward_10000_s"] = best_of(lambda: lean_forward(layers, x), 5)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        np.savetxt(d / "x.csv", x, delimiter=",", fmt="%.17g")
        np.save(d / "x.npy", x)
        for form in ("full", "reduced"):
            row: dict[str, Any] = {}
            start = time.perf_counter()
            crn = compile_network(net, form=form)
            row["compile_s"] = time.perf_counter() - start
            row["reactions"] = len(crn.reactions)
            text, npz = d / f"{form}.txt", d / f"{form}.npz"
            start = time.perf_counter()
            save_crn(crn, text)
            row["write_text_s"] = time.perf_counter() - start
            save_binary(crn, npz)
            row["text_mb"] = text.stat().st_size / 1e6
            row["npz_mb"] = npz.stat().st_size / 1e6
            row["read_text_s"] = best_of(lambda: load_any_crn(text), 2)  # noqa: B023 (called at once)
            row["read_text_mb_per_s"] = row["text_mb"] / row["read_text_s"]
            row["read_npz_s"] = best_of(lambda: load_any_crn(npz), 3)  # noqa: B023
            for suffix in ("csv", "npy"):
                inputs = str(d / f"x.{suffix}")
                cmd = [str(Path(sys.executable).parent / "deepcrn"), "evaluate", str(npz), "--inputs", inputs]
                row[f"cli_exact_10000_{suffix}_s"] = best_of(
                    lambda: subprocess.run([*cmd, "-o", str(d / "y.csv")], check=True, capture_output=True),  # noqa: B023
                    3,
                )
                y = np.loadtxt(d / "y.csv", delimiter=",", skiprows=1)
                row["cli_max_abs_err"] = max(row.get("cli_max_abs_err", 0.0), float(np.abs(y - net.forward(x)).max()))
            if form == "reduced" and n_ode:
                rates = random_rates(len(crn.reactions), seed=1)
                start = time.perf_counter()
                res = simulate(crn, x[:n_ode], rates, tol=TOL, engine="batched")
                row["ode_n"] = n_ode
                row["ode_s"] = time.perf_counter() - start
                row["ode_converged"] = int(res.converged.sum())
                err = np.abs(res.outputs - evaluate(crn, x[:n_ode])).max(axis=1) / res.tolerance
                row["ode_within_tolerance"] = int(np.sum(err <= 1.0))
                row["ode_steps_mean"] = float(res.steps.mean())
            out["forms"][form] = row
    out["peak_mb"] = _peak_mb()
    queue.put(out)


# --------------------------------------------------------------------------- tables
def forms_table(rows: list[dict[str, Any]], target_n: int) -> str:
    lines = [
        "| form | species | reactions | depth | examples (inputs) | converged, within tol | steps/example | "
        f"s for {target_n:,} | ms/example | SciPy BDF ms/example | speed-up | sweep us/example | "
        "forward us/example | steps x sweep (ms) | time / bound | peak MB |",
        "|" + "---|" * 16,
    ]
    for r in rows:
        if "seconds" not in r:
            lines.append(f"| {r['form']} | {r.get('status', 'failed')} |" + " |" * 14)
            continue
        scaled = r["seconds"] * target_n / r["n"]
        mark = "" if r["n"] == target_n else " (extrapolated)"
        sci = r.get("scipy_ms_per_example")
        sci_ms = "-" if sci is None else f"{sci:.0f} ({r['scipy_n']})"
        speedup = "-" if sci is None else f"{sci / r['ms_per_example']:.0f}x"
        lines.append(
            f"| {r['form']} | {r['species']:,} | {r['reactions']:,} | {r['depth']} | {r['n']:,} ({r['inputs']}) | "
            f"{r['converged']}, {r['within_tolerance']} | {r['steps_mean']:.0f} (max {r['steps_max']}) | "
            f"{scaled:.0f}{mark} | {r['ms_per_example']:.2f} | "
            f"{sci_ms} | {speedup} | {r['sweep_us']:.1f} | "
            f"{r['forward_us']:.2f} | {r['lower_bound_ms']:.2f} | {r['ms_per_example'] / r['lower_bound_ms']:.1f} | "
            f"{r['peak_mb']:.0f} |"
        )
    return "\n".join(lines)


def big_table(big: dict[str, Any]) -> str:
    if "forms" not in big:
        return f"784-1024-1024-10: {big.get('status', 'failed')}"
    lines = [
        f"{big['network']} ({big['inputs']}); NumPy forward pass of 10,000: {big['forward_10000_s']:.2f} s",
        "",
        "| form | reactions | compile (s) | text MB | read text (s, MB/s) | .npz MB | read .npz (s) | "
        "CLI exact, 10,000 from CSV / .npy (s) | max abs err | ODE |",
        "|" + "---|" * 10,
    ]
    for form, r in big["forms"].items():
        ode = "-"
        if "ode_s" in r:
            ode = (
                f"{r['ode_n']} examples in {r['ode_s']:.0f} s ({r['ode_s'] * 1000 / r['ode_n']:.0f} s for 1,000"
                f"{'' if r['ode_n'] == 1000 else ', extrapolated'}); {r['ode_converged']} converged, "
                f"{r['ode_within_tolerance']} within tol; {r['ode_steps_mean']:.0f} steps/example"
            )
        lines.append(
            f"| {form} | {r['reactions']:,} | {r['compile_s']:.2f} | {r['text_mb']:.0f} | "
            f"{r['read_text_s']:.2f}, {r['read_text_mb_per_s']:.0f} | {r['npz_mb']:.1f} | {r['read_npz_s']:.2f} | "
            f"{r['cli_exact_10000_csv_s']:.2f} / {r['cli_exact_10000_npy_s']:.2f} | "
            f"{r['cli_max_abs_err']:.1e} | {ode} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=1000, help="MNIST images per form (target: 10000)")
    parser.add_argument("--scipy-examples", type=int, default=2)
    parser.add_argument("--forms", default="full,reduced,dsd")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per form")
    parser.add_argument("--big-ode-examples", type=int, default=100)
    parser.add_argument("--rtol", type=float, help="the batched integrator's step control (default its own, 3e-2)")
    parser.add_argument("--no-big", action="store_true", help="skip 784-1024-1024-10")
    parser.add_argument("--json", type=Path, default=RESULTS / "large.json")
    args = parser.parse_args(argv)
    rows = []
    for form in [f for f in args.forms.split(",") if f]:  # --forms '': the 784-1024-1024-10 part only
        print(f"{'-'.join(map(str, SHAPE))} {form}: {args.examples} examples ...", file=sys.stderr, flush=True)
        r = child(_form, form, args.examples, args.scipy_examples, args.rtol, timeout=args.timeout)
        r.setdefault("form", form)
        rows.append(r)
        print(json.dumps(r), file=sys.stderr, flush=True)
    print(forms_table(rows, 10_000))
    big: dict[str, Any] = {}
    if not args.no_big:
        print("784-1024-1024-10 ...", file=sys.stderr, flush=True)
        big = child(_big, args.big_ode_examples, timeout=args.timeout)
        print()
        print(big_table(big))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    meta = {"machine": platform.platform(), "python": platform.python_version(), "argv": sys.argv[1:]}
    from deepcrn._io import atomic_write_text

    atomic_write_text(args.json, json.dumps({"meta": meta, "forms": rows, "big": big}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
