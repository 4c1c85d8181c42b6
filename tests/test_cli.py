"""The command line: DESIGN section 8's contract and every user-error path (exit 2, one line)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deepcrn.cli import main
from deepcrn.compile import compile_network
from deepcrn.interop.tables import read_csv
from deepcrn.interop.text import load_crn
from deepcrn.network import Network, load_network

from .strategies import random_network, run_cli


@pytest.fixture
def net_file(tmp_path: Path) -> Path:
    net = random_network(np.random.default_rng(1), "ternary", [3, 6, 2])
    path = tmp_path / "net.json"
    net.save(path)
    return path


def test_compile_and_evaluate_exact(tmp_path: Path, net_file: Path, inputs_file: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    crn_path = tmp_path / "crn.txt"
    code, _, err = run_cli(["compile", net_file, "-o", crn_path], capsys)
    assert code == 0 and "reduced form" in err
    assert load_crn(crn_path) == compile_network(load_network(net_file))
    out_csv = tmp_path / "out.csv"
    code, _, _ = run_cli(["evaluate", crn_path, "--inputs", inputs_file, "-o", out_csv], capsys)
    assert code == 0
    header, y = read_csv(out_csv)
    _, x = read_csv(inputs_file)
    assert header == ["y0", "y1"]
    np.testing.assert_allclose(y, load_network(net_file).forward(x), atol=1e-9)
    # stdout when no -o
    code, out, _ = run_cli(["evaluate", crn_path, "--inputs", inputs_file], capsys)
    assert code == 0 and out == out_csv.read_text()
    # Both exact engines, by name: the ReLU circuit and firing the reactions.
    for engine in ("circuit", "fire"):
        code, _, _ = run_cli(["evaluate", crn_path, "--inputs", inputs_file, "--engine", engine, "-o", out_csv], capsys)
        assert code == 0
        np.testing.assert_allclose(read_csv(out_csv)[1], y, rtol=1e-12, atol=1e-12)


def test_compile_full_to_stdout_and_shift(tmp_path: Path, net_file: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run_cli(["compile", net_file, "--form", "full"], capsys)
    assert code == 0 and out.startswith("# deepcrn CRN") and "I1_0_p -> M1_0 + Y1_0_p" in out
    data = json.loads(net_file.read_text())
    data["input_lower_bounds"] = [-3, -3, -3]
    shifted = tmp_path / "shifted.json"
    shifted.write_text(json.dumps(data))
    code, out, _ = run_cli(["compile", shifted, "--shift"], capsys)
    assert code == 0 and "input x0 = X0 + -3.0" in out
    code, _, err = run_cli(["compile", net_file, "--shift"], capsys)
    assert code == 2 and "input_lower_bounds" in err


def test_evaluate_ode_random_rates(tmp_path: Path, net_file: Path, inputs_file: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    crn_path = tmp_path / "crn.txt"
    run_cli(["compile", net_file, "-o", crn_path], capsys)
    code, out, err = run_cli(
        [
            "evaluate",
            crn_path,
            "--inputs",
            inputs_file,
            "--method",
            "ode",
            "--rates",
            "random",
            "--seed",
            "3",
            "--tol",
            "1e-4",
        ],
        capsys,
    )
    assert code == 0 and "5/5 converged" in err
    y = np.loadtxt(out.splitlines()[1:], delimiter=",")
    _, x = read_csv(inputs_file)
    np.testing.assert_allclose(y, load_network(net_file).forward(x), atol=1e-3)


def test_info(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.txt"
    good.write_text("init A = 1\nA -> B\n")
    code, out, _ = run_cli(["info", good], capsys)
    assert code == 0 and "non-competitive  yes" in out and "rate-independent yes" in out
    bad = tmp_path / "bad.txt"
    bad.write_text("A -> B\nA + C -> D\nD -> C\nC -> D\n")
    code, out, _ = run_cli(["info", bad], capsys)
    assert code == 0 and "NO: 2 species compete, e.g. A" in out and "#2: A + C -> D" in out
    assert "feed-forward     NO: cycle" in out
    code, out, _ = run_cli(["info", bad, "--json"], capsys)
    report = json.loads(out)
    assert report["non_competitive"] is False and report["competing"][0]["species"] == "A"
    assert report["circuit"] is None
    relu = write(tmp_path, "relu.txt", "input x = X_p - X_n\noutput y = Y_p - Y_n\nX_p -> M + Y_p\nM + X_n -> Y_n")
    code, out, _ = run_cli(["info", relu], capsys)
    assert code == 0 and "ReLU circuit     nodes per layer 1, 2 multiply-adds" in out
    code, out, _ = run_cli(["info", relu, "--json"], capsys)
    assert json.loads(out)["circuit"] == {"available": True, "widths": [1], "multiply_adds": 2}
    catalytic = write(tmp_path, "cat.txt", "init A = 1\ninit C = 1\nA + C -> B + C\n")
    code, out, _ = run_cli(["info", catalytic], capsys)
    assert code == 0 and "ReLU circuit     none (reaction 1 (A + C -> B + C) is not linear" in out


def with_nan_bias(text: str) -> str:
    data = json.loads(text)
    data["layers"][0]["bias"][0] = float("nan")
    return json.dumps(data)  # Python's json writes the NaN token


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda t, n, c: ["compile", t / "missing.json", "-o", t / "o.txt"], "cannot read network file"),
        (lambda t, n, c: ["compile", write(t, "m.json", "{oops"), "-o", t / "o.txt"], "malformed JSON"),
        (
            lambda t, n, c: [
                "compile",
                write(t, "s.json", n.replace('"bias": [', '"bias": [1, ', 1)),
                "-o",
                t / "o.txt",
            ],
            "bias has shape",
        ),
        (lambda t, n, c: ["compile", write(t, "nan.json", with_nan_bias(n)), "-o", t / "o.txt"], "NaN"),
        (
            lambda t, n, c: [
                "compile",
                write(t, "w.json", n.replace('"weight_kind": "ternary"', '"weight_kind": "binary"')),
                "-o",
                t / "o.txt",
            ],
            "outside the binary set",
        ),
        (lambda t, n, c: ["evaluate", t / "none.txt", "--inputs", t / "x.csv"], "cannot read CRN file"),
        (lambda t, n, c: ["evaluate", write(t, "b.txt", "A -> -> B"), "--inputs", t / "x.csv"], "b.txt:1"),
        (lambda t, n, c: ["evaluate", c, "--inputs", t / "none.csv"], "cannot read"),
        (
            lambda t, n, c: ["evaluate", c, "--inputs", write(t, "w.csv", "a,b\n1,2\n")],
            "header has 2 columns, expected 3",
        ),
        (
            lambda t, n, c: ["evaluate", c, "--inputs", write(t, "r.csv", "a,b,c\n1,2,3\n1,2\n")],
            "r.csv:3: 2 values, expected 3",
        ),
        (
            lambda t, n, c: ["evaluate", c, "--inputs", write(t, "n.csv", "a,b,c\n1,x,3\n")],
            "n.csv:2: column 'b' is not a number",
        ),
        (lambda t, n, c: ["evaluate", c, "--inputs", write(t, "f.csv", "a,b,c\n1,nan,3\n")], "numbers must be finite"),
        (lambda t, n, c: ["evaluate", c, "--inputs", write(t, "e.csv", "")], "empty file"),
        (
            lambda t, n, c: [
                "evaluate",
                write(t, "comp.txt", "input x = A - B\ninput z = C - D\ninput w = E - F\nA -> G\nA -> H"),
                "--inputs",
                t / "x.csv",
            ],
            "competitive: species A",
        ),
        (lambda t, n, c: ["evaluate", c, "--inputs", t / "x.csv", "-o", t / "no" / "dir" / "o.csv"], "cannot write"),
        (lambda t, n, c: ["info", write(t, "z.txt", "init A = -1")], "must be finite, >= 0"),
        (
            lambda t, n, c: [
                "evaluate",
                write(t, "cat.txt", "input x = A - B\ninput z = C - D\ninput w = E - F\nA + E -> E + G"),
                "--inputs",
                t / "x.csv",
                "--engine",
                "circuit",
            ],
            "is not linear (one reactant) or a min reaction",
        ),
    ],
)
def test_user_errors_exit_2_with_one_line(
    tmp_path: Path, net_file: Path, inputs_file: Path, capsys, make_args, message: str
) -> None:  # type: ignore[no-untyped-def]
    crn_path = tmp_path / "crn.txt"
    assert main(["compile", str(net_file), "-o", str(crn_path)]) == 0
    capsys.readouterr()
    before = set(tmp_path.rglob("*"))
    args = make_args(tmp_path, net_file.read_text(), crn_path)
    code, out, err = run_cli(args, capsys)
    assert code == 2
    assert message in err, err
    assert err.startswith("deepcrn: error: ") and err.count("\n") == 1 and "Traceback" not in err
    after = set(tmp_path.rglob("*"))
    written = {
        p
        for p in after - before
        if p.suffix in (".txt", ".csv", ".tmp")
        and p.name not in {a.name for a in map(Path, args) if isinstance(a, Path)}
    }
    assert not written, written  # no partial output


def test_failed_write_leaves_the_old_file(tmp_path: Path, net_file: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "crn.txt"
    target.write_text("precious\n")
    bad = write(tmp_path, "bad.json", "{")
    assert main(["compile", str(bad), "-o", str(target)]) == 2
    assert target.read_text() == "precious\n"


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "deepcrn.cli", "compile", str(tmp_path / "missing.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("deepcrn: error: cannot read network file")
    proc = subprocess.run(
        [sys.executable, "-m", "deepcrn.cli", "frobnicate"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_demo(capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run_cli(["demo"], capsys)
    assert code == 0 and "same class 100%" in out and "converged 3/3" in out


def test_network_type_is_exported() -> None:
    assert Network.__name__ == "Network"


def test_commands_tune_memory_unless_the_user_chose(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A command turns off NumPy's transparent-huge-page advice and has glibc keep freed memory
    (seconds of system time where the kernel compacts or zeroes pages), but a user's own
    NUMPY_MADVISE_HUGEPAGE or MALLOC_* settings win."""
    import sys

    import numpy as np

    from deepcrn import cli

    setter = np._core.multiarray._set_madvise_hugepage
    before = setter(True)
    try:
        monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
        monkeypatch.setenv("MALLOC_TOP_PAD_", "0")
        assert cli._tune_memory() == []
        assert setter(True) is True  # left as the user set it
        monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE")
        monkeypatch.delenv("MALLOC_TOP_PAD_")
        changed = cli._tune_memory()
        assert setter(True) is False  # turned off
        assert "NUMPY_MADVISE_HUGEPAGE" in changed
        if sys.platform.startswith("linux"):  # glibc, as on this project's machines
            assert {"M_TRIM_THRESHOLD", "M_TOP_PAD", "M_MMAP_THRESHOLD"} <= set(changed)
    finally:
        setter(before)
