"""The paper's four tasks, measured: the recipes over seeds, and the accuracy-per-reaction searches.

Run: ``.venv/bin/python benchmarks/paper.py`` (everything: about 3 hours on 2 cores), or a part:

    benchmarks/paper.py --tasks heart,virus --recipes paper --seeds 5 --no-search
    benchmarks/paper.py --tasks iris --search-only --search-seeds 5 --workers 2

For every task and recipe (``faithful``: the authors' BinaryConnect recipe as their code runs it;
``paper``: the same protocol with deepcrn's training fixes) it runs ``deepcrn run TASK --recipe R
--seed S`` for seeds ``0..N-1`` (the whole pipeline: train, compile, prove, exact evaluation of the
whole test split, ODE under random rates) and reports the mean and standard deviation of the
accuracy on the paper's evaluation set. Then ``deepcrn search TASK`` (the ``paper`` recipe's
training; the grid of the task registry) and its networks that dominate the paper's. Prints
markdown tables and writes JSON (default ``benchmarks/results/paper.json``; each run's folder and
each search's output under ``benchmarks/results/paper/``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from deepcrn._io import atomic_write_text
from deepcrn.experiments.run import RunOptions, run_task
from deepcrn.experiments.search import SearchOptions, run_search
from deepcrn.experiments.tasks import TASKS

RESULTS = Path(__file__).resolve().parent / "results"
PAPER_TASKS = ("iris", "virus", "mnist", "heart")


def one_run(
    task: str, recipe: str, seed: int, out: Path, cv_folds: int | None, polish: int | None = None
) -> dict[str, Any]:
    """``deepcrn run TASK --recipe RECIPE --seed SEED [--polish N]``; the numbers the tables need."""
    start = time.perf_counter()
    m = run_task(RunOptions(task=task, out=out, seed=seed, recipe=recipe, n_ode=5, cv_folds=cv_folds, polish=polish))
    cv = m.cross_validation
    return {
        "task": task,
        "recipe": recipe,
        "seed": seed,
        "network": m.network_shape,
        "accuracy": m.nn_accuracy,
        "crn_accuracy": m.crn_accuracy,
        "test_accuracy": m.nn_test_accuracy,
        "n_eval": m.n_eval,
        "agreement": m.agreement,
        "ode_agreement": m.ode.agreement,
        "proven_equivalent": m.proven_equivalent,
        "reactions": m.n_reactions,
        "species": m.n_species,
        "total_products": m.crn_stats["total_products"],
        "cv_mean": None if cv is None else cv.mean,
        "cv_accuracies": None if cv is None else cv.accuracies,
        "best_epoch": m.best_epoch,
        "polish": m.polish,
        "train_seconds": m.train_seconds,
        "seconds": time.perf_counter() - start,
    }


def _stats(values: list[float]) -> dict[str, float]:
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "min": min(values), "max": max(values)}


def recipes_table(runs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["task"], r["recipe"]), []).append(r)
    summary = []
    lines = [
        "| task | network | recipe | evaluation set | paper | ours: mean +- std (min-max), seeds | all 10,000 (MNIST) "
        "| held-out CV (IRIS) | reduced reactions (paper) | agreement CRN = NN | proven | s / seed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (task, recipe), group in groups.items():
        ref = TASKS[task].reference
        assert ref is not None
        acc = _stats([r["accuracy"] for r in group])
        test = _stats([r["test_accuracy"] for r in group])
        cvs = [r["cv_mean"] for r in group if r["cv_mean"] is not None]
        entry = {
            "task": task,
            "recipe": recipe,
            "seeds": [r["seed"] for r in group],
            "accuracy": acc,
            "test_accuracy": test,
            "cv": _stats(cvs) if cvs else None,
            "reactions": _stats([r["reactions"] for r in group]),
            "all_agree": all(r["agreement"] == 1.0 for r in group),
            "all_proven": all(r["proven_equivalent"] for r in group),
            "seconds_per_seed": float(np.mean([r["seconds"] for r in group])),
        }
        summary.append(entry)
        n = group[0]["n_eval"]
        whole = f"{test['mean']:.4f} +- {test['std']:.4f}" if task == "mnist" else "-"
        cv = entry["cv"]
        held_out = "-" if cv is None else f"{cv['mean']:.4f} +- {cv['std']:.4f}"
        lines.append(
            f"| {task} | {group[0]['network']} | {recipe} | {ref.evaluation} | {ref.accuracy:.3f} | "
            f"**{acc['mean']:.4f} +- {acc['std']:.4f}** ({acc['min']:.3f}-{acc['max']:.3f}; "
            f"{round(acc['mean'] * n, 1)} of {n}), {len(group)} | {whole} | {held_out} | "
            f"{entry['reactions']['mean']:g} ({ref.reactions}) | {'all' if entry['all_agree'] else 'NOT all'} | "
            f"{'all' if entry['all_proven'] else 'NOT all'} | {entry['seconds_per_seed']:.0f} |"
        )
    return summary, "\n".join(lines)


def search_table(searches: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| task | network (after pruning) | weights | sparsity | seed | accuracy (paper) | reduced reactions (paper) "
        "| species (paper) | total products (paper) | ODE time, median | proven | same config, mean over seeds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for task, s in searches.items():
        ref = s["paper"]
        for row in s["winners"]:
            config = s["configs"][f"{row['hidden']}-{row['kind']}-s{row['sparsity']:g}"]
            lines.append(
                f"| {task} | {row['n_in']}-{row['pruned_hidden']}-{row['n_out']} | {row['weight_kind']} | "
                f"{row['sparsity']:g} | {row['seed']} | {row['accuracy']:.4f} ({ref['accuracy']}) | "
                f"**{row['reactions']}** ({ref['reactions']}) | {row['species']} ({ref['species']}) | "
                f"{row['total_products']} ({ref['total_products']}) | {row['ode_median_time']:.3g} | "
                f"{'yes' if row['proven_equivalent'] else 'NO'} | {config['accuracy_mean']:.4f}, "
                f"{config['reactions_mean']:.1f} reactions "
                f"({config['dominating_seeds']}/{config['seeds']} seeds dominate) |"
            )
        if not s["winners"]:
            lines.append(f"| {task} | none of {s['candidates']} networks dominates the paper's | | | | | | | | | | |")
    return "\n".join(lines)


def winners(rows: list[dict[str, Any]], n_in: int, n_out: int) -> list[dict[str, Any]]:
    """The dominating networks on the front of accuracy against reactions (fewest reactions first)."""
    best = [r for r in rows if r["dominates_paper"] and r["pareto_reactions"]]
    for r in best:
        r.update(n_in=n_in, n_out=n_out)
    return sorted(best, key=lambda r: (r["reactions"], -r["accuracy"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default=",".join(PAPER_TASKS))
    parser.add_argument("--recipes", default="faithful,paper")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--search-seeds", type=int, default=3)
    parser.add_argument("--no-search", action="store_true", help="skip the searches")
    parser.add_argument("--search-only", action="store_true", help="only the searches")
    parser.add_argument("--workers", type=int, default=2, help="processes running seeds and search candidates")
    parser.add_argument("--faithful-cv", action="store_true", help="cross-validate the faithful IRIS recipe too")
    parser.add_argument("--no-cv", action="store_true", help="no cross-validation at all (IRIS's takes 5x its run)")
    parser.add_argument("--polish", type=int, help="polishing sweeps for every run (default: each recipe's)")
    parser.add_argument("--json", type=Path, default=RESULTS / "paper.json")
    args = parser.parse_args(argv)
    tasks = args.tasks.split(",")
    out = RESULTS / "paper"
    start = time.perf_counter()
    runs: list[dict[str, Any]] = []
    if not args.search_only:
        jobs = [
            (
                task,
                recipe,
                seed,
                out / f"{task}-{recipe}{'' if args.polish is None else f'-polish{args.polish}'}-seed{seed}",
                0 if args.no_cv or (recipe == "faithful" and not args.faithful_cv) else None,
                args.polish,
            )
            for task in tasks
            for recipe in args.recipes.split(",")
            for seed in range(args.seeds)
        ]
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            for result in pool.map(one_run, *zip(*jobs)):
                runs.append(result)
                print(
                    f"{result['task']} {result['recipe']} seed {result['seed']}: accuracy {result['accuracy']:.4f} "
                    f"({result['seconds']:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    summary, table = recipes_table(runs) if runs else ([], "")
    searches: dict[str, dict[str, Any]] = {}
    if not args.no_search:
        for task in tasks:
            result, s = run_search(
                SearchOptions(
                    task=task,
                    out=out / f"search-{task}",
                    seeds=args.search_seeds,
                    n_workers=args.workers,
                    polish=args.polish,
                )  # fmt: skip
            )
            net = next(iter(result.networks.values()))
            s["winners"] = winners(result.rows, net.n_inputs, net.n_outputs)
            s["rows"] = result.rows
            searches[task] = s
            print(f"search {task}: {len(s['winners'])} winners ({s['seconds']:.0f} s)", file=sys.stderr, flush=True)
    report = {
        "machine": {"python": platform.python_version(), "cpus": platform.machine(), "node": platform.node()},
        "date": time.strftime("%Y-%m-%d"),
        "runs": runs,
        "recipes": summary,
        "searches": searches,
        "seconds": time.perf_counter() - start,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.json, json.dumps(report, indent=1, default=float) + "\n")
    if table:
        print(table)
    if searches:
        print()
        print(search_table(searches))
    print(f"\nwrote {args.json} in {report['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
