"""Translation schemes: a formal CRN -> signal strands and fuel complexes (a :class:`Design`).

``soloveichik2010`` (Soloveichik, Seelig, Winfree, "DNA as a universal substrate for chemical
kinetics", PNAS 107:5393, 2010), written here from the paper's construction:

- **Signal** of formal species ``S``: one strand ``h_S a_S b_S c_S``: a history domain, a
  toehold ``a_S``, a long branch-migration domain ``b_S`` and a second toehold ``c_S``. A gate
  that makes ``S`` releases a *history variant* ``hR_i a_S b_S c_S`` (its own history domain
  first): it reacts exactly as ``S`` does, since nothing binds history domains.
- **Join gate** ``rR_L`` for ``R1 (+ R2) -> ...``: the bottom strand
  ``c_R2* b_R2* a_R2* c_R1* b_R1* a_R1*`` with the toehold ``a_R1*`` free; bound on it, the
  strand ``b_R1 c_R1 a_R2`` and the *output strand* ``b_R2 c_R2 hR_1 a_P1 hR_2 a_P2`` (for one
  reactant: the bottom ``c_R1* b_R1* a_R1*`` and the output strand ``b_R1 c_R1 ...``). ``R1``
  binds ``a_R1*`` and displaces ``b_R1 c_R1 a_R2``, which then falls off its toehold and
  uncovers ``a_R2*``; ``R2`` binds it and displaces the output strand.
- **Back strand** ``rR_B`` = ``b_R1 c_R1 a_R2`` (bimolecular reactions only), a fuel: it can
  displace ``R1`` again, so ``R1``'s binding is reversible and a join gate holding ``R1`` is
  still ``R1`` until ``R2`` arrives (the paper's buffered first step).
- **Fork gate** ``rR_T`` (reactions with products): the bottom strand
  ``a_P2* hR_2* a_P1* hR_1* c_Rn*`` with ``c_Rn*`` free; bound on it, the strands
  ``hR_i a_Pi b_Pi c_Pi``: each product's history variant. The output strand binds ``c_Rn*``
  and releases every product.

Reactions have one or two reactants and up to two products (counted with coefficients);
reactions without products need no fork gate. Default lengths: toeholds 5 nt, long and history
domains 15 nt (the short/long defaults of the Nuskell compiler's implementations of these
schemes); toeholds must stay at most 7 nt, so the enumerator's release cut-off (7 here, as
Nuskell's) treats them as toeholds, and long domains must be longer than that.

Example::

    >>> from deepcrn.interop.text import parse_crn
    >>> d = design_crn(parse_crn("X + Y -> P"))
    >>> d.signals["X"].kernel
    'h_X a_X b_X c_X'
    >>> [f"{n} = {c.kernel}" for n, c in d.fuels.items()]  # doctest: +NORMALIZE_WHITESPACE
    ['r1_L = b_X( c_X( a_Y( + b_Y( c_Y( h1_1 a_P + ) ) ) ) ) a_X*',
     'r1_B = b_X c_X a_Y',
     'r1_T = h1_1( a_P( b_P c_P + ) ) c_Y*']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .._names import unique_identifiers
from ..crn import CRN
from ..errors import CRNError
from .model import Complex, Design, Domain, Module, duplex

#: Words PIL's grammar uses; no complex is named after one.
PIL_RESERVED = frozenset(
    "length domain sequence sup-sequence strand complex structure kinetic reaction state macrostate".split()
)
#: The enumerator's release cut-off used for verification: helices of at most this many
#: nucleotides fall apart by themselves (toeholds), longer ones do not.
RELEASE_CUTOFF = 7
MAX_TOEHOLD = RELEASE_CUTOFF


@dataclass(frozen=True)
class Lengths:
    """Domain lengths in nucleotides."""

    toehold: int = 5
    long: int = 15

    def check(self) -> None:
        if not (1 <= self.toehold <= MAX_TOEHOLD):
            raise CRNError(f"toeholds must be 1 to {MAX_TOEHOLD} nt long, got {self.toehold}")
        if self.long <= RELEASE_CUTOFF:
            raise CRNError(
                f"long domains must be longer than {RELEASE_CUTOFF} nt (else they fall apart like toeholds), "
                f"got {self.long}"
            )


def unsupported(crn: CRN, max_reactants: int = 2, max_products: int = 2) -> str | None:
    """Why ``crn`` is outside what the schemes implement (one or two reactants, at most two
    products, coefficients counted), or None."""
    for i, r in enumerate(crn.reactions):
        n_in = sum(c for _, c in r.reactants)
        n_out = sum(c for _, c in r.products)
        if n_in > max_reactants or n_out > max_products:
            return (
                f"reaction {i + 1} ({r}) has {n_in} reactants and {n_out} products; the DSD schemes implement at "
                f"most {max_reactants} and {max_products}: compile the network with --form dsd"
            )
    return None


def _soloveichik2010(
    r: int, reactants: list[str], products: list[str], dom: Callable[[str, str], str], add: Callable[..., str]
) -> list[Complex]:
    """The fuels of reaction ``r`` (1-based) in the SSW 2010 scheme (module docstring).
    ``dom(kind, species)`` names a signal's domain; ``add(name, kind)`` declares a new one."""
    hist = [add(f"h{r}_{i}", "history") for i in range(1, len(products) + 1)]
    tail: list[tuple[str, bool]] = []
    for h, p in zip(hist, products):
        tail += [(h, False), (dom("a", p), False)]
    last = reactants[-1]
    tops: list[list[tuple[str, bool]]] = []
    if len(reactants) == 2:
        first = reactants[0]
        tops.append([(dom("b", first), True), (dom("c", first), True), (dom("a", last), True)])
    tops.append([(dom("b", last), True), (dom("c", last), True), *tail])
    fuels = [duplex(f"r{r}_L", tops, [dom("a", reactants[0]) + "*"])]
    if len(reactants) == 2:
        fuels.append(Complex.strand(f"r{r}_B", [d for d, _ in tops[0]]))
    if products:
        forks = [
            [(h, True), (dom("a", p), True), (dom("b", p), False), (dom("c", p), False)] for h, p in zip(hist, products)
        ]
        fuels.append(duplex(f"r{r}_T", forks, [dom("c", last) + "*"]))
    return fuels


