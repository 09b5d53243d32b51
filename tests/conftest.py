"""Shared pytest options and fixtures for the chancal test suite."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

import chancal.planner
import chancal.planner.build
from chancal.models import Config
from chancal.plan import Plan
from chancal.verify import format_break, verify


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


# -- every plan the suite makes is judged by the independent verifier -------------------
#
# The planner and `chancal.verify` are written apart from one README table; wrapping
# make_plan here (before any test module imports it) means every plan any test makes,
# through the library or the CLI, must obey every hard rule, not only the plans of the
# tests written for that purpose.


def _verified(make_plan: Callable[..., Plan]) -> Callable[..., Plan]:
    @functools.wraps(make_plan)
    def plan_and_verify(config: Config, *, today: date | None = None, **kwargs: Any) -> Plan:
        plan = make_plan(config, today=today, **kwargs)
        breaks = verify(config, plan, today=today)
        assert not breaks, "the plan breaks hard rules:\n" + "\n".join(
            format_break(b) for b in breaks[:20]
        )
        return plan

    return plan_and_verify


chancal.planner.make_plan = _verified(chancal.planner.build.make_plan)  # type: ignore[assignment]
