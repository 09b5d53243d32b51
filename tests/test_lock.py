"""The lock file format and reconciling a plan with it, on hand-built plans."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chancal.changes import summarize
from chancal.errors import ConfigError
from chancal.plan import (
    AllDay,
    Event,
    ManagerInfo,
    PartnerInfo,
    Person,
    Plan,
    Span,
    Timed,
    make_uid,
)
from chancal.publish.lock import (
    EMPTY_LOCK,
    Lock,
    Shown,
    dumps,
    event_content,
    pins,
    published_event,
)
from chancal.publish.lock_read import loads
from chancal.publish.lock_v1 import upgrade
from chancal.publish.reconcile import reconcile

BERLIN = ZoneInfo("Europe/Berlin")
STAMP1 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
STAMP2 = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
TODAY = date(2027, 1, 4)


def timed(key: str, day: date, hour: int = 10, *, title: str = "", partner: str = "acme") -> Event:
    start = datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN)
    return Event(
        key=key,
        uid=make_uid("prog", key),
        partner_id=partner,
        manager_id="ana",
        rule_id=key.split("/")[1],
        kind="quarterly_business_review",
        purpose="accountability",
        title=title or f"Review {key}",
        span=Timed(start, start + timedelta(hours=2)),
        timezone="Europe/Berlin",
        mode="virtual",
        organizer=Person("Ana", "ana@example.com"),
        attendees=(Person("Bo", "bo@acme.example", "REQ-PARTICIPANT"),),
        reminders=(timedelta(days=1),),
        partner_ids=(partner,),
    )


def all_day(key: str, day: date, days: int = 1) -> Event:
    return Event(
        key=key,
        uid=make_uid("prog", key),
        partner_id=None,
        manager_id=None,
        rule_id=key.split("/")[1],
        kind="partner_conference",
        purpose="collaboration",
        title="Partner Conference",
        span=AllDay(day, day + timedelta(days=days)),
        timezone="America/New_York",
        mode="on_site",
        partner_ids=("acme", "globex"),
    )


def shifted(event: Event, by: timedelta = timedelta(), *, end_by: timedelta | None = None) -> Event:
    """The event moved by `by`, its end by `end_by` (by default by `by` too)."""
    end_by = by if end_by is None else end_by
    span: Span
    match event.span:
        case Timed(start, end):
            span = Timed(start + by, end + end_by)
        case AllDay(start, end):
            span = AllDay(start + by, end + end_by)
    return replace(event, span=span)


def make_plan(
    *events: Event, partners: tuple[str, ...] = ("acme", "globex"), manager: str = "ana"
) -> Plan:
    ordered = sorted(
        events,
        key=lambda e: (
            e.span.start.timestamp()
            if isinstance(e.span, Timed)
            else datetime.combine(e.day, time(), UTC).timestamp(),
            e.key,
        ),
    )
    return Plan(
        program_id="prog",
        program_name="Program",
        timezone="America/New_York",
        year_start=date(2027, 1, 1),
        year_end=date(2028, 1, 1),
        events=tuple(ordered),
        partners=tuple(
            PartnerInfo(p, p.title(), "growth", manager, "DE", "Europe/Berlin") for p in partners
        ),
        managers=tuple(
            ManagerInfo(m, m.title(), f"{m}@example.com", "Europe/Berlin", 10, 20.0, 2)
            for m in sorted({"ana", manager})
        ),
    )


Q1 = timed("acme/review/2027-q1", date(2027, 4, 14))
Q2 = timed("acme/review/2027-q2", date(2027, 7, 14))
CONF = all_day("program/partner-conference", date(2027, 5, 18), days=2)
BASE = make_plan(Q1, Q2, CONF)


def first_lock() -> Lock:
    return reconcile(BASE, EMPTY_LOCK, today=TODAY, stamp=STAMP1).lock


# ---------------------------------------------------------------------------
# format


def test_lock_is_json_lines_header_owners_then_events_by_key() -> None:
    """One JSON object per line: the header (format and program), the feed owners, the events."""
    text = dumps(first_lock())
    lines = [json.loads(line) for line in text.splitlines()]
    assert text.endswith("}\n") and "\r" not in text
    assert lines[0]["chancal_lock"] == 2 and lines[0]["program"] == "prog"
    assert [(o["owner"], o["id"]) for o in lines[1:4]] == [
        ("manager", "ana"),
        ("partner", "acme"),
        ("partner", "globex"),
    ]
    events = [line for line in lines if "key" in line]
    assert [e["key"] for e in events] == sorted(e["key"] for e in events)
    q1 = next(e for e in events if e["key"] == Q1.key)
    assert (q1["uid"], q1["status"], q1["sequence"], q1["stamp"]) == (
        Q1.uid,
        "CONFIRMED",
        0,
        "2027-01-04T09:00:00Z",
    )
    assert q1["feeds"] == ["all", "manager/ana", "partner/acme"]
    assert q1["event"]["start"] == "2027-04-14T10:00:00+02:00"
    assert q1["event"]["organizer"] == {"name": "Ana", "email": "ana@example.com"}
    conf = next(e for e in events if e["key"] == CONF.key)
    assert conf["feeds"] == ["all", "manager/ana", "partner/acme", "partner/globex"]


def test_lock_text_round_trips() -> None:
    """loads(dumps(lock)) gives the same lock, and dumps of that the same text."""
    lock = first_lock()
    again = loads(dumps(lock))
    assert again == lock
    assert dumps(again) == dumps(lock)


def test_event_content_is_everything_subscribers_see() -> None:
    """A locked event comes back as the same event: every field a feed shows is kept."""
    full = replace(
        Q1,
        description="Agenda\n- one",
        focus_area="cloud",
        location="Room 4",
        direction="two_way",
    )
    lock = reconcile(make_plan(full), EMPTY_LOCK, today=TODAY, stamp=STAMP1).lock
    [entry] = loads(dumps(lock)).entries
    assert entry.content.value() == event_content(full)
    assert entry.content == Shown.of(event_content(full))

    back = published_event(
        entry.key,
        entry.uid,
        entry.content,
        status="CONFIRMED",
        sequence=0,
        stamp=STAMP1,
        feeds=entry.feeds,
    )
    # Who is invited travels as the entry's feeds, not as content.
    assert back == replace(full, stamp=STAMP1, feeds=entry.feeds, partner_ids=())


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=30))
def test_any_title_round_trips(title: str) -> None:
    """Quotes, backslashes, line separators, any Unicode: the title survives, one line per event."""
    lock = reconcile(make_plan(replace(Q1, title=title)), EMPTY_LOCK, today=TODAY, stamp=STAMP1)
    text = dumps(lock.lock)
    assert len(text.split("\n")) == len(lock.lock.owners) + 3  # header, owners, event, end
    assert "\u2028" not in text and "\u2029" not in text and "\x85" not in text
    [entry] = loads(text).entries
    assert entry.title == title


def _good_line() -> str:
    return next(line for line in dumps(first_lock()).splitlines() if Q1.key in line)


HEADER = '{"chancal_lock": 2, "program": "prog"}\n'


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 1, "empty lock file"),
        ('{"something": 1}\n', 1, "not a chancal lock"),
        ('{"chancal_lock": 3, "program": "prog"}\n', 1, "unsupported lock format"),
        (HEADER + "{not json\n", 2, "not JSON"),
        (HEADER + "<<<<<<< HEAD\n", 2, "merge conflict"),
        (HEADER + "[1, 2]\n", 2, "JSON object"),
        (HEADER + _good_line().replace('"CONFIRMED"', '"DONE"'), 2, "unknown status"),
        (HEADER + _good_line().replace('"sequence": 0', '"sequence": -1'), 2, "whole number"),
        (HEADER + _good_line().replace('"stamp": "2027', '"stamp": "x'), 2, "stamp"),
        (HEADER + _good_line().replace('"Europe/Berlin"', '"Mars/Base"'), 2, "time zone"),
        (HEADER + _good_line().replace('"partner/acme"', '"acme"'), 2, "feed names"),
        (HEADER + _good_line().replace("T10:00:00+02:00", "T13:00:00+02:00"), 2, "end after"),
    ],
)
def test_corrupt_lock_is_reported_with_its_location(text: str, line: int, words: str) -> None:
    """A corrupt lock raises ConfigError naming file, line, column and what is wrong."""
    with pytest.raises(ConfigError) as info:
        loads(text, "dir/chancal.lock")
    problem = info.value.problems[0]
    assert (problem.file, problem.line) == ("dir/chancal.lock", line)
    assert problem.column >= 1
    assert words in problem.message, problem.message


def test_field_problems_point_at_the_field() -> None:
    """The column of a bad field is where that field starts on the line."""
    bad = _good_line().replace('"CONFIRMED"', '"DONE"')
    with pytest.raises(ConfigError) as info:
        loads(HEADER + bad)
    assert info.value.problems[0].column == bad.index('"status"') + 1


def test_every_problem_is_reported_at_once() -> None:
    """Two bad lines give two located problems, not one."""
    first = _good_line().replace('"sequence": 0', '"sequence": "x"')
    second = (
        _good_line()
        .replace(Q1.key, Q2.key + "x")
        .replace(Q1.uid, "other")
        .replace('"CONFIRMED"', '"DONE"')
    )
    with pytest.raises(ConfigError) as info:
        loads(f"{HEADER}{first}\n{second}\n")
    assert [p.line for p in info.value.problems] == [2, 3]


def test_duplicate_uid_in_lock_is_rejected() -> None:
    """Two keys may never share a UID: a hand-edited lock doing so is refused."""
    other = _good_line().replace("acme/review/2027-q1", "acme/review/2027-q3")
    with pytest.raises(ConfigError, match="already used on line 2"):
        loads(f"{HEADER}{_good_line()}\n{other}\n")


def test_lock_tolerates_crlf() -> None:
    """A lock checked out with CRLF line endings still parses to the same entries."""
    assert loads(dumps(first_lock()).replace("\n", "\r\n")) == first_lock()


V1 = (
    "chancal-lock 1\n"
    "# comment\n"
    '@partner acme tz=Europe/Berlin name="Acme"\n'
    "acme/review/2027-q1 2027-04-14T10:00:00+02:00[Europe/Berlin] 2027-04-14T12:00:00+02:00"
    f" CONFIRMED seq=2 hash=0123456789abcdef stamp=20270104T090000Z uid={Q1.uid}"
    ' partner=acme manager=ana kind=quarterly_business_review title="Old title"\n'
)


def test_a_format_1_lock_is_upgraded_keeping_uids_and_raising_sequences() -> None:
    """An older chancal's lock keeps its UIDs; every event goes out once more, SEQUENCE + 1."""
    old = upgrade(V1, "chancal.lock")
    assert old.program_id == "prog"
    [entry] = old.entries
    assert (entry.uid, entry.sequence, entry.upgraded, entry.title) == (
        Q1.uid,
        2,
        True,
        "Old title",
    )
    result = reconcile(make_plan(Q1), old, today=TODAY, stamp=STAMP2)
    [event] = result.plan.events
    assert (event.uid, event.sequence, event.stamp) == (Q1.uid, 3, STAMP2)
    assert "chancal_lock" in dumps(result.lock).splitlines()[0]


