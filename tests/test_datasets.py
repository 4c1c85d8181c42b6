"""Loaders: the real datasets (when present) and small files in the real formats, malformed ones too."""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from deepcrn.errors import DataError
from deepcrn.experiments.datasets import (
    load_iris,
    load_mnist,
    load_pattern,
    load_virus,
    read_idx,
    read_mask,
    read_virus_tables,
)
from deepcrn.experiments.tasks import get_task


def test_iris_split() -> None:
    ds = load_iris(seed=1)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (90, 15, 45)
    assert np.bincount(ds.y_test).tolist() == [15, 15, 15]
    assert np.allclose(ds.x_train.mean(axis=0), 0, atol=1e-12)
    assert np.all(ds.x_test >= ds.input_lower_bounds - 1e-12)  # raw measurements are >= 0


def test_virus_real_data(data_root: Path) -> None:
    ds = load_virus(seed=0)
    assert ds.info["n_examples"] == 698
    assert ds.info["class_counts"] == {"h1n1": 260, "h3n2": 193, "hrv": 151, "rsv": 94}
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (560, 34, 104)
    assert ds.n_features == 10 and ds.input_lower_bounds is not None


def _copy_virus(data_root: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "gse73072"
    shutil.copytree(data_root / "gse73072", folder)
    for f in folder.iterdir():
        f.chmod(0o644)
    return folder


def test_virus_malformed(data_root: Path, tmp_path: Path) -> None:
    folder = _copy_virus(data_root, tmp_path)
    study = folder / "icml2020dataset_GSE73072_DEE1.csv"
    study.write_text(study.read_text().rstrip() + "\n21,0,1\n")
    with pytest.raises(DataError, match=r"DEE1.csv:22: 3 columns, expected 6"):
        read_virus_tables(folder)
    shutil.copy(data_root / "gse73072" / study.name, study)
    main = folder / "icml2020dataset_GSE73072_4labels.csv"
    lines = main.read_text().splitlines()
    lines[3] = lines[3].replace(",", ",x")  # every value of the third gene
    main.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"4labels.csv:4: expected a number, got 'x"):
        read_virus_tables(folder)
    (folder / "icml2020dataset_GSE73072_UVA.csv").unlink()
    with pytest.raises(DataError, match="cannot read .*UVA.csv"):
        read_virus_tables(folder)


def test_missing_dataset_says_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPCRN_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="nowhere/gse73072.*DEEPCRN_DATA"):
        load_virus()
    with pytest.raises(DataError, match="nowhere/mnist.*DEEPCRN_DATA"):
        load_mnist()
    with pytest.raises(DataError, match="unknown task"):
        get_task("cifar")


def _idx(path: Path, arr: np.ndarray, zipped: bool = True) -> None:
    raw = bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if zipped else raw)


def test_idx_reader(tmp_path: Path) -> None:
    arr = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    _idx(tmp_path / "a.gz", arr)
    assert np.array_equal(read_idx(tmp_path / "a.gz"), arr)
    _idx(tmp_path / "b", arr, zipped=False)
    assert np.array_equal(read_idx(tmp_path / "b"), arr)
    (tmp_path / "bad").write_bytes(b"\x00\x01\x08\x03")
    with pytest.raises(DataError, match="bad magic"):
        read_idx(tmp_path / "bad")
    raw = gzip.decompress((tmp_path / "a.gz").read_bytes())
    (tmp_path / "short").write_bytes(raw[:-5])
    with pytest.raises(DataError, match="file holds"):
        read_idx(tmp_path / "short")
    (tmp_path / "corrupt.gz").write_bytes(b"\x1f\x8bnot gzip")
    with pytest.raises(DataError, match="corrupt gzip"):
        read_idx(tmp_path / "corrupt.gz")


def test_mnist_with_user_idx_dir(data_root: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    _idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, size=(30, 28, 28)))
    _idx(tmp_path / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, size=30))
    ds = load_mnist(idx_dir=tmp_path)
    assert len(ds.y_train) + len(ds.y_val) == 30 and ds.x_test.shape == (10_000, 196)
    assert ds.x_test.min() >= 0 and ds.x_test.max() <= 1


def test_patterns(data_root: Path, tmp_path: Path) -> None:
    ds = load_pattern(name="heart")
    assert ds.image_shape == (15, 17) and len(ds.y_test) == 255
    assert ds.x_test.min() == -1 and ds.x_test.max() == 1
    from PIL import Image

    Image.new("1", (5, 5), 1).save(tmp_path / "blank.png")
    with pytest.raises(DataError, match="single colour"):
        read_mask(tmp_path / "blank.png")
    (tmp_path / "fake.png").write_text("not a png")
    with pytest.raises(DataError, match="not a readable image"):
        read_mask(tmp_path / "fake.png")
    with pytest.raises(DataError, match="no such file"):
        read_mask(tmp_path / "none.png")
