"""The committed calendar: the lock file's text <-> what subscribers were given.

Partners subscribe to their feed once. From then on every regeneration must
update the events they already have instead of adding copies, and never
rewrite what already happened, so the lock records every published event in
full: its UID, SEQUENCE, STATUS, DTSTAMP, the feeds it went to and everything
a feed says about it.

The format is JSON Lines (format version 2): the first line names the format
and the program, then one line per feed owner (so a removed partner's feed
keeps its name and zone), then one line per event, sorted by key, so a pull
request shows exactly which events changed and any JSON tool reads it::

    {"chancal_lock": 2, "program": "acme-channel", "about": "..."}
    {"owner": "partner", "id": "acme", "name": "Acme", "timezone": "Europe/Berlin"}
    {"key": "acme/qbr/2027-q1", "uid": "...", "status": "CONFIRMED", "sequence": 0,
     "stamp": "2027-01-04T09:00:00Z", "feeds": ["all", "manager/ana", "partner/acme"],
     "event": {"title": ..., "start": "2027-04-14T10:00:00+02:00", ...}}

An event that left a feed while still ahead (its partner moved to another
manager, or left a shared event) also lists the CANCELLED copy that feed
keeps until the event's day passes: `"withdrawn": [{"feeds": [...],
"sequence": 1, "stamp": ..., "event": {...}}]`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chancal.errors import ConfigError, Problem
from chancal.pickling import by_fields
from chancal.plan import AllDay, Event, Person, Pins, Span, Status, Timed

LOCK_NAME = "chancal.lock"
FORMAT_VERSION = 2
MAX_SEQUENCE = 2**31 - 1  # RFC 5545 SEQUENCE is an INTEGER: a signed 32-bit value
YEARS = (1900, 2200)
"""The years a lock's dates and stamps may name: anything else is damage, not a plan."""
_ABOUT = (
    "The calendar as published to subscribers, one event per line. Commit it beside the "
    "program file: 'chancal export --ics' and 'chancal lock' rewrite it, 'chancal diff' "
    "compares against it."
)
Content = dict[str, Any]
"""An event as a feed shows it, in JSON values (the lock's `event` object)."""

# The order `event_shown` writes; a lock read back is put in the same order,
# so equal content gives equal text even after a hand edit reordered it.
_CONTENT_ORDER = (
    "title", "kind", "purpose", "mode", "start", "end", "timezone", "partner", "manager",
    "rule", "location", "conference", "description", "focus_area", "direction", "organizer",
    "attendees", "reminders",
)  # fmt: skip


@by_fields
@dataclass(frozen=True, slots=True, eq=False)
class Shown:
    """An event as a feed shows it, held as its JSON text in UTF-8.

    Bytes, not a dict: a dict per event cost about 3 KB more per entry, 700 MB of
    a 10,000-partner re-export, and equal content still means equal text. Bytes,
    not str: the lock is read and written as bytes, and one non-Latin-1 letter
    would make a str hold every character in 2 bytes. The fields every entry
    needs are kept beside it; the rest is parsed on demand (`value`), only for
    the events published from the lock.

    Text read from a lock is kept as it was written (`canonical` False): chancal
    wrote it canonical, so re-encoding every entry on every run (a tenth of a
    re-export) would only catch hand edits. Equality and `canonical_form` settle
    those when it matters: when the text differs from the plan's, and before an
    entry the plan did not decide is written back.
    """

    json: bytes
    start: str
    end: str
    timezone: str
    canonical: bool = True

    @classmethod
    def of(cls, content: Mapping[str, Any]) -> Shown:
        """The canonical text of `content` (which has its start, end and timezone)."""
        if not _in_order(content):
            ordered = {k: content[k] for k in _CONTENT_ORDER if k in content}
            ordered.update(sorted((k, v) for k, v in content.items() if k not in ordered))
            content = ordered
        text = _json(content).encode("utf-8")
        return cls(text, content["start"], content["end"], content["timezone"])

    def value(self) -> Content:
        """The content as JSON values."""
        return cast(Content, json.loads(self.json))

    def canonical_form(self) -> Shown:
        """This content as chancal writes it (itself when it already is)."""
        return self if self.canonical else Shown.of(self.value())

    def __eq__(self, other: object) -> bool:
        """Both show the same content, however either text was spaced or ordered."""
        if not isinstance(other, Shown):
            return NotImplemented
        if self.json == other.json:
            return True
        if self.canonical and other.canonical:
            return False
        return self.canonical_form().json == other.canonical_form().json

    def __hash__(self) -> int:
        return hash(self.canonical_form().json)


