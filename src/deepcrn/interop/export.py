"""``deepcrn export``: write a CRN for the tools the field uses.

Formats: ``sbml`` (:mod:`.sbml`), ``antimony`` (:mod:`.antimony`), ``crnsimulator``
(:mod:`.crnsimulator`), ``text`` (:mod:`.text`; with input values, a closed CRN whose inputs
are folded into its initial concentrations) and ``npz``, the text format's binary companion for
large CRNs (:mod:`.binary`). Every file is written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal

import numpy as np

from .._io import atomic_write_bytes, atomic_write_text
from ..crn import CRN
from ..errors import DataError
from ..io_map import closed
from .encoding import MODEL_NAME, input_row

Format = Literal["sbml", "antimony", "crnsimulator", "text", "npz"]
EXPORT_FORMATS: tuple[Format, ...] = ("sbml", "antimony", "crnsimulator", "text", "npz")


def export_text(crn: CRN, fmt: Format, values: Sequence[float] | None = None, name: str = MODEL_NAME) -> str:
    """The text of ``crn`` in ``fmt``; ``values`` are the input values to encode (default:
    inputs at 0, or at their lower bound when shifted, to be set by the user)."""
    if fmt == "npz":
        raise DataError("npz is the binary companion format: write it with export_crn")
    if fmt == "sbml":
        from .sbml import to_sbml

        return to_sbml(crn, values, name)
    if fmt == "antimony":
        from .antimony import to_antimony

        return to_antimony(crn, values, name)
    if fmt == "crnsimulator":
        from .crnsimulator import to_crnsimulator

        return to_crnsimulator(crn, values)
    if fmt == "text":
        from .text import format_crn

        if values is not None:
            crn = closed(crn, np.array(input_row(crn, values)))
        return format_crn(crn)
    raise DataError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")


def export_crn(
    crn: CRN, fmt: Format, path: str | os.PathLike[str], values: Sequence[float] | None = None, name: str = MODEL_NAME
) -> None:
    """Write ``crn`` in ``fmt`` to ``path`` atomically (see :func:`export_text`)."""
    if fmt == "npz":
        from .binary import to_bytes

        atomic_write_bytes(path, to_bytes(crn if values is None else closed(crn, np.array(input_row(crn, values)))))
        return
    atomic_write_text(path, export_text(crn, fmt, values, name))


def save_any_crn(crn: CRN, path: str | os.PathLike[str]) -> None:
    """Write ``crn`` to ``path``: the binary companion when the name ends in ``.npz``, else the
    text format."""
    export_crn(crn, "npz" if str(path).lower().endswith(".npz") else "text", path)
