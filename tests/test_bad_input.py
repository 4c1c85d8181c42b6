"""Bad and extreme input, one test per culprit (issue 9): each ends with exit status 2 and one line
``deepcrn: error: ...`` naming the culprit, or with a correct result. tests/test_fuzz.py explores
the same parsers at random; these pin down the cases found by hand."""

from __future__ import annotations

import gzip
import json
import re
import struct
import subprocess
import sys
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import libsbml
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from deepcrn.cli import main
from deepcrn.compile import compile_network
from deepcrn.errors import NetworkError
from deepcrn.exact import evaluate
from deepcrn.interop.export import EXPORT_FORMATS
from deepcrn.interop.onnx import integer_form, load_onnx
from deepcrn.interop.sbml import to_sbml
from deepcrn.interop.tables import read_csv
from deepcrn.interop.text import load_crn, parse_crn, save_crn
from deepcrn.network import Layer, Network

from .strategies import random_network, run_cli

CONSOLE = Path(sys.executable).with_name("deepcrn")


def refused(args: list[object], capsys: pytest.CaptureFixture[str], *pieces: str) -> str:
    """Run the command; assert exit 2 and one stderr line holding every piece; return the line."""
    code, _, err = run_cli(args, capsys)
    assert code == 2, err
    assert err.startswith("deepcrn: error: ") and err.count("\n") == 1, err
    for piece in pieces:
        assert piece in err, (piece, err)
    return err


def network_json(**layer0: object) -> dict[str, object]:
    """A valid 2-2-1 network file whose first layer's keys are overridden by ``layer0``."""
    first = {"weights": [[1, -1], [0, 1]], "bias": [0.5, 0.0], "activation": "relu", **layer0}
    second = {"weights": [[1], [1]], "bias": [0.0], "activation": "linear"}
    return {"format": "deepcrn-network", "version": 1, "layers": [first, second]}


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- network JSON
def test_json_nested_100000_levels(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path / "deep.json", "[" * 100_000 + "]" * 100_000)
    refused(["compile", path], capsys, "deep.json", "nested too deeply")
    path = write(tmp_path / "deep2.json", '{"a": ' * 100_000 + "1" + "}" * 100_000)
    refused(["verify", path, path], capsys, "deep2.json", "nested too deeply")


@pytest.mark.parametrize(
    "layer0, pieces",
    [
        ({"weights": [[10**400, -1], [0, 1]]}, ("layer 1: 'weights'", "about 401 digits", "2**53")),
        ({"bias": [10**400, 0]}, ("layer 1: 'bias'", "larger than 1e+100")),
        ({"scale": 10**400}, ("layer 1: 'scale'", "[1e-100, 1e+100]")),
        ({"weights": [[2**70, -1], [0, 1]]}, ("1180591620717411303424 is larger than 2**53",)),
        ({"weights": [[1e20, -1], [0, 1]]}, ("1e+20 is larger than 2**53", "cannot be held exactly")),
        ({"weights": [[2**53 + 1, -1], [0, 1]]}, ("9007199254740993 is larger than 2**53",)),
        ({"weights": [[1, True], [0, 1]]}, ("found True",)),
        ({"weights": [[1, None], [0, 1]]}, ("found None",)),
        ({"scale": 1e-308}, ("layer 1: 'scale' must be a finite number in [1e-100, 1e+100], got 1e-308",)),
        ({"scale": 1e200}, ("got 1e+200",)),
        ({"bias": [1e300, 0]}, ("layer 1: 'bias': 1e+300 is larger than 1e+100",)),
        ({"scale": 1e60, "bias": [1e50, 0]}, ("layer 1: bias 1e+50 times the product of the scales 1e+60",)),
    ],
)
def test_json_numbers_out_of_range(tmp_path: Path, capsys, layer0: dict[str, object], pieces: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path / "n.json", json.dumps(network_json(**layer0)))
    refused(["compile", path, "-o", tmp_path / "c.txt"], capsys, "n.json: ", *pieces)
    assert not (tmp_path / "c.txt").exists()


