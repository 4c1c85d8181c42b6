"""Enumerate a set of complexes with peppercornenumerator: condensed reactions between resting
complexes, with their rate constants, as plain records.

Complexes are identified by their canonical form (:func:`~deepcrn.dsd.model.canonical`), so the
results of separate enumerations can be compared and merged. Rate constants are in /nM/s
(bimolecular) and /s (unimolecular). Peppercorn's objects are cleared after each run.

Example::

    >>> from deepcrn.interop.text import parse_crn
    >>> from deepcrn.dsd.schemes import design_crn
    >>> d = design_crn(parse_crn("X -> Y"))
    >>> e = enumerate_complexes(d, list(d.complexes.values()))
    >>> len(e.reactions), sorted(e.name(k) for r in e.reactions for k in r.reactants if k in e.names)
    (2, ['X', 'r1_L', 'r1_T'])
"""

from __future__ import annotations

import gc
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import DataError
from .model import Complex, Design, canonical
from .schemes import RELEASE_CUTOFF

Key = tuple[tuple[str, ...], tuple[str, ...]]
#: Prefix of the names peppercorn gives complexes it finds (no design name starts with "_").
NEW_PREFIX = "_e"


def _canon(cplx: object) -> Key:
    return canonical([str(d) for d in cplx.sequence], list(cplx.structure))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CondensedReaction:
    reactants: tuple[Key, ...]
    products: tuple[Key, ...]
    rate: float  # /nM/s for two reactants, /s for one

    @property
    def order(self) -> int:
        return len(self.reactants)


@dataclass
class Enumeration:
    """What peppercorn found: every complex (resting and transient) by canonical form, the
    resting ones, and the condensed reactions between resting complexes. ``names``: the
    design's names of the complexes it knows (others get ``_e<k>``)."""

    complexes: dict[Key, Complex] = field(default_factory=dict)
    resting: set[Key] = field(default_factory=set)
    transient: set[Key] = field(default_factory=set)
    reactions: list[CondensedReaction] = field(default_factory=list)
    names: dict[Key, str] = field(default_factory=dict)
    seconds: float = 0.0

    def name(self, key: Key) -> str:
        return self.names.get(key) or self.complexes[key].name


def enumerate_complexes(
    design: Design,
    initial: Sequence[Complex],
    *,
    max_complex_size: int = 10,
    max_complex_count: int = 10_000,
    max_reaction_count: int = 50_000,
) -> Enumeration:
    """Enumerate the reactions among ``initial`` (all present) with peppercorn's condensed
    semantics, release cut-off :data:`~deepcrn.dsd.schemes.RELEASE_CUTOFF`. Raises
    :class:`~deepcrn.errors.DataError` if peppercorn gives up (polymerisation: too many
    complexes or reactions)."""
    import time

    limit = sys.getrecursionlimit()
    try:  # peppercorn raises the interpreter's recursion limit to 10**6 when imported: a process-wide
        # change that lets deep recursion anywhere crash the C stack instead of raising RecursionError
        from peppercornenumerator import PolymerizationError, enumerate_pil
        from peppercornenumerator.objects import clear_memory
    finally:
        sys.setrecursionlimit(limit)

    text = _pil(design, initial)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # dsdobjects' PIL parser calls pyparsing names that newer pyparsing deprecates.
            warnings.simplefilter("ignore", DeprecationWarning)
            enum, _ = enumerate_pil(
                text,
                detailed=False,
                condensed=True,
                complex_prefix=NEW_PREFIX,
                release_cutoff=RELEASE_CUTOFF,
                max_complex_size=max_complex_size,
                max_complex_count=max_complex_count,
                max_reaction_count=max_reaction_count,
            )
    except PolymerizationError as err:
        clear_memory()
        raise DataError(f"peppercorn gave up enumerating the design: {err}") from None
    try:
        result = _extract(enum, {c.name for c in initial})
    finally:
        del enum
        gc.collect()
        clear_memory()
    result.reactions.sort(key=lambda r: (r.reactants, r.products))
    result.seconds = time.perf_counter() - start
    return result


def _extract(enum: object, known: set[str]) -> Enumeration:
    """Plain records of what ``enum`` (a peppercorn Enumerator) found; no reference to its
    objects survives the call, so they can be cleared."""
    result = Enumeration()

    def record(cplx: object) -> Key:
        k = _canon(cplx)
        if k not in result.complexes:
            name = str(cplx)
            result.complexes[k] = Complex(name, k[0], k[1])
            if name in known:
                result.names[k] = name
        return k

    for cplx in enum.resting_complexes:  # type: ignore[attr-defined]
        result.resting.add(record(cplx))
    for cplx in enum.transient_complexes:  # type: ignore[attr-defined]
        result.transient.add(record(cplx))
    for rxn in enum.condensed_reactions:  # type: ignore[attr-defined]
        reactants = tuple(record(m.representative) for m in rxn.reactants)
        products = tuple(record(m.representative) for m in rxn.products)
        value, _ = rxn.rateformat("/nM" * (len(reactants) - 1) + "/s")
        result.reactions.append(CondensedReaction(reactants, products, float(value)))
    return result


def _pil(design: Design, initial: Sequence[Complex]) -> str:
    """PIL text with only ``initial``, all present (1 nM), and the domains they use."""
    used = {d.rstrip("*") for c in initial for d in c.sequence if d != "+"}
    lines = [f"length {d.name} = {d.length}" for d in design.domains.values() if d.name in used]
    lines += [f"{c.name} = {c.kernel} @initial 1 nM" for c in initial]
    return "\n".join(lines) + "\n"


__all__ = ["CondensedReaction", "Enumeration", "Key", "enumerate_complexes"]
