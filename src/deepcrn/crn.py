"""Chemical reaction networks: immutable records, rate-independence checks and statistics.

A :class:`CRN` holds its species (in a fixed order), its reactions (integer stoichiometric
coefficients, optional rate constants that default to 1), non-zero initial concentrations, the
declared inputs (how a real input value becomes initial concentrations) and outputs (which
pair of species encodes each output value). Concentrations are dimensionless; time is in units
of ``1 / k`` for a rate constant ``k``.

Example::

    >>> from deepcrn.crn import CRN, Reaction, OutputSpec
    >>> r = Reaction((("A", 1), ("B", 1)), (("C", 1),))
    >>> crn = CRN(("A", "B", "C", "D"), (r,), {"A": 2.0, "B": 1.0}, (), (OutputSpec("y", "C", "D"),))
    >>> crn.is_non_competitive(), crn.is_feed_forward()
    (True, True)

Rate independence: a CRN is *non-competitive* when no species that a reaction net-consumes is a
reactant of any other reaction, and *feed-forward* when the graph "reactant -> net product" has
no cycle. Such a CRN reaches the same final state under any positive rate constants and rate law
(Vasic et al., PNAS 2022); :func:`deepcrn.simulate.equilibrium` computes it exactly.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp

from .errors import CRNError, DataError

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
Term = tuple[str, int]


_VALID_NAMES: set[str] = set()


def _check_name(name: str, what: str) -> None:
    if name in _VALID_NAMES:
        return
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise CRNError(f"{what} name {name!r} is not valid (letters, digits and '_', not starting with a digit)")
    if len(_VALID_NAMES) < 1_000_000:
        _VALID_NAMES.add(name)


def _terms(terms: Iterable[Term], side: str) -> tuple[Term, ...]:
    merged: dict[str, int] = {}
    for name, coef in terms:
        _check_name(name, "species")
        if isinstance(coef, bool) or int(coef) != coef or coef <= 0:
            raise CRNError(f"{side} coefficient of {name} must be a positive integer, got {coef!r}")
        merged[name] = merged.get(name, 0) + int(coef)
    return tuple(merged.items())


def format_terms(terms: Sequence[Term]) -> str:
    """``(("A", 1), ("B", 2))`` -> ``"A + 2 B"``; the empty side is ``"0"``."""
    if not terms:
        return "0"
    return " + ".join(name if coef == 1 else f"{coef} {name}" for name, coef in terms)


@dataclass(frozen=True)
class Reaction:
    """``reactants -> products`` with integer coefficients and an optional rate constant.

    ``rate`` is ``None`` when unspecified; simulators then use 1.
    """

    reactants: tuple[Term, ...]
    products: tuple[Term, ...]
    rate: float | None = None

    def __post_init__(self) -> None:
        reactants = _terms(self.reactants, "reactant")
        if not reactants:
            raise CRNError("a reaction needs at least one reactant (zero-order reactions never stop)")
        object.__setattr__(self, "reactants", reactants)
        object.__setattr__(self, "products", _terms(self.products, "product"))
        if self.rate is not None:
            rate = float(self.rate)
            if not (math.isfinite(rate) and rate > 0):
                raise CRNError(f"rate constant must be a finite positive number, got {self.rate!r} in {self}")
            object.__setattr__(self, "rate", rate)

    @classmethod
    def trusted(cls, reactants: tuple[Term, ...], products: tuple[Term, ...], rate: float | None = None) -> Reaction:
        """Build without validation, for code that already guarantees valid, merged terms
        (the compiler); everything else uses the checking constructor."""
        r = object.__new__(cls)
        object.__setattr__(r, "reactants", reactants)
        object.__setattr__(r, "products", products)
        object.__setattr__(r, "rate", rate)
        return r

    def net(self) -> dict[str, int]:
        """Net change of each species the reaction mentions (products minus reactants); computed
        once per reaction (do not modify the dict)."""
        cached = self.__dict__.get("_net")
        if cached is None:
            change: dict[str, int] = defaultdict(int)
            for name, coef in self.reactants:
                change[name] -= coef
            for name, coef in self.products:
                change[name] += coef
            cached = self.__dict__["_net"] = dict(change)
        return cached

    @property
    def order(self) -> int:
        """Molecularity: the sum of the reactant coefficients."""
        return sum(coef for _, coef in self.reactants)

    def __str__(self) -> str:
        return f"{format_terms(self.reactants)} -> {format_terms(self.products)}"


@dataclass(frozen=True)
class InputSpec:
    """How input value ``x`` becomes initial concentrations.

    Dual rail (``neg`` given): ``pos = max(x - offset, 0)``, ``neg = max(offset - x, 0)``.
    Shifted single rail (``neg`` is None): ``pos = x - offset``, which must be >= 0; ``offset`` is
    the input's known lower bound (DESIGN section 2, "input shift").
    """

    name: str
    pos: str
    neg: str | None = None
    offset: float = 0.0

    def __post_init__(self) -> None:
        _check_name(self.name, "input")
        if not math.isfinite(self.offset):
            raise CRNError(f"input {self.name}: offset must be finite")
        object.__setattr__(self, "offset", float(self.offset))


@dataclass(frozen=True)
class OutputSpec:
    """Output value ``(pos - neg) / scale``."""

    name: str
    pos: str
    neg: str
    scale: float = 1.0

    def __post_init__(self) -> None:
        _check_name(self.name, "output")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise CRNError(f"output {self.name}: scale must be a finite positive number")
        object.__setattr__(self, "scale", float(self.scale))


@dataclass(frozen=True)
class Competition:
    """A species net-consumed by one reaction and also a reactant of others."""

    species: str
    reactions: tuple[int, ...]


@dataclass(frozen=True)
class CRN:
    """A chemical reaction network with declared inputs and outputs (see the module docstring)."""

    species: tuple[str, ...]
    reactions: tuple[Reaction, ...]
    init: Mapping[str, float] = field(default_factory=dict)
    inputs: tuple[InputSpec, ...] = ()
    outputs: tuple[OutputSpec, ...] = ()

    def __post_init__(self) -> None:
        species = tuple(self.species)
        for name in species:
            _check_name(name, "species")
        known = set(species)
        if len(known) != len(species):
            dup = next(s for s in species if species.count(s) > 1)
            raise CRNError(f"species {dup} is declared twice")

        def need(name: str | None, where: str) -> None:
            if name is not None and name not in known:
                raise CRNError(f"{where} uses undeclared species {name}")

        reactions = tuple(self.reactions)
        for i, r in enumerate(reactions):
            for name, _ in r.reactants + r.products:
                if name not in known:
                    need(name, f"reaction {i + 1} ({r})")
        init: dict[str, float] = {}
        for name, value in dict(self.init).items():
            need(name, "init")
            v = float(value)
            if not math.isfinite(v) or v < 0:
                raise CRNError(f"initial concentration of {name} must be finite and >= 0, got {value!r}")
            if v != 0:
                init[name] = v
        used: set[str] = set()
        for spec in self.inputs:
            for s in (spec.pos, spec.neg):
                need(s, f"input {spec.name}")
                if s is not None and s in used:
                    raise CRNError(f"species {s} encodes two inputs")
                if s is not None:
                    used.add(s)
        for out in self.outputs:
            need(out.pos, f"output {out.name}")
            need(out.neg, f"output {out.name}")
        for group, what in ((self.inputs, "input"), (self.outputs, "output")):
            names = [spec.name for spec in group]
            if len(set(names)) != len(names):
                raise CRNError(f"two {what}s are named {next(n for n in names if names.count(n) > 1)}")
        object.__setattr__(self, "species", species)
        object.__setattr__(self, "reactions", reactions)
        object.__setattr__(self, "init", {s: init[s] for s in species if s in init})
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))

    def __hash__(self) -> int:
        return hash((self.species, self.reactions, self.inputs, self.outputs))

    @cached_property
    def index(self) -> dict[str, int]:
        """Species name -> column in state arrays."""
        return {name: i for i, name in enumerate(self.species)}

    @property
    def input_species(self) -> set[str]:
        return {s for spec in self.inputs for s in (spec.pos, spec.neg) if s is not None}

    def rate_constants(self) -> np.ndarray:
        """Rate constant of each reaction (1 where unspecified), shape ``(n_reactions,)``."""
        return np.array([1.0 if r.rate is None else r.rate for r in self.reactions])

    def with_rates(self, rates: Sequence[float] | np.ndarray) -> CRN:
        """A copy whose reactions carry the given rate constants."""
        values = np.asarray(rates, dtype=np.float64)
        if values.shape != (len(self.reactions),):
            raise CRNError(f"expected {len(self.reactions)} rate constants, got shape {values.shape}")
        reactions = tuple(replace(r, rate=float(k)) for r, k in zip(self.reactions, values))
        return replace(self, reactions=reactions)

    # ----------------------------------------------------------------- states and values
    def input_values(self, x: np.ndarray) -> np.ndarray:
        """Each input's value relative to its offset, ``x - offset``, shape ``(batch, n_inputs)``,
        after checking shape, finiteness and lower bounds; shifted single-rail inputs are clipped
        at 0 (values below the bound by rounding only)."""
        arr = np.asarray(x, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != len(self.inputs):
            raise DataError(f"inputs have shape {arr.shape}, expected (batch, {len(self.inputs)})")
        if not np.all(np.isfinite(arr)):
            row, col = (int(v) for v in np.argwhere(~np.isfinite(arr))[0])
            raise DataError(f"input {self.inputs[col].name} of example {row} is NaN or infinite")
        offsets = np.array([spec.offset for spec in self.inputs])
        values = arr - offsets if offsets.any() else arr
        single = [col for col, spec in enumerate(self.inputs) if spec.neg is None]
        if single:
            values = values.copy() if values is arr else values
            for col in single:
                spec = self.inputs[col]
                tol = 1e-9 * max(1.0, abs(spec.offset))
                if np.any(values[:, col] < -tol):
                    row = int(np.argmax(values[:, col] < -tol))
                    raise DataError(
                        f"input {spec.name} = {arr[row, col]:g} (example {row}) is below its declared "
                        f"lower bound {spec.offset:g}; a shifted single-rail input cannot be negative"
                    )
                np.maximum(values[:, col], 0.0, out=values[:, col])
        return values

    def input_amounts(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """What the inputs ``(batch, n_inputs)`` add to each input species, ``(batch,)`` each,
        after the checks of :meth:`input_values`."""
        values = self.input_values(x)
        amounts: dict[str, np.ndarray] = {}
        for col, spec in enumerate(self.inputs):
            v = values[:, col]
            if spec.neg is not None:
                amounts[spec.neg] = np.maximum(-v, 0.0)
            amounts[spec.pos] = np.maximum(v, 0.0)
        return amounts

    def initial_state(self, x: np.ndarray | None = None) -> np.ndarray:
        """Initial concentrations, shape ``(batch, n_species)``, for inputs ``(batch, n_inputs)``.

        Input species get the encoded input added to any declared initial concentration.
        """
        base = np.zeros(len(self.species))
        for name, value in self.init.items():
            base[self.index[name]] = value
        if x is None:
            if self.inputs:
                raise DataError(f"this CRN has {len(self.inputs)} inputs; give input values")
            return base[None, :]
        amounts = self.input_amounts(x)
        batch = len(next(iter(amounts.values()))) if amounts else len(np.atleast_2d(x))
        state = np.repeat(base[None, :], batch, axis=0)
        for name, values in amounts.items():
            state[:, self.index[name]] += values
        return state

    def output_values(self, state: np.ndarray) -> np.ndarray:
        """Output values ``(pos - neg) / scale``, shape ``(batch, n_outputs)``."""
        st = np.atleast_2d(state)
        pos = [self.index[o.pos] for o in self.outputs]
        neg = [self.index[o.neg] for o in self.outputs]
        scale = np.array([o.scale for o in self.outputs])
        return (st[:, pos] - st[:, neg]) / scale

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self.outputs]

    @property
    def input_names(self) -> list[str]:
        return [i.name for i in self.inputs]

    # ----------------------------------------------------------------- rate independence
    def competitions(self) -> list[Competition]:
        """Every species that breaks non-competition, with the reactions that use it."""
        consumers: dict[str, list[int]] = defaultdict(list)
        net_consumed: set[str] = set()
        for i, r in enumerate(self.reactions):
            net = r.net()
            for name, _ in r.reactants:
                consumers[name].append(i)
                if net.get(name, 0) < 0:
                    net_consumed.add(name)
        return [
            Competition(name, tuple(consumers[name]))
            for name in self.species
            if name in net_consumed and len(consumers[name]) > 1
        ]

    def is_non_competitive(self) -> bool:
        return not self.competitions()

    def find_cycle(self) -> list[str] | None:
        """A cycle of species ``[A, B, ..., A]`` in the graph reactant -> net product, or None."""
        edges: dict[str, set[str]] = defaultdict(set)
        for r in self.reactions:
            made = [name for name, change in r.net().items() if change > 0]
            for name, _ in r.reactants:
                edges[name].update(made)
        colour: dict[str, int] = {}
        for start in self.species:
            if colour.get(start):
                continue
            stack: list[tuple[str, Any]] = [(start, iter(sorted(edges[start])))]
            path = [start]
            colour[start] = 1
            while stack:
                node, children = stack[-1]
                child = next(children, None)
                if child is None:
                    colour[node] = 2
                    stack.pop()
                    path.pop()
                elif colour.get(child, 0) == 1:
                    return path[path.index(child) :] + [child]
                elif colour.get(child, 0) == 0:
                    colour[child] = 1
                    path.append(child)
                    stack.append((child, iter(sorted(edges[child]))))
        return None

    def species_order(self) -> list[str]:
        """Species in a topological order of "reactant -> net product" (reactants first); the
        declared order where the CRN has a cycle."""
        edges: dict[str, set[str]] = defaultdict(set)
        for r in self.reactions:
            made = [name for name, change in r.net().items() if change > 0]
            for name, _ in r.reactants:
                edges[name].update(m for m in made if m != name)
        waiting = dict.fromkeys(self.species, 0)
        for targets in edges.values():
            for t in targets:
                waiting[t] += 1
        ready = [s for s in self.species if waiting[s] == 0]
        order: list[str] = []
        while ready:
            name = ready.pop()
            order.append(name)
            for t in edges[name]:
                waiting[t] -= 1
                if waiting[t] == 0:
                    ready.append(t)
        return order if len(order) == len(self.species) else list(self.species)

    def is_feed_forward(self) -> bool:
        """No cycle "reactant -> net product" (equivalently, among reactions "net-produces a
        reactant of"), which :meth:`reaction_levels` would meet."""
        return self._levels() is not None

    def check_rate_independent(self) -> None:
        """Raise :class:`CRNError` naming the culprit unless non-competitive and feed-forward."""
        comps = self.competitions()
        if comps:
            c = comps[0]
            listed = "; ".join(f"#{i + 1} {self.reactions[i]}" for i in c.reactions[:4])
            raise CRNError(
                f"CRN is competitive: species {c.species} is consumed by {len(c.reactions)} reactions "
                f"({listed}), so its outcome depends on the rates"
            )
        if not self.is_feed_forward():
            raise CRNError(f"CRN is not feed-forward: cycle {' -> '.join(self.find_cycle() or ['?'])}")

    @cached_property
    def stoichiometry(self) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """``(reactants, products)``: coefficient matrices of shape ``(species, reactions)``."""
        index, n = self.index, len(self.reactions)

        def side(sides: list[tuple[Term, ...]]) -> sp.csr_matrix:
            rows = np.fromiter((index[name] for terms in sides for name, _ in terms), dtype=np.int64)
            vals = np.fromiter((c for terms in sides for _, c in terms), dtype=np.float64, count=len(rows))
            cols = np.repeat(np.arange(n), [len(terms) for terms in sides])
            return sp.csr_matrix((vals, (rows, cols)), shape=(len(self.species), n))

        return side([r.reactants for r in self.reactions]), side([r.products for r in self.reactions])

    def _levels(self) -> list[list[int]] | None:
        """Kahn's algorithm over reactions, a level at a time with sparse matrices; None on a cycle."""
        reactants, products = self.stoichiometry
        makes = ((products - reactants) > 0).astype(np.int64)  # (species, reactions): net-produces
        uses = (reactants > 0).astype(np.int64).T.tocsr()  # (reactions, species): has as reactant
        needs = (uses @ makes).tocsr()  # (j, i) != 0: i net-produces a reactant of j
        needs.data[:] = 1
        waiting = np.diff(needs.indptr)  # distinct reactions each one waits for
        done = np.zeros(len(self.reactions), dtype=bool)
        groups: list[list[int]] = []
        current = np.flatnonzero(waiting == 0)
        while len(current):
            groups.append(current.tolist())
            done[current] = True
            finished = np.zeros(len(self.reactions), dtype=np.int64)
            finished[current] = 1
            waiting = waiting - needs @ finished
            current = np.flatnonzero((waiting == 0) & ~done)
        return groups if done.all() else None

    def reaction_levels(self) -> list[list[int]]:
        """Reactions grouped in topological levels: a reaction's reactants are net-produced only by
        reactions of earlier levels (Kahn's algorithm). Raises :class:`CRNError` on a cycle."""
        groups = self._levels()
        if groups is None:
            raise CRNError(f"CRN is not feed-forward: cycle {' -> '.join(self.find_cycle() or ['?'])}")
        return groups

    # ----------------------------------------------------------------- statistics
    def stats(self) -> dict[str, int]:
        """Sizes: species, reactions by molecularity, products per reaction (sum of coefficients)."""
        products = [sum(c for _, c in r.products) for r in self.reactions]
        orders = [r.order for r in self.reactions]
        return {
            "n_species": len(self.species),
            "n_reactions": len(self.reactions),
            "n_unimolecular": sum(1 for o in orders if o == 1),
            "n_bimolecular": sum(1 for o in orders if o == 2),
            "n_higher_order": sum(1 for o in orders if o > 2),
            "max_products": max(products, default=0),
            "total_products": sum(products),
            "max_product_species": max((len(r.products) for r in self.reactions), default=0),
            "n_inputs": len(self.inputs),
            "n_outputs": len(self.outputs),
        }
