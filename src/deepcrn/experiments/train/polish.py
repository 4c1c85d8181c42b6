"""Polishing a trained network: coordinate descent on its exact training loss.

Training moves real-valued latent weights and quantises them in the forward pass, with a
straight-through gradient (:mod:`.layers`): what it lowers is the loss seen through an
approximate gradient, not exactly the loss of the network the CRN implements. Polishing works
on that network itself. It visits each neuron of each layer in turn; the candidate moves are a
change of one incoming weight to another allowed value (binary: the other sign; ternary: the
two other values of {-1, 0, +1}; integer: one step up or down within +-levels) and a shift of
the bias by a step of a fixed ladder (multiples of the spread of the neuron's pre-activation:
see :func:`_spread`).
The loss's slope with respect to the neuron's pre-activation ranks the weight moves; the
``_SCREEN`` best ranked and every bias shift are scored exactly (the layers below the neuron
are kept, the layers above recomputed for all candidates at once), and the best is made if it
lowers the objective (the loss, plus training's sparsity penalty when asked). Then the same
neuron again, until no candidate lowers it (or after ``_MOVES_PER_VISIT`` moves); then the next
neuron. A sweep visits every neuron; polishing stops after a sweep without a move or after
``sweeps`` sweeps. The objective only ever falls, so the polished network is never worse than
the trained one on the data it was polished on, by that objective (its accuracy can move either
way; with a sparsity penalty the loss alone can rise). A neuron off on every example has a
slope of 0 and stays off unless a bias shift turns it on: polishing refines a trained network,
it does not repair a dead one.

The arithmetic is float64 on one thread, and a move is made only when it lowers the objective
by more than a relative ``1e-9`` (no move on rounding noise); like training, a seed gives the
same network wherever floating-point sums round alike.

    >>> import numpy as np
    >>> from deepcrn.network import Layer, Network
    >>> x = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    >>> y = np.array([0, 1, 1, 0])
    >>> net = Network((Layer(np.zeros((2, 2)), np.zeros(2), "linear"),), "ternary")
    >>> polished = polish_network(net, x, y, "hinge")
    >>> polished.after < polished.before
    True
    >>> bool((polished.network.forward(x).argmax(1) == y).all())
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import torch
from tqdm import tqdm

from ..._limits import MAX_AMOUNT
from ...network import Network, WeightKind
from .losses import batch_loss, check_loss
from .threads import one_thread

#: the bias shifts tried, as multiples of the spread (standard deviation) of the neuron's pre-activation
_BIAS_STEPS = (1.0, 0.3, 0.1, 0.03, 0.01)
#: the weight moves scored exactly per step: those the loss's slope predicts to gain most
_SCREEN = 16
#: a move must lower the loss by more than this fraction of it
_RTOL = 1e-9
#: the most moves made on one neuron per visit (a bound on the time, whatever the ladder's unit)
_MOVES_PER_VISIT = 1000


def _values(kind: WeightKind, levels: int, current: torch.Tensor) -> list[torch.Tensor]:
    """For each alternative, the value each weight would move to (NaN: no such move)."""
    if kind == "binary":
        return [-current]
    if kind == "ternary":
        # The two other values of {-1, 0, 1}: (w + 2) mod 3 - 1 and (w + 3) mod 3 - 1.
        return [torch.remainder(current + 2, 3) - 1, torch.remainder(current + 3, 3) - 1]
    up, down = current + 1, current - 1
    nan = torch.full_like(current, float("nan"))
    return [torch.where(up <= levels, up, nan), torch.where(down >= -levels, down, nan)]


LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _loss_fn(kind: str) -> LossFn:
    """Mean loss per candidate: outputs ``(c, n, k)``, labels ``(n,)`` -> ``(c,)`` (as training)."""
    check_loss(kind)
    return partial(batch_loss, kind=kind)


class _State:
    """The network's weights (as float64 tensors) and every layer's pre-activations on the data."""

    def __init__(self, net: Network, x: np.ndarray, sparsity: float, levels: int) -> None:
        self.w = [torch.tensor(layer.weights, dtype=torch.float64) for layer in net.layers]
        # training's penalty is the mean absolute latent weight per layer; a latent weight is
        # about its quantised value (divided by ``levels`` for integer weights)
        unit = levels if net.weight_kind == "integer" else 1
        self.cost = [sparsity / (w.numel() * unit) for w in self.w]
        self.b = [torch.tensor(layer.bias, dtype=torch.float64) for layer in net.layers]
        self.d = [float(layer.scale) for layer in net.layers]
        self.x = torch.tensor(x, dtype=torch.float64)
        self.z: list[torch.Tensor] = []
        self.refresh(0)

    def penalty(self) -> float:
        """The sparsity penalty of the current weights."""
        return sum(c * float(w.abs().sum()) for c, w in zip(self.cost, self.w))

    def penalty_change(self, layer: int, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
        """How the penalty changes when weights ``old`` of layer ``layer`` become ``new``."""
        return self.cost[layer] * (new.abs() - old.abs())

    def scale(self, layer: int) -> float:
        """``d_1 ... d_layer``: a layer's pre-activations are in units of ``1 / scale`` (what one unit
        weight adds from unit inputs) and may reach ``MAX_AMOUNT / scale``."""
        return math.prod(self.d[: layer + 1])

    def inputs(self, layer: int) -> torch.Tensor:
        """What layer ``layer`` reads: the data or the ReLU of the previous pre-activations."""
        return self.x if layer == 0 else torch.relu(self.z[layer - 1])

    def refresh(self, start: int) -> None:
        """Recompute the pre-activations from layer ``start`` up."""
        del self.z[start:]
        for i in range(start, len(self.w)):
            self.z.append(self.inputs(i) @ self.w[i] / self.d[i] + self.b[i])

    def above(self, layer: int, unit: int, z_unit: torch.Tensor) -> torch.Tensor:
        """The outputs ``(c, n, k)`` for candidate pre-activations ``z_unit`` ``(c, n)`` of one unit."""
        last = len(self.w) - 1
        if layer == last:
            out = self.z[last].expand(len(z_unit), *self.z[last].shape).clone()
            out[:, :, unit] = z_unit
            return out
        change = torch.relu(z_unit) - torch.relu(self.z[layer][:, unit])
        z = self.z[layer + 1] + change.unsqueeze(2) * (self.w[layer + 1][unit] / self.d[layer + 1])
        for i in range(layer + 2, len(self.w)):
            z = torch.relu(z) @ self.w[i] / self.d[i] + self.b[i]
        return z


def _spread(state: _State, layer: int, unit: int) -> float:
    """The ladder's unit for one neuron: the spread of its pre-activation over the examples; when
    that is 0 (or not finite), the size of its constant value; when that is 0 too, what one unit
    weight adds to it from unit inputs, ``1 / (d_1 ... d_layer)`` (so the steps follow the layers'
    scales: ``TrainConfig.weight_scale``)."""
    z = state.z[layer][:, unit]
    for size in (float(z.std()) if len(z) > 1 else 0.0, float(z.abs().max())):
        if math.isfinite(size) and size > 0:
            return size
    return 1.0 / state.scale(layer)


def _shifts(state: _State, layer: int, unit: int, spread: float) -> list[float]:
    """The bias shifts tried for one unit: the ladder times ``spread``, less those taking the
    bias past what a network may hold."""
    limit = MAX_AMOUNT / state.scale(layer)
    bias = float(state.b[layer][unit])
    return [
        step
        for s in _BIAS_STEPS
        for step in (s * spread, -s * spread)
        if math.isfinite(bias + step) and abs(bias + step) <= limit
    ]


def _slope(state: _State, layer: int, unit: int, loss: LossFn, y: torch.Tensor) -> torch.Tensor:
    """The loss's derivative by each example's pre-activation of one unit ``(n,)``."""
    z = state.z[layer][:, unit].clone().requires_grad_(True)
    loss(state.above(layer, unit, z.unsqueeze(0)), y)[0].backward()
    assert z.grad is not None
    return z.grad


def _best(
    state: _State, layer: int, unit: int, loss: LossFn, y: torch.Tensor, moves: list[tuple[int, float]]
) -> tuple[float, tuple[int, float]]:
    """The lowest objective less the current penalty (the loss plus the move's change of the
    penalty) among one unit's candidate ``moves`` (input index and new weight, or -1 and a bias
    shift; never empty), and the move reaching it."""
    a = state.inputs(layer)
    base = state.z[layer][:, unit]
    w_col = state.w[layer][:, unit]
    z = torch.stack(
        [base + (value - w_col[i]) * a[:, i] / state.d[layer] if i >= 0 else base + value for i, value in moves]
    )
    with torch.no_grad():
        scores = loss(state.above(layer, unit, z), y)
    cost = state.cost[layer]
    penalty = [cost * (abs(value) - abs(float(w_col[i]))) if i >= 0 else 0.0 for i, value in moves]
    scores = scores + torch.tensor(penalty, dtype=torch.float64)
    scores = torch.where(torch.isfinite(scores), scores, torch.inf)  # a move overflowing is no move
    k = int(torch.argmin(scores))
    return float(scores[k]), moves[k]


def _candidates(
    state: _State, layer: int, unit: int, kind: WeightKind, levels: int, slope: torch.Tensor, shifts: list[float]
) -> list[tuple[int, float]]:
    """One unit's weight moves the loss's slope (and the sparsity penalty) predict to lower it
    most (at most ``_SCREEN``), then every bias shift."""
    column = state.w[layer][:, unit]
    gain = state.inputs(layer).T @ slope / state.d[layer]  # d loss / d weight, by input
    options = []
    for values in _values(kind, levels, column):
        # NaN where there is no such move
        change = (values - column) * gain + state.penalty_change(layer, column, values)
        for i in torch.nonzero(change < 0).flatten().tolist():
            options.append((float(change[i]), i, float(values[i])))
    options.sort()
    return [(i, value) for _, i, value in options[:_SCREEN]] + [(-1, s) for s in shifts]


@dataclass(frozen=True)
class Polished:
    """A polished network, the moves made, the sweeps run, and the objective (the training loss
    plus any sparsity penalty) before and after."""

    network: Network
    moves: int
    sweeps: int
    before: float
    after: float


def polish_network(
    net: Network,
    x: np.ndarray,
    y: np.ndarray,
    loss: str = "hinge",
    sweeps: int = 10,
    sparsity: float = 0.0,
    levels: int = 3,
    progress: bool = False,
) -> Polished:
    """``net`` with weights and biases moved one at a time while its ``loss`` on ``(x, y)`` (plus
    ``sparsity`` times training's L1 penalty) falls, for at most ``sweeps`` sweeps (see the
    module's docstring); weights stay within the network's kind (``levels`` for integer weights),
    scales and activations are kept. Runs torch on one thread."""
    if sweeps < 0:
        raise ValueError(f"sweeps must be 0 or more, got {sweeps}")
    with one_thread():
        return _polish(net, x, y, _loss_fn(loss), sweeps, sparsity, levels, progress)


def _polish(
    net: Network, x: np.ndarray, y: np.ndarray, loss: LossFn, sweeps: int, sparsity: float, levels: int, progress: bool
) -> Polished:
    state = _State(net, x, sparsity, levels)
    yt = torch.tensor(y, dtype=torch.long)
    with torch.no_grad():
        before = current = float(loss(state.z[-1].unsqueeze(0), yt)[0]) + state.penalty()
    units = [(layer, unit) for layer, w in enumerate(state.w) for unit in range(w.shape[1])]
    moves = done = 0
    bar = tqdm(total=sweeps * len(units), desc="polish", unit="neuron", disable=not progress, leave=False)
    while done < sweeps:
        done, moved = done + 1, False
        for layer, unit in units:
            spread = _spread(state, layer, unit)  # the ladder's unit, fixed for the visit
            for _ in range(_MOVES_PER_VISIT):
                slope = _slope(state, layer, unit, loss, yt)
                shifts = _shifts(state, layer, unit, spread)
                options = _candidates(state, layer, unit, net.weight_kind, levels, slope, shifts)
                if not options:
                    break
                score, (index, value) = _best(state, layer, unit, loss, yt, options)
                score += state.penalty()
                if not score < current - _RTOL * abs(current):
                    break
                if index >= 0:
                    state.w[layer][index, unit] = value
                else:
                    state.b[layer][unit] += value
                current, moved, moves = score, True, moves + 1
                state.refresh(layer)
            bar.update()
        bar.set_postfix(loss=f"{current:.4f}", moves=moves)
        if not moved:
            break
    bar.close()
    layers = tuple(
        replace(layer, weights=w.numpy().copy(), bias=b.numpy().copy())
        for layer, w, b in zip(net.layers, state.w, state.b)
    )
    return Polished(Network(layers, net.weight_kind, dict(net.extra)), moves, done, before, current)
