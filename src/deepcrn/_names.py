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
from collections.abc import Iterable, Mapping, Sequence

#: Words a model language reads as something other than a plain name, found by trying each one as a
#: species name (tests/test_export.py checks them all with libsbml, Antimony and libRoadRunner;
#: libsbml compares constants without case by default, so deepcrn parses formulas case-sensitively):
#: - SBML Level 3 math (libsbml's formula parser, case-sensitive as deepcrn runs it): constants;
#: - Antimony: its built-in constants and functions (as in libsbml's parser, plus distributions),
#:   its keywords, its built-in unit names and its default compartment.
MODEL_RESERVED = frozenset(
    """
    avogadro exponentiale false inf infinity nan notanumber pi time true
    True TRUE False FALSE INF NaN NAN
    abs acos arccos acosh arccosh acot arccot acoth arccoth acsc arccsc acsch arccsch asec arcsec asech
    arcsech asin arcsin arcsinh atan arctan atanh arctanh ceil ceiling cos cosh cot coth csc csch delay
    exp factorial floor log ln log10 piecewise power pow sqr sqrt rateOf root sec sech sin sinh tan tanh
    and not or xor eq equals geq gt leq lt neq divide minus plus times quotient max min rem implies
    normal truncatedNormal uniform exponential truncatedExponential gamma truncatedGamma poisson
    truncatedPoisson bernoulli binomial cauchy chisquare laplace lognormal rayleigh
    model module end species formula reaction DNA gene operator compartment has in is var const ext
    substanceOnly import event at after function unit delete constraint maximize minimize
    area extent length substance volume time_unit default_compartment
    """.split()
)
#: Antimony also fails on any name that merely *contains* one of its truncated distributions (e.g.
#: ``xtruncatedNormal_1``): such parts are split with an underscore.
MODEL_RESERVED_PARTS = {
    part: part.replace("truncated", "truncated_")
    for part in ("truncatedNormal", "truncatedGamma", "truncatedExponential", "truncatedPoisson")
}


def unique_identifiers(
    names: Sequence[str],
    *,
    allowed: str = "A-Za-z0-9_",
    prefix: str = "s",
    reserved: Iterable[str] = (),
    taken: Iterable[str] = (),
    parts: Mapping[str, str] | None = None,
) -> list[str]:
    """One identifier per name (see the module docstring): characters outside ``allowed`` (a
    regex character class body) become ``_`` (or ``x`` where ``_`` is not allowed), each key of
    ``parts`` found in a name is replaced by its value, a name not starting with a letter gets
    ``prefix``, and a clash with ``reserved``, ``taken`` or an earlier name gets a numeric suffix."""
    blocked = set(reserved) | set(taken)
    bad = re.compile(f"[^{allowed}]")
    filler = "_" if bad.match("_") is None else "x"
    joint = filler if filler == "_" else "v"

    def clean(name: str) -> str:
        text = bad.sub(filler, name)
        for part, replacement in (parts or {}).items():
            text = text.replace(part, replacement)
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
