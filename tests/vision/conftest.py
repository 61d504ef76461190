"""Fixtures shared by the vision tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .cleaning import write_tiny_model


@pytest.fixture(scope="session")
def tiny_bears_model(tmp_path_factory) -> Path:
    """The cleaning tests' tiny checkpoint (see ``cleaning.py``), saved once per test run."""
    return write_tiny_model(tmp_path_factory.mktemp("tiny_model"))