def test_json_integer_too_long_for_python(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    text = json.dumps(network_json()).replace("0.5", "1" + "0" * 5000)
    refused(["compile", write(tmp_path / "n.json", text)], capsys, "n.json", "too long to read")


def test_scale_products_stay_in_range(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # Each scale is in range, their product is not: the CRN's output scale would be 1e-120.
    data = network_json(scale=1e-60)
    data["layers"][1]["scale"] = 1e-60  # type: ignore[index]
    refused(["compile", write(tmp_path / "n.json", json.dumps(data))], capsys, "layer 2: the layer scales", "1e-120")
    # Used to make the two exact engines disagree and verify call it equivalent: now refused there too.
    crn = tmp_path / "c.txt"
    save_crn(compile_network(Network((Layer(np.ones((1, 1)), np.zeros(1), "linear"),), "binary")), crn)
    data = {
        "format": "deepcrn-network",
        "version": 1,
        "layers": [{"weights": [[1]], "bias": [0], "activation": "linear", "scale": 1e-308}],
    }
    refused(["verify", write(tmp_path / "tiny.json", json.dumps(data)), crn], capsys, "tiny.json", "1e-308")


def test_weights_up_to_2_53_compile_exactly(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path / "n.json", json.dumps(network_json(weights=[[2**53, -1], [0, 1]], scale=2**53)))
    code, _, _ = run_cli(["compile", path, "-o", tmp_path / "c.txt", "--form", "full"], capsys)
    assert code == 0
    assert "X0_p -> 9007199254740992 I1_0_p + I1_1_n" in (tmp_path / "c.txt").read_text()
    x = np.array([[3.0, -2.0], [0.25, 7.0]])
    h = np.maximum(x @ (np.array([[2.0**53, -1], [0, 1]]) / 2.0**53) + [0.5, 0], 0)
    np.testing.assert_allclose(evaluate(load_crn(tmp_path / "c.txt"), x), h.sum(axis=1, keepdims=True), rtol=1e-12)


@pytest.mark.parametrize(
    "lows, piece",
    [
        (["a", "b"], "input_lower_bounds[0] is 'a'"),
        ({"x0": 1}, "input_lower_bounds must be a list of 2 numbers, got dict"),
        ([1.0], "input_lower_bounds has 1 entries, expected 2"),
        ([0, 1, 2], "input_lower_bounds has 3 entries, expected 2"),
        ([True, 0], "input_lower_bounds[0] is True"),
        ([0, 1e300], "input_lower_bounds[1] is 1e+300"),
    ],
)
def test_bad_input_lower_bounds(tmp_path: Path, capsys, lows: object, piece: str) -> None:  # type: ignore[no-untyped-def]
    data = network_json()
    data["input_lower_bounds"] = lows
    refused(["compile", write(tmp_path / "n.json", json.dumps(data)), "--shift"], capsys, "n.json", piece)


# --------------------------------------------------------------------------- CRN text
@pytest.mark.parametrize(
    "text, piece",
    [
        ("init A = 1\nA -> " + "9" * 400 + " B\n", "c.txt:2: the coefficient of B has 400 digits"),
        ("init A = 1\n" + "7" * 5000 + " A -> B\n", "c.txt:2: the coefficient of A has 5000 digits"),
        ("init A = 1\nA -> 9007199254740993 B\n", "c.txt:2: the coefficient of B is 9007199254740993"),
        ("A -> B\ninit A = 1e400\n", "c.txt:2: the initial concentration of A must be finite"),
        ("A -> B [k=nan]\n", "c.txt:1: the rate constant must be finite"),
    ],
)
def test_crn_text_numbers(tmp_path: Path, capsys, text: str, piece: str) -> None:  # type: ignore[no-untyped-def]
    refused(["info", write(tmp_path / "c.txt", text)], capsys, piece)


def test_crn_text_with_a_byte_order_mark(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.txt"
    path.write_bytes(b"\xef\xbb\xbf# deepcrn CRN\ninit A = 1\nA -> B\n")
    assert load_crn(path) == parse_crn("init A = 1\nA -> B")


# --------------------------------------------------------------------------- SBML
@pytest.fixture
def sbml_text() -> str:
    crn = parse_crn(
        "input x = X_p - X_n + 0.5\noutput y = (Y_p - Y_n) / 2\ninit X_p = 0.25\nX_p -> Y_p\nX_n -> Y_n [k=2.5]"
    )
    return to_sbml(crn)


@pytest.mark.parametrize(
    "old, new, pieces",
    [
        ('offset="0.5"', 'offset="abc"', ("<input> attribute 'offset' is 'abc', not a number",)),
        ('scale="2.0"', 'scale="two"', ("<output> attribute 'scale' is 'two', not a number",)),
        ('scale="2.0"', 'scale="INF"', ("<output> attribute 'scale' is 'INF'; numbers must be finite",)),
        ('init="X_p=0.25"', 'init="X_p=zz"', ("exact init of X_p is 'zz', not a number",)),
        ('rates="1=2.5"', 'rates="1=nan"', ("exact rates of 1 is 'nan'; numbers must be finite",)),
        ('pos="X_p"', "", ("<input> lacks the attribute 'pos'",)),
        ('neg="Y_n"', "", ("<output> lacks the attribute 'neg'",)),
        ('stoichiometry="1"', 'stoichiometry="NaN"', ("reaction r_0: reactant stoichiometry nan of X_p",)),
        ('stoichiometry="1"', 'stoichiometry="INF"', ("reaction r_0: reactant stoichiometry inf of X_p",)),
        ('stoichiometry="1"', 'stoichiometry="-INF"', ("stoichiometry -inf",)),
        ('initialConcentration="0.25"', 'initialConcentration="NaN"', ("species X_p: initialConcentration is NaN",)),
        ('value="2.5"', 'value="NaN"', ("reaction r_1: its rate constant (parameter k_1) is nan",)),
    ],
)
def test_sbml_bad_numbers(tmp_path: Path, capsys, sbml_text: str, old: str, new: str, pieces: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    assert old in sbml_text
    text = sbml_text.replace(old, new, 1)
    assert libsbml.readSBMLFromString(text).getModel() is not None  # a document libsbml reads
    refused(["info", write(tmp_path / "m.xml", text)], capsys, "m.xml: ", *pieces)


# --------------------------------------------------------------------------- ONNX
def _model(
    nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto], n_in: int = 2, n_out: int = 1
) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, n_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, n_out])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _w(name: str, values: object) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(values, dtype=np.float32), name)


