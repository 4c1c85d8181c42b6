"""Exact equilibrium and mass-action ODE, each checked against an independent computation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from deepcrn.analysis import reaction_levels
from deepcrn.compile import compile_network
from deepcrn.crn import CRN
from deepcrn.errors import CRNError, SimulationError
from deepcrn.exact import evaluate, final_state
from deepcrn.interop.text import parse_crn
from deepcrn.io_map import initial_state
from deepcrn.kinetics import random_rates, resolve_rates, simulate
from deepcrn.kinetics.scipy_engine import MassAction
from deepcrn.network import Network

from .strategies import inputs_for, networks


def fire_one_by_one(crn: CRN, state: np.ndarray) -> np.ndarray:
    """Independent reference: fire reactions one at a time in a topological order (pure Python)."""
    order = [i for level in reaction_levels(crn) for i in level]
    c = {s: float(v) for s, v in zip(crn.species, state)}
    for i in order:
        r = crn.reactions[i]
        net = r.net()
        if any(c[s] <= 0 for s, _ in r.reactants if net.get(s, 0) >= 0):
            continue
        extent = min(c[s] / -net[s] for s, _ in r.reactants if net.get(s, 0) < 0)
        for s, change in net.items():
            c[s] = max(c[s] + change * extent, 0.0)
    return np.array([c[s] for s in crn.species])


@given(st.data(), networks(max_width=12, max_hidden=3))
def test_batched_equilibrium_equals_one_by_one_firing(data: st.DataObject, net: Network) -> None:
    crn = compile_network(net, form=data.draw(st.sampled_from(["full", "reduced"])))
    x = data.draw(inputs_for(net.n_inputs, max_batch=3))
    batched = final_state(crn, x)
    for row, start in zip(batched, initial_state(crn, x)):
        np.testing.assert_allclose(row, fire_one_by_one(crn, start), rtol=1e-12, atol=1e-12)


def test_unused_input_species_and_outputs_only_tracking() -> None:
    crn = parse_crn("input x = A - B\ninput z = C - D\noutput y = E - F\nA -> E\nB -> F")  # z feeds nothing
    x = np.array([[2.0, 5.0], [-1.0, -3.0]])
    np.testing.assert_array_equal(evaluate(crn, x), [[2.0], [-1.0]])
    full = final_state(crn, x)
    assert full[0, crn.index["C"]] == 5.0 and full[1, crn.index["D"]] == 3.0


def test_equilibrium_by_hand() -> None:
    crn = parse_crn("init A = 3\ninit B = 1\ninit C = 2\nA + 2 B -> D\nC + D -> 2 E\nE + K -> F + K")
    final = dict(zip(crn.species, final_state(crn)[0]))
    assert final["A"] == 2.5 and final["B"] == 0 and final["D"] == 0 and final["C"] == 1.5
    assert final["E"] == 1.0 and final["F"] == 0.0  # the catalyst K is absent: E + K never fires
    crn2 = parse_crn("init A = 1\ninit K = 0.1\nA + K -> B + K")
    assert dict(zip(crn2.species, final_state(crn2)[0]))["B"] == 1.0


@pytest.mark.parametrize(
    "text, message",
    [
        ("A -> B\nA -> C", "competitive: species A"),
        ("A -> B\nB -> A", "not feed-forward"),
        ("A -> A + B", "never stops"),
    ],
)
def test_equilibrium_refuses_rate_dependent_crns(text: str, message: str) -> None:
    with pytest.raises(CRNError, match=message):
        final_state(parse_crn(text))


def test_mass_action_rhs_and_jacobian_against_independent_code() -> None:
    crn = parse_crn("A + 2 B -> C  [k=2.0]\nC -> A + D  [k=0.5]\n3 D + A -> B [k=1.5]")
    c = np.array([0.7, 1.3, 0.4, 0.9])  # A B C D
    model = MassAction(crn, crn.rate_constants())
    a, b, cc, d = c
    r = [2.0 * a * b**2, 0.5 * cc, 1.5 * d**3 * a]
    expected = np.array([-r[0] + r[1] - r[2], -2 * r[0] + r[2], r[0] - r[1], r[1] - 3 * r[2]])
    np.testing.assert_allclose(model.rhs(0, c), expected, rtol=1e-14)
    eps = 1e-7
    numeric = np.column_stack([(model.rhs(0, c + eps * e) - model.rhs(0, c - eps * e)) / (2 * eps) for e in np.eye(4)])
    np.testing.assert_allclose(model.jacobian(0, c).toarray(), numeric, rtol=1e-6, atol=1e-8)


@settings(max_examples=12)
@given(st.data(), networks(max_width=6, max_hidden=2), st.sampled_from(["unit", "random"]), st.booleans())
def test_ode_endpoints_match_exact(data: st.DataObject, net: Network, rates: str, full: bool) -> None:
    crn = compile_network(net, form="full" if full else "reduced")
    x = data.draw(inputs_for(net.n_inputs, max_batch=2))
    seed = data.draw(st.integers(0, 1000))
    res = simulate(crn, x, rates=rates, seed=seed, tol=1e-4, record=len(x))  # type: ignore[arg-type]
    assert res.converged.all(), res.residual
    exact = evaluate(crn, x)
    # The tolerance is relative to each example's scale: max(1, largest exact output).
    np.testing.assert_allclose(res.tolerance, 1e-4 * np.maximum(1.0, np.abs(exact).max(axis=1)), rtol=1e-12)
    assert np.all(np.abs(res.outputs - exact).max(axis=1) <= res.tolerance * (1 + 1e-9))
    assert len(res.trajectories) == len(x) and res.trajectories[0][1].shape[1] == net.n_outputs


def test_ode_agrees_with_solve_ivp_lsoda() -> None:
    """Cross-check the stepping loop against SciPy's own driver with another method."""
    crn = parse_crn("init A = 1\ninit B = 0.6\ninput x = X - Y\noutput y = C - D\nX -> A\nA + B -> C [k=3]\nY -> D")
    x = np.array([[0.5]])
    res = simulate(crn, x, tol=1e-7)
    model = MassAction(crn, crn.rate_constants())
    ref = solve_ivp(model.rhs, (0, res.times[0]), initial_state(crn, x)[0], method="LSODA", rtol=1e-10, atol=1e-12)
    c = ref.y[:, -1]
    assert res.outputs[0, 0] == pytest.approx(c[crn.index["C"]] - c[crn.index["D"]], abs=1e-6)
    assert res.outputs[0, 0] == pytest.approx(0.6, abs=1e-6)


