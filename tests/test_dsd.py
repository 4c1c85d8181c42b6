"""Network -> DSD form -> domain-level design: PIL that peppercorn reads, verified with
peppercornenumerator and crnverifier (real tools, no mocks), broken gates caught."""

from __future__ import annotations

import json
import sys
import warnings
from dataclasses import replace

import numpy as np
import pytest

from deepcrn.cli import main
from deepcrn.compile import compile_network
from deepcrn.crn import CRN
from deepcrn.dsd import Complex, Design, Domain, Lengths, design_crn, to_pil
from deepcrn.dsd.enumerate import enumerate_complexes
from deepcrn.dsd.simulate import plot_design_kinetics, simulate_design
from deepcrn.dsd.verify import implementation, verify_design
from deepcrn.errors import CRNError
from deepcrn.interop.text import parse_crn, save_crn
from deepcrn.network import Layer, Network

pytest.importorskip("peppercornenumerator")
pytest.importorskip("crnverifier")

CHAIN = "X -> A + B\nA + Y -> O\nB -> P"


def ternary(shape: tuple[int, ...], seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(zip(shape[:-1], shape[1:])):
        last = i == len(shape) - 2
        layers.append(Layer(rng.integers(-1, 2, size=(a, b)), rng.normal(size=b), "linear" if last else "relu"))
    return Network(tuple(layers), "ternary")


def with_domain(design: Design, fuel: str, old: str, new: str, kind: str = "long") -> Design:
    """``design`` with domain ``old`` (and its complement) replaced by ``new`` in one fuel."""
    c = design.fuels[fuel]
    seq = tuple(new + d[len(old) :] if d.rstrip("*") == old else d for d in c.sequence)
    domains = {**design.domains, new: Domain(new, design.domains[old].length, kind)}  # type: ignore[arg-type]
    return replace(design, domains=domains, fuels={**design.fuels, fuel: Complex(fuel, seq, c.structure)})


def test_design_names_signals_as_species_and_keeps_toeholds_short() -> None:
    crn = parse_crn("init length = 2\nlength + Y -> Z")
    d = design_crn(crn)
    assert d.names == {"length": "length_1", "Y": "Y", "Z": "Z"}  # a PIL keyword is renamed, the rest kept
    assert max(x.length for x in d.domains.values() if x.kind == "toehold") <= 7
    assert {m.fuels for m in d.modules} == {("r1_L", "r1_B", "r1_T")}
    # the fork gate releases Z's history variant: Z's own domains after a history domain
    released = d.fuels["r1_T"].strands[0]
    assert released[0] in d.history and released[1:] == d.signals["Z"].sequence[1:]
    text = to_pil(d, {"length": 2.0}, unit_nM=10, fuel_nM=500)
    assert "length_1 = h_length_1 a_length_1 b_length_1 c_length_1 @initial 20 nM" in text
    assert "# species renamed for PIL: length -> length_1" in text
    with pytest.raises(CRNError, match="toeholds must be"):
        design_crn(crn, lengths=Lengths(toehold=8))


def test_unsupported_reactions_are_refused() -> None:
    net = ternary((2, 4, 2))
    with pytest.raises(CRNError, match="compile the network with --form dsd"):
        design_crn(compile_network(net, form="reduced"))
    with pytest.raises(CRNError, match="unknown DSD scheme"):
        design_crn(compile_network(net, form="dsd"), scheme="nope")


def test_pil_of_a_network_parses_in_peppercorn() -> None:
    from peppercornenumerator.input import read_pil
    from peppercornenumerator.objects import clear_memory

    crn = compile_network(ternary((4, 8, 3)), form="dsd")
    d = design_crn(crn)
    text = to_pil(d, crn.init, unit_nM=10, fuel_nM=1000)
    complexes = {}
    try:
        with warnings.catch_warnings():  # dsdobjects' parser uses pyparsing names pyparsing deprecates
            warnings.simplefilter("ignore", DeprecationWarning)
            complexes, _ = read_pil(text)
        named = {name for name in complexes if isinstance(name, str)}
        assert named == set(d.signals) | set(d.fuels)
        for name, c in d.complexes.items():
            assert [str(x) for x in complexes[name].sequence] == list(c.sequence)
        assert complexes["r1_L"].concentration[1] == pytest.approx(1000)
    finally:
        del complexes
        clear_memory()


def test_whole_design_of_a_2_4_2_network_verifies() -> None:
    crn = compile_network(ternary((2, 4, 2)), form="dsd")
    limit = sys.getrecursionlimit()
    v = verify_design(design_crn(crn), method="whole")
    assert sys.getrecursionlimit() == limit  # importing peppercorn must not raise it process-wide
    assert v.ok, v.first_failure
    assert [x.scope for x in v.verdicts] == ["whole design"]
    assert v.n_reactions > len(crn.reactions)


def test_modular_and_crosstalk_verification_of_a_4_8_3_network() -> None:
    crn = compile_network(ternary((4, 8, 3)), form="dsd")
    v = verify_design(design_crn(crn), method="modular")
    assert v.ok, v.first_failure
    assert len(v.verdicts) == len(crn.reactions) + 1 and v.verdicts[-1].scope == "crosstalk"
    assert "none reacts" in v.verdicts[-1].detail
    assert v.enumerations < len(crn.reactions)  # isomorphic modules enumerated once


@pytest.mark.parametrize("method", ["whole", "modular"])
def test_a_wrong_toehold_on_a_join_gate_is_caught(method: str) -> None:
    d = design_crn(parse_crn(CHAIN))
    broken = with_domain(d, "r2_L", "a_A", "a_bad", "toehold")  # A can no longer bind its gate
    v = verify_design(broken, method=method)  # type: ignore[arg-type]
    assert not v.ok
    assert any("reaction 2" in x.detail and "not of O" in x.detail for x in v.verdicts if not x.ok)


@pytest.mark.parametrize("method", ["whole", "modular"])
def test_a_wrong_domain_in_an_output_translator_is_caught(method: str) -> None:
    d = design_crn(parse_crn(CHAIN))
    broken = with_domain(d, "r2_T", "b_O", "b_bad")  # releases h a_O b_bad c_O: not O's signal
    assert verify_design(d, method=method).ok  # type: ignore[arg-type]
    v = verify_design(broken, method=method)  # type: ignore[arg-type]
    assert not v.ok and "not of O" in v.first_failure.detail  # type: ignore[union-attr]


def test_bisimulation_alone_would_accept_the_broken_translator() -> None:
    """Why dead-end strands must be waste: without that rule crnverifier maps the broken strand to O."""
    from crnverifier import crn_bisimulation_test

    d = with_domain(design_crn(parse_crn(CHAIN)), "r2_T", "b_O", "b_bad")
    e = enumerate_complexes(d, list(d.complexes.values()))
    name = {k: (d.signal_of(*k) or e.name(k)) for k in e.complexes}
    icrn = []
    for r in e.reactions:
        left = sorted(name[k] for k in r.reactants if name[k] not in d.fuels)
        right = sorted(name[k] for k in r.products if name[k] not in d.fuels)
        if left != right:
            icrn.append([left, right])
    inter = {s: [s] for s in d.signals if any(s in side for r in icrn for side in r)}
    fcrn = [[list(m.reactants), list(m.products)] for m in d.modules]
    assert crn_bisimulation_test(fcrn, icrn, set(d.signals), interpretation=inter)[0]


def test_crosstalk_between_modules_is_caught() -> None:
    d = design_crn(parse_crn("X -> A\nY -> B"))
    # reaction 2 gets one more fuel that soaks up X, reaction 1's input: each module alone is fine
    grab = Complex.strand("r2_grab", ["c_X*", "b_X*", "a_X*"])
    mods = (d.modules[0], replace(d.modules[1], fuels=(*d.modules[1].fuels, "r2_grab")))
    broken = replace(d, fuels={**d.fuels, "r2_grab": grab}, modules=mods)
    v = verify_design(broken, method="modular")
    assert all(x.ok for x in v.verdicts[:-1])
    assert not v.verdicts[-1].ok and "reacts with" in v.verdicts[-1].detail
    assert not verify_design(broken, method="whole").ok


def test_enumerated_reactions_compute_the_network(tmp_path) -> None:  # type: ignore[no-untyped-def]
    net = ternary((1, 2, 1), seed=3)
    crn = compile_network(net, form="dsd")
    d = design_crn(crn)
    x = np.array([[1.2], [-0.7]])
    sim = simulate_design(d, crn, implementation(d), x, unit_nM=10, fuel_nM=1000)
    assert sim.converged.all()
    assert np.allclose(sim.outputs, net.forward(x), atol=1e-3)
    plot_design_kinetics(sim, tmp_path / "k.png")
    assert (tmp_path / "k.png").stat().st_size > 1000


def _save(tmp_path, crn: CRN, name: str = "crn.txt") -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    save_crn(crn, path)
    return str(path)


def test_cli_dsd_writes_design_report_and_verdict(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    net = ternary((1, 2, 1), seed=3)
    path = _save(tmp_path, compile_network(net, form="dsd"))
    (tmp_path / "x.csv").write_text("x0\n1.5\n-2\n")
    pil, rep = tmp_path / "d.pil", tmp_path / "d.json"
    args = ["dsd", path, "-o", str(pil), "--report", str(rep), "--inputs", str(tmp_path / "x.csv"), "--row", "2"]
    assert main([*args, "--verify"]) == 0
    out = capsys.readouterr().out
    assert "CORRECT" in out
    report = json.loads(rep.read_text())
    assert report["verification"]["ok"] and report["inputs"] == {"x0": -2.0}
    rows = report["reactions"]
    assert len(rows) == len(parse_crn((tmp_path / "crn.txt").read_text()).reactions)
    assert report["fuel_total"]["strands"] == sum(r["strands"] for r in rows)  # fuels share no strand
    assert "X0_n = h_X0_n a_X0_n b_X0_n c_X0_n @initial 20 nM" in pil.read_text()


def test_cli_dsd_errors_leave_no_file(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    net = ternary((2, 4, 2))
    reduced = _save(tmp_path, compile_network(net, form="reduced"), "reduced.txt")
    dsd = _save(tmp_path, compile_network(net, form="dsd"), "dsd.txt")
    out = tmp_path / "d.pil"
    assert main(["dsd", reduced, "-o", str(out)]) == 2
    assert "compile the network with --form dsd" in capsys.readouterr().err
    assert main(["dsd", dsd, "-o", str(out), "--toehold", "8"]) == 2
    assert "toeholds must be 1 to 7 nt" in capsys.readouterr().err
    assert main(["dsd", dsd, "-o", str(out), "--fuel-excess", "0.01"]) == 2
    assert "would run out" in capsys.readouterr().err
    assert not out.exists()
