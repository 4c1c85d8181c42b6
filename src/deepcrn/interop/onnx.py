"""Import a feed-forward network from ONNX (any framework: PyTorch, Keras via tf2onnx, ...).

Supported nodes, in a chain: ``Flatten``, ``Identity``, ``Dropout`` (inference: identity),
``Gemm``, ``MatMul`` (+ ``Add`` of a constant bias), inference-mode ``BatchNormalization``
(folded into the preceding dense layer), ``Relu``; constants come from initializers or
``Constant`` nodes (``value``, ``value_float(s)``, ``value_int(s)``). Each dense layer's weights
must be integers times one positive per-layer factor (``W = Z / d``, :func:`integer_form`); the
weight kind is the smallest of binary/ternary/integer that holds every ``Z``. Anything else is
refused naming the file and the node.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NetworkError, ParseError
from ..network import Layer, Network, infer_weight_kind

#: How close ``W * d`` must be to integers, relative to ``|W|`` (float32 exports carry ~1e-7).
RTOL = 1e-6
#: The largest ``|Z|`` :func:`integer_form` looks for when the weights are not integers already
#: (a bound keeps the search from fitting any real number with a huge denominator).
MAX_INTEGER = 1000


def integer_form(w: np.ndarray, where: str) -> tuple[np.ndarray, float]:
    """``(Z, d)`` with integer ``Z`` and ``d > 0`` such that ``W = Z / d``, or an error naming ``where``.

    Integer weights give the smallest such integers (``d = 1 / gcd``: ``{2, 3}`` stays
    ``{2, 3}``, ``{2, -2}`` becomes ``{1, -1}`` with ``d = 1/2``). Other weights are divided by
    their smallest magnitude and each ratio is written as the fraction with the smallest
    denominator within ``RTOL`` (relative, about float32 rounding); ``d`` clears the
    denominators, and ``|Z|`` may not exceed ``MAX_INTEGER``. So every imported weight ``Z / d``
    equals the file's within ``RTOL``.

        >>> integer_form(np.array([[2.0, 3.0]]), "w")
        (array([[2., 3.]]), 1.0)
        >>> integer_form(np.array([[0.5, -1.5, 0.0]]), "w")
        (array([[ 1., -3.,  0.]]), 2.0)
    """
    w = np.asarray(w, dtype=np.float64)
    if not np.all(np.isfinite(w)):
        bad = w[~np.isfinite(w)].ravel()[0]
        raise NetworkError(f"{where}: the weights contain {bad}; expected finite numbers")
    nonzero = np.abs(w[w != 0])
    if nonzero.size == 0:
        return np.zeros_like(w), 1.0
    if np.all(w == np.rint(w)) and nonzero.max() <= 2**53:
        g = int(np.gcd.reduce(nonzero.astype(np.int64)))
        return np.rint(w) / g, 1.0 / g
    unit = float(nonzero.min())
    ratios = np.unique(nonzero) / unit  # >= 1
    denominator = 1
    for r in ratios:
        q = _denominator(float(r) * denominator, MAX_INTEGER)
        if q is None or r * denominator * q > MAX_INTEGER:
            denominator = MAX_INTEGER + 1  # no fit: reported below
            break
        denominator *= q
    z = np.rint(w / unit * denominator)
    g = int(np.gcd.reduce(np.abs(z[z != 0]).astype(np.int64))) if np.abs(z).max() <= 2**53 else 1
    z, d = z / g, denominator / (unit * g)
    error = np.abs(w - z / d)
    if np.abs(z).max() > MAX_INTEGER or np.any(error > RTOL * np.abs(w)):
        k = int(np.argmax(error / np.abs(np.where(w == 0, 1.0, w))))
        raise NetworkError(
            f"{where}: weights are not integers times one positive per-layer scale: no d makes every "
            f"weight * d an integer of size at most {MAX_INTEGER} (e.g. {float(w.ravel()[k]):.6g} / "
            f"{unit:.6g} = {float(w.ravel()[k]) / unit:.6g}); train with binary/ternary/integer weights"
        )
    return z, d


def _denominator(r: float, max_q: int) -> int | None:
    """The smallest denominator ``q <= max_q`` of a continued-fraction convergent ``p / q`` of
    ``r > 0`` within ``RTOL * r``, or None."""
    h_prev, h, k_prev, k = 0, 1, 1, 0
    x = r
    for _ in range(64):
        a = math.floor(x)
        h_prev, h = h, a * h + h_prev
        k_prev, k = k, a * k + k_prev
        if k > max_q:
            return None
        if abs(r - h / k) <= RTOL * r:
            return k
        if x == a:
            return None
        x = 1.0 / (x - a)
    return None


def _attr(node: Any, name: str, default: Any) -> Any:
    import onnx

    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _number_attr(node: Any, name: str, default: float, where: str) -> float:
    value = _attr(node, name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise NetworkError(f"{where}: attribute {name!r} is {value!r}; expected a finite number")
    return float(value)


def _array(tensor: Any, what: str) -> np.ndarray:
    """A tensor's numbers as float64; anything else (strings, booleans, external data) is refused."""
    from onnx import numpy_helper

    try:
        arr = numpy_helper.to_array(tensor)
    except Exception as err:  # onnx raises many types for tensors it cannot decode
        raise NetworkError(f"{what} cannot be read ({type(err).__name__}: {err})") from None
    if arr.dtype.kind in "OSUbcmM":
        raise NetworkError(f"{what} holds {arr.dtype} data; expected numbers")
    try:
        return np.asarray(arr.astype(np.float64))
    except (TypeError, ValueError) as err:
        raise NetworkError(f"{what} holds {arr.dtype} data; expected numbers ({err})") from None


