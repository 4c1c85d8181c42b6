"""The training losses, shared by the training loop and polishing: the squared hinge on +-1
targets (as the paper) and cross-entropy."""

from __future__ import annotations

from typing import Literal

import torch

Loss = Literal["hinge", "ce"]
LOSSES = ("hinge", "ce")


def check_loss(kind: str) -> None:
    """Raise ``ValueError`` unless ``kind`` names a loss."""
    if kind not in LOSSES:
        raise ValueError(f"unknown loss {kind!r}; choose hinge or ce")


def batch_loss(out: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """The mean loss of each of ``c`` networks (or candidates): outputs ``(c, n, classes)`` and
    labels ``(c, n)``, or ``(n,)`` shared by all -> ``(c,)``."""
    if y.dim() == 1:
        y = y.expand(out.shape[0], -1)
    if kind == "ce":
        per = torch.nn.functional.cross_entropy(out.flatten(0, 1), y.flatten(), reduction="none")
        return per.view(y.shape).mean(1)
    target = -torch.ones_like(out)
    target.scatter_(2, y.unsqueeze(2), 1.0)
    return torch.clamp(1.0 - target * out, min=0.0).pow(2).mean((1, 2))