W1 = [[1.0, -1.0, 0.0], [0.0, 1.0, 1.0]]
W2 = [[1.0], [0.0], [-1.0]]


@pytest.mark.parametrize(
    "build, pieces",
    [
        (
            lambda: _model(
                [
                    helper.make_node("MatMul", ["x", "W"], ["h"], name="mm"),
                    helper.make_node("Add", ["h"], ["y"], name="plus"),
                ],
                [_w("W", [[1.0], [2.0]])],
            ),
            ("node 'plus' (Add): expected Add(x, b) with a constant bias b",),
        ),
        (
            lambda: _model(
                [helper.make_node("Gemm", ["x", "W", "b"], ["y"], name="dense")],
                [_w("W", [[1.0], [2.0]]), _w("b", [1.0, 2.0, 3.0])],
            ),
            ("node 'dense' (Gemm): the bias has shape (3,), expected (1,)",),
        ),
        (
            lambda: _model(
                [
                    helper.make_node("MatMul", ["x", "W"], ["h"], name="mm"),
                    helper.make_node("BatchNormalization", ["h", "g", "b"], ["y"], name="bn"),
                ],
                [_w("W", [[1.0], [2.0]]), _w("g", [1.0]), _w("b", [0.0])],
            ),
            ("node 'bn' (BatchNormalization): expected BatchNormalization(x, scale, bias, mean, var)",),
        ),
        (
            lambda: _model([helper.make_node("MatMul", ["x", "W"], [], name="mm")], [_w("W", [[1.0], [2.0]])]),
            ("node 'mm' (MatMul): the node has no output",),
        ),
        (
            lambda: _model([helper.make_node("Gemm", ["x", "W"], ["y"], name="dense")], [_w("W", [1.0, 2.0])]),
            ("node 'dense' (Gemm): the weight matrix has shape (2,); expected 2-D",),
        ),
        (
            lambda: _model(
                [helper.make_node("Gemm", ["x", "W"], ["y"], name="dense")],
                [helper.make_tensor("W", TensorProto.STRING, [2, 1], [b"1", b"2"])],
            ),
            ("node 'dense' (Gemm): initializer 'W' holds object data; expected numbers",),
        ),
        (
            lambda: _model([helper.make_node("Gemm", ["x", "W"], ["y"], name="dense")], [_w("W", [[np.nan], [1.0]])]),
            ("node 'dense': the weights contain nan",),
        ),
        (
            lambda: _model(
                [helper.make_node("Gemm", ["x", "W", "b"], ["y"], name="dense")],
                [_w("W", [[1.0], [1.0]]), _w("b", [np.inf])],
            ),
            ("node 'dense': the bias contains NaN or infinity",),
        ),
        (
            lambda: _model(
                [
                    helper.make_node("Constant", [], ["W"], name="c", value_strings=["a"]),
                    helper.make_node("MatMul", ["x", "W"], ["y"], name="mm"),
                ],
                [],
            ),
            ("node 'c' (Constant): a Constant must hold numbers",),
        ),
        (
            lambda: _model(
                [helper.make_node("Gemm", ["x", "W"], ["y"], name="dense")],
                [_w("W", np.random.default_rng(0).normal(size=(3, 1)))],
                n_in=3,
            ),
            ("node 'dense': weights are not integers times one positive per-layer scale",),
        ),
    ],
)
def test_onnx_malformed_graphs(
    tmp_path: Path, capsys, build: Callable[[], onnx.ModelProto], pieces: tuple[str, ...]
) -> None:  # type: ignore[no-untyped-def]
    onnx.save(build(), str(tmp_path / "m.onnx"))
    refused(["import-onnx", tmp_path / "m.onnx", "-o", tmp_path / "n.json"], capsys, "m.onnx: ", *pieces)
    assert not (tmp_path / "n.json").exists()


