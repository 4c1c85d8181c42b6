"""Domain-level DNA designs as plain records: domains, complexes in kernel notation, the design.

A *domain* is a named stretch of ``length`` nucleotides; ``x*`` is the complement of ``x``.
A *complex* is one or more strands, written as a sequence of domain names with ``+`` between
strands and a dot-bracket structure per domain (``(`` pairs with a later ``)``, ``.`` unpaired),
which is what PIL kernel notation encodes: ``a( b + ) c*`` is the strand ``a b`` bound to the
strand ``b* a* c*`` with ``c*`` free.

Example::

    >>> c = Complex.parse("L", "a( b( + ) ) c*")
    >>> c.strands, c.kernel
    ((('a', 'b'), ('b*', 'a*', 'c*')), 'a( b( + ) ) c*')
    >>> [c.unpaired(s) for s in range(2)]
    [[], ['c*']]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from ..errors import DataError

DomainKind = Literal["toehold", "long", "history"]


def complement(name: str) -> str:
    """``x`` <-> ``x*``."""
    return name[:-1] if name.endswith("*") else name + "*"


@dataclass(frozen=True)
class Domain:
    """A domain of ``length`` nucleotides; ``kind`` says what it is for (toehold, long branch
    migration domain, or the history domain of a signal)."""

    name: str
    length: int
    kind: DomainKind


@dataclass(frozen=True)
class Complex:
    """Strands and their pairing (module docstring). ``sequence`` and ``structure`` have one
    entry per domain and ``+`` between strands."""

    name: str
    sequence: tuple[str, ...]
    structure: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.sequence) != len(self.structure):
            raise DataError(f"complex {self.name}: {len(self.sequence)} domains but {len(self.structure)} marks")
        stack: list[int] = []
        for k, (d, s) in enumerate(zip(self.sequence, self.structure)):
            if (d == "+") != (s == "+"):
                raise DataError(f"complex {self.name}: strand break out of place at position {k + 1}")
            if s == "(":
                stack.append(k)
            elif s == ")":
                if not stack or self.sequence[stack.pop()] != complement(d):
                    raise DataError(f"complex {self.name}: domain {d} at position {k + 1} pairs with no complement")
        if stack:
            raise DataError(f"complex {self.name}: domain {self.sequence[stack[-1]]} is paired with nothing")

    @classmethod
    def parse(cls, name: str, kernel: str) -> Complex:
        """A complex from kernel notation (``a( b + ) c*``; a ``)`` closes the latest ``(`` and
        stands for its complement)."""
        seq: list[str] = []
        st: list[str] = []
        stack: list[str] = []
        for token in kernel.split():
            if token == "+":
                seq.append("+")
                st.append("+")
            elif token == ")":
                if not stack:
                    raise DataError(f"complex {name}: unbalanced ')' in {kernel!r}")
                seq.append(complement(stack.pop()))
                st.append(")")
            elif token.endswith("("):
                seq.append(token[:-1])
                st.append("(")
                stack.append(token[:-1])
            else:
                seq.append(token)
                st.append(".")
        return cls(name, tuple(seq), tuple(st))

    @classmethod
    def strand(cls, name: str, domains: Sequence[str]) -> Complex:
        """A single free strand."""
        return cls(name, tuple(domains), tuple("." for _ in domains))

    @property
    def kernel(self) -> str:
        """PIL kernel notation."""
        out = []
        for d, s in zip(self.sequence, self.structure):
            out.append("+" if s == "+" else ")" if s == ")" else f"{d}(" if s == "(" else d)
        return " ".join(out)

    @property
    def strands(self) -> tuple[tuple[str, ...], ...]:
        """The strands, 5' to 3', in the complex's order."""
        out: list[tuple[str, ...]] = []
        current: list[str] = []
        for d in self.sequence:
            if d == "+":
                out.append(tuple(current))
                current = []
            else:
                current.append(d)
        out.append(tuple(current))
        return tuple(out)

    def unpaired(self, strand: int | None = None) -> list[str]:
        """Unpaired domains (of one strand, or all)."""
        found, k = [], 0
        for d, s in zip(self.sequence, self.structure):
            if s == "+":
                k += 1
            elif s == "." and (strand is None or strand == k):
                found.append(d)
        return found


