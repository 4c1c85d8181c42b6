"""Does a design implement its formal CRN? Enumerate it (peppercornenumerator) and check CRN
bisimulation (crnverifier), for the whole design or module by module with a crosstalk check.

The implementation CRN is the enumerator's condensed reactions with the fuels taken out (they
are in excess). Its species that are signal strands (:meth:`Design.signal_of`: a formal
species' domains after any history domain) are interpreted as that species, fixed in advance.
Bisimulation alone would accept a broken gate whose product nothing consumes (a network output)
by interpreting a dead-end strand as that product, so **a species that no reaction consumes and
that is not a signal strand is interpreted as nothing** (it is waste): a strand interpreted as a
formal species at the end of a pathway must carry that species' domains.

- ``whole``: one enumeration of every signal and fuel, one bisimulation check against the whole
  formal CRN. History variants are species of their own here, each interpreted as its signal.
- ``modular``: each formal reaction with its own fuels and reactant signals (history variants
  merged into their signal, which the crosstalk check justifies), a CRN bisimulation per module
  that satisfies crnverifier's modularity condition (Johnson, Dong, Winfree 2019), and a
  **crosstalk** check, as Nuskell does, since per-module checks alone are not sound: (1) no
  history domain has an unpaired complement in any complex of any module (so a history variant
  behaves as its signal), and (2) any two resting complexes of different modules with
  complementary unpaired domains are enumerated together, and must not react. Peppercorn's only
  bimolecular step binds complementary unpaired domains of two resting complexes, so then the
  whole design's enumeration is the union of the modules'. Modules (and crosstalk pairs) that
  are the same up to a renaming of domains of equal lengths are enumerated once.
- ``auto``: whole for designs with at most :data:`WHOLE_LIMIT` formal reactions, else modular.

Example::

    >>> from deepcrn.interop.text import parse_crn
    >>> from deepcrn.dsd.schemes import design_crn
    >>> v = verify_design(design_crn(parse_crn("X + Y -> Z\\nZ -> A + B")), method="modular")
    >>> v.ok, [(x.scope, x.ok) for x in v.verdicts]
    (True, [('reaction 1: X + Y -> Z', True), ('reaction 2: Z -> A + B', True), ('crosstalk', True)])
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from ..errors import DataError
from .enumerate import Enumeration, Key, enumerate_complexes
from .model import Complex, Design, canonical, complement

Method = Literal["auto", "whole", "modular"]
METHODS: tuple[Method, ...] = ("auto", "whole", "modular")
#: ``auto`` checks designs with at most this many formal reactions as a whole.
WHOLE_LIMIT = 40
ICRN = list[list[list[str]]]


@dataclass(frozen=True)
class Verdict:
    """One check: what it covered, whether it passed, its time, and what was shown (the first
    counterexample when it failed)."""

    scope: str
    ok: bool
    seconds: float
    detail: str


@dataclass
class Implementation:
    """The enumerated implementation CRN, fuels included: ``complexes`` by species name,
    ``reactions`` as (reactants, products, rate constant in /nM/s or /s), ``signals``: species
    name -> the formal species (signal name) it is the signal of, ``fuels``: fuel names."""

    complexes: dict[str, Complex] = field(default_factory=dict)
    reactions: list[tuple[tuple[str, ...], tuple[str, ...], float]] = field(default_factory=list)
    signals: dict[str, str] = field(default_factory=dict)
    fuels: set[str] = field(default_factory=set)


@dataclass
class Verification:
    """All verdicts of :func:`verify_design`, the enumerated implementation and the effort."""

    method: str
    verdicts: list[Verdict]
    implementation: Implementation
    seconds: float
    enumerations: int
    n_complexes: int
    n_reactions: int

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.verdicts)

    @property
    def first_failure(self) -> Verdict | None:
        return next((v for v in self.verdicts if not v.ok), None)


# --------------------------------------------------------------------------- implementation CRNs
def _name_species(design: Design, enum: Enumeration, prefix: str, merge_variants: bool) -> dict[Key, str]:
    """A name per complex: the design's own (fuels, signals), the formal species for signal
    strands (history variants too when ``merge_variants``, else ``S~h``), else ``prefix<k>``."""
    names: dict[Key, str] = {}
    k = 0
    for key in sorted(enum.complexes):
        if key in enum.names:
            names[key] = enum.names[key]
            continue
        species = design.signal_of(*key)
        if species is not None:
            names[key] = species if merge_variants else f"{species}~{key[0][0]}"
        else:
            k += 1
            names[key] = f"{prefix}{k}"
    return names


def _reduce(
    design: Design, enum: Enumeration, names: dict[Key, str]
) -> tuple[ICRN, dict[str, list[str]], dict[str, str]]:
    """(implementation CRN for crnverifier without fuels and waste, the fixed interpretation of
    its signal strands, name -> signal of every signal strand)."""
    signals = {names[k]: s for k in enum.complexes if (s := design.signal_of(*k)) is not None}
    consumed = {names[k] for r in enum.reactions for k in r.reactants}
    drop = {names[k] for k in enum.complexes if names[k] in design.fuels}
    drop |= {n for n in names.values() if n not in consumed and n not in signals}
    icrn: ICRN = []
    seen = set()
    for r in enum.reactions:
        left = sorted(names[k] for k in r.reactants if names[k] not in drop)
        right = sorted(names[k] for k in r.products if names[k] not in drop)
        if left == right or (tuple(left), tuple(right)) in seen:
            continue
        seen.add((tuple(left), tuple(right)))
        icrn.append([left, right])
    used = {s for r in icrn for side in r for s in side}
    inter = {n: [s] for n, s in signals.items() if n in used}
    return icrn, inter, signals


def _formal(design: Design, modules: Sequence[int]) -> ICRN:
    return [[list(design.modules[i].reactants), list(design.modules[i].products)] for i in modules]


def _label(design: Design, i: int) -> str:
    m = design.modules[i]
    return f"reaction {m.reaction + 1}: {' + '.join(m.reactants)} -> {' + '.join(m.products) or '0'}"


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise TimeoutError after ``seconds`` (main thread only; elsewhere no limit)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise TimeoutError

    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _diagnose(design: Design, icrn: ICRN, inter: dict[str, list[str]], modules: Sequence[int]) -> str:
    """The first formal reaction whose product signals its reactant signals cannot reach in
    ``icrn`` (fuels in excess), or a note that every one can."""
    for i in modules:
        m = design.modules[i]
        have = set(m.reactants)
        grew = True
        while grew:
            grew = False
            for left, right in icrn:
                if set(left) <= have and not set(right) <= have:
                    have |= set(right)
                    grew = True
        reached = sorted({inter[s][0] for s in have if s in inter} - set(m.reactants))
        missing = sorted(set(m.products) - set(reached) - set(m.reactants))
        if missing:
            return (
                f"{_label(design, i)}: from its reactants the gates release signals of {reached or 'nothing'}, not of "
                f"{', '.join(missing)} (a strand no reaction consumes that is not a signal counts as waste)"
            )
    return "every formal reaction's products are reachable, but no CRN bisimulation exists (crnverifier)"


def _bisimulation(
    fcrn: ICRN,
    icrn: ICRN,
    inter: dict[str, list[str]],
    shared_is: set[str] | None = None,
    shared_fs: set[str] | None = None,
) -> str:
    """``"ok"``, ``"none"`` (no CRN bisimulation) or ``"modularity"`` (some, but none satisfies
    the modularity condition for the ``shared_*`` species)."""
    from crnverifier.crn_bisimulation import crn_bisimulations, passes_modularity_condition

    formals = {s for r in fcrn for side in r for s in side} | {v for vs in inter.values() for v in vs}
    found = False
    for bisim in crn_bisimulations(fcrn, icrn, interpretation=dict(inter), formals=formals):
        found = True
        if shared_is is None or passes_modularity_condition(bisim, icrn, shared_is, shared_fs or set()):
            return "ok"
    return "modularity" if found else "none"


# --------------------------------------------------------------------------- whole design
def _verify_whole(design: Design, time_limit: float | None) -> Verification:
    start = time.perf_counter()
    enum = enumerate_complexes(design, list(design.complexes.values()))
    names = _name_species(design, enum, "_i", merge_variants=False)
    icrn, inter, signals = _reduce(design, enum, names)
    every = range(len(design.modules))
    fcrn = _formal(design, every)
    t0 = time.perf_counter()
    try:
        with _time_limit(time_limit):
            ok = _bisimulation(fcrn, icrn, inter) == "ok"
        detail = (
            f"CRN bisimulation of {len(fcrn)} formal reactions by {len(icrn)} implementation reactions "
            f"({len(enum.reactions)} enumerated, fuels and waste taken out)"
            if ok
            else _diagnose(design, icrn, inter, every)
        )
    except TimeoutError:
        ok, detail = False, f"no verdict within {time_limit:g} s (try --method modular)"
    verdict = Verdict("whole design", ok, time.perf_counter() - t0, detail)
    impl = _implementation(design, [(enum, names)])
    return Verification(
        "whole", [verdict], impl, time.perf_counter() - start, 1, len(enum.complexes), len(enum.reactions)
    )


# --------------------------------------------------------------------------- modules
def _shape(design: Design, initial: Sequence[Complex]) -> tuple[tuple[object, ...], list[str]]:
    """A key equal for complexes equal up to a renaming of domains (same lengths and kinds),
    and the domains in order of first appearance."""
    order: dict[str, int] = {}
    parts: list[object] = []
    for c in initial:
        renamed = []
        for d in c.sequence:
            if d == "+":
                renamed.append("+")
                continue
            base = d.rstrip("*")
            if base not in order:
                order[base] = len(order)
            renamed.append(f"{order[base]}{'*' if d.endswith('*') else ''}")
        parts.append((tuple(renamed), c.structure))
    info = tuple((design.domains[d].length, design.domains[d].kind) for d in order)
    return (tuple(parts), info), list(order)


def _renamed(enum: Enumeration, domains: dict[str, str], names: dict[str, str]) -> Enumeration:
    """``enum`` with domains and the initial complexes' names mapped (an isomorphic module)."""
    keys: dict[Key, Key] = {}
    out = Enumeration(seconds=0.0)
    for key, c in enum.complexes.items():
        seq = [d if d == "+" else domains[d.rstrip("*")] + ("*" if d.endswith("*") else "") for d in key[0]]
        new = canonical(seq, key[1])
        keys[key] = new
        out.complexes[new] = Complex(c.name, new[0], new[1])
    out.resting = {keys[k] for k in enum.resting}
    out.transient = {keys[k] for k in enum.transient}
    out.names = {keys[k]: names[n] for k, n in enum.names.items()}
    for r in enum.reactions:
        out.reactions.append(type(r)(tuple(keys[k] for k in r.reactants), tuple(keys[k] for k in r.products), r.rate))
    return out


