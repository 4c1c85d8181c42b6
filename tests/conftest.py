"""Shared fixtures and the hypothesis profiles."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=400)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def data_root() -> Path:
    """The datasets folder; skips when absent, except in CI (DEEPCRN_REQUIRE_DATA=1), where it fails."""
    from deepcrn.experiments.datasets import data_dir

    root = data_dir()
    if not (root / "gse73072").is_dir():
        message = f"datasets not found at {root.resolve()} (set DEEPCRN_DATA)"
        if os.environ.get("DEEPCRN_REQUIRE_DATA") == "1":
            pytest.fail(message + " and DEEPCRN_REQUIRE_DATA=1")
        pytest.skip(message)
    return root


@pytest.fixture
def inputs_file(tmp_path: Path) -> Path:
    path = tmp_path / "x.csv"
    rows = np.random.default_rng(2).normal(size=(5, 3))
    path.write_text("a,b,c\n" + "\n".join(",".join(str(v) for v in r) for r in rows) + "\n")
    return path
