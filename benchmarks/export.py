"""Export benchmark: SBML / Antimony export time and size, libRoadRunner load and simulate time.

Run: ``.venv/bin/python benchmarks/export.py [--timeout 120]``. Prints a markdown table and
writes ``benchmarks/results/export.json``. libRoadRunner runs in a child process with a time
limit, so a model it cannot load in time is reported as such rather than hanging the run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from run import ternary_network  # noqa: E402

from deepcrn._io import atomic_write_text  # noqa: E402
from deepcrn.compile import compile_network  # noqa: E402
from deepcrn.exact import evaluate  # noqa: E402
from deepcrn.interop.antimony import to_antimony  # noqa: E402
from deepcrn.interop.sbml import to_sbml  # noqa: E402


def _roadrunner(path: str, names: list[str], queue: mp.Queue) -> None:  # type: ignore[type-arg]
    import roadrunner

    start = time.perf_counter()
    rr = roadrunner.RoadRunner(path)
    load = time.perf_counter() - start
    queue.put(("load", load))
    start = time.perf_counter()
    rr.integrator.absolute_tolerance = 1e-10
    rr.integrator.relative_tolerance = 1e-8
    rr.simulate(0, 1e5, 20)
    queue.put(("simulate", time.perf_counter() - start, [rr[n] for n in names]))


def roadrunner_times(path: str, names: list[str], timeout: float) -> dict[str, object]:
    queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    proc = mp.get_context("fork").Process(target=_roadrunner, args=(path, names, queue))
    proc.start()
    result: dict[str, object] = {"load_s": None, "simulate_s": None, "outputs": None, "status": "ok"}
    deadline = time.perf_counter() + timeout
    for stage in ("load", "simulate"):
        try:
            item = queue.get(timeout=max(0.1, deadline - time.perf_counter()))
        except Exception:
            result["status"] = f"did not finish {stage} within {timeout:.0f} s"
            break
        result[f"{stage}_s"] = item[1]
        if stage == "simulate":
            result["outputs"] = item[2]
    proc.kill()
    proc.join()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds allowed for libRoadRunner per model")
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "export.json"))
    args = parser.parse_args(argv)
    rows = []
    for shape in ((196, 64, 10), (196, 256, 256, 256, 10)):
        net = ternary_network(shape, 0)
        x = np.random.default_rng(1).normal(size=shape[0])
        for form in ("reduced", "full"):
            crn = compile_network(net, form=form)
            start = time.perf_counter()
            sbml = to_sbml(crn, x)
            t_sbml = time.perf_counter() - start
            start = time.perf_counter()
            ant = to_antimony(crn, x)
            t_ant = time.perf_counter() - start
            with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as handle:
                handle.write(sbml)
            print(f"{'-'.join(map(str, shape))} {form}: libRoadRunner ...", file=sys.stderr, flush=True)
            rr = roadrunner_times(handle.name, crn.output_names, args.timeout)
            Path(handle.name).unlink()
            exact = evaluate(crn, x[None])[0]
            err = None if rr["outputs"] is None else float(np.max(np.abs(np.array(rr["outputs"]) - exact)))
            rows.append(
                {
                    "network": "-".join(map(str, shape)),
                    "form": form,
                    "reactions": len(crn.reactions),
                    "sbml_s": t_sbml,
                    "sbml_mb": len(sbml.encode()) / 1e6,
                    "antimony_s": t_ant,
                    "antimony_mb": len(ant.encode()) / 1e6,
                    "rr_load_s": rr["load_s"],
                    "rr_simulate_s": rr["simulate_s"],
                    "rr_status": rr["status"],
                    "rr_max_abs_err_t1e5": err,
                }
            )
    header = (
        "| network | form | reactions | SBML export (s) | SBML size (MB) | Antimony (s) | Antimony (MB) "
        "| libRoadRunner load (s) | simulate to t=1e5 (s) | max abs err vs exact |"
    )
    print(header)
    print("|" + "|".join(["---"] * (header.count("|") - 1)) + "|")

    def fmt(v: object, spec: str) -> str:
        return "-" if v is None else format(v, spec)

    for r in rows:
        status = "" if r["rr_status"] == "ok" else f" ({r['rr_status']})"
        print(
            f"| {r['network']} | {r['form']} | {r['reactions']} | {r['sbml_s']:.2f} | {r['sbml_mb']:.2f} "
            f"| {r['antimony_s']:.2f} | {r['antimony_mb']:.2f} | {fmt(r['rr_load_s'], '.1f')}{status} "
            f"| {fmt(r['rr_simulate_s'], '.1f')} | {fmt(r['rr_max_abs_err_t1e5'], '.1e')} |"
        )
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