def test_a_damaged_format_1_lock_is_located() -> None:
    """A format-1 line chancal cannot read is reported with its line, not skipped."""
    with pytest.raises(ConfigError) as info:
        upgrade(V1 + "garbage here\n", "chancal.lock")
    assert info.value.problems[0].line == 5


# ---------------------------------------------------------------------------
# reconcile


def test_first_run_publishes_everything_at_sequence_zero() -> None:
    """Without a lock every event is added with SEQUENCE 0 and the run's stamp."""
    result = reconcile(BASE, EMPTY_LOCK, today=TODAY, stamp=STAMP1)
    assert [(e.key, e.sequence, e.stamp) for e in result.plan.events] == [
        ("acme/review/2027-q1", 0, STAMP1),
        ("program/partner-conference", 0, STAMP1),
        ("acme/review/2027-q2", 0, STAMP1),
    ]
    assert summarize(result.changes)["added"] == 3


def test_unchanged_plan_keeps_sequence_and_stamp() -> None:
    """A second run with nothing changed reports nothing and keeps the old DTSTAMP."""
    lock = first_lock()
    result = reconcile(BASE, lock, today=TODAY, stamp=STAMP2)
    assert result.changes == ()
    assert {e.stamp for e in result.plan.events} == {STAMP1}
    assert dumps(result.lock) == dumps(lock)


