"""RFC 5545 feeds from a Plan, rendered purely: events and a header in, bytes out.

The `icalendar` object model costs about half a millisecond and 10 KB per
event, far too much for a 350,000-event program, so events are written here
as text directly; `icalendar` remains the source of the VTIMEZONE blocks and
the reference the tests compare this writer against, field by field.

Nothing here touches a file: `EventWriter.event` renders one VEVENT,
`feed_head` a calendar's head with its VTIMEZONEs, `render_feed` a whole
feed. Writing every event once into a spool and assembling each feed from
it is `chancal.publish.spool`'s job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from operator import attrgetter
from zoneinfo import ZoneInfo

from chancal.exporters.vtimezone import vtimezone_block
from chancal.plan import AllDay, Event, Person, Timed

PRODID = "-//chancal//chancal channel calendar//EN"
REFRESH = "PT12H"  # how often subscribers should re-fetch: twice a day is plenty for a year plan

CRLF = b"\r\n"
CALENDAR_END = b"END:VCALENDAR\r\n"
_MAX_LINE = 75  # octets, excluding CRLF (RFC 5545 3.1)

# Control characters cannot appear in an iCalendar TEXT value (RFC 5545 3.3.11
# allows none but HTAB); a line break becomes an escaped newline, the rest are dropped.
_CTL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CTL_OR_TAB = re.compile(r"[\x00-\x1f\x7f]+")
# RFC 6868 caret sequences that a 6868-aware parser (icalendar) would decode and others
# (vobject, Outlook) would show verbatim; dropping the caret makes every parser agree.
_CARET = re.compile(r"\^(?=[n'^])")
# icalendar also reads a backslash before , ; : or \ in a parameter value as an
# escape (RFC 5545 has none there) while vobject keeps it; drop such backslashes.
_BACKSLASH = re.compile(r"\\(?=[,;:\\])")
_PARAM_PLAIN = re.compile(r"[A-Za-z0-9/_+.-]*")
_SPECIAL = re.compile(r"[\\;,\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class FeedHeader:
    """What a VCALENDAR says about itself (everything but its components)."""

    name: str
    description: str
    timezone: str  # X-WR-TIMEZONE: the subscriber calendar's default zone
    # RFC 7986, only with --base-url: SOURCE is the feed's own address, URL its page's.
    source: str = ""
    url: str = ""


def normalize_text(value: str) -> str:
    """Return `value` as it will read back from a TEXT property: CR/CRLF become LF, CTLs vanish."""
    return _CTL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def escape_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 3.3.11) so nothing in it can end its property."""
    if not _SPECIAL.search(value):  # most names and ids: nothing to do
        return value
    value = normalize_text(value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def param_value(value: str) -> str:
    """Return a parameter value (such as CN) that every parser reads the same way.

    Parameter values cannot contain DQUOTE or line breaks at all. RFC 6868 caret
    encoding could carry them, but only some parsers decode it, so the same
    name would read differently across apps; instead DQUOTE becomes an
    apostrophe, control characters a space, and a caret or backslash that
    some parser would read as an escape is dropped, as are blanks at either end. Anything but a
    plain token (letters, digits, `/_+.-`) is quoted: RFC 5545 needs quotes
    only around `:`, `;` and `,`, but icalendar reads an unquoted `a =` as
    `a=`, while quoted values read the same everywhere.
    """
    value = _CTL_OR_TAB.sub(" ", value.replace('"', "'"))
    # Parsers disagree on blanks at either end of a parameter value; keep none.
    value = _BACKSLASH.sub("", _CARET.sub("", value)).strip()
    return value if _PARAM_PLAIN.fullmatch(value) else f'"{value}"'


def fold(line: str) -> bytes:
    """Encode one content line as UTF-8 and fold it at 75 octets, never inside a character.

    A character UTF-8 cannot encode (a lone surrogate) is written as `?`.
    """
    data = line.encode("utf-8", "replace")
    if len(data) <= _MAX_LINE:
        return data
    parts = []
    start = 0
    limit = _MAX_LINE
    while len(data) - start > limit:
        cut = start + limit
        while data[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte: step back to the lead byte
            cut -= 1
        parts.append(data[start:cut])
        start = cut
        limit = _MAX_LINE - 1  # continuation lines start with a space, which counts
    parts.append(data[start:])
    return b"\r\n ".join(parts)


def format_duration(value: timedelta) -> str:
    """Format a timedelta as an RFC 5545 dur-value such as -P1D, PT1H30M or P2W."""
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds == 0:
        return "PT0S"
    days, rest = divmod(seconds, 86400)
    if rest == 0 and days % 7 == 0:
        return f"{sign}P{days // 7}W"
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}P{days}D" if days else f"{sign}P"
    if hours or minutes or secs:
        text += "T"
        text += f"{hours}H" if hours else ""
        text += f"{minutes}M" if minutes else ""
        text += f"{secs}S" if secs else ""
    return text


def _date_text(v: date) -> str:
    return f"{v.year:04d}{v.month:02d}{v.day:02d}"


def _local_text(v: datetime) -> str:
    return f"{_date_text(v)}T{v.hour:02d}{v.minute:02d}{v.second:02d}"


def _utc_text(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("a DTSTAMP must be timezone-aware")
    return _local_text(value.astimezone(UTC)) + "Z"


def sort_instant(event: Event) -> float:
    """Return the POSIX time an event starts (an all-day event: midnight in its own zone)."""
    span = event.span
    if isinstance(span, Timed):
        return span.start.timestamp()
    return datetime.combine(span.start, time(), ZoneInfo(event.timezone)).timestamp()


def feed_key(event: Event) -> tuple[float, str, tuple[str, ...]]:
    """Where an event goes in every feed: by start instant, then UID.

    One UID has two events only when a copy is withdrawn from some feeds (its
    partner moved to another manager): those two are ordered by their feeds.
    """
    return sort_instant(event), event.uid, event.feeds or ()


def feed_order(events: Iterable[Event]) -> list[Event]:
    """Sort events the way every feed lists them (`feed_key`).

    The planner already lists events by start instant, so one pass checks
    that and orders only each run of equal instants: a full sort would hold a
    key per event at once (14 MB at 177,000 events), the largest thing the
    exporter allocates. Input in any other order gets the full sort.
    """
    ordered = list(events)
    previous = float("-inf")
    run_start = 0
    for index, ev in enumerate(ordered):
        instant = sort_instant(ev)
        if instant < previous:
            return sorted(ordered, key=feed_key)
        if instant != previous:
            _order_run(ordered, run_start, index)
            run_start = index
            previous = instant
    _order_run(ordered, run_start, len(ordered))
    return ordered


def _order_run(ordered: list[Event], start: int, end: int) -> None:
    if end - start > 1:
        ordered[start:end] = sorted(ordered[start:end], key=feed_key)


class EventWriter:
    """Render events as VEVENT bytes; caches the lines that repeat across events.

    Every cache is keyed by something that repeats across events (a stamp, a
    place and kind, a partner's contact list with its organizer, reminders)
    and bounded, so memory does not grow with the number of events.
    """

    def __init__(self, stamp: datetime) -> None:
        self.stamp = stamp
        self._places: dict[tuple[str, str, str], bytes] = {}
        self._people: dict[_PeopleKey, tuple[tuple[Person, ...], bytes]] = {}
        self._alarms: dict[tuple[timedelta, ...], tuple[bytes, ...]] = {}
        self._stamps: dict[datetime, bytes] = {}

    def event(self, ev: Event) -> bytes:
        """Return one VEVENT, folded, CRLF-terminated."""
        span = ev.span
        if isinstance(span, AllDay):
            when = (
                f"DTSTART;VALUE=DATE:{_date_text(span.start)}\r\n"
                f"DTEND;VALUE=DATE:{_date_text(span.end)}"
            )
        else:
            zone = ZoneInfo(ev.timezone)
            when = (
                _timed_text("DTSTART", span.start, ev.timezone, zone)
                + "\r\n"
                + _timed_text("DTEND", span.end, ev.timezone, zone)
            )
        summary = escape_text(ev.title)
        place = self._places.get((ev.location, ev.kind, ev.purpose))
        if place is None:
            place = self._place(ev)
        attendees = ev.attendees
        org = ev.organizer
        key = (
            id(attendees),
            None if org is None else org.name,
            None if org is None else org.email,
            ev.status,
            ev.sequence,
        )
        people = self._people.get(key)
        if people is None or people[0] is not attendees:
            people = self._people_lines(key, ev)
        parts = [
            b"BEGIN:VEVENT\r\n" + fold("UID:" + escape_text(ev.uid)),
            self._stamp(self.stamp if ev.stamp is None else ev.stamp),
            when.encode("utf-8", "replace"),
            fold("SUMMARY:" + summary),
        ]
        if ev.description:
            parts.append(fold("DESCRIPTION:" + escape_text(ev.description)))
        parts.append(place)
        if ev.conference:  # RFC 7986's link to join, and URL for clients that know only 5545
            link = _CTL_OR_TAB.sub("", ev.conference)  # validated already: never break a line
            parts.append(fold("CONFERENCE;VALUE=URI:" + link) + CRLF + fold("URL:" + link))
        parts.append(people[1])
        if ev.reminders:
            parts.append(fold("DESCRIPTION:" + summary).join(self._alarm_pieces(ev.reminders)))
        else:
            parts.append(b"END:VEVENT\r\n")
        return b"\r\n".join(parts)

    def _place(self, ev: Event) -> bytes:
        # A partner's address (or "Video call") and the kind of meeting.
        if len(self._places) >= 1 << 16:
            self._places.clear()
        place = fold(f"CATEGORIES:{escape_text(ev.kind)},{escape_text(ev.purpose)}")
        if ev.location:
            place = fold("LOCATION:" + escape_text(ev.location)) + CRLF + place
        self._places[(ev.location, ev.kind, ev.purpose)] = place
        return place

    def _people_lines(self, key: _PeopleKey, ev: Event) -> tuple[tuple[Person, ...], bytes]:
        # One entry per contact list (with its organizer and the event's
        # status): the planner shares one attendee tuple per partner, so its
        # identity is a cheap key; the entry holds the tuple itself, so the
        # id cannot be reused by another list while the entry lives.
        if len(self._people) >= 1 << 16:
            self._people.clear()
        lines = []
        org = ev.organizer
        if org is not None and org.email:
            lines.append(_person_line("ORGANIZER", org))
        lines.extend(_person_line("ATTENDEE", p) for p in ev.attendees if p.email)
        lines.append(
            f"STATUS:{ev.status}\r\nSEQUENCE:{ev.sequence}\r\n"
            # Every chancal event, timed or all-day (a conference, a visit),
            # is one that people attend, so it blocks their time.
            "TRANSP:OPAQUE\r\nCLASS:PUBLIC".encode("utf-8", "replace")
        )
        entry = self._people[key] = (ev.attendees, b"\r\n".join(lines))
        return entry

    def _stamp(self, stamp: datetime) -> bytes:
        # The run's stamp, or the DTSTAMP of the run that last changed a locked
        # event: a handful of distinct values shared by thousands of events.
        line = self._stamps.get(stamp)
        if line is None:
            if len(self._stamps) >= 4096:
                self._stamps.clear()
            line = self._stamps[stamp] = ("DTSTAMP:" + _utc_text(stamp)).encode()
        return line

    def _alarm_pieces(self, reminders: tuple[timedelta, ...]) -> tuple[bytes, ...]:
        # The VALARMs and the event's end around their DESCRIPTION lines, so
        # that one join with the event's own line writes them all.
        pieces = self._alarms.get(reminders)
        if pieces is None:
            heads = [
                f"BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:{format_duration(-r)}\r\n".encode()
                for r in sorted(set(reminders), reverse=True)
            ]
            close = b"\r\nEND:VALARM\r\n"
            pieces = self._alarms[reminders] = (
                heads[0],
                *(close + head for head in heads[1:]),
                close + b"END:VEVENT\r\n",
            )
        return pieces


_PeopleKey = tuple[int, str | None, str | None, str, int]


@cache
def _tzid_param(tzid: str) -> str:
    return ";TZID=" + param_value(tzid) + ":"


def _timed_text(prop: str, value: datetime, tzid: str, zone: ZoneInfo) -> str:
    if value.tzinfo is not zone:
        value = value.astimezone(zone)
    if value.fold and value.replace(fold=0).utcoffset() != value.utcoffset():
        # The second pass through a repeated hour (autumn fall-back): a TZID
        # time means the first pass (RFC 5545 3.3.5), so name the instant in UTC.
        return prop + ":" + _utc_text(value)
    return prop + _tzid_param(tzid) + _local_text(value)


def _person_line(prop: str, person: Person) -> bytes:
    name = param_value(person.name)
    params = f";CN={name}" if name else ""
    if prop == "ATTENDEE":
        # A published feed asks for no reply: RSVP=FALSE keeps apps from offering one.
        params += ";CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE"
    address = _CTL_OR_TAB.sub("", person.email)
    return fold(f"{prop}{params}:mailto:{address}")


def used_tzids(events: Iterable[Event]) -> set[str]:
    """Return the TZIDs that the timed events among `events` need a VTIMEZONE for."""
    return {ev.timezone for ev in events if not ev.all_day}


def feed_head(header: FeedHeader, tzids: Iterable[str], years: tuple[int, int]) -> bytes:
    """Return a VCALENDAR's opening lines and one VTIMEZONE per TZID, sorted.

    A feed without timed events still gets its default zone's VTIMEZONE:
    RFC 5545 wants at least one component in a VCALENDAR.
    """
    name = escape_text(header.name)
    description = escape_text(header.description)
    lines: tuple[str, ...] = (
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:" + PRODID,
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "NAME:" + name,  # RFC 7986
        "X-WR-CALNAME:" + name,  # what Apple, Google and Outlook read
        "DESCRIPTION:" + description,
        "X-WR-CALDESC:" + description,
        "X-WR-TIMEZONE:" + escape_text(header.timezone),
        "REFRESH-INTERVAL;VALUE=DURATION:" + REFRESH,
        "X-PUBLISHED-TTL:" + REFRESH,
    )
    if header.source:
        lines += ("SOURCE;VALUE=URI:" + _uri(header.source),)
    if header.url:
        lines += ("URL:" + _uri(header.url),)
    zones = sorted(tzids) or [header.timezone]
    return b"".join(
        [*(fold(line) + CRLF for line in lines), *(vtimezone_block(z, *years) for z in zones)]
    )


def _uri(value: str) -> str:
    # Validated already (`--base-url`); a URI value is never escaped, so no break may pass.
    return _CTL_OR_TAB.sub("", value)


def year_range(events: Iterable[Event], first: date, last: date) -> tuple[int, int]:
    """Return the calendar years the VTIMEZONEs must cover: the plan's and every event's."""
    if not isinstance(events, Sequence):
        events = list(events)
    return year_span(event_years(events), first, last)


def event_years(events: Sequence[Event]) -> tuple[int, int] | None:
    """The first and last calendar year any of the events touches (None: no events)."""
    if not events:
        return None
    # Two passes in C (attrgetter) beat one Python loop over every event.
    return min(map(attrgetter("start.year"), events)), max(map(attrgetter("end.year"), events))


def year_span(years: tuple[int, int] | None, first: date, last: date) -> tuple[int, int]:
    """The years from `first` to `last`, widened to the events' (`event_years`)."""
    if years is None:
        return first.year, last.year
    return min(years[0], first.year), max(years[1], last.year)


def render_feed(
    events: Iterable[Event],
    header: FeedHeader,
    *,
    stamp: datetime,
    years: tuple[int, int] | None = None,
) -> bytes:
    """Return one whole feed: head, VTIMEZONEs, every event in feed order, end.

    `years` is the span the VTIMEZONEs cover; by default the events' own.
    Publishing many feeds at once goes through `chancal.publish.spool`, which
    renders each event only once for all the feeds it belongs to.
    """
    ordered = feed_order(events)
    if years is None:
        first = ordered[0].day if ordered else stamp.date()
        years = year_range(ordered, first, first)
    render = EventWriter(stamp).event
    head = feed_head(header, used_tzids(ordered), years)
    return b"".join([head, *map(render, ordered), CALENDAR_END])
