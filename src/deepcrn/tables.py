"""CSV tables of examples: one header row, one row per example, numbers only.

>>> import io
>>> names, values = read_csv_text("a,b\\n1,2\\n3,4.5\\n", "x.csv")
>>> names, values.tolist()
(['a', 'b'], [[1.0, 2.0], [3.0, 4.5]])
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence

import numpy as np

from ._io import atomic_write_text, read_text
from .errors import DataError, ParseError


def read_csv_text(text: str, source: str, n_columns: int | None = None) -> tuple[list[str], np.ndarray]:
    """Parse CSV text; returns the header and a ``(rows, columns)`` float array."""
    fast = _read_numbers(text, n_columns)
    if fast is not None:
        return fast
    rows = list(csv.reader(io.StringIO(text)))
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    if not rows:
        raise ParseError(f"{source}: empty file; expected a header row and one row per example")
    header = [cell.strip() for cell in rows[0]]
    width = len(header)
    if n_columns is not None and width != n_columns:
        raise ParseError(f"{source}:1: header has {width} columns, expected {n_columns} (one per input)")
    values = np.empty((len(rows) - 1, width))
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != width:
            raise ParseError(f"{source}:{line}: {len(row)} values, expected {width}")
        for col, cell in enumerate(row):
            try:
                v = float(cell)
            except ValueError:
                raise ParseError(f"{source}:{line}: column {header[col]!r} is not a number: {cell.strip()!r}") from None
            if not math.isfinite(v):
                raise ParseError(f"{source}:{line}: column {header[col]!r} is {cell.strip()}; numbers must be finite")
            values[line - 2, col] = v
    return header, values


def _read_numbers(text: str, n_columns: int | None) -> tuple[list[str], np.ndarray] | None:
    """The common case in C (NumPy parses numbers as ``float()`` does): a plain header and
    finite numbers, the right number in every row; None for anything else, which
    :func:`read_csv_text` then reads cell by cell to name the culprit."""
    first, _, body = text.partition("\n")
    header = [cell.strip() for cell in next(csv.reader([first]), [])]
    if not header or (n_columns is not None and len(header) != n_columns) or '"' in first or not body.strip():
        return None
    try:
        values = np.loadtxt(io.StringIO(body), delimiter=",", comments=None, ndmin=2, dtype=np.float64)
    except ValueError:
        return None
    if values.size == 0 or values.shape[1] != len(header) or not np.all(np.isfinite(values)):
        return None
    return header, values


def read_csv(path: str | os.PathLike[str], n_columns: int | None = None) -> tuple[list[str], np.ndarray]:
    """Read a CSV file of examples (see :func:`read_csv_text`)."""
    return read_csv_text(read_text(path, "CSV file"), str(path), n_columns)


def format_csv(header: Sequence[str], values: np.ndarray) -> str:
    """CSV text with ``repr`` floats, so values read back exactly."""
    arr = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if arr.shape[1] != len(header):
        raise DataError(f"{arr.shape[1]} columns of values for {len(header)} header names")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in arr:
        writer.writerow([repr(float(v)) for v in row])
    return out.getvalue()


def write_csv(path: str | os.PathLike[str], header: Sequence[str], values: np.ndarray) -> None:
    """Write a CSV file atomically."""
    atomic_write_text(path, format_csv(header, values))