@pytest.mark.parametrize(
    ("edited", "kind", "details"),
    [
        (replace(Q2, title="Renamed review"), "changed", ("title",)),
        (replace(Q2, location="Room 4"), "changed", ("details",)),
        (shifted(Q2, end_by=timedelta(hours=1)), "changed", ("time",)),
        (shifted(Q2, timedelta(days=7)), "moved", ("time",)),
    ],
)
def test_changed_event_gets_next_sequence_and_new_stamp(
    edited: Event, kind: str, details: tuple[str, ...]
) -> None:
    """An event whose time or content changed gets SEQUENCE + 1 and the new DTSTAMP."""
    result = reconcile(make_plan(Q1, edited, CONF), first_lock(), today=TODAY, stamp=STAMP2)
    by_key = {e.key: e for e in result.plan.events}
    assert (by_key[Q2.key].sequence, by_key[Q2.key].stamp) == (1, STAMP2)
    assert (by_key[Q1.key].sequence, by_key[Q1.key].stamp) == (0, STAMP1)
    [change] = result.changes
    assert (change.kind, change.key, change.details, change.sequence) == (
        kind,
        Q2.key,
        details,
        1,
    )


def test_moved_event_carries_the_planners_reason() -> None:
    """A move is explained by the planner's 'moved' diagnostic for that partner, rule and day."""
    from chancal.plan import Diagnostic

    moved = shifted(Q2, timedelta(days=7))
    plan = replace(
        make_plan(Q1, moved, CONF),
        diagnostics=(
            Diagnostic("info", "moved", "new blackout", "acme", "review", date(2027, 7, 21)),
        ),
    )
    [change] = reconcile(plan, first_lock(), today=TODAY, stamp=STAMP2).changes
    assert (change.kind, change.reason, change.old_start, change.new_start) == (
        "moved",
        "new blackout",
        Q2.start,
        moved.start,
    )


