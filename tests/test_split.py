"""The DSD forms: at most two reactants and two products per reaction, same outputs, proven."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepcrn.analysis import is_feed_forward, is_non_competitive, stats
from deepcrn.cli import main
from deepcrn.compile import compile_network
from deepcrn.exact import evaluate
from deepcrn.interop.text import parse_crn
from deepcrn.split import split_products
from deepcrn.verify import verify_equivalence

from .strategies import inputs_for, magnitude, networks


# Integer weights and layer scales multiply into large coefficients, and the DSD forms split a
# coefficient c into ~c reactions: small integer networks keep the examples to seconds.
@given(
    net=st.one_of(networks(("binary", "ternary"), max_hidden=3, max_width=24), networks(("integer",), 2, 8)),
    form=st.sampled_from(["dsd", "dsd-reduced"]),
    data=st.data(),
)
def test_dsd_forms_keep_outputs_and_the_proof(net, form, data) -> None:  # type: ignore[no-untyped-def]
    crn = compile_network(net, form=form)
    s = stats(crn)
    assert s["max_reactants"] <= 2 and s["max_products"] <= 2
    assert is_non_competitive(crn) and is_feed_forward(crn)
    assert verify_equivalence(net, crn).equivalent
    x = data.draw(inputs_for(net.n_inputs))
    tol = 1e-9 * magnitude(net, x)
    for engine in ("circuit", "fire"):
        assert np.all(np.abs(evaluate(crn, x, engine=engine) - net.forward(x)) <= tol)


def test_split_is_a_balanced_tree_and_each_intermediate_is_used_once() -> None:
    crn = parse_crn("input x = A - N\noutput y = P - Q\nA -> 3 P + B + C + D + E + F + G\nN -> Q")
    for m in (2, 3):
        out = split_products(crn, m)
        assert max(sum(c for _, c in r.products) for r in out.reactions) <= m
        new = set(out.species) - set(crn.species)
        made = [s for r in out.reactions for s, _ in r.products if s in new]
        used = [s for r in out.reactions for s, _ in r.reactants if s in new]
        assert sorted(made) == sorted(used) == sorted(new)
        assert stats(out)["depth"] == math.ceil(math.log(9, m))  # 9 products, coefficients counted
        assert np.allclose(evaluate(out, np.array([[1.5], [-2.0]])), evaluate(crn, np.array([[1.5], [-2.0]])))
    assert split_products(crn, 9) == crn


def test_split_refuses_a_limit_below_two() -> None:
    with pytest.raises(Exception, match="max_products"):
        split_products(parse_crn("A -> B + C"), 1)


def test_compile_dsd_cli_reports_both_forms(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from importlib import resources

    net = resources.files("deepcrn") / "examples" / "example-4-8-3.json"
    out = tmp_path / "dsd.txt"
    assert main(["compile", str(net), "--form", "dsd", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "dsd-reduced" in err and "total_products" in err and "depth" in err
    assert main(["info", str(out)]) == 0
    info = capsys.readouterr().out
    assert "max_products     2" in info and "max_reactants    2" in info
    assert main(["verify", str(net), str(out)]) == 0
    assert main(["compile", str(net), "--form", "full", "--max-products", "3"]) == 2
    assert "--max-products applies to" in capsys.readouterr().err
