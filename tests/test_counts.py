"""The exact equilibrium at integer molecule counts: both engines agree bit for bit, the
result is where any order of firings ends, and it stays within the proven rounding bound."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepcrn.compile import compile_network
from deepcrn.crn import CRN
from deepcrn.errors import CircuitError, DataError
from deepcrn.exact import FiringPlan, count_evaluator, evaluate, evaluator, final_counts, rounding_bound
from deepcrn.exact.counts import CountCircuit, CountFiring
from deepcrn.interop.text import parse_crn
from deepcrn.io_map import MAX_COUNT, initial_counts, to_counts
from deepcrn.network import Network

from .strategies import inputs_for, magnitude, networks, random_crns

N_VALUES = [1.0, 3.0, 10.0, 37.5, 100.0, 1e4]


def compiled(net: Network, form: str, x: np.ndarray) -> CRN:
    lows = x.min(axis=0) - 0.25 if form == "shifted" else None
    return compile_network(net, form="full" if form == "full" else "reduced", input_lower_bounds=lows)


@given(st.data(), networks(max_width=24), st.sampled_from(["full", "reduced", "shifted"]), st.sampled_from(N_VALUES))
def test_engines_agree_bit_for_bit_and_stay_within_the_bound(
    data: st.DataObject, net: Network, form: str, n: float
) -> None:
    x = data.draw(inputs_for(net.n_inputs))
    crn = compiled(net, form, x)
    circuit, firing = count_evaluator(crn, n, "circuit"), count_evaluator(crn, n, "fire")
    assert isinstance(circuit, CountCircuit) and isinstance(firing, CountFiring)
    counts = circuit.output_counts(x)
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, firing.output_counts(x))
    y = evaluate(crn, x, molecules_per_unit=n)
    np.testing.assert_array_equal(y, firing.evaluate(x))
    # |integer counts - network| <= the proven bound (plus float rounding of the network itself)
    bound = rounding_bound(crn, n)
    assert bound.shape == (len(crn.outputs),) and np.all(np.isfinite(bound))
    assert np.all(np.abs(y - net.forward(x)) <= bound + 1e-9 * magnitude(net, x))


def test_the_bound_can_be_attained() -> None:
    """Not a loose formality: here the rounding error equals the bound."""
    crn = parse_crn("input x = X_p - X_n\noutput y = Y_p - Y_n\ninit B = 0.5\nX_p -> 3 Y_p\nB -> 3 Y_p")
    # X_p and B both round 0.5 -> 0 (ties to even): y = 0 instead of 3 * 0.5 + 3 * 0.5 = 3 at N = 1
    assert evaluate(crn, np.array([[0.5]]), molecules_per_unit=1).tolist() == [[0.0]]
    assert evaluate(crn, np.array([[0.5]])).tolist() == [[3.0]]
    assert rounding_bound(crn, 1).tolist() == [3.0]
    assert rounding_bound(crn, 10).tolist() == [0.3]


def random_order_final_counts(crn: CRN, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The state where firing one reaction at a time, in a random order, stops: an independent
    reference for the integer semantics (a reaction fires while every reactant has its coefficient)."""
    n = counts.copy()
    idx = crn.index
    while True:
        ready = [r for r in crn.reactions if all(n[idx[name]] >= coef for name, coef in r.reactants) and r.net()]
        ready = [r for r in ready if any(v < 0 for v in r.net().values())]
        if not ready:
            return n
        r = ready[int(rng.integers(len(ready)))]
        for name, change in r.net().items():
            n[idx[name]] += change