def _constant_node(node: Any, where: str) -> np.ndarray:
    """The value of a ``Constant`` node."""
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        value = _attr(node, key, None)
        if value is None:
            continue
        if key == "value":
            return _array(value, f"{where}: its 'value'")
        return np.asarray(value, dtype=np.float64)
    given = ", ".join(a.name for a in node.attribute) or "no attribute"
    raise NetworkError(
        f"{where}: a Constant must hold numbers ('value', 'value_float(s)' or 'value_int(s)'), got {given}"
    )


def _bias(c: np.ndarray, n: int, where: str, what: str = "the bias") -> np.ndarray:
    """``n`` values (one per output) from a constant of shape ``()``, ``(1,)``, ``(n,)`` or ``(1, n)``."""
    if c.size == 1:
        return np.full(n, float(c.ravel()[0]))
    if c.size != n or c.ndim > 2 or (c.ndim == 2 and c.shape[0] != 1):
        raise NetworkError(f"{where}: {what} has shape {c.shape}, expected ({n},) for a layer of {n} outputs")
    return c.ravel().copy()


def from_onnx_model(model: Any, source: str = "<onnx>") -> Network:
    graph = model.graph
    tensors = {t.name: t for t in graph.initializer}
    consts: dict[str, np.ndarray] = {}

    def const(name: str, where: str) -> np.ndarray | None:
        if name not in consts and name in tensors:
            consts[name] = _array(tensors[name], f"{where}: initializer {name!r}")
        return consts.get(name)

    for node in graph.node:
        if node.op_type == "Constant":
            where = f"{source}: node {node.name or node.op_type!r} (Constant)"
            if len(node.output) != 1:
                raise NetworkError(f"{where}: expected one output, found {len(node.output)}")
            consts[node.output[0]] = _constant_node(node, where)
    known = set(tensors) | set(consts)
    inputs = [i.name for i in graph.input if i.name not in known]
    if len(inputs) != 1:
        raise NetworkError(f"{source}: expected one graph input, found {len(inputs)}")
    current = inputs[0]
    dense: list[list[Any]] = []  # [weights (n_in, n_out), bias, relu?, node name]
    for node in graph.node:
        name = node.name or node.op_type
        where = f"{source}: node {name!r} ({node.op_type})"
        op = node.op_type
        if op == "Constant":
            continue
        if not node.output or not node.output[0]:
            raise NetworkError(f"{where}: the node has no output")
        data_inputs = [i for i in node.input if i and i not in known]
        if data_inputs != [current]:
            raise NetworkError(f"{where}: the graph is not a simple chain of layers (inputs {list(node.input)})")
        if op in ("Identity", "Dropout", "Flatten"):
            if op == "Flatten" and _attr(node, "axis", 1) != 1:
                raise NetworkError(f"{where}: only Flatten with axis=1 is supported")
        elif op == "Gemm":
            if len(node.input) < 2 or node.input[0] != current:
                raise NetworkError(f"{where}: expected Gemm(x, W[, b]) with the layer input first")
            b = const(node.input[1], where)
            if b is None:
                raise NetworkError(f"{where}: the weight matrix must be a constant initializer")
            if b.ndim != 2:
                raise NetworkError(f"{where}: the weight matrix has shape {b.shape}; expected 2-D")
            if _attr(node, "transA", 0):
                raise NetworkError(f"{where}: transA=1 is not supported")
            w = b.T if _attr(node, "transB", 0) else b
            w = w * _number_attr(node, "alpha", 1.0, where)
            bias = np.zeros(w.shape[1])
            if len(node.input) > 2 and node.input[2]:
                c = const(node.input[2], where)
                if c is None:
                    raise NetworkError(f"{where}: the bias must be a constant initializer")
                bias = _bias(c, w.shape[1], where) * _number_attr(node, "beta", 1.0, where)
            dense.append([w, bias, False, name])
        elif op == "MatMul":
            matrix = const(node.input[1], where) if len(node.input) == 2 and node.input[0] == current else None
            if matrix is None or matrix.ndim != 2:
                raise NetworkError(f"{where}: expected MatMul(x, W) with a constant 2-D weight matrix W")
            dense.append([matrix, np.zeros(matrix.shape[1]), False, name])
        elif op == "Add":
            if not dense or dense[-1][2]:
                raise NetworkError(f"{where}: Add must follow a MatMul or Gemm")
            others = [i for i in node.input if i != current]
            c = const(others[0], where) if len(node.input) == 2 and len(others) == 1 else None
            if c is None:
                raise NetworkError(f"{where}: expected Add(x, b) with a constant bias b, got inputs {list(node.input)}")
            dense[-1][1] = dense[-1][1] + _bias(c, len(dense[-1][1]), where)
        elif op == "BatchNormalization":
            if not dense or dense[-1][2]:
                raise NetworkError(f"{where}: BatchNormalization must follow a dense layer (before its Relu)")
            params = [const(i, where) for i in node.input[1:5]]
            if len(node.input) != 5 or any(p is None for p in params):
                raise NetworkError(
                    f"{where}: expected BatchNormalization(x, scale, bias, mean, var) with 4 constant parameters, "
                    f"got inputs {list(node.input)}"
                )
            n = len(dense[-1][1])
            scale, shift, mean, var = (
                _bias(p, n, where, f"the {what}")
                for p, what in zip(params, ("scale", "bias", "mean", "var"))
                if p is not None
            )
            with np.errstate(all="ignore"):
                factor = scale / np.sqrt(var + _number_attr(node, "epsilon", 1e-5, where))
            if not np.all(np.isfinite(factor)) or np.any(factor <= 0):
                raise NetworkError(
                    f"{where}: the folded factor scale / sqrt(var + epsilon) must be finite and positive "
                    "(a non-positive one flips signs; cannot fold)"
                )
            dense[-1][0] = dense[-1][0] * factor
            dense[-1][1] = (dense[-1][1] - mean) * factor + shift
        elif op == "Relu":
            if not dense or dense[-1][2]:
                raise NetworkError(f"{where}: Relu must follow a dense layer")
            dense[-1][2] = True
        else:
            raise NetworkError(
                f"{where}: unsupported operator; deepcrn imports Gemm, MatMul, Add, Relu, Flatten, Identity, "
                "Dropout, BatchNormalization and Constant"
            )
        current = node.output[0]
    if not dense:
        raise NetworkError(f"{source}: no dense layer found")
    outputs = [o.name for o in graph.output]
    if outputs and outputs != [current]:
        raise NetworkError(f"{source}: the graph's outputs {outputs} are not the end of the chain ({current!r})")
    layers: list[Layer] = []
    for i, (w, bias, relu, name) in enumerate(dense):
        where = f"{source}: node {name!r}"
        last = i == len(dense) - 1
        if last and relu:
            raise NetworkError(f"{where}: the last layer must be linear (no Relu after it)")
        if not last and not relu:
            raise NetworkError(f"{where}: hidden layers must be followed by Relu")
        if i and w.shape[0] != layers[-1].n_out:
            raise NetworkError(
                f"{where}: the weights have {w.shape[0]} rows but the layer before has {layers[-1].n_out} outputs"
            )
        if not np.all(np.isfinite(bias)):
            raise NetworkError(f"{where}: the bias contains NaN or infinity; expected finite numbers")
        z, d = integer_form(np.asarray(w), where)
        try:
            layers.append(Layer(z, np.asarray(bias, dtype=np.float64), "linear" if last else "relu", d))
        except NetworkError as err:
            raise NetworkError(f"{where}: {err}") from err
    try:
        return Network(tuple(layers), infer_weight_kind(layers), {"source": f"onnx:{Path(source).name}"})
    except NetworkError as err:
        raise NetworkError(f"{source}: {err}") from err


def load_onnx(path: str | os.PathLike[str]) -> Network:
    """Read an ONNX file into a :class:`~deepcrn.network.Network`."""
    import onnx

    p = Path(path)
    try:
        model = onnx.load(str(p))
    except FileNotFoundError as err:
        raise ParseError(f"cannot read ONNX file {p}: no such file") from err
    except IsADirectoryError as err:
        raise ParseError(f"cannot read ONNX file {p}: it is a folder") from err
    except Exception as err:  # onnx raises DecodeError and friends for malformed files
        raise ParseError(f"{p}: not a readable ONNX model ({type(err).__name__})") from err
    return from_onnx_model(model, str(p))
