"""The training loop: Adam with learning-rate decay, squared hinge or cross-entropy loss,
dropout, optional sparsity pressure, early stopping on a validation split, restarts trained side
by side as copies of one batched model, optional polishing of the result (:mod:`.polish`),
seeded and run on one thread (so a seed gives the same network on any machine), with a
per-epoch progress bar."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from tqdm import tqdm

from ...errors import DataError
from ...network import Network, WeightKind
from .layers import QuantLinear, QuantMLP, glorot_lr_scale
from .losses import Loss, batch_loss
from .polish import polish_network
from .threads import one_thread

Keep = Literal["best", "last-best"]


@dataclass
class TrainConfig:
    """Hyper-parameters.

    ``hidden``: hidden widths; ``loss``: ``hinge`` (squared hinge on +-1 targets, as the paper)
    or ``ce`` (cross-entropy); ``lr_decay``: the learning rate falls geometrically from ``lr`` to
    ``lr * lr_decay`` over ``epochs``; ``patience``: epochs without a better validation accuracy
    before stopping early (None: never). ``threshold``: ternary zero threshold on the latent
    weights. ``fan_in_scale``: divide each layer by ``sqrt(n_in)`` (False: weights +-1 unscaled,
    the paper's ``H = 1``); ``weight_scale``: multiply every layer's weights by this ``h > 0``
    (weights ``+-h``, BinaryConnect's ``H``; the loss's margin of 1 being fixed, it sets how wide
    that margin is against the outputs); ``lr_scale``: ``glorot`` multiplies each layer's weight learning rate
    by ``1 / sqrt(1.5 / (n_in + n_out))`` (BinaryConnect's "LR scale"; biases keep ``lr``).
    ``keep``: which epoch's weights to return: ``best`` (the best validation accuracy, ties to
    the better training accuracy) or ``last-best`` (the last epoch whose validation accuracy is
    at least every earlier one's, as BinaryConnect's code). ``drop_last``: skip each epoch's
    final partial batch (as BinaryConnect's code). ``sparsity``: weight of an L1 penalty on the
    latent weights (mean absolute value per layer, summed), which drives weights to 0 and so
    removes products (ternary) and whole reactions. ``init``: latent weights start uniform in
    ``[-init, init]``. ``dropout_in``: dropout on the inputs. ``restarts``: train this many
    networks from different initialisations side by side (the first seeded ``seed``) and return
    the one whose kept epoch has the best validation accuracy (then training accuracy).
    ``polish``: then polish the returned network for at most this many sweeps (0: no), a
    coordinate descent on its exact training loss, plus the sparsity penalty (:mod:`.polish`).
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
    polish: int = 0
    weight_scale: float = 1.0


@dataclass
class TrainResult:
    """The kept network of the chosen restart, its history and kept epoch; ``restart_scores``:
    every restart's (validation, training) accuracy at its kept epoch; ``chosen``: the index of
    the returned one among them; ``polish``: what polishing did (sweeps, moves, and the
    objective before and after), None when it did not run."""

    network: Network
    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int = 0
    seconds: float = 0.0
    restart_scores: list[tuple[float, float]] = field(default_factory=list)
    chosen: int = 0
    polish: dict[str, float] | None = None


def _accuracy(model: QuantMLP, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """Each copy's accuracy on ``(x, y)``."""
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(2) == y).float().mean(1).tolist()


def make_model(
    shape: tuple[int, ...], config: TrainConfig, generators: Sequence[torch.Generator | None] = (None,)
) -> QuantMLP:
    """The untrained model for ``config`` with a copy per generator."""
    return QuantMLP(
        shape,
        config.kind,
        config.dropout,
        config.threshold,
        config.levels,
        config.fan_in_scale,
        config.dropout_in,
        config.init,
        generators,
        config.weight_scale,
    )


def _optimizer(model: QuantMLP, config: TrainConfig) -> torch.optim.Adam:
    groups = []
    for layer in model.layers:
        assert isinstance(layer, QuantLinear)
        _, n_out, n_in = layer.weight.shape
        factor = glorot_lr_scale(n_in, n_out) if config.lr_scale == "glorot" else 1.0
        groups.append({"params": [layer.weight], "lr": config.lr * factor})
        groups.append({"params": [layer.bias], "lr": config.lr})
    return torch.optim.Adam(groups, lr=config.lr)


def _penalty(model: QuantMLP) -> torch.Tensor:
    """Each copy's sparsity penalty: the mean absolute latent weight of each layer, summed."""
    total = torch.zeros(model.copies)
    for layer in model.layers:
        assert isinstance(layer, QuantLinear)
        total = total + layer.weight.abs().mean((1, 2))
    return total


def restart_seed(seed: int, restart: int) -> int:
    """The seed of restart ``restart`` (> 0) of a training seeded ``seed``."""
    return int(np.random.SeedSequence([seed, restart]).generate_state(1)[0])


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
    """Train a quantised MLP and export the kept epoch's weights (``config.keep``) as a :class:`Network`.

    The ``config.restarts`` restarts train side by side as copies of one model; each copy's
    randomness (initial weights, batch order, dropout) comes from its own generator, seeded
    ``config.seed`` for the first and :func:`restart_seed` for the others, so a copy follows the
    same random draws as a single run with its seed. Its arithmetic is the same up to rounding: a
    batched matrix product can round a copy's sums in the last bit differently from a single one
    (the CPU kernels' rounding depends on where each copy's rows lie in memory), and training can
    amplify that, so a copy need not end at the single run's network. Results are reproducible
    for a given seed and number of restarts. The copy whose kept epoch has the best validation
    accuracy (then training accuracy; then the first) is returned. Memory grows with the copies
    (each holds its parameters, Adam state and an epoch's dropout noise)."""
    with one_thread():
        return _train(x_train, y_train, x_val, y_val, n_classes, config, extra, progress)


class _Best:
    """Each copy's kept epoch (``config.keep``) and its parameters, and whether it still trains
    (an early-stopped copy trains on with the others but its record is closed)."""

    def __init__(self, model: QuantMLP, keep: Keep, patience: int | None) -> None:
        copies = model.copies
        self.keep, self.patience = keep, patience
        self.val = np.full(copies, -1.0)
        self.epoch = np.zeros(copies, dtype=np.int64)
        self.train_max = np.full(copies, -1.0)  # the best training accuracy up to the kept epoch
        self.seen_max = np.full(copies, -1.0)  # ... up to the current epoch
        self.active = np.ones(copies, dtype=bool)
        self.params = [p.detach().clone() for p in model.parameters()]

    def update(self, model: QuantMLP, epoch: int, train: np.ndarray, val: np.ndarray) -> None:
        self.seen_max = np.maximum(self.seen_max, train)
        if self.keep == "last-best":
            better = val >= self.val
        else:
            better = (val > self.val) | ((val == self.val) & (train >= self.train_max))
        better &= self.active
        if better.any():
            self.val[better], self.epoch[better] = val[better], epoch
            self.train_max[better] = self.seen_max[better]
            rows = torch.from_numpy(better)
            for kept, p in zip(self.params, model.parameters()):
                kept[rows] = p.detach()[rows]
        if self.patience is not None:
            self.active &= epoch - self.epoch < self.patience

    def restore(self, model: QuantMLP) -> None:
        with torch.no_grad():
            for kept, p in zip(self.params, model.parameters()):
                p.copy_(kept)


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
    if config.polish < 0:
        raise ValueError(f"polish must be 0 or more sweeps, got {config.polish}")
    if not (math.isfinite(config.weight_scale) and config.weight_scale > 0):
        raise ValueError(f"weight_scale must be a finite number > 0, got {config.weight_scale}")
    start = time.perf_counter()
    seeds = [config.seed] + [restart_seed(config.seed, r) for r in range(1, config.restarts)]
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    shape = (x_train.shape[1], *config.hidden, n_classes)
    model = make_model(shape, config, gens)
    xt = torch.tensor(x_train, dtype=torch.float32)
    yt = torch.tensor(y_train, dtype=torch.long)
    xv = torch.tensor(x_val, dtype=torch.float32)
    yv = torch.tensor(y_val, dtype=torch.long)
    opt = _optimizer(model, config)
    gamma = config.lr_decay ** (1.0 / max(config.epochs, 1))
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
    histories: list[dict[str, list[float]]] = [{"loss": [], "train_acc": [], "val_acc": []} for _ in gens]
    best = _Best(model, config.keep, config.patience)
    n, bs = len(xt), config.batch_size
    stop = n - n % bs if config.drop_last and n >= bs else n
    rates = model.dropout_rates()
    bar = tqdm(range(config.epochs), desc="train", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        # Each copy's batch order, then its dropout uniforms for the whole epoch, from its generator.
        order = torch.stack([torch.randperm(n, generator=g) for g in gens])
        noise = [
            None if rate == 0 else torch.stack([torch.rand(stop, width, generator=g) for g in gens])
            for rate, width in zip(rates, shape)
        ]
        total = torch.zeros(len(gens), dtype=torch.float64)
        for i in range(0, stop, bs):
            idx = order[:, i : i + bs]
            opt.zero_grad()
            loss = batch_loss(
                model(xt[idx], [None if u is None else u[:, i : i + bs] for u in noise]), yt[idx], config.loss
            )
            if config.sparsity:
                loss = loss + config.sparsity * _penalty(model)
            loss.sum().backward()  # the copies share no parameter: each gets its own loss's gradient
            opt.step()
            model.clip_()
            total += loss.detach().double() * idx.shape[1]
        sched.step()
        train_acc = np.array(_accuracy(model, xt, yt))
        val_acc = train_acc if x_val is x_train else np.array(_accuracy(model, xv, yv))
        for c in np.flatnonzero(best.active):
            histories[c]["loss"].append(float(total[c]) / stop)
            histories[c]["train_acc"].append(float(train_acc[c]))
            histories[c]["val_acc"].append(float(val_acc[c]))
        best.update(model, epoch, train_acc, val_acc)
        bar.set_postfix(
            loss=f"{float(total.min()) / stop:.3f}", train=f"{train_acc.max():.3f}", val=f"{val_acc.max():.3f}"
        )
        if not best.active.any():
            break
    bar.close()
    best.restore(model)
    model.eval()
    scores = [(float(best.val[c]), histories[c]["train_acc"][best.epoch[c]]) for c in range(len(gens))]
    chosen = max(range(len(gens)), key=lambda c: (scores[c], -c))
    if not all(bool(torch.isfinite(p[chosen]).all()) for p in model.parameters()):
        raise DataError(
            "training diverged: the kept network's weights or biases are not finite; lower the learning "
            "rate or the weight scale (--weight-scale)"
        )
    network, polished = model.to_network(extra, chosen), None
    if config.polish:
        done = polish_network(
            network, x_train, y_train, config.loss, config.polish, config.sparsity, config.levels, progress
        )
        network = done.network
        polished = {"sweeps": done.sweeps, "moves": done.moves, "before": done.before, "after": done.after}
    return TrainResult(
        network,
        histories[chosen],
        int(best.epoch[chosen]),
        time.perf_counter() - start,
        scores,
        chosen,
        polished,
    )
