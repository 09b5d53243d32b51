"""The committed calendar end to end: edit a locked program, export again, read the feeds.

Every scenario starts from tests/fixtures/lock/program.yaml exported once
(feeds + chancal.lock), edits the program the way a channel team would, exports
again through the CLI and checks the result in the feeds with a parser
(icalendar), not only in the lock.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import icalendar
import pytest
from typer.testing import CliRunner

from chancal.cli import app

FIXTURE = Path(__file__).parent / "fixtures" / "lock" / "program.yaml"
TODAY = "2027-01-04"
STAMP1 = "2027-01-01T00:00:00Z"
STAMP2 = "2027-02-01T09:30:00Z"
DTSTAMP2 = "20270201T093000Z"


@dataclass(frozen=True)
class Vevent:
    """One VEVENT as a subscriber's calendar app reads it, plus its raw bytes."""

    uid: str
    sequence: int
    status: str
    start: date | datetime
    summary: str
    dtstamp: str
    raw: bytes


def read_feed(path: Path) -> dict[str, Vevent]:
    """Parse a feed with icalendar and pair each event with its raw VEVENT bytes."""
    data = path.read_bytes()
    raw_by_uid: dict[str, bytes] = {}
    for block in re.findall(rb"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", data, flags=re.S):
        uid = re.search(rb"\r\nUID:([^\r]*)\r\n", block)
        assert uid is not None
        raw_by_uid[uid.group(1).decode()] = block
    events: dict[str, Vevent] = {}
    for component in icalendar.Calendar.from_ical(data).walk("VEVENT"):
        uid = str(component["UID"])
        events[uid] = Vevent(
            uid=uid,
            sequence=int(component.get("SEQUENCE", 0)),
            status=str(component.get("STATUS", "")),
            start=component.decoded("DTSTART"),
            summary=str(component["SUMMARY"]),
            dtstamp=component["DTSTAMP"].to_ical().decode(),
            raw=raw_by_uid[uid],
        )
    assert len(events) == len(raw_by_uid)
    return events


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by relative path."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


class Project:
    """A program folder with its lock and feeds, exported through the CLI."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.program = root / "partners.yaml"
        self.out = root / "calendars"
        self.lock = root / "chancal.lock"

    def export(self, stamp: str, *extra: str) -> str:
        result = CliRunner().invoke(
            app,
            [
                "export",
                str(self.program),
                "--ics",
                "--out",
                str(self.out),
                "--today",
                TODAY,
                "--stamp",
                stamp,
                *extra,
            ],
        )
        assert result.exit_code in (0, 1), result.output
        if "--check" not in extra:
            assert result.exit_code == 0, result.output
        return result.output

    def check(self) -> int:
        result = CliRunner().invoke(
            app,
            [
                *("export", str(self.program), "--ics", "--out", str(self.out)),
                *("--today", TODAY, "--stamp", STAMP2, "--check"),
            ],
        )
        return result.exit_code

    def edit(self, old: str, new: str) -> None:
        text = self.program.read_text(encoding="utf-8")
        assert text.count(old) == 1, old
        self.program.write_text(text.replace(old, new), encoding="utf-8")

    def feed(self, relative: str) -> dict[str, Vevent]:
        return read_feed(self.out / relative)

    def files(self) -> dict[str, bytes]:
        return {**snapshot(self.out), "chancal.lock": self.lock.read_bytes()}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture program exported once, with its lock (shared, copied per test)."""
    root = tmp_path_factory.mktemp("locked")
    shutil.copy(FIXTURE, root / "partners.yaml")
    Project(root).export(STAMP1)
    return root