class _Cache:
    """Enumerations by shape, so isomorphic modules (or crosstalk pairs) are enumerated once."""

    def __init__(self, design: Design) -> None:
        self.design = design
        self.seen: dict[tuple[object, ...], tuple[Enumeration, list[str], list[str]]] = {}
        self.runs = 0
        self.seconds = 0.0

    def enumerate(self, initial: Sequence[Complex]) -> Enumeration:
        key, order = _shape(self.design, initial)
        names = [c.name for c in initial]
        if key not in self.seen:
            enum = enumerate_complexes(self.design, initial)
            self.runs += 1
            self.seconds += enum.seconds
            self.seen[key] = (enum, order, names)
            return enum
        enum, rep_order, rep_names = self.seen[key]
        return _renamed(enum, dict(zip(rep_order, order)), dict(zip(rep_names, names)))


def _module_runs(design: Design, cache: _Cache) -> list[tuple[Enumeration, dict[Key, str]]]:
    """Each formal reaction's fuels and reactant signals enumerated, with species names
    (intermediates ``_r<k>_<j>``, which no design name can be; history variants merged)."""
    runs = []
    for m in design.modules:
        initial = [design.signals[s] for s in dict.fromkeys(m.reactants)] + [design.fuels[f] for f in m.fuels]
        enum = cache.enumerate(initial)
        runs.append((enum, _name_species(design, enum, f"_r{m.reaction + 1}_", merge_variants=True)))
    return runs