@pytest.mark.parametrize(
    "attrs",
    [
        {"value_float": 0.5},
        {"value_floats": [0.5, -1.0, 0.25]},
        {"value_int": 2},
        {"value_ints": [1, 0, -3]},
        {"value": numpy_helper.from_array(np.array([0.5, -1.0, 0.25], np.float32))},
    ],
)
def test_onnx_constant_bias_of_every_kind(tmp_path: Path, attrs: dict[str, object]) -> None:
    model = _model(
        [
            helper.make_node("Constant", [], ["b"], name="c", **attrs),
            helper.make_node("MatMul", ["x", "W1"], ["h"], name="mm"),
            helper.make_node("Add", ["h", "b"], ["hb"], name="bias"),
            helper.make_node("Relu", ["hb"], ["r"], name="relu"),
            helper.make_node("MatMul", ["r", "W2"], ["y"], name="out"),
        ],
        [_w("W1", W1), _w("W2", W2)],
    )
    onnx.save(model, str(tmp_path / "m.onnx"))
    net = load_onnx(tmp_path / "m.onnx")
    x = np.random.default_rng(0).normal(size=(6, 2)).astype(np.float32)
    b = next(iter(attrs.values()))
    b = numpy_helper.to_array(b) if isinstance(b, onnx.TensorProto) else np.asarray(b, dtype=np.float64)
    expected = np.maximum(x @ np.array(W1) + b, 0) @ np.array(W2)
    np.testing.assert_allclose(net.forward(x), expected, rtol=1e-6, atol=1e-6)
    if "value_int" not in attrs and "value_ints" not in attrs:  # the reference runtime needs one dtype
        np.testing.assert_allclose(
            net.forward(x), ReferenceEvaluator(model).run(None, {"x": x})[0], rtol=1e-5, atol=1e-6
        )


def test_onnx_integer_weights_stay_integers(tmp_path: Path) -> None:
    model = _model([helper.make_node("Gemm", ["x", "W"], ["y"], name="dense")], [_w("W", [[2.0], [3.0]])])
    onnx.save(model, str(tmp_path / "m.onnx"))
    net = load_onnx(tmp_path / "m.onnx")
    assert net.layers[0].weights.ravel().tolist() == [2.0, 3.0] and net.layers[0].scale == 1.0
    assert net.weight_kind == "integer"
    z, d = integer_form(np.array([[4.0, -6.0, 0.0]]), "w")
    assert z.tolist() == [[2.0, -3.0, 0.0]] and d == 0.5
    with pytest.raises(NetworkError, match="w: the weights contain inf"):
        integer_form(np.array([[np.inf]]), "w")


