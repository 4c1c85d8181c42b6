"""What the model exporters (SBML, Antimony) share: safe ids, input values, encoding formulas.

A CRN's species, inputs and outputs get model ids that no model language reads as something
else (``time``, ``pi``, the compartment ``cell``, the generated rate constants ``k_<i>``...):
:func:`model_ids` renames only what must be renamed and keeps the mapping, which the SBML
annotation records so that :func:`deepcrn.interop.sbml.from_sbml` restores the original names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._names import MODEL_RESERVED, MODEL_RESERVED_PARTS, unique_identifiers
from ..crn import CRN, InputSpec, OutputSpec
from ..errors import DataError
from ..io_map import input_values

COMPARTMENT = "cell"
MODEL_NAME = "deepcrn_crn"


@dataclass(frozen=True)
class ModelIds:
    """Model ids: ``species`` (CRN species -> id), ``inputs``/``outputs`` (declaration name ->
    parameter id), and per reaction its rate-constant parameter ``rates[i]`` and id ``reactions[i]``."""

    species: dict[str, str]
    inputs: dict[str, str]
    outputs: dict[str, str]
    rates: list[str]
    reactions: list[str]


def model_ids(crn: CRN) -> ModelIds:
    """Ids for every named thing in the model, unique and free of reserved words."""
    n = len(crn.reactions)
    rates = [f"k_{i}" for i in range(n)]
    reactions = [f"r_{i}" for i in range(n)]
    reserved = MODEL_RESERVED | {COMPARTMENT, MODEL_NAME} | set(rates) | set(reactions)
    parts = MODEL_RESERVED_PARTS
    species = unique_identifiers(crn.species, reserved=reserved, parts=parts)
    inputs = unique_identifiers(crn.input_names, prefix="x", reserved=reserved, taken=species, parts=parts)
    outputs = unique_identifiers(crn.output_names, prefix="y", reserved=reserved, taken=species + inputs, parts=parts)
    return ModelIds(
        dict(zip(crn.species, species)),
        dict(zip(crn.input_names, inputs)),
        dict(zip(crn.output_names, outputs)),
        rates,
        reactions,
    )


def input_row(crn: CRN, values: Sequence[float] | None) -> list[float]:
    """The input values to write: ``values`` (checked as evaluation checks them: finite, in range,
    shifted inputs at or above their lower bound), or 0 (the lower bound for shifted inputs)."""
    if values is None:
        return [0.0 if spec.neg is not None else spec.offset for spec in crn.inputs]
    if len(values) != len(crn.inputs):
        raise DataError(f"{len(values)} input values for {len(crn.inputs)} inputs")
    row = np.array([list(values)], dtype=np.float64)
    input_values(crn, row)  # refuses NaN, values out of range, values below a shifted input's bound
    return [float(v) for v in row[0]]


def encoding_formulas(spec: InputSpec, param: str, ids: ModelIds, init: dict[str, float]) -> dict[str, str]:
    """Initial concentration of the input's species (by model id) as a formula in the input
    parameter (``piecewise`` keeps it SBML Level 3 / Antimony / libRoadRunner friendly)."""
    shifted = f"({param} - {spec.offset!r})" if spec.offset else param
    out = {}
    if spec.neg is None:
        out[spec.pos] = shifted
    else:
        out[spec.pos] = f"piecewise({shifted}, {shifted} > 0, 0)"
        negated = f"({spec.offset!r} - {param})" if spec.offset else f"-{param}"
        out[spec.neg] = f"piecewise({negated}, {negated} > 0, 0)"
    return {
        ids.species[name]: (f"{init[name]!r} + {formula}" if init.get(name) else formula)
        for name, formula in out.items()
    }


def output_formula(out: OutputSpec, ids: ModelIds) -> str:
    """``pos - neg`` (divided by the scale) in model ids."""
    diff = f"{ids.species[out.pos]} - {ids.species[out.neg]}"
    return diff if out.scale == 1 else f"({diff}) / {out.scale!r}"


def rate_law(crn: CRN, i: int, ids: ModelIds) -> str:
    """Mass action ``cell * k_i * prod [R]^coef`` of reaction ``i`` in model ids."""
    terms = [ids.species[name] if c == 1 else f"{ids.species[name]}^{c}" for name, c in crn.reactions[i].reactants]
    return " * ".join([COMPARTMENT, ids.rates[i], *terms])
