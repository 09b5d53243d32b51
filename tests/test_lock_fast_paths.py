"""The shortcuts give what the plain way gives: entry lines, published events, checks, pickles."""

from __future__ import annotations

import json
import pickle
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from chancal.errors import ConfigError
from chancal.pickling import by_fields
from chancal.plan import AllDay, Diagnostic, Event, Person, Timed
from chancal.publish.lock import (
    Lines,
    LockEntry,
    Shown,
    Withdrawn,
    _json,
    _stamp_text,
    entry_line,
    event_shown,
)
from chancal.publish.lock_read import _span_problem, loads
from chancal.publish.reconcile import _as_published

STAMP = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
CONTENT = Shown.of(
    {
        "title": "Review",
        "start": "2027-04-14T10:00:00+02:00",
        "end": "2027-04-14T11:00:00+02:00",
        "timezone": "Europe/Berlin",
    }
)


def _plain_line(entry: LockEntry) -> bytes:
    """The entry's line as one dict given to the encoder: what `entry_line` must equal."""
    value: dict[str, object] = {
        "key": entry.key,
        "uid": entry.uid,
        "status": entry.status,
        "sequence": entry.sequence,
        "stamp": _stamp_text(entry.stamp),
        "feeds": list(entry.feeds),
    }
    if entry.withdrawn:
        value["withdrawn"] = [
            {
                "feeds": list(w.feeds),
                "sequence": w.sequence,
                "stamp": _stamp_text(w.stamp),
                "event": w.content.value(),
            }
            for w in entry.withdrawn
        ]
    value["event"] = entry.content.value()
    return _json(value).encode("utf-8")


@given(
    key=st.text(min_size=1),
    uid=st.text(min_size=1),
    feeds=st.lists(st.text(), max_size=3),
    status=st.sampled_from(["CONFIRMED", "TENTATIVE", "CANCELLED"]),
    sequence=st.integers(0, 2**31 - 1),
    withdrawn=st.booleans(),
)
def test_entry_line_is_the_json_of_the_whole_entry(
    key: str, uid: str, feeds: list[str], status: str, sequence: int, withdrawn: bool
) -> None:
    """entry_line writes exactly what encoding the entry as one JSON object writes,
    whatever the key, UID and feed names hold (quotes, non-ASCII, line separators)."""
    copies = (Withdrawn(("manager/bo",), 2, STAMP, CONTENT),) if withdrawn else ()
    entry = LockEntry(
        key,
        uid,
        status,
        sequence,
        STAMP,
        tuple(feeds),
        CONTENT,
        copies,  # type: ignore[arg-type]
    )
    assert entry_line(entry) == _plain_line(entry)
    assert json.loads(entry_line(entry))["key"] == key


def _every_field_event() -> Event:
    """An event with every field set, none to its default (it fails when Event gains one)."""
    start = datetime(2027, 4, 14, 8, 0, tzinfo=UTC)
    event = Event(
        key="acme/qbr/2027-q2",
        uid="planned-uid",
        partner_id="acme",
        manager_id="ana",
        rule_id="qbr",
        kind="quarterly_business_review",
        purpose="accountability",
        title="Review",
        span=Timed(start, start + timedelta(hours=1)),
        timezone="Europe/Berlin",
        mode="on_site",
        location="Berlin",
        description="Numbers",
        conference="https://meet.example/acme",
        focus_area="cloud",
        organizer=Person("Ana", "ana@example.com"),
        attendees=(Person("Bo", "bo@acme.example"),),
        reminders=(timedelta(days=1),),
        status="TENTATIVE",
        sequence=7,
        partner_ids=("acme",),
        stamp=datetime(2026, 12, 1, tzinfo=UTC),
        direction="to_partner",
        feeds=("all",),
    )
    for each in fields(Event):
        if each.default is not MISSING:
            assert getattr(event, each.name) != each.default, f"set {each.name} here"
    return event


def test_published_copy_keeps_every_planned_field() -> None:
    """_as_published equals dataclasses.replace: it fails when Event gains a field it misses."""
    planned = _every_field_event()
    entry = LockEntry(
        planned.key, "lock-uid", "TENTATIVE", 3, STAMP, ("all", "partner/acme"), CONTENT
    )
    expected = replace(planned, uid="lock-uid", sequence=3, stamp=STAMP, feeds=entry.feeds)
    assert _as_published(planned, entry) == expected


