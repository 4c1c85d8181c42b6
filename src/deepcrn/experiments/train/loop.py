"""The training loop: Adam with learning-rate decay, squared hinge or cross-entropy loss,
dropout, early stopping on a validation split, seeded, with a per-epoch progress bar."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from tqdm import tqdm

from ...network import Network, WeightKind
from .layers import QuantMLP

Loss = Literal["hinge", "ce"]


@dataclass
class TrainConfig:
    """Hyper-parameters. ``hidden``: hidden widths; ``loss``: ``hinge`` (squared hinge on +-1
    targets, as the paper) or ``ce`` (cross-entropy); ``lr_decay``: the learning rate falls
    geometrically from ``lr`` to ``lr * lr_decay`` over ``epochs``; ``patience``: epochs without
    a better validation accuracy before stopping early."""

    hidden: tuple[int, ...] = (8,)
    kind: WeightKind = "ternary"
    loss: Loss = "hinge"
    epochs: int = 200
    batch_size: int = 32
    lr: float = 0.01
    lr_decay: float = 0.05
    dropout: float = 0.0
    patience: int = 60
    threshold: float = 0.5
    levels: int = 3
    seed: int = 0


@dataclass
class TrainResult:
    network: Network
    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int = 0
    seconds: float = 0.0


def _loss(out: torch.Tensor, y: torch.Tensor, kind: Loss) -> torch.Tensor:
    if kind == "ce":
        return torch.nn.functional.cross_entropy(out, y)
    target = -torch.ones_like(out)
    target[torch.arange(len(y)), y] = 1.0
    return torch.clamp(1.0 - target * out, min=0.0).pow(2).mean()


def _accuracy(model: QuantMLP, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def train_network(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    n_classes: int,
    config: TrainConfig,
    extra: dict[str, object] | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train a quantised MLP and export the best (by validation accuracy) as a :class:`Network`."""
    start = time.perf_counter()
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    shape = (x_train.shape[1], *config.hidden, n_classes)
    model = QuantMLP(shape, config.kind, config.dropout, config.threshold, config.levels)
    xt = torch.tensor(x_train, dtype=torch.float32)
    yt = torch.tensor(y_train, dtype=torch.long)
    xv = torch.tensor(x_val, dtype=torch.float32)
    yv = torch.tensor(y_val, dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    gamma = config.lr_decay ** (1.0 / max(config.epochs, 1))
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
    history: dict[str, list[float]] = {"loss": [], "train_acc": [], "val_acc": []}
    best = (-1.0, 0, copy.deepcopy(model.state_dict()))
    bar = tqdm(range(config.epochs), desc="train", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(xt), config.batch_size):
            idx = order[i : i + config.batch_size]
            opt.zero_grad()
            loss = _loss(model(xt[idx]), yt[idx], config.loss)
            loss.backward()
            opt.step()
            model.clip_()
            total += float(loss.detach()) * len(idx)
        sched.step()
        train_acc = _accuracy(model, xt, yt)
        val_acc = _accuracy(model, xv, yv)
        history["loss"].append(total / len(xt))
        history["train_acc"].append(train_acc)
        history["val_acc"].append(val_acc)
        bar.set_postfix(loss=f"{total / len(xt):.3f}", train=f"{train_acc:.3f}", val=f"{val_acc:.3f}")
        if val_acc > best[0] or (val_acc == best[0] and train_acc >= max(history["train_acc"][: best[1] + 1])):
            best = (val_acc, epoch, copy.deepcopy(model.state_dict()))
        if epoch - best[1] >= config.patience:
            break
    bar.close()
    model.load_state_dict(best[2])
    model.eval()
    return TrainResult(model.to_network(extra), history, best[1], time.perf_counter() - start)
