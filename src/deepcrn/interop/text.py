"""The human-readable CRN text format: read and write, round-tripping exactly.

One statement a line; ``#`` starts a comment::

    # deepcrn CRN
    species X0_p X0_n I1_0_p I1_0_n M1_0 O_p O_n
    input x0 = X0_p - X0_n          # dual rail: value = X0_p - X0_n
    input x1 = X1 + -0.75           # shifted single rail: value = X1 + (-0.75)
    output y0 = O_p - O_n           # or: output y0 = (O_p - O_n) / 6
    init I1_0_p = 0.5
    X0_p -> I1_0_p + 2 I1_0_n
    M1_0 + I1_0_n -> O_n  [k=2.5]   # optional rate constant (default 1)
    A -> 0                          # 0 is the empty side

``species`` lines are optional: species are otherwise declared in order of first mention.
Numbers are written with Python's ``repr``, so a written CRN reads back identical.
"""

from __future__ import annotations

import os
import re

from .._io import atomic_write_text, read_text
from ..analysis import stats as crn_stats
from ..crn import CRN, MAX_COEFFICIENT, NAME_RE, InputSpec, OutputSpec, Reaction, Term, check_amount
from ..errors import CRNError, ParseError

_NUM = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|inf|nan)"
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_INIT = re.compile(r"init\s+(?P<name>\S+)\s*=\s*(?P<value>\S+)\Z")
_INPUT = re.compile(
    rf"input\s+(?P<name>{_NAME})\s*=\s*(?P<pos>{_NAME})"
    rf"(?:\s*-\s*(?P<neg>{_NAME}))?(?:\s*(?P<sign>[-+])\s*(?P<offset>{_NUM}))?\Z"
)
_OUTPUT = re.compile(
    rf"output\s+(?P<name>{_NAME})\s*=\s*(?P<open>\()?\s*(?P<pos>{_NAME})\s*-\s*(?P<neg>{_NAME})\s*"
    rf"(?(open)\)\s*/\s*(?P<scale>{_NUM}))\Z"
)
_RATE = re.compile(r"\[\s*k\s*=\s*(?P<k>\S+?)\s*\]\Z")
_TERM = re.compile(rf"(?:(?P<coef>\d+)\s*\*?\s*)?(?P<name>{_NAME})\Z")


def format_crn(crn: CRN) -> str:
    """The text of ``crn`` (see the module docstring)."""
    lines = ["# deepcrn CRN"]
    stats = crn_stats(crn)
    lines.append(
        f"# {stats['n_species']} species, {stats['n_reactions']} reactions "
        f"({stats['n_unimolecular']} unimolecular, {stats['n_bimolecular']} bimolecular)"
    )
    for start in range(0, len(crn.species), 12):
        lines.append("species " + " ".join(crn.species[start : start + 12]))
    for spec in crn.inputs:
        text = f"input {spec.name} = {spec.pos}"
        if spec.neg is not None:
            text += f" - {spec.neg}"
        if spec.offset != 0:
            text += f" + {spec.offset!r}"
        lines.append(text)
    for out in crn.outputs:
        if out.scale == 1:
            lines.append(f"output {out.name} = {out.pos} - {out.neg}")
        else:
            lines.append(f"output {out.name} = ({out.pos} - {out.neg}) / {out.scale!r}")
    for name, value in crn.init.items():
        lines.append(f"init {name} = {value!r}")
    for r in crn.reactions:
        text = str(r)
        if r.rate is not None:
            text += f"  [k={r.rate!r}]"
        lines.append(text)
    return "\n".join(lines) + "\n"


