"""Split reactions with many products into balanced trees of reactions with few (the DSD form).

DNA strand-displacement gates implement reactions with at most two reactants and, practically,
two products (DESIGN section 10). :func:`split_products` rewrites every reaction
``R -> P1 + ... + Pk`` whose product count ``k`` (coefficients counted: ``2 A`` is two
products) exceeds ``max_products`` into a balanced ``max_products``-ary tree: the original
reaction keeps its reactants and rate constant and makes at most ``max_products`` products,
some of them fresh intermediate species, each of which is the one reactant of one unimolecular
reaction passing its share on. The tree has depth ``ceil(log_m k)``. Each intermediate is made by
one reaction and consumed by one, so a non-competitive, feed-forward CRN stays so and its
equilibrium outputs are unchanged (every intermediate passes on exactly what it received).

Example::

    >>> from deepcrn.interop.text import parse_crn
    >>> crn = parse_crn("A -> B + 2 C + D + E")
    >>> [str(r) for r in split_products(crn).reactions]
    ['A -> A_1 + A_2', 'A_1 -> A_1_1 + C', 'A_2 -> D + E', 'A_1_1 -> B + C']
    >>> [str(r) for r in split_products(crn, max_products=3).reactions]
    ['A -> A_1 + A_2 + E', 'A_1 -> B + C', 'A_2 -> C + D']

Intermediates are named after the reaction's first reactant (``A_1``, ``A_2``, then ``A_2_1``,
...), with a suffix where a name is taken.
"""

from __future__ import annotations

from .crn import CRN, Reaction, Term
from .errors import CRNError


def _units(products: tuple[Term, ...]) -> list[str]:
    """Each product once per unit of its coefficient, in order."""
    return [name for name, coef in products for _ in range(coef)]


def _terms(names: list[str]) -> tuple[Term, ...]:
    merged: dict[str, int] = {}
    for name in names:
        merged[name] = merged.get(name, 0) + 1
    return tuple(merged.items())


def _groups(items: list[str], m: int) -> list[list[str]]:
    """``items`` cut into ``m`` contiguous groups as even as possible (larger groups first)."""
    size, extra = divmod(len(items), m)
    out, start = [], 0
    for g in range(m):
        stop = start + size + (1 if g < extra else 0)
        out.append(items[start:stop])
        start = stop
    return [g for g in out if g]


def split_products(crn: CRN, max_products: int = 2) -> CRN:
    """``crn`` with every reaction making more than ``max_products`` products (counted with
    their coefficients) split into a balanced tree through fresh intermediate species (module
    docstring). Reactions within the limit are kept as they are; inputs, outputs and initial
    concentrations are unchanged."""
    if isinstance(max_products, bool) or not isinstance(max_products, int) or max_products < 2:
        raise CRNError(f"max_products must be a whole number >= 2, got {max_products!r}")
    taken = set(crn.species)
    species = list(crn.species)
    reactions: list[Reaction] = []

    def fresh(base: str) -> str:
        name, k = base, 1
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        species.append(name)
        return name

    for r in crn.reactions:
        units = _units(r.products)
        if len(units) <= max_products:
            reactions.append(r)
            continue
        # Breadth first: (reactants, products to deliver, rate, name stem for intermediates).
        queue: list[tuple[tuple[Term, ...], list[str], float | None, str]] = [
            (r.reactants, units, r.rate, r.reactants[0][0])
        ]
        while queue:
            reactants, items, rate, stem = queue.pop(0)
            made: list[str] = []
            for k, group in enumerate(_groups(items, max_products), start=1):
                if len(group) == 1:
                    made.append(group[0])
                else:
                    name = fresh(f"{stem}_{k}")
                    made.append(name)
                    queue.append((((name, 1),), group, None, name))
            reactions.append(Reaction.trusted(reactants, _terms(made), rate))
    return CRN(tuple(species), tuple(reactions), crn.init, crn.inputs, crn.outputs)
