"""The ICS writer: byte-level rules, escaping, and the same instants in every parser."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chancal.exporters.ics import (
    FeedHeader,
    escape_text,
    fold,
    format_duration,
    normalize_text,
    param_value,
    render_feed,
)
from chancal.plan import Event, Plan, Timed
from test_ics_support import (
    STAMP,
    ZONES,
    all_day_event,
    fields_of,
    instant,
    make_plan_by_hand,
    reference_event,
    timed_event,
    vobject_read,
)

HEADER = FeedHeader("Test Program: Partner, Inc.", "All; of it\nreally", "Europe/Berlin")


def feed(plan: Plan | None = None, events: list[Event] | None = None) -> bytes:
    """Render a hand-built plan (or some events) as one feed."""
    plan = plan or make_plan_by_hand()
    chosen = plan.events if events is None else events
    return render_feed(chosen, HEADER, stamp=STAMP, years=(2022, 2023))


def by_uid(plan: Plan) -> dict[str, Event]:
    return {ev.uid: ev for ev in plan.events}


# --- value encoding -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain", "plain"),
        ("a,b", "a\\,b"),
        ("a;b", "a\\;b"),
        ("back\\slash", "back\\\\slash"),
        ("two\nlines", "two\\nlines"),
        ("crlf\r\nline", "crlf\\nline"),
        ("cr\rline", "cr\\nline"),
        ("END:VEVENT", "END:VEVENT"),  # harmless once it cannot start a line
        ("bell\x07 and nul\x00", "bell and nul"),
        ("tab\there", "tab\there"),
        ("Acme [EU]: \\n literal", "Acme [EU]: \\\\n literal"),
    ],
)
def test_escape_text(raw: str, escaped: str) -> None:
    """Escapes backslash, semicolon, comma and newlines; drops control characters but tab."""
    assert escape_text(raw) == escaped


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("Jane", "Jane"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("Jane Doe", '"Jane Doe"'),
        ("0 =", '"0 ="'),
        ("Doe, Jane", '"Doe, Jane"'),
        ("a:b", '"a:b"'),
        ("a;b", '"a;b"'),
        ('Say "hi"', "\"Say 'hi'\""),
        ("two\nlines", '"two lines"'),
        ("x^ny", "xny"),  # would read as a newline in RFC 6868 parsers only
        ("x^y", '"x^y"'),
        ("a\\, b\\c", '"a, b\\c"'),
        ("Müller", '"Müller"'),
        ("  padded\t", "padded"),
    ],
)
def test_param_value(raw: str, encoded: str) -> None:
    """Parameter values carry no DQUOTE, newline or RFC 6868 sequence; non-tokens are quoted."""
    assert param_value(raw) == encoded


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(days=1), "P1D"),
        (-timedelta(days=1), "-P1D"),
        (-timedelta(hours=1), "-PT1H"),
        (-timedelta(minutes=90), "-PT1H30M"),
        (-timedelta(weeks=2), "-P2W"),
        (-timedelta(days=1, hours=2), "-P1DT2H"),
        (timedelta(0), "PT0S"),
    ],
)
def test_format_duration(delta: timedelta, text: str) -> None:
    """Durations use RFC 5545 dur-value syntax (weeks alone, days then time)."""
    assert format_duration(delta) == text


@pytest.mark.parametrize(
    ("line", "physical"),
    [
        ("A" * 75, ["A" * 75]),
        ("A" * 76, ["A" * 75, " A"]),
        ("A" * 149, ["A" * 75, " " + "A" * 74]),
        ("A" * 150, ["A" * 75, " " + "A" * 74, " A"]),
        # a 2-octet character straddling octet 75 moves whole to the next line
        ("A" * 74 + "é" + "B", ["A" * 74, " éB"]),
        # a 4-octet character at the boundary
        ("A" * 73 + "😀" + "B", ["A" * 73, " 😀B"]),
        ("A" * 71 + "😀", ["A" * 71 + "😀"]),
    ],
)
def test_fold(line: str, physical: list[str]) -> None:
    """Folds at 75 octets, continuation lines start with a space, never inside a character."""
    assert fold(line) == "\r\n".join(physical).encode()


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from(["UID:", "SUMMARY:", "DESCRIPTION:", "LOCATION:"]),
    value=st.text(st.characters(codec="utf-8") | st.sampled_from("\r\n\\;,\x00\x7f\té😀")),
)
def test_escaped_and_folded_text_unfolds_to_one_line(prefix: str, value: str) -> None:
    """An escaped, folded TEXT line keeps the byte rules and unfolds to the escaped value."""
    line = prefix + escape_text(value)
    data = fold(line)
    check_bytes(data + b"\r\n")
    assert data.replace(b"\r\n ", b"") == line.encode()
    # A lone surrogate cannot be UTF-8: it is written as '?'.
    assert fold(line + "\ud800") == fold(line + "?")


# --- raw bytes ------------------------------------------------------------------------------


def check_bytes(data: bytes) -> None:
    """Every line ends CRLF, holds at most 75 octets and is whole UTF-8."""
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b""), "bare LF"
    assert b"\r" not in data.replace(b"\r\n", b""), "bare CR"
    for line in data.split(b"\r\n")[:-1]:
        assert len(line) <= 75, line
        line.decode("utf-8")  # a split character would not decode


def test_raw_bytes_of_a_feed() -> None:
    """A whole feed meets the byte rules, with folded long agendas and non-ASCII names."""
    long_text = "Ünïcödé agenda — " * 40 + "😀" * 30
    plan = make_plan_by_hand()
    extra = timed_event(
        "ber", datetime(2022, 12, 5, 10), 1, n=99, description=long_text, title="Ä" * 90
    )
    data = feed(events=[*plan.events, extra])
    check_bytes(data)
    assert data.startswith(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
    assert data.endswith(b"END:VCALENDAR\r\n")


def test_calendar_properties() -> None:
    """The VCALENDAR names itself (escaped) and says how often to refresh."""
    data = feed()
    lines = data.decode().split("\r\n")
    for expected in (
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "NAME:Test Program: Partner\\, Inc.",
        "X-WR-CALNAME:Test Program: Partner\\, Inc.",
        "DESCRIPTION:All\\; of it\\nreally",
        "X-WR-TIMEZONE:Europe/Berlin",
        "REFRESH-INTERVAL;VALUE=DURATION:PT12H",
        "X-PUBLISHED-TTL:PT12H",
    ):
        assert expected in lines
    cal = icalendar.Calendar.from_ical(data)
    assert calendar_text(cal, "NAME") == HEADER.name
    assert calendar_text(cal, "X-WR-CALNAME") == HEADER.name
    assert str(cal["DESCRIPTION"]) == HEADER.description
    other = vobject_read(data.decode())
    assert other.contents["x-wr-calname"][0].value == HEADER.name
    assert other.contents["name"][0].value == HEADER.name


def calendar_text(cal: icalendar.Calendar, name: str) -> str:
    """Read a calendar-level TEXT property that icalendar 7 keeps raw (NAME, X-WR-CALNAME).

    icalendar does not know RFC 7986 NAME or the X-WR names and hands back the
    escaped text; unescape it with icalendar's own TEXT decoder.
    """
    from icalendar.parser import unescape_backslash

    return str(unescape_backslash(cal[name].to_ical().decode()))


def test_one_vtimezone_per_tzid_used() -> None:
    """Each TZID used by a timed event gets exactly one VTIMEZONE, before the events."""
    data = feed().decode()
    tzids = re.findall(r"^TZID:([^\r]+)\r$", data, flags=re.M)
    assert tzids == sorted(ZONES.values())
    used = set(re.findall(r";TZID=([^:;]+):", data))
    assert used == set(tzids)
    assert data.index("BEGIN:VTIMEZONE") < data.index("BEGIN:VEVENT")
    assert data.rindex("END:VTIMEZONE") < data.index("BEGIN:VEVENT")


def test_vevent_fields() -> None:
    """A timed VEVENT carries every property the issue lists, in one stable order."""
    plan = make_plan_by_hand()
    ev = next(e for e in plan.events if e.key == "ber/review/5")
    text = feed(events=[ev]).decode()
    body = text[text.index("BEGIN:VEVENT") : text.index("END:VEVENT")]
    unfolded = body.replace("\r\n ", "")
    names = [line.split(":")[0].split(";")[0] for line in unfolded.split("\r\n") if line]
    assert names == [
        "BEGIN", "UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "DESCRIPTION", "LOCATION",
        "CATEGORIES", "ORGANIZER", "ATTENDEE", "ATTENDEE", "STATUS", "SEQUENCE", "TRANSP",
        "CLASS", "BEGIN", "ACTION", "TRIGGER", "DESCRIPTION", "END", "BEGIN", "ACTION",
        "TRIGGER", "DESCRIPTION", "END",
    ]  # fmt: skip
    assert f"UID:{ev.uid}" in unfolded
    assert "DTSTAMP:20220601T083000Z" in unfolded
    assert "DTSTART;TZID=Europe/Berlin:20220720T090000" in unfolded
    assert "DTEND;TZID=Europe/Berlin:20220720T120000" in unfolded
    assert "CATEGORIES:quarterly_business_review,accountability" in unfolded
    assert 'ORGANIZER;CN="Mia Manager":mailto:mia@vendor.example' in unfolded
    assert (
        'ATTENDEE;CN="Contact 1, BER";CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;'
        "PARTSTAT=NEEDS-ACTION;RSVP=FALSE:mailto:c1@ber.example"
    ) in unfolded
    assert "TRIGGER:-P1D" in unfolded
    assert "TRIGGER:-PT30M" in unfolded
    assert "STATUS:CONFIRMED\r\nSEQUENCE:0\r\nTRANSP:OPAQUE\r\nCLASS:PUBLIC" in unfolded


def test_all_day_uses_dates_with_exclusive_end() -> None:
    """All-day and multi-day events are VALUE=DATE with the day after the last as DTEND."""
    ev = all_day_event("syd", date(2023, 2, 20), 2)
    text = feed(events=[ev]).decode()
    assert "DTSTART;VALUE=DATE:20230220\r\nDTEND;VALUE=DATE:20230222\r\n" in text
    assert "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin" in text  # the feed's own zone, so not empty


def test_cancelled_event_with_sequence_and_own_stamp() -> None:
    """A cancelled event keeps its UID and says STATUS:CANCELLED, SEQUENCE:n, its own DTSTAMP."""
    ev = timed_event(
        "nyc",
        datetime(2022, 7, 12, 10),
        1,
        status="CANCELLED",
        sequence=3,
        stamp=datetime(2022, 5, 2, 12, tzinfo=ZoneInfo("Europe/Berlin")),
    )
    cal = icalendar.Calendar.from_ical(feed(events=[ev]))
    (vevent,) = cal.walk("VEVENT")
    assert vevent["STATUS"] == "CANCELLED"
    assert vevent.decoded("SEQUENCE") == 3
    assert vevent.decoded("DTSTAMP") == datetime(2022, 5, 2, 10, tzinfo=UTC)
    assert str(vevent["UID"]) == ev.uid


def test_second_pass_of_repeated_hour_is_written_in_utc() -> None:
    """01:30 on the fall-back night, second time round, is named as a UTC instant."""
    first = timed_event("nyc", datetime(2022, 11, 6, 1, 30), 1, n=1)
    second = timed_event("nyc", datetime(2022, 11, 6, 1, 30), 1, n=2, fold=1)
    data = feed(events=[first, second])
    text = data.decode()
    assert "DTSTART;TZID=America/New_York:20221106T013000" in text
    assert "DTSTART:20221106T063000Z" in text
    starts = {
        str(v["UID"]): v.decoded("DTSTART")
        for v in icalendar.Calendar.from_ical(data).walk("VEVENT")
    }
    assert starts[first.uid] == first.start
    assert starts[second.uid].astimezone(UTC) == second.start.astimezone(UTC)


# --- injection ------------------------------------------------------------------------------


def test_nothing_breaks_out_of_its_property() -> None:
    """Newlines and END:VEVENT in a name, agenda or location stay inside their property."""
    nasty = "Evil\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:forged\nSUMMARY:x\rEND:VCALENDAR"
    ev = timed_event(
        "ber", datetime(2022, 7, 20, 9), 1, title=nasty, description=nasty, location=nasty
    )
    ev = replace(ev, attendees=(replace(ev.attendees[0], name=nasty, email="a@b.example\r\nX:y"),))
    data = feed(events=[ev])
    check_bytes(data)
    for line in data.split(b"\r\n"):
        assert line not in (b"END:VEVENT\x00", b"UID:forged", b"END:VCALENDAR\x00")
    assert data.count(b"\r\nBEGIN:VEVENT\r\n") == 1
    assert data.count(b"\r\nEND:VCALENDAR\r\n") == 1
    (vevent,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert str(vevent["SUMMARY"]) == normalize_text(nasty)
    assert str(vevent["LOCATION"]) == normalize_text(nasty)
    (parsed,) = vobject_read(data.decode()).vevent_list
    assert parsed.summary.value == normalize_text(nasty)
    assert parsed.uid.value == ev.uid


# --- instants in every parser ---------------------------------------------------------------


def test_icalendar_reads_every_instant() -> None:
    """icalendar (tz database by TZID) reads each start and end as the plan's instant."""
    plan = make_plan_by_hand()
    events = by_uid(plan)
    seen = 0
    for vevent in icalendar.Calendar.from_ical(feed(plan)).walk("VEVENT"):
        ev = events[str(vevent["UID"])]
        assert instant(vevent.decoded("DTSTART")) == instant(ev.start), ev.key
        assert instant(vevent.decoded("DTEND")) == instant(ev.end), ev.key
        seen += 1
    assert seen == len(plan.events)


