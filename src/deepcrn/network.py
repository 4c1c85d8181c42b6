"""The framework-free network: dense layers, weight kinds, forward pass and file format.

A network is a stack of dense layers ``h_l = act_l(h_{l-1} @ W_l + b_l)`` with ReLU hidden layers
and a linear last layer; the class is the argmax of the last layer. Weights are stored as integers
``Z_l`` with a positive per-layer ``scale`` ``d_l``: ``W_l = Z_l / d_l``. The weight kind limits
``Z_l``: ``binary`` {-1, +1}, ``ternary`` {-1, 0, +1}, ``integer`` any integers.

Example::

    >>> import numpy as np
    >>> from deepcrn.network import Layer, Network
    >>> net = Network((Layer(np.array([[1, -1]]), np.array([0.5, 0.0]), "relu"),
    ...                Layer(np.array([[1], [1]]), np.array([0.0]), "linear")), "ternary")
    >>> net.forward(np.array([[2.0]])).tolist()
    [[2.5]]

File format (DESIGN section 8)::

    {"format": "deepcrn-network", "version": 1, "weight_kind": "ternary",
     "layers": [{"weights": [[...n_out...] x n_in], "bias": [...], "activation": "relu",
                 "scale": 1}, ...]}

``weight_kind`` and ``scale`` are optional (the kind is inferred, the scale defaults to 1); any
other key, at the top or in a layer, is kept and written back. ``input_lower_bounds`` (optional,
one number per input) are the inputs' known lower bounds, used by the input shift.

Numeric range (so that the CRN holds every number exactly or finitely): integer weights of size at
most ``2**53``; biases of size at most ``1e100``; for every layer ``l``, the product of the scales
``D_l = d_1 * ... * d_l`` within ``[1e-100, 1e100]`` and ``|bias_l| * D_l <= 1e100`` (the compiled
CRN's initial concentrations and output scales).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np

from ._io import atomic_write_text, read_text
from ._limits import MAX_AMOUNT, MAX_COEFFICIENT, MIN_SCALE
from .errors import NetworkError, ParseError

WeightKind = Literal["binary", "ternary", "integer"]
Activation = Literal["relu", "linear"]
WEIGHT_KINDS: tuple[WeightKind, ...] = ("binary", "ternary", "integer")
_EXACT = "integer weights that large cannot be held exactly (use a per-layer 'scale' instead)"
ACTIVATIONS: tuple[Activation, ...] = ("relu", "linear")
FORMAT_NAME = "deepcrn-network"
FORMAT_VERSION = 1
_ALLOWED: dict[str, frozenset[int] | None] = {
    "binary": frozenset({-1, 1}),
    "ternary": frozenset({-1, 0, 1}),
    "integer": None,
}


@dataclass(frozen=True, eq=False)
class Layer:
    """One dense layer: ``act(h @ (weights / scale) + bias)``.

    ``weights`` has shape ``(n_in, n_out)`` and integer values; ``bias`` shape ``(n_out,)``.
    """

    weights: np.ndarray
    bias: np.ndarray
    activation: Activation
    scale: float = 1.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        raw = np.asarray(self.weights)
        if raw.dtype.kind in "iu" and raw.size and (raw.max() > MAX_COEFFICIENT or raw.min() < -MAX_COEFFICIENT):
            big = int(raw.max() if raw.max() > MAX_COEFFICIENT else raw.min())
            raise NetworkError(f"weight {big} is larger than 2**53 = {MAX_COEFFICIENT} in size; {_EXACT}")
        try:
            w = np.asarray(raw, dtype=np.float64)
            b = np.asarray(self.bias, dtype=np.float64)
        except (TypeError, ValueError, OverflowError) as err:
            raise NetworkError(f"weights and bias must be arrays of numbers ({err})") from None
        if w.ndim != 2 or w.shape[0] == 0 or w.shape[1] == 0:
            raise NetworkError(f"weights must be a non-empty 2-D array (n_in, n_out), got shape {w.shape}")
        if b.shape != (w.shape[1],):
            raise NetworkError(f"bias has shape {b.shape}, expected ({w.shape[1]},) to match weights {w.shape}")
        if not np.all(np.isfinite(w)):
            raise NetworkError("weights contain NaN or infinity")
        if not np.all(np.isfinite(b)):
            raise NetworkError("bias contains NaN or infinity")
        if not np.all(w == np.round(w)):
            bad = w[w != np.round(w)][0]
            raise NetworkError(
                f"weight {bad!r} is not an integer; store integers and a per-layer 'scale' d "
                "(effective weights are weights / d)"
            )
        if np.abs(w).max() > MAX_COEFFICIENT:
            raise NetworkError(f"weight {np.abs(w).max():g} is larger than 2**53 = {MAX_COEFFICIENT} in size; {_EXACT}")
        if b.size and np.abs(b).max() > MAX_AMOUNT:
            raise NetworkError(f"bias {b[np.argmax(np.abs(b))]:g} is larger than {MAX_AMOUNT:g} in size")
        if self.activation not in ACTIVATIONS:
            raise NetworkError(f"unknown activation {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        try:
            scale = float(self.scale)
        except (TypeError, ValueError, OverflowError):
            scale = math.nan
        if not (math.isfinite(scale) and MIN_SCALE <= scale <= MAX_AMOUNT):
            raise NetworkError(
                f"'scale' must be a finite number in [{MIN_SCALE:g}, {MAX_AMOUNT:g}], got {self.scale!r}"
            )
        w.setflags(write=False)
        b.setflags(write=False)
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "bias", b)
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "extra", dict(self.extra))

    @property
    def n_in(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.weights.shape[1])

    @property
    def effective_weights(self) -> np.ndarray:
        """``weights / scale``, shape ``(n_in, n_out)``."""
        return self.weights / self.scale

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Layer):
            return NotImplemented
        return (
            self.activation == other.activation
            and self.scale == other.scale
            and np.array_equal(self.weights, other.weights)
            and np.array_equal(self.bias, other.bias)
            and dict(self.extra) == dict(other.extra)
        )

    __hash__ = None  # type: ignore[assignment]


def infer_weight_kind(layers: Sequence[Layer]) -> WeightKind:
    """The smallest weight kind that admits every layer's integer weights."""
    values = set(np.unique(np.concatenate([layer.weights.ravel() for layer in layers])).tolist())
    for kind in ("binary", "ternary"):
        allowed = _ALLOWED[kind]
        assert allowed is not None
        if values <= allowed:
            return cast(WeightKind, kind)
    return "integer"


