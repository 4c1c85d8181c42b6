"""SBML / Antimony / CRNSimulator export, checked with libsbml and simulated by libRoadRunner."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import antimony
import libsbml
import numpy as np
import pytest
import roadrunner
from hypothesis import given, settings
from hypothesis import strategies as st

from deepcrn.cli import main
from deepcrn.compile import compile_network
from deepcrn.exact import evaluate
from deepcrn.interop.antimony import to_antimony
from deepcrn.interop.crnsimulator import symbols, to_crnsimulator
from deepcrn.interop.sbml import errors, from_sbml, to_sbml
from deepcrn.interop.text import parse_crn, save_crn
from deepcrn.network import Network

from .strategies import networks, random_network


def simulate_rr(sbml: str, names: list[str]) -> np.ndarray:
    rr = roadrunner.RoadRunner(sbml)
    rr.integrator.absolute_tolerance = 1e-14
    rr.integrator.relative_tolerance = 1e-12
    rr.simulate(0, 1e9, 50)
    return np.array([rr[n] for n in names])


@settings(max_examples=15)
@given(networks(max_width=6, max_hidden=2), st.booleans(), st.booleans(), st.integers(0, 2**16))
def test_sbml_and_antimony_simulate_to_the_exact_outputs(net: Network, full: bool, shift: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=net.n_inputs)
    lows = x - rng.uniform(0, 2, size=net.n_inputs) if shift else None
    crn = compile_network(net, form="full" if full else "reduced", input_lower_bounds=lows)
    exact = evaluate(crn, x[None])[0]
    sbml = to_sbml(crn, x)
    doc = libsbml.readSBMLFromString(sbml)
    assert errors(doc) == []
    tol = 1e-6 * np.maximum(1.0, np.abs(exact))
    assert np.all(np.abs(simulate_rr(sbml, crn.output_names) - exact) <= tol)
    antimony.clearPreviousLoads()
    assert antimony.loadAntimonyString(to_antimony(crn, x)) >= 0, antimony.getLastError()
    converted = antimony.getSBMLString("deepcrn_crn")
    assert np.all(np.abs(simulate_rr(converted, crn.output_names) - exact) <= tol)
    assert from_sbml(sbml) == crn


def test_sbml_round_trip_keeps_rates_and_declarations() -> None:
    net = random_network(np.random.default_rng(5), "integer", [3, 4, 2])
    crn = compile_network(net, input_lower_bounds=[-1.0, -2.0, 0.5])
    crn = crn.with_rates(np.linspace(0.5, 3.0, len(crn.reactions)))
    assert from_sbml(to_sbml(crn)) == crn
    assert from_sbml(to_sbml(crn)).outputs[0].scale == net.output_scale


def test_sbml_inputs_are_parameters_the_user_sets() -> None:
    crn = compile_network(random_network(np.random.default_rng(2), "ternary", [2, 3, 2]))
    rr = roadrunner.RoadRunner(to_sbml(crn))  # inputs default to 0
    rr.setValue("init(x0)", 1.5)
    rr.setValue("init(x1)", -0.5)
    rr.reset()  # re-evaluates the initial assignments from the new inputs
    rr.integrator.absolute_tolerance = 1e-14
    rr.integrator.relative_tolerance = 1e-12
    rr.simulate(0, 1e9, 50)
    exact = evaluate(crn, np.array([[1.5, -0.5]]))[0]
    np.testing.assert_allclose([rr["y0"], rr["y1"]], exact, atol=1e-6)


def test_crnsimulator_notation() -> None:
    crn = parse_crn(
        "input x = A_p - A_n\noutput y = B_p - B_n\ninit C = 2\nA_p + C -> 2 B_p [k=3]\nA_n -> B_n\nAp -> 0"
    )
    text = to_crnsimulator(crn, [1.5])
    # C is Mathematica's built-in for constants: renamed, like every species with an underscore.
    assert "conc[Axp, 1.5]" in text and "conc[Cv1, 2.0]" in text and "C -> Cv1" in text
    assert "rxn[Axp + Cv1, 2 Bxp, 3.0]" in text and "rxn[Ap, 0, 1.0]" in text
    assert len(set(symbols(crn).values())) == len(crn.species)


def _competitive_sbml(path: Path) -> None:
    doc = libsbml.SBMLDocument(3, 2)
    model = doc.createModel()
    c = model.createCompartment()
    c.setId("c")
    c.setConstant(True)
    for s in ("A", "B", "C"):
        sp = model.createSpecies()
        sp.setId(s)
        sp.setCompartment("c")
        sp.setInitialConcentration(1.0)
        sp.setHasOnlySubstanceUnits(False)
        sp.setBoundaryCondition(False)
        sp.setConstant(False)
    for i, product in enumerate(("B", "C")):
        r = model.createReaction()
        r.setId(f"R{i}")
        r.setReversible(False)
        ref = r.createReactant()
        ref.setSpecies("A")
        ref.setStoichiometry(1)
        ref.setConstant(True)
        ref = r.createProduct()
        ref.setSpecies(product)
        ref.setStoichiometry(1)
        ref.setConstant(True)
        r.createKineticLaw().setMath(libsbml.parseL3Formula("A"))
    path.write_text(libsbml.writeSBMLToString(doc))


def test_info_judges_foreign_sbml(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "other.xml"
    _competitive_sbml(path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "non-competitive  NO" in out and "e.g. A in" in out and "#1: A -> B" in out


def test_export_cli(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    net = random_network(np.random.default_rng(1), "ternary", [3, 4, 2])
    crn = compile_network(net)
    crn_path = tmp_path / "crn.txt"
    save_crn(crn, crn_path)
    csv = tmp_path / "x.csv"
    csv.write_text("a,b,c\n0.5,-1,2\n1,1,1\n")
    for fmt, name in (("sbml", "m.xml"), ("antimony", "m.ant"), ("crnsimulator", "m.m"), ("text", "m.txt")):
        assert (
            main(["export", str(crn_path), "--to", fmt, "-o", str(tmp_path / name), "--inputs", str(csv), "--row", "2"])
            == 0
        )
    exact = evaluate(crn, np.array([[1.0, 1.0, 1.0]]))[0]
    np.testing.assert_allclose(simulate_rr((tmp_path / "m.xml").read_text(), crn.output_names), exact, atol=1e-6)
    # The text export with a row bakes the inputs into the initial concentrations.
    baked = parse_crn((tmp_path / "m.txt").read_text())
    assert baked.inputs == ()
    np.testing.assert_allclose(evaluate(baked, None), [exact], atol=1e-12)
    # An exported SBML file reads back for evaluate and info.
    assert main(["evaluate", str(tmp_path / "m.xml"), "--inputs", str(csv)]) == 0
    capsys.readouterr()


def test_onnx_round_trip_from_torch(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    from deepcrn.experiments.train import QuantMLP
    from deepcrn.network import load_network

    torch.manual_seed(0)
    model = QuantMLP((5, 8, 6, 3), "ternary")
    model.eval()
    layers = []
    for i, layer in enumerate(model.layers):
        _, n_out, n_in = layer.weight.shape  # (copies, n_out, n_in)
        lin = torch.nn.Linear(n_in, n_out)
        with torch.no_grad():
            lin.weight.copy_(layer.quantized()[0] / layer.divisor)
            lin.bias.copy_(torch.randn(n_out))
        layers.append(lin)
        if i < len(model.layers) - 1:
            layers.append(torch.nn.ReLU())
    seq = torch.nn.Sequential(torch.nn.Flatten(), *layers).eval()
    path = tmp_path / "m.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated, but needs no onnxscript
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(seq, (torch.randn(1, 5),), str(path), dynamo=False, input_names=["x"], output_names=["y"])
    out = tmp_path / "net.json"
    assert main(["import-onnx", str(path), "-o", str(out)]) == 0
    net = load_network(out)
    assert net.weight_kind == "ternary" and net.shape == (5, 8, 6, 3)
    x = np.random.default_rng(0).normal(size=(20, 5))
    with torch.no_grad():
        expected = seq(torch.tensor(x, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(net.forward(x), expected, atol=1e-4)


def _onnx_with_batchnorm(path: Path, bn_scale: np.ndarray) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.array([[1, -1, 0], [0, 1, 1]], dtype=np.float32) * 0.5
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["h"], name="dense"),
        helper.make_node("Add", ["h", "b"], ["hb"], name="bias"),
        helper.make_node("BatchNormalization", ["hb", "g", "beta", "mu", "var"], ["bn"], name="bn", epsilon=0.0),
        helper.make_node("Relu", ["bn"], ["r"], name="relu"),
        helper.make_node("Gemm", ["r", "W2"], ["y"], name="out", transB=1),
    ]
    inits = [
        numpy_helper.from_array(w, "W"),
        numpy_helper.from_array(np.array([0.1, -0.2, 0.3], np.float32), "b"),
        numpy_helper.from_array(bn_scale.astype(np.float32), "g"),
        numpy_helper.from_array(np.zeros(3, np.float32), "beta"),
        numpy_helper.from_array(np.array([0.5, 0.0, -0.5], np.float32), "mu"),
        numpy_helper.from_array(np.ones(3, np.float32), "var"),
        numpy_helper.from_array(np.array([[1, 0, -1]], np.float32), "W2"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
        inits,
    )
    onnx.save(helper.make_model(graph), str(path))


def test_onnx_batchnorm_folds_only_when_it_stays_in_the_weight_set(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from deepcrn.interop.onnx import load_onnx

    _onnx_with_batchnorm(tmp_path / "ok.onnx", np.full(3, 2.0))
    net = load_onnx(tmp_path / "ok.onnx")
    assert net.weight_kind == "ternary"
    x = np.array([[1.0, 2.0], [-1.0, 0.5]])
    h = np.maximum(((x @ (np.array([[1, -1, 0], [0, 1, 1]]) * 0.5) + [0.1, -0.2, 0.3]) - [0.5, 0, -0.5]) * 2.0, 0)
    np.testing.assert_allclose(net.forward(x), h @ np.array([[1], [0], [-1]]), atol=1e-6)
    # Per-neuron factors 1, 3, 1.7 leave integers times one scale: 0.5 * (1, 3, 1.7) = (10, 30, 17) / 20.
    _onnx_with_batchnorm(tmp_path / "int.onnx", np.array([1.0, 3.0, 1.7]))
    net = load_onnx(tmp_path / "int.onnx")
    assert net.weight_kind == "integer" and net.layers[0].scale == pytest.approx(20.0)
    assert sorted(set(np.abs(net.layers[0].weights).ravel().tolist())) == [0.0, 10.0, 17.0, 30.0]
    h = np.maximum(
        ((x @ (np.array([[1, -1, 0], [0, 1, 1]]) * 0.5) + [0.1, -0.2, 0.3]) - [0.5, 0, -0.5]) * [1, 3, 1.7], 0
    )
    np.testing.assert_allclose(net.forward(x), h @ np.array([[1], [0], [-1]]), rtol=1e-6)
    # Irrational factors leave no common scale with integers of at most 1000.
    _onnx_with_batchnorm(tmp_path / "bad.onnx", np.sqrt([2.0, 3.0, 5.0]))
    assert main(["import-onnx", str(tmp_path / "bad.onnx"), "-o", str(tmp_path / "n.json")]) == 2
    err = capsys.readouterr().err
    assert "node 'dense'" in err and "not integers times one positive per-layer scale" in err
    assert not (tmp_path / "n.json").exists()


def test_onnx_unsupported_node_is_named(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["h"], name="d"),
            helper.make_node("Sigmoid", ["h"], ["y"], name="squash"),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
        [numpy_helper.from_array(np.eye(2, dtype=np.float32), "W")],
    )
    onnx.save(helper.make_model(graph), str(tmp_path / "s.onnx"))
    assert main(["import-onnx", str(tmp_path / "s.onnx"), "-o", str(tmp_path / "n.json")]) == 2
    assert "node 'squash' (Sigmoid): unsupported operator" in capsys.readouterr().err


@pytest.mark.parametrize(
    "setup, args, message",
    [
        (lambda t: (t / "bad.xml").write_text("<sbml><model>"), ["info", "{t}/bad.xml"], "not readable SBML"),
        (
            lambda t: (t / "bad.onnx").write_bytes(b"\x00garbage\xff"),
            ["import-onnx", "{t}/bad.onnx", "-o", "{t}/n.json"],
            "not a readable ONNX model",
        ),
        (lambda t: None, ["import-onnx", "{t}/none.onnx", "-o", "{t}/n.json"], "cannot read ONNX file"),
        (
            lambda t: None,
            ["export", "{t}/crn.txt", "--to", "sbml", "-o", "{t}/o.xml", "--inputs", "{t}/x.csv"],
            "--inputs and --row go together",
        ),
        (
            lambda t: None,
            ["export", "{t}/crn.txt", "--to", "sbml", "-o", "{t}/o.xml", "--inputs", "{t}/x.csv", "--row", "9"],
            "--row 9 is outside",
        ),
        (
            lambda t: (t / "w.csv").write_text("a\n1\n"),
            ["export", "{t}/crn.txt", "--to", "sbml", "-o", "{t}/o.xml", "--inputs", "{t}/w.csv", "--row", "1"],
            "header has 1 columns, expected 2",
        ),
    ],
)
def test_export_and_import_user_errors(tmp_path: Path, capsys, setup, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    save_crn(compile_network(random_network(np.random.default_rng(0), "ternary", [2, 2, 2])), tmp_path / "crn.txt")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    setup(tmp_path)
    assert main([a.format(t=tmp_path) for a in args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "o.xml").exists() and not (tmp_path / "n.json").exists()


# Names no model language reads as anything else; they must be kept as they are.
LOOKALIKES = ("Time", "PI", "Sin", "e", "E", "t", "t0", "rate", "assignment", "asinh", "x_1", "truncated_Normal")


def test_reserved_and_clashing_names_export_to_valid_models(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Every word of MODEL_RESERVED, the generated ids (cell, k_i, r_i, the model name) and names
    of inputs/outputs that clash with species, as species names: libsbml finds no error,
    Antimony loads the model, libRoadRunner simulates both to the exact outputs, and deepcrn reads
    the SBML back with the original names."""
    from deepcrn._names import MODEL_RESERVED
    from deepcrn.interop.encoding import model_ids

    clashing = ["k_0", "k_2", "r_0", "deepcrn_crn", "xtruncatedGamma_1", "truncatedPoisson2"]
    chain = sorted(MODEL_RESERVED - {"pi", "exp"}) + clashing + list(LOOKALIKES)
    lines = ["input time = pi - cell", "input k_1 = exp + -0.5", "output r_0 = (Y_p - Y_n) / 2"]
    lines += ["output cell = Z_p - Z_n", "output Sin = W_p - W_n", "pi -> Z_p", "cell -> Z_n", "exp -> W_p [k=3.0]"]
    lines += [f"init {w} = 1.0\n{w} -> Y_p  [k={1 + i % 3}.0]" for i, w in enumerate(chain)]
    crn = parse_crn("\n".join(lines))
    x = [0.75, 1.25]  # time = 0.75 (pi holds it), k_1 = 1.25 (exp holds 1.75)
    exact = [len(chain) / 2, 0.75, 1.75]  # computed by hand
    np.testing.assert_allclose(evaluate(crn, np.array([x]))[0], exact, rtol=1e-12)
    ids = model_ids(crn)
    assert all(ids.species[w] == w for w in LOOKALIKES)  # only what must be renamed is renamed
    assert all(ids.species[w] != w for w in MODEL_RESERVED | {"cell", *clashing} - {"k_2"})
    outputs = [ids.outputs[name] for name in crn.output_names]
    assert len(set(outputs) | set(ids.species.values()) | set(ids.inputs.values())) == len(crn.species) + 5

    sbml = to_sbml(crn, x)
    assert errors(libsbml.readSBMLFromString(sbml)) == []
    np.testing.assert_allclose(simulate_rr(sbml, outputs), exact, rtol=1e-6)
    antimony.clearPreviousLoads()
    assert antimony.loadAntimonyString(to_antimony(crn, x)) >= 0, antimony.getLastError()
    converted = antimony.getSBMLString("deepcrn_crn")
    assert errors(libsbml.readSBMLFromString(converted)) == []
    np.testing.assert_allclose(simulate_rr(converted, outputs), exact, rtol=1e-6)

    model = tmp_path / "m.xml"
    model.write_text(sbml)
    assert from_sbml(sbml) == crn
    assert main(["info", str(model), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_species"] == len(crn.species)
    csv = tmp_path / "x.csv"
    csv.write_text("k_1,time\n1.25,0.75\n")  # by name, in another order
    assert main(["evaluate", str(model), "--inputs", str(csv)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "r_0,cell,Sin" and np.allclose([float(v) for v in out[1].split(",")], exact, rtol=1e-12)


def test_text_export_of_sbml_with_keyword_species(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Species named like the text format's keywords read back (reactions are recognised by '->'
    before any keyword)."""
    crn = parse_crn(
        "species species input init output\ninput x = species - input\noutput y = output - init\n"
        "init init = 0.5\nspecies -> output\ninput -> init"
    )
    (tmp_path / "m.xml").write_text(to_sbml(crn))
    assert main(["export", str(tmp_path / "m.xml"), "--to", "text", "-o", str(tmp_path / "m.txt")]) == 0
    text = (tmp_path / "m.txt").read_text()
    assert "species -> output" in text and "init init = 0.5" in text
    assert parse_crn(text) == crn
    (tmp_path / "x.csv").write_text("x\n2\n-3\n")
    assert main(["evaluate", str(tmp_path / "m.txt"), "--inputs", str(tmp_path / "x.csv")]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["1.5", "-3.5"]  # y = x+ - (0.5 + x-)


def _breaks_a_model(name: str) -> bool:
    """Whether ``name``, used as is for a species, is read as something else: by libsbml's formula
    parser (case-sensitive, as deepcrn runs it) or by Antimony (which then fails to load)."""
    settings = libsbml.L3ParserSettings()
    settings.setComparisonCaseSensitivity(True)
    node = libsbml.parseL3FormulaWithSettings(f"k * {name}", settings)
    if node is None or node.getChild(1).getType() != libsbml.AST_NAME:
        return True
    antimony.clearPreviousLoads()
    model = f"model m()\n  compartment c = 1;\n  species {name} in c, B in c;\n  R: {name} -> B; c * {name};\n  {name} = 1;\nend\n"
    return bool(antimony.loadAntimonyString(model) < 0)


def test_model_reserved_is_exactly_what_breaks_a_model() -> None:
    from deepcrn._names import MODEL_RESERVED, MODEL_RESERVED_PARTS

    assert [w for w in sorted(MODEL_RESERVED) if not _breaks_a_model(w)] == []
    assert [w for w in LOOKALIKES if _breaks_a_model(w)] == []
    for part, replacement in MODEL_RESERVED_PARTS.items():
        assert _breaks_a_model(f"x{part}_1") and not _breaks_a_model(f"x{replacement}_1")
