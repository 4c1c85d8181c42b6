"""deepcrn DSD benchmark: DSD-form sizes, domain-level design sizes and verification times for
the paper's four network shapes (seeded random ternary networks, as ``benchmarks/run.py``).

Run: ``.venv/bin/python benchmarks/dsd.py [--whole 2-4-2,4-3-3] [--modular ...] [--json PATH]``.
Prints markdown tables and writes JSON (default ``benchmarks/results/dsd.json``). Verification
is modular (per reaction + crosstalk) for every network and also whole-design for the shapes in
``--whole``; ``--simulate N`` simulates the enumerated reactions of the 2-4-2 network on N random
inputs against the network.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import ternary_network  # noqa: E402

from deepcrn._io import atomic_write_text  # noqa: E402
from deepcrn.analysis import stats  # noqa: E402
from deepcrn.compile import compile_network  # noqa: E402
from deepcrn.dsd import design_crn  # noqa: E402
from deepcrn.dsd.report import design_report  # noqa: E402
from deepcrn.dsd.verify import verify_design  # noqa: E402

PAPER = {"iris": (4, 3, 3), "virus": (10, 8, 4), "mnist": (196, 64, 10), "heart": (2, 8, 2)}


def shape_name(shape: tuple[int, ...]) -> str:
    return "-".join(map(str, shape))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--whole", default="2-4-2,4-3-3", help="shapes also verified as a whole design")
    parser.add_argument(
        "--modular", default="2-4-2,4-3-3,2-8-2,4-8-3,10-8-4,196-64-10", help="shapes verified modularly"
    )
    parser.add_argument("--shapes", help="only these shapes, e.g. 2-8-2,196-64-10 (default: all)")
    parser.add_argument("--simulate", type=int, default=3, help="examples simulated on the 2-4-2 design (0: none)")
    parser.add_argument("--json", default=str(Path(__file__).resolve().parent / "results" / "dsd.json"))
    args = parser.parse_args()
    whole = set(filter(None, args.whole.split(",")))
    modular = set(filter(None, args.modular.split(",")))
    shapes = {"2-4-2": (2, 4, 2), "4-8-3": (4, 8, 3), **{f"{k} {shape_name(v)}": v for k, v in PAPER.items()}}
    if args.shapes:
        keep = set(args.shapes.split(","))
        shapes = {label: shape for label, shape in shapes.items() if shape_name(shape) in keep}
    rows = []
    for label, shape in shapes.items():
        print(f"{label} ...", file=sys.stderr, flush=True)
        net = ternary_network(shape, 0)
        row: dict[str, object] = {"network": label, "shape": shape_name(shape)}
        for form in ("full", "reduced", "dsd", "dsd-reduced"):
            s = stats(compile_network(net, form=form))
            row[form] = {k: s[k] for k in ("n_species", "n_reactions", "total_products", "max_products", "depth")}
        crn = compile_network(net, form="dsd")
        design = design_crn(crn)
        report = design_report(design, crn)
        row["design"] = {"signals": len(design.signals), "fuels": len(design.fuels), **report["total"]}
        name = shape_name(shape)
        for method, chosen in (("modular", modular), ("whole", whole)):
            if name in chosen:
                t0 = time.perf_counter()
                v = verify_design(design, method=method)  # type: ignore[arg-type]
                row[method] = {
                    "ok": v.ok,
                    "seconds": time.perf_counter() - t0,
                    "peppercorn_runs": v.enumerations,
                    "complexes": v.n_complexes,
                    "condensed_reactions": v.n_reactions,
                    "first_failure": None if v.ok else str(v.first_failure),
                    "crosstalk_seconds": v.verdicts[-1].seconds if method == "modular" else None,
                }
                print(f"{label} {method}: {row[method]}", file=sys.stderr)
        rows.append(row)
    sim = None
    if args.simulate:
        from deepcrn.dsd.simulate import simulate_design
        from deepcrn.dsd.verify import implementation

        net = ternary_network((2, 4, 2), 0)
        crn = compile_network(net, form="dsd")
        design = design_crn(crn)
        x = np.random.default_rng(1).normal(size=(args.simulate, 2))
        t0 = time.perf_counter()
        res = simulate_design(design, crn, implementation(design), x)
        nn = net.forward(x)
        sim = {
            "network": "2-4-2",
            "examples": args.simulate,
            "max_abs_diff_vs_network": float(np.abs(res.outputs - nn).max()),
            "same_class": res.agreement,
            "converged": int(res.converged.sum()),
            "settle_times_s": res.times.tolist(),
            "seconds": time.perf_counter() - t0,
            "species": res.n_species,
            "reactions": res.n_reactions,
        }
    print("| network | full: reactions / products / depth | reduced | dsd (split full) | dsd-reduced |")
    print("|---|---|---|---|---|")
    for r in rows:
        cells = [
            f"{r[f]['n_reactions']} / {r[f]['total_products']} / {r[f]['depth']}"  # type: ignore[index]
            for f in ("full", "reduced", "dsd", "dsd-reduced")
        ]
        print(f"| {r['network']} | " + " | ".join(cells) + " |")
    print()
    print("| network | signals | fuels | distinct strands | domains | nucleotides | modular verification | whole |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        d = r["design"]
        cells = []
        for method in ("modular", "whole"):
            v = r.get(method)
            cells.append(
                "-"
                if v is None
                else f"{'ok' if v['ok'] else 'FAILED'} {v['seconds']:.1f} s ({v['peppercorn_runs']} runs)"  # type: ignore[index]
            )
        print(
            f"| {r['network']} | {d['signals']} | {d['fuels']} | {d['strands']} | {d['domains']} | "  # type: ignore[index]
            f"{d['nucleotides']} | {cells[0]} | {cells[1]} |"  # type: ignore[index]
        )
    if sim:
        print(f"\nkinetics of the enumerated 2-4-2 design: {sim}")
    out = {"machine": platform.platform(), "python": platform.python_version(), "rows": rows, "simulation": sim}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.json, json.dumps(out, indent=1) + "\n")
    print(f"\nwrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
