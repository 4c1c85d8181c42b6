"""The ReLU circuit a CRN computes (simulate/circuit.py), cross-checked against firing the
reactions (ExactPlan), against the network's forward pass, and on CRNs no compiler wrote."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepcrn.compile import compile_network
from deepcrn.crn import CRN, Reaction
from deepcrn.errors import CircuitError, CRNError, DataError, SimulationError
from deepcrn.exact import FiringPlan, evaluate, evaluator, final_state, relu_circuit
from deepcrn.exact.circuit import ReluCircuit
from deepcrn.interop.text import parse_crn
from deepcrn.io_map import initial_state
from deepcrn.network import Network

from .strategies import inputs_for, magnitude, networks, random_crns, random_network


def forward_multiply_adds(net: Network) -> int:
    return sum(layer.n_in * layer.n_out for layer in net.layers)


@given(st.data(), networks(), st.sampled_from(["full", "reduced", "shifted"]))
def test_circuit_equals_forward_pass_and_firing(data: st.DataObject, net: Network, form: str) -> None:
    x = data.draw(inputs_for(net.n_inputs))
    lows = None
    if form == "shifted":
        lows = x.min(axis=0) - data.draw(st.sampled_from([0.0, 0.5]))
    crn = compile_network(net, form="full" if form == "full" else "reduced", input_lower_bounds=lows)
    circuit = relu_circuit(crn)
    got = circuit.evaluate(x)
    bound = 1e-9 * magnitude(net, x)
    assert np.all(np.abs(got - net.forward(x)) <= bound)
    assert np.all(np.abs(got - FiringPlan.for_outputs(crn).evaluate(x)) <= bound)
    # Exact cancellation: never more work than the forward pass, one level per hidden layer at most.
    assert circuit.multiply_adds <= forward_multiply_adds(net)
    assert len(circuit.widths) <= len(net.layers) - 1
    assert sum(circuit.widths) <= sum(layer.n_out for layer in net.layers[:-1])


@pytest.mark.parametrize("kind", ["binary", "integer"])
@pytest.mark.parametrize("form", ["full", "reduced"])
def test_circuit_recovers_the_network_from_the_reactions(kind: str, form: str) -> None:
    """No zero weights: the circuit is the network itself, integer weights identical."""
    rng = np.random.default_rng(7)
    net = random_network(rng, kind, [5, 9, 7, 3])
    if kind == "integer":  # no zero weights, so every node reads every node of the layer before
        net = Network(
            tuple(
                type(layer)(np.where(layer.weights == 0, 2, layer.weights), layer.bias, layer.activation, layer.scale)
                for layer in net.layers
            ),
            "integer",
        )
    circuit = relu_circuit(compile_network(net, form=form))
    assert circuit.widths == (9, 7)
    stages = [*circuit.layers, circuit.output]
    scale = 1.0
    for depth, (stage, layer) in enumerate(zip(stages, net.layers)):
        (block,) = stage.blocks
        assert block.source == depth and block.columns is None
        np.testing.assert_array_equal(block.weights, layer.weights)
        scale *= layer.scale
        np.testing.assert_allclose(stage.bias, layer.bias * scale, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(circuit.scale, scale)
    assert circuit.multiply_adds == forward_multiply_adds(net)


@pytest.mark.parametrize("form", ["full", "reduced"])
def test_wide_layers_pick_each_side_on_a_sample_of_readers(form: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A layer's substitution judges which reactant plays ``a`` on a few of the rows reading it:
    with far more readers than the sample, the circuit is still the network, work and all."""
    import deepcrn.exact.circuit as circuit_module

    monkeypatch.setattr(circuit_module, "_SAMPLE", 3)
    rng = np.random.default_rng(11)
    net = random_network(rng, "ternary", [6, 40, 30, 4])
    circuit = relu_circuit(compile_network(net, form=form))
    assert circuit.widths == (40, 30)
    # Every forwarded copy cancelled: one multiply-add per non-zero weight, as the network.
    assert circuit.multiply_adds == sum(np.count_nonzero(layer.weights) for layer in net.layers)
    x = rng.normal(size=(50, 6))
    np.testing.assert_allclose(circuit.evaluate(x), net.forward(x), rtol=1e-12, atol=1e-9)