def _plain_content(event: Event) -> dict[str, object]:
    """The event's content as one dict given to the encoder: what `event_shown` must write."""
    content: dict[str, object] = {
        "title": event.title,
        "kind": event.kind,
        "purpose": event.purpose,
        "mode": event.mode,
        "start": event.start.isoformat(),
        "end": event.end.isoformat(),
        "timezone": event.timezone,
        "partner": event.partner_id,
        "manager": event.manager_id,
        "rule": event.rule_id,
    }

    def person(p: Person) -> dict[str, str]:
        return {"name": p.name, "email": p.email, **({"role": p.role} if p.role else {})}

    optional: tuple[tuple[str, object], ...] = (
        ("location", event.location),
        ("conference", event.conference),
        ("description", event.description),
        ("focus_area", event.focus_area),
        ("direction", event.direction),
        ("organizer", person(event.organizer) if event.organizer else None),
        ("attendees", [person(p) for p in event.attendees]),
        ("reminders", [int(r.total_seconds()) for r in event.reminders]),
    )
    content.update((name, value) for name, value in optional if value)
    return content


PEOPLE = st.builds(Person, st.text(), st.text(), st.sampled_from(["", "REQ-PARTICIPANT", "é"]))


@given(
    texts=st.lists(st.text(), min_size=5, max_size=5),
    partner=st.none() | st.text(),
    direction=st.sampled_from([None, "to_partner", "to_us", "two_way"]),
    organizer=st.none() | PEOPLE,
    attendees=st.lists(PEOPLE, max_size=3),
    reminders=st.lists(st.integers(0, 10**6).map(lambda s: timedelta(seconds=s)), max_size=3),
    all_day=st.booleans(),
)
@example(texts=["a\u2028b", "\x85", '"\\', "\n\t", "é"], partner=None, direction=None,
         organizer=None, attendees=[], reminders=[], all_day=False)  # fmt: skip
def test_event_shown_is_the_encoders_text_of_the_content(
    texts: list[str],
    partner: str | None,
    direction: Any,
    organizer: Person | None,
    attendees: list[Person],
    reminders: list[timedelta],
    all_day: bool,
) -> None:
    """event_shown writes exactly what encoding the content as one dict writes, whatever
    the texts hold, and leaves out what is at its default as the dict does."""
    title, location, description, focus, conference = texts
    event = replace(
        _every_field_event(),
        title=title,
        location=location,
        description=description,
        focus_area=focus or None,
        conference=conference,
        partner_id=partner,
        manager_id=partner,  # a shared event has neither
        direction=direction,
        organizer=organizer,
        attendees=tuple(attendees),
        reminders=tuple(reminders),
    )
    if all_day:
        event = replace(event, span=AllDay(date(2027, 5, 3), date(2027, 5, 5)))
    shown = event_shown(event)
    expected = Shown.of(_plain_content(event))
    assert (shown.json, shown.start, shown.end, shown.timezone, shown.canonical) == (
        expected.json,
        expected.start,
        expected.end,
        expected.timezone,
        expected.canonical,
    )


def _fields_of(value: Any) -> list[tuple[str, object, type]]:
    return [(f.name, getattr(value, f.name), type(getattr(value, f.name))) for f in fields(value)]


def test_values_sent_between_processes_pickle_as_calls_and_come_back_whole() -> None:
    """Every value type a planning process sends back pickles as a call of its class
    (`pickling.by_fields`) and comes back with every field equal and of the same type."""
    event = _every_field_event()
    all_day = replace(event, span=AllDay(date(2027, 5, 3), date(2027, 5, 5)))
    spaced = CONTENT.json.replace(b'":', b'": ')
    hand_spaced = Shown(spaced, CONTENT.start, CONTENT.end, CONTENT.timezone, canonical=False)
    copy = Withdrawn(("manager/bo",), 2, STAMP, hand_spaced)
    entry = LockEntry("k", "u", "CANCELLED", 4, STAMP, ("all",), CONTENT, (copy,), True)
    diagnostic = Diagnostic("warning", "window-widened", "why", "acme", "qbr", date(2027, 5, 3))
    values: list[object] = [event, all_day, event.span, event.attendees[0], entry, diagnostic]
    values += [
        copy,
        hand_spaced,
        Lines("a/1", "a/9", b"", (120, 4096)),
        Lines("b/1", "b/1", b"x", None),
    ]
    for value in values:
        assert value.__reduce_ex__(pickle.HIGHEST_PROTOCOL)[0] is type(value)
        back = pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        assert type(back) is type(value)
        assert _fields_of(back) == _fields_of(value)


def test_by_fields_refuses_a_class_it_would_pickle_wrongly() -> None:
    """A field that is not a positional __init__ argument would be lost or misplaced."""

    @dataclass
    class Hidden:
        shown: int
        hidden: int = field(init=False, default=0)

    @dataclass
    class Alone:
        only: int

    for cls in (Hidden, Alone):
        with pytest.raises(TypeError, match="positional"):
            by_fields(cls)


HEADER = '{"chancal_lock": 2, "program": "prog"}\n'


