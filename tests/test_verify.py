"""Symbolic equivalence of a CRN and a network (verify.py): proven for what the compiler
writes, refused with the first difference for CRNs that compute something else."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepcrn.cli import main
from deepcrn.compile import compile_network
from deepcrn.crn import CRN, Reaction
from deepcrn.interop.sbml import from_sbml, to_sbml
from deepcrn.interop.text import save_crn
from deepcrn.network import Layer, Network
from deepcrn.verify import verify_equivalence

from .strategies import networks, random_network


@given(networks(), st.sampled_from(["full", "reduced", "shifted"]))
def test_compiled_crns_are_proven_equivalent(net: Network, form: str) -> None:
    lows = -np.linspace(0.5, 2.0, net.n_inputs) if form == "shifted" else None
    crn = compile_network(net, form="full" if form == "full" else "reduced", input_lower_bounds=lows)
    verdict = verify_equivalence(net, crn)
    assert verdict.equivalent, verdict.reason
    assert "integer weights identical" in verdict.reason


def test_nodes_of_one_layer_firing_at_different_levels() -> None:
    """Found by hypothesis: in the full form the two second-layer nodes fire at different
    levels; the copies they forward cancel only when both are substituted together."""
    net = Network(
        (
            Layer(np.array([[-1.0], [1.0], [1.0]]), np.array([0.49565561]), "relu"),
            Layer(np.array([[1.0, -1.0]]), np.array([0.66956186, -0.80542985]), "relu"),
            Layer(np.array([[-1.0], [-1.0]]), np.array([0.04263336]), "linear"),
        ),
        "binary",
    )
    verdict = verify_equivalence(net, compile_network(net, form="full"))
    assert verdict.equivalent, verdict.reason


def tampered(crn: CRN, index: int, products: tuple[tuple[str, int], ...]) -> CRN:
    reactions = list(crn.reactions)
    reactions[index] = Reaction(reactions[index].reactants, products)
    return CRN(crn.species, tuple(reactions), crn.init, crn.inputs, crn.outputs)


def test_crns_that_compute_something_else_are_not() -> None:
    net = random_network(np.random.default_rng(5), "ternary", [4, 6, 5, 3])
    full = compile_network(net, form="full")
    # A fan-out coefficient doubled: one weight becomes 2.
    k = next(i for i, r in enumerate(full.reactions) if r.reactants[0][0] == "X0_p")
    products = ((full.reactions[k].products[0][0], 2),) + full.reactions[k].products[1:]
    verdict = verify_equivalence(net, tampered(full, k, products))
    assert not verdict.equivalent and "ReLU layer 1: weights from source 0 differ" in verdict.reason
    # A product dropped from a hidden node's negative copy.
    k = next(i for i, r in enumerate(full.reactions) if r.reactants[0][0] == "Y1_0_n")
    verdict = verify_equivalence(net, tampered(full, k, full.reactions[k].products[1:]))
    assert not verdict.equivalent and "differ" in verdict.reason
    # A bias changed.
    name = next(iter(full.init))
    changed = CRN(full.species, full.reactions, {**full.init, name: full.init[name] + 1e-3}, full.inputs, full.outputs)
    verdict = verify_equivalence(net, changed)
    assert not verdict.equivalent and "bias" in verdict.reason
    # Another network of the same shape.
    other = random_network(np.random.default_rng(6), "ternary", [4, 6, 5, 3])
    assert not verify_equivalence(other, full).equivalent
    # Another shape.
    verdict = verify_equivalence(random_network(np.random.default_rng(5), "ternary", [4, 6, 2]), full)
    assert not verdict.equivalent and "the network 4 and 2" in verdict.reason


def test_proof_survives_an_sbml_round_trip() -> None:
    net = random_network(np.random.default_rng(4), "integer", [3, 6, 4, 2])
    crn = from_sbml(to_sbml(compile_network(net, form="full")))
    verdict = verify_equivalence(net, crn)
    assert verdict.equivalent, verdict.reason


def test_cli_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    net = random_network(np.random.default_rng(2), "integer", [3, 5, 2])
    net.save(tmp_path / "net.json")
    crn = compile_network(net)
    save_crn(crn, tmp_path / "crn.txt")
    assert main(["verify", str(tmp_path / "net.json"), str(tmp_path / "crn.txt")]) == 0
    assert capsys.readouterr().out.startswith("EQUIVALENT: the CRN's ReLU circuit is the network")
    other = random_network(np.random.default_rng(3), "integer", [3, 5, 2])
    other.save(tmp_path / "other.json")
    assert main(["verify", str(tmp_path / "other.json"), str(tmp_path / "crn.txt"), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["equivalent"] is False
    assert main(["verify", str(tmp_path / "none.json"), str(tmp_path / "crn.txt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deepcrn: error: ") and err.count("\n") == 1
