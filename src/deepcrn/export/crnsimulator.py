"""CRNSimulator notation (the Mathematica package the paper's pipeline used).

``rxn[reactants, products, k]`` and ``conc[species, value]``; Mathematica symbols cannot hold
``_``, so species are renamed (a comment lists the mapping). Load with
``crn = Get["file.m"]; SimulateRxnsys[crn, End -> 100]``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ..crn import CRN
from .common import input_values


def symbols(crn: CRN) -> dict[str, str]:
    """Species -> Mathematica-safe symbol (letters and digits only, unique)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for s in crn.species:
        base = re.sub(r"[^A-Za-z0-9]", "x", s)
        name, k = base, 1
        while name in used:
            name, k = f"{base}v{k}", k + 1
        used.add(name)
        out[s] = name
    return out


def to_crnsimulator(crn: CRN, values: Sequence[float] | None = None) -> str:
    sym = symbols(crn)
    state = crn.initial_state(np.array([input_values(crn, values)]))[0] if crn.inputs else crn.initial_state()[0]
    rates = crn.rate_constants()

    def side(terms: Sequence[tuple[str, int]]) -> str:
        return " + ".join(sym[s] if c == 1 else f"{c} {sym[s]}" for s, c in terms) or "0"

    items = [f"conc[{sym[s]}, {float(v)!r}]" for s, v in zip(crn.species, state) if v != 0]
    items += [f"rxn[{side(r.reactants)}, {side(r.products)}, {float(rates[i])!r}]" for i, r in enumerate(crn.reactions)]
    renamed = [f"{s} -> {sym[s]}" for s in crn.species if sym[s] != s]
    lines = ["(* deepcrn CRN in CRNSimulator notation *)"]
    if renamed:
        lines.append(f"(* species renamed: {', '.join(renamed)} *)")
    for out in crn.outputs:
        scale = "" if out.scale == 1 else f" / {out.scale!r}"
        lines.append(f"(* output {out.name} = ({sym[out.pos]} - {sym[out.neg]}){scale} *)")
    lines.append("{\n  " + ",\n  ".join(items) + "\n}")
    return "\n".join(lines) + "\n"
