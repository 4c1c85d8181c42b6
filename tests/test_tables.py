"""CSV tables (the fast path, NumPy's parser, reads exactly what Python's float() reads) and the
atomic writes every output goes through."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepcrn._io import atomic_write_text
from deepcrn.errors import ParseError
from deepcrn.interop.tables import format_csv, read_csv_text

numbers = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False)  # "{:.3e}" of 1.7976e308 is inf
formats = st.sampled_from(["{!r}", "{:g}", " {!r} ", "{:.3e}", "{:+.17g}"])


@given(st.integers(1, 5), st.integers(1, 6), st.data(), formats, st.sampled_from(["\n", "\r\n"]))
def test_fast_path_reads_what_float_reads(width: int, height: int, data: st.DataObject, fmt: str, eol: str) -> None:
    table = [[data.draw(numbers) for _ in range(width)] for _ in range(height)]
    cells = [[fmt.format(v) for v in row] for row in table]
    text = eol.join([",".join(f"c{k}" for k in range(width))] + [",".join(row) for row in cells]) + eol
    header, values = read_csv_text(text, "t.csv")
    assert header == [f"c{k}" for k in range(width)]
    expected = np.array([[float(c) for c in row] for row in cells]).reshape(height, width)
    np.testing.assert_array_equal(values, expected)


def test_round_trip_is_exact() -> None:
    values = np.random.default_rng(0).normal(size=(7, 3)) * 10.0 ** np.arange(-5, 16, 7)
    assert np.array_equal(read_csv_text(format_csv(["a", "b", "c"], values), "t.csv")[1], values)


@pytest.mark.parametrize(
    "text, message",
    [
        ("a,b\n1,2\n3\n", "t.csv:3: 1 values, expected 2"),
        ("a,b\n1,2\n3,x\n", "t.csv:3: column 'b' is not a number: 'x'"),
        ("a,b\n1,1e999\n", "t.csv:2: column 'b' is 1e999; numbers must be finite"),
        ('a,b\n"1",2\n4,\n', "t.csv:3: column 'b' is not a number: ''"),
        ("a,b\n#1,2\n", "t.csv:2: column 'a' is not a number: '#1'"),
    ],
)
def test_errors_name_the_line_and_column(text: str, message: str) -> None:
    with pytest.raises(ParseError) as err:
        read_csv_text(text, "t.csv")
    assert str(err.value) == message


def test_written_files_get_ordinary_permissions(tmp_path: Path) -> None:
    """Atomic writes go through a private temporary file; the result must not stay private."""
    mask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.txt"
        atomic_write_text(fresh, "a\n")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        kept = tmp_path / "kept.txt"
        kept.write_text("old\n")
        kept.chmod(0o640)
        atomic_write_text(kept, "new\n")
        assert kept.read_text() == "new\n" and stat.S_IMODE(kept.stat().st_mode) == 0o640
    finally:
        os.umask(mask)