def test_uid_comes_from_the_lock_when_the_program_id_changes() -> None:
    """UIDs never change for the same key, even if the program's id (and so make_uid) does."""
    renamed = replace(Q1, uid=make_uid("renamed-program", Q1.key))
    result = reconcile(make_plan(renamed, Q2, CONF), first_lock(), today=TODAY, stamp=STAMP2)
    assert result.plan.events[0].uid == Q1.uid
    assert result.changes == ()


def test_removed_event_is_cancelled_then_kept_until_its_day_passes() -> None:
    """A vanished event is published CANCELLED with SEQUENCE + 1, then kept unchanged."""
    first = reconcile(make_plan(Q1, CONF), first_lock(), today=TODAY, stamp=STAMP2)
    cancelled = [e for e in first.plan.events if e.key == Q2.key]
    assert [(e.status, e.sequence, e.stamp, e.uid) for e in cancelled] == [
        ("CANCELLED", 1, STAMP2, Q2.uid)
    ]
    assert [(c.kind, c.key, c.sequence) for c in first.changes] == [("cancelled", Q2.key, 1)]

    later = datetime(2027, 3, 1, tzinfo=UTC)
    again = reconcile(make_plan(Q1, CONF), first.lock, today=date(2027, 3, 1), stamp=later)
    assert again.changes == ()
    assert dumps(again.lock) == dumps(first.lock)

    after = reconcile(make_plan(Q1, CONF), first.lock, today=date(2027, 7, 15), stamp=later)
    assert [(c.kind, c.key) for c in after.changes] == [("retired", Q2.key)]
    assert Q2.key not in {e.key for e in after.plan.events}


def test_past_event_that_vanished_stays_as_published() -> None:
    """An event whose day has passed is never cancelled or rewritten: subscribers keep it."""
    result = reconcile(make_plan(Q2, CONF), first_lock(), today=date(2027, 5, 1), stamp=STAMP2)
    assert result.changes == ()
    past = next(e for e in result.plan.events if e.key == Q1.key)
    assert (past.status, past.sequence, past.stamp, past.title) == (
        "CONFIRMED",
        0,
        STAMP1,
        Q1.title,
    )


def _feeds_of(result: object, key: str) -> list[tuple[tuple[str, ...], str, int]]:
    events = result.plan.events  # type: ignore[attr-defined]
    return sorted((e.feeds, e.status, e.sequence) for e in events if e.key == key)