def _torch_export(tmp_path: Path, weights: list[list[float]]) -> Path:
    torch = pytest.importorskip("torch")
    lin = torch.nn.Linear(2, 2)
    out = torch.nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(weights))
        lin.bias.copy_(torch.tensor([0.5, -0.25]))
        out.weight.copy_(torch.tensor([[1.0, -1.0]]))
        out.bias.zero_()
    seq = torch.nn.Sequential(lin, torch.nn.ReLU(), out).eval()
    path = tmp_path / "t.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated, but needs no onnxscript
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(seq, (torch.zeros(1, 2),), str(path), dynamo=False, input_names=["x"], output_names=["y"])
    return path


def test_torch_export_with_integer_weights_2_and_3(tmp_path: Path) -> None:
    path = _torch_export(tmp_path, [[2.0, 3.0], [3.0, -2.0]])
    net = load_onnx(path)
    assert net.weight_kind == "integer" and net.layers[0].scale == 1.0
    assert sorted(net.layers[0].weights.ravel().tolist()) == [-2.0, 2.0, 3.0, 3.0]
    x = np.array([[1.0, -0.5], [0.25, 2.0]])
    h = np.maximum(x @ np.array([[2.0, 3.0], [3.0, -2.0]]).T + [0.5, -0.25], 0)
    np.testing.assert_allclose(net.forward(x), h @ [[1.0], [-1.0]], rtol=1e-6)


def test_torch_export_with_nan_weights(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = _torch_export(tmp_path, [[np.nan, 1.0], [1.0, 1.0]])
    err = refused(["import-onnx", path, "-o", tmp_path / "n.json"], capsys, "t.onnx: node ", "the weights contain nan")
    assert re.search(r"node '[^']*Gemm[^']*'", err), err


# --------------------------------------------------------------------------- options
X = "{X}"


@pytest.mark.parametrize(
    "args, piece",
    [
        (
            ["evaluate", "{crn}", "--inputs", X, "--seed", "-1"],
            "evaluate: argument --seed: a seed must be an integer in [0, 2**63), got -1",
        ),
        (
            ["sweep", "{crn}", "--inputs", X, "--seed", "-1"],
            "sweep: argument --seed: a seed must be an integer in [0, 2**63), got -1",
        ),
        (["run", "iris", "--seed", "-1"], "run: argument --seed: a seed must be an integer in [0, 2**63), got -1"),
        (["demo", "--seed", "-1"], "demo: argument --seed: a seed must be an integer in [0, 2**63), got -1"),
        (["sweep", "{crn}", "--inputs", X, "--high", "inf"], "argument --high: must be a finite number > 0"),
        (
            ["sweep", "{crn}", "--inputs", X, "--scheduler", "not a url"],
            "--scheduler 'not a url' is not a Dask scheduler",
        ),
        (["sweep", "{crn}", "--inputs", X, "--workers", "0"], "argument --workers: must be at least 1, got 0"),
        (["sweep", "{crn}", "--inputs", X, "--low", "0"], "argument --low: must be a finite number > 0"),
        (["sweep", "{crn}", "--inputs", X, "--low", "10", "--high", "0.1"], "need finite 0 < low <= high"),
        (["sweep", "{crn}", "--inputs", X, "--tol", "0"], "argument --tol: must be a finite number > 0 and at most 1"),
        (["run", "iris", "--ode-examples", "-1"], "argument --ode-examples: must be at least 0, got -1"),
        (["run", "iris", "--epochs", "0"], "argument --epochs: must be at least 1, got 0"),
        (["run", "iris", "--epochs", "-1"], "argument --epochs: must be at least 1, got -1"),
        (["run", "iris", "--restarts", "0"], "argument --restarts: must be at least 1, got 0"),
        (["run", "iris", "--restarts", "99999999999999999999999"], "--restarts must be at most 1024, got 9999"),
        (["run", "iris", "--train-subset", "0"], "argument --train-subset: must be at least 1, got 0"),
        (["evaluate", "{crn}", "--inputs", X, "--method", "ode", "--t-max", "nan"], "argument --t-max"),
        (["export", "{crn}", "--to", "sbml", "-o", "{tmp}/o.xml", "--inputs", X, "--row", "0"], "argument --row"),
        (["export", "{crn}", "--to", "sbml", "-o", "{tmp}/o.xml", "--inputs", X, "--row", "3"], "--row 3 is outside"),
    ],
)
def test_numeric_options_are_refused_up_front(tmp_path: Path, capsys, args: list[str], piece: str) -> None:  # type: ignore[no-untyped-def]
    crn = tmp_path / "c.txt"
    save_crn(parse_crn("input x = A - B\noutput y = C - D\nA -> C\nB -> D"), crn)
    x = write(tmp_path / "x.csv", "x\n1\n-2\n")
    filled = [a.format(crn=crn, X=x, tmp=tmp_path) for a in args]
    refused([*filled, "--out", tmp_path / "out"] if args[0] in ("run", "sweep") else filled, capsys, piece)
    assert not (tmp_path / "out").exists() and not (tmp_path / "o.xml").exists()


# --------------------------------------------------------------------------- datasets
def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")
    )