_RANK = {name: rank for rank, name in enumerate(_CONTENT_ORDER)}


def _in_order(content: Mapping[str, Any]) -> bool:
    """Whether the keys are all known and in `_CONTENT_ORDER` (as `event_shown` writes them)."""
    return _keys_in_order(tuple(content))


@lru_cache(maxsize=1024)
def _keys_in_order(keys: tuple[str, ...]) -> bool:
    # A year's events have a few dozen sets of fields: each is checked once.
    last = -1
    for key in keys:
        rank = _RANK.get(key)
        if rank is None or rank < last:
            return False
        last = rank
    return True


@by_fields
@dataclass(frozen=True, slots=True)
class Withdrawn:
    """A CANCELLED copy of an event, kept in feeds the event has left until its day passes."""

    feeds: tuple[str, ...]
    sequence: int
    stamp: datetime
    content: Shown


@by_fields
@dataclass(frozen=True, slots=True)
class LockEntry:
    """What subscribers were last given for one event key."""

    key: str
    uid: str
    status: Status
    sequence: int
    stamp: datetime  # aware, UTC
    feeds: tuple[str, ...]
    content: Shown
    withdrawn: tuple[Withdrawn, ...] = ()
    # Read from a format-1 lock, which kept only times, ids, kind and title:
    # the next publish sends the plan's version with a higher SEQUENCE.
    upgraded: bool = False

    @property
    def start(self) -> date | datetime:
        """The published start (aware, in the event's zone; a date if all-day)."""
        return _instant(self.content.start, self.content.timezone)

    @property
    def end(self) -> date | datetime:
        """The published end (exclusive for all-day events)."""
        return _instant(self.content.end, self.content.timezone)

    @property
    def span(self) -> Span:
        """The published span, as the event's `span`."""
        return _span(self.content.start, self.content.end, self.content.timezone)

    @property
    def day(self) -> date:
        """The first calendar day, in the event's own time zone."""
        return _day(self.content.start)

    @property
    def last_day(self) -> date:
        """The last calendar day the event touches, in its own time zone."""
        end = self.content.end
        if "T" in end:
            return _day(end)
        return _day(end) - timedelta(days=1)

    @property
    def title(self) -> str:
        """The published title."""
        return cast(str, self.content.value()["title"])


@dataclass(frozen=True, slots=True)
class FeedOwner:
    """A partner or manager with a feed: what its feed's header needs once it is gone."""

    kind: Literal["partner", "manager"]
    id: str
    timezone: str
    name: str


@dataclass(frozen=True, slots=True)
class Source:
    """A lock file as it was when read: the new lock copies stretches of it (`Lines`)."""

    path: str
    identity: tuple[int, int, int, int]  # device, inode, size, modification time (ns)

    @classmethod
    def of(cls, path: str) -> Source | None:
        """The file as it is now (None if there is none). Taken before reading it: a file
        replaced while it is read then fails `open`, never mixing two versions."""
        try:
            found = os.stat(path)
        except FileNotFoundError:
            return None
        return cls(path, _identity(found))

    def open(self) -> int:
        """Open the file to read stretches of it: ConfigError if it is no longer the one read."""
        problem = "it changed while chancal was reading it (another run?); run again"
        try:
            fd = open_bytes(self.path)
        except OSError:
            raise ConfigError([Problem(self.path, 1, 1, "", problem)]) from None
        if _identity(os.fstat(fd)) != self.identity:
            os.close(fd)
            raise ConfigError([Problem(self.path, 1, 1, "", problem)])
        return fd


def _identity(found: os.stat_result) -> tuple[int, int, int, int]:
    return found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns


def open_bytes(path: str) -> int:
    """Open a file to read its bytes at any offset (`read_at`): no newline translation."""
    return os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))  # O_BINARY: Windows only


def read_at(fd: int, size: int, offset: int) -> bytes:
    """`size` bytes of a file from `offset` (fewer at its end)."""
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # Windows has no pread
    return os.read(fd, size)