SCHEMES = {"soloveichik2010": _soloveichik2010}
SCHEME_NAMES: tuple[str, ...] = tuple(SCHEMES)


def pil_names(crn: CRN) -> dict[str, str]:
    """Formal species -> signal complex name: the species' own name where PIL allows it."""
    return dict(zip(crn.species, unique_identifiers(crn.species, reserved=PIL_RESERVED)))


def design_crn(crn: CRN, scheme: str = "soloveichik2010", lengths: Lengths | None = None) -> Design:
    """The domain-level design of ``crn`` in ``scheme`` (module docstring). Raises
    :class:`~deepcrn.errors.CRNError` for reactions outside the supported class."""
    if scheme not in SCHEMES:
        raise CRNError(f"unknown DSD scheme {scheme!r}; choose one of {', '.join(SCHEME_NAMES)}")
    lengths = lengths or Lengths()
    lengths.check()
    reason = unsupported(crn)
    if reason is not None:
        raise CRNError(reason)
    names = pil_names(crn)
    domains: dict[str, Domain] = {}
    size = {"toehold": lengths.toehold, "long": lengths.long, "history": lengths.long}

    def add(name: str, kind: str) -> str:
        domains[name] = Domain(name, size[kind], kind)  # type: ignore[arg-type]
        return name

    signals: dict[str, Complex] = {}
    for species in crn.species:
        n = names[species]
        parts = [add(f"h_{n}", "history"), add(f"a_{n}", "toehold"), add(f"b_{n}", "long"), add(f"c_{n}", "toehold")]
        signals[n] = Complex.strand(n, parts)

    def dom(kind: str, name: str) -> str:
        return f"{kind}_{name}"

    build = SCHEMES[scheme]
    drafts: list[tuple[int, list[str], list[str], list[Complex]]] = []
    for i, r in enumerate(crn.reactions):
        reactants = [names[s] for s, c in r.reactants for _ in range(c)]
        products = [names[s] for s, c in r.products for _ in range(c)]
        drafts.append((i, reactants, products, build(i + 1, reactants, products, dom, add)))
    # Fuel names are per reaction (r<k>_L, ...); renamed only where a species has taken one.
    wanted = [c.name for *_, fuels in drafts for c in fuels]
    final = iter(unique_identifiers(wanted, reserved=PIL_RESERVED, taken=signals))
    fuels: dict[str, Complex] = {}
    modules = []
    for i, reactants, products, made in drafts:
        renamed = [Complex(next(final), c.sequence, c.structure) for c in made]
        fuels.update((c.name, c) for c in renamed)
        modules.append(Module(i, tuple(reactants), tuple(products), tuple(c.name for c in renamed)))
    history = frozenset(name for name, d in domains.items() if d.kind == "history")
    return Design(scheme, domains, names, signals, fuels, tuple(modules), history)
