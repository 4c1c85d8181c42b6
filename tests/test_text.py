"""The CRN text format: exact round trips and every parser error path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepcrn.compile import compile_network
from deepcrn.errors import ParseError
from deepcrn.interop.text import format_crn, load_crn, parse_crn, save_crn
from deepcrn.network import Network

from .strategies import networks


@given(networks(max_width=10, max_hidden=2), st.booleans(), st.booleans(), st.integers(0, 2**16))
def test_compiled_crns_round_trip(net: Network, full: bool, shift: bool, seed: int) -> None:
    lows = np.random.default_rng(seed).normal(size=net.n_inputs) if shift else None
    crn = compile_network(net, form="full" if full else "reduced", input_lower_bounds=lows)
    rates = np.random.default_rng(seed).uniform(0.1, 10, size=len(crn.reactions))
    for c in (crn, crn.with_rates(rates)):
        text = format_crn(c)
        again = parse_crn(text)
        assert again == c
        assert format_crn(again) == text


def test_hand_written_text() -> None:
    crn = parse_crn(
        """
        # a comment
        input x = X_p - X_n      # trailing comment
        input z = Z - 0.5
        output y = (O_p - O_n) / 4
        init A = 1e-3
        X_p + 2 A -> 3 O_p  [k=2.5]
        X_n -> O_n
        Z -> 0
        """
    )
    assert crn.species == ("X_p", "X_n", "Z", "O_p", "O_n", "A")
    assert crn.inputs[1].offset == -0.5 and crn.outputs[0].scale == 4.0
    assert crn.reactions[0].rate == 2.5 and crn.reactions[0].reactants == (("X_p", 1), ("A", 2))
    assert crn.reactions[2].products == ()
    assert parse_crn(format_crn(crn)) == crn


@pytest.mark.parametrize(
    "text, message",
    [
        ("A -> B -> C", "bad.crn:1: expected one '->'"),
        ("A + -> B", "bad.crn:1: expected '\\[coefficient\\] species', got ''"),
        ("A -> 2x B", "expected '\\[coefficient\\] species'"),
        ("-> B", "expected species or 0"),
        ("0 -> B", "at least one reactant"),
        ("A -> B [rate=2]", "expected a rate as '\\[k=NUMBER\\]'"),
        ("A -> B [k=fast]", "expected a number for the rate constant"),
        ("A -> B [k=-1]", "the rate constant must be finite, > 0"),
        ("\n\ninit A = lots", "bad.crn:3: expected a number for the initial concentration of A"),
        ("init A 5", "expected 'init SPECIES = NUMBER'"),
        ("init 9A = 5", "not a valid species name"),
        ("init A = -2", "must be finite, >= 0"),
        ("init A = nan", "must be finite, >= 0"),
        ("init A = 1\ninit A = 2", "bad.crn:2: initial concentration of A is given twice"),
        ("species A B A", "species A is declared twice"),
        ("species A 2B", "'2B' is not a valid species name"),
        ("input x = A -", "expected 'input NAME = POS - NEG'"),
        ("output y = A", "expected 'output NAME = POS - NEG'"),
        ("output y = (A - B) / 0", "output y: scale must be a finite number in"),
        ("input x = A - B\ninput x = C - D", "two inputs are named x"),
        ("reaction A B", "expected a reaction 'A \\+ B -> C'"),
    ],
)
def test_parse_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message) as info:
        parse_crn(text, "bad.crn")
    assert str(info.value).startswith("bad.crn")


def test_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    crn = parse_crn("input x = A - B\noutput y = C - D\nA -> C\nB -> D")
    path = tmp_path / "c.txt"
    save_crn(crn, path)
    assert load_crn(path) == crn
    with pytest.raises(ParseError, match="cannot read CRN file"):
        load_crn(tmp_path / "missing.txt")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ParseError, match="not a text"):
        load_crn(tmp_path / "bin.txt")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
