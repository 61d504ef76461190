"""Shared test set-up: hypothesis profiles, the exercises' --impl option, the bear photos."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci", max_examples=40, derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

REPO = Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--impl", default=os.environ.get("SGDLAB_IMPL"),
        help="student solution file for tests/exercises (default: sgdlab's reference)",
    )


@pytest.fixture(scope="session")
def bears_dir() -> Path:
    """The bear photos: $SGDLAB_BEARS or ../shared/bears; skips when absent."""
    path = Path(os.environ.get("SGDLAB_BEARS", REPO.parent / "shared" / "bears"))
    if not (path / "black").is_dir():
        pytest.skip(f"bear photos not found at {path}; set SGDLAB_BEARS to their folder")
    return path
