"""The solutions under test: ``--impl FILE`` (or ``$SGDLAB_IMPL``), else sgdlab's reference."""

from __future__ import annotations

import pytest

from sgdlab.errors import SgdlabError
from sgdlab.exercises.solutions import Solutions, load_solutions, reference_solutions


def pytest_report_header(config: pytest.Config) -> str:
    path = config.getoption("--impl")
    return "exercises: testing " + (path or "sgdlab's reference solution")


@pytest.fixture(scope="session")
def impl(request: pytest.FixtureRequest) -> Solutions:
    """The functions to test, looked up by name: ``impl.mse(y_hat, y)``."""
    path = request.config.getoption("--impl")
    if not path:
        return reference_solutions()
    try:
        return load_solutions(path)
    except SgdlabError as err:
        pytest.exit(f"--impl {path}: {err}", returncode=pytest.ExitCode.USAGE_ERROR)