@by_fields
@dataclass(frozen=True, slots=True)
class Lines:
    """Events' lines of a new lock, already written: sorted by key, each ending in a newline.

    Each partner's lines come back this way from the process that reconciled
    them (`lock_index.written_lines`): as their bytes, or, when they are the
    very bytes of a stretch of the lock read, as that stretch. The lock of a
    year whose events did not change is then copied, never held in memory.
    Other lines may wait in a scratch file of the run (`file`), which must
    outlive the lock's writing (`chancal.publish.vevents`).
    """

    first_key: str
    last_key: str
    data: bytes  # empty when `stretch` holds them
    stretch: tuple[int, int] | None  # (offset, size) in `file`, or else in the lock read
    file: str | None = None  # a scratch file holding the stretch (None: `Lock.source`)


@dataclass(frozen=True, slots=True)
class Lock:
    """Every published event, sorted by key, and the owners of the feeds they went to.

    A lock about to be written may hold some events as `written` lines instead
    of entries; a lock read holds entries only.
    """

    program_id: str | None = None  # None: no lock yet
    entries: tuple[LockEntry, ...] = ()
    owners: tuple[FeedOwner, ...] = ()  # sorted by (kind, id)
    written: tuple[Lines, ...] = ()
    source: Source | None = None  # the lock read, which `written` stretches are copied from

    def by_key(self) -> dict[str, LockEntry]:
        """Index the entries by event key."""
        return {e.key: e for e in self.entries}


EMPTY_LOCK = Lock()


# ---------------------------------------------------------------------------
# events <-> JSON values


def event_shown(event: Event) -> Shown:
    """Everything subscribers see of an event except identity, status, SEQUENCE and DTSTAMP.

    Fields at their default are left out, so lines stay short and a field
    added later does not change every line. Who is invited is not content: the
    entry's `feeds` say where it went, and a partner leaving a shared event
    changes nothing for the others.

    Spelled out as JSON text in `_CONTENT_ORDER`, not a dict given to the
    encoder: reconcile makes one for every planned event, to compare it with
    what the lock published, and the dict and its encoding took 13% of the
    work of a manager's year: 11 us an event, against 6.3 us spelled out
    (benchmarks/README.md, "The content of a planned event, spelled out"). A
    test compares it with the encoder's text of the same values, on any text.
    """
    start, end = event.start.isoformat(), event.end.isoformat()
    pieces = [
        f'{{"title": {_text(event.title)}, "kind": {_text(event.kind)}, '
        f'"purpose": {_text(event.purpose)}, "mode": {_text(event.mode)}, '
        f'"start": {_text(start)}, "end": {_text(end)}, "timezone": {_text(event.timezone)}, '
        f'"partner": {_text_or_null(event.partner_id)}, '
        f'"manager": {_text_or_null(event.manager_id)}, "rule": {_text(event.rule_id)}'
    ]
    optional = (
        ("location", event.location),
        ("conference", event.conference),
        ("description", event.description),
        ("focus_area", event.focus_area),
        ("direction", event.direction),
    )
    pieces.extend(f', "{name}": {_text(value)}' for name, value in optional if value)
    if event.organizer:
        pieces.append(f', "organizer": {_person_json(event.organizer)}')
    if event.attendees:
        pieces.append(f', "attendees": {_people_json(event.attendees)}')
    if event.reminders:
        pieces.append(f', "reminders": {_reminders_json(event.reminders)}')
    pieces.append("}")
    text = "".join(pieces)
    if not text.isascii():
        text = _escape_separators(text)
    return Shown(text.encode("utf-8"), start, end, event.timezone)


def event_content(event: Event) -> Content:
    """The event's content (`event_shown`) as JSON values."""
    return event_shown(event).value()


# A JSON string, as the encoder writes it with ensure_ascii=False.
_text: Callable[[str], str] = json.encoder.encode_basestring


def _text_or_null(value: str | None) -> str:
    return "null" if value is None else _text(value)


# A partner's contacts are one tuple shared by its events, and the same few
# organizers and reminder lists recur: each is written once.
@lru_cache(maxsize=4096)
def _person_json(person: Person) -> str:
    role = f', "role": {_text(person.role)}' if person.role else ""
    return f'{{"name": {_text(person.name)}, "email": {_text(person.email)}{role}}}'