def test_past_is_frozen_in_full_when_a_partner_moves_to_another_manager() -> None:
    """Moving acme from ana to bea on 1 May: Q1 (April) keeps its organizer, SEQUENCE and
    feeds; Q2 (July) goes to bea's feed updated and leaves a CANCELLED copy in ana's."""
    bea = Person("Bea", "bea@example.com")
    moved = [replace(e, manager_id="bea", organizer=bea) for e in (Q1, Q2)]
    plan = make_plan(*moved, CONF, manager="bea")
    result = reconcile(plan, first_lock(), today=date(2027, 5, 1), stamp=STAMP2)
    q1 = next(e for e in result.plan.events if e.key == Q1.key)
    assert (q1.organizer, q1.manager_id, q1.sequence, q1.stamp) == (Q1.organizer, "ana", 0, STAMP1)
    assert q1.feeds == ("all", "manager/ana", "partner/acme")
    assert _feeds_of(result, Q2.key) == [
        (("all", "manager/bea", "partner/acme"), "CONFIRMED", 1),
        (("manager/ana",), "CANCELLED", 1),
    ]
    # ana's feed still exists (she is still a manager here) and the lock remembers the copy.
    assert loads(dumps(result.lock)) == result.lock
    again = reconcile(plan, result.lock, today=date(2027, 5, 2), stamp=STAMP2)
    assert again.changes == () and dumps(again.lock) == dumps(result.lock)
    # Once Q2's day has passed, the cancelled copy leaves ana's feed.
    later = reconcile(plan, result.lock, today=date(2027, 7, 20), stamp=STAMP2)
    assert _feeds_of(later, Q2.key) == [(("all", "manager/bea", "partner/acme"), "CONFIRMED", 1)]


def test_an_event_back_in_a_feed_outranks_its_cancelled_copy() -> None:
    """Moved to bea and back to ana: ana's copy must beat the CANCELLED one she was sent."""
    bea = Person("Bea", "bea@example.com")
    away = make_plan(Q1, replace(Q2, manager_id="bea", organizer=bea), CONF, manager="bea")
    gone = reconcile(away, first_lock(), today=TODAY, stamp=STAMP2).lock
    back = reconcile(BASE, gone, today=TODAY, stamp=STAMP2)
    assert _feeds_of(back, Q2.key) == [
        (("all", "manager/ana", "partner/acme"), "CONFIRMED", 2),
        (("manager/bea",), "CANCELLED", 2),  # and bea, who had it meanwhile, gets a cancellation
    ]


def test_returning_key_is_restored_with_its_old_uid() -> None:
    """A cancelled key that comes back keeps its UID and gets a higher SEQUENCE."""
    cancelled = reconcile(make_plan(Q1, CONF), first_lock(), today=TODAY, stamp=STAMP2).lock
    back = reconcile(BASE, cancelled, today=TODAY, stamp=STAMP2)
    [change] = back.changes
    event = next(e for e in back.plan.events if e.key == Q2.key)
    assert (change.kind, event.uid, event.sequence, event.status) == (
        "restored",
        Q2.uid,
        2,
        "CONFIRMED",
    )


def test_removed_partner_keeps_a_feed_for_its_cancellations() -> None:
    """Dropping a partner cancels its events and the shared ones it was invited to, in its
    own feed; its PartnerInfo is kept so that feed is written."""
    other = timed("globex/review/2027-q2", date(2027, 7, 15), partner="globex")
    lock = reconcile(make_plan(Q1, other, CONF), EMPTY_LOCK, today=TODAY, stamp=STAMP1).lock
    result = reconcile(
        make_plan(Q1, replace(CONF, partner_ids=("acme",)), partners=("acme",)),
        lock,
        today=TODAY,
        stamp=STAMP2,
    )
    assert [(c.kind, c.key) for c in result.changes] == [("cancelled", other.key)]
    assert [(p.id, p.name) for p in result.plan.partners] == [
        ("acme", "Acme"),
        ("globex", "Globex"),
    ]
    kept = [o.id for o in result.lock.owners if o.kind == "partner"]
    assert kept == ["acme", "globex"]  # globex keeps its name while it has cancellations
    assert _feeds_of(result, other.key) == [
        (("all", "manager/ana", "partner/globex"), "CANCELLED", 1)
    ]
    assert _feeds_of(result, CONF.key) == [
        (("all", "manager/ana", "partner/acme"), "CONFIRMED", 0),
        (("partner/globex",), "CANCELLED", 1),
    ]