def test_png_claiming_20000_by_20000(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bomb.png").write_bytes(_png(20000, 20000))
    refused(
        ["run", "pattern", "--image", tmp_path / "bomb.png", "--out", tmp_path / "o"],
        capsys,
        "bomb.png: the image is far too large",
        "250000",
    )
    (tmp_path / "big.png").write_bytes(_png(1000, 1000))
    refused(
        ["run", "pattern", "--image", tmp_path / "big.png", "--out", tmp_path / "o"],
        capsys,
        "big.png: the image is 1000x1000",
    )


def _idx(path: Path, dims: list[int], body: bytes) -> None:
    path.write_bytes(gzip.compress(b"\0\0\x08" + bytes([len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + body))


@pytest.mark.parametrize(
    "images, labels, piece",
    [
        (([2**32 - 1] * 3, b"\0" * 10), ([2], b"\1\2"), "IDX header says 4294967295x4294967295x4294967295"),
        (([2, 28, 28], b"\0" * 2 * 784), ([2], b"\1\x0c"), "train-labels-idx1-ubyte.gz: label 12 is outside 0-9"),
        (([2 * 784], b"\0" * 2 * 784), ([2], b"\1\2"), "IDX data has 1 dimensions, expected 3"),
    ],
)
def test_mnist_idx_files(tmp_path: Path, capsys, data_root: Path, images, labels, piece: str) -> None:  # type: ignore[no-untyped-def]
    _idx(tmp_path / "train-images-idx3-ubyte.gz", *images)
    _idx(tmp_path / "train-labels-idx1-ubyte.gz", *labels)
    refused(["run", "mnist", "--mnist-train", tmp_path, "--out", tmp_path / "o"], capsys, piece)


# --------------------------------------------------------------------------- export
@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_shifted_input_below_its_bound_is_refused_in_every_format(tmp_path: Path, capsys, fmt: str) -> None:  # type: ignore[no-untyped-def]
    crn = tmp_path / "c.txt"
    save_crn(parse_crn("input x = X + -1.0\noutput y = Y - Z\nX -> Y"), crn)
    x = write(tmp_path / "x.csv", "x\n0\n-2\n")
    refused(
        ["export", crn, "--to", fmt, "-o", tmp_path / "out", "--inputs", x, "--row", 2],
        capsys,
        "x.csv: input x = -2 (example 2) is below its declared lower bound -1",
    )
    assert not (tmp_path / "out").exists()
    assert main(["export", str(crn), "--to", fmt, "-o", str(tmp_path / "out"), "--inputs", str(x), "--row", "1"]) == 0


def test_output_equal_to_an_input_is_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    net = tmp_path / "n.json"
    random_network(np.random.default_rng(0), "ternary", [2, 2, 1]).save(net)
    crn = tmp_path / "c.txt"
    assert main(["compile", str(net), "-o", str(crn)]) == 0
    x = write(tmp_path / "x.csv", "x0,x1\n1,2\n")
    (tmp_path / "link.csv").symlink_to(x)
    capsys.readouterr()
    before = {p: p.read_bytes() for p in (net, crn, x)}
    for args in (
        ["compile", net, "-o", net],
        ["evaluate", crn, "--inputs", x, "-o", crn],
        ["evaluate", crn, "--inputs", x, "-o", x],
        ["evaluate", crn, "--inputs", x, "-o", tmp_path / "link.csv"],
        ["export", crn, "--to", "sbml", "-o", crn],
        ["export", crn, "--to", "text", "-o", x, "--inputs", x, "--row", "1"],
        ["import-onnx", net, "-o", net],
    ):
        refused(args, capsys, "is also an input of this command")
    assert {p: p.read_bytes() for p in before} == before


# --------------------------------------------------------------------------- CSV
@pytest.fixture
def identity_crn(tmp_path: Path) -> Path:
    """Outputs equal to the inputs a, b, c (in that order)."""
    lines = [f"input {n} = {n.upper()}_p - {n.upper()}_n" for n in "abc"]
    lines += [f"output o{n} = O{n}_p - O{n}_n" for n in "abc"]
    lines += [f"{n.upper()}_{r} -> O{n}_{r}" for n in "abc" for r in "pn"]
    path = tmp_path / "id.txt"
    save_crn(parse_crn("\n".join(lines)), path)
    return path


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1,2,3\n4,5,6\n", [[1, 2, 3], [4, 5, 6]]),  # no header: the first row is data
        ("c,a,b\n1,2,3\n", [[2, 3, 1]]),  # a permutation of the inputs: matched by name
        ("p,q,r\n1,2,3\n", [[1, 2, 3]]),  # other names: by position
        ("a,q,c\n1,2,3\n", [[1, 2, 3]]),  # names in their own columns: by position
    ],
)
def test_csv_headers(tmp_path: Path, capsys, identity_crn: Path, text: str, expected: list[list[float]]) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run_cli(["evaluate", identity_crn, "--inputs", write(tmp_path / "x.csv", text)], capsys)
    assert code == 0 and out.splitlines()[0] == "oa,ob,oc"
    assert np.loadtxt(out.splitlines()[1:], delimiter=",", ndmin=2).tolist() == expected


def test_csv_partial_header_in_the_wrong_column(tmp_path: Path, capsys, identity_crn: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path / "x.csv", "b,q,r\n1,2,3\n")
    refused(["evaluate", identity_crn, "--inputs", path], capsys, "x.csv:1: column 1 is named 'b', which is input 2")
    path = write(tmp_path / "y.csv", "a,a,b\n1,2,3\n")
    refused(["evaluate", identity_crn, "--inputs", path], capsys, "y.csv:1: the header names input 'a' twice")


def test_npy_inputs_read_like_the_csv(tmp_path: Path, capsys, identity_crn: Path) -> None:  # type: ignore[no-untyped-def]
    x = np.random.default_rng(5).normal(size=(4, 3))
    np.save(tmp_path / "x.npy", x)
    code, out, _ = run_cli(["evaluate", identity_crn, "--inputs", tmp_path / "x.npy"], capsys)
    assert code == 0 and out.splitlines()[0] == "oa,ob,oc"
    np.testing.assert_array_equal(np.loadtxt(out.splitlines()[1:], delimiter=",", ndmin=2), x)
    np.save(tmp_path / "i.npy", np.arange(6, dtype=np.int32).reshape(2, 3))  # integers are numbers too
    assert run_cli(["evaluate", identity_crn, "--inputs", tmp_path / "i.npy"], capsys)[0] == 0


@pytest.mark.parametrize(
    "values, piece",
    [
        (np.zeros((2, 4)), "x.npy: 4 columns, expected 3 (one per input)"),
        (np.zeros(3), "x.npy: array of shape (3,); expected (examples, inputs)"),
        (np.zeros((0, 3)), "x.npy: array of shape (0, 3); expected (examples, inputs) with >= 1 example"),
        (np.array([[1.0, np.nan, 2.0]]), "x.npy: row 1, column 2 is nan; numbers must be finite"),
        (np.array([["a", "b", "c"]]), "x.npy: holds <U1 values; expected numbers"),
        (np.array([[1, None, 2]], dtype=object), "x.npy: not a readable .npy array of numbers"),  # pickled: refused
        (b"1,2,3\n", "x.npy: not a NumPy .npy file"),  # a CSV under another name
        (b"", "x.npy: not a NumPy .npy file"),
        (b"\x93NUMPY\x01\x00", "x.npy: not a readable .npy array of numbers"),  # truncated after the magic
        (  # a header claiming a dimension no C long holds
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (4, 99999999999999999999999), }"
            + b" " * 43
            + b"\n",
            "x.npy: not a readable .npy array of numbers",
        ),
    ],
)
def test_bad_npy_inputs(tmp_path: Path, capsys, identity_crn: Path, values: object, piece: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "x.npy"
    if isinstance(values, bytes):
        path.write_bytes(values)
    else:
        np.save(path, values, allow_pickle=True)
    refused(["evaluate", identity_crn, "--inputs", path], capsys, piece)


# --------------------------------------------------------------------------- messages
def test_read_and_write_failures_name_the_file(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    crn = tmp_path / "c.txt"
    save_crn(parse_crn("input x = A - B\noutput y = C - D\nA -> C\nB -> D"), crn)
    x = write(tmp_path / "x.csv", "x\n1\n")
    refused(["evaluate", tmp_path, "--inputs", x], capsys, f"cannot read CRN file {tmp_path}")
    refused(["evaluate", crn, "--inputs", tmp_path / "none.csv"], capsys, "cannot read CSV file")
    err = refused(
        ["evaluate", crn, "--inputs", x, "-o", tmp_path / "no" / "o.csv"],
        capsys,
        f"cannot write {tmp_path / 'no' / 'o.csv'}",
    )
    assert ".tmp" not in err
    refused(["evaluate", crn, "--inputs", x, "-o", tmp_path], capsys, f"cannot write {tmp_path}: it is a folder")


def _console(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CONSOLE), *args], capture_output=True, text=True, cwd=cwd, timeout=300, check=False)