def implementation(design: Design) -> Implementation:
    """The design's implementation CRN as the union of its modules' enumerations, history
    variants merged into their signals (exact when the crosstalk check passes)."""
    return _implementation(design, _module_runs(design, _Cache(design)))


def _verify_modular(design: Design) -> Verification:
    start = time.perf_counter()
    cache = _Cache(design)
    runs = _module_runs(design, cache)
    reduced = [_reduce(design, enum, names) for enum, names in runs]
    in_modules: dict[str, int] = {}
    for icrn, _, _ in reduced:
        for s in {s for r in icrn for side in r for s in side}:
            in_modules[s] = in_modules.get(s, 0) + 1
    formal_count: dict[str, int] = {}
    for m in design.modules:
        for s in set(m.reactants) | set(m.products):
            formal_count[s] = formal_count.get(s, 0) + 1
    verdicts = []
    for i, (icrn, inter, _) in enumerate(reduced):
        t0 = time.perf_counter()
        species = {s for r in icrn for side in r for s in side}
        fcrn = _formal(design, [i])
        shared_is = {s for s in species if in_modules[s] > 1}
        shared_fs = {s for r in fcrn for side in r for s in side if formal_count[s] > 1}
        found = _bisimulation(fcrn, icrn, inter, shared_is, shared_fs)
        ok = found == "ok"
        if ok:
            detail = f"modular CRN bisimulation by {len(icrn)} implementation reactions"
        elif found == "modularity":
            detail = (
                "a CRN bisimulation exists but none satisfies the modularity condition for the species it shares "
                f"with other modules ({', '.join(sorted(shared_is)) or 'none'})"
            )
        else:
            detail = _diagnose(design, icrn, inter, [i])
        verdicts.append(Verdict(_label(design, i), ok, time.perf_counter() - t0, detail))
    t0 = time.perf_counter()
    problem, n_pairs = _crosstalk(design, runs, cache)
    detail = problem or (
        f"history domains inert; {n_pairs} pairs of resting complexes from different modules can bind, "
        "none reacts (enumerated together)"
    )
    verdicts.append(Verdict("crosstalk", problem is None, time.perf_counter() - t0, detail))
    impl = _implementation(design, runs)
    n_complexes = len({k for e, _ in runs for k in e.complexes})
    n_reactions = sum(len(e.reactions) for e, _ in runs)
    return Verification("modular", verdicts, impl, time.perf_counter() - start, cache.runs, n_complexes, n_reactions)


