"""Meeting links (`conference`): the most specific wins, validated, in the feeds and the lock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import icalendar
import pytest
from typer.testing import CliRunner

from chancal.cli import app
from chancal.errors import ConfigError
from chancal.loader import loads
from chancal.plan import Event, Plan
from chancal.planner.build import make_plan
from chancal.planner.events import platform_name
from chancal.publish.feeds import write_feeds
from chancal.publish.lock import Shown, event_content, published_event

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "partners.yaml"
PROGRAM_LINK = "https://contoso.zoom.us/j/2027000000"
PARTNER_LINK = "https://teams.microsoft.com/l/meetup-join/northwind-contoso"
MANAGER_LINK = "https://contoso.webex.com/meet/alex"
RULE_LINK = "https://meet.google.com/abc-defg-hij"
STAMP = datetime(2027, 1, 1, tzinfo=UTC)


def _edited() -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    manager = "    location: Boston\n"
    rule = "          dates: [2027-04-14]\n          duration: 1h\n          mode: virtual\n"
    assert manager in text and rule in text
    text = text.replace(manager, manager + f"    conference: {MANAGER_LINK}\n", 1)
    return text.replace(rule, rule + f"          conference: {RULE_LINK}\n", 1)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return make_plan(loads(_edited(), "partners.yaml").config, today=date(2027, 1, 1))


def _virtual(plan: Plan, partner: str) -> list[Event]:
    return [e for e in plan.events if e.partner_id == partner and e.mode == "virtual"]


def test_the_most_specific_link_wins(plan: Plan) -> None:
    """Rule over partner over manager over program; on-site events get no link."""
    assert {e.conference for e in _virtual(plan, "northwind")} == {PARTNER_LINK}
    andes = _virtual(plan, "andes-distribucion")
    assert {e.conference for e in andes if e.rule_id == "planning-call"} == {RULE_LINK}
    assert {e.conference for e in andes if e.rule_id != "planning-call"} == {MANAGER_LINK}
    assert {e.conference for e in _virtual(plan, "hafen-systemhaus")} == {PROGRAM_LINK}
    assert {e.conference for e in plan.events if e.mode != "virtual"} == {""}


def test_location_names_the_platform_and_the_description_the_link(plan: Plan) -> None:
    """LOCATION says Zoom, Teams, Meet or Webex instead of "Video call"; the agenda says Join."""
    places = {e.conference: e.location for e in plan.events if e.conference}
    assert places == {
        PROGRAM_LINK: "Zoom",
        PARTNER_LINK: "Microsoft Teams",
        MANAGER_LINK: "Webex",
        RULE_LINK: "Google Meet",
    }
    assert all(
        e.description.startswith(f"Join: {e.conference}\n") for e in plan.events if e.conference
    )


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://zoom.us/j/1", "Zoom"),
        ("https://www.webex.com/x", "Webex"),
        ("https://acme.example/call?id=1", "acme.example"),
        ("https://notzoom.us/j/1", "notzoom.us"),
    ],
)
def test_platform_name(url: str, name: str) -> None:
    """Known hosts and their subdomains give the platform; any other host is named as it is."""
    assert platform_name(url) == name


@pytest.mark.parametrize(
    "bad",
    ["http://zoom.us/j/1", "zoom.us/j/1", "https://", "'https://zoom.us/j/1 2'", "https://[::1"],
)
def test_a_link_that_is_not_https_is_a_located_error(bad: str) -> None:
    """The problem names file, line and column of the value, and how to write it."""
    text = EXAMPLE.read_text(encoding="utf-8").replace(PARTNER_LINK, bad, 1)
    with pytest.raises(ConfigError) as caught:
        loads(text, "partners.yaml")
    [problem] = [str(p) for p in caught.value.problems]
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.endswith(f": {bad}"))
    column = text.splitlines()[line - 1].index(bad) + 1
    assert problem.startswith(f"partners.yaml:{line}:{column}: partners[0].conference: ")
    assert "https" in problem


def test_the_feed_has_conference_url_and_join_lines(plan: Plan, tmp_path: Path) -> None:
    """CONFERENCE;VALUE=URI and URL are written and read back by icalendar."""
    write_feeds(plan, tmp_path, partners=["northwind"], stamp=STAMP)
    data = (tmp_path / "partners" / "northwind.ics").read_bytes()
    unfolded = data.replace(b"\r\n ", b"")
    assert f"CONFERENCE;VALUE=URI:{PARTNER_LINK}\r\n".encode() in unfolded
    assert f"URL:{PARTNER_LINK}\r\n".encode() in unfolded
    events = icalendar.Calendar.from_ical(data).walk("VEVENT")
    virtual = [v for v in events if "CONFERENCE" in v]
    assert virtual and all(str(v["URL"]) == PARTNER_LINK for v in virtual)
    assert all(str(v["CONFERENCE"]) == PARTNER_LINK for v in virtual)
    assert all(str(v["LOCATION"]) == "Microsoft Teams" for v in virtual)
    assert all(f"Join: {PARTNER_LINK}" in str(v["DESCRIPTION"]) for v in virtual)


def test_the_lock_keeps_the_link(plan: Plan) -> None:
    """event_content records `conference` (only when set) and published_event reads it back."""
    linked = next(e for e in plan.events if e.conference)
    content = event_content(linked)
    assert content["conference"] == linked.conference
    shown = Shown.of(content)
    assert list(shown.value()).index("conference") == list(shown.value()).index("location") + 1
    back = published_event(
        linked.key,
        linked.uid,
        shown,
        status="CONFIRMED",
        sequence=0,
        stamp=STAMP,
        feeds=("all",),
    )
    assert back.conference == linked.conference
    plain = next(e for e in plan.events if not e.conference)
    assert "conference" not in event_content(plain)


def test_a_changed_link_updates_subscribers(tmp_path: Path) -> None:
    """Changing the partner's link gives its virtual events SEQUENCE 1 and the new link."""
    program = tmp_path / "partners.yaml"
    program.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "out"
    args = ["export", str(program), "--ics", "--out", str(out), "--today", "2027-01-01"]
    first = CliRunner().invoke(app, [*args, "--stamp", "2027-01-01T00:00:00Z"])
    assert first.exit_code == 0, first.output
    new_link = "https://teams.microsoft.com/l/meetup-join/northwind-2"
    program.write_text(program.read_text(encoding="utf-8").replace(PARTNER_LINK, new_link))
    second = CliRunner().invoke(app, [*args, "--stamp", "2027-01-02T00:00:00Z"])
    assert second.exit_code == 0, second.output
    feed = (out / "partners" / "northwind.ics").read_bytes()
    events = icalendar.Calendar.from_ical(feed).walk("VEVENT")
    linked = [v for v in events if "CONFERENCE" in v]
    assert linked and {str(v["CONFERENCE"]) for v in linked} == {new_link}
    assert {int(v["SEQUENCE"]) for v in linked} == {1}
    assert {int(v["SEQUENCE"]) for v in events if "CONFERENCE" not in v} == {0}
    lock = (tmp_path / "chancal.lock").read_text(encoding="utf-8")
    assert f'"conference": "{new_link}"' in lock
