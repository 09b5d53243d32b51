"""Shared pytest options and fixtures for the chancal test suite."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    # Golden files change only on explicit request, so a silent regression
    # can never rewrite the expected output it is compared against.
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files under tests/golden/ instead of comparing",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """Return whether golden files should be rewritten rather than compared."""
    return bool(request.config.getoption("--update-golden"))
