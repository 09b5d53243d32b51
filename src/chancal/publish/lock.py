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

import contextlib
import io
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chancal.errors import ConfigError, Problem
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
_STATUSES: frozenset[str] = frozenset(("CONFIRMED", "TENTATIVE", "CANCELLED"))
_TOO_MANY_PROBLEMS = 20
Content = dict[str, Any]
"""An event as a feed shows it, in JSON values (the lock's `event` object)."""

# The order `event_content` writes; a lock read back is put in the same order,
# so equal content gives equal text even after a hand edit reordered it.
_CONTENT_ORDER = (
    "title", "kind", "purpose", "mode", "start", "end", "timezone", "partner", "manager",
    "rule", "location", "conference", "description", "focus_area", "direction", "organizer",
    "attendees", "reminders",
)  # fmt: skip


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
    """Whether the keys are all known and in `_CONTENT_ORDER` (as `event_content` makes them)."""
    last = -1
    for key in content:
        rank = _RANK.get(key)
        if rank is None or rank < last:
            return False
        last = rank
    return True


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """A CANCELLED copy of an event, kept in feeds the event has left until its day passes."""

    feeds: tuple[str, ...]
    sequence: int
    stamp: datetime
    content: Shown


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
class Lock:
    """Every published event, sorted by key, and the owners of the feeds they went to."""

    program_id: str | None = None  # None: no lock yet
    entries: tuple[LockEntry, ...] = ()
    owners: tuple[FeedOwner, ...] = ()  # sorted by (kind, id)

    def by_key(self) -> dict[str, LockEntry]:
        """Index the entries by event key."""
        return {e.key: e for e in self.entries}


EMPTY_LOCK = Lock()


# ---------------------------------------------------------------------------
# events <-> JSON values


