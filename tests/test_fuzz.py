"""Fuzzing every parser and every command's numeric options with hypothesis (issue 9).

Each test feeds malformed and extreme input through ``deepcrn.cli.main`` (in-process, for speed)
and asserts one of two outcomes: exit status 2 with exactly one stderr line starting
``deepcrn: error: `` and no output file left behind, or success with a result equal to an
independent computation (NumPy from the raw file, the values the test generated, ONNX's
reference runtime, libRoadRunner, XML counted by ElementTree). A few runs of the real console
script check that no traceback or warning reaches stderr.

Runs are deterministic (``derandomize``, no example database) and sized for ~1-2 minutes on
two cores; ``HYPOTHESIS_PROFILE=thorough`` does not raise these per-test budgets.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import math
import re
import struct
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from deepcrn.cli import main
from deepcrn.compile import compile_network
from deepcrn.errors import DataError
from deepcrn.experiments.datasets import read_idx, read_mask
from deepcrn.interop.sbml import to_sbml
from deepcrn.interop.text import parse_crn, save_crn

from .strategies import random_network


def fuzz(n: int) -> Any:
    """Settings for a fuzz test of ``n`` examples: deterministic, no database, no deadline."""
    return settings(
        max_examples=n,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,  # data_root only names a folder
        ],
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@contextlib.contextmanager
def folder(root: Path) -> Iterator[Path]:
    """A fresh folder per example (hypothesis reuses the test's fixtures across examples)."""
    with tempfile.TemporaryDirectory(dir=root) as name:
        yield Path(name)


def cli(*args: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def succeeded(code: int, err: str, *outputs: Path) -> bool:
    """True on success; otherwise assert a clean refusal: exit 2, one line, no output file (nor
    a temporary one) left."""
    event("success" if code == 0 else "refused")
    if code == 0:
        return True
    assert code == 2, err
    assert err.startswith("deepcrn: error: ") and err.count("\n") == 1, err
    for path in outputs:
        assert not path.exists(), path
        assert not list(path.parent.glob(f".{path.name}.*")), list(path.parent.iterdir())
    return False


def csv_text(header: list[str] | None, rows: np.ndarray) -> str:
    lines = [",".join(header)] if header is not None else []
    return "\n".join(lines + [",".join(repr(float(v)) for v in row) for row in rows]) + "\n"


def read_out(text: str) -> tuple[list[str], np.ndarray]:
    lines = text.splitlines()
    return lines[0].split(","), np.array([[float(v) for v in line.split(",")] for line in lines[1:]])


# --------------------------------------------------------------------------- hostile values
HOSTILE_NUMBERS = [
    0,
    -1,
    0.5,
    2**53,
    2**53 + 1,
    -(2**53) - 1,
    2**70,
    10**400,
    -(10**400),
    1e20,
    1e100,
    1e101,
    1e300,
    1e-300,
    1e-308,
    5e-324,
    math.inf,
    -math.inf,
    math.nan,
]
HOSTILE_JSON = st.one_of(
    st.sampled_from(HOSTILE_NUMBERS),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([True, False, None, "1", "", [], {}, [[1]], {"a": 1}, [1, [2]]]),
)
HOSTILE_TEXT_NUMBERS = st.sampled_from(
    ["1", "0", "-1", "2.5", "1e100", "1e101", "1e400", "-1e400", "1e-400", "nan", "inf", "-inf", "NaN",
     "9" * 400, str(2**53), str(2**53 + 1), "abc", "", "1_0", "0x10", "1e", ".", "+", "--1"]
)  # fmt: skip


# --------------------------------------------------------------------------- network JSON
@st.composite
def network_files(draw: st.DrawFn) -> tuple[str, dict[str, Any] | None, bool]:
    """(file text, the parsed object when it is JSON, whether to compile with --shift)."""
    seed = draw(st.integers(0, 2**16))
    widths = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    kind = draw(st.sampled_from(["binary", "ternary", "integer"]))
    data = random_network(np.random.default_rng(seed), kind, widths).to_dict()
    shift = draw(st.booleans())
    if shift:
        data["input_lower_bounds"] = [-3.0] * widths[0]
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(["weight", "bias", "scale", "activation", "drop", "lows", "top", "kind"]))
        layer = draw(st.sampled_from(data["layers"]))
        value = draw(HOSTILE_JSON)
        if where == "weight" and "weights" in layer:
            row = draw(st.integers(0, len(layer["weights"]) - 1))
            layer["weights"][row][draw(st.integers(0, len(layer["weights"][row]) - 1))] = value
        elif where == "bias" and "bias" in layer:
            layer["bias"][draw(st.integers(0, len(layer["bias"]) - 1))] = value
        elif where in ("scale", "activation"):
            layer[where] = draw(st.one_of(HOSTILE_JSON, st.sampled_from([1, 2, 0.5, 3.0, 1e-50, 1e50, "relu"])))
        elif where == "drop":
            layer.pop(draw(st.sampled_from(["weights", "bias", "activation", "scale"])), None)
        elif where == "lows":
            data["input_lower_bounds"] = draw(
                st.one_of(HOSTILE_JSON, st.lists(HOSTILE_JSON, max_size=5), st.just([0.0] * widths[0]))
            )
        elif where == "kind":
            data["weight_kind"] = draw(st.one_of(HOSTILE_JSON, st.sampled_from(["binary", "ternary", "integer"])))
        else:
            data[draw(st.sampled_from(["format", "version", "layers"]))] = value
    text = json.dumps(data)
    form = draw(st.sampled_from(["plain", "plain", "truncated", "nested", "wrapped"]))
    if form == "truncated":
        text = text[: draw(st.integers(0, len(text) - 1))]
    elif form == "nested":
        depth = draw(st.sampled_from([10, 1000, 50_000]))
        text = "[" * depth + text + "]" * depth
    elif form == "wrapped":
        text = json.dumps({"format": "deepcrn-network", "version": 1, "layers": [json.loads(text)]})
    parsed = json.loads(text) if form == "plain" else None
    return text, parsed, shift


def numpy_forward(data: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """The network's outputs computed straight from the file's lists (no deepcrn code)."""
    h = x
    for layer in data["layers"]:
        w = np.array(layer["weights"], dtype=np.float64) / float(layer.get("scale", 1))
        h = h @ w + np.array(layer["bias"], dtype=np.float64)
        if layer["activation"] == "relu":
            h = np.maximum(h, 0.0)
    return h


@fuzz(50)
@given(network_files(), st.sampled_from(["reduced", "full"]), st.integers(0, 2**16))
def test_network_json(root: Path, case: tuple[str, dict[str, Any] | None, bool], form: str, seed: int) -> None:
    text, data, shift = case
    with folder(root) as tmp:
        (tmp / "net.json").write_text(text)
        crn = tmp / "crn.txt"
        code, _, err = cli("compile", tmp / "net.json", "-o", crn, "--form", form, *(["--shift"] if shift else []))
        if not succeeded(code, err, crn):
            return
        assert data is not None  # a file that is not the JSON of a network never compiles
        n_in = len(data["layers"][0]["weights"])
        x = np.random.default_rng(seed).normal(size=(3, n_in))
        if shift:
            x = np.array(data["input_lower_bounds"], dtype=np.float64) + np.abs(x)
        (tmp / "x.csv").write_text(csv_text(None, x))
        code, out, err = cli("evaluate", crn, "--inputs", tmp / "x.csv")
        assert code == 0, err
        expected = numpy_forward(data, x)
        _, y = read_out(out)
        np.testing.assert_allclose(y, expected, rtol=1e-9, atol=1e-9 * max(1.0, float(np.abs(expected).max())))
        code, out, err = cli("verify", tmp / "net.json", crn)
        assert code == 0 and out.startswith("EQUIVALENT"), (out, err)


# --------------------------------------------------------------------------- CRN text
VALID_NAMES = st.sampled_from(["A", "B", "C", "X_p", "X_n", "Y_p", "Y_n"])
NAMES = st.one_of(
    VALID_NAMES,
    VALID_NAMES,
    VALID_NAMES,
    st.sampled_from(["species", "input", "init", "output", "inf", "nan", "_u", "time"]),
    st.sampled_from(["0", "2A", "a-b", "é", "A B", "", "->"]),
)
NUMBERS = st.one_of(st.sampled_from(["1", "0.5", "2.5", "3", "1e-3"]), HOSTILE_TEXT_NUMBERS)


@st.composite
def crn_lines(draw: st.DrawFn, clean: bool = False) -> str:
    """One line of CRN text; ``clean``: well-formed tokens only (the CRN may still be refused)."""
    names = st.one_of(VALID_NAMES, st.sampled_from(["species", "input", "init", "output", "inf", "time"]))
    names, numbers = (names, st.sampled_from(["1", "0.5", "2.5", "3", "1e-3"])) if clean else (NAMES, NUMBERS)
    kinds = ["reaction"] * 6 + ["species", "init", "input", "output"] + ([] if clean else ["junk", "comment"])
    kind = draw(st.sampled_from(kinds))
    name, other, num = draw(names), draw(names), draw(numbers)
    if kind == "species":
        return "species " + " ".join(draw(st.lists(names, max_size=4)))
    if kind == "init":
        return f"init {name} = {num}"
    if kind == "input":
        return draw(st.sampled_from([f"input {name} = {other} - {draw(names)}", f"input {name} = {other} + {num}"]))
    if kind == "output":
        return draw(st.sampled_from([f"output {name} = {other} - A", f"output {name} = ({other} - A) / {num}"]))
    if kind == "junk":
        return draw(st.text(max_size=20))
    if kind == "comment":
        return "# " + draw(st.text(max_size=10))

    def side() -> str:
        bad = [] if clean else ["0 ", "9" * 400 + " ", f"{2**53} ", f"{2**53 + 1} "]
        coefs = st.sampled_from(["", "", "", "2 ", "3 ", *bad])
        terms = draw(st.lists(st.tuples(coefs, names), min_size=int(clean), max_size=3))
        return " + ".join(c + n for c, n in terms) or "0"

    rate = draw(st.sampled_from(["", "", "", "", "", f" [k={num}]", *([] if clean else [" [k=", " [q=1]"])]))
    return f"{side()} -> {side()}{rate}"


@fuzz(80)
@given(st.one_of(st.lists(crn_lines(clean=True), max_size=6), st.lists(crn_lines(), max_size=6)))
def test_crn_text(root: Path, lines: list[str]) -> None:
    with folder(root) as tmp:
        path = tmp / "crn.txt"
        path.write_text("\n".join(lines) + "\n")
        code, out, err = cli("info", path, "--json")
        if not succeeded(code, err):
            return
        report = json.loads(out)
        # Counted without deepcrn: every line with an arrow (comments stripped) is one reaction.
        text = path.read_text()
        assert report["n_reactions"] == sum("->" in line.split("#", 1)[0] for line in text.splitlines())
        code, _, err = cli("export", path, "--to", "text", "-o", tmp / "again.txt")
        assert code == 0, err
        code, again, err = cli("info", tmp / "again.txt", "--json")
        assert code == 0 and json.loads(again) == report


# --------------------------------------------------------------------------- CSV
IDENTITY = "\n".join(
    [f"input {n} = {n.upper()}_p - {n.upper()}_n" for n in "abc"]
    + [f"output o{n} = O{n}_p - O{n}_n" for n in "abc"]
    + [f"{n.upper()}_{r} -> O{n}_{r}" for n in "abc" for r in "pn"]
)
CELLS = st.one_of(
    st.floats(-1e100, 1e100, allow_subnormal=True),
    st.sampled_from([0.0, -0.0, 1e100, -1e100, 5e-324]),
)
BAD_CELLS = st.sampled_from(["1e101", "-1e300", "nan", "inf", "abc", "", "1,5", '"', "1e400", "--1"])


@fuzz(80)
@given(
    st.sampled_from(["none", "perm", "other", "partial-ok", "partial-bad", "dup"]),
    st.permutations(["a", "b", "c"]),
    st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=1, max_size=5),
    st.one_of(st.none(), st.tuples(st.integers(1, 5), st.integers(0, 2), BAD_CELLS)),
    st.sampled_from(["\n", "\r\n"]),
)
def test_csv(root: Path, mode: str, perm: list[str], rows: list[list[float]], bad: Any, eol: str) -> None:
    x = np.array(rows)
    header: list[str] | None = {
        "none": None,
        "perm": list(perm),
        "other": ["p", "q", "r"],
        "partial-ok": ["a", "q", "c"],
        "partial-bad": ["q", "a", "r"],
        "dup": ["a", "a", "b"],
    }[mode]
    cells = [[repr(float(v)) for v in row] for row in x]
    expect_error = mode in ("partial-bad", "dup")
    if bad is not None and len(rows) > 1:  # a bad cell after the first row (the first decides the header)
        row, col, cell = bad
        cells[1 + (row - 1) % (len(rows) - 1)][col] = cell
        expect_error = True
    expect_error |= bool(np.any(np.abs(x) > 1e100))
    text = eol.join(([",".join(header)] if header else []) + [",".join(r) for r in cells]) + eol
    with folder(root) as tmp:
        save_crn(parse_crn(IDENTITY), tmp / "id.txt")
        (tmp / "x.csv").write_text(text)
        code, out, err = cli("evaluate", tmp / "id.txt", "--inputs", tmp / "x.csv", "-o", tmp / "y.csv")
        assert succeeded(code, err, tmp / "y.csv") != expect_error, (text, err)
        if code == 0:
            expected = x[:, [perm.index(n) for n in "abc"]] if mode == "perm" else x
            names, y = read_out((tmp / "y.csv").read_text())
            assert names == ["oa", "ob", "oc"]
            np.testing.assert_array_equal(y, expected + 0.0)  # exact: outputs are the inputs


# --------------------------------------------------------------------------- SBML
SBML_VALUES = st.sampled_from(["NaN", "INF", "-INF", "-1", "0", "1e400", "1e101", "abc", "", "1.5", "2", "true",
                               "false", "x y", "k_0", "3e-300"])  # fmt: skip


@st.composite
def sbml_mutations(draw: st.DrawFn) -> tuple[str, bool]:
    """An SBML model exported by deepcrn with a few attributes changed, removed or the text cut;
    and whether only simple numbers (initial concentrations, rate constants, integer
    stoichiometries) were changed, to values libRoadRunner reads the same way."""
    seed = draw(st.integers(0, 2**16))
    net = random_network(np.random.default_rng(seed), draw(st.sampled_from(["ternary", "integer"])), [2, 3, 2])
    text = to_sbml(compile_network(net, form=draw(st.sampled_from(["reduced", "full"]))))
    assigned = set(re.findall(r'<initialAssignment symbol="(\w+)"', text))

    def same_meaning(m: re.Match[str]) -> bool:
        """Numbers deepcrn and libRoadRunner read the same way: rate constants, stoichiometries,
        initial concentrations of species without an initial assignment (which SBML lets win)."""
        element = text[text.rfind("<", 0, m.start()) : text.find(">", m.end()) + 1]
        owner = re.search(r'\bid="(\w+)"', element)
        return (
            (m.group(1) == "value" and owner is not None and owner.group(1).startswith("k_"))
            or m.group(1) == "stoichiometry"
            or (m.group(1) == "initialConcentration" and owner is not None and owner.group(1) not in assigned)
        )

    numbers = draw(st.booleans())  # only such numbers, to other values; or anything
    numeric_only = True
    for _ in range(draw(st.integers(1, 3))):
        attrs = [m for m in re.finditer(r'(\w+)="([^"]*)"', text) if not numbers or same_meaning(m)]
        m = draw(st.sampled_from(attrs))
        how = "number" if numbers else draw(st.sampled_from(["value", "value", "delete", "number"]))
        if how == "number" and same_meaning(m):
            values = ["2", "3"] if m.group(1) == "stoichiometry" or not numbers else ["0.5", "2", "7.25"]
            new = f'{m.group(1)}="{draw(st.sampled_from(values))}"'
        else:
            numeric_only = False
            new = "" if how == "delete" else f'{m.group(1)}="{draw(SBML_VALUES)}"'
        text = text[: m.start()] + new + text[m.end() :]
    if not numbers and draw(st.integers(0, 4)) == 0:
        text, numeric_only = text[: draw(st.integers(0, len(text)))], False
    return text, numeric_only


def _sbml_counts(text: str) -> tuple[int, int] | None:
    """(species, reactions, counting reversible ones twice) by ElementTree, or None if not XML."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    species = root.findall(".//{*}listOfSpecies/{*}species")
    reactions = root.findall(".//{*}listOfReactions/{*}reaction")
    return len(species), sum(2 if r.get("reversible") == "true" else 1 for r in reactions)


@fuzz(40)
@given(sbml_mutations())
def test_sbml(root: Path, case: tuple[str, bool]) -> None:
    text, numeric_only = case
    with folder(root) as tmp:
        (tmp / "m.xml").write_text(text)
        code, out, err = cli("info", tmp / "m.xml", "--json")
        if not succeeded(code, err):
            return
        report = json.loads(out)
        if not text.lstrip().startswith("<"):  # cut to nothing: read as an (empty) CRN text
            assert report["n_species"] == report["n_reactions"] == 0
            return
        assert _sbml_counts(text) == (report["n_species"], report["n_reactions"])
        if not numeric_only:
            return
        event("compared with libRoadRunner")
        # Changed numbers only: deepcrn's exact equilibrium against libRoadRunner's simulation.
        import roadrunner

        (tmp / "x.csv").write_text("x0,x1\n0,0\n")  # the inputs the model was written with
        code, out, err = cli("evaluate", tmp / "m.xml", "--inputs", tmp / "x.csv")
        if not succeeded(code, err):
            return
        names, y = read_out(out)
        rr = roadrunner.RoadRunner(text)
        rr.integrator.absolute_tolerance = 1e-12
        rr.integrator.relative_tolerance = 1e-10
        rr.simulate(0, 1e8, 20)
        np.testing.assert_allclose([rr[n] for n in names], y[0], rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- ONNX
BREAKING = ["add-one-input", "no-output", "1d-weight", "string-weight", "nan-weight", "unknown-op",
            "bn-few-inputs", "swap-inputs", "float-weights", "bias-length"]  # fmt: skip


MUTATIONS = ["none", "alpha", "broadcast-bias", "bn", *BREAKING]


@st.composite
def onnx_models(draw: st.DrawFn, mutation: str) -> tuple[Any, Any, str]:
    """(model, the spec of dense layers it encodes, the mutation applied: ``mutation``, or a
    harmless variant where it does not apply)."""
    from onnx import TensorProto, helper, numpy_helper

    widths = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    nodes, inits, spec = [], [], []
    current = "x"

    def tensor(name: str, values: np.ndarray) -> None:
        inits.append(numpy_helper.from_array(values.astype(np.float32), name))

    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        d = float(draw(st.sampled_from([1.0, 2.0, 0.5, 3.0])))
        z = rng.integers(-3, 4, size=(n_in, n_out))
        w, b = z / d, np.round(rng.normal(size=n_out), 3)
        layer = {"w": w, "b": b, "relu": i < len(widths) - 2}
        style = draw(st.sampled_from(["gemm", "gemm-t", "matmul-add", "matmul-const"]))
        out = f"h{i}"
        if style.startswith("gemm"):
            transposed = style == "gemm-t"
            tensor(f"W{i}", w.T if transposed else w)
            tensor(f"b{i}", b)
            alpha = 2.0 if mutation == "alpha" and i == 0 else 1.0
            nodes.append(
                helper.make_node(
                    "Gemm", [current, f"W{i}", f"b{i}"], [out], name=f"g{i}", transB=int(transposed), alpha=alpha
                )
            )
            layer["w"] = w * alpha
        else:
            tensor(f"W{i}", w)
            nodes.append(helper.make_node("MatMul", [current, f"W{i}"], [f"m{i}"], name=f"mm{i}"))
            if style == "matmul-add":
                tensor(f"b{i}", b if not (mutation == "broadcast-bias" and i == 0) else b[:1])
                if mutation == "broadcast-bias" and i == 0:
                    layer["b"] = np.full(n_out, float(b[0]))
            else:
                nodes.append(
                    helper.make_node("Constant", [], [f"b{i}"], name=f"c{i}", value_floats=[float(v) for v in b])
                )
            nodes.append(helper.make_node("Add", [f"m{i}", f"b{i}"], [out], name=f"add{i}"))
        current = out
        if mutation == "bn" and i == 0:
            g = np.full(n_out, 2.0)
            mu, var = np.round(rng.normal(size=n_out), 2), np.full(n_out, 4.0)
            for name, v in (("bg", g), ("bb", np.zeros(n_out)), ("bm", mu), ("bv", var)):
                tensor(name, v)
            nodes.append(
                helper.make_node(
                    "BatchNormalization", [current, "bg", "bb", "bm", "bv"], ["bn"], name="bn", epsilon=0.0
                )
            )
            layer["w"], layer["b"] = layer["w"] * 1.0, (layer["b"] - mu) * 1.0  # scale 2 / sqrt(4) = 1
            current = "bn"
        if layer["relu"]:
            nodes.append(helper.make_node("Relu", [current], [f"r{i}"], name=f"relu{i}"))
            current = f"r{i}"
        spec.append(layer)
    first = next(n for n in nodes if n.op_type in ("Gemm", "MatMul"))
    if mutation == "add-one-input":
        nodes.append(helper.make_node("MatMul", [current, "Wx"], ["mx"], name="mx"))
        tensor("Wx", np.eye(widths[-1]))
        nodes.append(helper.make_node("Add", ["mx"], ["ax"], name="ax"))
        current = "ax"
    elif mutation == "no-output":
        del first.output[:]
    elif mutation in ("1d-weight", "string-weight", "nan-weight", "float-weights"):
        k = next(j for j, t in enumerate(inits) if t.name == first.input[1])
        old = numpy_helper.to_array(inits[k])
        if mutation == "1d-weight":
            new = numpy_helper.from_array(old.ravel(), first.input[1])
        elif mutation == "string-weight":
            new = helper.make_tensor(first.input[1], TensorProto.STRING, [old.size], [b"1"] * old.size)
        elif mutation == "nan-weight":
            new = numpy_helper.from_array(
                np.where(np.arange(old.size).reshape(old.shape) == 0, np.nan, old).astype(np.float32), first.input[1]
            )
        else:
            values = (rng.normal(size=old.shape) + 0.05 * np.sqrt(2)).astype(np.float32)
            new = numpy_helper.from_array(values, first.input[1])
            attrs = {a.name: helper.get_attribute_value(a) for a in first.attribute}
            w = values.astype(np.float64)
            spec[0]["w"] = (w.T if attrs.get("transB") else w) * attrs.get("alpha", 1.0)
            if old.size < 6:
                mutation = "few-float-weights"  # too few to be sure they are not integers times a scale
        inits[k] = new
    elif mutation == "unknown-op":
        nodes.append(helper.make_node("Sigmoid", [current], ["s"], name="squash"))
        current = "s"
    elif mutation == "bn-few-inputs":
        nodes.insert(
            nodes.index(first) + 1,
            helper.make_node("BatchNormalization", [first.output[0], first.input[1]], ["bnx"], name="bnx"),
        )
    elif mutation == "swap-inputs":
        first.input[0], first.input[1] = first.input[1], first.input[0]
    elif mutation == "bias-length":
        k = next((j for j, t in enumerate(inits) if re.fullmatch(r"b\d+", t.name)), None)
        if k is None:
            mutation = "none-constant-bias"
        else:
            n_out = widths[int(inits[k].name[1:]) + 1]
            inits[k] = numpy_helper.from_array(np.zeros(n_out + 1, np.float32), inits[k].name)
    # The graph output is the chain's last value.
    nodes.append(helper.make_node("Identity", [current], ["y"], name="out"))
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, widths[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, widths[-1]])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), spec, mutation


@pytest.mark.parametrize("mutation", MUTATIONS)
@fuzz(5)
@given(
    data=st.data(), damage=st.sampled_from(["intact", "intact", "intact", "cut", "garbage"]), seed=st.integers(0, 2**16)
)
def test_onnx(root: Path, mutation: str, data: st.DataObject, damage: str, seed: int) -> None:
    from deepcrn.network import load_network

    model, spec, mutation = data.draw(onnx_models(mutation))
    data = model.SerializeToString()
    if damage == "cut":
        data = data[: len(data) // 2]
    elif damage == "garbage":
        data = bytes(np.random.default_rng(seed).integers(0, 256, size=64, dtype=np.uint8))
    with folder(root) as tmp:
        (tmp / "m.onnx").write_bytes(data)
        out = tmp / "net.json"
        code, _, err = cli("import-onnx", tmp / "m.onnx", "-o", out)
        event(f"mutation {mutation}")
        ok = succeeded(code, err, out)
        if damage == "intact" and mutation in BREAKING:
            assert not ok, mutation
        if not ok or damage != "intact":
            return
        x = np.random.default_rng(seed).normal(size=(4, spec[0]["w"].shape[0])).astype(np.float32)
        h = x.astype(np.float64)
        for layer in spec:
            h = h @ layer["w"] + layer["b"]
            h = np.maximum(h, 0) if layer["relu"] else h
        y = load_network(out).forward(x)
        np.testing.assert_allclose(y, h, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(h).max())))


# --------------------------------------------------------------------------- IDX and PNG
@st.composite
def idx_files(draw: st.DrawFn) -> tuple[bytes, np.ndarray | None, int]:
    """(file bytes, the array they hold when valid, the number of dimensions asked for)."""
    dims = draw(st.lists(st.integers(0, 5), min_size=0, max_size=3))
    values = np.arange(math.prod(dims), dtype=np.int64).astype(np.uint8).reshape(dims)
    header = bytearray(b"\0\0\x08" + bytes([len(dims)]) + struct.pack(f">{len(dims)}I", *dims))
    body = values.tobytes()
    expected: np.ndarray | None = values
    damage = draw(st.sampled_from(["none", "none", "magic", "type", "huge", "short", "long", "cut-header", "bad-gzip"]))
    packed = draw(st.booleans())
    damaged = damage != "none"
    if damage == "magic":
        header[0] = 1
    elif damage == "type":
        header[2] = 0x0D  # floats
    elif damage == "huge" and dims:
        header[4:8] = struct.pack(">I", 2**32 - 1)
        if 0 in dims[1:]:  # 4294967295 x 0 x ... holds no values: still valid
            damaged, expected = False, np.zeros([2**32 - 1, *dims[1:]], dtype=np.uint8)
    elif damage == "short" and body:
        body = body[:-1]
    elif damage == "long":
        body += b"\0"
    elif damage == "cut-header":
        header = header[: max(0, len(header) - 2)]
        body = b""
    elif damage != "huge" or not dims:
        damaged = damage == "bad-gzip" and packed
    raw = bytes(header) + body
    if packed:
        raw = gzip.compress(raw)
        if damage == "bad-gzip":
            raw = raw[:12]
    if damaged:
        expected = None
    asked = draw(st.sampled_from([len(dims), len(dims), 1, 3]))
    if asked != len(dims):
        expected = None
    return raw, expected, asked


@fuzz(60)
@given(idx_files())
def test_idx(root: Path, case: tuple[bytes, np.ndarray | None, int]) -> None:
    raw, expected, asked = case
    with folder(root) as tmp:
        (tmp / "f.idx").write_bytes(raw)
        try:
            got = read_idx(tmp / "f.idx", asked)
        except DataError as err:
            event("refused")
            assert "f.idx" in str(err) and "\n" not in str(err)
            assert expected is None, err
            return
        event("read")
        assert expected is not None
        np.testing.assert_array_equal(got, expected)


@fuzz(8)
@given(idx_files().filter(lambda case: case[1] is None))
def test_idx_through_run_mnist(root: Path, data_root: Path, case: tuple[bytes, np.ndarray | None, int]) -> None:
    """Broken MNIST training files end ``deepcrn run mnist`` with one line, before any training."""
    raw, _, _ = case
    with folder(root) as tmp:
        (tmp / "train-images-idx3-ubyte.gz").write_bytes(raw)
        (tmp / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\0\0\x08\x01\0\0\0\x02\x01\x02"))
        code, _, err = cli("run", "mnist", "--mnist-train", tmp, "--out", tmp / "out")
        assert not succeeded(code, err, tmp / "out")
        assert "train-images-idx3-ubyte.gz" in err


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@st.composite
def png_files(draw: st.DrawFn) -> tuple[bytes, np.ndarray | None]:
    """(file bytes, the mask they hold when intact)."""
    from PIL import Image

    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    grey = np.random.default_rng(draw(st.integers(0, 2**16))).integers(0, 256, size=(h, w)).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, format="PNG")
    data = buffer.getvalue()
    mask: np.ndarray | None = grey < 128
    damage = draw(st.sampled_from(["none", "none", "claim", "claim-huge", "cut", "flip", "garbage", "empty"]))
    if damage in ("claim", "claim-huge"):
        side = 20000 if damage == "claim-huge" else draw(st.sampled_from([600, 2**31 - 1]))
        ihdr = struct.pack(">II", side, side) + data[24:29]
        data = data[:8] + _png_chunk(b"IHDR", ihdr) + data[33:]
    elif damage == "cut":
        data = data[: draw(st.integers(0, len(data) - 13))]
    elif damage == "flip":
        k = draw(st.integers(8, len(data) - 1))
        data = data[:k] + bytes([data[k] ^ 0xFF]) + data[k + 1 :]
    elif damage == "garbage":
        data = draw(st.binary(max_size=64))
    elif damage == "empty":
        data = b""
    if damage != "none":
        mask = None
    return data, mask


@fuzz(60)
@given(png_files())
def test_png(root: Path, case: tuple[bytes, np.ndarray | None]) -> None:
    data, mask = case
    with folder(root) as tmp:
        (tmp / "m.png").write_bytes(data)
        try:
            got = read_mask(tmp / "m.png")
        except DataError as err:
            assert "m.png" in str(err)
            if mask is not None:  # an intact image is refused only when it is a single colour
                assert mask.all() or not mask.any(), err
            else:  # refused by the library: refused by the command too, in one line
                code, _, cli_err = cli("run", "pattern", "--image", tmp / "m.png", "--out", tmp / "out")
                assert not succeeded(code, cli_err, tmp / "out")
            return
        if mask is not None:
            np.testing.assert_array_equal(got, mask)
        else:  # a damaged file that still decodes (a flipped pixel byte) is still a mask
            assert got.dtype == bool and got.ndim == 2


# --------------------------------------------------------------------------- numeric options
OPTION_VALUES = st.one_of(
    st.sampled_from(["0", "-1", "1", "1e-3", "0.5", "1e-12", "1e6", "1e100", "1e101", "inf", "-inf", "nan", "abc",
                     "", "1e-400", "2**63", "9223372036854775808", "18446744073709551616", "3", "7", "1.5"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(2**70), 2**70).map(str),
)  # fmt: skip


@pytest.fixture(scope="module")
def small_case(root: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """A compiled 2-3-2 network, a CSV of 3 inputs, the inputs and the network's outputs (NumPy)."""
    net = random_network(np.random.default_rng(11), "ternary", [2, 3, 2])
    save_crn(compile_network(net), root / "small.txt")
    x = np.random.default_rng(12).normal(size=(3, 2))
    (root / "small.csv").write_text(csv_text(["x0", "x1"], x))
    data = net.to_dict()
    return root / "small.txt", root / "small.csv", x, numpy_forward(data, x)


@fuzz(50)
@given(
    st.sampled_from(["exact", "ode"]),
    st.sampled_from(["auto", "circuit", "fire", "batched", "scipy", "magic"]),
    st.sampled_from(["given", "unit", "random"]),
    st.fixed_dictionaries(
        {},
        optional={
            "--tol": st.one_of(st.sampled_from(["1e-3", "1e-6", "0.1", "1"]), OPTION_VALUES),
            "--t-max": st.one_of(st.sampled_from(["1e6", "1e-3", "1e100"]), OPTION_VALUES),
            "--seed": st.one_of(st.sampled_from(["0", "5", str(2**63 - 1)]), OPTION_VALUES),
        },
    ),
)
def test_evaluate_options(
    root: Path, small_case: Any, method: str, engine: str, rates: str, options: dict[str, str]
) -> None:
    crn, csv, _, expected = small_case
    with folder(root) as tmp:
        args = [
            "evaluate",
            crn,
            "--inputs",
            csv,
            "--method",
            method,
            "--engine",
            engine,
            "--rates",
            rates,
            "-o",
            tmp / "y.csv",
        ]
        args += [f"{k}={v}" for k, v in options.items()]
        code, _, err = cli(*args)
        if not succeeded(code, err, tmp / "y.csv"):
            return
        assert engine != "magic"
        _, y = read_out((tmp / "y.csv").read_text())
        if method == "exact":
            np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
            return
        tol = float(options.get("--tol", "1e-3"))
        converged = re.search(r"(\d+)/(\d+) converged", err)
        assert converged is not None, err
        if converged.group(1) == converged.group(2):
            event("ODE converged: compared")
            bound = 2 * tol * np.maximum(1.0, np.abs(expected).max(axis=1, keepdims=True)) + 1e-9
            assert np.all(np.abs(y - expected) <= bound), (y, expected, tol)


@pytest.mark.parametrize("fmt", ["sbml", "antimony", "crnsimulator", "text", "svg"])
@fuzz(8)
@given(row=st.one_of(st.sampled_from(["1", "2", "3"]), OPTION_VALUES))
def test_export_row(root: Path, small_case: Any, fmt: str, row: str) -> None:
    crn, csv, x, expected = small_case
    with folder(root) as tmp:
        out = tmp / "model"
        code, _, err = cli("export", crn, "--to", fmt, "-o", out, "--inputs", csv, f"--row={row}")
        if not succeeded(code, err, out):
            return
        k = int(row) - 1
        assert 0 <= k < len(x)
        if fmt == "text":  # the inputs folded into the initial concentrations: a closed CRN
            from deepcrn.exact import evaluate
            from deepcrn.interop.text import load_crn

            np.testing.assert_allclose(evaluate(load_crn(out), None)[0], expected[k], rtol=1e-12, atol=1e-12)
        elif fmt == "sbml":  # the input parameters hold the row (read with libsbml alone)
            import libsbml

            model = libsbml.readSBMLFromString(out.read_text()).getModel()
            values = [model.getParameter(n).getValue() for n in ("x0", "x1")]
            np.testing.assert_allclose(values, x[k], rtol=1e-14)
        else:
            assert all(repr(float(v)) in out.read_text() for v in x[k] if v > 0)


SWEEP_VALID = {"--rate-draws": "2", "--seed": "0", "--low": "0.1", "--high": "10", "--tol": "1e-3", "--workers": "1"}


@fuzz(30)
@given(
    st.fixed_dictionaries({k: st.one_of(st.just(v), OPTION_VALUES) for k, v in SWEEP_VALID.items()}),
    st.one_of(st.none(), st.sampled_from(["not a url", "http://x", "tcp://", "tcp://a b:1", ""])),
)
def test_sweep_options_are_refused_before_any_worker(
    root: Path, small_case: Any, options: dict[str, str], scheduler: str | None
) -> None:
    def valid(key: str, value: str) -> bool:
        try:
            v = float(value)
        except ValueError:
            return False
        if key in ("--rate-draws", "--workers", "--seed"):
            return value.lstrip("-").isdigit() and v >= (0 if key == "--seed" else 1) and v < 2**63
        return math.isfinite(v) and 0 < v <= (1 if key == "--tol" else 1e100)

    ok = all(valid(k, v) for k, v in options.items())
    ok = ok and float(options["--low"]) <= float(options["--high"]) and scheduler is None
    assume(not ok)  # valid options would start a cluster: tests/test_sweep.py runs those
    crn, csv, _, _ = small_case
    with folder(root) as tmp:
        start = time.perf_counter()
        extra = ["--scheduler", scheduler] if scheduler is not None else []
        code, _, err = cli(
            "sweep", crn, "--inputs", csv, *[f"{k}={v}" for k, v in options.items()], *extra, "--out", tmp / "out"
        )
        assert not succeeded(code, err, tmp / "out")
        assert time.perf_counter() - start < 5, "refused only after starting workers"


RUN_VALID = {
    "--seed": "0",
    "--epochs": "1",
    "--restarts": "1",
    "--train-subset": "10",
    "--test-subset": "10",
    "--ode-examples": "1",
    "--hidden": "2",
}


@fuzz(30)
@given(st.fixed_dictionaries({k: st.one_of(st.just(v), OPTION_VALUES) for k, v in RUN_VALID.items()}))
def test_run_options_are_refused_before_training(root: Path, options: dict[str, str]) -> None:
    def valid(key: str, value: str) -> bool:
        if key == "--hidden":
            return bool(re.fullmatch(r"\s*\+?\d+\s*", value)) and int(value) >= 1
        if not re.fullmatch(r"\s*[-+]?\d+\s*", value):
            return False
        low = 0 if key in ("--seed", "--ode-examples") else 1
        high = {"--seed": 2**63 - 1, "--restarts": 1024}.get(key, math.inf)
        return low <= int(value) <= high

    assume(not all(valid(k, v) for k, v in options.items()))  # valid options would train
    with folder(root) as tmp:
        start = time.perf_counter()
        code, _, err = cli("run", "iris", *[f"{k}={v}" for k, v in options.items()], "--out", tmp / "out")
        assert not succeeded(code, err, tmp / "out")
        assert time.perf_counter() - start < 5, "refused only after training"


SEARCH_VALID = {
    "--seeds": "1",
    "--max-hidden": "3",
    "--epochs": "1",
    "--ode-examples": "1",
    "--workers": "1",
    "--sparsity": "0",
    "--depths": "1",
}


@fuzz(30)
@given(st.fixed_dictionaries({k: st.one_of(st.just(v), OPTION_VALUES) for k, v in SEARCH_VALID.items()}))
def test_search_options_are_refused_before_training(root: Path, options: dict[str, str]) -> None:
    def valid(key: str, value: str) -> bool:
        if key == "--sparsity":
            try:
                return all(math.isfinite(float(v)) and float(v) >= 0 for v in value.split(","))
            except ValueError:
                return False
        if not re.fullmatch(r"\s*\+?\d+\s*", value):
            return False
        return int(value) >= (0 if key == "--ode-examples" else 1)

    assume(not all(valid(k, v) for k, v in options.items()))  # valid options would train
    with folder(root) as tmp:
        code, _, err = cli("search", "iris", *[f"{k}={v}" for k, v in options.items()], "--out", tmp / "out")
        assert not succeeded(code, err, tmp / "out")


@fuzz(6)
@given(st.sampled_from(["-1", "abc", "", "1e3", "9223372036854775808", "0", "7"]))
def test_demo_seed(seed: str) -> None:
    code, out, err = cli("demo", f"--seed={seed}")
    if not succeeded(code, err):
        return
    diffs = [float(v) for v in re.findall(r"max \|diff\| ([0-9.e+-]+)", out)]
    assert len(diffs) == 2 and max(diffs) < 1e-12, out


# --------------------------------------------------------------------------- the real program
def test_console_script_on_fuzzed_files(tmp_path: Path) -> None:
    """A few of the cases above through the installed ``deepcrn`` program: stderr holds the one
    error line and nothing else (no traceback, no warning)."""
    console = Path(sys.executable).with_name("deepcrn")
    (tmp_path / "n.json").write_text(json.dumps({"format": "deepcrn-network", "version": 1, "layers": [
        {"weights": [[10**400]], "bias": [float("nan")], "activation": "linear"}]}))  # fmt: skip
    (tmp_path / "c.txt").write_text("A -> " + "9" * 400 + " B\ninit A = nan\n")
    (tmp_path / "m.xml").write_text(
        to_sbml(parse_crn("init A = 1\nA -> B")).replace('stoichiometry="1"', 'stoichiometry="INF"')
    )
    (tmp_path / "x.csv").write_text("x\n1e400\n")
    (tmp_path / "m.onnx").write_bytes(b"\x08\x07\x12\x04junk" * 5)
    cases = (
        ["compile", "n.json"],
        ["info", "c.txt"],
        ["info", "m.xml"],
        ["evaluate", "m.xml", "--inputs", "x.csv"],
        ["import-onnx", "m.onnx", "-o", "o.json"],
        ["sweep", "m.xml", "--inputs", "x.csv", "--low", "10", "--high", "1"],
    )
    for args in cases:
        proc = subprocess.run(
            [str(console), *args], capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False
        )
        assert proc.returncode == 2 and proc.stdout == "", (args, proc.stdout, proc.stderr)
        assert proc.stderr.startswith("deepcrn: error: ") and proc.stderr.count("\n") == 1, (args, proc.stderr)
