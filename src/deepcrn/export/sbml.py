"""SBML Level 3 Version 2 with mass-action kinetics, written and read with python-libsbml.

Written model: one compartment ``cell`` (size 1); every species with its initial concentration;
one parameter ``k_<i>`` per reaction and the kinetic law ``cell * k_<i> * prod [R]^coef``;
each **input** is a parameter (set it to feed a value) and its species get initial assignments
that encode it (dual rail or shifted single rail); each **output** is a parameter with the
assignment rule ``name := (pos - neg) / scale``. deepcrn's declarations are kept in a model
annotation, so :func:`from_sbml` recovers the same CRN.

:func:`from_sbml` also reads SBML from other tools (species, reactions, stoichiometries;
reversible reactions become two reactions) so that ``deepcrn info`` can judge any model.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from .._io import read_text
from ..crn import CRN, InputSpec, OutputSpec, Reaction
from ..errors import CRNError, ParseError
from .common import encoding_formulas, input_values, parameter_ids

NS = "https://github.com/deepcrn/deepcrn/ns/crn-1"


def _libsbml() -> Any:
    try:
        import libsbml
    except ImportError as err:  # pragma: no cover - a dependency of deepcrn[sbml]
        raise CRNError("SBML needs python-libsbml: pip install 'deepcrn[sbml]'") from err
    return libsbml


def _check(code: int, what: str) -> None:
    libsbml = _libsbml()
    if code != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise CRNError(f"libsbml could not set {what}: {libsbml.OperationReturnValue_toString(code)}")


def rate_law(reaction: Reaction, k: str) -> str:
    factors = ["cell", k] + [name if c == 1 else f"{name}^{c}" for name, c in reaction.reactants]
    return " * ".join(factors)


def to_sbml(crn: CRN, values: Sequence[float] | None = None, name: str = "deepcrn_crn") -> str:
    """The SBML text of ``crn``; ``values`` set the input parameters (default 0)."""
    libsbml = _libsbml()
    doc = libsbml.SBMLDocument(3, 2)
    model = doc.createModel()
    _check(model.setId(name), "the model id")
    model.setTimeUnits("second")
    comp = model.createCompartment()
    comp.setId("cell")
    comp.setSize(1.0)
    comp.setConstant(True)
    comp.setSpatialDimensions(3)
    for s in crn.species:
        sp = model.createSpecies()
        _check(sp.setId(s), f"species id {s}")
        sp.setCompartment("cell")
        sp.setInitialConcentration(float(crn.init.get(s, 0.0)))
        sp.setHasOnlySubstanceUnits(False)
        sp.setBoundaryCondition(False)
        sp.setConstant(False)
    rates = crn.rate_constants()
    for i, r in enumerate(crn.reactions):
        k = model.createParameter()
        k.setId(f"k_{i}")
        k.setValue(float(rates[i]))
        k.setConstant(True)
        rx = model.createReaction()
        rx.setId(f"r_{i}")
        rx.setReversible(False)
        for species, coef in r.reactants:
            ref = rx.createReactant()
            ref.setSpecies(species)
            ref.setStoichiometry(float(coef))
            ref.setConstant(True)
        for species, coef in r.products:
            ref = rx.createProduct()
            ref.setSpecies(species)
            ref.setStoichiometry(float(coef))
            ref.setConstant(True)
        law = rx.createKineticLaw()
        math = libsbml.parseL3Formula(rate_law(r, f"k_{i}"))
        _check(law.setMath(math), f"the kinetic law of reaction {i + 1}")
    in_ids, out_ids = parameter_ids(crn)
    for spec, value in zip(crn.inputs, input_values(crn, values)):
        p = model.createParameter()
        p.setId(in_ids[spec.name])
        p.setValue(value)
        p.setConstant(True)
        for species, formula in encoding_formulas(spec, in_ids[spec.name], dict(crn.init)).items():
            ia = model.createInitialAssignment()
            ia.setSymbol(species)
            _check(ia.setMath(libsbml.parseL3Formula(formula)), f"the initial assignment of {species}")
    for out in crn.outputs:
        p = model.createParameter()
        p.setId(out_ids[out.name])
        p.setConstant(False)
        rule = model.createAssignmentRule()
        rule.setVariable(out_ids[out.name])
        formula = f"{out.pos} - {out.neg}" if out.scale == 1 else f"({out.pos} - {out.neg}) / {out.scale!r}"
        _check(rule.setMath(libsbml.parseL3Formula(formula)), f"the rule of output {out.name}")
    _check(model.setAnnotation(_annotation(crn, in_ids, out_ids)), "the deepcrn annotation")
    model.setNotes(
        "<body xmlns='http://www.w3.org/1999/xhtml'><p>Compiled by deepcrn. Set the input parameters "
        f"({', '.join(in_ids.values()) or 'none'}) and reset the model to feed an input (libRoadRunner: "
        "rr.setValue('init(x0)', v); rr.reset()); read the outputs "
        f"from the parameters {', '.join(out_ids.values())}.</p></body>"
    )
    return libsbml.writeSBMLToString(doc)


def _annotation(crn: CRN, in_ids: dict[str, str], out_ids: dict[str, str]) -> str:
    root = ET.Element("deepcrn:crn", {"xmlns:deepcrn": NS})
    for spec in crn.inputs:
        attrs = {"name": spec.name, "parameter": in_ids[spec.name], "pos": spec.pos, "offset": repr(spec.offset)}
        if spec.neg is not None:
            attrs["neg"] = spec.neg
        ET.SubElement(root, "deepcrn:input", attrs)
    for out in crn.outputs:
        ET.SubElement(
            root,
            "deepcrn:output",
            {
                "name": out.name,
                "parameter": out_ids[out.name],
                "pos": out.pos,
                "neg": out.neg,
                "scale": repr(out.scale),
            },
        )
    given = [str(i) for i, r in enumerate(crn.reactions) if r.rate is not None]
    ET.SubElement(root, "deepcrn:rates", {"given": " ".join(given)})
    # SBML writers print 15 significant digits; keep the exact values for a lossless round trip.
    exact = {"init": " ".join(f"{s}={v!r}" for s, v in crn.init.items())}
    exact["rates"] = " ".join(f"{i}={r.rate!r}" for i, r in enumerate(crn.reactions) if r.rate is not None)
    ET.SubElement(root, "deepcrn:exact", exact)
    return f"<annotation>{ET.tostring(root, encoding='unicode')}</annotation>"


def errors(doc: object) -> list[str]:
    """libsbml's errors (severity error or fatal) after its consistency checks."""
    libsbml = _libsbml()
    doc.checkConsistency()  # type: ignore[attr-defined]
    found = []
    for i in range(doc.getNumErrors()):  # type: ignore[attr-defined]
        err = doc.getError(i)  # type: ignore[attr-defined]
        if err.getSeverity() >= libsbml.LIBSBML_SEV_ERROR:
            found.append(f"line {err.getLine()}: {err.getMessage().strip()}")
    return found


