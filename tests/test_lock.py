"""The lock file format and reconciling a plan with it, on hand-built plans."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chancal.changes import summarize
from chancal.errors import ConfigError
from chancal.lock import (
    EMPTY_LOCK,
    Lock,
    content_hash,
    dumps,
    loads,
    pins,
    reconcile,
)
from chancal.plan import Event, PartnerInfo, Person, Plan, make_uid

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
        start=start,
        end=start + timedelta(hours=2),
        timezone="Europe/Berlin",
        all_day=False,
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
        start=day,
        end=day + timedelta(days=days),
        timezone="America/New_York",
        all_day=True,
        mode="on_site",
        partner_ids=("acme", "globex"),
    )


def make_plan(*events: Event, partners: tuple[str, ...] = ("acme", "globex")) -> Plan:
    ordered = sorted(
        events,
        key=lambda e: (
            e.start.timestamp()
            if isinstance(e.start, datetime)
            else datetime(e.start.year, e.start.month, e.start.day, tzinfo=UTC).timestamp(),
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
            PartnerInfo(p, p.title(), "growth", "ana", "DE", "Europe/Berlin") for p in partners
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


EXPECTED_TEXT = (
    "chancal-lock 1\n"
    "# The calendar as published to subscribers. Commit it beside the program file;\n"
    "# `chancal export --ics` and `chancal lock` rewrite it,"
    " `chancal diff` compares against it.\n"
    "# key start[tz] end STATUS seq= hash= stamp= uid= partner= manager= kind= title=\n"
    "# All-day events have dates and an exclusive end; timed events carry their UTC offset.\n"
    "# @partner/@manager lines name each feed, so a removed partner's feed keeps its name.\n"
    '@partner acme tz=Europe/Berlin name="Acme"\n'
    '@partner globex tz=Europe/Berlin name="Globex"\n'
    "acme/review/2027-q1 2027-04-14T10:00:00+02:00[Europe/Berlin] 2027-04-14T12:00:00+02:00"
    f" CONFIRMED seq=0 hash={content_hash(Q1)} stamp=20270104T090000Z"
    f" uid={Q1.uid} partner=acme manager=ana kind=quarterly_business_review"
    ' title="Review acme/review/2027-q1"\n'
    "acme/review/2027-q2 2027-07-14T10:00:00+02:00[Europe/Berlin] 2027-07-14T12:00:00+02:00"
    f" CONFIRMED seq=0 hash={content_hash(Q2)} stamp=20270104T090000Z"
    f" uid={Q2.uid} partner=acme manager=ana kind=quarterly_business_review"
    ' title="Review acme/review/2027-q2"\n'
    "program/partner-conference 2027-05-18[America/New_York] 2027-05-20"
    f" CONFIRMED seq=0 hash={content_hash(CONF)} stamp=20270104T090000Z"
    f" uid={CONF.uid} partner=- manager=- kind=partner_conference"
    ' title="Partner Conference"\n'
)


def test_lock_text_is_sorted_one_event_per_line() -> None:
    """The lock lists every event on one line, sorted by key, after a versioned header."""
    assert dumps(first_lock()) == EXPECTED_TEXT


def test_lock_text_round_trips() -> None:
    """Parsing the text gives back the same entries, and rendering them the same text."""
    lock = first_lock()
    parsed = loads(dumps(lock))
    assert parsed == lock
    assert dumps(parsed) == dumps(lock)


def test_content_hash_is_a_fixed_function_of_the_event() -> None:
    """The hash does not depend on the run (hash seed, time zone): a literal value."""
    assert content_hash(Q1) == "75297b0fe98523e3"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "Other"),
        ("location", "Berlin"),
        ("description", "agenda"),
        ("attendees", ()),
        ("reminders", (timedelta(minutes=30),)),
        ("status", "TENTATIVE"),
        ("organizer", None),
        ("focus_area", "negotiation"),
    ],
)
def test_content_hash_sees_every_published_field(field: str, value: object) -> None:
    """Changing anything subscribers see changes the hash."""
    assert content_hash(replace(Q1, **{field: value})) != content_hash(Q1)


@pytest.mark.parametrize(
    ("field", "value"),
    [("sequence", 7), ("stamp", STAMP2), ("uid", "other@x"), ("partner_ids", ())],
)
def test_content_hash_ignores_sequence_stamp_and_identity(field: str, value: object) -> None:
    """SEQUENCE, DTSTAMP, UID and feed membership are not content."""
    assert content_hash(replace(Q1, **{field: value})) == content_hash(Q1)


@given(st.text())
@settings(max_examples=60, deadline=None)
def test_any_title_round_trips(title: str) -> None:
    """Any title, newlines and quotes included, survives the lock on its own line."""
    lock = reconcile(
        make_plan(replace(Q1, title=title)), EMPTY_LOCK, today=TODAY, stamp=STAMP1
    ).lock
    text = dumps(lock)
    assert len([line for line in text.split("\n") if line.startswith("acme/")]) == 1
    assert loads(text).entries[0].details.title == title


GOOD_LINE = next(line for line in EXPECTED_TEXT.split("\n") if line.startswith("acme/"))
_COL_START = GOOD_LINE.index(" ") + 2
_COL_SEQ = GOOD_LINE.index("seq=") + 5


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("", 1, 1, "empty lock file"),
        ("hello\n", 1, 1, "not a chancal lock file"),
        ("chancal-lock 2\n", 1, 1, "unsupported lock format"),
        (f"chancal-lock 1\n{GOOD_LINE}\n{GOOD_LINE}\n", 3, 1, "already locked on line 2"),
        ("chancal-lock 1\n\n<<<<<<< HEAD\n", 3, 1, "merge conflict"),
        ("chancal-lock 1\n@partner acme\n", 2, 1, "malformed feed line"),
        ('chancal-lock 1\n@partner acme tz=Nowhere/X name="A"\n', 2, 18, "unknown time zone"),
        ("chancal-lock 1\n@manager ana tz=UTC name=Ana\n", 2, 26, "JSON string"),
        ("chancal-lock 1\nacme/x 2027-01-01\n", 2, 1, "malformed lock line"),
        (
            "chancal-lock 1\n" + GOOD_LINE.replace("[Europe/Berlin]", "[Mars/Base]"),
            2,
            _COL_START,
            "unknown time zone 'Mars/Base'",
        ),
        (
            "chancal-lock 1\n" + GOOD_LINE.replace("[Europe/Berlin]", ""),
            2,
            _COL_START,
            "must end with its time zone",
        ),
        (
            "chancal-lock 1\n" + GOOD_LINE.replace("2027-04-14T10", "2027-14-14T10"),
            2,
            _COL_START,
            "not an ISO date",
        ),
        ("chancal-lock 1\n" + GOOD_LINE.replace("seq=0", "seq=x"), 2, _COL_SEQ, "whole number"),
        ("chancal-lock 1\n" + GOOD_LINE.replace("CONFIRMED", "DONE"), 2, None, "unknown status"),
        ("chancal-lock 1\n" + GOOD_LINE.replace("stamp=2027", "stamp=x"), 2, None, "stamp"),
        ("chancal-lock 1\n" + GOOD_LINE.replace('title="', "title=Re"), 2, None, "JSON string"),
        ("chancal-lock 1\n" + GOOD_LINE.replace("hash=", "hash=zz"), 2, None, "hex digits"),
    ],
)
def test_corrupt_lock_is_reported_with_its_location(
    text: str, line: int, column: int | None, words: str
) -> None:
    """A corrupt lock raises ConfigError naming file, line, column and what is wrong."""
    with pytest.raises(ConfigError) as info:
        loads(text, "dir/chancal.lock")
    problem = info.value.problems[0]
    assert (problem.file, problem.line) == ("dir/chancal.lock", line)
    if column is not None:
        assert problem.column == column
    assert words in problem.message


def test_duplicate_uid_in_lock_is_rejected() -> None:
    """Two keys may never share a UID: a hand-edited lock doing so is refused."""
    other = GOOD_LINE.replace("acme/review/2027-q1", "acme/review/2027-q3")
    with pytest.raises(ConfigError, match="already used on line 2"):
        loads(f"chancal-lock 1\n{GOOD_LINE}\n{other}\n")


def test_lock_tolerates_crlf_and_comments() -> None:
    """A lock checked out with CRLF line endings still parses to the same entries."""
    assert loads(EXPECTED_TEXT.replace("\n", "\r\n")) == first_lock()


@pytest.mark.parametrize(
    ("text", "note"),
    [
        (EXPECTED_TEXT, "as written: the lean pass"),
        (EXPECTED_TEXT.replace("\n", "\r\n"), "CRLF: the checking pass"),
        (EXPECTED_TEXT.replace("chancal-lock 1\n", "chancal-lock 1 \n"), "header with a space"),
        (EXPECTED_TEXT.replace("\n@partner acme", "\n \t\n@partner acme"), "blank line"),
        (EXPECTED_TEXT + "# a comment at the end\n\n", "trailing comment and blank line"),
        (
            EXPECTED_TEXT.replace(GOOD_LINE, f"{GOOD_LINE}\n#{GOOD_LINE.replace('q1', 'q0')}"),
            "an event line commented out among the events",
        ),
    ],
)
def test_lean_and_checking_lock_readers_agree(text: str, note: str) -> None:
    """A lock as chancal writes it and its harmless variants read as the same entries."""
    from chancal.lock import _loads_as_written

    assert loads(text) == first_lock(), note
    lean = _loads_as_written(text)
    assert lean is None or lean == first_lock(), note


def test_lean_reader_leaves_duplicates_to_the_checking_pass() -> None:
    """A duplicated line is never read silently: the checking pass locates it."""
    from chancal.lock import _loads_as_written

    assert _loads_as_written(f"chancal-lock 1\n{GOOD_LINE}\n{GOOD_LINE}\n") is None
    owner = '@partner acme tz=Europe/Berlin name="Acme"'
    assert _loads_as_written(f"chancal-lock 1\n{owner}\n{owner}\n") is None
    with pytest.raises(ConfigError, match="listed twice"):
        loads(f"chancal-lock 1\n{owner}\n{owner}\n")


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
        (replace(Q2, end=Q2.end + timedelta(hours=1)), "changed", ("time",)),  # type: ignore[operator]
        (
            replace(Q2, start=Q2.start + timedelta(days=7), end=Q2.end + timedelta(days=7)),  # type: ignore[operator]
            "moved",
            ("time",),
        ),
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

    moved = replace(Q2, start=Q2.start + timedelta(days=7), end=Q2.end + timedelta(days=7))  # type: ignore[operator]
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


def test_past_event_that_vanished_is_retired_not_cancelled() -> None:
    """An event whose day has passed is never cancelled afterwards; it leaves the lock."""
    result = reconcile(make_plan(Q2, CONF), first_lock(), today=date(2027, 5, 1), stamp=STAMP2)
    assert [(c.kind, c.key) for c in result.changes] == [("retired", Q1.key)]
    assert all(e.status == "CONFIRMED" for e in result.plan.events)


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
    """Dropping a partner cancels its events and keeps a PartnerInfo so its feed is written."""
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
    cancelled = next(e for e in result.plan.events if e.key == other.key)
    assert (cancelled.status, cancelled.partner_ids, cancelled.title) == (
        "CANCELLED",
        ("globex",),
        other.title,
    )


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
    moved = replace(
        later,
        start=later.start + timedelta(days=1),  # type: ignore[operator]
        end=later.end + timedelta(days=1),  # type: ignore[operator]
    )
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


@pytest.mark.parametrize(
    ("title", "note"),
    [
        ("Plain review", "fast path"),
        ('Review "Q2"', "escaped quote: full parser"),
        ("Acme\\EU\nline two", "backslash and newline: full parser"),
        ("Café · Zürich", "non-ASCII, no escapes: fast path"),
    ],
)
def test_fast_and_full_line_parsers_agree(title: str, note: str) -> None:
    """Lines read by the fast path and by the checking parser give identical entries."""
    from chancal.lock import _fast_entry, _parse_line

    lock = reconcile(make_plan(replace(Q1, title=title)), EMPTY_LOCK, today=TODAY, stamp=STAMP1)
    [entry] = lock.lock.entries
    full = _parse_line(entry.line, 1, lambda *_: None)
    assert full is not None
    assert full.entry == entry
    assert full.details.title == title
    assert entry.start == full.details.start == Q1.start
    fast = _fast_entry(entry.line)
    assert fast is None or fast == entry, note
    assert pins(loads(dumps(lock.lock))) == {Q1.key: full.details.start}


def test_fast_constructors_equal_the_named_tuples() -> None:
    """The positional builders of entries and 'added' changes fill every field."""
    from chancal.lock import LockEntry, _added, _change, _new_entry, _published

    published = _published(Q1, Q1.uid, 0, STAMP1)
    assert _added(published) == _change("added", published, None)
    parts = ("k", "u", "CONFIRMED", 1, "0123456789abcdef", STAMP1, "line")
    assert _new_entry(*parts) == LockEntry(*parts)  # type: ignore[arg-type]


def test_fast_copy_equals_dataclasses_replace() -> None:
    """The fast event copy keeps every field, changing only UID, SEQUENCE and DTSTAMP."""
    from chancal.lock import _published

    full = replace(Q1, description="d", focus_area="f", location="l", direction="two_way")
    assert _published(full, "u", 3, STAMP2) == replace(full, uid="u", sequence=3, stamp=STAMP2)


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
                event = replace(
                    event,
                    start=event.start + timedelta(days=1),  # type: ignore[operator]
                    end=event.end + timedelta(days=1),  # type: ignore[operator]
                )
            events.append(event)
        stamp = STAMP1 + timedelta(days=step)
        result = reconcile(make_plan(*events), lock, today=TODAY, stamp=stamp)
        lock = loads(dumps(result.lock))
        assert lock == result.lock
        for event in result.plan.events:
            seen = content_hash(event) + event.status
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