def _event_line(n: int, *, start: str, feeds: str = '["all"]') -> str:
    return (
        f'{{"key": "acme/qbr/{n}", "uid": "u{n}", "status": "CONFIRMED", "sequence": 0, '
        f'"stamp": "2027-01-04T09:00:00Z", "feeds": {feeds}, "event": {{"title": "T", '
        f'"start": "{start}", "end": "2027-04-14T11:00:00+02:00", '
        f'"timezone": "Europe/Berlin"}}}}\n'
    )


@pytest.mark.parametrize(
    ("start", "feeds", "message"),
    [
        ("2027-04-14T12:00:00+02:00", '["all"]', "the event must end after it starts"),
        ("2027-04-14T09:00:00+02:00", '["bogus"]', '"feeds" must list feed names'),
    ],
)
def test_a_problem_shared_by_many_entries_is_located_on_each(
    start: str, feeds: str, message: str
) -> None:
    """Spans and feed lists are checked once, yet every line that has the problem is named."""
    good = _event_line(1, start="2027-04-14T10:00:00+02:00")
    text = HEADER + good + "".join(_event_line(n, start=start, feeds=feeds) for n in (2, 3))
    with pytest.raises(ConfigError) as raised:
        loads(text)
    found = [(p.line, p.message) for p in raised.value.problems]
    assert [line for line, _ in found] == [3, 4]
    assert all(m.startswith(message) for _, m in found)


_EDGE_YEARS = st.sampled_from([1, 1899, 1900, 1901, 2027, 2199, 2200, 2201, 9999])
"""Years at the limits, and beyond what a zone can move (year 1, 9999 overflow)."""


@st.composite
def _span_text(draw: st.DrawFn) -> str:
    month, day_of_month = draw(st.sampled_from([(1, 1), (12, 31), (6, 15)]))
    day = date(draw(_EDGE_YEARS), month, day_of_month)
    if draw(st.booleans()):
        return day.isoformat()
    moment = datetime.combine(day, time(draw(st.integers(0, 23)), draw(st.integers(0, 59))))
    offset = draw(st.sampled_from(["+02:00", "-05:00", "+14:00", "-12:00", "Z", "", "+0530"]))
    if not offset and draw(st.booleans()):
        return moment.isoformat(timespec="hours")  # "T10": an offset test reads "-" in it
    return moment.isoformat() + offset


@example(start="2027-06-15T10", end="2027-06-15T11", zone="UTC")  # no offset, "-" read as one
@example(start="2200-12-31T20:00:00Z", end="2200-12-31T21:00:00Z", zone="Pacific/Kiritimati")
@example(start="1899-12-31T23:00:00-05:00", end="1900-01-01T01:00:00-05:00", zone="UTC")
@given(
    start=_span_text(),
    end=_span_text(),
    zone=st.sampled_from(["Europe/Berlin", "Pacific/Kiritimati", "Etc/GMT+12", "UTC", "Nowhere"]),
)
def test_span_check_as_written_says_what_the_zone_instants_say(
    start: str, end: str, zone: str
) -> None:
    """Checking a span at the offsets written gives the same verdict as in the event's
    zone, at the 1900 and 2200 limits, year 1 and 9999, without offsets and across days."""
    with patch("chancal.publish.lock_read._well_inside", return_value=False):
        by_instants = _span_problem(start, end, zone)  # every span judged in its zone
    assert _span_problem(start, end, zone) == by_instants


@given(
    title=st.text(),
    head_pad=st.sampled_from(["", " ", "\t", "\n"]),
    event_pad=st.sampled_from(["", " ", "\t"]),
)
def test_a_line_scanned_in_two_parts_reads_as_json_loads_reads_it_whole(
    title: str, head_pad: str, event_pad: str
) -> None:
    """Lock lines are parsed by the JSON decoder's raw_decode, entry and event apart; what it
    reads (or hands over to `json.loads`, respaced lines) is what `json.loads` reads whole."""
    line = _event_line(1, start="2027-04-14T10:00:00+02:00").rstrip("\n")
    head, _, event = line.partition(', "event": ')
    event = event.replace('"T"', json.dumps(title), 1)
    text = f'{head}{head_pad}, "event": {event[:-1]}{event_pad}}}'
    if "\n" in text:  # a line break inside a line: the lock reads two lines, and refuses them
        with pytest.raises(ConfigError):
            loads(HEADER + text + "\n")
        return
    (entry,) = loads(HEADER + text + "\n").entries
    whole = json.loads(text)
    assert (entry.key, entry.uid, entry.sequence) == (whole["key"], whole["uid"], 0)
    assert entry.content.value() == whole["event"]
    with patch("chancal.publish.lock_read._whole", return_value=None):  # json.loads alone
        (plain,) = loads(HEADER + text + "\n").entries
    assert plain.content.value() == entry.content.value()
    assert (plain.key, plain.uid, plain.feeds, plain.stamp) == (
        entry.key,
        entry.uid,
        entry.feeds,
        entry.stamp,
    )
