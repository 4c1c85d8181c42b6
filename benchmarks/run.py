"""deepcrn benchmark: compile time, exact and ODE time per example.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/run.py [--quick] [--json PATH]``).
Prints a markdown table and writes JSON (default ``benchmarks/results/bench.json``).

Networks are ternary with seeded random weights (P(0) = 1/3) and standard-normal biases and
inputs. "circuit/forward" and "firing/forward" are the times to evaluate N inputs through the CRN
exactly, by its ReLU circuit (the default exact engine) and by firing its reactions level by
level, divided by the NumPy forward pass of the network on the same inputs (float64, float
weights made beforehand, bias and ReLU in place; best of 7 for the forward pass and the circuit,
run alternately, of 3 for firing). The time to build each engine from the CRN ("plan") is reported separately.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from deepcrn._io import atomic_write_text
from deepcrn.analysis import stats as crn_stats
from deepcrn.compile import compile_network
from deepcrn.exact import FiringPlan, relu_circuit
from deepcrn.kinetics import simulate
from deepcrn.network import Layer, Network


def ternary_network(shape: tuple[int, ...], seed: int) -> Network:
    rng = np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(zip(shape[:-1], shape[1:])):
        last = i == len(shape) - 2
        layers.append(Layer(rng.integers(-1, 2, size=(a, b)), rng.normal(size=b), "linear" if last else "relu"))
    return Network(tuple(layers), "ternary")


def lean_forward(layers: list[tuple[np.ndarray, np.ndarray, bool]], x: np.ndarray) -> np.ndarray:
    """The baseline: the network's forward pass with float weights made beforehand and the bias
    and ReLU applied in place (no input checks), as tight as NumPy does it."""
    h = x
    for w, b, relu in layers:
        h = h @ w
        h += b
        if relu:
            np.maximum(h, 0.0, out=h)
    return h


def paired_best_of(f, g, repeat: int = 7) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Best times of ``f`` and ``g`` run alternately, so drift in the machine hits both alike."""
    tf, tg = [], []
    for _ in range(repeat):
        tf.append(best_of(f, 1))
        tg.append(best_of(g, 1))
    return min(tf), min(tg)


