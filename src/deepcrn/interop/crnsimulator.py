"""CRNSimulator notation (the Mathematica package the paper's pipeline used).

``rxn[reactants, products, k]`` and ``conc[species, value]``; Mathematica symbols cannot hold
``_``, so species are renamed (a comment lists the mapping). Load with
``crn = Get["file.m"]; SimulateRxnsys[crn, End -> 100]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._names import unique_identifiers
from ..crn import CRN
from ..io_map import initial_state
from .encoding import input_row

#: Mathematica's own single-letter and built-in symbols a species must not shadow.
RESERVED = frozenset("C D E I K N O Pi S Sin Cos Exp Log End Function List Plus Times Power True False".split())


def symbols(crn: CRN) -> dict[str, str]:
    """Species -> Mathematica-safe symbol (letters and digits only, unique)."""
    return dict(zip(crn.species, unique_identifiers(crn.species, allowed="A-Za-z0-9", prefix="s", reserved=RESERVED)))


def to_crnsimulator(crn: CRN, values: Sequence[float] | None = None) -> str:
    sym = symbols(crn)
    state = initial_state(crn, np.array([input_row(crn, values)]) if crn.inputs else None)[0]
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
