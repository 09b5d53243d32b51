"""Compiled agendas fill exactly like string.Template.safe_substitute."""

from __future__ import annotations

from string import Template

import pytest

from chancal.planner.agenda import Agenda

VALUES = {"partner_name": "Acme [EU] {x}", "period": "Q2 2027", "cost": "$5"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Review $period with $partner_name", "Review Q2 2027 with Acme [EU] {x}"),
        ("${partner_name}'s plan", "Acme [EU] {x}'s plan"),
        ("Budget: $$100, $cost", "Budget: $100, $5"),
        ("Unknown $owner and ${owner} stay", "Unknown $owner and ${owner} stay"),
        ("A lone $ and $1 stay; {braces} too", "A lone $ and $1 stay; {braces} too"),
        ("  padded $period  \n", "padded Q2 2027"),
    ],
)
def test_compiled_agenda_fills_like_safe_substitute(text: str, expected: str) -> None:
    """Known placeholders are filled, `$$` reads `$`, anything else stays as written."""
    assert Agenda(text).fill(VALUES) == expected
    assert Template(text).safe_substitute(VALUES).strip() == expected
