"""Stochastic simulation with molecule counts: every trajectory ends exactly at the integer-count
equilibrium, times are distributed as the independent simulator rebop's, and t_max is honest."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp

from deepcrn.compile import compile_network
from deepcrn.crn import CRN
from deepcrn.errors import CRNError, SimulationError
from deepcrn.exact import evaluate, extents
from deepcrn.interop.text import parse_crn
from deepcrn.io_map import initial_counts
from deepcrn.kinetics.rates import random_rates
from deepcrn.network import Network
from deepcrn.stochastic import simulate

from .strategies import inputs_for, networks, random_crns, random_network

ALPHA = 0.01


@settings(max_examples=25)
@given(
    st.data(),
    networks(max_hidden=3, max_width=10),
    st.sampled_from(["full", "reduced"]),
    st.sampled_from([1.0, 4.0, 25.0, 60.0]),
)
def test_every_trajectory_ends_at_the_integer_count_equilibrium(
    data: st.DataObject, net: Network, form: str, n: float
) -> None:
    x = data.draw(inputs_for(net.n_inputs, max_batch=4))
    crn = compile_network(net, form=form)
    res = simulate(crn, x, n, rates="random", seed=data.draw(st.integers(0, 1000)))
    assert res.completed.all() and res.engine == "levels"
    np.testing.assert_array_equal(res.outputs, evaluate(crn, x, molecules_per_unit=n))
    # the number of events is fixed too: each reaction fires its integer-count extent
    np.testing.assert_array_equal(res.events, extents(crn, x, n).sum(axis=1))
    assert np.all(res.times >= 0)


@settings(max_examples=30)
@given(st.data(), random_crns(general=True), st.sampled_from([1.0, 3.0, 12.0]))
def test_catalysts_coefficients_and_three_reactants_too(data: st.DataObject, crn: CRN, n: float) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(scale=2.0, size=(3, len(crn.inputs)))
    for k, spec in enumerate(crn.inputs):
        if spec.neg is None:
            x[:, k] = np.abs(x[:, k]) + spec.offset
    res = simulate(crn, x, n, rates="random", seed=int(rng.integers(1000)))
    np.testing.assert_array_equal(res.outputs, evaluate(crn, x, engine="fire", molecules_per_unit=n))
    np.testing.assert_array_equal(res.events, extents(crn, x, n).sum(axis=1))


def _repeat(crn: CRN, row: np.ndarray, n_traj: int) -> np.ndarray:
    return np.repeat(row[None, :], n_traj, axis=0)


SMALL = {
    # compiled networks: X -> ... clocks and A + B -> ... (the per-molecule scheme)
    "4-8-3 reduced": (compile_network(random_network(np.random.default_rng(5), "ternary", [4, 8, 3])), 40.0),
    "3-5-2 full": (compile_network(random_network(np.random.default_rng(6), "ternary", [3, 5, 2]), form="full"), 30.0),
    # a catalyst arriving while its reaction runs, a coefficient of 2, three reactants: thinning
    "general": (
        parse_crn(
            "input x = X\ninput z = Q\noutput y = Y - Z\ninit B = 0.6\ninit D = 0.5\n"
            "X -> C + 2 A\nA + C -> C + Y\n2 B -> W\nW + D + Q -> Z"
        ),
        25.0,
    ),
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_completion_times_match_rebop(name: str) -> None:
    """Two-sample KS test at alpha = 0.01, 200 trajectories each, seeded (so not flaky), on the
    completion time and on the number of events by a fixed time (the whole timing process)."""
    pytest.importorskip("rebop")
    crn, n = SMALL[name]
    x = _repeat(crn, np.random.default_rng(1).uniform(0.2, 1.5, size=len(crn.inputs)), 200)
    k = random_rates(len(crn.reactions), seed=3)
    ours = simulate(crn, x, n, rates=k, seed=11)
    theirs = simulate(crn, x, n, rates=k, seed=12, engine="rebop")
    np.testing.assert_array_equal(ours.outputs, theirs.outputs)
    np.testing.assert_array_equal(ours.events, theirs.events)
    assert ks_2samp(ours.times, theirs.times).pvalue > ALPHA
    t0 = float(np.median(theirs.times)) / 10
    early_ours = simulate(crn, x, n, rates=k, seed=13, t_max=t0)
    early_theirs = simulate(crn, x, n, rates=k, seed=14, t_max=t0, engine="rebop")
    assert not early_ours.completed.all() and not early_theirs.completed.all()
    assert ks_2samp(early_ours.events, early_theirs.events).pvalue > ALPHA


def test_the_same_seed_gives_the_same_trajectories() -> None:
    crn, n = SMALL["4-8-3 reduced"]
    x = np.random.default_rng(2).normal(size=(5, 4))
    a, b = simulate(crn, x, n, seed=4), simulate(crn, x, n, seed=4)
    np.testing.assert_array_equal(a.times, b.times)
    c = simulate(crn, x, n, seed=5)
    assert not np.array_equal(a.times, c.times)
    np.testing.assert_array_equal(a.outputs, c.outputs)


def test_t_max_too_short_reports_incomplete_examples_honestly() -> None:
    crn = parse_crn("input x = X_p - X_n\noutput y = Y_p - Y_n\nX_p -> M + Y_p\nM + X_n -> Y_n\ninit X_n = 0.5")
    x = np.array([[1.0], [0.0], [2.0]])
    full = simulate(crn, x, 100, seed=1)
    assert full.completed.all() and full.incomplete == []
    short = simulate(crn, x, 100, seed=1, t_max=0.01)
    # example 2 has nothing to do (no X_p: nothing can fire), so it is complete even at t = 0.01
    assert short.completed.tolist() == [False, True, False] and short.incomplete == [0, 2]
    assert np.all(short.events[[0, 2]] < full.events[[0, 2]]) and np.all(short.times <= 0.01)
    assert not np.array_equal(short.outputs[[0, 2]], full.outputs[[0, 2]])
    report = short.report()
    assert report["completed"] == 1 and report["t_max"] == 0.01
    first = report["per_example"][0]
    assert first["completed"] is False and first["completion_time"] is None and first["events"] == short.events[0]
    assert report["per_example"][1]["completion_time"] == 0.0
    # a t_max no trajectory reaches changes nothing: the same seed gives the same trajectories
    for seed in range(6):
        long, full = simulate(crn, x, 100, seed=seed, t_max=1e9), simulate(crn, x, 100, seed=seed)
        assert long.completed.all()
        np.testing.assert_array_equal(long.outputs, full.outputs)
        np.testing.assert_array_equal(long.times, full.times)


@pytest.mark.parametrize(("reaction", "n", "x"), [("X + X -> Y [k=1e-320]", 4.0, 1.0), ("20 X -> Y", 1e18, 4e-17)])
def test_a_propensity_too_small_for_floats_still_fires(reaction: str, n: float, x: float) -> None:
    """Whether a reaction can fire is decided on the molecule counts: a propensity that underflows
    to 0 (or a wait that overflows) means it fires at an infinite time, not that it completed
    without firing (a completed trajectory ends at the integer-count equilibrium)."""
    crn = parse_crn(f"input x = X\noutput y = Y - Z\n{reaction}")
    xs = np.array([[x]])
    res = simulate(crn, xs, n, seed=0)
    assert res.completed.all() and res.events[0] > 0
    np.testing.assert_array_equal(res.outputs, evaluate(crn, xs, molecules_per_unit=n))
    assert not simulate(crn, xs, n, seed=0, t_max=1e300).completed.any()  # it fires after any finite time


def test_rebop_refuses_coefficients_it_cannot_hold() -> None:
    """rebop spells a coefficient by repeating the species name: 2e7 of them is refused in one
    line instead of filling the memory (the levels engine runs it)."""
    crn = parse_crn("input x = X\noutput y = Y - Z\nX -> 20000000 Y")
    with pytest.raises(SimulationError, match="repeated species names.*2e\\+07"):
        simulate(crn, np.array([[0.01]]), 100, seed=0, engine="rebop")
    assert simulate(crn, np.array([[0.01]]), 100, seed=0).completed.all()


def test_recorded_trajectories_run_from_the_start_to_the_end() -> None:
    crn, n = SMALL["4-8-3 reduced"]
    x = np.random.default_rng(3).normal(size=(4, 4))
    res = simulate(crn, x, n, seed=2, record=2)
    assert len(res.trajectories) == 2
    for k, (t, values) in enumerate(res.trajectories):
        assert t[0] == 0 and np.all(np.diff(t) > 0) and t[-1] == pytest.approx(res.times[k])
        assert values.shape == (len(t), len(crn.outputs))
        np.testing.assert_array_equal(values[-1], res.outputs[k])
        # at time 0 nothing has fired: the outputs' own initial counts (the reduced form's folded biases)
        counts = initial_counts(crn, x[k : k + 1], n)[0]
        first = [(counts[crn.index[o.pos]] - counts[crn.index[o.neg]]) / (n * o.scale) for o in crn.outputs]
        np.testing.assert_array_equal(values[0], first)


def test_refusals() -> None:
    crn, n = SMALL["4-8-3 reduced"]
    x = np.zeros((1, 4))
    with pytest.raises(SimulationError, match="needs .* reaction events"):
        simulate(crn, np.ones((1, 4)) * 50, 1e4, max_events=1000)
    with pytest.raises(SimulationError, match="t_max must be"):
        simulate(crn, x, n, t_max=-1.0)
    with pytest.raises(SimulationError, match="unknown SSA engine"):
        simulate(crn, x, n, engine="tau")  # type: ignore[arg-type]
    with pytest.raises(CRNError, match="competitive"):
        simulate(parse_crn("output y = Y - Z\ninit A = 1\nA -> Y\nA -> Z"), None, 10)
    assert math.isfinite(simulate(crn, x, n).times[0])