def test_cancelled_events_merge_into_the_sorted_plan() -> None:
    """Cancellations are placed in start order among the planned events."""
    result = reconcile(make_plan(Q2), first_lock(), today=TODAY, stamp=STAMP2)
    assert [(e.key, e.status) for e in result.plan.events] == [
        ("acme/review/2027-q1", "CANCELLED"),
        ("program/partner-conference", "CANCELLED"),
        ("acme/review/2027-q2", "CONFIRMED"),
    ]


def test_events_outside_the_planning_year_are_retired() -> None:
    """Switching the program to next year retires last year's lock instead of cancelling it."""
    next_year = replace(make_plan(), year_start=date(2028, 1, 1), year_end=date(2029, 1, 1))
    result = reconcile(next_year, first_lock(), today=TODAY, stamp=STAMP2)
    assert summarize(result.changes)["retired"] == 3
    assert result.lock.entries == ()


def test_pins_are_the_published_starts_of_live_events() -> None:
    """The planner is pinned to every locked start except cancelled ones."""
    lock = reconcile(make_plan(Q1, CONF), first_lock(), today=TODAY, stamp=STAMP2).lock
    assert pins(lock) == {Q1.key: Q1.start, CONF.key: CONF.start}


def test_changes_are_listed_by_partner_then_day_shared_events_last() -> None:
    """Changes read partner by partner (shared events last), each by day, then by key."""
    later = timed("globex/review/2027-q1", date(2027, 3, 1), partner="globex")
    same_day = timed("acme/a-review/2027-q2", date(2027, 7, 14), hour=12)  # after Q2, by key first
    first = reconcile(
        make_plan(Q1, Q2, same_day, later, CONF), EMPTY_LOCK, today=TODAY, stamp=STAMP1
    )
    assert [c.key for c in first.changes] == [Q1.key, same_day.key, Q2.key, later.key, CONF.key]
    moved = shifted(later, timedelta(days=1))
    second = reconcile(
        make_plan(replace(Q1, title="Renamed"), same_day, moved, CONF),
        first.lock,
        today=TODAY,
        stamp=STAMP2,
    )
    assert [(c.kind, c.key) for c in second.changes] == [
        ("changed", Q1.key),
        ("cancelled", Q2.key),
        ("moved", later.key),
    ]


def test_reconcile_is_idempotent() -> None:
    """Reconciling the result's own plan with its own lock changes nothing."""
    edited = make_plan(replace(Q1, title="New"), CONF)
    once = reconcile(edited, first_lock(), today=TODAY, stamp=STAMP2)
    twice = reconcile(edited, once.lock, today=TODAY, stamp=STAMP2)
    assert twice.changes == ()
    assert twice.plan == once.plan
    assert dumps(twice.lock) == dumps(once.lock)


def test_uid_of_a_new_event_never_takes_a_locked_uid() -> None:
    """A new key whose UID is already locked for another key is a bug, not a silent reuse."""
    thief = replace(timed("acme/review/2027-q3", date(2027, 10, 1)), uid=Q1.uid)
    with pytest.raises(ValueError, match="never reused"):
        reconcile(make_plan(Q1, thief), first_lock(), today=TODAY, stamp=STAMP2)


POOL = (
    Q1,
    Q2,
    CONF,
    timed("acme/review/2027-q3", date(2027, 10, 14)),
    timed("globex/review/2027-q2", date(2027, 7, 15), partner="globex"),
    timed("globex/review/2027-q3", date(2027, 10, 15), partner="globex"),
)
_VERSIONS = st.lists(
    st.lists(
        st.tuples(st.sampled_from(range(len(POOL))), st.sampled_from(["", "renamed", "moved"])),
        unique_by=lambda pair: pair[0],
    ),
    min_size=1,
    max_size=6,
)


