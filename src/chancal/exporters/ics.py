"""RFC 5545 feeds from a Plan: a streaming writer that serialises each VEVENT once.

The `icalendar` object model costs about half a millisecond and 10 KB per
event, far too much for a 350,000-event program, so events are written here
as text directly; `icalendar` remains the source of the VTIMEZONE blocks and
the reference the tests compare this writer against, field by field.

Streaming: events are serialised once each, in feed order, straight into
all.ics (or a scratch spool when all.ics is not asked for), while each feed
notes the byte ranges of the spool its events take: integers only. Once the
spool is complete, every partner and manager feed is assembled from those
ranges (read back with `os.pread`, from the page cache) and written in one
go, so no more than two files are ever open and memory holds offsets, never
the serialised events: it does not grow with their number.
"""

from __future__ import annotations

import gc
import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from chancal.exporters.vtimezone import vtimezone_block
from chancal.plan import Event, Person, Plan

PRODID = "-//chancal//chancal channel calendar//EN"
REFRESH = "PT12H"  # how often subscribers should re-fetch: twice a day is plenty for a year plan

CRLF = b"\r\n"
CALENDAR_END = b"END:VCALENDAR\r\n"
_MAX_LINE = 75  # octets, excluding CRLF (RFC 5545 3.1)
_CHUNK = 1 << 20

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


def normalize_text(value: str) -> str:
    """Return `value` as it will read back from a TEXT property: CR/CRLF become LF, CTLs vanish."""
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if _CTL.search(value):
        value = _CTL.sub("", value)
    return value


