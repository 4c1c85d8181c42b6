"""What ``deepcrn dsd --report`` writes: what to order (strands, complexes, domains,
nucleotides; per formal reaction and in total), the concentrations, and the verdicts.

Example::

    >>> from deepcrn.interop.text import parse_crn
    >>> from deepcrn.dsd.schemes import design_crn
    >>> crn = parse_crn("X -> Y + Z")
    >>> r = design_report(design_crn(crn), crn)
    >>> r["reactions"][0]["reaction"], r["reactions"][0]["strands"], r["total"]["nucleotides"]
    ('X -> Y + Z', 5, 330)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis import reaction_levels
from ..crn import CRN
from .model import Design
from .schemes import RELEASE_CUTOFF


def reaction_extents(crn: CRN, amounts: np.ndarray) -> np.ndarray:
    """How far each reaction of a rate-independent CRN runs from the initial ``amounts``
    ``(n_species,)`` (the concentration of fuel each of its gates consumes), shape
    ``(n_reactions,)``: reactions fire to completion in topological order."""
    state = np.array(amounts, dtype=np.float64)
    extents = np.zeros(len(crn.reactions))
    idx = crn.index
    for level in reaction_levels(crn):
        for i in level:
            r = crn.reactions[i]
            e = min(state[idx[s]] / c for s, c in r.reactants)
            extents[i] = e
            for s, c in r.reactants:
                state[idx[s]] -= e * c
            for s, c in r.products:
                state[idx[s]] += e * c
    return extents


def design_report(design: Design, crn: CRN) -> dict[str, Any]:
    """Counts per formal reaction (its fuels) and in total (signals and fuels), the signals'
    names and the domain lengths."""
    rows = []
    for m in design.modules:
        rows.append({"reaction": str(crn.reactions[m.reaction]), "fuels": list(m.fuels), **design.counts(m.fuels)})
    kinds: dict[str, set[int]] = {}
    for d in design.domains.values():
        kinds.setdefault(d.kind, set()).add(d.length)
    return {
        "format": "deepcrn-dsd-report",
        "scheme": design.scheme,
        "domain_lengths_nt": {k: sorted(v) for k, v in kinds.items()},
        "release_cutoff_nt": RELEASE_CUTOFF,
        "signals": dict(design.names),
        "renamed": {s: n for s, n in design.names.items() if s != n},
        "reactions": rows,
        "signal_strands": design.counts(list(design.signals)),
        "fuel_total": design.counts(list(design.fuels)),
        "total": design.counts(list(design.complexes)),
    }