@given(_VERSIONS)
@settings(max_examples=60, deadline=None)
def test_any_edit_history_keeps_uids_and_raises_sequences(
    versions: list[list[tuple[int, str]]],
) -> None:
    """Over any series of edits: a key keeps its UID, SEQUENCE never falls, and it rises
    exactly when what subscribers see changes; the lock survives its own text each time."""
    lock = EMPTY_LOCK
    published: dict[str, tuple[str, int, str]] = {}  # key -> (uid, sequence, hash+status)
    for step, version in enumerate(versions):
        events = []
        for index, edit in version:
            event = POOL[index]
            if edit == "renamed":
                event = replace(event, title=event.title + " (renamed)")
            elif edit == "moved":
                event = shifted(event, timedelta(days=1))
            events.append(event)
        stamp = STAMP1 + timedelta(days=step)
        result = reconcile(make_plan(*events), lock, today=TODAY, stamp=stamp)
        lock = loads(dumps(result.lock))
        assert lock == result.lock
        for event in result.plan.events:
            seen = json.dumps(event_content(event)) + event.status
            if event.key in published:
                uid, sequence, before = published[event.key]
                assert event.uid == uid
                assert event.sequence == sequence + (seen != before)
            else:
                assert event.sequence == 0
            published[event.key] = (event.uid, event.sequence, seen)
        assert {e.key for e in result.plan.events} == set(published)  # nothing vanishes


def test_duplicate_keys_in_a_plan_are_a_bug_not_a_lock() -> None:
    """Two events with one key would share a UID: reconcile refuses instead of locking them."""
    with pytest.raises(ValueError, match="twice: acme/review/2027-q1"):
        reconcile(make_plan(Q1, replace(Q1, title="again")), EMPTY_LOCK, today=TODAY, stamp=STAMP1)


def test_content_text_ignores_the_order_keys_were_written_in() -> None:
    """A hand edit that reorders an event's keys is the same content: no SEQUENCE bump."""
    lock = reconcile(make_plan(Q1), EMPTY_LOCK, today=TODAY, stamp=STAMP1).lock
    header, *lines = dumps(lock).splitlines()
    event_line = next(line for line in lines if '"key"' in line)
    value = json.loads(event_line)
    value["event"] = dict(reversed(list(value["event"].items())))
    edited = "\n".join([header, *(json.dumps(value) if x == event_line else x for x in lines)])
    assert loads(edited + "\n") == lock
    again = reconcile(make_plan(Q1), loads(edited + "\n"), today=TODAY, stamp=STAMP2)
    assert again.changes == () and dumps(again.lock) == dumps(lock)


def test_event_text_is_kept_as_read_and_hand_spacing_is_still_the_same_content() -> None:
    """The reader keeps each event's text as written (no re-encoding on every run); text
    spaced by hand, or a line with the event first, is still the same content, and the
    lock written next is canonical again."""
    lock = reconcile(make_plan(Q1, Q2), EMPTY_LOCK, today=TODAY, stamp=STAMP1).lock
    header, *lines = dumps(lock).splitlines()

    def event_written(line: str, write: Callable[[dict[str, object]], str]) -> str:
        value = json.loads(line)
        event = value.pop("event")
        return json.dumps(value)[:-1] + ', "event": ' + write(event) + "}"

    compact = [
        event_written(x, lambda e: json.dumps(e, separators=(",", ":"))) if '"key"' in x else x
        for x in lines
    ]
    reordered = [
        event_written(x, lambda e: json.dumps(dict(reversed(e.items())))) if '"key"' in x else x
        for x in lines
    ]
    event_first = [
        json.dumps({"event": (v := json.loads(x)).pop("event"), **v}) if '"key"' in x else x
        for x in lines
    ]
    for edited in (compact, reordered, event_first):
        read = loads("\n".join([header, *edited]) + "\n")
        assert read == lock
        again = reconcile(make_plan(Q1, Q2), read, today=TODAY, stamp=STAMP2)
        assert again.changes == () and dumps(again.lock) == dumps(lock)
        # An entry the plan no longer decides is written back canonical too.
        gone = reconcile(make_plan(Q1), read, today=TODAY, stamp=STAMP2)
        assert dumps(gone.lock).splitlines()[1:] == [
            json.dumps(json.loads(x), ensure_ascii=False) for x in dumps(gone.lock).splitlines()[1:]
        ]
    assert dumps(loads(dumps(lock))) == dumps(lock)
