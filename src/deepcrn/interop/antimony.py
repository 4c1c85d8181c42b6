"""Antimony (Tellurium's human-readable model language): the same model as :mod:`.sbml`.

``antimony.loadAntimonyString(text)`` followed by ``antimony.getSBMLString("deepcrn_crn")``
gives SBML that libRoadRunner simulates to the same outputs. Names Antimony would read as
something else are renamed as in SBML (:func:`~deepcrn.interop.encoding.model_ids`); a comment
lists the renaming.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..crn import CRN
from .encoding import COMPARTMENT, MODEL_NAME, encoding_formulas, input_row, model_ids, output_formula, rate_law


def to_antimony(crn: CRN, values: Sequence[float] | None = None, name: str = MODEL_NAME) -> str:
    ids = model_ids(crn)
    row = input_row(crn, values)
    sid = ids.species
    lines = [f"// deepcrn CRN: {len(crn.species)} species, {len(crn.reactions)} reactions"]
    renamed = [f"{s} -> {sid[s]}" for s in crn.species if sid[s] != s]
    if renamed:
        lines.append(f"// species renamed (reserved or clashing names): {', '.join(renamed)}")
    lines.append(f"model {name}()")
    lines.append(f"  compartment {COMPARTMENT} = 1;")
    for start in range(0, len(crn.species), 12):
        lines.append(
            "  species " + ", ".join(f"{sid[s]} in {COMPARTMENT}" for s in crn.species[start : start + 12]) + ";"
        )
    lines.append("")
    rates = crn.rate_constants()
    for i, r in enumerate(crn.reactions):
        left = " + ".join(sid[s] if c == 1 else f"{c} {sid[s]}" for s, c in r.reactants)
        right = " + ".join(sid[s] if c == 1 else f"{c} {sid[s]}" for s, c in r.products)
        lines.append(f"  {ids.reactions[i]}: {left} -> {right}; {rate_law(crn, i, ids)};")
    lines.append("")
    lines += [f"  {ids.rates[i]} = {float(rates[i])!r};" for i in range(len(crn.reactions))]
    lines += [f"  {sid[s]} = {crn.init.get(s, 0.0)!r};" for s in crn.species]
    lines.append("")
    lines.append("  // inputs: set these and reset the model")
    for spec, value in zip(crn.inputs, row):
        lines.append(f"  {ids.inputs[spec.name]} = {value!r};")
        for species, formula in encoding_formulas(spec, ids.inputs[spec.name], ids, dict(crn.init)).items():
            lines.append(f"  {species} = {formula};")
    lines.append("  // outputs")
    for out in crn.outputs:
        lines.append(f"  {ids.outputs[out.name]} := {output_formula(out, ids)};")
    lines.append("end")
    return "\n".join(lines) + "\n"