def event_content(event: Event) -> Content:
    """Everything subscribers see of an event except identity, status, SEQUENCE and DTSTAMP.

    Fields at their default are left out, so lines stay short and a field
    added later does not change every line. Who is invited is not content: the
    entry's `feeds` say where it went, and a partner leaving a shared event
    changes nothing for the others.
    """
    content: Content = {
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
    optional: tuple[tuple[str, object], ...] = (
        ("location", event.location),
        ("conference", event.conference),
        ("description", event.description),
        ("focus_area", event.focus_area),
        ("direction", event.direction),
        ("organizer", _person(event.organizer) if event.organizer else None),
        ("attendees", [_person(p) for p in event.attendees]),
        ("reminders", [int(r.total_seconds()) for r in event.reminders]),
    )
    content.update((name, value) for name, value in optional if value)
    return content


def _person(person: Person) -> dict[str, str]:
    found = {"name": person.name, "email": person.email}
    if person.role:
        found["role"] = person.role
    return found


def published_event(
    key: str,
    uid: str,
    shown: Shown,
    *,
    status: Status,
    sequence: int,
    stamp: datetime,
    feeds: tuple[str, ...],
) -> Event:
    """The event a lock entry (or one of its withdrawn copies) describes."""
    content = shown.value()
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
    for entry in sorted(lock.entries, key=lambda e: e.key):
        yield entry_line(entry) + b"\n"


def entry_line(entry: LockEntry) -> bytes:
    """One event's line of the lock, in UTF-8: the JSON that `json.dumps` would write."""
    head = _json(
        {
            "key": entry.key,
            "uid": entry.uid,
            "status": entry.status,
            "sequence": entry.sequence,
            "stamp": _stamp_text(entry.stamp),
            "feeds": list(entry.feeds),
        }
    )
    parts = [head[:-1].encode("utf-8")]
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
    # Non-ASCII stays readable; the three line separators that JSON leaves raw
    # are escaped, so tools that split lines on them still see one event per line.
    text = _encode(value)
    if text.isascii():
        return text
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")


def _stamp_text(stamp: datetime) -> str:
    return stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def loads(text: str | bytes, name: str = LOCK_NAME) -> Lock:
    """Parse lock text; raise ConfigError locating every problem (file:line:column).

    A format-1 lock is read by `chancal.publish.lock_v1.upgrade` instead.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return read_lines(io.BytesIO(data), name)


def read_lines(lines: Iterable[bytes], name: str = LOCK_NAME) -> Lock:
    """Parse a lock from its lines as bytes (an open binary file reads one line at a time).

    A 10,000-partner lock is 240 MB: read whole and decoded, it took 700 MB at once.
    """
    return _Reader(name).read(lines)


_EVENT = b', "event": '
_BOM = b"\xef\xbb\xbf"


class _Reader:
    """Check every line of a lock, collecting located problems instead of stopping at one."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[Problem] = []
        self.line_no = 0
        self.raw = b""
        self.event_json: bytes | None = None  # the line's own text of its "event", if split
        # A partner's events all go to the same three feeds: one tuple for all of them
        # (about 270 bytes an entry, 50 MB of a 10,000-partner lock).
        self.feed_lists: dict[tuple[str, ...], tuple[str, ...]] = {}

    @property
    def line(self) -> str:
        return self.raw.decode("utf-8", "replace")

    def problem(self, message: str, field_name: str | None = None) -> None:
        column = 1
        if field_name is not None:
            found = self.line.find(f'"{field_name}"')
            column = found + 1 if found >= 0 else 1
        self.problems.append(Problem(self.name, self.line_no, column, "", message))

    def read(self, lines: Iterable[bytes]) -> Lock:
        program_id: str | None = None
        header_seen = False
        entries: list[LockEntry] = []
        owners: list[FeedOwner] = []
        seen_keys: dict[str, int] = {}
        seen_uids: dict[str, int] = {}
        seen_owners: set[tuple[str, str]] = set()
        for self.line_no, raw in enumerate(lines, start=1):
            # Tolerate CRLF checkouts, and the BOM some editors add.
            raw = raw.removesuffix(b"\n").removesuffix(b"\r")
            self.raw = raw = raw.removeprefix(_BOM) if self.line_no == 1 else raw
            if not raw.strip():
                continue
            if raw.startswith((b"<<<<<<<", b"=======", b">>>>>>>", b"|||||||")):
                self.problem(
                    "unresolved merge conflict; keep either side, then run 'chancal lock' "
                    "to rebuild the lock from the program"
                )
                continue
            value = self._json(raw)
            if value is None:
                if not header_seen:
                    break
                continue
            if not header_seen:
                header_seen = True
                program_id = self._header(value)
                if program_id is None:
                    break
                continue
            if "owner" in value:
                owner = self._owner(value)
                if owner is not None:
                    if (owner.kind, owner.id) in seen_owners:
                        self.problem(f"{owner.kind} '{owner.id}' is listed twice")
                    seen_owners.add((owner.kind, owner.id))
                    owners.append(owner)
                continue
            entry = self._entry(value)
            if entry is None:
                continue
            if entry.key in seen_keys:
                self.problem(
                    f"event key '{entry.key}' is already locked on line {seen_keys[entry.key]}",
                    "key",
                )
            elif entry.uid in seen_uids:
                self.problem(
                    f"UID '{entry.uid}' is already used on line {seen_uids[entry.uid]};"
                    " a UID belongs to one event only",
                    "uid",
                )
            else:
                seen_keys[entry.key] = seen_uids[entry.uid] = self.line_no
                entries.append(entry)
            if len(self.problems) >= _TOO_MANY_PROBLEMS:
                break
        if not header_seen and not self.problems:
            self.line_no = 1
            self.problem("empty lock file: the first line must be the chancal_lock header")
        if self.problems:
            raise ConfigError(self.problems)
        entries.sort(key=lambda e: e.key)
        owners.sort(key=lambda o: (o.kind, o.id))
        return Lock(program_id, tuple(entries), tuple(owners))

    def _json(self, raw: bytes) -> dict[str, Any] | None:
        """The line's JSON object. An event line is split before its `"event"` object,
        which is parsed alone and its text kept, so no entry is ever re-encoded."""
        self.event_json = None
        value = self._split(raw)
        if value is not None:
            return value
        try:
            value = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as error:
            column = len(raw[: error.start].decode("utf-8", "replace")) + 1
            self.problems.append(Problem(self.name, self.line_no, column, "", "not UTF-8 text"))
            return None
        except json.JSONDecodeError as error:
            self.problems.append(
                Problem(self.name, self.line_no, error.colno, "", f"not JSON: {error.msg}")
            )
            return None
        if not isinstance(value, dict):
            self.problem("each line must be a JSON object ({...})")
            return None
        return value

    def _split(self, raw: bytes) -> dict[str, Any] | None:
        """The line as chancal writes it, `{..., "event": {...}}`, parsed in two parts.

        Exact, not a guess: the head parses as an object only when the split is at
        the top level (a split inside a nested value leaves a bracket open), and the
        event only when it is one whole value. Anything else is parsed whole.
        """
        at = raw.rfind(_EVENT)
        if at < 0 or not raw.endswith(b"}"):
            return None
        event_json = raw[at + len(_EVENT) : -1]
        try:
            head = json.loads((raw[:at] + b"}").decode("utf-8"))
            event = json.loads(event_json.decode("utf-8"))
        except ValueError:
            return None
        if not isinstance(head, dict) or "event" in head or not isinstance(event, dict):
            return None
        head["event"] = event
        self.event_json = event_json
        return head

    def _header(self, value: Mapping[str, Any]) -> str | None:
        version = value.get("chancal_lock")
        if version is None:
            self.problem(
                "not a chancal lock file: the first line must be "
                f'{{"chancal_lock": {FORMAT_VERSION}, "program": "<program id>"}}'
            )
            return None
        if version != FORMAT_VERSION:
            self.problem(
                f"unsupported lock format {version!r}; this chancal reads format "
                f"{FORMAT_VERSION} (upgrade chancal, or rebuild with 'chancal lock')",
                "chancal_lock",
            )
            return None
        program = value.get("program")
        if not isinstance(program, str) or not program:
            self.problem('the header must name the program id: "program": "..."', "program")
            return None
        return program

    def _owner(self, value: Mapping[str, Any]) -> FeedOwner | None:
        kind, ident = value.get("owner"), value.get("id")
        if kind not in ("partner", "manager"):
            self.problem('"owner" must be "partner" or "manager"', "owner")
            return None
        if not isinstance(ident, str) or not ident:
            self.problem('an owner needs its "id"', "id")
            return None
        zone, name = value.get("timezone"), value.get("name")
        if not isinstance(zone, str) or not _zone_ok(zone):
            self.problem(f"unknown time zone {zone!r}", "timezone")
            return None
        if not isinstance(name, str):
            self.problem('the name must be a JSON string, e.g. "Acme"', "name")
            return None
        return FeedOwner(kind, ident, zone, name)

    def _entry(self, value: Mapping[str, Any]) -> LockEntry | None:
        known = len(self.problems)
        key, uid = value.get("key"), value.get("uid")
        if not isinstance(key, str) or not key:
            self.problem('an event line needs its "key" (a non-empty string)', "key")
        if not isinstance(uid, str) or not uid:
            self.problem('an event line needs its "uid" (a non-empty string)', "uid")
        status = value.get("status")
        if status not in _STATUSES:
            self.problem(
                f"unknown status {status!r}; use one of {', '.join(sorted(_STATUSES))}", "status"
            )
        sequence, stamp, feeds = self._version(value)
        content = self._content(value.get("event"), "event", self.event_json)
        withdrawn: list[Withdrawn] = []
        copies = value.get("withdrawn", [])
        if not isinstance(copies, list):
            self.problem('"withdrawn" must be a list of cancelled copies', "withdrawn")
            copies = []
        for copy in copies:
            if not isinstance(copy, dict):
                self.problem("each withdrawn copy must be a JSON object", "withdrawn")
                continue
            w_sequence, w_stamp, w_feeds = self._version(copy)
            w_content = self._content(copy.get("event"), "withdrawn", None)
            if w_stamp is not None and w_content is not None:
                withdrawn.append(Withdrawn(w_feeds, w_sequence, w_stamp, w_content))
        if len(self.problems) > known or stamp is None or content is None:
            return None
        return LockEntry(
            key=cast(str, key),
            uid=cast(str, uid),
            status=cast(Status, status),
            sequence=sequence,
            stamp=stamp,
            feeds=feeds,
            content=content,
            withdrawn=tuple(withdrawn),
        )

    def _version(self, value: Mapping[str, Any]) -> tuple[int, datetime | None, tuple[str, ...]]:
        sequence = value.get("sequence")
        if (
            not isinstance(sequence, int)
            or isinstance(sequence, bool)
            or not 0 <= sequence <= MAX_SEQUENCE
        ):
            self.problem(f'"sequence" must be a whole number from 0 to {MAX_SEQUENCE}', "sequence")
            sequence = 0
        stamp: datetime | None = None
        text = value.get("stamp")
        with contextlib.suppress(ValueError):
            stamp = _parse_stamp(text) if isinstance(text, str) else None
        if stamp is None or not YEARS[0] <= stamp.year <= YEARS[1]:
            self.problem(
                f'"stamp" must be a UTC time from {YEARS[0]} to {YEARS[1]}, '
                'such as "2027-01-04T09:00:00Z"',
                "stamp",
            )
            stamp = None
        feeds = value.get("feeds")
        if not isinstance(feeds, list) or not all(
            isinstance(f, str) and _feed_ok(f) for f in feeds
        ):
            self.problem(
                '"feeds" must list feed names: "all", "partner/<id>" or "manager/<id>"', "feeds"
            )
            feeds = []
        listed = tuple(feeds)
        return sequence, stamp, self.feed_lists.setdefault(listed, listed)

    def _content(self, value: object, field_name: str, written: bytes | None) -> Shown | None:
        """The checked content; `written` is its text on the line, kept as it is when given."""
        if not isinstance(value, dict):
            self.problem('an event line needs its "event" object', field_name)
            return None
        for required in ("title", "start", "end", "timezone"):
            if not isinstance(value.get(required), str):
                self.problem(f'the event needs "{required}" as a string', required)
                return None
        zone = value["timezone"]
        if not _zone_ok(zone):
            self.problem(f"unknown time zone '{zone}'", "timezone")
            return None
        try:
            start, end = _instant(value["start"], zone), _instant(value["end"], zone)
        except (ValueError, OverflowError):
            self.problem("start and end must be ISO 8601 dates or date-times with offsets", "start")
            return None
        if not all(YEARS[0] <= d.year <= YEARS[1] for d in (start, end)):
            self.problem(f"start and end must lie between {YEARS[0]} and {YEARS[1]}", "start")
            return None
        if isinstance(start, datetime) != isinstance(end, datetime):
            self.problem("start and end must both be dates or both date-times", "end")
            return None
        if isinstance(start, datetime) and (
            start.utcoffset() is None or not _offset_given(value["start"], value["end"])
        ):
            self.problem("a timed event's start and end need their UTC offset", "start")
            return None
        if end <= start:
            self.problem("the event must end after it starts", "end")
            return None
        if written is None:
            return Shown.of(value)
        return Shown(written, value["start"], value["end"], sys.intern(zone), canonical=False)


def _offset_given(*texts: str) -> bool:
    return all(t[-6] in "+-" or t.endswith("Z") for t in texts if len(t) > 6)


def _feed_ok(name: str) -> bool:
    kind, _, ident = name.partition("/")
    return name == "all" or (kind in ("partner", "manager") and bool(ident))


@lru_cache(maxsize=256)
def _parse_stamp(text: str) -> datetime:
    # Most entries share a handful of stamps (one per run that changed them).
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


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