def _non_iana(data: bytes) -> str:
    text = data.decode()
    for name in ZONES.values():
        alias = "Chancal Test " + name.replace("/", " ")
        text = text.replace(f"TZID:{name}\r\n", f"TZID:{alias}\r\n")
        text = text.replace(f";TZID={name}:", f';TZID="{alias}":')
    return text


@pytest.mark.parametrize("rename", [False, True], ids=["iana-tzid", "non-iana-tzid"])
def test_vobject_reads_every_instant_from_the_vtimezone(rename: bool) -> None:
    """vobject (dateutil's tzical over the file's own VTIMEZONE) agrees on every instant.

    With TZIDs renamed to names no tz database knows, the offsets can only come
    from the VTIMEZONE blocks, so this checks their content for winter and
    summer time, southern hemisphere, no DST, and zones whose rules changed.
    """
    plan = make_plan_by_hand()
    events = by_uid(plan)
    data = feed(plan)
    text = _non_iana(data) if rename else data.decode()
    cal = vobject_read(text)
    assert len(cal.vevent_list) == len(plan.events)
    for vevent in cal.vevent_list:
        ev = events[vevent.uid.value]
        start, end = vevent.dtstart.value, vevent.dtend.value
        if not ev.all_day:
            # proof that the offset came from the file, not from zoneinfo
            assert type(start.tzinfo).__module__.startswith("dateutil")
            assert not isinstance(start.tzinfo, ZoneInfo)
        assert instant(start) == instant(ev.start), ev.key
        assert instant(end) == instant(ev.end), ev.key
        if not ev.all_day:
            assert start.utcoffset() == ev.start.utcoffset(), ev.key