@given(st.data(), random_crns(general=True), st.sampled_from([1.0, 2.0, 5.0]))
def test_firing_on_counts_ends_where_any_order_of_firings_ends(data: st.DataObject, crn: CRN, n: float) -> None:
    """Catalysts, coefficients of 2 and three reactants included, against one reaction at a time."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(scale=1.5, size=(3, len(crn.inputs)))
    for k, spec in enumerate(crn.inputs):
        if spec.neg is None:
            x[:, k] = np.abs(x[:, k]) + spec.offset
    start = initial_counts(crn, x, n)
    final = final_counts(crn, x, n)
    for row in range(len(x)):
        np.testing.assert_array_equal(final[row], random_order_final_counts(crn, start[row], rng))
    # the output values of both engines (the circuit where it applies) are those counts, decoded
    ev = evaluator(crn, "auto", molecules_per_unit=n)
    pos = [crn.index[o.pos] for o in crn.outputs]
    neg = [crn.index[o.neg] for o in crn.outputs]
    scale = np.array([o.scale for o in crn.outputs])
    np.testing.assert_array_equal(ev.evaluate(x), (final[:, pos] - final[:, neg]) / (n * scale))


def test_rint_rounds_the_summed_amount_ties_to_even() -> None:
    assert to_counts(np.array([0.5, 1.5, 2.5, 0.49999, 3.0]), 1).tolist() == [0, 2, 2, 0, 3]
    # declared initial amount and input are summed first: 0.3 + 0.2 = 0.5 rounds to 0 at N = 1 (and
    # 0.3 -> 0, 0.2 -> 0 would give 0 as well), 0.7 + 0.8 = 1.5 -> 2 (not 1 + 1)
    crn = parse_crn("input x = X\noutput y = Y - Z\ninit X = 0.7\nX -> Y")
    assert evaluate(crn, np.array([[0.8]]), molecules_per_unit=1).tolist() == [[2.0]]


def test_input_species_with_an_initial_amount_use_firing() -> None:
    crn = parse_crn("input x = X_p - X_n\noutput y = Y_p - Y_n\ninit X_p = 0.26\nX_p -> M + Y_p\nM + X_n -> Y_n")
    with pytest.raises(CircuitError, match="X_p also has a declared initial amount"):
        count_evaluator(crn, 10, "circuit")
    ev = count_evaluator(crn, 10)
    assert isinstance(ev, CountFiring)
    # rint(10 * (0.26 + 0.3)) = 6, not rint(2.6) + rint(3) = 3 + 3
    assert ev.output_counts(np.array([[0.3]])).tolist() == [[6]]


@pytest.mark.parametrize("n", [0, -1, float("nan"), float("inf")])
def test_bad_molecules_per_unit_are_refused(n: float) -> None:
    crn = parse_crn("input x = X\noutput y = Y - Z\nX -> Y")
    with pytest.raises(DataError, match="molecules per unit must be a finite number > 0"):
        evaluate(crn, np.array([[1.0]]), molecules_per_unit=n)


def test_counts_that_would_overflow_int64_are_refused() -> None:
    crn = parse_crn("input x = X\noutput y = Y - Z\nX -> 1000 Y")
    x = np.array([[1.0], [1e10]])
    with pytest.raises(DataError, match=r"species X of example 2 1e\+19 molecules, more than .*int64"):
        evaluate(crn, x, engine="fire", molecules_per_unit=1e9)
    with pytest.raises(DataError, match=r"input x of example 2 1e\+19 molecules, more than .*int64"):
        evaluate(crn, x, engine="circuit", molecules_per_unit=1e9)
    # initial counts fit, but what the reactions make would not: both engines say so
    for engine in ("fire", "circuit"):
        with pytest.raises(DataError, match="int64"):
            evaluate(crn, np.array([[1e10]]), engine=engine, molecules_per_unit=1e6)
    # just below the limit it is exact: 2**52 + 1 is not a float64 integer, yet the count is
    big = parse_crn("output y = Y - Z\ninit A = 1\nA -> Y")
    plan = FiringPlan.for_outputs(big)
    counts, _ = plan.run_counts(None, float(2**52))
    assert counts.max() == 2**52
    edge = parse_crn("output y = Y - Z\ninit A = 1\ninit B = 1\nA -> Y\nB -> Y")
    assert FiringPlan(edge).run_counts(None, float(MAX_COUNT // 2))[0].max() == MAX_COUNT


def test_catalysts_have_no_finite_bound() -> None:
    crn = parse_crn("input x = X\noutput y = Y - Z\ninit C = 0.04\nX + C -> C + Y")
    # at N = 10 the catalyst rounds to 0 molecules, so nothing fires, though the real CRN fires fully
    assert evaluate(crn, np.array([[1.0]]), molecules_per_unit=10).tolist() == [[0.0]]
    assert evaluate(crn, np.array([[1.0]])).tolist() == [[1.0]]
    assert rounding_bound(crn, 10).tolist() == [np.inf]
