"""BinaryConnect-style layers: real latent weights, quantised in the forward pass.

Each layer keeps real-valued latent weights clipped to [-1, 1] (BinaryConnect, Courbariaux et
al. 2015) and uses quantised weights ``q(w)`` in the forward pass; gradients reach the latent
weights straight through (``w + (q(w) - w).detach()``):

- ``binary``: ``q(w) = +1`` if ``w >= 0`` else ``-1``;
- ``ternary``: ``0`` where ``|w| < threshold`` (default 0.5), else ``sign(w)``;
- ``integer``: ``round(w * levels)`` in ``{-levels, ..., levels}``.

Each layer multiplies by a fixed positive scale ``1 / d``: by default ``d = sqrt(n_in)`` (times
``levels`` for integer weights), which keeps activations of order 1; with ``fan_in_scale=False``
``d = 1`` (``levels`` for integer weights): weights are +-1 unscaled, the paper's ``H = 1``.
``weight_scale`` ``h`` divides ``d`` by ``h``: weights ``+-h`` (BinaryConnect's ``H``). With no batch
normalisation the scale is what sets the squared hinge's margin of 1 against the outputs' size.
ReLU is positively homogeneous, so either exports exactly: the network file stores the integer
weights and ``scale = d`` (DESIGN section 1), and the CRN scales its biases instead. No batch
normalisation is used: its per-neuron scale would not fold into weights restricted to {-1, 0, +1}.

Initial latent weights are uniform in ``[-init, init]`` (default 1, BinaryConnect's ``H``).

A model holds ``copies`` independent networks side by side (restarts trained at once): every
parameter has a leading copy axis and a forward pass multiplies batched matrices, so for small
networks many restarts cost little more than one. Each copy draws its initial weights from its
own generator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ...network import Layer, Network, WeightKind


def quantize(w: torch.Tensor, kind: WeightKind, threshold: float = 0.5, levels: int = 3) -> torch.Tensor:
    """Integer weights ``q(w)`` (as floats) for latent weights ``w`` in [-1, 1]."""
    if kind == "binary":
        return torch.where(w >= 0, torch.ones_like(w), -torch.ones_like(w))
    if kind == "ternary":
        return torch.sign(w) * (w.abs() >= threshold).to(w.dtype)
    return torch.clamp(torch.round(w * levels), -levels, levels)


def glorot_lr_scale(n_in: int, n_out: int) -> float:
    """BinaryConnect's per-layer learning-rate factor for the weights, ``1 / sqrt(1.5 / (n_in + n_out))``."""
    return 1.0 / math.sqrt(1.5 / (n_in + n_out))


class QuantLinear(nn.Module):
    """``y = x @ q(W)^T / d + b`` for each copy, with latent ``W`` of shape ``(copies, n_out, n_in)``."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        kind: WeightKind,
        threshold: float = 0.5,
        levels: int = 3,
        fan_in_scale: bool = True,
        init: float = 1.0,
        generators: Sequence[torch.Generator | None] = (None,),
        weight_scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.kind: WeightKind = kind
        self.threshold = threshold
        self.levels = levels
        weight = torch.empty(len(generators), n_out, n_in)
        for copy, gen in zip(weight, generators):
            copy.uniform_(-init, init, generator=gen)
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(torch.zeros(len(generators), n_out))
        self.divisor = (math.sqrt(n_in) if fan_in_scale else 1.0) * (levels if kind == "integer" else 1) / weight_scale

    def quantized(self) -> torch.Tensor:
        return quantize(self.weight, self.kind, self.threshold, self.levels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(copies, n, n_in)`` -> ``(copies, n, n_out)``."""
        w = self.weight + (self.quantized() - self.weight).detach()  # straight-through
        return x @ w.transpose(1, 2) / self.divisor + self.bias.unsqueeze(1)

    @torch.no_grad()
    def clip_(self) -> None:
        self.weight.clamp_(-1.0, 1.0)


class QuantMLP(nn.Module):
    """Quantised dense layers with ReLU between them, ``copies`` independent networks side by side
    (``generators``: one per copy for its initial weights; ``(None,)``: one copy, torch's global
    generator). Dropout on the inputs (``dropout_in``) and hidden activations (``dropout``) is
    applied through the ``noise`` the caller passes (see :meth:`forward`), so every copy's masks
    come from its own generator."""

    def __init__(
        self,
        shape: tuple[int, ...],
        kind: WeightKind = "ternary",
        dropout: float = 0.0,
        threshold: float = 0.5,
        levels: int = 3,
        fan_in_scale: bool = True,
        dropout_in: float = 0.0,
        init: float = 1.0,
        generators: Sequence[torch.Generator | None] = (None,),
        weight_scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.shape = shape
        self.kind: WeightKind = kind
        self.copies = len(generators)
        self.layers = nn.ModuleList(
            QuantLinear(a, b, kind, threshold, levels, fan_in_scale, init, generators, weight_scale)
            for a, b in zip(shape[:-1], shape[1:])
        )
        self.dropout = dropout
        self.dropout_in = dropout_in

    def dropout_rates(self) -> list[float]:
        """The dropout rate before each layer: the inputs', then each hidden layer's."""
        return [self.dropout_in] + [self.dropout] * (len(self.shape) - 2)

    def forward(self, x: torch.Tensor, noise: Sequence[torch.Tensor | None] | None = None) -> torch.Tensor:
        """Outputs ``(copies, n, n_out)`` for inputs ``(n, n_in)`` (shared by the copies) or
        ``(copies, n, n_in)``. ``noise``: None (evaluation: no dropout) or, for each layer's input,
        None or uniforms in [0, 1) shaped like it; a unit is kept where its uniform is at least the
        layer's rate (:meth:`dropout_rates`) and then scaled by ``1 / (1 - rate)``."""
        if x.dim() == 2:
            x = x.expand(self.copies, *x.shape)
        for i, (layer, rate) in enumerate(zip(self.layers, self.dropout_rates())):
            if i:
                x = torch.relu(x)
            u = None if noise is None else noise[i]
            if u is not None and rate > 0:
                x = x * (u >= rate).to(x.dtype) / (1.0 - rate)
            x = layer(x)
        return x

    def clip_(self) -> None:
        for layer in self.layers:
            layer.clip_()  # type: ignore[operator]

    @torch.no_grad()
    def to_network(self, extra: dict[str, object] | None = None, copy: int = 0) -> Network:
        """Copy ``copy`` exported; its forward pass equals this model's evaluation-mode output."""
        layers = []
        for i, layer in enumerate(self.layers):
            assert isinstance(layer, QuantLinear)
            q = layer.quantized()[copy].detach().cpu().double().numpy().T  # (n_in, n_out)
            bias = layer.bias[copy].detach().cpu().double().numpy()
            last = i == len(self.layers) - 1
            layers.append(Layer(np.rint(q), bias, "linear" if last else "relu", layer.divisor))
        return Network(tuple(layers), self.kind, dict(extra or {}))