def test_reactant_order_does_not_matter() -> None:
    """Writing ``I_n + M`` instead of ``M + I_n``, in some nodes or all, changes nothing."""
    rng = np.random.default_rng(3)
    net = random_network(rng, "ternary", [4, 6, 5, 2])
    crn = compile_network(net, form="reduced")
    x = rng.normal(size=(50, 4))
    for flip in (np.ones(len(crn.reactions), bool), rng.random(len(crn.reactions)) < 0.5):
        reactions = tuple(
            Reaction(r.reactants[::-1], r.products) if f and len(r.reactants) == 2 else r
            for r, f in zip(crn.reactions, flip)
        )
        flipped = CRN(crn.species, reactions, crn.init, crn.inputs, crn.outputs)
        circuit = relu_circuit(flipped)
        np.testing.assert_allclose(circuit.evaluate(x), net.forward(x), rtol=1e-9, atol=1e-9)
        if flip.all():
            assert circuit.multiply_adds == relu_circuit(crn).multiply_adds


@given(st.data(), random_crns())
def test_circuit_equals_firing_on_crns_no_compiler_wrote(data: st.DataObject, crn: CRN) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(scale=2.0, size=(6, len(crn.inputs)))
    x[rng.random(x.shape) < 0.2] = 0.0
    for k, spec in enumerate(crn.inputs):
        if spec.neg is None:
            x[:, k] = np.abs(x[:, k]) + spec.offset  # shifted single rail: at or above its bound
    fired = FiringPlan.for_outputs(crn).evaluate(x)
    state = final_state(crn, x)
    tol = 1e-9 * (
        1.0 + np.abs(state).sum(axis=1, keepdims=True) + np.abs(initial_state(crn, x)).sum(axis=1, keepdims=True)
    )
    assert np.all(np.abs(relu_circuit(crn).evaluate(x) - fired) <= tol)


def test_a_long_chain() -> None:
    n = 5000
    text = f"input x = S0 - T0\noutput y = S{n} - T{n}\n"
    text += "".join(f"S{i} -> S{i + 1}\nT{i} -> T{i + 1}\n" for i in range(n))
    text += f"S{n} + T{n} -> Z\n"  # a min reaction: it takes as much from both rails, so y is still x
    crn = parse_crn(text)
    circuit = relu_circuit(crn)
    x = np.array([[1.5], [-2.0], [0.0]])
    np.testing.assert_array_equal(circuit.evaluate(x), FiringPlan.for_outputs(crn).evaluate(x))


def test_outside_the_class_raises_or_falls_back() -> None:
    cases = {
        "catalyst": "input x = X_p - X_n\noutput y = Y - Z\nX_p + C -> C + Y\nX_n -> Z\ninit C = 1",
        "coefficient 2": "input x = X_p - X_n\noutput y = Y - Z\n2 X_p -> Y\nX_n -> Z",
        "three reactants": "input x = X_p - X_n\noutput y = Y - Z\nX_p + X_n + W -> Y\ninit W = 0.5",
    }
    x = np.array([[1.5], [-2.0], [0.0]])
    for what, text in cases.items():
        crn = parse_crn(text)
        with pytest.raises(CircuitError, match="not linear"):
            relu_circuit(crn)
        with pytest.raises(CircuitError):
            evaluator(crn, "circuit")
        assert not isinstance(evaluator(crn), ReluCircuit), what
        np.testing.assert_array_equal(evaluate(crn, x), FiringPlan.for_outputs(crn).evaluate(x))


def test_rate_dependent_crns_are_refused_not_fallen_back() -> None:
    competitive = parse_crn("output y = Y - Z\nA -> Y\nA -> Z\ninit A = 1")
    cyclic = parse_crn("output y = A - B\nA -> B\nB + C -> A\ninit A = 1\ninit C = 1")
    for crn in (competitive, cyclic):
        for engine in ("auto", "circuit", "fire"):
            with pytest.raises(CRNError) as err:
                evaluator(crn, engine)
            assert not isinstance(err.value, CircuitError)
    with pytest.raises(SimulationError, match="unknown exact engine"):
        evaluator(competitive, "magic")