def from_sbml(text: str, source: str = "<sbml>") -> CRN:
    """Read a CRN from SBML text (any level/version libsbml reads)."""
    libsbml = _libsbml()
    doc = libsbml.readSBMLFromString(text)
    fatal = [
        doc.getError(i) for i in range(doc.getNumErrors()) if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]
    model = doc.getModel()
    if fatal or model is None:
        msg = fatal[0].getMessage().strip().splitlines()[0] if fatal else "no model in the document"
        line = f":{fatal[0].getLine()}" if fatal else ""
        raise ParseError(f"{source}{line}: not readable SBML: {msg}")
    species = [model.getSpecies(i).getId() for i in range(model.getNumSpecies())]
    init: dict[str, float] = {}
    for i in range(model.getNumSpecies()):
        sp = model.getSpecies(i)
        value = sp.getInitialConcentration() if sp.isSetInitialConcentration() else sp.getInitialAmount()
        if value == value and value:  # not NaN, not 0
            init[sp.getId()] = value
    params = {model.getParameter(i).getId(): model.getParameter(i).getValue() for i in range(model.getNumParameters())}
    reactions: list[Reaction] = []
    ann = _read_annotation(model)
    if ann is not None:
        ann["given"] = set(ann["rates"].split())
        init = {name: _prefer_exact(v, ann["exact_init"].get(name)) or v for name, v in init.items()}
    for i in range(model.getNumReactions()):
        rx = model.getReaction(i)
        reactants = _side(rx, rx.getListOfReactants(), rx.getNumReactants(), "reactant", source)
        products = _side(rx, rx.getListOfProducts(), rx.getNumProducts(), "product", source)
        if not reactants:
            raise ParseError(f"{source}: reaction {rx.getId()} has no reactants (deepcrn needs at least one)")
        k = params.get(f"k_{i}")
        if ann is None:
            rate = k  # a foreign model: the k_<i> parameter if there is one
        else:
            rate = _prefer_exact(k, ann["exact_rates"].get(str(i))) if str(i) in ann["given"] else None
        if rate is not None and not rate > 0:
            rate = None  # a foreign k_<i> that is not a positive rate constant
        try:
            reactions.append(Reaction(reactants, products, rate))
            if rx.getReversible():
                if not products:
                    raise ParseError(f"{source}: reversible reaction {rx.getId()} has no products")
                reactions.append(Reaction(products, reactants))
        except CRNError as err:
            raise ParseError(f"{source}: reaction {rx.getId()}: {err}") from err
    inputs: list[InputSpec] = []
    outputs: list[OutputSpec] = []
    if ann is not None:
        for attrs in ann["inputs"]:
            inputs.append(InputSpec(attrs["name"], attrs["pos"], attrs.get("neg"), float(attrs.get("offset", 0))))
        for attrs in ann["outputs"]:
            outputs.append(OutputSpec(attrs["name"], attrs["pos"], attrs["neg"], float(attrs.get("scale", 1))))
    try:
        return CRN(tuple(species), tuple(reactions), init, tuple(inputs), tuple(outputs))
    except CRNError as err:
        raise ParseError(f"{source}: {err}") from err