@pytest.mark.parametrize("tzid", ["Europe/London", "Europe/Dublin", "Europe/Lisbon"])
def test_zones_at_utc_in_winter(tzid: str) -> None:
    """Zones at offset 0 in January read right from the file's VTIMEZONE, winter and summer.

    vobject itself resolves these by TZID through pytz: it compares each
    VTIMEZONE with UTC over 2000-2020 and, finding no transition there (the
    block covers the plan's years only), takes the zone for UTC and looks the
    TZID up instead. So the block is read here with dateutil's tzical, the
    reader vobject uses for every other zone.
    """
    import io

    from dateutil import tz as dateutil_tz

    zone = ZoneInfo(tzid)
    events = [
        replace(
            timed_event("ber", datetime(2022, month, 12, 10), 1, n=month),
            timezone=tzid,
            span=Timed(
                datetime(2022, month, 12, 10, tzinfo=zone),
                datetime(2022, month, 12, 11, tzinfo=zone),
            ),
        )
        for month in (1, 7, 10, 11)
    ]
    data = feed(events=events).decode()
    block = data[data.index("BEGIN:VTIMEZONE") : data.index("END:VTIMEZONE") + 15]
    read = dateutil_tz.tzical(io.StringIO(block)).get(tzid)
    parsed = {str(v["UID"]): v for v in icalendar.Calendar.from_ical(data).walk("VEVENT")}
    for ev in events:
        local = parsed[ev.uid].decoded("DTSTART").replace(tzinfo=None)
        assert instant(local.replace(tzinfo=read)) == instant(ev.start), ev.start
    (other,) = [v for v in vobject_read(data).vevent_list if v.uid.value == events[1].uid]
    assert instant(other.dtstart.value) == instant(events[1].start)  # by TZID, but right


