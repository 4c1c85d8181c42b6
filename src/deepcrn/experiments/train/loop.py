"""The training loop: Adam with learning-rate decay, squared hinge or cross-entropy loss,
dropout, optional sparsity pressure, early stopping on a validation split, seeded and run on one
thread (so a seed gives the same network on any machine), with a per-epoch progress bar."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import torch
from tqdm import tqdm

from ...network import Network, WeightKind
from .layers import QuantLinear, QuantMLP, glorot_lr_scale

Loss = Literal["hinge", "ce"]
Keep = Literal["best", "last-best"]


@dataclass
class TrainConfig:
    """Hyper-parameters.

    ``hidden``: hidden widths; ``loss``: ``hinge`` (squared hinge on +-1 targets, as the paper)
    or ``ce`` (cross-entropy); ``lr_decay``: the learning rate falls geometrically from ``lr`` to
    ``lr * lr_decay`` over ``epochs``; ``patience``: epochs without a better validation accuracy
    before stopping early (None: never). ``threshold``: ternary zero threshold on the latent
    weights. ``fan_in_scale``: divide each layer by ``sqrt(n_in)`` (False: weights +-1 unscaled,
    the paper's ``H = 1``); ``lr_scale``: ``glorot`` multiplies each layer's weight learning rate
    by ``1 / sqrt(1.5 / (n_in + n_out))`` (BinaryConnect's "LR scale"; biases keep ``lr``).
    ``keep``: which epoch's weights to return: ``best`` (the best validation accuracy, ties to
    the better training accuracy) or ``last-best`` (the last epoch whose validation accuracy is
    at least every earlier one's, as BinaryConnect's code). ``drop_last``: skip each epoch's
    final partial batch (as BinaryConnect's code). ``sparsity``: weight of an L1 penalty on the
    latent weights (mean absolute value per layer, summed), which drives weights to 0 and so
    removes products (ternary) and whole reactions. ``init``: latent weights start uniform in
    ``[-init, init]``. ``dropout_in``: dropout on the inputs. ``restarts``: train this many
    networks from different initialisations (the first with ``seed``) and return the one whose
    kept epoch has the best validation accuracy (then training accuracy).
    """

    hidden: tuple[int, ...] = (8,)
    kind: WeightKind = "ternary"
    loss: Loss = "hinge"
    epochs: int = 200
    batch_size: int = 32
    lr: float = 0.01
    lr_decay: float = 0.05
    dropout: float = 0.0
    patience: int | None = 60
    threshold: float = 0.5
    levels: int = 3
    seed: int = 0
    dropout_in: float = 0.0
    fan_in_scale: bool = True
    lr_scale: Literal["none", "glorot"] = "none"
    keep: Keep = "best"
    drop_last: bool = False
    sparsity: float = 0.0
    init: float = 1.0
    restarts: int = 1


@dataclass
class TrainResult:
    network: Network
    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int = 0
    seconds: float = 0.0


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread inside the block (reproducible sums), then restore the setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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


def make_model(shape: tuple[int, ...], config: TrainConfig) -> QuantMLP:
    """The untrained model for ``config`` (seed the generator first)."""
    return QuantMLP(
        shape,
        config.kind,
        config.dropout,
        config.threshold,
        config.levels,
        config.fan_in_scale,
        config.dropout_in,
        config.init,
    )


def _optimizer(model: QuantMLP, config: TrainConfig) -> torch.optim.Adam:
    groups = []
    for layer in model.layers:
        assert isinstance(layer, QuantLinear)
        n_out, n_in = layer.weight.shape
        factor = glorot_lr_scale(n_in, n_out) if config.lr_scale == "glorot" else 1.0
        groups.append({"params": [layer.weight], "lr": config.lr * factor})
        groups.append({"params": [layer.bias], "lr": config.lr})
    return torch.optim.Adam(groups, lr=config.lr)


def _penalty(model: QuantMLP) -> torch.Tensor:
    total = torch.zeros(())
    for layer in model.layers:
        assert isinstance(layer, QuantLinear)
        total = total + layer.weight.abs().mean()
    return total


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
    """Train a quantised MLP and export the kept epoch's weights (``config.keep``) as a :class:`Network`."""
    start = time.perf_counter()
    best: tuple[tuple[float, float], TrainResult] | None = None
    with one_thread():
        for r in range(config.restarts):
            seed = config.seed if r == 0 else restart_seed(config.seed, r)
            result = _train(x_train, y_train, x_val, y_val, n_classes, replace(config, seed=seed), extra, progress)
            kept = result.best_epoch
            score = (result.history["val_acc"][kept], result.history["train_acc"][kept])
            if best is None or score > best[0]:
                best = (score, result)
    assert best is not None
    best[1].seconds = time.perf_counter() - start
    return best[1]


def restart_seed(seed: int, restart: int) -> int:
    """The seed of restart ``restart`` (> 0) of a training seeded ``seed``."""
    return int(np.random.SeedSequence([seed, restart]).generate_state(1)[0])


def _train(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    n_classes: int,
    config: TrainConfig,
    extra: dict[str, object] | None,
    progress: bool,
) -> TrainResult:
    start = time.perf_counter()
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    shape = (x_train.shape[1], *config.hidden, n_classes)
    model = make_model(shape, config)
    xt = torch.tensor(x_train, dtype=torch.float32)
    yt = torch.tensor(y_train, dtype=torch.long)
    xv = torch.tensor(x_val, dtype=torch.float32)
    yv = torch.tensor(y_val, dtype=torch.long)
    opt = _optimizer(model, config)
    gamma = config.lr_decay ** (1.0 / max(config.epochs, 1))
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
    history: dict[str, list[float]] = {"loss": [], "train_acc": [], "val_acc": []}
    best = (-1.0, 0, copy.deepcopy(model.state_dict()))
    n = len(xt)
    stop = n - n % config.batch_size if config.drop_last and n >= config.batch_size else n
    bar = tqdm(range(config.epochs), desc="train", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, stop, config.batch_size):
            idx = order[i : i + config.batch_size]
            opt.zero_grad()
            loss = _loss(model(xt[idx]), yt[idx], config.loss)
            if config.sparsity:
                loss = loss + config.sparsity * _penalty(model)
            loss.backward()
            opt.step()
            model.clip_()
            total += float(loss.detach()) * len(idx)
        sched.step()
        train_acc = _accuracy(model, xt, yt)
        val_acc = train_acc if x_val is x_train else _accuracy(model, xv, yv)
        history["loss"].append(total / stop)
        history["train_acc"].append(train_acc)
        history["val_acc"].append(val_acc)
        bar.set_postfix(loss=f"{total / stop:.3f}", train=f"{train_acc:.3f}", val=f"{val_acc:.3f}")
        if config.keep == "last-best":
            better = val_acc >= best[0]
        else:
            better = val_acc > best[0] or (val_acc == best[0] and train_acc >= max(history["train_acc"][: best[1] + 1]))
        if better:
            best = (val_acc, epoch, copy.deepcopy(model.state_dict()))
        if config.patience is not None and epoch - best[1] >= config.patience:
            break
    bar.close()
    model.load_state_dict(best[2])
    model.eval()
    return TrainResult(model.to_network(extra), history, best[1], time.perf_counter() - start)
