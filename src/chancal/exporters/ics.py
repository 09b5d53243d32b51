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
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate, repeat
from operator import attrgetter, itemgetter, sub
from typing import BinaryIO
from zoneinfo import ZoneInfo

from chancal.exporters.vtimezone import vtimezone_block
from chancal.plan import Event, Person

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
    return _fold_bytes(line.encode("utf-8", "replace"))


def _fold_bytes(data: bytes) -> bytes:
    size = len(data)
    if size <= _MAX_LINE:
        return data
    if data.isascii():  # one octet per character: cut anywhere
        cutter = _CUTS.get(size)
        if cutter is None:
            cutter = itemgetter(
                slice(0, _MAX_LINE), *(slice(i, i + 74) for i in range(_MAX_LINE, size, 74))
            )
            if size < 1 << 13:  # one getter per line length: a few hundred lengths occur
                _CUTS[size] = cutter
        return b"\r\n ".join(cutter(data))
    parts = []
    start = 0
    limit = _MAX_LINE
    while size - start > limit:
        cut = start + limit
        while data[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte: step back to the lead byte
            cut -= 1
        parts.append(data[start:cut])
        start = cut
        limit = _MAX_LINE - 1  # continuation lines start with a space, which counts
    parts.append(data[start:])
    return b"\r\n ".join(parts)


# The slices of an ASCII line of each length, cut in C by one itemgetter call.
_CUTS: dict[int, Callable[[bytes], tuple[bytes, ...]]] = {}

# What `escape_text` does, on UTF-8 bytes: every character it touches is ASCII,
# and no byte of a multi-byte UTF-8 sequence is, so the result is the same
# text, encoded, without a second pass over the str.
_CTL_BYTES = bytes([*range(0x09), *range(0x0B, 0x20), 0x7F])


def _escape_bytes(data: bytes) -> bytes:
    # translate() returns `data` itself when it deletes nothing, and each
    # replace() that finds nothing does too: C scans, no copies.
    clean = data.translate(None, _CTL_BYTES)
    if len(clean) != len(data):
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        clean = data.translate(None, _CTL_BYTES)
    return (
        clean.replace(b"\\", b"\\\\")
        .replace(b";", b"\\;")
        .replace(b",", b"\\,")
        .replace(b"\n", b"\\n")
    )


def text_line(prefix: bytes, value: str) -> bytes:
    """Return the folded UTF-8 content line `prefix` + `value` escaped as TEXT.

    The same bytes as `fold(prefix + escape_text(value))`, in one pass over bytes.
    """
    data = prefix + _escape_bytes(value.encode("utf-8", "replace"))
    return data if len(data) <= _MAX_LINE else _fold_bytes(data)


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
        start = ev.start
        # `sort_instant` inlined for timed events: this loop runs once per event.
        instant = start.timestamp() if isinstance(start, datetime) else sort_instant(ev)
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

    Every cache is keyed by something that repeats across events (a stamp, a
    zone, a place and kind, a partner's contact list with its organizer) and
    bounded, so memory does not grow with the number of events. Lines are
    built as UTF-8 bytes from the start, so no event is encoded twice.
    """

    def __init__(self, stamp: datetime) -> None:
        self.stamp = ("DTSTAMP:" + _utc_text(stamp)).encode()
        self._places: dict[tuple[str, str, str], bytes] = {}
        self._people: dict[_PeopleKey, tuple[tuple[Person, ...], bytes]] = {}
        self._alarms: dict[tuple[timedelta, ...], tuple[bytes, ...]] = {}
        self._zones: dict[str, tuple[bytes, bytes, ZoneInfo]] = {}
        self._stamps: dict[datetime, bytes] = {}

    def event(self, ev: Event) -> bytes:
        """Return one VEVENT, folded, CRLF-terminated."""
        start = ev.start
        end = ev.end
        if ev.all_day:
            when = (
                b"DTSTART;VALUE=DATE:"
                + _date_bytes(start)
                + b"\r\nDTEND;VALUE=DATE:"
                + _date_bytes(end)
            )
        else:
            zoned = self._zones.get(ev.timezone)
            if zoned is None:
                param = ";TZID=" + param_value(ev.timezone) + ":"
                zoned = self._zones[ev.timezone] = (
                    ("DTSTART" + param).encode("utf-8", "replace"),
                    ("\r\nDTEND" + param).encode("utf-8", "replace"),
                    _zone(ev.timezone),
                )
            dtstart, dtend, zone = zoned
            # The planner hands out datetimes already in the event's zone and
            # outside a repeated hour: that common case skips `_timed_bytes`.
            if start.tzinfo is zone and not start.fold:  # type: ignore[union-attr]
                first = dtstart + _local_bytes(start)  # type: ignore[arg-type]
            else:
                first = _timed_bytes("DTSTART", start, dtstart, zone)  # type: ignore[arg-type]
            if end.tzinfo is zone and not end.fold:  # type: ignore[union-attr]
                when = first + dtend + _local_bytes(end)  # type: ignore[arg-type]
            else:
                when = first + b"\r\n" + _timed_bytes("DTEND", end, dtend[2:], zone)  # type: ignore[arg-type]
        summary = _escape_bytes(ev.title.encode("utf-8", "replace"))
        title = b"SUMMARY:" + summary
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
            b"BEGIN:VEVENT\r\n" + text_line(b"UID:", ev.uid),
            self.stamp if ev.stamp is None else self._stamp(ev.stamp),
            when,
            title if len(title) <= _MAX_LINE else _fold_bytes(title),
        ]
        if ev.description:
            parts.append(text_line(b"DESCRIPTION:", ev.description))
        parts.append(place)
        parts.append(people[1])
        if ev.reminders:
            alarm = b"DESCRIPTION:" + summary
            if len(alarm) > _MAX_LINE:
                alarm = _fold_bytes(alarm)
            parts.append(alarm.join(self._alarm_pieces(ev.reminders)))
        else:
            parts.append(b"END:VEVENT\r\n")
        return b"\r\n".join(parts)

    def _place(self, ev: Event) -> bytes:
        # A partner's address (or "Video call") and the kind of meeting.
        if len(self._places) >= 1 << 16:
            self._places.clear()
        category = _fold_bytes(
            b"CATEGORIES:"
            + _escape_bytes(ev.kind.encode("utf-8", "replace"))
            + b","
            + _escape_bytes(ev.purpose.encode("utf-8", "replace"))
        )
        if ev.location:
            category = text_line(b"LOCATION:", ev.location) + b"\r\n" + category
        self._places[(ev.location, ev.kind, ev.purpose)] = category
        return category

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
        # Locked events carry the DTSTAMP of the run that last changed them:
        # a handful of distinct values shared by thousands of events.
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
                f"BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:{trigger(r)}\r\n".encode()
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
_TWO_BYTES = [b"%02d" % i for i in range(100)]
_HOURS_MINUTES = [_TWO_BYTES[h] + _TWO_BYTES[m] for h in range(24) for m in range(60)]
_DAYS: dict[int, bytes] = {}


def _local_bytes(v: datetime) -> bytes:
    # Table lookups: several times faster than a format string on the hot path,
    # the date part cached per day (a plan spans a few hundred).
    day = _DAYS.get(v.toordinal())
    if day is None:
        if len(_DAYS) >= 1 << 12:
            _DAYS.clear()
        day = _DAYS[v.toordinal()] = _date_bytes(v) + b"T"
    return day + _HOURS_MINUTES[v.hour * 60 + v.minute] + _TWO_BYTES[v.second]


def _date_bytes(v: date) -> bytes:
    t = _TWO_BYTES
    y = v.year
    return t[y // 100] + t[y % 100] + t[v.month] + t[v.day]


def _timed_bytes(prop: str, value: datetime, prefix: bytes, zone: ZoneInfo) -> bytes:
    # `prefix` is the property with its TZID parameter, as the common case writes it.
    if value.tzinfo is not zone:
        value = value.astimezone(zone)
    if value.fold and value.replace(fold=0).utcoffset() != value.utcoffset():
        # The second pass through a repeated hour (autumn fall-back): a TZID
        # time means the first pass (RFC 5545 3.3.5), so name the instant in UTC.
        return (prop + ":" + _utc_text(value)).encode()
    return prefix + _local_bytes(value)


def _person_line(prop: str, person: Person) -> bytes:
    name = param_value(person.name)
    params = f";CN={name}" if name else ""
    if prop == "ATTENDEE":
        # A published feed asks for no reply: RSVP=FALSE keeps apps from offering one.
        params += ";CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE"
    address = _CTL_OR_TAB.sub("", person.email)
    return fold(f"{prop}{params}:mailto:{address}")


def calendar_head(header: FeedHeader, vtimezones: Iterable[bytes]) -> bytes:
    """Return a VCALENDAR's opening lines and its VTIMEZONE blocks."""
    name = _escape_bytes(header.name.encode("utf-8", "replace"))
    description = _escape_bytes(header.description.encode("utf-8", "replace"))
    return b"".join(
        [
            _HEAD_START,
            _fold_bytes(b"NAME:" + name),  # RFC 7986
            CRLF,
            _fold_bytes(b"X-WR-CALNAME:" + name),  # what Apple, Google and Outlook read
            CRLF,
            _fold_bytes(b"DESCRIPTION:" + description),
            CRLF,
            _fold_bytes(b"X-WR-CALDESC:" + description),
            CRLF,
            text_line(b"X-WR-TIMEZONE:", header.timezone),
            CRLF,
            _HEAD_END,
            *vtimezones,
        ]
    )


# The lines every feed's head shares, folded once.
_HEAD_START = b"".join(
    _fold_bytes(line.encode()) + CRLF
    for line in (
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:" + PRODID,
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    )
)
_HEAD_END = b"".join(
    _fold_bytes(line.encode()) + CRLF
    for line in ("REFRESH-INTERVAL;VALUE=DURATION:" + REFRESH, "X-PUBLISHED-TTL:" + REFRESH)
)


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


Reader = Callable[[Sequence[int], Sequence[int]], Iterable[bytes]]
"""`read(offsets, sizes)`: the spool's bytes at each offset, one piece per offset."""


def feed_parts(
    header: FeedHeader, body: FeedBody, read: Reader, *, years: tuple[int, int]
) -> Iterator[bytes]:
    """Yield one complete VCALENDAR (head, VTIMEZONEs, its spooled events, end) in chunks.

    `read` reads the spool. Chunks are about a megabyte at most, so a
    partner's feed (a few kilobytes) comes out as a single write.
    """
    head = feed_head(header, body.tzids, years)
    offsets = body.runs[0::2]
    sizes = array("q", map(sub, body.runs[1::2], offsets))
    if len(head) + sum(sizes) <= _CHUNK:  # most feeds: every run in one read call
        yield b"".join([head, *read(offsets, sizes), CALENDAR_END])
        return
    yield head
    # Runs that together fill about a chunk are read in one call; `ends`
    # finds where each chunk stops without a Python step per run.
    ends = list(accumulate(sizes))
    start = 0
    done = 0
    while start < len(sizes):
        stop = bisect_right(ends, done + _CHUNK, start)
        if stop == start:  # a single run longer than a chunk: read it in pieces
            offset, size = offsets[start], sizes[start]
            for piece in range(0, size, _CHUNK):
                yield from read((offset + piece,), (min(_CHUNK, size - piece),))
            stop = start + 1
        else:
            yield b"".join(read(offsets[start:stop], sizes[start:stop]))
        done = ends[stop - 1]
        start = stop
    yield CALENDAR_END


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
    """Return `read(offsets, sizes)` for a flushed spool: `os.pread` where there is one.

    pread leaves the file position alone and maps nothing, so the spool's
    pages never count towards this process's resident memory; mapped over
    the offsets, it reads a feed's runs without a Python call per run.
    """
    import os

    try:
        fd = spool.fileno()
    except (OSError, AttributeError, ValueError):
        fd = -1
    if fd >= 0 and hasattr(os, "pread"):
        pread = os.pread
        return lambda offsets, sizes: map(pread, repeat(fd), sizes, offsets)

    def read(offsets: Sequence[int], sizes: Sequence[int]) -> Iterator[bytes]:
        for offset, size in zip(offsets, sizes, strict=True):
            spool.seek(offset)
            yield spool.read(size)

    return read


def year_range(events: Iterable[Event], first: date, last: date) -> tuple[int, int]:
    """Return the calendar years the VTIMEZONEs must cover: the plan's and every event's."""
    if not isinstance(events, Sequence):
        events = list(events)
    # Two passes in C (attrgetter) beat one Python loop over every event.
    low = min(map(attrgetter("start.year"), events), default=first.year)
    high = max(map(attrgetter("end.year"), events), default=last.year)
    return min(low, first.year), max(high, last.year)


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