def best_of(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench(shape: tuple[int, ...], n_exact: int, n_ode: int, seed: int = 0) -> list[dict[str, object]]:
    net = ternary_network(shape, seed)
    x = np.random.default_rng(seed + 1).normal(size=(n_exact, shape[0]))
    weights = [(layer.effective_weights, layer.bias, layer.activation == "relu") for layer in net.layers]
    reference = net.forward(x)
    rows = []
    for form in ("full", "reduced"):
        t_compile = best_of(lambda: compile_network(net, form=form), repeat=2)  # noqa: B023
        crn = compile_network(net, form=form)
        # Exact evaluation, two engines: firing the reactions level by level, and the ReLU
        # circuit derived from the reactions. Both give every output value exactly.
        t_plan = best_of(lambda: FiringPlan.for_outputs(crn), repeat=1)  # noqa: B023
        plan = FiringPlan.for_outputs(crn)
        t_exact = best_of(lambda: plan.evaluate(x))  # noqa: B023
        err = float(np.max(np.abs(plan.evaluate(x) - reference)))
        t_circuit_build = best_of(lambda: relu_circuit(crn), repeat=1)  # noqa: B023
        circuit = relu_circuit(crn)
        t_forward, t_circuit = paired_best_of(lambda: lean_forward(weights, x), lambda: circuit.evaluate(x))  # noqa: B023
        circuit_err = float(np.max(np.abs(circuit.evaluate(x) - reference)))
        ode_row: dict[str, object] = {"n_ode": n_ode, "ode_s_per_example": float("nan"), "ode_converged": 0}
        ode_row.update(ode_max_abs_err=float("nan"), ode_err_over_tol=float("nan"), ode_mean_steps=float("nan"))
        if n_ode:
            start = time.perf_counter()
            ode = simulate(crn, x[:n_ode], rates="random", seed=seed, tol=1e-3, engine="scipy")
            ode_row.update(
                ode_s_per_example=(time.perf_counter() - start) / n_ode,
                ode_converged=int(ode.converged.sum()),
                ode_max_abs_err=float(np.max(np.abs(ode.outputs - reference[:n_ode]))),
                # the stopping tolerance is 1e-3 relative to each example's scale (kinetics.stopping)
                ode_err_over_tol=float(np.max(np.abs(ode.outputs - reference[:n_ode]) / ode.tolerance[:, None])),
                ode_mean_steps=float(ode.steps.mean()),
            )
        stats = crn_stats(crn)
        rows.append(
            {
                "network": "-".join(map(str, shape)),
                "form": form,
                "species": stats["n_species"],
                "reactions": stats["n_reactions"],
                "max_products": stats["max_products"],
                "compile_s": t_compile,
                "plan_s": t_plan,
                "n_exact": n_exact,
                "forward_s": t_forward,
                "exact_s": t_exact,
                "exact_per_example_us": 1e6 * t_exact / n_exact,
                "exact_over_forward": t_exact / t_forward,
                "exact_max_abs_err": err,
                "circuit_build_s": t_circuit_build,
                "circuit_s": t_circuit,
                "circuit_over_forward": t_circuit / t_forward,
                "circuit_max_abs_err": circuit_err,
                "circuit_widths": list(circuit.widths),
                "circuit_multiply_adds": circuit.multiply_adds,
                "forward_multiply_adds": sum(a * b for a, b in zip(shape[:-1], shape[1:])),
                **ode_row,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--no-ode", action="store_true", help="skip the (slow) SciPy ODE column")
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "bench.json"))
    args = parser.parse_args(argv)
    cases = [((4, 8, 3), 10_000, 20), ((196, 256, 256, 256, 10), 10_000, 1)]
    if args.quick:
        cases = [((4, 8, 3), 1000, 3), ((196, 64, 10), 1000, 1)]
    rows = []
    for shape, n_exact, n_ode in cases:
        print(f"benchmarking {'-'.join(map(str, shape))} ...", file=sys.stderr, flush=True)
        rows.extend(bench(shape, n_exact, 0 if args.no_ode else n_ode))
    header = (
        "| network | form | species | reactions | compile (s) | forward, N inputs (s) "
        "| exact by circuit (s) | circuit/forward | exact by firing (s) | firing/forward "
        "| exact max err (circuit / firing) "
        "| SciPy BDF ODE s/example (random rates) | ODE max err (/ its tolerance) |"
    )
    print(header)
    print("|" + "|".join(["---"] * (header.count("|") - 1)) + "|")
    for r in rows:
        print(
            f"| {r['network']} | {r['form']} | {r['species']} | {r['reactions']} | {r['compile_s']:.3f} "
            f"| {r['forward_s']:.4f} (N={r['n_exact']}) | {r['circuit_s']:.4f} | {r['circuit_over_forward']:.2f}x "
            f"| {r['exact_s']:.3f} | {r['exact_over_forward']:.1f}x "
            f"| {r['circuit_max_abs_err']:.1e} / {r['exact_max_abs_err']:.1e} "
            f"| {r['ode_s_per_example']:.2f} ({r['ode_converged']}/{r['n_ode']} conv.) "
            f"| {r['ode_max_abs_err']:.1e} ({r['ode_err_over_tol']:.2f}) |"
        )
    print(
        "\nplan (s): "
        + "; ".join(
            f"{r['network']} {r['form']}: circuit {r['circuit_build_s']:.2f}, firing {r['plan_s']:.2f}" for r in rows
        )
    )
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"python": platform.python_version(), "machine": platform.machine(), "numpy": np.__version__}
    atomic_write_text(out, json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
