"""Chemical reaction networks as immutable, self-checking records.

A :class:`CRN` holds its species (in a fixed order), its reactions (integer stoichiometric
coefficients, optional rate constants that default to 1), non-zero initial concentrations, the
declared inputs (how a real input value becomes initial concentrations) and outputs (which
pair of species encodes each output value). Concentrations are dimensionless; time is in units
of ``1 / k`` for a rate constant ``k``.

Example::

    >>> from deepcrn.crn import CRN, Reaction, OutputSpec
    >>> r = Reaction((("A", 1), ("B", 1)), (("C", 1),))
    >>> crn = CRN(("A", "B", "C", "D"), (r,), {"A": 2.0, "B": 1.0}, (), (OutputSpec("y", "C", "D"),))
    >>> str(crn.reactions[0]), crn.init
    ('A + B -> C', {'A': 2.0, 'B': 1.0})

What a CRN *does* (non-competition, feed-forward levels, rate independence, statistics) is in
:mod:`deepcrn.analysis`; how input values become concentrations and concentrations become
output values is in :mod:`deepcrn.io_map`.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, overload

import numpy as np
import scipy.sparse as sp

from ._limits import MAX_AMOUNT as MAX_AMOUNT
from ._limits import MAX_COEFFICIENT as MAX_COEFFICIENT
from ._limits import MIN_SCALE as MIN_SCALE
from .errors import CRNError

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
Term = tuple[str, int]

_VALID_NAMES: set[str] = set()


def check_name(name: str, what: str) -> None:
    """Raise :class:`CRNError` unless ``name`` is an identifier: letters, digits, ``_``."""
    if name in _VALID_NAMES:
        return
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise CRNError(f"{what} name {name!r} is not valid (letters, digits and '_', not starting with a digit)")
    if len(_VALID_NAMES) < 1_000_000:
        _VALID_NAMES.add(name)


def check_amount(value: Any, what: str, *, positive: bool = False) -> float:
    """``value`` as a float in ``[0, MAX_AMOUNT]`` (``(0, ...]`` when ``positive``), or a
    :class:`CRNError` naming ``what``."""
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise CRNError(f"{what} must be a number, got {value!r}") from None
    low_ok = v > 0 if positive else v >= 0
    if not (math.isfinite(v) and low_ok and v <= MAX_AMOUNT):
        bound = "> 0" if positive else ">= 0"
        raise CRNError(f"{what} must be finite, {bound} and at most {MAX_AMOUNT:g}, got {value!r}")
    return v


def _coefficient(coef: Any, name: str, side: str) -> int:
    ok = isinstance(coef, (int, np.integer)) and not isinstance(coef, bool)
    if isinstance(coef, (float, np.floating)) and math.isfinite(coef) and float(coef).is_integer():
        ok, coef = True, int(coef)
    if not ok or coef <= 0:
        raise CRNError(f"{side} coefficient of {name} must be a positive integer, got {coef!r}")
    return int(coef)


def _terms(terms: Iterable[Term], side: str) -> tuple[Term, ...]:
    merged: dict[str, int] = {}
    for name, coef in terms:
        check_name(name, "species")
        merged[name] = merged.get(name, 0) + _coefficient(coef, name, side)
        if merged[name] > MAX_COEFFICIENT:
            value = merged[name]
            shown = str(value) if value.bit_length() < 200 else f"about 10**{int(value.bit_length() * math.log10(2))}"
            raise CRNError(
                f"{side} coefficient of {name} is {shown}; coefficients above 2**53 = {MAX_COEFFICIENT} cannot be "
                "held exactly"
            )
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
            rate = check_amount(self.rate, f"the rate constant of {self}", positive=True)
            object.__setattr__(self, "rate", rate)

    @classmethod
    def trusted(cls, reactants: tuple[Term, ...], products: tuple[Term, ...], rate: float | None = None) -> Reaction:
        """Build without validation, for code that already guarantees valid, merged terms
        (the compiler); everything else uses the checking constructor."""
        r = object.__new__(cls)
        r.__dict__.update(reactants=reactants, products=products, rate=rate)
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


class ReactionTable(Sequence[Reaction]):
    """Reactions held as arrays, for large CRNs: coefficient matrices ``reactants`` and
    ``products`` of shape ``(n_reactions, n_species)`` (CSR, terms in species order) and rate
    constants ``rates`` ``(n_reactions,)`` (NaN where unspecified).

    It is a sequence of :class:`Reaction` (built on demand), equal to any sequence of the same
    reactions, so code that reads reactions one by one works unchanged, while the engines read
    the arrays (:attr:`CRN.stoichiometry`) without building a Python object per term. A CRN of
    millions of product terms compiles and loads in seconds this way.
    """

    def __init__(
        self,
        species: Sequence[str] | np.ndarray,
        reactants: sp.spmatrix,
        products: sp.spmatrix,
        rates: np.ndarray | None = None,
    ) -> None:
        self.species = np.asarray(list(species), dtype=object)
        self.reactants = _coefficients(reactants, "reactant", len(self.species))
        self.products = _coefficients(products, "product", len(self.species))
        n = self.reactants.shape[0]
        if self.products.shape[0] != n:
            raise CRNError(f"{n} rows of reactants but {self.products.shape[0]} of products")
        if n and np.diff(self.reactants.indptr).min() == 0:
            i = int(np.argmin(np.diff(self.reactants.indptr)))
            raise CRNError(f"reaction {i + 1} has no reactant (zero-order reactions never stop)")
        values = np.full(n, np.nan) if rates is None else np.asarray(rates, dtype=np.float64).copy()
        if values.shape != (n,):
            raise CRNError(f"expected {n} rate constants, got shape {values.shape}")
        given = ~np.isnan(values)
        if not np.all(np.isfinite(values[given]) & (values[given] > 0) & (values[given] <= MAX_AMOUNT)):
            raise CRNError(f"rate constants must be finite, > 0 and at most {MAX_AMOUNT:g}")
        values.setflags(write=False)
        self.rates = values

    def __len__(self) -> int:
        return int(self.reactants.shape[0])

    def _side(self, matrix: sp.csr_matrix, i: int) -> tuple[Term, ...]:
        lo, hi = matrix.indptr[i], matrix.indptr[i + 1]
        return tuple(zip(self.species[matrix.indices[lo:hi]].tolist(), matrix.data[lo:hi].astype(np.int64).tolist()))

    @overload
    def __getitem__(self, i: int) -> Reaction: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[Reaction, ...]: ...

    def __getitem__(self, i: int | slice) -> Reaction | tuple[Reaction, ...]:
        if isinstance(i, slice):
            return tuple(self[k] for k in range(*i.indices(len(self))))
        k = int(i) + (len(self) if int(i) < 0 else 0)
        if not 0 <= k < len(self):
            raise IndexError(i)
        rate = self.rates[k]
        return Reaction.trusted(
            self._side(self.reactants, k), self._side(self.products, k), None if np.isnan(rate) else float(rate)
        )

    def __iter__(self) -> Iterator[Reaction]:
        return (self[k] for k in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ReactionTable):
            return (
                len(self) == len(other)
                and np.array_equal(self.species, other.species)
                and _same(self.reactants, other.reactants)
                and _same(self.products, other.products)
                and np.array_equal(self.rates, other.rates, equal_nan=True)
            )
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash((len(self), self.reactants.data.tobytes(), self.reactants.indices.tobytes(),
                     self.products.data.tobytes(), self.products.indices.tobytes()))  # fmt: skip

    def __repr__(self) -> str:
        return f"ReactionTable({len(self)} reactions, {self.products.nnz} product terms)"

    def rate_constants(self) -> np.ndarray:
        return np.where(np.isnan(self.rates), 1.0, self.rates)

    def with_rates(self, rates: np.ndarray) -> ReactionTable:
        return ReactionTable(self.species, self.reactants, self.products, rates)


def _coefficients(matrix: sp.spmatrix, side: str, n_species: int) -> sp.csr_matrix:
    """``matrix`` as CSR with sorted terms and checked coefficients (whole numbers 1 to 2**53)."""
    m = sp.csr_matrix(matrix, dtype=np.float64)
    m.sum_duplicates()
    m.eliminate_zeros()
    m.sort_indices()
    if m.shape[1] != n_species:
        raise CRNError(f"{side} matrix has {m.shape[1]} columns for {n_species} species")
    d = m.data
    if d.size and not (np.all(d == np.floor(d)) and d.min() >= 1 and d.max() <= MAX_COEFFICIENT):
        bad = d[(d != np.floor(d)) | (d < 1) | (d > MAX_COEFFICIENT)][0]
        raise CRNError(f"{side} coefficient {bad!r} is not a whole number from 1 to 2**53")
    return m


def _same(a: sp.csr_matrix, b: sp.csr_matrix) -> bool:
    return (
        a.shape == b.shape
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
        and np.array_equal(a.data, b.data)
    )


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
        check_name(self.name, "input")
        try:
            offset = float(self.offset)
        except (TypeError, ValueError, OverflowError):
            raise CRNError(f"input {self.name}: offset must be a number, got {self.offset!r}") from None
        if not (math.isfinite(offset) and abs(offset) <= MAX_AMOUNT):
            raise CRNError(f"input {self.name}: offset must be finite and at most {MAX_AMOUNT:g} in size")
        object.__setattr__(self, "offset", offset)


@dataclass(frozen=True)
class OutputSpec:
    """Output value ``(pos - neg) / scale``."""

    name: str
    pos: str
    neg: str
    scale: float = 1.0

    def __post_init__(self) -> None:
        check_name(self.name, "output")
        try:
            scale = float(self.scale)
        except (TypeError, ValueError, OverflowError):
            raise CRNError(f"output {self.name}: scale must be a number, got {self.scale!r}") from None
        if not (math.isfinite(scale) and MIN_SCALE <= scale <= MAX_AMOUNT):
            raise CRNError(
                f"output {self.name}: scale must be a finite number in [{MIN_SCALE:g}, {MAX_AMOUNT:g}], "
                f"got {self.scale!r}"
            )
        object.__setattr__(self, "scale", scale)


@dataclass(frozen=True)
class CRN:
    """A chemical reaction network with declared inputs and outputs (see the module docstring).

    ``cache`` holds facts derived from the records (levels, competitions, ...) by
    :mod:`deepcrn.analysis`; it is not part of the CRN's value.
    """

    species: tuple[str, ...]
    reactions: tuple[Reaction, ...] | ReactionTable
    init: Mapping[str, float] = field(default_factory=dict)
    inputs: tuple[InputSpec, ...] = ()
    outputs: tuple[OutputSpec, ...] = ()
    cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        species = tuple(self.species)
        for name in species:
            check_name(name, "species")
        known = set(species)
        if len(known) != len(species):
            seen: set[str] = set()
            for name in species:
                if name in seen:
                    raise CRNError(f"species {name} is declared twice")
                seen.add(name)

        def need(name: str | None, where: str) -> None:
            if name is not None and name not in known:
                raise CRNError(f"{where} uses undeclared species {name}")

        reactions: tuple[Reaction, ...] | ReactionTable
        if isinstance(self.reactions, ReactionTable):
            reactions = self.reactions
            if tuple(reactions.species.tolist()) != species:
                raise CRNError("the reaction table was built for other species (or another order)")
        else:
            reactions = tuple(self.reactions)
            for i, r in enumerate(reactions):
                for name, _ in r.reactants + r.products:
                    if name not in known:
                        need(name, f"reaction {i + 1} ({r})")
        init: dict[str, float] = {}
        for name, value in dict(self.init).items():
            need(name, "init")
            v = check_amount(value, f"the initial concentration of {name}")
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

    @property
    def output_species(self) -> set[str]:
        return {s for out in self.outputs for s in (out.pos, out.neg)}

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self.outputs]

    @property
    def input_names(self) -> list[str]:
        return [i.name for i in self.inputs]

    def rate_constants(self) -> np.ndarray:
        """Rate constant of each reaction (1 where unspecified), shape ``(n_reactions,)``."""
        if isinstance(self.reactions, ReactionTable):
            return self.reactions.rate_constants()
        return np.array([1.0 if r.rate is None else r.rate for r in self.reactions])

    def with_rates(self, rates: Sequence[float] | np.ndarray) -> CRN:
        """A copy whose reactions carry the given rate constants."""
        values = np.asarray(rates, dtype=np.float64)
        if values.shape != (len(self.reactions),):
            raise CRNError(f"expected {len(self.reactions)} rate constants, got shape {values.shape}")
        if isinstance(self.reactions, ReactionTable):
            return replace(self, reactions=self.reactions.with_rates(values))
        reactions = tuple(replace(r, rate=float(k)) for r, k in zip(self.reactions, values))
        return replace(self, reactions=reactions)

    @cached_property
    def stoichiometry(self) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """``(reactants, products)``: coefficient matrices of shape ``(species, reactions)``."""
        if isinstance(self.reactions, ReactionTable):
            return self.reactions.reactants.T.tocsr(), self.reactions.products.T.tocsr()
        index, n = self.index, len(self.reactions)

        def side(sides: list[tuple[Term, ...]]) -> sp.csr_matrix:
            rows = np.fromiter((index[name] for terms in sides for name, _ in terms), dtype=np.int64)
            vals = np.fromiter((c for terms in sides for _, c in terms), dtype=np.float64, count=len(rows))
            cols = np.repeat(np.arange(n), [len(terms) for terms in sides])
            return sp.csr_matrix((vals, (rows, cols)), shape=(len(self.species), n))

        return side([r.reactants for r in self.reactions]), side([r.products for r in self.reactions])
