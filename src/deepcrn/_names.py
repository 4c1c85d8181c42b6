"""Identifiers for other formats: the one place names are made safe and unique.

Every format deepcrn writes has its own rules for names (SBML SIds, Antimony, Mathematica
symbols, PIL); :func:`unique_identifiers` applies them all the same way: characters outside the
allowed set are replaced, a name that does not start with a letter gets a prefix, and reserved
words, names already taken and repeats get a suffix. Callers keep the mapping, so every name can
be translated back.

    >>> unique_identifiers(["a b", "time", "2x", "a_b"], reserved={"time"})
    ['a_b_1', 'time_1', 's2x', 'a_b']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

#: Words SBML Level 3 math (libsbml's L3 formula parser) and Antimony read as something other
#: than a plain name: constants, the time symbol, operators and function names, keywords.
MODEL_RESERVED = frozenset(
    """
    time t0 avogadro pi exponentiale e true false inf INF infinity nan NaN notanumber
    abs ceil ceiling floor exp ln log log10 pow power root sqrt factorial
    sin cos tan sec csc cot sinh cosh tanh sech csch coth arcsin arccos arctan arcsec arccsc arccot
    arcsinh arccosh arctanh arcsech arccsch arccoth asin acos atan asinh acosh atanh
    and or not xor eq neq gt lt geq leq plus times minus divide implies max min quotient rem
    piecewise delay rateOf
    after assignment at compartment const DNA delete end event ext formula function gene has import
    in is model module operator priority rate reaction species substanceOnly unit var fromBoundary
    toBoundary persistent trigger
    """.split()
)


def unique_identifiers(
    names: Sequence[str],
    *,
    allowed: str = "A-Za-z0-9_",
    prefix: str = "s",
    reserved: Iterable[str] = (),
    taken: Iterable[str] = (),
) -> list[str]:
    """One identifier per name (see the module docstring): characters outside ``allowed`` (a
    regex character class body) become ``_`` (or ``x`` where ``_`` is not allowed), a name not
    starting with a letter gets ``prefix``, and a clash with ``reserved``, ``taken`` or an
    earlier name gets a numeric suffix."""
    blocked = set(reserved) | set(taken)
    bad = re.compile(f"[^{allowed}]")
    filler = "_" if bad.match("_") is None else "x"
    joint = filler if filler == "_" else "v"

    def clean(name: str) -> str:
        text = bad.sub(filler, name)
        return text if text and text[0].isalpha() else prefix + text

    # Names that are fine as they are keep themselves (first occurrence), whatever their order.
    keep: dict[int, str] = {}
    for i, name in enumerate(map(str, names)):
        if clean(name) == name and name not in blocked:
            keep[i] = name
            blocked.add(name)
    out: list[str] = []
    for i, name in enumerate(map(str, names)):
        if i in keep:
            out.append(keep[i])
            continue
        base = clean(name)
        candidate, k = base, 1
        while candidate in blocked:
            candidate, k = f"{base}{joint}{k}", k + 1
        blocked.add(candidate)
        out.append(candidate)
    return out
