"""Import a feed-forward network from ONNX (any framework: PyTorch, Keras via tf2onnx, ...).

Supported nodes, in a chain: ``Flatten``, ``Identity``, ``Dropout`` (inference: identity),
``Gemm``, ``MatMul`` (+ ``Add`` of a constant bias), inference-mode ``BatchNormalization``
(folded into the preceding dense layer), ``Relu``. Each dense layer's weights must be integers
times one positive per-layer factor (``W = Z / d``); the weight kind is the smallest of
binary/ternary/integer that holds every ``Z``. Anything else is refused naming the node.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NetworkError, ParseError
from ..network import Layer, Network, infer_weight_kind

RTOL = 1e-5  # how close W * d must be to integers (float32 exports)


def integer_form(w: np.ndarray, where: str) -> tuple[np.ndarray, float]:
    """``(Z, d)`` with integer ``Z`` and ``d > 0`` such that ``W = Z / d``, or an error."""
    nonzero = np.abs(w[w != 0])
    if nonzero.size == 0:
        return np.zeros_like(w), 1.0
    unit = float(nonzero.min())
    z = w / unit
    if np.max(np.abs(z - np.rint(z))) > RTOL * max(1.0, float(np.abs(z).max())) or np.abs(z).max() > 1000:
        raise NetworkError(
            f"{where}: weights are not integers times one positive per-layer scale "
            f"(e.g. {float(w.ravel()[np.argmax(np.abs(z - np.rint(z)).ravel())]):.6g} is not a multiple of "
            f"{unit:.6g}); train with binary/ternary/integer weights"
        )
    return np.rint(z), 1.0 / unit


def _attr(node: Any, name: str, default: Any) -> Any:
    import onnx

    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def from_onnx_model(model: Any, source: str = "<onnx>") -> Network:
    from onnx import numpy_helper

    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            consts[node.output[0]] = numpy_helper.to_array(_attr(node, "value", None)).astype(np.float64)
    inputs = [i.name for i in graph.input if i.name not in consts]
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
        data_inputs = [i for i in node.input if i and i not in consts]
        if data_inputs != [current]:
            raise NetworkError(f"{where}: the graph is not a simple chain of layers (inputs {list(node.input)})")
        if op in ("Identity", "Dropout", "Flatten"):
            if op == "Flatten" and _attr(node, "axis", 1) != 1:
                raise NetworkError(f"{where}: only Flatten with axis=1 is supported")
        elif op == "Gemm":
            b = consts.get(node.input[1])
            if b is None:
                raise NetworkError(f"{where}: the weight matrix must be a constant initializer")
            if _attr(node, "transA", 0):
                raise NetworkError(f"{where}: transA=1 is not supported")
            w = b.T if _attr(node, "transB", 0) else b
            w = w * _attr(node, "alpha", 1.0)
            bias = np.zeros(w.shape[1])
            if len(node.input) > 2 and node.input[2]:
                bias = np.broadcast_to(consts[node.input[2]] * _attr(node, "beta", 1.0), (w.shape[1],)).copy()
            dense.append([w, bias, False, name])
        elif op == "MatMul":
            matrix = consts.get(node.input[1])
            if matrix is None or matrix.ndim != 2:
                raise NetworkError(f"{where}: the second operand must be a constant 2-D weight matrix")
            dense.append([matrix, np.zeros(matrix.shape[1]), False, name])
        elif op == "Add":
            if not dense or dense[-1][2]:
                raise NetworkError(f"{where}: Add must follow a MatMul or Gemm")
            c = consts[next(i for i in node.input if i in consts)]
            dense[-1][1] = dense[-1][1] + np.broadcast_to(c, dense[-1][1].shape)
        elif op == "BatchNormalization":
            if not dense or dense[-1][2]:
                raise NetworkError(f"{where}: BatchNormalization must follow a dense layer (before its Relu)")
            scale, shift, mean, var = (consts[i] for i in node.input[1:5])
            factor = scale / np.sqrt(var + _attr(node, "epsilon", 1e-5))
            if np.any(factor <= 0):
                raise NetworkError(f"{where}: a non-positive BatchNormalization scale flips signs; cannot fold")
            dense[-1][0] = dense[-1][0] * factor
            dense[-1][1] = (dense[-1][1] - mean) * factor + shift
        elif op == "Relu":
            if not dense or dense[-1][2]:
                raise NetworkError(f"{where}: Relu must follow a dense layer")
            dense[-1][2] = True
        else:
            raise NetworkError(
                f"{where}: unsupported operator; deepcrn imports Gemm, MatMul, Add, Relu, Flatten, Identity, "
                "Dropout and BatchNormalization"
            )
        current = node.output[0]
    if not dense:
        raise NetworkError(f"{source}: no dense layer found")
    layers = []
    for i, (w, bias, relu, name) in enumerate(dense):
        last = i == len(dense) - 1
        if last and relu:
            raise NetworkError(f"{source}: node {name!r}: the last layer must be linear (no Relu after it)")
        if not last and not relu:
            raise NetworkError(f"{source}: node {name!r}: hidden layers must be followed by Relu")
        z, d = integer_form(np.asarray(w), f"{source}: node {name!r}")
        layers.append(Layer(z, np.asarray(bias, dtype=np.float64), "linear" if last else "relu", d))
    return Network(tuple(layers), infer_weight_kind(layers), {"source": f"onnx:{Path(source).name}"})


def load_onnx(path: str | os.PathLike[str]) -> Network:
    """Read an ONNX file into a :class:`~deepcrn.network.Network`."""
    import onnx

    p = Path(path)
    try:
        model = onnx.load(str(p))
    except FileNotFoundError as err:
        raise ParseError(f"cannot read ONNX file {p}: no such file") from err
    except Exception as err:  # onnx raises DecodeError and friends for malformed files
        raise ParseError(f"{p}: not a readable ONNX model ({type(err).__name__})") from err
    return from_onnx_model(model, str(p))