def test_the_console_script_prints_one_line_and_no_warning(tmp_path: Path) -> None:
    """The real ``deepcrn`` program: nothing but the error line reaches stderr (no traceback, no
    RuntimeWarning from NumPy overflowing on a chain of coefficients 2**53 fed 1e100)."""
    write(tmp_path / "deep.json", "[" * 100_000 + "]" * 100_000)
    write(tmp_path / "q.txt", "input x = A - B\noutput y = C - D\n4 A -> C\n4 B -> D\n")
    write(tmp_path / "big.csv", "x\n1e100\n")
    chain = [f"S{i} -> {2**53} S{i + 1}" for i in range(20)]
    write(tmp_path / "chain.txt", "\n".join(["input x = S0 - N", "output y = S20 - N", *chain]) + "\n")
    cases = (
        ["compile", "deep.json"],
        ["evaluate", "q.txt", "--inputs", "big.csv", "--seed", "-1"],
        ["evaluate", "chain.txt", "--inputs", "big.csv", "--engine", "fire"],
        ["sweep", "q.txt", "--inputs", "big.csv", "--workers", "0"],
        ["import-onnx", "deep.json", "-o", "n.json"],
    )
    for args in cases:
        proc = _console(args, tmp_path)
        assert proc.returncode == 2 and proc.stderr.startswith("deepcrn: error: "), (args, proc.stderr)
        assert proc.stderr.count("\n") == 1 and proc.stdout == "", (args, proc.stderr)
    proc = _console(["evaluate", "q.txt", "--inputs", "big.csv"], tmp_path)
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout == "y\n2.5e+99\n"


def test_sweep_prints_no_dask_lines(tmp_path: Path) -> None:
    save_crn(compile_network(random_network(np.random.default_rng(4), "ternary", [2, 3, 2])), tmp_path / "c.txt")
    write(tmp_path / "x.csv", "x0,x1\n0.5,-1\n2,0.25\n")
    proc = _console(["sweep", "c.txt", "--inputs", "x.csv", "--rate-draws", "2", "--out", "sw"], tmp_path)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "2 draws x 2 examples" in proc.stdout
    assert read_csv(tmp_path / "sw" / "sweep.csv")[1].shape == (2, 5)