def test_events_cover_both_seasons_in_every_zone() -> None:
    """The fixture really has winter and summer time in each DST zone (guards the tests above)."""
    plan = make_plan_by_hand()
    for pid, tzid in ZONES.items():
        offsets = {
            e.start.utcoffset() for e in plan.events if e.partner_id == pid and not e.all_day
        }
        dst_zone = tzid not in ("Asia/Kolkata",)
        assert (len(offsets) >= 2) == dst_zone, (tzid, offsets)


# --- against the icalendar object model -----------------------------------------------------


def test_fast_writer_matches_the_icalendar_object_model() -> None:
    """Field by field, every event reads back the same as icalendar's own serialisation."""
    plan = make_plan_by_hand()
    events = by_uid(plan)
    ours = icalendar.Calendar.from_ical(feed(plan)).walk("VEVENT")
    assert len(ours) == len(plan.events)
    for vevent in ours:
        ev = events[str(vevent["UID"])]
        reference = icalendar.Event.from_ical(reference_event(ev, STAMP).to_ical())
        assert fields_of(vevent) == fields_of(reference), ev.key


# --- arbitrary text round-trips -------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8"), max_size=200)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=TEXT, description=TEXT, location=TEXT, calname=TEXT)
def test_arbitrary_text_round_trips(
    title: str, description: str, location: str, calname: str
) -> None:
    """Any text in names, agendas and locations reads back exactly (after CR/CTL normalisation)."""
    ev = timed_event(
        "ber",
        datetime(2022, 7, 20, 9),
        1,
        title=title,
        description=description or "x",
        location=location or "x",
    )
    data = render_feed(
        [ev], FeedHeader(calname, "d", "Europe/Berlin"), stamp=STAMP, years=(2022, 2022)
    )
    check_bytes(data)
    cal = icalendar.Calendar.from_ical(data)
    (vevent,) = cal.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == normalize_text(title)
    assert str(vevent["DESCRIPTION"]) == normalize_text(description or "x")
    assert str(vevent["LOCATION"]) == normalize_text(location or "x")
    assert calendar_text(cal, "X-WR-CALNAME") == normalize_text(calname)
    parsed = vobject_read(data.decode())
    assert parsed.contents["x-wr-calname"][0].value == normalize_text(calname)
    (other,) = parsed.vevent_list
    assert other.summary.value == normalize_text(title)
    assert other.description.value == normalize_text(description or "x")
    assert other.location.value == normalize_text(location or "x")


