"""CRN records, the rate-independence checks and statistics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepcrn.analysis import (
    check_rate_independent,
    competitions,
    find_cycle,
    is_feed_forward,
    is_non_competitive,
    reaction_levels,
    species_order,
    stats,
)
from deepcrn.crn import CRN, InputSpec, OutputSpec, Reaction
from deepcrn.errors import CRNError, DataError
from deepcrn.interop.text import parse_crn
from deepcrn.io_map import initial_state


def test_reaction_validates_and_merges() -> None:
    r = Reaction((("A", 1), ("A", 1)), (("B", 2),))
    assert r.reactants == (("A", 2),) and r.order == 2 and str(r) == "2 A -> 2 B"
    with pytest.raises(CRNError, match="positive integer"):
        Reaction((("A", 0),), ())
    with pytest.raises(CRNError, match="positive integer"):
        Reaction((("A", 1.5),), ())  # type: ignore[arg-type]
    with pytest.raises(CRNError, match="not valid"):
        Reaction((("1A", 1),), ())
    with pytest.raises(CRNError, match="at least one reactant"):
        Reaction((), (("A", 1),))
    with pytest.raises(CRNError, match="rate constant"):
        Reaction((("A", 1),), (), rate=-1.0)


def test_crn_validates_declarations() -> None:
    r = Reaction((("A", 1),), (("B", 1),))
    with pytest.raises(CRNError, match="undeclared species B"):
        CRN(("A",), (r,))
    with pytest.raises(CRNError, match="declared twice"):
        CRN(("A", "A", "B"), (r,))
    with pytest.raises(CRNError, match="finite, >= 0"):
        CRN(("A", "B"), (r,), {"A": -1.0})
    with pytest.raises(CRNError, match="finite, >= 0"):
        CRN(("A", "B"), (r,), {"A": float("nan")})
    with pytest.raises(CRNError, match="encodes two inputs"):
        CRN(("A", "B"), (r,), {}, (InputSpec("x", "A", "B"), InputSpec("z", "A")))
    with pytest.raises(CRNError, match="two outputs are named y"):
        CRN(("A", "B"), (r,), {}, (), (OutputSpec("y", "A", "B"), OutputSpec("y", "B", "A")))


def test_competition_is_named() -> None:
    crn = parse_crn("A -> B\nA + C -> D\nE -> F")
    comps = competitions(crn)
    assert [c.species for c in comps] == ["A"]
    assert comps[0].reactions == (0, 1)
    with pytest.raises(CRNError, match=r"species A is consumed by 2 reactions .*#1 A -> B; #2 A \+ C -> D"):
        check_rate_independent(crn)


def test_catalysts_do_not_compete() -> None:
    # C catalyses two reactions but is never net-consumed: non-competitive.
    crn = parse_crn("A + C -> B + C\nD + C -> E + C")
    assert is_non_competitive(crn)
    # ...but a reaction that net-consumes the catalyst makes it compete.
    crn = parse_crn("A + C -> B + C\nC -> E")
    assert [c.species for c in competitions(crn)] == ["C"]


def test_cycles_are_named() -> None:
    crn = parse_crn("A -> B\nB + X -> C\nC -> A\nD -> E")
    cycle = find_cycle(crn)
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"A", "B", "C"}
    with pytest.raises(CRNError, match="not feed-forward: cycle"):
        check_rate_independent(crn)
    assert find_cycle(parse_crn("A -> 2 A")) == ["A", "A"]
    assert is_feed_forward(parse_crn("A + C -> B + C"))


def test_levels_are_topological() -> None:
    crn = parse_crn("C -> D\nA -> B\nB -> C")
    assert reaction_levels(crn) == [[1], [2], [0]]
    crn = parse_crn("A -> B\nB -> C\nX -> Y")  # X -> Y: as early as possible, or as late
    assert reaction_levels(crn) == [[0, 2], [1]] and reaction_levels(crn, late=True) == [[0], [1, 2]]
    with pytest.raises(CRNError, match="cycle"):
        reaction_levels(parse_crn("A -> B\nB -> A"))


def _has_cycle(reactions: list[Reaction], names: list[str]) -> bool:
    """Independent reference: repeatedly delete species with no incoming edge in the graph
    reactant -> net product (pure Python, quadratic); a cycle is what remains."""
    edges = {(a, b) for r in reactions for a, _ in r.reactants for b, c in r.net().items() if c > 0}
    alive = set(names)
    while True:
        sources = {n for n in alive if not any(b == n and a in alive for a, b in edges)}
        if not sources:
            return bool(alive)
        alive -= sources


@given(st.integers(0, 2**32 - 1))
def test_levels_agree_with_the_species_graph(seed: int) -> None:
    """Kahn's levels (is_feed_forward, reaction_levels, find_cycle) against an independent
    peeling of the species graph, on random CRNs with catalysts, self-loops and cycles; every
    cycle found is a real cycle."""
    rng = np.random.default_rng(seed)
    names = [f"S{k}" for k in range(int(rng.integers(1, 7)))]
    reactions = []
    for _ in range(int(rng.integers(0, 7))):
        reactants = {names[int(i)]: int(rng.integers(1, 3)) for i in rng.integers(0, len(names), rng.integers(1, 3))}
        products = {names[int(i)]: int(rng.integers(1, 3)) for i in rng.integers(0, len(names), rng.integers(0, 3))}
        reactions.append(Reaction(tuple(reactants.items()), tuple(products.items())))
    crn = CRN(tuple(names), tuple(reactions))
    cyclic = _has_cycle(reactions, names)
    assert is_feed_forward(crn) == (not cyclic)
    cycle = find_cycle(crn)
    if cyclic:
        assert cycle is not None and cycle[0] == cycle[-1]
        edges = {(a, b) for r in reactions for a, _ in r.reactants for b, c in r.net().items() if c > 0}
        assert all((a, b) in edges for a, b in zip(cycle, cycle[1:]))
        return
    assert cycle is None
    early, late = reaction_levels(crn), reaction_levels(crn, late=True)
    assert len(late) == len(early)  # the same depth
    for levels in (early, late):
        assert sorted(i for group in levels for i in group) == list(range(len(reactions)))
        level_of = {i: k for k, group in enumerate(levels) for i in group}
        for j, r in enumerate(reactions):
            for i, q in enumerate(reactions):
                if any(q.net().get(name, 0) > 0 for name, _ in r.reactants):
                    assert level_of[i] < level_of[j]
    # As late as possible: each reaction one level before the earliest one using what it makes.
    level_of = {i: k for k, group in enumerate(late) for i in group}
    for i, q in enumerate(reactions):
        users = [level_of[j] for j, r in enumerate(reactions) if any(q.net().get(n, 0) > 0 for n, _ in r.reactants)]
        assert level_of[i] == (min(users) - 1 if users else len(late) - 1)
    order = species_order(crn)
    assert sorted(order) == sorted(names)
    position = {name: k for k, name in enumerate(order)}
    edges = {(a, b) for r in reactions for a, _ in r.reactants for b, c in r.net().items() if c > 0}
    assert all(position[a] < position[b] for a, b in edges)


def test_initial_state_encodes_inputs() -> None:
    crn = parse_crn("input x = P - N\ninput z = S + -1.5\ninit P = 0.25\nP -> 0\nN -> 0\nS -> 0")
    state = initial_state(crn, np.array([[2.0, 0.5], [-3.0, -1.5]]))
    idx = crn.index
    assert state[0, idx["P"]] == 2.25 and state[0, idx["N"]] == 0 and state[0, idx["S"]] == 2.0
    assert state[1, idx["P"]] == 0.25 and state[1, idx["N"]] == 3.0 and state[1, idx["S"]] == 0.0
    with pytest.raises(DataError, match="expected \\(batch, 2\\)"):
        initial_state(crn, np.ones((1, 3)))
    with pytest.raises(DataError, match="input z of example 1 is NaN"):
        initial_state(crn, np.array([[1.0, np.nan]]))
    with pytest.raises(DataError, match="give input values"):
        initial_state(crn, None)


def test_stats() -> None:
    crn = parse_crn("A -> B + 2 C\nB + C -> D\n2 D + E + F -> G")
    s = stats(crn)
    assert (s["n_reactions"], s["n_unimolecular"], s["n_bimolecular"], s["n_higher_order"]) == (3, 1, 1, 1)
    assert (s["max_products"], s["total_products"], s["max_product_species"]) == (3, 5, 2)


def test_with_rates() -> None:
    crn = parse_crn("A -> B\nB -> C")
    assert crn.rate_constants().tolist() == [1.0, 1.0]
    assert crn.with_rates([2.0, 3.0]).rate_constants().tolist() == [2.0, 3.0]
    with pytest.raises(CRNError, match="expected 2 rate constants"):
        crn.with_rates([1.0])
