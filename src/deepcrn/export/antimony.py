"""Antimony (Tellurium's human-readable model language): the same model as :mod:`.sbml`.

``antimony.loadAntimonyString(text)`` followed by ``antimony.getSBMLString("deepcrn_crn")``
gives SBML that libRoadRunner simulates to the same outputs.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..crn import CRN
from .common import encoding_formulas, input_values, parameter_ids
from .sbml import rate_law


def to_antimony(crn: CRN, values: Sequence[float] | None = None, name: str = "deepcrn_crn") -> str:
    in_ids, out_ids = parameter_ids(crn)
    lines = [f"// deepcrn CRN: {len(crn.species)} species, {len(crn.reactions)} reactions", f"model {name}()"]
    lines.append("  compartment cell = 1;")
    for start in range(0, len(crn.species), 12):
        lines.append("  species " + ", ".join(f"{s} in cell" for s in crn.species[start : start + 12]) + ";")
    lines.append("")
    rates = crn.rate_constants()
    for i, r in enumerate(crn.reactions):
        left = " + ".join(s if c == 1 else f"{c} {s}" for s, c in r.reactants)
        right = " + ".join(s if c == 1 else f"{c} {s}" for s, c in r.products)
        lines.append(f"  r_{i}: {left} -> {right}; {rate_law(r, f'k_{i}')};")
    lines.append("")
    lines += [f"  k_{i} = {float(rates[i])!r};" for i in range(len(crn.reactions))]
    lines += [f"  {s} = {crn.init.get(s, 0.0)!r};" for s in crn.species]
    lines.append("")
    lines.append("  // inputs: set these and reset the model")
    for spec, value in zip(crn.inputs, input_values(crn, values)):
        lines.append(f"  {in_ids[spec.name]} = {value!r};")
        for species, formula in encoding_formulas(spec, in_ids[spec.name], dict(crn.init)).items():
            lines.append(f"  {species} = {formula};")
    lines.append("  // outputs")
    for out in crn.outputs:
        formula = f"{out.pos} - {out.neg}" if out.scale == 1 else f"({out.pos} - {out.neg}) / {out.scale!r}"
        lines.append(f"  {out_ids[out.name]} := {formula};")
    lines.append("end")
    return "\n".join(lines) + "\n"
