"""Train the MNIST-size network of the SSA benchmark: 196-256-256-256-10 with the paper's MNIST
recipe (``deepcrn run mnist --recipe paper``) as it stood when the README's figures were
measured (weights +-1 unscaled, no sparsity pressure, no polishing; the recipe now uses weights
+-1/4, a sparsity pressure and polishing) but three hidden layers of 256 instead of one of 64,
which ``--recipe paper`` does not allow on the command line.

Run: ``DEEPCRN_DATA=../shared/datasets .venv/bin/python benchmarks/mnist_paper_256.py [--seed 0]
[--out runs/mnist-paper-256]``; then ``benchmarks/ssa.py --cases trained --mnist-network
runs/mnist-paper-256/network.json``.
"""

from __future__ import annotations

import argparse
import dataclasses

from deepcrn.cli import main as deepcrn
from deepcrn.experiments.tasks import TASKS

HIDDEN = (256, 256, 256)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/mnist-paper-256")
    args = parser.parse_args()
    recipes = dict(TASKS["mnist"].recipes)
    recipes["paper"] = dataclasses.replace(recipes["paper"], hidden=HIDDEN, weight_scale=1.0, sparsity=0.0, polish=0)
    TASKS["mnist"] = dataclasses.replace(TASKS["mnist"], recipes=recipes)
    argv = ["run", "mnist", "--recipe", "paper", "--seed", str(args.seed), "--ode-examples", "2", "--out", args.out]
    return deepcrn(argv)


if __name__ == "__main__":
    raise SystemExit(main())