def test_too_short_time_limit_is_reported() -> None:
    crn = parse_crn("init M = 1\ninit N = 1\noutput y = P - Q\nM + N -> P")
    res = simulate(crn, None, tol=1e-6, t_max=10.0)
    assert res.not_converged == [0]
    assert res.residual[0] > 1e-6 and res.times[0] == pytest.approx(10.0)
    # The slow 1/(kt) tail: with enough time it converges, and the time is about 1/(k tol).
    res = simulate(crn, None, tol=1e-3)
    assert res.converged[0] and 500 < res.times[0] < 5000


def test_rate_modes() -> None:
    crn = parse_crn("A -> B [k=3]\nB -> C")
    assert resolve_rates(crn, "given").tolist() == [3.0, 1.0]
    k = resolve_rates(crn, "random", seed=4)
    assert np.array_equal(k, random_rates(2, seed=4)) and np.all((k >= 0.1) & (k <= 10))
    assert not np.array_equal(k, random_rates(2, seed=5))
    with pytest.raises(SimulationError, match="unknown rates"):
        resolve_rates(crn, "fast")  # type: ignore[arg-type]
    with pytest.raises(SimulationError, match="expected 2 rate constants"):
        resolve_rates(crn, np.ones(3))
    with pytest.raises(SimulationError, match="finite, positive"):
        resolve_rates(crn, np.array([1.0, -1.0]))
    with pytest.raises(SimulationError, match="unknown kinetics engine"):
        simulate(crn, None, engine="Euler")  # type: ignore[arg-type]


@pytest.mark.parametrize("tol", [1e-3, 1e-6])
@pytest.mark.parametrize(
    "text, expected",
    [
        ("init A = 1\noutput y = B - C\nA -> B\nA -> C [k=3]", 1 / 4 - 3 / 4),  # competitive: rates split A
        ("init A = 1\noutput y = A - B\nA -> B\nB -> A [k=3]", 3 / 4 - 1 / 4),  # a cycle: a steady state
        ("init A = 2\ninit B = 1\noutput y = C - A\nA + B -> C\nC -> A", -2.0),  # a cycle through a min
    ],
)
def test_crns_that_are_not_rate_independent_run_until_stationary(text: str, expected: float, tol: float) -> None:
    """Where no exact equilibrium exists the stationary rule applies: it must not stop before the
    state has moved (t * |f| is tiny right after the start, the Newton step is not)."""
    res = simulate(parse_crn(text), None, tol=tol)
    assert res.engine == "scipy" and res.stopping_rule == "stationary" and res.converged[0]
    assert res.times[0] > 0.5  # the old rule reported convergence at t ~ 1e-6
    assert res.outputs[0, 0] == pytest.approx(expected, abs=20 * tol)


