"""The batched backward-Euler integrator against SciPy, the exact equilibrium, and its invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepcrn.compile import compile_network
from deepcrn.errors import SimulationError
from deepcrn.exact import FiringPlan, evaluate
from deepcrn.interop.text import parse_crn
from deepcrn.io_map import initial_state
from deepcrn.kinetics import simulate
from deepcrn.kinetics.batched import BatchedIntegrator, qualifies
from deepcrn.kinetics.rates import random_rates
from deepcrn.network import Layer, Network

from .strategies import inputs_for, networks


def with_relu_inputs_at_zero(net: Network, x: np.ndarray) -> Network:
    """Shift first-layer biases so that, for the first example, half the hidden pre-activations are 0."""
    first = net.layers[0]
    pre = x[0] @ first.effective_weights
    bias = first.bias.copy()
    bias[::2] = -pre[::2]
    layers = (Layer(first.weights, bias, first.activation, first.scale), *net.layers[1:])
    return Network(layers, net.weight_kind)


@settings(max_examples=12)
@given(st.data(), networks(max_width=6, max_hidden=2), st.sampled_from(["unit", "random"]), st.booleans())
def test_batched_agrees_with_scipy(data: st.DataObject, net: Network, rates: str, full: bool) -> None:
    x = data.draw(inputs_for(net.n_inputs, max_batch=3))
    net = with_relu_inputs_at_zero(net, x)
    crn = compile_network(net, form="full" if full else "reduced")
    exact = evaluate(crn, x)
    seed = data.draw(st.integers(0, 1000))
    fast = simulate(crn, x, rates=rates, seed=seed, tol=1e-4, engine="batched", record=len(x))  # type: ignore[arg-type]
    slow = simulate(crn, x, rates=rates, seed=seed, tol=1e-4, engine="scipy", record=len(x))  # type: ignore[arg-type]
    assert fast.converged.all() and slow.converged.all()
    np.testing.assert_allclose(fast.tolerance, slow.tolerance, rtol=1e-12)  # both relative to the exact outputs
    assert np.all(np.abs(fast.outputs - exact).max(axis=1) <= fast.tolerance * (1 + 1e-9))
    assert np.all(np.abs(slow.outputs - exact).max(axis=1) <= 10 * slow.tolerance)
    np.testing.assert_array_equal(fast.rates, slow.rates)
    # The kinetics agree: output trajectories on a common log-time grid, within 10% of the output
    # scale (backward Euler is first order: typically ~1%; fast transients shifted a little in
    # time reach a few %). Stopping times are compared in
    # test_stopping_times_agree: "first time the residual is below tol" is fragile where the
    # residual is not monotone, so it is no property of the method.
    for (tb, vb), (ts, vs) in zip(fast.trajectories, slow.trajectories):
        if len(tb) < 3 or len(ts) < 3:
            continue
        grid = np.log(np.geomspace(max(tb[1], ts[1]), min(tb[-1], ts[-1]), 40))
        for j in range(vb.shape[1]):
            fb = np.interp(grid, np.log(tb[1:]), vb[1:, j])
            fs = np.interp(grid, np.log(ts[1:]), vs[1:, j])
            assert np.max(np.abs(fb - fs)) <= 0.1 * (1 + np.abs(vs[:, j]).max())


@pytest.mark.parametrize(
    "text, low, high",
    [
        # A ReLU input exactly at 0: the pure 1/(k t) tail, where backward Euler lags most.
        ("init M = 0.25\ninit N = 0.25\noutput y = P - Q\nM + N -> P", 1.0, 1.45),
        ("input x = X - Z\noutput y = P - Q\ninit N = 0.5\nX -> M + P [k=2]\nM + N -> Q [k=0.3]", 0.8, 1.3),
    ],
)
def test_stopping_times_agree(text: str, low: float, high: float) -> None:
    crn = parse_crn(text)
    x = None if not crn.inputs else np.array([[1.0]])
    fast = simulate(crn, x, tol=1e-4, engine="batched")
    slow = simulate(crn, x, tol=1e-4, engine="scipy")
    assert low <= fast.times[0] / slow.times[0] <= high


def test_min_reactions_of_huge_amounts_fire() -> None:
    """Amounts past 1e154 (coefficients up to 2**53 on inputs up to 1e100) square to inf in the
    closed form written naively; the min reaction must still fire, and the stopping rule must
    not call an unfired reaction converged."""
    c = 2**53
    crn = parse_crn(
        f"input x = X\ninput z = Z\noutput y = Y - N\nX -> {c} A1\nA1 -> {c} A2\nA2 -> {c} A3\nA3 -> {c} A\nA + Z -> Y"
    )
    x = np.array([[1e100, 1.0]])
    res = simulate(crn, x, rates="unit", engine="batched")
    assert res.converged[0] and abs(res.outputs[0, 0] - evaluate(crn, x)[0, 0]) <= res.tolerance[0]
    integ = BatchedIntegrator(crn, np.ones(len(crn.reactions)))
    start = np.ascontiguousarray(initial_state(crn, x)[:, integ.plan.tracked].T)
    assert integ.outputs(integ.step(start, np.inf))[0, 0] == 1.0  # one size for all examples


@settings(max_examples=25)
@given(st.data(), networks(max_width=8, max_hidden=3), st.booleans())
def test_an_infinite_step_is_the_exact_equilibrium(data: st.DataObject, net: Network, full: bool) -> None:
    """A backward-Euler step of infinite size fires every reaction to completion (the residual
    rule's equilibrium): the same as the firing engine, and the network's outputs."""
    crn = compile_network(net, form="full" if full else "reduced")
    x = data.draw(inputs_for(net.n_inputs, max_batch=4))
    integ = BatchedIntegrator(crn, random_rates(len(crn.reactions), seed=data.draw(st.integers(0, 99))))
    c = np.ascontiguousarray(initial_state(crn, x)[:, integ.plan.tracked].T)
    fired = c.copy()
    integ.plan.fire(fired)
    final = integ.step(c, np.full(len(x), np.inf))
    scale = 1 + np.abs(fired).max()
    np.testing.assert_allclose(final, fired, rtol=1e-12, atol=1e-12 * scale)
    np.testing.assert_allclose(integ.outputs(final).T, net.forward(x), rtol=1e-9, atol=1e-9 * scale)


@settings(max_examples=25)
@given(st.data(), networks(max_width=8, max_hidden=3), st.floats(1e-4, 1e3), st.booleans())
def test_a_step_keeps_concentrations_non_negative_and_the_equilibrium(
    data: st.DataObject, net: Network, h: float, full: bool
) -> None:
    crn = compile_network(net, form="full" if full else "reduced")
    x = data.draw(inputs_for(net.n_inputs, max_batch=4))
    integ = BatchedIntegrator(crn, random_rates(len(crn.reactions), seed=data.draw(st.integers(0, 99))))
    c = np.ascontiguousarray(initial_state(crn, x)[:, integ.plan.tracked].T)
    for _ in range(3):
        c = integ.step(c, np.full(c.shape[1], h))
        assert c.min() >= 0.0
    final = c.copy()
    integ.plan.fire(final)
    np.testing.assert_allclose(integ.outputs(final).T, evaluate(crn, x), atol=1e-9 * (1 + np.abs(x).sum()))


def test_too_short_time_limit_is_reported() -> None:
    crn = parse_crn("init M = 1\ninit N = 1\noutput y = P - Q\nM + N -> P")
    res = simulate(crn, None, engine="batched", tol=1e-6, t_max=10.0)
    assert res.not_converged == [0] and res.times[0] == pytest.approx(10.0)
    res = simulate(crn, None, engine="batched", tol=1e-3)
    assert res.converged[0] and 500 < res.times[0] < 5000  # the 1/(k t) tail: t ~ 1/(k tol)


def test_many_examples_in_chunks_match_one_at_a_time() -> None:
    rng = np.random.default_rng(0)
    from .strategies import random_network

    net = random_network(rng, "ternary", [4, 6, 3])
    crn = compile_network(net)
    x = rng.normal(size=(2100, 4))  # more than one chunk of 2048
    res = simulate(crn, x, rates="random", seed=2, record=2, engine="batched")
    assert res.converged.all()
    assert np.all(np.abs(res.outputs - evaluate(crn, x)).max(axis=1) <= res.tolerance)
    single = simulate(crn, x[2099:], rates="random", seed=2, engine="batched")
    assert single.outputs[0] == pytest.approx(res.outputs[2099], abs=1e-12)
    assert len(res.trajectories) == 2 and res.trajectories[0][1].shape[1] == 3


def test_qualification_and_fallback() -> None:
    assert qualifies(parse_crn("A -> B\nB + C -> D")) is None
    assert "catalyst" in (qualifies(parse_crn("A + K -> B + K")) or "")
    assert "not linear (one reactant) or a min reaction" in (qualifies(parse_crn("2 A -> B")) or "")
    assert "never stops" in (qualifies(parse_crn("A -> A + B")) or "")
    assert "competitive" in (qualifies(parse_crn("A -> B\nA -> C")) or "")
    crn = parse_crn("init A = 1\ninit K = 1\noutput y = B - C\nA + K -> B + K")
    with pytest.raises(SimulationError, match="catalyst"):
        simulate(crn, None, engine="batched")
    res = simulate(crn, None, tol=1e-6)  # auto falls back to SciPy BDF
    assert res.converged[0] and res.outputs[0, 0] == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(SimulationError, match="tol must be a finite number > 0"):
        simulate(parse_crn("A -> B"), None, engine="batched", tol=0.0)


def test_plan_is_shared_with_exact_evaluation() -> None:
    crn = parse_crn("input x = A - B\noutput y = C - D\nA -> C\nB -> D")
    plan = FiringPlan.for_outputs(crn)
    integ = BatchedIntegrator(crn, np.ones(2), plan)
    assert integ.plan is plan
