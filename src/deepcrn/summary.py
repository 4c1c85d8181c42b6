"""What ``deepcrn info`` reports about a CRN: sizes, rate-independence verdicts naming the
culprit, and the ReLU circuit exact evaluation computes (or why there is none).

    >>> from deepcrn.interop.text import parse_crn
    >>> report = describe(parse_crn("input x = X_p - X_n\\noutput y = Y_p - Y_n\\nX_p -> M + Y_p\\nM + X_n -> Y_n"))
    >>> report["rate_independent"], report["circuit"]
    (True, {'available': True, 'widths': [1], 'multiply_adds': 2})
"""

from __future__ import annotations

from typing import Any

from .analysis import competitions, find_cycle, never_stopping, rate_independence, stats
from .crn import CRN
from .errors import CircuitError
from .exact.circuit import relu_circuit

_SIZES = (
    "n_species",
    "n_reactions",
    "n_unimolecular",
    "n_bimolecular",
    "n_higher_order",
    "max_reactants",
    "max_products",
    "total_products",
    "depth",
    "n_inputs",
    "n_outputs",
)


def describe(crn: CRN) -> dict[str, Any]:
    """The ``deepcrn info --json`` report (module docstring)."""
    comps = competitions(crn)
    cycle = find_cycle(crn)
    stuck = never_stopping(crn)
    reason = rate_independence(crn)
    circuit: dict[str, Any] | None = None
    if reason is None:
        try:
            c = relu_circuit(crn)
            circuit = {"available": True, "widths": list(c.widths), "multiply_adds": c.multiply_adds}
        except CircuitError as err:
            circuit = {"available": False, "reason": str(err)}
    return {
        **stats(crn),
        "non_competitive": not comps,
        "competing": [{"species": c.species, "reactions": [str(crn.reactions[i]) for i in c.reactions]} for c in comps],
        "feed_forward": cycle is None,
        "cycle": cycle,
        "never_stopping": [str(crn.reactions[i]) for i in stuck],
        "rate_independent": reason is None,
        "rate_independence": reason or "the same equilibrium under any rates",
        "circuit": circuit,
    }


def describe_text(crn: CRN, report: dict[str, Any]) -> str:
    """The report as ``deepcrn info`` prints it."""
    lines = [f"  {key:16s} {'none (a cycle)' if report[key] is None else report[key]}" for key in _SIZES]
    if report["non_competitive"]:
        lines.append("  non-competitive  yes")
    else:
        comps = competitions(crn)
        lines.append(f"  non-competitive  NO: {len(comps)} species compete, e.g. {comps[0].species} in")
        lines += [f"                     #{i + 1}: {crn.reactions[i]}" for i in comps[0].reactions]
    cycle = report["cycle"]
    lines.append("  feed-forward     " + ("yes" if cycle is None else f"NO: cycle {' -> '.join(cycle)}"))
    if report["never_stopping"]:
        lines.append(f"  every reaction stops  NO: {report['never_stopping'][0]} consumes none of its reactants")
    if report["rate_independent"]:
        lines.append("  rate-independent yes: the same equilibrium under any rates")
    else:
        lines.append(f"  rate-independent NO: {report['rate_independence']}")
    circuit = report["circuit"]
    if circuit is not None:
        if circuit["available"]:
            widths = "-".join(map(str, circuit["widths"])) or "none"
            lines.append(
                f"  ReLU circuit     nodes per layer {widths}, {circuit['multiply_adds']} multiply-adds per "
                "example (what exact evaluation computes)"
            )
        else:
            lines.append(f"  ReLU circuit     none ({circuit['reason']}); exact evaluation fires the reactions")
    return "\n".join(lines)