def _side(rx: Any, refs: Any, n: int, what: str, source: str) -> tuple[tuple[str, int], ...]:
    terms = []
    for j in range(n):
        ref = refs.get(j)
        stoich = ref.getStoichiometry() if ref.isSetStoichiometry() else 1.0
        if stoich != int(stoich) or stoich <= 0:
            raise ParseError(
                f"{source}: reaction {rx.getId()}: {what} stoichiometry {stoich:g} of "
                f"{ref.getSpecies()} is not a positive integer"
            )
        terms.append((ref.getSpecies(), int(stoich)))
    return tuple(terms)


def _prefer_exact(value: float | None, exact: float | None) -> float | None:
    """deepcrn's exact value, unless the SBML value was changed since deepcrn wrote it."""
    if value is None or exact is None:
        return value
    return exact if abs(value - exact) <= 1e-12 * max(abs(exact), 1e-300) else value


def _read_annotation(model: Any) -> dict[str, Any] | None:
    if not model.isSetAnnotation():
        return None
    text = model.getAnnotationString()
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    crn = root.find(f"{{{NS}}}crn")
    if crn is None:
        return None
    rates = crn.find(f"{{{NS}}}rates")
    exact = crn.find(f"{{{NS}}}exact")
    pairs = {}
    for key in ("init", "rates"):
        text = exact.attrib.get(key, "") if exact is not None else ""
        pairs[key] = {k: float(v) for k, _, v in (item.partition("=") for item in text.split())}
    return {
        "exact_init": pairs["init"],
        "exact_rates": pairs["rates"],
        "inputs": [dict(e.attrib) for e in crn.findall(f"{{{NS}}}input")],
        "outputs": [dict(e.attrib) for e in crn.findall(f"{{{NS}}}output")],
        "rates": rates.attrib.get("given", "") if rates is not None else "",
    }


def load_sbml(path: str | os.PathLike[str]) -> CRN:
    return from_sbml(read_text(path, "SBML file"), str(path))