def test_a_reaction_that_never_stops_never_converges() -> None:
    res = simulate(parse_crn("init A = 1\noutput y = B - C\nA -> A + B"), None, t_max=1e3)
    assert res.stopping_rule == "stationary" and res.not_converged == [0]
    assert res.outputs[0, 0] == pytest.approx(1e3, rel=1e-3) and res.times[0] == pytest.approx(1e3)


@pytest.mark.parametrize("engine", ["batched", "scipy"])
def test_rtol_and_atol_are_honoured_by_every_engine(engine: str) -> None:
    crn = parse_crn("input x = X - Z\noutput y = P - Q\ninit N = 0.5\nX -> M + P [k=2]\nM + N -> Q [k=0.3]")
    x = np.array([[1.0]])
    loose = simulate(crn, x, engine=engine, rtol=1e-1)  # type: ignore[arg-type]
    tight = simulate(crn, x, engine=engine, rtol=1e-4)  # type: ignore[arg-type]
    assert loose.converged[0] and tight.converged[0] and tight.steps[0] > 1.5 * loose.steps[0]
    tiny = simulate(crn, x, engine=engine, atol=1e-12, rtol=1e-1)  # type: ignore[arg-type]
    assert tiny.steps[0] > loose.steps[0]
    with pytest.raises(SimulationError, match="rtol must be a finite number > 0"):
        simulate(crn, x, engine=engine, rtol=0.0)  # type: ignore[arg-type]


def test_amounts_far_from_one() -> None:
    """The batched engine takes amounts up to 1e100; SciPy integrates in units of the largest
    amount and refuses beyond 1e8, where its trajectories stop being trustworthy."""
    crn = parse_crn("input x = X_p - X_n\noutput y = Y_p - Y_n\ninit N = 1\nX_p -> M + Y_p\nM + N -> Y_n")
    for magnitude in (1e-6, 1e6, 1e40, 1e100):
        x = np.array([[magnitude]])
        res = simulate(crn, x, rates="random", seed=3, engine="batched")
        assert res.converged[0] and abs(res.outputs[0, 0] - max(magnitude - 1, 0.0)) <= res.tolerance[0]
    for magnitude in (1e-6, 1e6):
        res = simulate(crn, np.array([[magnitude]]), rates="random", seed=3, engine="scipy")
        assert res.converged[0] and abs(res.outputs[0, 0] - max(magnitude - 1, 0.0)) <= res.tolerance[0]
    with pytest.raises(SimulationError, match="scipy engine takes amounts up to 1e\\+08"):
        simulate(crn, np.array([[1e9]]), engine="scipy")


def test_memory_bounded_chunks_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """CRNs with many species integrate fewer examples at a time; each example's trajectory is
    its own, so the results are the same as in one chunk (up to rounding)."""
    from deepcrn.kinetics import batched

    from .strategies import random_network

    net = random_network(np.random.default_rng(3), "ternary", [5, 12, 12, 3])
    crn = compile_network(net, form="full")
    x = np.random.default_rng(4).normal(size=(37, 5))
    whole = simulate(crn, x, "random", seed=2, engine="batched", record=2)
    n_tracked = len(batched.BatchedIntegrator(crn, whole.rates).plan.tracked)
    monkeypatch.setattr(batched, "CHUNK_BYTES", 64 * n_tracked * 8)  # chunks of 8 examples
    assert batched.chunk_size(n_tracked) == 8
    parts = simulate(crn, x, "random", seed=2, engine="batched", record=2)
    # The same up to rounding: BLAS may round a column of a matrix product differently with
    # another batch width (another kernel for the edge of the block), never more than that.
    for field in ("steps", "converged"):
        np.testing.assert_array_equal(getattr(parts, field), getattr(whole, field))
    for field in ("outputs", "times"):
        np.testing.assert_allclose(getattr(parts, field), getattr(whole, field), rtol=1e-9, atol=1e-12)
    for (t1, v1), (t2, v2) in zip(parts.trajectories, whole.trajectories):
        np.testing.assert_allclose(t1, t2, rtol=1e-9)
        np.testing.assert_allclose(v1, v2, rtol=1e-9, atol=1e-12)
    with pytest.raises(Exception, match="example 37 is NaN"):  # checked whole, not chunk by chunk
        bad = x.copy()
        bad[36, 0] = np.nan
        simulate(crn, bad, "random", seed=2, engine="batched")
