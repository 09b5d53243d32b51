"""Every example program, exported: golden bytes, two parsers, the icalendar reference.

Goldens per example under tests/golden/ics/<example>/: `all.ics` byte for byte
and `feeds.txt`, an index of every feed (checksum, calendar properties, zones,
events in order). The per-partner and per-manager feeds are checked to hold
exactly the bytes of their events in all.ics, so all.ics plus the index pins
every file without storing each event three times.
Rewrite with `pytest --update-golden`.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from chancal.loader import load
from chancal.plan import Plan
from chancal.planner import make_plan
from chancal.publish.feeds import write_feeds
from test_ics_support import fields_of, instant, reference_event, vobject_read

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
GOLDEN = ROOT / "tests" / "golden" / "ics"
STAMP = datetime(2027, 1, 1, tzinfo=UTC)


@cache
def exported(example: Path, folder: Path) -> tuple[Plan, dict[str, bytes]]:
    """Plan an example and export every feed of it once per test session."""
    plan = make_plan(load(example).config)
    write_feeds(plan, folder, stamp=STAMP)
    files = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.ics"))}
    return plan, files


@pytest.fixture(params=EXAMPLES, ids=[p.stem for p in EXAMPLES])
def example(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Plan, dict[str, bytes]]:
    path: Path = request.param
    plan, files = exported(path, tmp_path_factory.getbasetemp() / f"ics-{path.stem}")
    return path.stem, plan, files


def test_examples_exist() -> None:
    """The examples folder is the fixture set; an empty one would silently test nothing."""
    assert len(EXAMPLES) >= 1


def index(files: dict[str, bytes]) -> str:
    """Describe every feed: checksum, calendar properties, zones, and each event's UID and start."""
    out = []
    for path, data in files.items():
        text = data.decode().replace("\r\n ", "")
        head = text[: text.index("BEGIN:VTIMEZONE")]
        out.append(f"{path} sha256={hashlib.sha256(data).hexdigest()}")
        out.extend("  " + line for line in head.split("\r\n")[5:] if line)
        out.append("  zones: " + " ".join(re.findall(r"^TZID:([^\r]+)", text, flags=re.M)))
        events = re.findall(r"^UID:([^\r]+)\r\nDTSTAMP:[^\r]+\r\n(DTSTART[^\r]+)", text, flags=re.M)
        out.append(f"  events: {len(events)}")
        out.extend(f"  {uid} {start}" for uid, start in events)
    return "\n".join(out) + "\n"


def test_golden(example: tuple[str, Plan, dict[str, bytes]], update_golden: bool) -> None:
    """all.ics and the feed index match the golden files byte for byte."""
    name, _plan, files = example
    folder = GOLDEN / name
    expected = {"all.ics": files["all.ics"], "feeds.txt": index(files).encode()}
    if update_golden:
        folder.mkdir(parents=True, exist_ok=True)
        for file, data in expected.items():
            (folder / file).write_bytes(data)
    for file, data in expected.items():
        golden = folder / file
        assert golden.exists(), f"{golden} missing: run pytest --update-golden"
        assert golden.read_bytes() == data, f"{golden} differs: review, then --update-golden"


def _events(data: bytes) -> list[bytes]:
    body = data[data.index(b"BEGIN:VEVENT") : data.rindex(b"END:VCALENDAR")]
    return [b"BEGIN:VEVENT" + chunk for chunk in body.split(b"BEGIN:VEVENT")[1:]]


def test_feeds_are_slices_of_all(example: tuple[str, Plan, dict[str, bytes]]) -> None:
    """Each partner and manager feed holds its events byte-identical to all.ics, in its order."""
    _name, _plan, files = example
    everything = _events(files["all.ics"])
    position = {chunk: i for i, chunk in enumerate(everything)}
    for path, data in files.items():
        mine = _events(data) if b"BEGIN:VEVENT" in data else []
        order = [position[chunk] for chunk in mine]  # KeyError: an event not in all.ics
        assert order == sorted(order), path


def test_every_instant_in_both_parsers(example: tuple[str, Plan, dict[str, bytes]]) -> None:
    """icalendar (by TZID) and vobject (from the VTIMEZONE) read every event at its instant."""
    _name, plan, files = example
    events = {ev.uid: ev for ev in plan.events}
    for path, data in files.items():
        ours = icalendar.Calendar.from_ical(data).walk("VEVENT")
        theirs = vobject_read(data.decode()).contents.get("vevent", [])
        assert len(ours) == len(theirs), path
        for vevent in ours:
            ev = events[str(vevent["UID"])]
            assert instant(vevent.decoded("DTSTART")) == instant(ev.start), (path, ev.key)
            assert instant(vevent.decoded("DTEND")) == instant(ev.end), (path, ev.key)
        for other in theirs:
            ev = events[other.uid.value]
            if not ev.all_day and _offset_in_january(ev.timezone, ev.day.year):
                # from the file's VTIMEZONE (vobject looks zones at UTC+0 in
                # January up by TZID instead: see test_ics.test_zones_at_utc_in_winter)
                assert type(other.dtstart.value.tzinfo).__module__.startswith("dateutil")
            assert instant(other.dtstart.value) == instant(ev.start), (path, ev.key)
            assert instant(other.dtend.value) == instant(ev.end), (path, ev.key)


def _offset_in_january(tzid: str, year: int) -> bool:
    return bool(datetime(year, 1, 1, tzinfo=ZoneInfo(tzid)).utcoffset())


def test_matches_icalendar_object_model(example: tuple[str, Plan, dict[str, bytes]]) -> None:
    """Field by field, every event of all.ics reads back like icalendar's own serialisation."""
    _name, plan, files = example
    events = {ev.uid: ev for ev in plan.events}
    ours = icalendar.Calendar.from_ical(files["all.ics"]).walk("VEVENT")
    assert len(ours) == len(plan.events)
    for vevent in ours:
        ev = events[str(vevent["UID"])]
        reference = icalendar.Event.from_ical(reference_event(ev, STAMP).to_ical())
        assert fields_of(vevent) == fields_of(reference), ev.key


def test_raw_bytes(example: tuple[str, Plan, dict[str, bytes]]) -> None:
    """Every line of every feed ends CRLF, is at most 75 octets and whole UTF-8."""
    _name, _plan, files = example
    for path, data in files.items():
        assert b"\n" not in data.replace(b"\r\n", b""), path
        for line in data.split(b"\r\n")[:-1]:
            assert len(line) <= 75, (path, line)
            line.decode("utf-8")
