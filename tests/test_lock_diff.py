"""The reviewer's view of a lock change: text grouped by partner, and JSON."""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from chancal.changes import Change
from chancal.exporters.diff import render_json, render_text, when

BERLIN = ZoneInfo("Europe/Berlin")


def at(day: str, hour: int) -> datetime:
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, hour, tzinfo=BERLIN)


CHANGES = (
    Change(
        "moved",
        "acme/review/2027-q2",
        "u1",
        "acme",
        "ana",
        "Review: Acme [EU]",
        at("2027-07-14", 10),
        at("2027-07-21", 10),
        1,
        details=("time",),
        reason="new blackout",
    ),
    Change(
        "changed",
        "acme/visit/2027",
        "u2",
        "acme",
        "ana",
        "Visit: Acme [EU]",
        date(2027, 9, 6),
        date(2027, 9, 6),
        2,
        old_title="Visit: Acme",
        details=("title", "details"),
    ),
    Change(
        "added",
        "zeta/check-in/2027-03",
        "u3",
        "zeta",
        "ana",
        "Check-in",
        None,
        at("2027-03-02", 9),
        0,
    ),
    Change("cancelled", "program/summit", "u4", None, None, "Summit", date(2027, 10, 12), None, 1),
    Change("retired", "zeta/old/2026", "u5", "zeta", "ana", "Old", date(2026, 12, 1), None, 3),
)


def plain(renderable: object) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None, soft_wrap=True).print(renderable)
    return buffer.getvalue()


def test_text_groups_changes_by_partner_in_words() -> None:
    """Each partner gets a heading and one line per change; program-wide events come last."""
    assert plain(render_text(CHANGES, {"acme": "Acme [EU]", "zeta": "Zeta"})) == (
        "Against chancal.lock: 1 added, 1 moved, 1 changed, 1 cancelled; "
        "1 past event leaves the lock\n"
        "\n"
        "Acme [EU] (acme)\n"
        "  ~ moved      Wed 2027-07-14 10:00 CEST -> Wed 2027-07-21 10:00 CEST"
        "  Review: Acme [EU]  (new blackout)\n"
        '  ~ changed    Mon 2027-09-06  Visit: Acme [EU]  (was "Visit: Acme"; changed: details)\n'
        "\n"
        "Zeta (zeta)\n"
        "  + added      Tue 2027-03-02 09:00 CET  Check-in\n"
        "\n"
        "Program-wide\n"
        "  - cancelled  Tue 2027-10-12  Summit\n"
    )


def test_text_without_changes_says_the_lock_is_up_to_date() -> None:
    """No change at all reads as one reassuring line."""
    assert plain(render_text((), {})) == (
        "No changes to the published calendar (chancal.lock is up to date)\n"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "-"),
        (date(2027, 3, 1), "Mon 2027-03-01"),
        (at("2027-03-01", 9), "Mon 2027-03-01 09:00 CET"),
        (at("2027-07-01", 17), "Thu 2027-07-01 17:00 CEST"),
    ],
)
def test_when_reads_the_same_in_every_locale(value: date | datetime | None, text: str) -> None:
    """Dates carry English weekday names and the zone's abbreviation, whatever the locale."""
    assert when(value) == text


def test_json_lists_every_change_with_a_summary() -> None:
    """JSON has a format version, counts by kind and one object per change, ISO dates."""
    document = json.loads(render_json(CHANGES))
    assert document["format"] == 1
    assert document["summary"] == {
        "added": 1,
        "moved": 1,
        "changed": 1,
        "cancelled": 1,
        "restored": 0,
        "retired": 1,
    }
    moved = document["changes"][0]
    assert moved == {
        "kind": "moved",
        "key": "acme/review/2027-q2",
        "uid": "u1",
        "partner_id": "acme",
        "manager_id": "ana",
        "title": "Review: Acme [EU]",
        "old_title": None,
        "old_start": "2027-07-14T10:00:00+02:00",
        "new_start": "2027-07-21T10:00:00+02:00",
        "sequence": 1,
        "details": ["time"],
        "reason": "new blackout",
    }
    assert render_json(CHANGES) == render_json(CHANGES)