def escape_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 3.3.11) so nothing in it can end its property."""
    if not _SPECIAL.search(value):  # most names and ids: nothing to do
        return value
    # `in` is a fast scan; skipping replaces that cannot match saves copies.
    if "\r" in value or _CTL.search(value):
        value = normalize_text(value)
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if ";" in value:
        value = value.replace(";", "\\;")
    return value.replace(",", "\\,").replace("\n", "\\n")


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
    """Encode one content line as UTF-8 and fold it at 75 octets, never inside a character."""
    data = line.encode("utf-8", "replace")
    if len(data) <= _MAX_LINE:
        return data
    parts = []
    start = 0
    limit = _MAX_LINE
    size = len(data)
    while size - start > limit:
        cut = start + limit
        while data[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte: step back to the lead byte
            cut -= 1
        parts.append(data[start:cut])
        start = cut
        limit = _MAX_LINE - 1  # continuation lines start with a space, which counts
    parts.append(data[start:])
    return b"\r\n ".join(parts)


def fold_text(line: str) -> str:
    """Fold one content line like `fold`, but stay in str so an event is encoded only once."""
    if line.isascii():  # O(1) in CPython: one character is one octet
        size = len(line)
        if size <= _MAX_LINE:
            return line
        return "\r\n ".join(
            [line[:_MAX_LINE]] + [line[i : i + 74] for i in range(_MAX_LINE, size, 74)]
        )
    if len(line) * 4 <= _MAX_LINE:
        return line
    return fold(line).decode("utf-8")


def _fold_short(line: str) -> str:
    # The common case inline-cheap: most UIDs and titles need no folding.
    return line if len(line) <= _MAX_LINE and line.isascii() else fold_text(line)


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


def trigger(reminder: timedelta) -> str:
    """Return the TRIGGER value of a reminder given as time *before* the start."""
    return format_duration(-reminder)


_TWO = [f"{i:02d}" for i in range(100)]


def _year(y: int) -> str:
    return str(y) if y >= 1000 else f"{y:04d}"


def _utc_text(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("a DTSTAMP must be timezone-aware")
    return _local_text(value.astimezone(UTC)) + "Z"


def _local_text(v: datetime) -> str:
    # Table lookups: about 5x faster than a format string on the hot path.
    t = _TWO
    return _year(v.year) + t[v.month] + t[v.day] + "T" + t[v.hour] + t[v.minute] + t[v.second]


def _date_text(v: date) -> str:
    return _year(v.year) + _TWO[v.month] + _TWO[v.day]


_ZONES: dict[str, ZoneInfo] = {}


def _zone(name: str) -> ZoneInfo:
    zone = _ZONES.get(name)
    if zone is None:
        zone = _ZONES[name] = ZoneInfo(name)
    return zone


def sort_instant(event: Event) -> float:
    """Return the POSIX time an event starts (an all-day event: midnight in its own zone)."""
    start = event.start
    if isinstance(start, datetime):
        return start.timestamp()
    return datetime.combine(start, time(), _zone(event.timezone)).timestamp()


def feed_order(events: Iterable[Event]) -> list[Event]:
    """Sort events the way every feed lists them: by start instant, then UID.

    The planner already lists events by start instant, so one pass checks
    that and orders only each run of equal instants by UID: a full sort
    would hold a (instant, uid) key per event at once (14 MB at 177,000
    events), the largest thing the exporter allocates. Input in any other
    order gets the full sort.
    """
    ordered = list(events)
    previous = float("-inf")
    run_start = 0
    for index, ev in enumerate(ordered):
        instant = sort_instant(ev)
        if instant < previous:
            return sorted(ordered, key=lambda e: (sort_instant(e), e.uid))
        if instant != previous:
            _order_run_by_uid(ordered, run_start, index)
            run_start = index
            previous = instant
    _order_run_by_uid(ordered, run_start, len(ordered))
    return ordered


def _order_run_by_uid(ordered: list[Event], start: int, end: int) -> None:
    if end - start > 1:
        ordered[start:end] = sorted(ordered[start:end], key=lambda e: e.uid)


class EventWriter:
    """Serialise events to VEVENT bytes; caches the lines that repeat across events.

    Every cache is keyed by something that repeats across events (a person,
    a kind, a zone, a partner's contact list) and bounded, so memory does not
    grow with the number of events.
    """

    def __init__(self, stamp: datetime) -> None:
        self.stamp = "DTSTAMP:" + _utc_text(stamp)
        self._people: dict[tuple[str, str, str], str] = {}
        self._attendees: dict[int, tuple[tuple[Person, ...], str]] = {}
        self._alarms: dict[tuple[timedelta, ...], tuple[str, ...]] = {}
        self._categories: dict[tuple[str, str], str] = {}
        self._tails: dict[tuple[str, int], str] = {}
        self._locations: dict[str, str] = {}
        self._zones: dict[str, tuple[str, ZoneInfo]] = {}
        self._stamps: dict[datetime, str] = {}

    def event(self, ev: Event) -> bytes:
        """Return one VEVENT, folded, CRLF-terminated."""
        start = ev.start
        end = ev.end
        if ev.all_day:
            when = (
                "DTSTART;VALUE=DATE:"
                + _date_text(start)
                + "\r\nDTEND;VALUE=DATE:"
                + _date_text(end)
            )
        else:
            zoned = self._zones.get(ev.timezone)
            if zoned is None:
                zoned = self._zones[ev.timezone] = (
                    ";TZID=" + param_value(ev.timezone) + ":",
                    _zone(ev.timezone),
                )
            param, zone = zoned
            # The planner hands out datetimes already in the event's zone and
            # outside a repeated hour: that common case skips `_timed`.
            if start.tzinfo is zone and not start.fold:  # type: ignore[union-attr]
                first = "DTSTART" + param + _local_text(start)  # type: ignore[arg-type]
            else:
                first = _timed("DTSTART", start, param, zone)  # type: ignore[arg-type]
            if end.tzinfo is zone and not end.fold:  # type: ignore[union-attr]
                when = first + "\r\nDTEND" + param + _local_text(end)  # type: ignore[arg-type]
            else:
                when = first + "\r\n" + _timed("DTEND", end, param, zone)  # type: ignore[arg-type]
        summary = escape_text(ev.title)
        uid = "UID:" + escape_text(ev.uid)
        title = "SUMMARY:" + summary
        parts = [
            "BEGIN:VEVENT",
            uid if len(uid) <= _MAX_LINE and uid.isascii() else fold_text(uid),
            self.stamp if ev.stamp is None else self._stamp(ev.stamp),
            when,
            title if len(title) <= _MAX_LINE and title.isascii() else fold_text(title),
        ]
        if ev.description:
            parts.append(fold_text("DESCRIPTION:" + escape_text(ev.description)))
        if ev.location:
            location = self._locations.get(ev.location)
            if location is None:
                location = fold_text("LOCATION:" + escape_text(ev.location))
                if len(self._locations) < 65536:  # locations repeat; bound it anyway
                    self._locations[ev.location] = location
            parts.append(location)
        category = self._categories.get((ev.kind, ev.purpose))
        parts.append(category if category is not None else self._category(ev.kind, ev.purpose))
        org = ev.organizer
        if org is not None and org.email:
            parts.append(self._person("ORGANIZER", org))
        if ev.attendees:
            cached = self._attendees.get(id(ev.attendees))
            if cached is None or cached[0] is not ev.attendees:
                cached = self._attendee_lines(ev.attendees)
            if cached[1]:
                parts.append(cached[1])
        tail = self._tails.get((ev.status, ev.sequence))
        if tail is None:
            tail = self._tails[(ev.status, ev.sequence)] = (
                f"STATUS:{ev.status}\r\nSEQUENCE:{ev.sequence}\r\n"
                # Every chancal event, timed or all-day (a conference, a visit),
                # is one that people attend, so it blocks their time.
                "TRANSP:OPAQUE\r\nCLASS:PUBLIC"
            )
        parts.append(tail)
        if ev.reminders:
            alarm = "DESCRIPTION:" + summary
            if len(alarm) > _MAX_LINE or not alarm.isascii():
                alarm = fold_text(alarm)
            alarm_end = "\r\n" + alarm + "\r\nEND:VALARM"
            for head in self._alarm_heads(ev.reminders):
                parts.append(head + alarm_end)
        parts.append("END:VEVENT\r\n")
        return "\r\n".join(parts).encode("utf-8", "replace")

    def _stamp(self, stamp: datetime) -> str:
        # Locked events carry the DTSTAMP of the run that last changed them:
        # a handful of distinct values shared by thousands of events.
        line = self._stamps.get(stamp)
        if line is None:
            if len(self._stamps) >= 4096:
                self._stamps.clear()
            line = self._stamps[stamp] = "DTSTAMP:" + _utc_text(stamp)
        return line

    def _attendee_lines(self, attendees: tuple[Person, ...]) -> tuple[tuple[Person, ...], str]:
        # One entry per contact list: the planner shares one tuple per partner,
        # so its identity is a cheap key; the entry holds the tuple itself, so
        # the id cannot be reused by another list while the entry lives.
        if len(self._attendees) >= 1 << 16:
            self._attendees.clear()
        lines = "\r\n".join(_person_line("ATTENDEE", p) for p in attendees if p.email)
        entry = self._attendees[id(attendees)] = (attendees, lines)
        return entry

    def _category(self, kind: str, purpose: str) -> str:
        line = self._categories.get((kind, purpose))
        if line is None:
            line = self._categories[(kind, purpose)] = fold_text(
                "CATEGORIES:" + escape_text(kind) + "," + escape_text(purpose)
            )
        return line

    def _person(self, prop: str, person: Person) -> str:
        # Organizers: few managers, each on thousands of events.
        key = (prop, person.name, person.email)
        line = self._people.get(key)
        if line is None:
            line = _person_line(prop, person)
            if len(self._people) < 1 << 12:  # bounded all the same
                self._people[key] = line
        return line

    def _alarm_heads(self, reminders: tuple[timedelta, ...]) -> tuple[str, ...]:
        heads = self._alarms.get(reminders)
        if heads is None:
            heads = self._alarms[reminders] = tuple(
                f"BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:{trigger(r)}"
                for r in sorted(set(reminders), reverse=True)
            )
        return heads


def _person_line(prop: str, person: Person) -> str:
    name = param_value(person.name)
    params = f";CN={name}" if name else ""
    if prop == "ATTENDEE":
        # A published feed asks for no reply: RSVP=FALSE keeps apps from offering one.
        params += ";CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE"
    address = _CTL_OR_TAB.sub("", person.email)
    return fold_text(f"{prop}{params}:mailto:{address}")


def _timed(prop: str, value: datetime, tzparam: str, zone: ZoneInfo) -> str:
    if value.tzinfo is not zone:
        value = value.astimezone(zone)
    if value.fold and value.replace(fold=0).utcoffset() != value.utcoffset():
        # The second pass through a repeated hour (autumn fall-back): a TZID
        # time means the first pass (RFC 5545 3.3.5), so name the instant in UTC.
        return prop + ":" + _utc_text(value)
    return prop + tzparam + _local_text(value)


def calendar_head(header: FeedHeader, vtimezones: Iterable[bytes]) -> bytes:
    """Return a VCALENDAR's opening lines and its VTIMEZONE blocks."""
    name = escape_text(header.name)
    description = escape_text(header.description)
    lines = [
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
    ]
    return b"".join(
        (line.encode() if len(line) <= _MAX_LINE and line.isascii() else fold(line)) + CRLF
        for line in lines
    ) + b"".join(vtimezones)


@dataclass(slots=True)
class FeedBody:
    """Where one feed's events lie in the spool, and what the feed needs around them."""

    runs: array[int]  # alternating start and end offsets of contiguous spool ranges
    tzids: set[str]
    events: int = 0


Progress = Callable[[int, int], None]


def used_tzids(events: Iterable[Event]) -> set[str]:
    """Return the TZIDs that the timed events among `events` need a VTIMEZONE for."""
    return {ev.timezone for ev in events if not ev.all_day}


def feed_tzids(
    events: Iterable[Event], routes: Iterable[Sequence[int]], feed_count: int
) -> list[set[str]]:
    """Return, per feed, the TZIDs its timed events use (a feed's head lists them first)."""
    found: list[set[str]] = [set() for _ in range(feed_count)]
    for ev, indexes in zip(events, routes, strict=True):
        if not ev.all_day:
            for index in indexes:
                found[index].add(ev.timezone)
    return found


def write_events(
    events: Sequence[Event],
    routes: Iterable[Sequence[int]],
    feed_count: int,
    out: BinaryIO,
    *,
    stamp: datetime,
    progress: Progress | None = None,
    progress_total: int = 0,
) -> list[FeedBody]:
    """Serialise each event once to `out`; note, per feed, which byte ranges are its events.

    `events` must already be in feed order; `routes` holds, for each event,
    the indexes of the feeds it belongs to. Offsets count from the start of
    `out`, so `out` may already hold a calendar head (then it is itself a
    feed, usually all.ics); `feed_parts` assembles the other feeds from it.
    """
    writer = EventWriter(stamp)
    bodies = [FeedBody(array("q"), set()) for _ in range(feed_count)]
    # Plain lists indexed by feed: the inner loop runs once per event and feed.
    runs_of = [body.runs for body in bodies]
    tzids_of = [body.tzids for body in bodies]
    counts = [0] * feed_count
    last_end = [-1] * feed_count
    position = out.tell()
    write = out.write
    event = writer.event
    with _gc_paused():
        for count, (ev, indexes) in enumerate(zip(events, routes, strict=True), 1):
            data = event(ev)
            write(data)
            begin = position
            position += len(data)
            timed = not ev.all_day
            for index in indexes:
                counts[index] += 1
                if timed:
                    tzids_of[index].add(ev.timezone)
                if last_end[index] == begin:  # follows its previous event: one longer run
                    runs_of[index][-1] = position
                else:
                    runs_of[index].extend((begin, position))
                last_end[index] = position
            if progress is not None and count % 4096 == 0:
                progress(count, progress_total)
    for body, events_in in zip(bodies, counts, strict=True):
        body.events = events_in
    out.flush()
    return bodies


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Serialising allocates millions of short-lived acyclic objects; with a
    # large Plan alive, every collection would rescan it. Nothing here makes
    # cycles, so pausing the collector loses nothing and halves the time.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def feed_head(header: FeedHeader, tzids: Iterable[str], years: tuple[int, int]) -> bytes:
    """Return a feed's head with one VTIMEZONE per TZID, sorted.

    A feed without timed events still gets its default zone's VTIMEZONE:
    RFC 5545 wants at least one component in a VCALENDAR.
    """
    names = sorted(tzids) or [header.timezone]
    return calendar_head(header, (vtimezone_block(name, *years) for name in names))


Reader = Callable[[int, int], bytes]


def feed_parts(
    header: FeedHeader, body: FeedBody, read: Reader, *, years: tuple[int, int]
) -> Iterator[bytes]:
    """Yield one complete VCALENDAR (head, VTIMEZONEs, its spooled events, end) in chunks.

    `read(offset, size)` reads the spool. Chunks are about a megabyte at most,
    so a partner's feed (a few kilobytes) comes out as a single write.
    """
    parts = [feed_head(header, body.tzids, years)]
    size = len(parts[0])
    runs = body.runs
    for i in range(0, len(runs), 2):
        begin, end = runs[i], runs[i + 1]
        while begin < end:
            step = min(end - begin, _CHUNK)
            parts.append(read(begin, step))
            size += step
            begin += step
            if size >= _CHUNK:
                yield b"".join(parts)
                parts, size = [], 0
    parts.append(CALENDAR_END)
    yield b"".join(parts)


def copy_feed(
    header: FeedHeader,
    body: FeedBody,
    spool: BinaryIO,
    sink: BinaryIO,
    *,
    years: tuple[int, int],
) -> None:
    """Write one complete VCALENDAR to `sink`, its events copied from `spool`."""
    for chunk in feed_parts(header, body, spool_reader(spool), years=years):
        sink.write(chunk)


def spool_reader(spool: BinaryIO) -> Reader:
    """Return `read(offset, size)` for a flushed spool: `os.pread` where there is one.

    pread leaves the file position alone and maps nothing, so the spool's
    pages never count towards this process's resident memory.
    """
    import os

    try:
        fd = spool.fileno()
    except (OSError, AttributeError, ValueError):
        fd = -1
    if fd >= 0 and hasattr(os, "pread"):
        return lambda offset, size: os.pread(fd, size, offset)

    def read(offset: int, size: int) -> bytes:
        spool.seek(offset)
        return spool.read(size)

    return read


def year_range(events: Iterable[Event], first: date, last: date) -> tuple[int, int]:
    """Return the calendar years the VTIMEZONEs must cover: the plan's and every event's."""
    low, high = first.year, last.year
    for ev in events:
        low = min(low, ev.start.year)
        high = max(high, ev.end.year)
    return low, high


def render_feed(
    events: Iterable[Event],
    header: FeedHeader,
    *,
    stamp: datetime,
    years: tuple[int, int] | None = None,
) -> bytes:
    """Return one whole feed as bytes (small plans and tests; large ones go through the spool)."""
    import io

    ordered = feed_order(events)
    if years is None:
        first = ordered[0].day if ordered else stamp.date()
        years = year_range(ordered, first, first)
    sink = io.BytesIO()
    sink.write(feed_head(header, used_tzids(ordered), years))
    write_events(ordered, [()] * len(ordered), 0, sink, stamp=stamp)
    sink.write(CALENDAR_END)
    return sink.getvalue()


def write_feeds(plan: Plan, out: Path, *, stamp: datetime) -> object:
    """Write every feed of `plan` under `out`: `chancal.feeds.write_feeds`, found here too.

    The benchmarks look the exporter up in this module; the work (selection,
    staging, all-or-nothing renames) lives in `chancal.feeds`, imported late
    because it builds on this module.
    """
    from chancal.feeds import write_feeds as write

    return write(plan, out, stamp=stamp)
