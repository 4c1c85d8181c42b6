"""Remove hidden neurons a network does not need, keeping its function exactly.

Every hidden ReLU neuron costs the reduced CRN one bimolecular reaction and its species. After
training, some neurons do nothing or repeat another; :func:`prune` removes them, for every input:

- **no fan-out**: all its outgoing weights are 0; nothing reads it.
- **constant**: all its incoming weights are 0, so it outputs ``relu(b)`` whatever the input;
  that constant times its outgoing weights moves into the next layer's biases.
- **never active** (layers after the first, whose inputs are ReLU outputs, hence >= 0): no
  incoming weight is positive and its bias is <= 0, so its pre-activation is never positive.
- **duplicate**: the same incoming weights and bias as an earlier neuron of its layer; its
  outgoing weights are added to that neuron's (weights may then leave the binary/ternary set:
  the network becomes ``integer``, i.e. stoichiometric coefficients of 2).

Rules repeat until none applies (removing a neuron can leave another without fan-out). Inputs
and outputs are never removed; an input whose weights are all 0 already costs no reaction.

    >>> import numpy as np
    >>> from deepcrn.network import Layer, Network
    >>> net = Network((Layer(np.array([[1, 1, 0, 1]]), np.array([0.5, 0.5, 2.0, 0.0]), "relu"),
    ...                Layer(np.array([[1], [1], [1], [0]]), np.array([0.0]), "linear")), "ternary")
    >>> small, report = prune(net)
    >>> small.shape, report.removed, small.weight_kind
    ((1, 1, 1), {'no fan-out': 1, 'constant': 1, 'never active': 0, 'duplicate': 1}, 'integer')
    >>> x = np.array([[-3.0], [0.2], [7.0]])
    >>> bool(np.allclose(small.forward(x), net.forward(x)))
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .network import Layer, Network, WeightKind, infer_weight_kind

RULES = ("no fan-out", "constant", "never active", "duplicate")
_ORDER: dict[WeightKind, int] = {"binary": 0, "ternary": 1, "integer": 2}


@dataclass
class PruneReport:
    """How many neurons each rule removed, and the hidden widths before and after."""

    before: tuple[int, ...]
    after: tuple[int, ...]
    removed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RULES, 0))


def _drop(layers: list[Layer], i: int, j: int) -> None:
    """Remove neuron ``j`` of hidden layer ``i`` (its column in ``i`` and its row in ``i + 1``)."""
    a, b = layers[i], layers[i + 1]
    keep = np.arange(a.n_out) != j
    layers[i] = Layer(a.weights[:, keep], a.bias[keep], a.activation, a.scale, a.extra)
    layers[i + 1] = Layer(b.weights[keep], b.bias, b.activation, b.scale, b.extra)


def _one_step(layers: list[Layer], report: PruneReport) -> bool:
    """Apply the first rule that finds a neuron; True when one was removed."""
    for i in range(len(layers) - 1):
        layer, nxt = layers[i], layers[i + 1]
        if layer.n_out == 1:
            continue  # keep at least one neuron per layer so the network stays a network
        for j in range(layer.n_out):
            w_in, w_out, b = layer.weights[:, j], nxt.weights[j], layer.bias[j]
            if not w_out.any():
                rule = "no fan-out"
            elif not w_in.any():
                rule = "constant"
                # relu(b) feeds the next layer through w_out / scale.
                shift = max(float(b), 0.0) * w_out / nxt.scale
                layers[i + 1] = Layer(nxt.weights, nxt.bias + shift, nxt.activation, nxt.scale, nxt.extra)
            elif i > 0 and w_in.max() <= 0 and b <= 0:
                rule = "never active"
            else:
                same = [k for k in range(j) if layer.bias[k] == b and np.array_equal(layer.weights[:, k], w_in)]
                if not same:
                    continue
                rule = "duplicate"
                merged = nxt.weights.copy()
                merged[same[0]] += w_out
                layers[i + 1] = Layer(merged, nxt.bias, nxt.activation, nxt.scale, nxt.extra)
            _drop(layers, i, j)
            report.removed[rule] += 1
            return True
    return False


def prune(net: Network) -> tuple[Network, PruneReport]:
    """The pruned network (same inputs, outputs, ``extra`` and function) and what was removed."""
    layers = list(net.layers)
    report = PruneReport(before=net.shape[1:-1], after=net.shape[1:-1])
    while _one_step(layers, report):
        pass
    kind = infer_weight_kind(layers)
    if _ORDER[kind] < _ORDER[net.weight_kind]:
        kind = net.weight_kind  # keep the declared set when the weights still fit it
    pruned = Network(tuple(layers), kind, dict(net.extra))
    report.after = pruned.shape[1:-1]
    return pruned, report
