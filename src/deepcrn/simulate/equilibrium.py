"""Exact equilibrium of a non-competitive, feed-forward CRN, batched over examples.

Each reaction fires to completion, in topological order; its extent is the minimum over the
species it net-consumes of ``concentration / net consumption`` (zero if a catalyst it needs is
absent). Reactions of one topological level are independent, so a level is one gather (the
extents) and one matrix product (the net changes) over a ``(batch, species)`` array.

Example::

    >>> import numpy as np
    >>> from deepcrn.crn_text import parse_crn
    >>> crn = parse_crn("input x = X_p - X_n\\noutput y = Y_p - Y_n\\nX_p -> 2 Y_p\\nX_n -> 2 Y_n")
    >>> equilibrium_outputs(crn, np.array([[1.5], [-2.0]])).ravel().tolist()
    [3.0, -4.0]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..crn import CRN
from ..errors import CircuitError, CRNError, SimulationError
from .circuit import ReluCircuit, relu_circuit

CHUNK = 2048  # examples per block: bounds memory to CHUNK * species * 8 bytes per array


@dataclass(frozen=True)
class _Level:
    slots: np.ndarray  # (n_reactions, arity) tracked column of each net-consumed reactant
    divisors: np.ndarray  # (n_reactions, arity) its net consumption (1 in unused slots)
    padding: np.ndarray  # (n_reactions, arity) 0, or inf in unused slots so they never limit
    used: np.ndarray  # (n_reactions, arity) bool: the slot holds a real reactant
    catalysts: np.ndarray  # (n_cat, 2): (reaction position, column) of reactants not net-consumed
    reactions: np.ndarray  # (n_reactions,) index of each of the level's reactions in the CRN
    span: slice  # tracked columns lo:hi holding every species the level net-produces
    production_t: np.ndarray | sp.csr_matrix  # (hi - lo, n_reactions) net production, transposed


class ExactPlan:
    """The levelled firing schedule of a CRN, built once and applied to many inputs.

    ``track`` limits the species followed to those named (plus every reactant, which the
    schedule needs); by default all species are followed. Raises
    :class:`~deepcrn.errors.CRNError` for a CRN that is competitive or not feed-forward (its
    final state would depend on the rates) or has a reaction that never stops.
    """

    def __init__(self, crn: CRN, track: Iterable[str] | None = None) -> None:
        crn.check_rate_independent()
        self.crn = crn
        levels = crn.reaction_levels()
        reactant_names = {name for r in crn.reactions for name, _ in r.reactants}
        wanted = set(crn.species) if track is None else set(track) | reactant_names
        self.tracked = np.array([crn.index[s] for s in crn.species if s in wanted], dtype=np.int64)
        col = {int(s): k for k, s in enumerate(self.tracked)}
        self.levels: list[_Level] = []
        for group in levels:
            arity = max(len(crn.reactions[i].reactants) for i in group)
            slots = np.zeros((len(group), arity), dtype=np.int64)
            divisors = np.ones((len(group), arity))
            padding = np.full((len(group), arity), np.inf)
            catalysts = []
            rows: list[int] = []
            cols: list[int] = []
            vals: list[float] = []
            for k, i in enumerate(group):
                r = crn.reactions[i]
                net = r.net()
                slot = 0
                for name, _ in r.reactants:
                    c = col[crn.index[name]]
                    if net.get(name, 0) < 0:
                        slots[k, slot] = c
                        divisors[k, slot] = -net[name]
                        padding[k, slot] = 0.0
                        slot += 1
                    else:
                        catalysts.append((k, c))
                if slot == 0:
                    raise CRNError(
                        f"reaction {i + 1} ({r}) consumes none of its reactants, so it never stops; "
                        "the CRN has no equilibrium"
                    )
                for name, change in net.items():
                    c_idx = col.get(crn.index[name])
                    if change > 0 and c_idx is not None:
                        rows.append(k)
                        cols.append(c_idx)
                        vals.append(float(change))
            lo, hi = (min(cols), max(cols) + 1) if cols else (0, 0)
            production = sp.csr_matrix((vals, ([c - lo for c in cols], rows)), shape=(hi - lo, len(group)))
            dense = production.nnz > 0.05 * max(1, production.shape[0] * production.shape[1])
            self.levels.append(
                _Level(
                    slots,
                    divisors,
                    padding,
                    padding == 0.0,
                    np.array(catalysts, dtype=np.int64).reshape(-1, 2),
                    np.array(group, dtype=np.int64),
                    slice(lo, hi),
                    production.toarray() if dense else production,
                )
            )

    def run(self, state: np.ndarray) -> np.ndarray:
        """Final concentrations of the tracked species, shape ``(batch, n_tracked)``, from
        initial concentrations ``state`` of shape ``(batch, n_species)``."""
        out = np.empty((state.shape[0], len(self.tracked)))
        for start in range(0, state.shape[0], CHUNK):
            # Species-major layout: gathering a species is copying one contiguous row.
            c = np.ascontiguousarray(state[start : start + CHUNK, self.tracked].T)
            self.fire(c)
            out[start : start + CHUNK] = c.T
        return out

    def fire(self, c: np.ndarray) -> None:
        """Fire every reaction to completion, in place, on a species-major block
        ``(n_tracked, batch)`` of tracked concentrations."""
        for level in self.levels:
            limits = c[level.slots] / level.divisors[:, :, None] + level.padding[:, :, None]
            extent = limits.min(axis=1)  # (n_reactions, batch)
            if len(level.catalysts):
                absent = c[level.catalysts[:, 1]] <= 0
                if absent.any():
                    hit = np.zeros(extent.shape, dtype=bool)
                    np.logical_or.at(hit, level.catalysts[:, 0], absent)
                    extent[hit] = 0.0
            # Consumption: each consumed species belongs to one reaction (non-competitive).
            for q in range(level.slots.shape[1]):
                rows = level.used[:, q]
                left = c[level.slots[rows, q]] - extent[rows] * level.divisors[rows, q][:, None]
                c[level.slots[rows, q]] = np.maximum(left, 0.0)  # rounding can leave -1e-17
            if level.span.stop > level.span.start:
                c[level.span] += level.production_t @ extent

    def run_inputs(self, x: np.ndarray | None) -> np.ndarray:
        """Like :meth:`run`, from network inputs ``(batch, n_inputs)``, encoding one chunk at a
        time so the full ``(batch, n_species)`` state is never held at once."""
        if x is None:
            return self.run(self.crn.initial_state(None))
        arr = np.asarray(x, dtype=np.float64)
        arr = arr[None, :] if arr.ndim == 1 else arr
        row = {int(s): k for k, s in enumerate(self.tracked)}
        base = np.zeros(len(self.tracked))
        for name, value in self.crn.init.items():
            if self.crn.index[name] in row:
                base[row[self.crn.index[name]]] = value
        out = np.empty((len(arr), len(self.tracked)))
        for start in range(0, len(arr), CHUNK):
            chunk = arr[start : start + CHUNK]
            # Build the species-major block directly: no (batch, all species) state.
            c = np.repeat(base[:, None], len(chunk), axis=1)
            for name, amount in self.crn.input_amounts(chunk).items():
                k = row.get(self.crn.index[name])
                if k is not None:  # an input species no reaction consumes affects nothing tracked
                    c[k] += amount
            self.fire(c)
            out[start : start + CHUNK] = c.T
        return out

    def outputs(self, final: np.ndarray) -> np.ndarray:
        """Output values ``(batch, n_outputs)`` from :meth:`run`'s tracked concentrations."""
        position = {int(s): k for k, s in enumerate(self.tracked)}
        pos = [position[self.crn.index[o.pos]] for o in self.crn.outputs]
        neg = [position[self.crn.index[o.neg]] for o in self.crn.outputs]
        scale = np.array([o.scale for o in self.crn.outputs])
        return (final[:, pos] - final[:, neg]) / scale

    def evaluate(self, x: np.ndarray | None = None) -> np.ndarray:
        """Output values at equilibrium, ``(batch, n_outputs)``, for inputs ``(batch, n_inputs)``."""
        return self.outputs(self.run_inputs(x))


