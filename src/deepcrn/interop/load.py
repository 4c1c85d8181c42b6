"""Read a CRN from any format deepcrn reads, recognised by content: the binary companion (a zip
archive, :mod:`.binary`), SBML (XML) or the text format."""

from __future__ import annotations

import os
from pathlib import Path

from ..crn import CRN
from ..errors import ParseError
from .binary import MAGIC, from_bytes


def load_any_crn(path: str | os.PathLike[str]) -> CRN:
    """A CRN from the binary companion (a file starting like a zip archive), SBML (a file whose
    first non-blank character is ``<``) or the text format."""
    p = Path(path)
    try:
        with p.open("rb") as handle:
            head = handle.read(256)
    except OSError as err:
        raise ParseError(f"cannot read CRN file {p}: {err.strerror or err}") from err
    if head.startswith(MAGIC):
        try:
            data = p.read_bytes()
        except OSError as err:
            raise ParseError(f"cannot read CRN file {p}: {err.strerror or err}") from err
        return from_bytes(data, str(p))
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        from .sbml import load_sbml

        return load_sbml(p)
    from .text import load_crn

    return load_crn(p)
