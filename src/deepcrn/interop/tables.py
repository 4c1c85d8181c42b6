"""CSV tables of examples: one row per example, numbers only, with or without a header row.

Columns are matched to a CRN's or network's inputs **by name** when the header names every
input (in any order), and **by position** otherwise (any other header, or none: a first row of
numbers is data). A header that names an input in another column than its own, without naming
them all, is refused: it would silently swap columns.

>>> names, values = read_csv_text("a,b\\n1,2\\n3,4.5\\n", "x.csv")
>>> names, values.tolist()
(['a', 'b'], [[1.0, 2.0], [3.0, 4.5]])
>>> read_csv_text("b,a\\n1,2\\n", "x.csv", names=["a", "b"])[1].tolist()
[[2.0, 1.0]]
>>> read_csv_text("1,2\\n3,4\\n", "x.csv", names=["a", "b"])[1].tolist()
[[1.0, 2.0], [3.0, 4.0]]
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence

import numpy as np

from .._io import atomic_write_text, read_text
from ..errors import DataError, ParseError


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _parse(text: str, source: str) -> tuple[list[str] | None, np.ndarray]:
    """The header (None when the first row is numbers) and the ``(rows, columns)`` values."""
    first, _, body = text.partition("\n")
    cells = [cell.strip() for cell in next(csv.reader([first]), [])]
    has_header = not (cells and all(c and _is_number(c) for c in cells))
    fast = _read_numbers(body if has_header else text, len(cells)) if '"' not in first else None
    if fast is not None:
        return (cells if has_header else None), fast
    rows = list(csv.reader(io.StringIO(text)))
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    if not rows:
        raise ParseError(f"{source}: empty file; expected one row per example (a header row is optional)")
    header = [cell.strip() for cell in rows[0]] if has_header else None
    data = rows[1:] if has_header else rows
    width = len(rows[0])
    names = [f"column {name!r}" for name in header] if header else [f"column {k + 1}" for k in range(width)]
    values = np.empty((len(data), width))
    for line, row in enumerate(data, start=2 if has_header else 1):
        if len(row) != width:
            raise ParseError(f"{source}:{line}: {len(row)} values, expected {width}")
        for col, cell in enumerate(row):
            try:
                v = float(cell)
            except ValueError:
                raise ParseError(f"{source}:{line}: {names[col]} is not a number: {cell.strip()!r}") from None
            if not math.isfinite(v):
                raise ParseError(f"{source}:{line}: {names[col]} is {cell.strip()}; numbers must be finite")
            values[line - (2 if has_header else 1), col] = v
    return header, values


def _read_numbers(body: str, width: int) -> np.ndarray | None:
    """The common case in C (NumPy parses numbers as ``float()`` does): finite numbers, ``width``
    in every row; None for anything else, which :func:`_parse` then reads cell by cell to name
    the culprit."""
    if not body.strip():
        return None
    try:
        values = np.loadtxt(io.StringIO(body), delimiter=",", comments=None, ndmin=2, dtype=np.float64)
    except ValueError:
        return None
    if values.size == 0 or values.shape[1] != width or not np.all(np.isfinite(values)):
        return None
    return values


def read_csv_text(
    text: str, source: str, names: Sequence[str] | None = None, n_columns: int | None = None
) -> tuple[list[str] | None, np.ndarray]:
    """Parse CSV text; returns the header (None if it has none) and a ``(rows, columns)`` float
    array. With ``names`` (the inputs), columns come back in that order (module docstring)."""
    header, values = _parse(text, source)
    if values.shape[0] == 0:
        raise ParseError(f"{source}: no examples; expected one row per example after the header")
    expected = len(names) if names is not None else n_columns
    if names is not None and header is not None:
        twice = next((name for k, name in enumerate(header) if name in names and name in header[:k]), None)
        if twice is not None:
            raise ParseError(f"{source}:1: the header names input {twice!r} twice")
    if names is not None and header is not None and sorted(header) == sorted(names) and len(set(header)) == len(header):
        order = [header.index(name) for name in names]
        return [header[k] for k in order], values[:, order]
    if expected is not None and values.shape[1] != expected:
        what = "header has" if header is not None else "rows have"
        raise ParseError(f"{source}:1: {what} {values.shape[1]} columns, expected {expected} (one per input)")
    if names is not None and header is not None:
        for col, name in enumerate(header):
            if name in names and names.index(name) != col:
                raise ParseError(
                    f"{source}:1: column {col + 1} is named {name!r}, which is input {names.index(name) + 1}; "
                    f"name every input ({', '.join(names)}) to match columns by name, or none to match by position"
                )
    return header, values


def read_csv(
    path: str | os.PathLike[str], names: Sequence[str] | None = None, n_columns: int | None = None
) -> tuple[list[str] | None, np.ndarray]:
    """Read a CSV file of examples (see :func:`read_csv_text`)."""
    return read_csv_text(read_text(path, "CSV file"), str(path), names, n_columns)


def read_examples(
    path: str | os.PathLike[str], names: Sequence[str] | None = None, n_columns: int | None = None
) -> np.ndarray:
    """The ``(examples, inputs)`` values of a CSV file (:func:`read_csv`), or of a NumPy ``.npy``
    file holding a 2-D array of finite numbers, columns by position (the binary companion of
    the CSV for many examples: no number parsing; read without pickle)."""
    if str(path).lower().endswith(".npy"):
        return read_npy(path, len(names) if names is not None else n_columns)
    return read_csv(path, names, n_columns)[1]


def read_npy(path: str | os.PathLike[str], n_columns: int | None = None) -> np.ndarray:
    """A ``.npy`` file of examples (:func:`read_examples`); a bad file raises :class:`ParseError`."""
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
        if magic != b"\x93NUMPY":
            raise ParseError(f"{path}: not a NumPy .npy file (it does not start with the .npy magic bytes)")
        values = np.load(path, allow_pickle=False)
    except OSError as err:
        raise ParseError(f"cannot read NumPy file {path}: {err.strerror or err}") from err
    except (ValueError, EOFError, OverflowError) as err:  # a truncated file, a bad header, an object array
        raise ParseError(f"{path}: not a readable .npy array of numbers ({err})") from err
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "biuf":
        kind = getattr(values, "dtype", type(values))
        raise ParseError(f"{path}: holds {kind} values; expected numbers")
    if values.ndim != 2 or values.shape[0] == 0:
        raise ParseError(f"{path}: array of shape {values.shape}; expected (examples, inputs) with >= 1 example")
    if n_columns is not None and values.shape[1] != n_columns:
        raise ParseError(f"{path}: {values.shape[1]} columns, expected {n_columns} (one per input)")
    values = values.astype(np.float64)
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        row, col = bad[0]
        raise ParseError(f"{path}: row {row + 1}, column {col + 1} is {values[row, col]}; numbers must be finite")
    return values


def format_csv(header: Sequence[str], values: np.ndarray) -> str:
    """CSV text with ``repr`` floats, so values read back exactly."""
    arr = np.asarray(values, dtype=np.float64).reshape(-1, len(header))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in arr:
        writer.writerow([repr(float(v)) for v in row])
    return out.getvalue()


def write_csv(path: str | os.PathLike[str], header: Sequence[str], values: np.ndarray) -> None:
    """Write a CSV file atomically."""
    if np.asarray(values).size and np.asarray(values).shape[-1] != len(header):
        raise DataError(f"{np.asarray(values).shape[-1]} columns of values for {len(header)} header names")
    atomic_write_text(path, format_csv(header, values))