def duplex(name: str, tops: Sequence[Sequence[tuple[str, bool]]], tail: Sequence[str] = ()) -> Complex:
    """Top strands (each a list of ``(domain, paired)``) bound to one bottom strand made of the
    complements of their paired domains, followed by the free ``tail`` at the bottom's 3' end.

    ``duplex("T", [[("d", True), ("a", True), ("b", False)]], ["c*"]).kernel`` is
    ``"d( a( b + ) ) c*"``: the strand ``d a b`` on the bottom strand ``a* d* c*``.
    """
    seq: list[str] = []
    st: list[str] = []
    stack: list[str] = []
    for top in tops:
        for d, paired in top:
            seq.append(d)
            st.append("(" if paired else ".")
            if paired:
                stack.append(d)
        seq.append("+")
        st.append("+")
    while stack:
        seq.append(complement(stack.pop()))
        st.append(")")
    seq += list(tail)
    st += ["."] * len(tail)
    return Complex(name, tuple(seq), tuple(st))


@dataclass(frozen=True)
class Module:
    """The fuels that implement one formal reaction: ``reaction`` (its 0-based index in the
    CRN), its formal reactants and products (PIL names, repeated by coefficient) and the names
    of its fuel complexes."""

    reaction: int
    reactants: tuple[str, ...]
    products: tuple[str, ...]
    fuels: tuple[str, ...]


@dataclass(frozen=True)
class Design:
    """A domain-level design of a formal CRN.

    ``names``: formal species -> signal complex name (the same unless the species' name is not
    a valid PIL identifier). ``signals``: signal complex name -> complex, one per formal
    species. ``fuels``: fuel name -> complex. ``modules``: one per formal reaction. ``history``:
    the domains that stand first in signal strands (a signal made by a gate carries a gate's
    history domain there; every other domain is the signal's own).
    """

    scheme: str
    domains: dict[str, Domain]
    names: dict[str, str]
    signals: dict[str, Complex]
    fuels: dict[str, Complex]
    modules: tuple[Module, ...]
    history: frozenset[str] = field(default_factory=frozenset)

    @cached_property
    def complexes(self) -> dict[str, Complex]:
        """Signals and fuels by name (built once: designs of large CRNs have 10^5 complexes)."""
        return {**self.signals, **self.fuels}

    def signal_of(self, sequence: Sequence[str], structure: Sequence[str]) -> str | None:
        """The formal species (signal name) whose signal strand this is, up to its history
        domain: one free strand whose domains after the first are the signal's, the first being
        a history domain; else None."""
        if "+" in sequence or any(s != "." for s in structure) or not sequence:
            return None
        if sequence[0] not in self.history:
            return None
        return self._by_tail().get(tuple(sequence[1:]))

    def _by_tail(self) -> dict[tuple[str, ...], str]:
        cached = self.__dict__.get("_tails")
        if cached is None:
            cached = {c.sequence[1:]: name for name, c in self.signals.items()}
            object.__setattr__(self, "_tails", cached)
        return cached

    def nucleotides(self, strand: Sequence[str]) -> int:
        return sum(self.domains[d.rstrip("*")].length for d in strand)

    def counts(self, complexes: Sequence[str]) -> dict[str, int]:
        """What ordering ``complexes`` means: distinct strands, complexes, distinct domains
        (a domain and its complement count once) and the nucleotides of the distinct strands."""
        strands = {s for name in complexes for s in self.complexes[name].strands}
        domains = {d.rstrip("*") for s in strands for d in s}
        return {
            "strands": len(strands),
            "complexes": len(set(complexes)),
            "domains": len(domains),
            "nucleotides": sum(self.nucleotides(s) for s in strands),
        }


def canonical(sequence: Sequence[str], structure: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The rotation of a complex's strands whose ``(sequence, structure)`` sorts first: one key
    per complex however its strands are listed. Domain names are compared as written."""
    seq = list(sequence)
    cuts = [k for k, d in enumerate(seq) if d == "+"]
    starts = [0] + [k + 1 for k in cuts]
    ends = cuts + [len(seq)]
    partner: dict[int, int] = {}
    stack: list[int] = []
    for k, s in enumerate(structure):
        if s == "(":
            stack.append(k)
        elif s == ")":
            j = stack.pop()
            partner[j], partner[k] = k, j
    best: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    n = len(starts)
    for turn in range(n):
        order = list(range(turn, n)) + list(range(turn))
        positions = [p for i in order for p in range(starts[i], ends[i])]
        where = {p: q for q, p in enumerate(positions)}
        new_seq: list[str] = []
        new_st: list[str] = []
        for i_pos, i in enumerate(order):
            if i_pos:
                new_seq.append("+")
                new_st.append("+")
            for p in range(starts[i], ends[i]):
                new_seq.append(seq[p])
                if p in partner:
                    new_st.append("(" if where[partner[p]] > where[p] else ")")
                else:
                    new_st.append(".")
        cand = (tuple(new_seq), tuple(new_st))
        if best is None or cand < best:
            best = cand
    assert best is not None
    return best