def _number(text: str, what: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ParseError(f"{where}: expected a number for {what}, got {text!r}") from None


def _side(text: str, where: str) -> tuple[Term, ...]:
    """One side of a reaction: ``0`` or ``[coefficient] name + ...``. The common term, a plain
    name, takes a fast path; repeated species are merged."""
    parts = text.split("+")
    if len(parts) == 1:
        only = parts[0].strip()
        if only in ("0", "∅"):
            return ()
        if not only:
            raise ParseError(f"{where}: expected species or 0 on each side of '->'")
    terms: list[Term] = []
    for part in parts:
        p = part.strip()
        if p.isidentifier() and p.isascii():
            terms.append((p, 1))
            continue
        m = _TERM.match(p)
        if not m:
            raise ParseError(f"{where}: expected '[coefficient] species', got {p!r}")
        digits = (m["coef"] or "1").lstrip("0") or "0"
        if len(digits) > len(str(MAX_COEFFICIENT)) or int(digits) > MAX_COEFFICIENT:  # before int(): Python
            # refuses to read integers of 4300+ digits
            size = f"has {len(digits)} digits" if len(digits) > 20 else f"is {digits}"
            raise ParseError(
                f"{where}: the coefficient of {m['name']} {size}; coefficients above "
                f"2**53 = {MAX_COEFFICIENT} cannot be held exactly"
            )
        if digits == "0":
            raise ParseError(f"{where}: the coefficient of {m['name']} is 0; coefficients are whole numbers from 1")
        terms.append((m["name"], int(digits)))
    if len(terms) > 1 and len({name for name, _ in terms}) < len(terms):
        merged: dict[str, int] = {}
        for name, coef in terms:
            merged[name] = merged.get(name, 0) + coef
        if max(merged.values()) > MAX_COEFFICIENT:
            raise ParseError(f"{where}: a merged coefficient exceeds 2**53 = {MAX_COEFFICIENT}")
        return tuple(merged.items())
    return tuple(terms)


def parse_crn(text: str, source: str = "<text>") -> CRN:
    """Read the text format; errors name ``source``, the line and what was expected."""
    species: list[str] = []
    seen: set[str] = set()
    init: dict[str, float] = {}
    inputs: list[InputSpec] = []
    outputs: list[OutputSpec] = []
    reactions: list[Reaction] = []

    def mention(name: str) -> None:
        if name not in seen:
            seen.add(name)
            species.append(name)

    for lineno, raw in enumerate(text.splitlines(), start=1):
        where = f"{source}:{lineno}"
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            keyword = "->" if "->" in line else line.split(None, 1)[0]
            if keyword == "species":
                for name in line.split()[1:]:
                    if not NAME_RE.match(name):
                        raise ParseError(f"{where}: {name!r} is not a valid species name")
                    if name in seen:
                        raise ParseError(f"{where}: species {name} is declared twice")
                    mention(name)
            elif keyword == "init":
                m = _INIT.match(line)
                if not m:
                    raise ParseError(f"{where}: expected 'init SPECIES = NUMBER', got {line!r}")
                name = m["name"]
                if not NAME_RE.match(name):
                    raise ParseError(f"{where}: {name!r} is not a valid species name")
                if name in init:
                    raise ParseError(f"{where}: initial concentration of {name} is given twice")
                value = _number(m["value"], f"the initial concentration of {name}", where)
                check_amount(value, f"the initial concentration of {name}")
                mention(name)
                init[name] = value
            elif keyword == "input":
                m = _INPUT.match(line)
                if not m:
                    raise ParseError(
                        f"{where}: expected 'input NAME = POS - NEG' or 'input NAME = SPECIES + OFFSET', got {line!r}"
                    )
                offset = 0.0
                if m["offset"] is not None:
                    offset = _number(m["offset"], "the input offset", where)
                    offset = -offset if m["sign"] == "-" else offset
                for name in (m["pos"], m["neg"]):
                    if name is not None:
                        mention(name)
                inputs.append(InputSpec(m["name"], m["pos"], m["neg"], offset))
            elif keyword == "output":
                m = _OUTPUT.match(line)
                if not m:
                    raise ParseError(
                        f"{where}: expected 'output NAME = POS - NEG' or 'output NAME = (POS - NEG) / SCALE', "
                        f"got {line!r}"
                    )
                scale = 1.0 if m["scale"] is None else _number(m["scale"], "the output scale", where)
                mention(m["pos"])
                mention(m["neg"])
                outputs.append(OutputSpec(m["name"], m["pos"], m["neg"], scale))
            elif keyword == "->":  # before keywords: species may be named species, init, input, output
                rate = None
                body = line
                if "[" in line:
                    body, _, tail = line.partition("[")
                    m = _RATE.match("[" + tail)
                    if not m:
                        raise ParseError(f"{where}: expected a rate as '[k=NUMBER]', got {'[' + tail!r}")
                    rate = check_amount(_number(m["k"], "the rate constant", where), "the rate constant", positive=True)
                left, _, right = body.partition("->")
                if "->" in right:
                    raise ParseError(f"{where}: expected one '->' in a reaction, got {line!r}")
                reactants = _side(left, where)
                if not reactants:
                    raise ParseError(
                        f"{where}: a reaction needs at least one reactant (zero-order reactions never stop)"
                    )
                products = _side(right, where)
                for name, _ in reactants:
                    if name not in seen:
                        mention(name)
                for name, _ in products:
                    if name not in seen:
                        mention(name)
                reactions.append(Reaction.trusted(reactants, products, rate))
            else:
                raise ParseError(
                    f"{where}: expected a reaction 'A + B -> C' or a 'species', 'init', 'input' or "
                    f"'output' line, got {line!r}"
                )
        except CRNError as err:
            raise ParseError(f"{where}: {err}") from err
    try:
        return CRN(tuple(species), tuple(reactions), init, tuple(inputs), tuple(outputs))
    except CRNError as err:
        raise ParseError(f"{source}: {err}") from err


def load_crn(path: str | os.PathLike[str]) -> CRN:
    """Read a CRN text file."""
    return parse_crn(read_text(path, "CRN file"), str(path))


def save_crn(crn: CRN, path: str | os.PathLike[str]) -> None:
    """Write the text format atomically."""
    atomic_write_text(path, format_crn(crn))