@settings(max_examples=60, deadline=None)
@given(name=TEXT)
def test_arbitrary_names_read_the_same_in_both_parsers(name: str) -> None:
    """An attendee's CN reads identically in icalendar (RFC 6868-aware) and vobject."""
    ev = timed_event("ber", datetime(2022, 7, 20, 9), 1)
    ev = replace(ev, attendees=(replace(ev.attendees[0], name=name),))
    data = feed(events=[ev])
    check_bytes(data)
    (vevent,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    (other,) = vobject_read(data.decode()).vevent_list
    ours = vevent["ATTENDEE"].params.get("CN", "")
    theirs = other.attendee.params.get("CN", [""])[0]
    assert ours == theirs


@pytest.mark.parametrize("order", ["as-planned", "reversed", "shuffled", "by-uid"])
def test_feed_order_is_instant_then_uid_whatever_the_input_order(order: str) -> None:
    """Feeds list events by start instant, then UID, from the planner's order or any other."""
    import random

    from chancal.exporters.ics import feed_order, sort_instant

    events = list(make_plan_by_hand().events)
    # Two events at the same instant, so the UID tie-break is exercised.
    twin = replace(events[0], uid="0-first-by-uid@test", key=events[0].key + "-twin")
    events.insert(1, twin)
    expected = sorted(events, key=lambda e: (sort_instant(e), e.uid))
    if order == "reversed":
        events.reverse()
    elif order == "shuffled":
        random.Random(7).shuffle(events)
    elif order == "by-uid":
        events.sort(key=lambda e: e.uid)
    assert feed_order(events) == expected
    tied = [e.uid for e in expected if sort_instant(e) == sort_instant(twin)]
    assert tied == sorted(tied) and len(tied) >= 2