def test_coefficients_beyond_exact_integers_are_refused() -> None:
    """A chain multiplying by 1000 per step leaves float64's exact integers after 6 steps; the
    circuit refuses rather than round, and auto falls back to firing."""
    lines = ["input x = A - N", "output y = B7 - N", "A -> 1000 B0"]
    lines += [f"B{k} -> 1000 B{k + 1}" for k in range(7)]
    crn = parse_crn("\n".join(lines))
    with pytest.raises(CircuitError, match="2\\*\\*53"):
        relu_circuit(crn)
    x = np.array([[1e-9]])
    np.testing.assert_allclose(evaluate(crn, x), [[1e-9 * 1000.0**8]], rtol=1e-12)


def test_inputs_are_checked_and_single_rails_clipped() -> None:
    net = random_network(np.random.default_rng(0), "ternary", [3, 4, 2])
    circuit = relu_circuit(compile_network(net, input_lower_bounds=[-1.0, -1.0, -1.0]))
    with pytest.raises(DataError, match="expected"):
        circuit.evaluate(np.zeros((2, 4)))
    with pytest.raises(DataError, match="NaN"):
        circuit.evaluate(np.array([[0.0, np.nan, 0.0]]))
    with pytest.raises(DataError, match="lower bound"):
        circuit.evaluate(np.array([[0.0, -2.0, 0.0]]))
    edge = np.array([[-1.0 - 1e-12, 0.5, 2.0]])  # below the bound by rounding only: clipped
    np.testing.assert_allclose(circuit.evaluate(edge), net.forward(np.array([[-1.0, 0.5, 2.0]])), atol=1e-9)


def test_large_batches_are_chunked(monkeypatch: pytest.MonkeyPatch) -> None:
    import deepcrn.exact.circuit as circuit_module

    net = random_network(np.random.default_rng(1), "ternary", [3, 5, 2])
    circuit = relu_circuit(compile_network(net))
    x = np.random.default_rng(2).normal(size=(103, 3))
    whole = circuit.evaluate(x)
    monkeypatch.setattr(circuit_module, "CHUNK", 10)
    np.testing.assert_array_equal(circuit.evaluate(x), whole)
    np.testing.assert_allclose(whole, net.forward(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "text",
    [
        "output y = A - B\ninit A = 2",  # no reactions, no inputs
        "init A = 1\nA -> B",  # no outputs
        "input x = X_p - X_n\noutput y = X_p - X_n",  # outputs read the inputs themselves
        "input x = X + -3\noutput y = Y - Z\nX -> Y\ninit Z = 0.5",  # shifted single rail
        "input x = X_p - X_n + 1.5\noutput y = (Y_p - Y_n) / 2\nX_p -> M + 2 Y_p\nM + X_n -> 2 Y_n",
    ],
)
def test_small_cases_match_firing(text: str) -> None:
    crn = parse_crn(text)
    x = np.array([[2.0], [-1.0], [0.0]])[:, : len(crn.inputs)] if crn.inputs else None
    if crn.inputs and crn.inputs[0].neg is None:
        x = x + 3.0
    np.testing.assert_array_equal(relu_circuit(crn).evaluate(x), FiringPlan.for_outputs(crn).evaluate(x))


def test_a_layer_whose_nodes_fire_at_different_levels_is_turned_as_one() -> None:
    """In a DSD form the min reactions of one layer fire at different levels (fan-out trees of
    different depths), and with few inputs their readers' terms overlap: judged node by node,
    one node's wrong way round can leave a term fewer. Found by hypothesis; the circuit must
    still be the network itself."""
    from deepcrn.network import Layer
    from deepcrn.verify import verify_equivalence

    w1 = np.array([[0, 0, 0, 0, 0], [2, 0, 0, 0, -2], [0, 0, -3, -2, 1], [-3, 0, 3, -3, 2.0]])
    w2 = np.array([[0, 0, 0, 0], [0, -2, -3, -2], [0, 2, 1, 1], [0, -1, 2, 1], [0, 1, -2, 2.0]])
    net = Network(
        (
            Layer(w1, np.array([1.47898406, 0.92719426, -2.08561292, 1.83649281, 0.33447183]), "relu", 2.0),
            Layer(w2, np.array([0.26225388, 0.27779378, 0.8239916, 0.0]), "linear", 1.0),
        ),
        "integer",
    )
    work = set()
    for form in ("full", "reduced", "dsd", "dsd-reduced"):
        crn = compile_network(net, form=form)
        assert verify_equivalence(net, crn).equivalent, form
        work.add(relu_circuit(crn).multiply_adds)
    assert work == {19}  # the live nodes' non-zero weights, in every form