@lru_cache(maxsize=4096)
def _people_json(people: tuple[Person, ...]) -> str:
    return "[" + ", ".join(map(_person_json, people)) + "]"


@lru_cache(maxsize=256)
def _reminders_json(reminders: tuple[timedelta, ...]) -> str:
    return "[" + ", ".join(str(int(r.total_seconds())) for r in reminders) + "]"


def published_event(
    key: str,
    uid: str,
    shown: Shown | Content,
    *,
    status: Status,
    sequence: int,
    stamp: datetime,
    feeds: tuple[str, ...],
) -> Event:
    """The event a lock entry (or one of its withdrawn copies) describes.

    `shown` is its content, or that content already decoded.
    """
    content = shown.value() if isinstance(shown, Shown) else shown
    zone = content["timezone"]
    organizer = content.get("organizer")
    return Event(
        key=key,
        uid=uid,
        partner_id=content.get("partner"),
        manager_id=content.get("manager"),
        rule_id=content.get("rule") or key.split("/")[-1],
        kind=content.get("kind", "event"),
        purpose=content.get("purpose", "collaboration"),
        title=content["title"],
        span=_span(content["start"], content["end"], zone),
        timezone=zone,
        mode=content.get("mode", "virtual"),
        location=content.get("location", ""),
        conference=content.get("conference", ""),
        description=content.get("description", ""),
        focus_area=content.get("focus_area"),
        organizer=Person(**organizer) if organizer else None,
        attendees=tuple(Person(**p) for p in content.get("attendees", ())),
        reminders=tuple(timedelta(seconds=s) for s in content.get("reminders", ())),
        status=status,
        sequence=sequence,
        stamp=stamp,
        direction=content.get("direction"),
        feeds=feeds,
    )


@lru_cache(maxsize=8192)
def _instant(text: str, zone: str) -> date | datetime:
    # A year holds a few thousand distinct starts: most entries hit the cache.
    if "T" not in text:
        return date.fromisoformat(text)
    # The offset in the text picks the right side of a DST fold.
    return datetime.fromisoformat(text).astimezone(ZoneInfo(zone))


def _span(start: str, end: str, zone: str) -> Span:
    # The reader checked that both are dates or both date-times with offsets.
    first, last = _instant(start, zone), _instant(end, zone)
    if isinstance(first, datetime) and isinstance(last, datetime):
        return Timed(first, last)
    return AllDay(first, last)


def _day(text: str) -> date:
    return date.fromisoformat(text[:10])


def pins(lock: Lock) -> Pins:
    """The published start of every live (not cancelled) event, by key: the planner keeps them."""
    return {e.key: e.start for e in lock.entries if e.status != "CANCELLED"}


# ---------------------------------------------------------------------------
# text


def dumps(lock: Lock) -> str:
    """Render the lock as its canonical text: header, owners by (kind, id), events by key."""
    return b"".join(_file_lines(lock)).decode("utf-8")


def dump_chunks(lock: Lock, size: int = 1 << 20) -> Iterator[bytes]:
    """The lock file's bytes (`dumps` in UTF-8) in pieces of about `size`.

    A 10,000-partner lock is about 240 MB: comparing it with the file on disk
    and writing it need no whole copy.
    """
    pending: list[bytes] = []
    filled = 0
    for line in _file_lines(lock):
        pending.append(line)
        filled += len(line)
        if filled >= size:
            yield b"".join(pending)
            pending.clear()
            filled = 0
    if pending:
        yield b"".join(pending)


