from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given

from deepcrn.errors import NetworkError, ParseError
from deepcrn.network import Layer, Network, from_dict, infer_weight_kind, load_network

from .strategies import networks


def small(kind: str = "ternary") -> Network:
    return Network(
        (
            Layer(np.array([[1, -1], [0, 1]]), np.array([0.5, -0.25]), "relu"),
            Layer(np.array([[1], [-1]]), np.array([0.1]), "linear"),
        ),
        kind,  # type: ignore[arg-type]
    )


def test_forward_matches_hand_computation() -> None:
    net = small()
    x = np.array([[1.0, 2.0], [-3.0, 0.0]])
    h = np.maximum(x @ np.array([[1, -1], [0, 1]]) + [0.5, -0.25], 0)
    np.testing.assert_array_equal(net.forward(x), h @ np.array([[1], [-1]]) + 0.1)
    assert net.predict(x).shape == (2,)
    assert net.shape == (2, 2, 1)


def test_integer_scale_divides_weights() -> None:
    net = Network(
        (Layer(np.array([[3]]), np.array([1.0]), "relu"), Layer(np.array([[1]]), np.zeros(1), "linear", 2.0)), "integer"
    )
    assert net.forward(np.array([[2.0]]))[0, 0] == pytest.approx(3.5)
    assert net.output_scale == 2.0


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Layer(np.ones((2, 2)), np.ones(3), "relu"), "bias has shape"),
        (lambda: Layer(np.ones(3), np.ones(3), "relu"), "2-D"),
        (lambda: Layer(np.array([[np.nan]]), np.ones(1), "relu"), "NaN"),
        (lambda: Layer(np.ones((1, 1)), np.array([np.inf]), "relu"), "bias contains NaN"),
        (lambda: Layer(np.array([[0.5]]), np.ones(1), "relu"), "not an integer"),
        (lambda: Layer(np.ones((1, 1)), np.ones(1), "tanh"), "unknown activation"),
        (lambda: Layer(np.ones((1, 1)), np.ones(1), "relu", -1.0), "scale"),
        (lambda: Network((Layer(np.array([[2]]), np.ones(1), "linear"),), "ternary"), "outside the ternary set"),
        (lambda: Network((Layer(np.array([[0]]), np.ones(1), "linear"),), "binary"), "outside the binary set"),
        (lambda: Network((Layer(np.ones((1, 1)), np.ones(1), "relu"),), "binary"), "must be linear"),
        (
            lambda: Network(
                (Layer(np.ones((1, 2)), np.ones(2), "linear"), Layer(np.ones((2, 1)), np.ones(1), "linear")), "binary"
            ),
            "must use relu",
        ),
        (
            lambda: Network(
                (Layer(np.ones((1, 2)), np.ones(2), "relu"), Layer(np.ones((3, 1)), np.ones(1), "linear")), "binary"
            ),
            "layer 2 has 3 inputs but layer 1 has 2 outputs",
        ),
        (lambda: Network((), "binary"), "at least one layer"),
        (lambda: Network((Layer(np.ones((1, 1)), np.ones(1), "linear"),), "quaternary"), "unknown weight kind"),  # type: ignore[arg-type]
    ],
)
def test_invalid_networks_are_refused(build, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NetworkError, match=message):
        build()


def test_forward_refuses_bad_inputs() -> None:
    net = small()
    with pytest.raises(NetworkError, match=r"expected \(batch, 2\)"):
        net.forward(np.ones((3, 5)))
    with pytest.raises(NetworkError, match="NaN"):
        net.forward(np.array([[np.nan, 1.0]]))


@given(networks(max_width=12))
def test_json_round_trip(tmp_path_factory, net: Network) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("net") / "net.json"
    net.save(path)
    again = load_network(path)
    assert again == net
    assert json.loads(path.read_text())["format"] == "deepcrn-network"


def test_extra_keys_are_preserved(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = small().to_dict()
    data["class_names"] = ["a"]
    data["layers"][0]["note"] = "first"
    path = tmp_path / "n.json"
    path.write_text(json.dumps(data))
    net = load_network(path)
    assert net.extra["class_names"] == ["a"]
    assert net.layers[0].extra["note"] == "first"
    out = tmp_path / "o.json"
    net.save(out)
    assert json.loads(out.read_text())["layers"][0]["note"] == "first"


def test_weight_kind_is_inferred() -> None:
    assert infer_weight_kind(small().layers) == "ternary"
    data = small().to_dict()
    del data["weight_kind"]
    assert from_dict(data).weight_kind == "ternary"
    data["layers"][0]["weights"] = [[2, -1], [0, 1]]
    assert from_dict(data).weight_kind == "integer"


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "malformed JSON"),
        ("[]", "JSON object"),
        ('{"format": "other", "version": 1, "layers": []}', "'format' must be"),
        ('{"format": "deepcrn-network", "version": 9, "layers": []}', "unsupported version"),
        ('{"format": "deepcrn-network", "version": 1, "layers": []}', "non-empty list"),
        ('{"format": "deepcrn-network", "version": 1, "layers": [{"bias": [1]}]}', "lacks 'weights'"),
        (
            '{"format": "deepcrn-network", "version": 1, "layers": [{"weights": [[1, "a"]], "bias": [0, 0], "activation": "linear"}]}',
            "lists of numbers",
        ),
        (
            '{"format": "deepcrn-network", "version": 1, "layers": [{"weights": [[1, 1]], "bias": [0, NaN], "activation": "linear"}]}',
            "NaN",
        ),
        (
            '{"format": "deepcrn-network", "version": 1, "layers": [{"weights": [[1, 1]], "bias": [0], "activation": "linear"}]}',
            "bias has shape",
        ),
        (
            '{"format": "deepcrn-network", "version": 1, "weight_kind": "binary", "layers": [{"weights": [[1, 0]], "bias": [0, 0], "activation": "linear"}]}',
            "outside the binary set",
        ),
    ],
)
def test_malformed_files_name_the_file(tmp_path, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises((NetworkError, ParseError), match=message) as info:
        load_network(path)
    assert "bad.json" in str(info.value)


def test_missing_and_binary_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ParseError, match="cannot read network file"):
        load_network(tmp_path / "nope.json")
    path = tmp_path / "bin.json"
    path.write_bytes(b"\x80\x81\xff")
    with pytest.raises(ParseError, match="not a text"):
        load_network(path)