def output_plan(crn: CRN) -> ExactPlan:
    """A plan that follows only what the outputs need."""
    return ExactPlan(crn, track=[s for o in crn.outputs for s in (o.pos, o.neg)])


ENGINES = ("auto", "circuit", "fire")


def output_evaluator(crn: CRN, engine: str = "auto") -> ReluCircuit | ExactPlan:
    """Something whose ``evaluate(x)`` gives ``crn``'s exact equilibrium outputs.

    ``"fire"``: fire the reactions level by level (:class:`ExactPlan`); ``"circuit"``: the ReLU
    circuit derived from the reactions (:func:`~deepcrn.simulate.circuit.relu_circuit`), about
    the cost of the network's forward pass; ``"auto"``: the circuit when the CRN is in its class,
    else firing. Raises :class:`~deepcrn.errors.CRNError` for a CRN whose final state would
    depend on its rates.
    """
    if engine not in ENGINES:
        raise SimulationError(f"unknown exact engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "fire":
        return output_plan(crn)
    try:
        return relu_circuit(crn)
    except CircuitError:
        if engine == "circuit":
            raise
        return output_plan(crn)


def equilibrium(crn: CRN, x: np.ndarray | None = None) -> np.ndarray:
    """Final concentrations of every species, shape ``(batch, n_species)``, for inputs
    ``(batch, n_inputs)``. Raises :class:`~deepcrn.errors.CRNError` for a CRN whose final state
    would depend on its rates."""
    return ExactPlan(crn).run_inputs(x)


def equilibrium_outputs(
    crn: CRN, x: np.ndarray | None = None, plan: ReluCircuit | ExactPlan | None = None, engine: str = "auto"
) -> np.ndarray:
    """Output values at equilibrium, shape ``(batch, n_outputs)``, by ``plan`` or else by the
    evaluator :func:`output_evaluator` picks for ``engine``."""
    return (plan or output_evaluator(crn, engine)).evaluate(x)