@pytest.fixture
def project(exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    """A fresh copy of the exported program for one scenario."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    root = tmp_path / "program"
    shutil.copytree(exported, root)
    yield Project(root)


def unchanged_except(before: dict[str, Vevent], after: dict[str, Vevent], uids: set[str]) -> None:
    """Every event outside `uids` is byte-for-byte what subscribers already have."""
    assert set(before) - uids == set(after) - uids
    for uid in set(before) - uids:
        assert after[uid].raw == before[uid].raw, uid


def test_unchanged_program_exports_identical_bytes(project: Project) -> None:
    """A second export with nothing changed (new stamp) rewrites no byte; --check exits 0."""
    before = project.files()
    assert project.check() == 0
    output = project.export(STAMP2)
    assert project.files() == before
    assert "is up to date" in output


def test_check_exits_1_when_the_program_changed_and_writes_nothing(project: Project) -> None:
    """--check reports an edited program as out of date and leaves every file as it was."""
    before = project.files()
    project.edit("name: Northwind Traders\n", "name: Northwind Traders Inc\n")
    assert project.check() == 1
    assert project.files() == before


def test_rename_partner_keeps_uids_and_bumps_sequence(project: Project) -> None:
    """Renaming a partner updates its events in place: same UIDs, SEQUENCE 1, new DTSTAMP."""
    before = project.feed("all.ics")
    partner_before = project.feed("partners/northwind.ics")
    project.edit("name: Northwind Traders\n", "name: Northwind Traders Inc\n")
    project.export(STAMP2)

    after = project.feed("all.ics")
    partner_after = project.feed("partners/northwind.ics")
    assert set(partner_after) == set(partner_before)  # UIDs stay
    renamed = {u for u, e in partner_after.items() if "Northwind Traders Inc" in e.summary}
    assert renamed, "the partner's events carry its name"
    for uid in renamed:
        event = after[uid]
        assert (event.sequence, event.dtstamp, event.status) == (1, DTSTAMP2, "CONFIRMED")
        assert event.start == before[uid].start
    unchanged_except(before, after, renamed)
    assert project.check() == 0


def test_blackout_over_a_locked_date_moves_only_that_event(project: Project) -> None:
    """A new blackout on a published day moves that event (SEQUENCE 1); nothing else changes."""
    before = project.feed("all.ics")
    entry = next(
        entry
        for entry in map(json.loads, project.lock.read_text().splitlines())
        if entry.get("key", "").startswith("northwind/review/")
        and entry["event"]["start"][:10] > TODAY
    )
    key, uid, day = entry["key"], entry["uid"], entry["event"]["start"][:10]
    project.edit(
        "      - {start: 2027-11-22, end: 2027-11-26, reason: Thanksgiving week}\n",
        "      - {start: 2027-11-22, end: 2027-11-26, reason: Thanksgiving week}\n"
        f"      - {{start: {day}, end: {day}, reason: Board meeting}}\n",
    )
    diff = CliRunner().invoke(
        app, ["diff", str(project.program), "--today", TODAY, "--format", "json"]
    )
    assert diff.exit_code == 0, diff.output
    assert re.findall(r'"kind": "(\w+)"', diff.output) == ["moved"]
    assert f'"key": "{key}"' in diff.output

    project.export(STAMP2)
    after = project.feed("all.ics")
    moved = after[uid]
    assert moved.sequence == 1
    assert moved.dtstamp == DTSTAMP2
    assert str(moved.start)[:10] != day
    assert before[uid].summary == moved.summary
    unchanged_except(before, after, {uid})


def test_removed_partner_is_cancelled_not_vanished(project: Project) -> None:
    """Dropping a partner publishes its events as CANCELLED (SEQUENCE 1) in a feed that stays."""
    before_partner = project.feed("partners/maple-it.ics")
    before_all = project.feed("all.ics")
    text = project.program.read_text(encoding="utf-8")
    project.program.write_text(
        re.sub(r"  - id: maple-it\n.*?(?=  - id: )", "", text, count=1, flags=re.S),
        encoding="utf-8",
    )
    project.export(STAMP2)

    after_partner = project.feed("partners/maple-it.ics")  # the file is still there
    calendar = icalendar.Calendar.from_ical((project.out / "partners/maple-it.ics").read_bytes())
    assert str(calendar["X-WR-CALNAME"]).endswith("Maple IT Distribution")  # still its name
    own = {
        uid for uid in before_partner if before_all[uid].summary.endswith("Maple IT Distribution")
    }
    assert own
    for uid in own:
        event = after_partner[uid]
        assert (event.status, event.sequence, event.dtstamp) == ("CANCELLED", 1, DTSTAMP2)
        assert event.start == before_partner[uid].start
    after_all = project.feed("all.ics")
    assert {uid for uid in own if after_all[uid].status == "CANCELLED"} == own
    unchanged_except(before_all, after_all, own)
    lock = project.lock.read_text()
    assert all(f'"uid": "{uid}"' in lock for uid in own)

    # The next run keeps the cancellations exactly as published.
    again = project.files()
    project.export("2027-03-01T00:00:00Z")
    assert project.files() == again


@pytest.mark.parametrize(
    "newcomers",
    [
        pytest.param((2,), id="one-partner"),
        pytest.param((2, 3, 4), id="three-partners"),
    ],
)
def test_new_partner_for_a_busy_manager_moves_nothing_published(
    project: Project, newcomers: tuple[int, ...]
) -> None:
    """Adding partners to a manager near capacity adds all their events and moves at most
    the two published events in the way of one that could not be placed otherwise (one
    partner: none); a fresh plan of the same file would move 32."""
    before = project.feed("all.ics")
    added_text = "".join(
        f"  - id: maple-{n}\n"
        f"    name: Maple {n}\n"
        "    tier: strategic\n"
        "    manager: alex\n"
        "    country: CA\n"
        "    timezone: America/Toronto\n"
        "    contacts:\n"
        f"      - {{name: Owner {n}, email: owner{n}@maple{n}.example, role: owner}}\n"
        "    focus_areas: [renewals, security]\n\n"
        for n in newcomers
    )
    project.edit("  - id: maple-it\n", added_text + "  - id: maple-it\n")
    diff = CliRunner().invoke(
        app, ["diff", str(project.program), "--today", TODAY, "--format", "json"]
    )
    kinds = re.findall(r'"kind": "(\w+)"', diff.output)
    assert set(kinds) <= {"added", "moved"}
    assert kinds.count("moved") <= (0 if len(newcomers) == 1 else 2)

    project.export(STAMP2)
    after = project.feed("all.ics")
    added = set(after) - set(before)
    assert added
    assert all(after[u].sequence == 0 for u in added)
    moved = {u for u in before if after[u].start != before[u].start}
    assert len(moved) == kinds.count("moved")
    assert all(after[u].sequence == 1 for u in moved)
    unchanged_except(before, after, added | moved)


def test_replan_keeps_uids_and_raises_sequence_only_for_what_moved(project: Project) -> None:
    """--replan ignores locked dates, yet moved events update in place and the rest stay."""
    before = project.feed("all.ics")
    project.edit(
        "    capacity: {meetings_per_week: 10, hours_per_week: 14}\n",
        "    capacity: {meetings_per_week: 10, hours_per_week: 13}\n",
    )
    project.export(STAMP2, "--replan")
    after = project.feed("all.ics")
    assert set(after) == set(before)
    for uid, event in after.items():
        if event.raw == before[uid].raw:
            continue
        assert (event.sequence, event.dtstamp) == (1, DTSTAMP2), event.summary


def _generated(n: int) -> str:
    import importlib.util

    path = Path(__file__).parent.parent / "benchmarks" / "generate.py"
    spec = importlib.util.spec_from_file_location("chancal_benchmark_generate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text: str = module.generate(n)
    return text


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("fixture", id="fixture-14-partners"),
        pytest.param("generated-60", id="generated-60-partners"),
    ],
)
def test_a_plan_pinned_to_its_own_lock_changes_nothing(source: str) -> None:
    """Publishing, then planning again against that lock, moves, adds and cancels nothing."""
    from datetime import UTC
    from datetime import datetime as dt

    from chancal.loader import loads as load_program
    from chancal.planner import make_plan
    from chancal.publish.lock import EMPTY_LOCK, pins
    from chancal.publish.reconcile import reconcile

    text = FIXTURE.read_text(encoding="utf-8") if source == "fixture" else _generated(60)
    config = load_program(text).config
    today = date.fromisoformat(TODAY)
    first = reconcile(
        make_plan(config, today=today), EMPTY_LOCK, today=today, stamp=dt(2027, 1, 1, tzinfo=UTC)
    )
    again = reconcile(
        make_plan(config, today=today, pins=pins(first.lock)),
        first.lock,
        today=today,
        stamp=dt(2027, 2, 1, tzinfo=UTC),
    )
    assert [(c.kind, c.key) for c in again.changes] == []