@dataclass(frozen=True, eq=False)
class Network:
    """A feed-forward ReLU network with a linear last layer (see the module docstring)."""

    layers: tuple[Layer, ...]
    weight_kind: WeightKind
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        if not layers:
            raise NetworkError("a network needs at least one layer")
        if self.weight_kind not in WEIGHT_KINDS:
            raise NetworkError(f"unknown weight kind {self.weight_kind!r}; choose one of {', '.join(WEIGHT_KINDS)}")
        allowed = _ALLOWED[self.weight_kind]
        for i, layer in enumerate(layers, start=1):
            if not isinstance(layer, Layer):
                raise NetworkError(f"layer {i} is not a Layer")
            if i > 1 and layer.n_in != layers[i - 2].n_out:
                raise NetworkError(
                    f"layer {i} has {layer.n_in} inputs but layer {i - 1} has {layers[i - 2].n_out} outputs"
                )
            last = i == len(layers)
            if last and layer.activation != "linear":
                raise NetworkError(f"the last layer (layer {i}) must be linear, got {layer.activation!r}")
            if not last and layer.activation != "relu":
                raise NetworkError(f"hidden layer {i} must use relu, got {layer.activation!r}")
            if allowed is not None:
                bad = sorted(set(np.unique(layer.weights).tolist()) - allowed)
                if bad:
                    raise NetworkError(
                        f"layer {i} has weight {bad[0]:g}, outside the {self.weight_kind} set "
                        f"{{{', '.join(str(v) for v in sorted(allowed))}}}"
                    )
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "extra", dict(self.extra))
        for key in ("input_names", "output_names"):
            names = self.extra.get(key)
            expected = self.n_inputs if key == "input_names" else self.n_outputs
            if names is not None and (not isinstance(names, list) or len(names) != expected):
                raise NetworkError(f"{key} must be a list of {expected} names")
        if self.extra.get("input_lower_bounds") is not None:
            check_lower_bounds(self.extra["input_lower_bounds"], self.n_inputs)
        product = 1.0
        for i, layer in enumerate(layers, start=1):
            product *= layer.scale  # each factor is in [1e-100, 1e100]: no overflow before the check
            if not MIN_SCALE <= product <= MAX_AMOUNT:
                raise NetworkError(
                    f"layer {i}: the layer scales d_1 * ... * d_{i} multiply to {product:g}; keep every such "
                    f"product within [{MIN_SCALE:g}, {MAX_AMOUNT:g}] (the CRN's output scale)"
                )
            biggest = float(np.abs(layer.bias).max()) * product
            if biggest > MAX_AMOUNT:
                raise NetworkError(
                    f"layer {i}: bias {float(np.abs(layer.bias).max()):g} times the product of the scales "
                    f"{product:g} is {biggest:g}, larger than {MAX_AMOUNT:g} (the CRN's initial concentrations)"
                )

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out

    @property
    def shape(self) -> tuple[int, ...]:
        """Widths from the input to the output, e.g. ``(4, 8, 3)``."""
        return (self.n_inputs, *(layer.n_out for layer in self.layers))

    @property
    def input_names(self) -> list[str]:
        names = self.extra.get("input_names")
        return [str(n) for n in names] if names else [f"x{i}" for i in range(self.n_inputs)]

    @property
    def output_names(self) -> list[str]:
        names = self.extra.get("output_names")
        return [str(n) for n in names] if names else [f"y{j}" for j in range(self.n_outputs)]

    @property
    def input_lower_bounds(self) -> np.ndarray | None:
        """The inputs' declared lower bounds ``(n_inputs,)`` (the file's ``input_lower_bounds``), if any."""
        lows = self.extra.get("input_lower_bounds")
        return None if lows is None else check_lower_bounds(lows, self.n_inputs)

    @property
    def output_scale(self) -> float:
        """``d_1 * ... * d_L``: the integer-weight network's outputs are ``f(x)`` times this."""
        return float(np.prod([layer.scale for layer in self.layers]))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Outputs of the last layer, shape ``(batch, n_outputs)``, for inputs ``(batch, n_inputs)``."""
        h = check_inputs(x, self.n_inputs)
        for layer in self.layers:
            h = h @ layer.effective_weights + layer.bias
            if layer.activation == "relu":
                h = np.maximum(h, 0.0)
        return h

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class indices (argmax of :meth:`forward`), shape ``(batch,)``."""
        return np.argmax(self.forward(x), axis=1)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION}
        out["weight_kind"] = self.weight_kind
        out["layers"] = [
            {
                "weights": _int_lists(layer.weights),
                "bias": [float(v) for v in layer.bias],
                "activation": layer.activation,
                "scale": _number(layer.scale),
                **dict(layer.extra),
            }
            for layer in self.layers
        ]
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the JSON format atomically."""
        atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Network):
            return NotImplemented
        return (
            self.weight_kind == other.weight_kind
            and self.layers == other.layers
            and dict(self.extra) == dict(other.extra)
        )

    __hash__ = None  # type: ignore[assignment]


def check_lower_bounds(values: Any, n_inputs: int) -> np.ndarray:
    """``values`` as ``(n_inputs,)`` float64 if it is a list of ``n_inputs`` finite numbers of size
    at most 1e100 (input lower bounds), else a :class:`NetworkError` saying which entry is wrong."""
    if isinstance(values, np.ndarray):
        values = values.tolist()
    if not isinstance(values, (list, tuple)):
        raise NetworkError(f"input_lower_bounds must be a list of {n_inputs} numbers, got {type(values).__name__}")
    if len(values) != n_inputs:
        raise NetworkError(f"input_lower_bounds has {len(values)} entries, expected {n_inputs} (one per input)")
    out = np.empty(n_inputs)
    for k, v in enumerate(values):
        ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
        try:
            out[k] = float(v) if ok else math.nan
        except OverflowError:
            out[k] = math.inf
        if not (math.isfinite(out[k]) and abs(out[k]) <= MAX_AMOUNT):
            raise NetworkError(
                f"input_lower_bounds[{k}] is {_show(v)}; expected a finite number of size at most {MAX_AMOUNT:g}"
            )
    return out


def check_inputs(x: np.ndarray, n_inputs: int) -> np.ndarray:
    """Validate a ``(batch, n_inputs)`` array of finite numbers and return it as float64."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != n_inputs:
        raise NetworkError(f"inputs have shape {arr.shape}, expected (batch, {n_inputs})")
    if not np.all(np.isfinite(arr)):
        row = int(np.argwhere(~np.isfinite(arr))[0][0])
        raise NetworkError(f"inputs contain NaN or infinity (example {row})")
    return arr


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _int_lists(weights: np.ndarray) -> list[list[int]]:
    return cast(list[list[int]], weights.astype(np.int64).tolist())


