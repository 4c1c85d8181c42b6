"""What the exporters share: identifiers for inputs/outputs, input-encoding formulas, dispatch."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .._io import atomic_write_text
from ..crn import CRN, InputSpec
from ..errors import DataError

EXPORT_FORMATS = ("sbml", "antimony", "crnsimulator", "text")


def parameter_ids(crn: CRN) -> tuple[dict[str, str], dict[str, str]]:
    """Model-level ids for the inputs and outputs, distinct from every species id."""
    taken = set(crn.species)
    ids: list[dict[str, str]] = [{}, {}]
    for k, names in enumerate((crn.input_names, crn.output_names)):
        for name in names:
            pid = name
            while pid in taken:
                pid = f"{'in' if k == 0 else 'out'}_{pid}"
            taken.add(pid)
            ids[k][name] = pid
    return ids[0], ids[1]


def input_values(crn: CRN, values: Sequence[float] | None) -> list[float]:
    if values is None:
        return [0.0 if spec.neg is not None else spec.offset for spec in crn.inputs]
    if len(values) != len(crn.inputs):
        raise DataError(f"{len(values)} input values for {len(crn.inputs)} inputs")
    return [float(v) for v in values]


def encoding_formulas(spec: InputSpec, param: str, base: dict[str, float]) -> dict[str, str]:
    """Initial concentration of the input's species as a formula in the input parameter
    (``piecewise`` keeps it SBML Level 3 / Antimony / libRoadRunner friendly)."""
    shifted = f"({param} - {spec.offset!r})" if spec.offset else param
    out = {}
    if spec.neg is None:
        out[spec.pos] = shifted
    else:
        out[spec.pos] = f"piecewise({shifted}, {shifted} > 0, 0)"
        negated = f"({spec.offset!r} - {param})" if spec.offset else f"-{param}"
        out[spec.neg] = f"piecewise({negated}, {negated} > 0, 0)"
    for species, formula in list(out.items()):
        if base.get(species):
            out[species] = f"{base[species]!r} + {formula}"
    return out


def export_crn(
    crn: CRN, fmt: str, path: str | os.PathLike[str], values: Sequence[float] | None = None, name: str = "deepcrn_crn"
) -> None:
    """Write ``crn`` in ``fmt`` (one of :data:`EXPORT_FORMATS`) atomically; ``values`` are the
    input values to encode (default: inputs at 0, to be set by the user)."""
    if fmt == "sbml":
        from .sbml import to_sbml

        text = to_sbml(crn, values, name)
    elif fmt == "antimony":
        from .antimony import to_antimony

        text = to_antimony(crn, values, name)
    elif fmt == "crnsimulator":
        from .crnsimulator import to_crnsimulator

        text = to_crnsimulator(crn, values)
    elif fmt == "text":
        from ..crn_text import format_crn

        if values is not None:
            # The inputs become initial concentrations: a closed CRN with no inputs left to feed.
            state = crn.initial_state(np.array([list(values)], dtype=np.float64))[0]
            crn = replace(crn, init=dict(zip(crn.species, state)), inputs=())
        text = format_crn(crn)
    else:
        raise DataError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    atomic_write_text(path, text)