def _crosstalk(design: Design, runs: list[tuple[Enumeration, dict[Key, str]]], cache: _Cache) -> tuple[str | None, int]:
    """(the first crosstalk found or None, how many cross-module pairs could bind)."""
    history_complements = {h + "*" for h in design.history}
    members: dict[Key, set[int]] = {}
    signal_members: dict[str, set[int]] = {}
    where: dict[Key, tuple[int, str]] = {}
    for i, (enum, names) in enumerate(runs):
        for key in enum.complexes:
            bad = history_complements & {d for d, s in zip(*key) if s == "."}
            if bad:
                where_ = f"{_label(design, i)}: complex {names[key]} = {enum.complexes[key].kernel}"
                return (
                    f"{where_} exposes {sorted(bad)[0]}, the complement of a history domain, so history variants "
                    "may not behave as their signals"
                ), 0
        for key in enum.resting:
            members.setdefault(key, set()).add(i)
            where.setdefault(key, (i, names[key]))
            s = design.signal_of(*key)
            if s is not None:
                signal_members.setdefault(s, set()).add(i)

    def modules_of(key: Key) -> set[int]:
        s = design.signal_of(*key)
        return members[key] | (signal_members[s] if s is not None else set())

    exposed: dict[str, list[Key]] = {}
    for key in members:
        for d in {d for d, s in zip(*key) if s == "."}:
            exposed.setdefault(d, []).append(key)
    pairs = set()
    for d, keys in exposed.items():
        if d.endswith("*"):
            continue
        for a in keys:
            for b in exposed.get(complement(d), []):
                if not modules_of(a) & modules_of(b):
                    pairs.add((a, b) if a <= b else (b, a))
    for a, b in sorted(pairs):
        ca = Complex(f"x{len(a[0])}a", *a)
        cb = Complex(f"x{len(b[0])}b", *b)
        together = cache.enumerate([ca, cb])
        want = sorted([ca.name, cb.name])
        for r in together.reactions:
            if sorted(together.name(k) for k in r.reactants) == want:
                (i, na), (j, nb) = where[a], where[b]
                made = " + ".join(together.complexes[k].kernel for k in r.products)
                return (
                    f"{na} = {ca.kernel} ({_label(design, i)}) reacts with {nb} = {cb.kernel} ({_label(design, j)}): "
                    f"-> {made}"
                ), len(pairs)
    return None, len(pairs)


def _implementation(design: Design, runs: list[tuple[Enumeration, dict[Key, str]]]) -> Implementation:
    """The union of enumerations as one implementation CRN (species merged by canonical form;
    history variants merged where the names say so)."""
    impl = Implementation(fuels=set(design.fuels))
    by_key: dict[Key, str] = {}
    seen = set()
    for enum, names in runs:
        for key, c in enum.complexes.items():
            name = by_key.setdefault(key, names[key])
            impl.complexes.setdefault(name, Complex(name, c.sequence, c.structure))
            s = design.signal_of(*key)
            if s is not None:
                impl.signals[name] = s
        for r in enum.reactions:
            left = tuple(sorted(by_key[k] for k in r.reactants))
            right = tuple(sorted(by_key[k] for k in r.products))
            if (left, right) not in seen and left != right:
                seen.add((left, right))
                impl.reactions.append((left, right, r.rate))
    for name in design.complexes:  # signals and fuels nothing reacts with are still there
        impl.complexes.setdefault(name, design.complexes[name])
        if name in design.signals:
            impl.signals.setdefault(name, name)
    return impl


def verify_design(design: Design, method: Method = "auto", time_limit: float | None = None) -> Verification:
    """Enumerate ``design`` and check that it implements its formal CRN (module docstring).
    ``time_limit``: seconds for the whole-design bisimulation search (main thread only)."""
    if method not in METHODS:
        raise DataError(f"unknown verification method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "whole" or (method == "auto" and len(design.modules) <= WHOLE_LIMIT):
        return _verify_whole(design, time_limit)
    return _verify_modular(design)