def _show(value: Any) -> str:
    """``value`` for a message, without printing a 1000-digit integer."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_numbers(value: Any, what: str, limit: float, exact: bool = False) -> np.ndarray:
    """Nested lists of JSON numbers as float64, each checked *before* conversion: numbers only
    (no bools, strings, objects or nulls), finite, of size at most ``limit``; ``exact``: integers
    must convert without rounding (weights)."""
    try:
        arr = np.array(value, dtype=object)
    except (ValueError, RecursionError):
        raise NetworkError(f"{what} must be (nested) lists of numbers of equal lengths") from None
    flat = arr.ravel().tolist()
    for v in flat:
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        if not ok:
            raise NetworkError(f"{what} must be (nested) lists of numbers, found {_show(v)}")
        if isinstance(v, float) and not math.isfinite(v):
            raise NetworkError(f"{what}: {v!r} is NaN or infinite; expected finite numbers")
        if abs(v) > limit:
            expected = f"2**53 = {MAX_COEFFICIENT}" if exact else f"{limit:g}"
            reason = f"; {_EXACT}" if exact else ""
            raise NetworkError(f"{what}: {_show(v)} is larger than {expected} in size{reason}")
    try:
        return np.array(flat, dtype=np.float64).reshape(arr.shape)
    except (TypeError, ValueError) as err:
        raise NetworkError(f"{what} must be (nested) lists of numbers ({err})") from None


_TOP_KEYS = {"format", "version", "weight_kind", "layers"}
_LAYER_KEYS = {"weights", "bias", "activation", "scale"}


def from_dict(data: Any) -> Network:
    """Build a :class:`Network` from the parsed JSON format (see the module docstring)."""
    if not isinstance(data, dict):
        raise NetworkError("a network file must hold a JSON object")
    if data.get("format") != FORMAT_NAME:
        raise NetworkError(f"'format' must be {FORMAT_NAME!r}, got {data.get('format')!r}")
    if data.get("version") != FORMAT_VERSION:
        raise NetworkError(f"unsupported version {data.get('version')!r}; this deepcrn reads version 1")
    raw_layers = data.get("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        raise NetworkError("'layers' must be a non-empty list")
    layers = []
    for i, raw in enumerate(raw_layers, start=1):
        if not isinstance(raw, dict):
            raise NetworkError(f"layer {i} must be a JSON object")
        missing = [k for k in ("weights", "bias", "activation") if k not in raw]
        if missing:
            raise NetworkError(f"layer {i} lacks {', '.join(repr(k) for k in missing)}")
        weights = _json_numbers(raw["weights"], f"layer {i}: 'weights'", MAX_COEFFICIENT, exact=True)
        bias = _json_numbers(raw["bias"], f"layer {i}: 'bias'", MAX_AMOUNT)
        scale = raw.get("scale", 1)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or abs(scale) > MAX_AMOUNT:
            raise NetworkError(
                f"layer {i}: 'scale' must be a finite number in [{MIN_SCALE:g}, {MAX_AMOUNT:g}], got {_show(scale)}"
            )
        extra = {k: v for k, v in raw.items() if k not in _LAYER_KEYS}
        try:
            layers.append(Layer(weights, bias, raw["activation"], float(scale), extra))
        except NetworkError as err:
            raise NetworkError(f"layer {i}: {err}") from err
    kind = data.get("weight_kind") or infer_weight_kind(layers)
    extra = {k: v for k, v in data.items() if k not in _TOP_KEYS}
    return Network(tuple(layers), kind, extra)


MAX_NESTING = 64  # deeper JSON is refused before parsing: the parser recurses once per level


def _nesting(text: str) -> int:
    """How deep ``[`` and ``{`` nest in JSON ``text`` (strings skipped), counted in C-speed passes
    rather than by recursing, so no input can exhaust the stack."""
    bare = _STRINGS.sub("", text).encode("utf-8", "replace")
    step = _STEP[np.frombuffer(bare, dtype=np.uint8)]
    return int(np.cumsum(step).max(initial=0)) if step.size else 0


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_STEP = np.zeros(256, dtype=np.int32)  # +1 for an opening bracket, -1 for a closing one
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


def load_network(path: str | os.PathLike[str]) -> Network:
    """Read a network file; any problem raises an error naming the file."""
    p = Path(path)
    text = read_text(p, "network file")
    depth = _nesting(text)
    if depth > MAX_NESTING:
        raise ParseError(
            f"{p}: JSON nested too deeply ({depth} levels; a network file needs 5, at most {MAX_NESTING} are read)"
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ParseError(f"{p}:{err.lineno}: malformed JSON: {err.msg}") from err
    except ValueError as err:  # Python refuses integers of more than 4300 digits
        raise ParseError(f"{p}: a number in the file is too long to read ({err.args[0].split(':')[0]})") from err
    except RecursionError:
        raise ParseError(f"{p}: JSON nested too deeply; a network file nests lists three levels deep") from None
    try:
        return from_dict(data)
    except NetworkError as err:
        raise NetworkError(f"{p}: {err}") from err
