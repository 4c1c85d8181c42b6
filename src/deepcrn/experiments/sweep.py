"""Rate-independence sweeps on Dask: examples x random rate-constant draws.

Each draw ``d`` takes rate constants log-uniform over ``[low, high]`` seeded by ``(seed, d)``
and runs every example through the batched integrator. Draws are independent tasks, so results
do not depend on how many workers run them. The scheduler is a local cluster by default, or any
running Dask scheduler (``address``).

    >>> # sweep(crn, x, draws=8)                        # LocalCluster, 2 workers
    >>> # sweep(crn, x, draws=8, address="tcp://host:8786")
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from ..crn import CRN
from ..errors import DeepCRNError, SimulationError
from ..exact import evaluate
from ..io_map import agreement
from ..kinetics.batched import qualifies, simulate_batched
from ..kinetics.rates import check_rate_range, check_seed, random_rates

_ADDRESS = re.compile(r"(tcp|tls|inproc|ucx|ws|wss)://[^\s/]+\Z")


def check_address(address: str | None, error: type[DeepCRNError] = SimulationError) -> None:
    """Refuse (``error``) a ``--scheduler`` that is not a Dask scheduler address."""
    if address is not None and not _ADDRESS.match(address):
        raise error(f"--scheduler {address!r} is not a Dask scheduler address; expected e.g. tcp://HOST:8786")


@contextmanager
def dask_client(address: str | None, n_workers: int) -> Iterator[Any]:
    """A Dask client: of the scheduler at ``address``, or of a local cluster of ``n_workers``
    single-threaded worker processes (closed on exit)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover - a dependency of deepcrn[sweep]
        raise SimulationError("this command needs Dask: pip install 'deepcrn[sweep]'") from err
    cluster = None
    try:
        if address:
            try:
                client = Client(address, timeout="10s")
            except (OSError, ValueError, TypeError) as err:
                raise SimulationError(f"cannot reach the Dask scheduler at {address}: {err}") from err
        else:
            cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            )
            client = Client(cluster)
        with client:
            yield client
    finally:
        if cluster is not None:
            cluster.close()


def draw_seed(seed: int, draw: int) -> int:
    """The integer seed of draw ``draw`` of a sweep seeded ``seed``."""
    return int(np.random.SeedSequence([seed, draw]).generate_state(1)[0])


def run_draw(
    crn: CRN, x: np.ndarray, draw: int, seed: int, low: float, high: float, tol: float, t_max: float
) -> dict[str, Any]:
    """One draw: its rate constants, and every example's outputs, stopping time and convergence."""
    rates = random_rates(len(crn.reactions), draw_seed(seed, draw), low, high)
    res = simulate_batched(crn, x, rates, tol=tol, t_max=t_max)
    return {
        "draw": draw,
        "outputs": res.outputs,
        "times": res.times,
        "converged": res.converged,
        "tolerance": res.tolerance,
        "rates": rates,
    }


@dataclass
class SweepResult:
    """``outputs`` ``(draws, examples, n_outputs)``; ``times``, ``converged`` ``(draws, examples)``;
    ``reference`` ``(examples, n_outputs)``: the exact equilibrium (the network's outputs)."""

    outputs: np.ndarray
    times: np.ndarray
    converged: np.ndarray
    reference: np.ndarray
    rates: np.ndarray

    @property
    def abs_error(self) -> np.ndarray:
        """``max_j |CRN_j - reference_j|`` per draw and example, ``(draws, examples)``."""
        return np.abs(self.outputs - self.reference[None]).max(axis=2)

    tolerance: np.ndarray  # (draws, examples): each run's stopping tolerance

    @property
    def class_agreement(self) -> float:
        """Fraction of runs whose class matches the exact one (tie-aware: classes within twice the
        stopping tolerance of the best count as the same)."""
        hits = [agreement(self.reference, out, atol=2 * tol).agree for out, tol in zip(self.outputs, self.tolerance)]
        return float(np.mean(hits)) if hits else 1.0


def sweep(
    crn: CRN,
    x: np.ndarray,
    draws: int,
    *,
    seed: int = 0,
    low: float = 0.1,
    high: float = 10.0,
    tol: float = 1e-3,
    t_max: float = 1e6,
    address: str | None = None,
    n_workers: int = 2,
    progress: bool = False,
) -> SweepResult:
    """Run ``draws`` random rate draws over all examples ``x`` on Dask distributed.

    Every argument is checked here, before any worker starts."""
    reason = qualifies(crn)
    if reason is not None:
        raise SimulationError(f"sweeps need a CRN the batched integrator runs: {reason}")
    if draws < 1:
        raise SimulationError(f"--rate-draws must be at least 1, got {draws}")
    if n_workers < 1:
        raise SimulationError(f"--workers must be at least 1, got {n_workers}")
    check_seed(seed)
    check_rate_range(low, high)
    if not (0 < tol <= 1) or not (0 < t_max < float("inf")):
        raise SimulationError(f"need 0 < tol <= 1 and a finite t_max > 0, got tol={tol:g}, t_max={t_max:g}")
    check_address(address, SimulationError)
    reference = evaluate(crn, x)
    with dask_client(address, n_workers) as client:
        from dask.distributed import as_completed

        crn_f, x_f = client.scatter([crn, x], broadcast=True)
        args = (seed, low, high, tol, t_max)
        futures = [client.submit(run_draw, crn_f, x_f, d, *args, pure=False) for d in range(draws)]
        results = []
        for future in tqdm(as_completed(futures), total=draws, desc="sweep", unit="draw", disable=not progress):
            results.append(future.result())
    results.sort(key=lambda r: r["draw"])
    return SweepResult(
        outputs=np.stack([r["outputs"] for r in results]),
        times=np.stack([r["times"] for r in results]),
        converged=np.stack([r["converged"] for r in results]),
        reference=reference,
        rates=np.stack([r["rates"] for r in results]),
        tolerance=np.stack([r["tolerance"] for r in results]),
    )
