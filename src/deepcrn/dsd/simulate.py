"""Mass-action kinetics of an enumerated design: network -> CRN -> DNA, the same outputs?

The implementation CRN (peppercorn's condensed reactions, rate constants in /nM/s and /s,
history variants merged into their signal, see :func:`~deepcrn.dsd.verify.implementation`) is
built as a :class:`~deepcrn.crn.CRN` with concentrations in nM and time in seconds, one closed
CRN per example: each signal starts at its formal species' initial amount (inputs encoded as in
``deepcrn evaluate``) times ``unit_nM``, each fuel at ``fuel_nM``. SciPy's BDF integrates its
mass-action kinetics to ``t_max``; each output is read as its two signals' difference divided
by ``unit_nM`` and the output's scale, and compared with the formal CRN's exact outputs (the
network's, when ``deepcrn verify`` proves the CRN equivalent).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..crn import CRN, OutputSpec, Reaction
from ..errors import SimulationError
from ..io_map import agreement, initial_state
from .model import Design
from .verify import Implementation


@dataclass
class DsdKinetics:
    """Per example: ``outputs`` ``(batch, n_outputs)`` of the DNA implementation at the stop,
    ``expected`` the formal CRN's exact outputs, ``times`` (s), ``converged``, and the output
    trajectories ``(t in s, values (T, n_outputs))`` of each example."""

    outputs: np.ndarray
    expected: np.ndarray
    times: np.ndarray
    converged: np.ndarray
    trajectories: list[tuple[np.ndarray, np.ndarray]]
    output_names: list[str]
    n_species: int
    n_reactions: int

    @property
    def max_abs_diff(self) -> float:
        return float(np.max(np.abs(self.outputs - self.expected), initial=0.0))

    @property
    def agreement(self) -> float:
        """Fraction of examples whose class (argmax) is the formal CRN's."""
        return agreement(self.expected, self.outputs).fraction


def implementation_crn(
    design: Design, formal: CRN, impl: Implementation, amounts: np.ndarray, *, unit_nM: float, fuel_nM: float
) -> CRN:
    """The closed implementation CRN for one example: ``amounts`` ``(n_species,)`` are the
    formal species' initial amounts (in the formal CRN's order)."""
    species = tuple(impl.complexes)
    reactions = tuple(Reaction(tuple((s, 1) for s in r), tuple((s, 1) for s in p), k) for r, p, k in impl.reactions)
    init = {name: fuel_nM for name in impl.fuels if name in impl.complexes}
    for s, amount in zip(formal.species, amounts):
        if amount:
            init[design.names[s]] = float(amount) * unit_nM
    outputs = tuple(
        OutputSpec(o.name, design.names[o.pos], design.names[o.neg], o.scale * unit_nM) for o in formal.outputs
    )
    return CRN(species, reactions, init, (), outputs)


def simulate_design(
    design: Design,
    formal: CRN,
    impl: Implementation,
    x: np.ndarray,
    *,
    unit_nM: float = 10.0,
    fuel_nM: float = 1000.0,
    t_max: float = 1e6,
    tol: float = 1e-3,
    points: int = 200,
) -> DsdKinetics:
    """Simulate the design for each row of ``x`` ``(batch, n_inputs)`` (module docstring) with
    SciPy's BDF and the analytic sparse Jacobian of :class:`~deepcrn.kinetics.scipy_engine.MassAction`,
    from 1e-3 s to ``t_max`` s, sampled at ``points`` log-spaced times. An example has converged
    at the first sample after which its outputs stay within ``tol`` (in output units) of their
    values at ``t_max``, and only if they moved less than ``tol`` over the last decade."""
    from scipy.integrate import solve_ivp

    from ..exact import evaluate
    from ..io_map import OutputMap
    from ..kinetics.scipy_engine import MassAction

    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    states = initial_state(formal, x)
    expected = evaluate(formal, x)
    samples = np.concatenate([[0.0], np.logspace(-3, np.log10(t_max), points)])
    outs, times, conv, trajs = [], [], [], []
    crn = None
    for amounts in states:
        crn = implementation_crn(design, formal, impl, amounts, unit_nM=unit_nM, fuel_nM=fuel_nM)
        ma = MassAction(crn, crn.rate_constants())
        c0 = initial_state(crn)[0]
        sol = solve_ivp(
            ma.rhs, (0.0, t_max), c0, method="BDF", jac=ma.jacobian, t_eval=samples, rtol=1e-8, atol=1e-9 * unit_nM
        )
        if not sol.success:
            raise SimulationError(f"the DNA implementation's kinetics failed to integrate: {sol.message}")
        values = OutputMap.of(crn).values(sol.y.T)
        final = values[-1]
        off = np.flatnonzero(np.any(np.abs(values - final) > tol, axis=1))
        settled = sol.t[off[-1] + 1] if len(off) else 0.0
        decade = values[sol.t >= t_max / 10]
        outs.append(final)
        times.append(settled)
        conv.append(bool(np.all(np.abs(decade - final) <= tol)))
        trajs.append((sol.t, values))
    assert crn is not None
    return DsdKinetics(
        np.array(outs),
        expected,
        np.array(times),
        np.array(conv),
        trajs,
        formal.output_names,
        len(crn.species),
        len(crn.reactions),
    )


def plot_design_kinetics(result: DsdKinetics, path: str | Path, title: str = "network -> CRN -> DNA") -> None:
    """Output trajectories of the DNA implementation (solid) against the network's outputs
    (dashed), one panel per example, with the class each gives."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .._io import atomic_write_bytes

    n = len(result.trajectories)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.4), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (ax, (t, values)) in enumerate(zip(axes[0], result.trajectories)):
        for j, name in enumerate(result.output_names):
            c = colors[j % len(colors)]
            keep = t > 0
            ax.plot(t[keep], values[keep, j], color=c, label=name)
            ax.axhline(result.expected[k, j], color=c, linestyle="--", linewidth=1)
        ax.set_xscale("log")
        ax.set_xlabel("time (s)")
        ours, theirs = int(np.argmax(result.outputs[k])), int(np.argmax(result.expected[k]))
        ax.set_title(f"example {k + 1}: DNA class {ours}, network class {theirs}", fontsize=9)
    axes[0][0].set_ylabel("output (DNA solid, network dashed)")
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
