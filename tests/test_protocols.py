"""The paper's preprocessing and evaluation sets (DESIGN section 5), checked against independent facts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deepcrn.errors import DataError
from deepcrn.experiments.datasets import downsample, load_pattern, read_virus_tables
from deepcrn.experiments.protocols import (
    load_iris_all,
    load_mnist_paper,
    load_virus_paper,
    resize_bilinear,
    stratified_folds,
)


def test_bilinear_resize() -> None:
    rng = np.random.default_rng(0)
    images = rng.random((3, 28, 28))
    # Halving with pixel centres at half-integers samples exactly between two pixels: 2x2 means.
    np.testing.assert_allclose(resize_bilinear(images, 14), downsample(images, 14), atol=1e-15)
    # 3 -> 2: output pixel d samples (d + 0.5) * 1.5 - 0.5 = 0.25 and 1.75.
    row = np.array([[[0.0, 4.0, 8.0]] * 3])
    np.testing.assert_allclose(resize_bilinear(row, 2)[0, 0], [1.0, 7.0])
    # Same size: unchanged.
    np.testing.assert_allclose(resize_bilinear(images, 28), images, atol=1e-15)


def test_stratified_folds() -> None:
    y = np.repeat([0, 1, 2], [50, 50, 50])
    folds = stratified_folds(y, 5, seed=3)
    tests = np.concatenate([te for _, te in folds])
    assert sorted(tests.tolist()) == list(range(150))  # every example held out exactly once
    for tr, te in folds:
        assert np.bincount(y[te]).tolist() == [10, 10, 10] and len(np.intersect1d(tr, te)) == 0
    with pytest.raises(DataError, match="folds"):
        stratified_folds(y, 1, seed=0)


def test_iris_all_150() -> None:
    ds = load_iris_all()
    assert ds.x_train is ds.x_val is ds.x_test and len(ds.y_test) == 150 and ds.n_eval == 150
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.x_train.std(axis=0), 1, atol=1e-12)


def test_heart_centred_inputs_are_the_authors() -> None:
    ds = load_pattern(name="heart", coordinates="centred")
    assert len(ds.y_test) == 255 and ds.feature_names == ["dx", "y"]
    # The first example of the authors' released heart CRN (its top-left pixel): 1.529019, -1.620184.
    np.testing.assert_allclose(ds.x_test[0], [1.529019, -1.620184], atol=2e-6)
    # Mirrored pixels get the same input.
    grid = ds.x_test.reshape(15, 17, 2)
    np.testing.assert_array_equal(grid, grid[:, ::-1])
    with pytest.raises(DataError, match="left-right symmetric"):
        load_pattern(name="lightning", coordinates="centred")


def test_virus_paper_split(data_root: Path) -> None:
    ds = load_virus_paper()
    split = json.loads((data_root / "paper" / "virus_split.json").read_text())
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (558, 34, 104)
    x, y, _, _ = read_virus_tables(data_root / "gse73072")
    standard = (x - x.mean(axis=0)) / x.std(axis=0)  # over all 698, before the split
    np.testing.assert_allclose(ds.x_test, standard[split["test"]], atol=1e-12)
    np.testing.assert_array_equal(ds.y_train, y[split["train"]])
    assert ds.evaluation == "the paper's test split (104 samples)"


def test_mnist_paper(data_root: Path) -> None:
    ds = load_mnist_paper(seed=0)
    examples = json.loads((data_root / "paper" / "mnist_examples.json").read_text())["test_indices"]
    assert ds.eval_index.tolist() == examples and ds.n_eval == 100 and len(ds.y_test) == 10_000
    assert ds.n_features == 196 and (len(ds.y_train), len(ds.y_val)) == (4500, 500)
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-12)  # centred on the training mean
    assert np.all(ds.x_test >= ds.input_lower_bounds - 1e-12)  # pixels >= 0: the shift's bound holds


def test_mnist_paper_with_the_full_training_set(data_root: Path, tmp_path: Path) -> None:
    """With the full 60,000 training images, the authors' split: the first 50,000 train, the
    last 10,000 validate (no shuffle). Image i carries i % 256 in its top-left pixel."""
    import gzip
    import struct

    n = 60_000
    labels = np.random.default_rng(4).integers(0, 10, size=n).astype(np.uint8)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = np.arange(n) % 256
    for name, arr in (("train-images-idx3-ubyte.gz", images), ("train-labels-idx1-ubyte.gz", labels)):
        header = bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
        (tmp_path / name).write_bytes(gzip.compress(header + arr.tobytes(), compresslevel=1))
    ds = load_mnist_paper(seed=3, idx_dir=tmp_path)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test), ds.n_eval) == (50_000, 10_000, 10_000, 100)
    np.testing.assert_array_equal(ds.y_train, labels[:50_000])
    np.testing.assert_array_equal(ds.y_val, labels[50_000:])
    # bilinear 28 -> 14 averages each 2x2 block; centring subtracts the training mean (the bound is -mean)
    raw = np.arange(n) % 256 / 255 / 4
    np.testing.assert_allclose(ds.x_train[:, 0] - ds.input_lower_bounds[0], raw[:50_000], atol=1e-12)
    np.testing.assert_allclose(ds.x_val[:, 0] - ds.input_lower_bounds[0], raw[50_000:], atol=1e-12)
    assert ds.info["train_source"] == str(tmp_path)


def test_paper_files_are_checked(data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    for sub in ("gse73072", "mnist"):
        (tmp_path / sub).symlink_to((data_root / sub).resolve())
    (tmp_path / "paper").mkdir()
    shutil.copy(data_root / "paper" / "mnist_examples.json", tmp_path / "paper")
    split = json.loads((data_root / "paper" / "virus_split.json").read_text())
    split["test"][0] = split["train"][0]
    (tmp_path / "paper" / "virus_split.json").write_text(json.dumps(split))
    monkeypatch.setenv("DEEPCRN_DATA", str(tmp_path))
    with pytest.raises(DataError, match="overlap"):
        load_virus_paper()
    split["test"][0] = 698
    (tmp_path / "paper" / "virus_split.json").write_text(json.dumps(split))
    with pytest.raises(DataError, match="index 698, outside 0-697"):
        load_virus_paper()
    (tmp_path / "paper" / "virus_split.json").write_text("{not json")
    with pytest.raises(DataError, match=r"virus_split.json:1: not valid JSON"):
        load_virus_paper()
