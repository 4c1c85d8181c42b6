"""A design in PIL kernel notation, the input format of peppercornenumerator.

Concentrations are in nM: each signal at its formal species' initial amount times ``unit_nM``
(the concentration that stands for 1.0 in the formal CRN), each fuel at ``fuel_nM``.

Example::

    >>> from deepcrn.interop.text import parse_crn
    >>> from deepcrn.dsd.schemes import design_crn
    >>> text = to_pil(design_crn(parse_crn("init X = 2\\nX -> Y")), {"X": 2.0}, unit_nM=10, fuel_nM=1000)
    >>> [line for line in text.splitlines() if line.startswith(("X ", "r1_L"))]
    ['X = h_X a_X b_X c_X @initial 20 nM', 'r1_L = b_X( c_X( h1_1 a_Y + ) ) a_X* @initial 1000 nM']
"""

from __future__ import annotations

from collections.abc import Mapping

from .model import Design


def conc(value: float) -> str:
    """A concentration as PIL's grammar reads it (digits, optional fraction and exponent)."""
    text = f"{float(value):.10g}"
    return text.replace("e+", "e")


def to_pil(
    design: Design,
    amounts: Mapping[str, float],
    *,
    unit_nM: float,
    fuel_nM: float,
    title: str = "",
    reactions: list[str] | None = None,
) -> str:
    """The PIL text of ``design``: domain lengths, signal complexes named as the formal species
    (``amounts``: formal species -> initial amount, in the CRN's units) and fuels, each group
    under a comment. ``reactions``: each module's formal reaction as text, for the comments."""
    lines = [f"# {title}" if title else "# deepcrn DSD design", f"# scheme: {design.scheme}"]
    renamed = [f"{s} -> {n}" for s, n in design.names.items() if s != n]
    if renamed:
        lines.append(f"# species renamed for PIL: {', '.join(renamed)}")
    lines.append(f"# concentrations: 1.0 in the formal CRN = {conc(unit_nM)} nM; fuels at {conc(fuel_nM)} nM")
    lines.append("")
    lines.append("# Domains (nt)")
    lines += [f"length {d.name} = {d.length}" for d in design.domains.values()]
    lines.append("")
    lines.append("# Signals: one per formal species")
    for species, name in design.names.items():
        c = design.signals[name]
        lines.append(f"{name} = {c.kernel} @initial {conc(amounts.get(species, 0.0) * unit_nM)} nM")
    for k, module in enumerate(design.modules):
        lines.append("")
        label = reactions[k] if reactions else f"{' + '.join(module.reactants)} -> {' + '.join(module.products)}"
        lines.append(f"# Fuels of reaction {module.reaction + 1}: {label}")
        for name in module.fuels:
            lines.append(f"{name} = {design.fuels[name].kernel} @initial {conc(fuel_nM)} nM")
    return "\n".join(lines) + "\n"