def _file_lines(lock: Lock) -> Iterator[bytes]:
    header = {"chancal_lock": FORMAT_VERSION, "program": lock.program_id, "about": _ABOUT}
    yield _json(header).encode("utf-8") + b"\n"
    for o in sorted(lock.owners, key=lambda o: (o.kind, o.id)):
        owner = {"owner": o.kind, "id": o.id, "name": o.name, "timezone": o.timezone}
        yield _json(owner).encode("utf-8") + b"\n"
    runs: list[tuple[str, str, LockEntry | Lines]] = [(e.key, e.key, e) for e in lock.entries]
    runs += [(lines.first_key, lines.last_key, lines) for lines in lock.written]
    runs.sort(key=itemgetter(0))
    fds: dict[str | None, int] = {}  # by `Lines.file`
    try:
        for lines in lock.written:
            if lines.stretch is not None and lines.file not in fds:
                fds[lines.file] = _open_stretches(lock, lines.file)
        # Each partner's lines are one run, and no other key starts with its id and a
        # slash, so the runs follow each other; were a run ever cut otherwise, its
        # lines are put in order one by one (a test cuts them so on purpose).
        if all(runs[i - 1][1] < runs[i][0] for i in range(1, len(runs))):
            for _, _, run in runs:
                yield from _run_bytes(run, fds)
        else:
            keyed = [(_key_of(line), line) for _, _, run in runs for line in _run_lines(run, fds)]
            yield from (line for _, line in sorted(keyed, key=itemgetter(0)))
    finally:
        for fd in fds.values():
            os.close(fd)


def _open_stretches(lock: Lock, file: str | None) -> int:
    """Open the file stretches are copied from: a scratch file, or the lock read."""
    if file is not None:
        return open_bytes(file)
    assert lock.source is not None, "a stretch is copied from the lock read"
    return lock.source.open()


def _run_bytes(run: LockEntry | Lines, fds: dict[str | None, int]) -> Iterator[bytes]:
    if isinstance(run, LockEntry):
        yield entry_line(run) + b"\n"
    elif run.stretch is None:
        yield run.data
    else:
        offset, size = run.stretch
        fd = fds[run.file]
        for at in range(offset, offset + size, _COPY_CHUNK):
            yield read_at(fd, min(_COPY_CHUNK, offset + size - at), at)


def _run_lines(run: LockEntry | Lines, fds: dict[str | None, int]) -> list[bytes]:
    return b"".join(_run_bytes(run, fds)).splitlines(keepends=True)


def _key_of(line: bytes) -> str:
    return cast(str, json.loads(line)["key"])


_COPY_CHUNK = 1 << 20


def entry_line(entry: LockEntry) -> bytes:
    """One event's line of the lock, in UTF-8: the JSON that `json.dumps` would write."""
    # Spelled out, not a dict given to the encoder: 0.5 us an entry instead of 2.4
    # (a second of writing a 10,000-partner lock); a test compares it with `json.dumps`.
    # The status, stamp and sequence need no escaping; the feed list is shared per partner.
    head = (
        f'{{"key": {_json(entry.key)}, "uid": {_json(entry.uid)}, "status": "{entry.status}", '
        f'"sequence": {entry.sequence:d}, "stamp": "{_stamp_text(entry.stamp)}", '
        f'"feeds": {_feeds_json(entry.feeds)}'
    )
    parts = [head.encode("utf-8")]
    if entry.withdrawn:
        copies = b", ".join(
            _with_event(
                {"feeds": list(w.feeds), "sequence": w.sequence, "stamp": _stamp_text(w.stamp)},
                w.content,
            )
            for w in entry.withdrawn
        )
        parts.append(b', "withdrawn": [' + copies + b"]")
    parts.append(b', "event": ' + entry.content.json + b"}")
    return b"".join(parts)


def _with_event(value: dict[str, object], shown: Shown) -> bytes:
    """`value` as JSON with the `"event"` text appended."""
    return _json(value)[:-1].encode("utf-8") + b', "event": ' + shown.json + b"}"


_encode = json.JSONEncoder(ensure_ascii=False).encode  # one encoder for every line


def _json(value: object) -> str:
    text = _encode(value)
    return text if text.isascii() else _escape_separators(text)


def _escape_separators(text: str) -> str:
    # Non-ASCII stays readable; the three line separators that JSON leaves raw
    # are escaped, so tools that split lines on them still see one event per line.
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")


@lru_cache(maxsize=1024)
def _feeds_json(feeds: tuple[str, ...]) -> str:
    # Every event of a partner goes to the same feeds.
    return _json(list(feeds))


@lru_cache(maxsize=256)
def _stamp_text(stamp: datetime) -> str:
    # Most entries share a handful of stamps (one per run that changed them).
    return stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=1024)
def _zone_ok(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def program_ids_in(entries: Iterable[LockEntry]) -> set[str]:
    """The program ids the entries' UIDs name (`...@<program id>.chancal`)."""
    return {e.uid.rpartition("@")[2].removesuffix(".chancal") for e in entries}
