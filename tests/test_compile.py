"""Properties of the construction (DESIGN section 2) over random networks and inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepcrn.analysis import competitions, find_cycle, is_feed_forward, is_non_competitive, stats
from deepcrn.compile import compile_network, reduce
from deepcrn.errors import CRNError, DataError, NetworkError
from deepcrn.exact import evaluate
from deepcrn.interop.text import parse_crn
from deepcrn.network import Network

from .strategies import inputs_for, magnitude, networks, random_network


def n_relu(net: Network) -> int:
    return sum(layer.n_out for layer in net.layers[:-1])


@given(st.data(), networks())
def test_exact_crn_equals_forward_pass(data: st.DataObject, net: Network) -> None:
    x = data.draw(inputs_for(net.n_inputs))
    expected = net.forward(x)
    for form in ("full", "reduced"):
        crn = compile_network(net, form=form)
        for engine in ("fire", "circuit"):  # firing the reactions, and the circuit they compute
            got = evaluate(crn, x, engine=engine)
            assert np.all(np.abs(got - expected) <= 1e-9 * magnitude(net, x)), (form, engine)


@given(st.data(), networks())
def test_reduced_equals_full_and_keeps_the_properties(data: st.DataObject, net: Network) -> None:
    x = data.draw(inputs_for(net.n_inputs))
    full = compile_network(net, form="full")
    red = compile_network(net, form="reduced")
    for crn in (full, red):
        assert is_non_competitive(crn), competitions(crn)
        assert is_feed_forward(crn), find_cycle(crn)
    np.testing.assert_allclose(
        evaluate(red, x, engine="fire"),
        evaluate(full, x, engine="fire"),
        rtol=0,
        atol=1e-12 * magnitude(net, x).max(),
    )
    # Full: one fan-out reaction per upstream species with a non-zero row, two per ReLU node.
    assert stats(full)["n_bimolecular"] == n_relu(net)
    # Reduced: exactly one bimolecular reaction per ReLU node, unimolecular ones only from inputs.
    assert stats(red)["n_bimolecular"] == n_relu(net)
    inputs = red.input_species
    for r in red.reactions:
        assert r.order in (1, 2)
        if r.order == 1:
            assert r.reactants[0][0] in inputs
    assert stats(red)["n_unimolecular"] <= 2 * net.n_inputs
    # The public reduce (with its checks) gives the same CRN from the full form.
    assert reduce(full) == red


@given(st.data(), networks(kinds=("ternary", "integer"), max_hidden=3, max_width=20))
def test_input_shift_preserves_outputs_and_halves_inputs(data: st.DataObject, net: Network) -> None:
    x = data.draw(inputs_for(net.n_inputs))
    lows = x.min(axis=0) - data.draw(st.floats(0, 3))
    shifted = compile_network(net, input_lower_bounds=lows)
    plain = compile_network(net)
    assert len(shifted.input_species) == net.n_inputs == len(plain.input_species) // 2
    for engine in ("fire", "circuit"):
        got = evaluate(shifted, x, engine=engine)
        assert np.all(np.abs(got - net.forward(x)) <= 1e-9 * magnitude(net, np.abs(x) + np.abs(lows))), engine


def test_input_below_its_lower_bound_is_refused() -> None:
    net = random_network(np.random.default_rng(0), "ternary", [2, 3, 2])
    crn = compile_network(net, input_lower_bounds=[0.0, -1.0])
    for engine in ("fire", "circuit"):
        with pytest.raises(DataError, match="below its declared lower bound"):
            evaluate(crn, np.array([[0.5, -2.0]]), engine=engine)
    with pytest.raises(NetworkError, match="input_lower_bounds has 1 entries, expected 2"):
        compile_network(net, input_lower_bounds=[0.0])


def test_integer_weights_become_coefficients_and_outputs_rescale() -> None:
    rng = np.random.default_rng(3)
    net = random_network(rng, "integer", [3, 5, 2])
    crn = compile_network(net, form="full")
    coefs = {c for r in crn.reactions for _, c in r.products}
    assert coefs == set(np.abs(np.concatenate([layer.weights.ravel() for layer in net.layers])).astype(int)) - {0}
    assert {o.scale for o in crn.outputs} == {net.output_scale}
    x = rng.normal(size=(4, 3))
    np.testing.assert_allclose(evaluate(crn, x), net.forward(x), atol=1e-9)


def test_hand_built_construction_matches_design() -> None:
    """The paper's construction written out by hand for a 1-2-1 network."""
    from deepcrn.network import Layer

    net = Network(
        (
            Layer(np.array([[1, -1]]), np.array([0.5, -2.0]), "relu"),
            Layer(np.array([[1], [-1]]), np.array([0.0]), "linear"),
        ),
        "ternary",
    )
    expected = parse_crn(
        """
        species X0_p X0_n M1_0 M1_1 I1_0_p I1_0_n I1_1_p I1_1_n Y1_0_p Y1_0_n Y1_1_p Y1_1_n O0_p O0_n
        input x0 = X0_p - X0_n
        output y0 = O0_p - O0_n
        init I1_0_p = 0.5
        init I1_1_n = 2.0
        X0_p -> I1_0_p + I1_1_n
        X0_n -> I1_0_n + I1_1_p
        I1_0_p -> M1_0 + Y1_0_p
        M1_0 + I1_0_n -> Y1_0_n
        I1_1_p -> M1_1 + Y1_1_p
        M1_1 + I1_1_n -> Y1_1_n
        Y1_0_p -> O0_p
        Y1_0_n -> O0_n
        Y1_1_p -> O0_n
        Y1_1_n -> O0_p
        """
    )
    assert compile_network(net, form="full") == expected


def test_reduce_refuses_rate_dependent_crns() -> None:
    with pytest.raises(CRNError, match="competitive"):
        reduce(parse_crn("A -> B\nA -> C"))
    with pytest.raises(CRNError, match="cycle"):
        reduce(parse_crn("A -> B\nB -> A"))


def test_unknown_form() -> None:
    net = random_network(np.random.default_rng(0), "binary", [2, 2, 2])
    with pytest.raises(CRNError, match="unknown form"):
        compile_network(net, form="tiny")  # type: ignore[arg-type]


def test_species_order_is_deterministic() -> None:
    net = random_network(np.random.default_rng(7), "ternary", [3, 4, 4, 2])
    a, b = compile_network(net), compile_network(net)
    assert a.species == b.species and a.reactions == b.reactions
