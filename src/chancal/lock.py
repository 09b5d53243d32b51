"""The committed calendar: `chancal.lock` text <-> entries, and a fresh plan reconciled with it.

Partners subscribe to their feed once. From then on every regeneration must
update the events they already have instead of adding copies, so the lock
records, per event key, what was published last: UID, start and end, a hash
of the published content, SEQUENCE, STATUS and DTSTAMP. `reconcile` compares
a fresh plan with it and decides, event by event, whether subscribers need an
update (SEQUENCE + 1, new DTSTAMP), nothing (old SEQUENCE and DTSTAMP, so the
feed bytes stay identical) or a cancellation.

The format (version 1) is plain UTF-8 text, one event per line, sorted by key,
so that a pull request shows exactly which events change::

    chancal-lock 1
    # comment lines start with '#'
    @manager <id> tz=<zone> name=<JSON string>      (one per feed owner: managers,
    @partner <id> tz=<zone> name=<JSON string>       then partners, each by id)
    <key> <start>[<tz>] <end> <STATUS> seq=<n> hash=<hex> stamp=<UTC> uid=<uid> \
partner=<id|-> manager=<id|-> kind=<kind> title=<JSON string>

`start` and `end` are ISO 8601: a date for all-day events (the end is
exclusive), else a date-time with its UTC offset; the start carries the IANA
time zone in brackets (RFC 9557 style). `stamp` is the DTSTAMP in iCalendar's
UTC form. Key, ids and kind are percent-encoded if they ever hold a space or
`%`; the title is a JSON string and always last.
"""

from __future__ import annotations

import heapq
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from hashlib import blake2b
from json.encoder import encode_basestring as _encode_basestring
from operator import itemgetter
from typing import Literal, NamedTuple, cast
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chancal.changes import Change, ChangeKind
from chancal.errors import ConfigError, Problem
from chancal.kinds import BUILTIN_KINDS
from chancal.plan import Event, ManagerInfo, PartnerInfo, Person, Plan, Status

LOCK_NAME = "chancal.lock"
FORMAT_VERSION = 1
_HEADER = f"chancal-lock {FORMAT_VERSION}"
_PREAMBLE = (
    _HEADER,
    "# The calendar as published to subscribers. Commit it beside the program file;",
    "# `chancal export --ics` and `chancal lock` rewrite it, `chancal diff` compares against it.",
    "# key start[tz] end STATUS seq= hash= stamp= uid= partner= manager= kind= title=",
    "# All-day events have dates and an exclusive end; timed events carry their UTC offset.",
    "# @partner/@manager lines name each feed, so a removed partner's feed keeps its name.",
)

_STATUSES: frozenset[str] = frozenset(("CONFIRMED", "TENTATIVE", "CANCELLED"))
_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
# Anything a lock token must not contain unescaped: the field separator, the
# escape character itself, and everything that is not printable ASCII.
_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "%")
_LINE = re.compile(
    r"(?P<key>\S+) (?P<start>\S+) (?P<end>\S+) (?P<status>\S+)"
    r" seq=(?P<seq>\S*) hash=(?P<hash>\S*) stamp=(?P<stamp>\S*) uid=(?P<uid>\S*)"
    r" partner=(?P<partner>\S*) manager=(?P<manager>\S*) kind=(?P<kind>\S*)"
    r" title=(?P<title>.*)"
)
_HASH = re.compile(r"[0-9a-f]{16}")
_TOKEN = r"[!-$&-~]+"  # printable ASCII except '%': a field as chancal writes it
_DAY = r"\d{4}-\d\d-\d\d"
_TIME = r"T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d[+-](?:[01]\d|2[0-3]):[0-5]\d"
# Never a line whose first character could make it a comment, a feed owner or
# a merge conflict marker: `loads` tries this first and checks those after.
_FAST = re.compile(
    rf"(?![#@<=>|])(?P<key>{_TOKEN}) (?P<sd>{_DAY})(?P<st>{_TIME})?\[(?P<zone>[A-Za-z0-9/_+-]+)\]"
    rf" (?P<ed>{_DAY})(?P<et>{_TIME})? (?P<status>CONFIRMED|TENTATIVE|CANCELLED)"
    rf" seq=(?P<seq>0|[1-9]\d{{0,8}}) hash=(?P<hash>[0-9a-f]{{16}})"
    rf" stamp=(?P<stamp>\d{{8}}T\d{{6}}Z)"
    rf" uid=(?P<uid>{_TOKEN}) partner={_TOKEN} manager={_TOKEN} kind={_TOKEN}"
    r' title="[^"\\\x00-\x1f]*"'
)
_OWNER = re.compile(r"@(?P<kind>partner|manager) (?P<id>\S+) tz=(?P<tz>\S+) name=(?P<name>.*)")
_PLAIN = re.compile(r"[!-$&-~]+")  # printable ASCII except '%': written as is
_PLAIN_IDS = re.compile(r"[!-$&-~]+(?: [!-$&-~]+){4}")  # five plain tokens, one space apart
_TOO_MANY_PROBLEMS = 20

_Reporter = Callable[[int, int, str], None]
_tuple_new = tuple.__new__
# An entry's key and line (its first and last fields), without a Python-level call.
_entry_key = itemgetter(0)
_entry_line = itemgetter(6)


class LockEntry(NamedTuple):
    """What subscribers were last given for one event key.

    Only what every run compares is held as fields; the rest (times, ids,
    title) is read from `line` on demand, because a steady-state run of a
    large program compares 350,000 entries and needs those details only for
    the few that changed. A named tuple: built several times faster than a
    frozen dataclass.
    """

    key: str
    uid: str
    status: Status
    sequence: int
    content_hash: str
    stamp: datetime  # aware, UTC
    line: str  # the entry as written in the lock (canonical when chancal wrote it)

    @property
    def details(self) -> EntryDetails:
        """Times, ids, kind and title, parsed from the line."""
        return _details(self.line)

    @property
    def start(self) -> date | datetime:
        """The published start (aware, in the event's zone; a date if all-day)."""
        # Every run pins the planner to every start: read it without the full parse.
        start = _start_value(_start_field(self.line))
        return self.details.start if start is None else start

    @property
    def day(self) -> date:
        """The first calendar day, in the event's own time zone."""
        start = self.details.start
        return start.date() if isinstance(start, datetime) else start

    @property
    def last_day(self) -> date:
        """The last calendar day the event touches, in its own time zone."""
        end = self.details.end
        if isinstance(end, datetime):
            return end.date()
        return end - timedelta(days=1)


class EntryDetails(NamedTuple):
    """The parts of a lock line that only changed and cancelled events need."""

    start: date | datetime
    end: date | datetime
    timezone: str
    all_day: bool
    partner_id: str | None
    manager_id: str | None
    kind: str
    title: str


class _Parsed(NamedTuple):
    entry: LockEntry
    details: EntryDetails


@dataclass(frozen=True, slots=True)
class Lock:
    """Every published event, sorted by key, and the owners of the feeds they went to."""

    entries: tuple[LockEntry, ...] = ()
    owners: tuple[FeedOwner, ...] = ()  # sorted by (kind, id)

    def by_key(self) -> dict[str, LockEntry]:
        """Index the entries by event key."""
        return {e.key: e for e in self.entries}


@dataclass(frozen=True, slots=True)
class FeedOwner:
    """A partner or manager with a feed: what its feed's header needs once it is gone."""

    kind: Literal["partner", "manager"]
    id: str
    timezone: str
    name: str

    def line(self) -> str:
        """Render as a lock line."""
        return f"@{self.kind} {_token(self.id)} tz={self.timezone} name={_title_json(self.name)}"


EMPTY_LOCK = Lock()


class Reconciled(NamedTuple):
    """The plan as it is to be published, the lock that records it, and what changed."""

    plan: Plan
    lock: Lock
    changes: tuple[Change, ...]


# ---------------------------------------------------------------------------
# content hash


def content_hash(event: Event) -> str:
    """Hash everything subscribers see of an event, except DTSTAMP and SEQUENCE.

    UID and key are identity, not content; `partner_ids` decides which feeds
    carry a shared event, not what the event says.
    """
    return _Hasher()(event)


class _Hasher:
    """`content_hash` with memory: a partner's events share their people and reminders.

    Caches are keyed by object identity, so one hasher must only live as long
    as the plan whose objects it has seen (one `reconcile` call).
    """

    def __init__(self) -> None:
        self._people: dict[tuple[int, int], str] = {}

    def __call__(self, event: Event) -> str:
        return self.digest(event, event.start.isoformat(), event.end.isoformat())

    def digest(self, event: Event, start: str, end: str) -> str:
        """Hash `event` given its start and end in ISO form (the lock line needs them too)."""
        attendees, reminders = event.attendees, event.reminders
        ids = (id(attendees), id(reminders))
        people = self._people.get(ids)
        if people is None:
            people = "\x1e".join(_person_text(p) for p in attendees) + "\x1f"
            people += ",".join(str(int(r.total_seconds())) for r in reminders)
            self._people[ids] = people
        # Organizers are rarely shared between events: rendering beats a cache lookup.
        organizer = event.organizer
        host = (
            f"{organizer.name}\x1d{organizer.email}\x1d{organizer.role}"
            if organizer is not None
            else ""
        )
        parts = (
            event.title,
            start,
            end,
            event.timezone,
            "1" if event.all_day else "0",
            event.location,
            event.description,
            event.kind,
            event.purpose,
            event.mode,
            event.focus_area or "",
            event.direction or "",
            event.status,
            event.partner_id or "",
            event.manager_id or "",
            host,
            people,
        )
        # Only a deliberately escaped YAML string can hold these separator
        # characters; the worst a crafted collision can do is skip one SEQUENCE bump.
        data = "\x1f".join(parts).encode("utf-8", "surrogatepass")
        return blake2b(data, digest_size=8).hexdigest()


def _person_text(person: Person) -> str:
    return f"{person.name}\x1d{person.email}\x1d{person.role}"


# ---------------------------------------------------------------------------
# text <-> Lock


def dumps(lock: Lock) -> str:
    """Render the lock as its canonical text (sorted by key, LF line endings)."""
    lines = list(_PREAMBLE)
    lines.extend(o.line() for o in sorted(lock.owners, key=_owner_key))
    lines.extend(map(_entry_line, sorted(lock.entries, key=_entry_key)))
    lines.append("")  # the final newline, without copying the whole text once more
    return "\n".join(lines)


def make_entry(
    *,
    key: str,
    uid: str,
    status: Status,
    sequence: int,
    content_hash: str,
    stamp: datetime,
    details: EntryDetails,
) -> LockEntry:
    """Build an entry together with its canonical line."""
    d = details
    line = _line(
        key,
        d.start.isoformat(),
        d.end.isoformat(),
        d.timezone,
        status,
        sequence,
        content_hash,
        format_stamp(stamp),
        uid,
        d.partner_id,
        d.manager_id,
        d.kind,
        d.title,
    )
    return _new_entry(key, uid, status, sequence, content_hash, stamp, line)


def _line(
    key: str,
    start: str,
    end: str,
    timezone: str,
    status: str,
    sequence: int,
    content_hash: str,
    stamp: str,
    uid: str,
    partner_id: str | None,
    manager_id: str | None,
    kind: str,
    title: str,
) -> str:
    """Render one entry's canonical line from its parts (start, end and stamp already text)."""
    ids = f"{key} {uid} {partner_id or '-'} {manager_id or '-'} {kind}"
    if _PLAIN_IDS.fullmatch(ids):  # nearly always: slugs need no quoting, one check for all
        return (
            f"{key} {start}[{timezone}] {end} {status} seq={sequence} hash={content_hash}"
            f" stamp={stamp} uid={uid} partner={partner_id or '-'} manager={manager_id or '-'}"
            f" kind={kind} title={_title_json(title)}"
        )
    return (
        f"{_token(key)} {start}[{timezone}] {end} {status} seq={sequence} hash={content_hash}"
        f" stamp={stamp} uid={_token(uid)} partner={_token(partner_id or '-')}"
        f" manager={_token(manager_id or '-')} kind={_token(kind)} title={_title_json(title)}"
    )


def _new_entry(
    key: str,
    uid: str,
    status: Status,
    sequence: int,
    content_hash: str,
    stamp: datetime,
    line: str,
) -> LockEntry:
    # A named tuple's own constructor is a Python function; the tuple
    # constructor it ends in is several times cheaper on 350,000 entries.
    return _tuple_new(LockEntry, (key, uid, status, sequence, content_hash, stamp, line))


def _owner_key(owner: FeedOwner) -> tuple[str, str]:
    return (owner.kind, owner.id)


def _token(value: str) -> str:
    # Ids are slugs, so this is nearly always the identity; quoting keeps a
    # space or newline from ever splitting a field if ids get looser one day.
    if _PLAIN.fullmatch(value):
        return value
    return quote(value, safe=_SAFE) if value else "-"


def _untoken(value: str) -> str:
    return unquote(value) if "%" in value else value


def _title_json(title: str) -> str:
    # What json.dumps(title, ensure_ascii=False) returns, without building an
    # encoder per call. JSON escapes quotes and control characters; the line
    # separators it leaves alone would split the line for tools that treat them
    # as newlines (all three are non-ASCII, so ASCII titles skip the search).
    text = _encode_basestring(title)
    if text.isascii():
        return text
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")


@lru_cache(maxsize=256)
def format_stamp(stamp: datetime) -> str:
    """Render a DTSTAMP in iCalendar's UTC form, e.g. 20270101T090000Z."""
    return stamp.astimezone(UTC).strftime(_STAMP_FORMAT)


@lru_cache(maxsize=256)
def _parse_stamp(text: str) -> datetime:
    # Most entries share a handful of stamps (one per run that changed them).
    return datetime.strptime(text, _STAMP_FORMAT).replace(tzinfo=UTC)


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=1024)
def _zone_ok(name: str) -> bool:
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@lru_cache(maxsize=4096)
def _date_ok(text: str) -> bool:
    # A year holds a few hundred distinct days, so this cache nearly always hits.
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def loads(text: str, name: str = LOCK_NAME) -> Lock:
    """Parse lock text; raise ConfigError locating every problem (file:line:column)."""
    lock = _loads_as_written(text)
    if lock is not None:
        return lock
    problems: list[Problem] = []
    entries: list[LockEntry] = []
    seen_keys: dict[str, int] = {}
    seen_uids: dict[str, int] = {}
    owners: list[FeedOwner] = []
    seen_owners: set[tuple[str, str]] = set()
    header_seen = False

    def problem(line_no: int, column: int, message: str) -> None:
        problems.append(Problem(name, line_no, column, "", message))

    crlf = "\r" in text
    for line_no, line in enumerate(text.split("\n"), start=1):
        if crlf and line.endswith("\r"):
            line = line[:-1]  # tolerate CRLF checkouts
        # Event lines are nearly all of a lock: try the fast parser first (it
        # refuses any line whose first character could make it something else).
        entry = _fast_entry(line) if header_seen else None
        if entry is None:
            if not line or line[0] == "#" or line.isspace():
                continue
            if line.startswith(("<<<<<<<", "=======", ">>>>>>>", "|||||||")):
                problem(
                    line_no,
                    1,
                    "unresolved merge conflict; keep either side, then run 'chancal lock' "
                    "to rebuild the lock from the program",
                )
                continue
            if not header_seen:
                header_seen = True
                if line.strip() != _HEADER:
                    if line.startswith("chancal-lock "):
                        message = (
                            f"unsupported lock format '{line.strip()}'; this chancal reads "
                            f"'{_HEADER}' (upgrade chancal, or rebuild with 'chancal lock')"
                        )
                    else:
                        message = f"not a chancal lock file: the first line must be '{_HEADER}'"
                    problem(line_no, 1, message)
                    break
                continue
            if line[0] == "@":
                owner = _parse_owner(line, line_no, problem)
                if owner is not None:
                    if (owner.kind, owner.id) in seen_owners:
                        problem(line_no, 1, f"{owner.kind} '{owner.id}' is listed twice")
                    seen_owners.add((owner.kind, owner.id))
                    owners.append(owner)
                continue
            parsed = _parse_line(line, line_no, problem)
            if parsed is None:
                if len(problems) >= _TOO_MANY_PROBLEMS:
                    break
                continue
            entry = parsed.entry
        key, uid = entry.key, entry.uid
        if key in seen_keys:
            problem(line_no, 1, f"event key '{key}' is already locked on line {seen_keys[key]}")
        elif uid in seen_uids:
            column = line.index(" uid=") + 6
            problem(
                line_no,
                column,
                f"UID '{uid}' is already used on line {seen_uids[uid]};"
                " a UID belongs to one event only",
            )
        else:
            seen_keys[key] = line_no
            seen_uids[uid] = line_no
            entries.append(entry)
    if not header_seen and not problems:
        problem(1, 1, f"empty lock file: the first line must be '{_HEADER}'")
    if problems:
        raise ConfigError(problems)
    entries.sort(key=_entry_key)
    owners.sort(key=_owner_key)
    return Lock(tuple(entries), tuple(owners))


def _loads_as_written(text: str) -> Lock | None:
    """Read a lock exactly as chancal writes it, or return None to let `loads` check it.

    Everything this accepts, `loads` would accept line by line with the same
    result; anything else (CRLF, unusual lines, duplicates, any problem) gets
    the full pass, which locates what is wrong. Skipping that pass's per-line
    bookkeeping matters with 350,000 lines.
    """
    if "\r" in text:
        return None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # after the final newline
    owners: list[FeedOwner] = []
    header_seen = False
    first_event = len(lines)
    for index, line in enumerate(lines):
        if not line or line[0] == "#":
            continue
        if not header_seen:
            if line != _HEADER:
                return None
            header_seen = True
        elif line[0] == "@":
            owner = _parse_owner(line, 0, _ignore)
            if owner is None:
                return None
            owners.append(owner)
        else:
            first_event = index
            break
    if not header_seen:
        return None
    # From its first event on, chancal writes event lines only.
    parsed = list(map(_fast_entry, lines[first_event:]))
    if None in parsed:
        return None
    entries = cast(list[LockEntry], parsed)
    # A key, UID or feed listed twice is a problem for `loads` to locate.
    if len(set(map(_entry_key, entries))) != len(entries):
        return None
    if len({e.uid for e in entries}) != len(entries):
        return None
    if len({(o.kind, o.id) for o in owners}) != len(owners):
        return None
    entries.sort(key=_entry_key)
    owners.sort(key=_owner_key)
    return Lock(tuple(entries), tuple(owners))


def _ignore(line_no: int, column: int, message: str) -> None:
    pass  # the caller sees None and lets the full pass report it


def _parse_owner(line: str, line_no: int, problem: _Reporter) -> FeedOwner | None:
    m = _OWNER.fullmatch(line)
    if m is None:
        problem(
            line_no, 1, 'malformed feed line; expected @partner|@manager <id> tz=<zone> name="..."'
        )
        return None
    if not _zone_ok(m["tz"]):
        problem(line_no, m.start("tz") + 1, f"unknown time zone '{m['tz']}'")
        return None
    try:
        name = json.loads(m["name"])
    except ValueError:
        name = None
    if not isinstance(name, str):
        problem(line_no, m.start("name") + 1, 'the name must be a JSON string, e.g. "Acme"')
        return None
    kind: Literal["partner", "manager"] = "partner" if m["kind"] == "partner" else "manager"
    return FeedOwner(kind, _untoken(m["id"]), m["tz"], name)


def _fast_entry(line: str) -> LockEntry | None:
    """Accept a line exactly as chancal writes it, checking it as cheaply as possible.

    Anything unusual (escapes, odd offsets, errors) returns None and goes
    through `_parse_line`, which checks every field and says what is wrong.
    """
    m = _FAST.fullmatch(line)
    if m is None:
        return None
    key, start_day, start_time, zone, end_day, end_time, status, seq, digest, stamp_text, uid = (
        m.groups()
    )
    if start_time is None:
        if end_time is not None or end_day <= start_day:
            return None
    elif end_time is None or start_time[-6:] != end_time[-6:]:
        return None  # an offset change inside the event: let the full parser compare
    elif end_day + end_time <= start_day + start_time:
        return None
    if not (_date_ok(start_day) and _date_ok(end_day) and _zone_ok(zone)):
        return None
    try:
        stamp = _parse_stamp(stamp_text)
    except ValueError:
        return None
    return _tuple_new(LockEntry, (key, uid, status, int(seq), digest, stamp, line))


@lru_cache(maxsize=4096)
def _details(line: str) -> EntryDetails:
    parsed = _parse_line(line, 0, _unreachable)
    if parsed is None:  # pragma: no cover - loads() accepted this line already
        raise ValueError(f"corrupt lock line: {line!r}")
    return parsed.details


def _unreachable(line_no: int, column: int, message: str) -> None:  # pragma: no cover
    raise ValueError(message)


def _parse_line(line: str, line_no: int, problem: _Reporter) -> _Parsed | None:
    m = _LINE.fullmatch(line)
    if m is None:
        fields = "key start end STATUS seq= hash= stamp= uid= partner= manager= kind= title="
        problem(line_no, 1, f"malformed lock line; expected the fields: {fields}")
        return None

    def col(group: str) -> int:
        return m.start(group) + 1

    key = _untoken(m["key"])
    start_text, zone_name = _split_zone(m["start"])
    if zone_name is None:
        problem(
            line_no, col("start"), "the start must end with its time zone, e.g. [Europe/Berlin]"
        )
        return None
    if not _zone_ok(zone_name):
        problem(line_no, col("start"), f"unknown time zone '{zone_name}'")
        return None
    zone = _zone(zone_name)
    start = _parse_instant(start_text, zone)
    if start is None:
        problem(line_no, col("start"), f"'{start_text}' is not an ISO date or date-time")
        return None
    end = _parse_instant(m["end"], zone)
    if end is None:
        problem(line_no, col("end"), f"'{m['end']}' is not an ISO date or date-time")
        return None
    all_day = not isinstance(start, datetime)
    if isinstance(end, datetime) == all_day:
        problem(line_no, col("end"), "start and end must both be dates or both date-times")
        return None
    if end <= start:
        problem(line_no, col("end"), "the end must be after the start")
        return None
    status = m["status"]
    if status not in _STATUSES:
        choices = ", ".join(sorted(_STATUSES))
        problem(line_no, col("status"), f"unknown status '{status}'; expected one of {choices}")
        return None
    seq_text = m["seq"]
    if not seq_text.isascii() or not seq_text.isdigit():
        problem(line_no, col("seq"), f"seq must be a whole number, not '{seq_text}'")
        return None
    if not _HASH.fullmatch(m["hash"]):
        problem(line_no, col("hash"), "hash must be 16 lower-case hex digits")
        return None
    try:
        stamp = _parse_stamp(m["stamp"])
    except ValueError:
        problem(line_no, col("stamp"), "stamp must look like 20270101T090000Z (UTC)")
        return None
    uid = _untoken(m["uid"])
    if not uid or uid == "-":
        problem(line_no, col("uid"), "the UID is missing")
        return None
    title_text = m["title"]
    try:
        title = json.loads(title_text)
    except ValueError:
        title = None
    if not isinstance(title, str):
        problem(line_no, col("title"), 'the title must be a JSON string, e.g. "Quarterly review"')
        return None
    partner = _untoken(m["partner"])
    manager = _untoken(m["manager"])
    entry = LockEntry(
        key,
        uid,
        status,  # type: ignore[arg-type]  # checked against _STATUSES above
        int(seq_text),
        m["hash"],
        stamp,
        line,
    )
    details = EntryDetails(
        start=start,
        end=end,
        timezone=zone_name,
        all_day=all_day,
        partner_id=None if partner in ("", "-") else partner,
        manager_id=None if manager in ("", "-") else manager,
        kind=_untoken(m["kind"]),
        title=title,
    )
    return _Parsed(entry, details)


def _split_zone(text: str) -> tuple[str, str | None]:
    if not text.endswith("]") or "[" not in text:
        return text, None
    value, _, zone = text[:-1].partition("[")
    return value, zone


def _parse_instant(text: str, zone: ZoneInfo) -> date | datetime | None:
    try:
        if "T" not in text:
            return date.fromisoformat(text)
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        return None
    # The offset fixes the instant that was published; the zone gives it back
    # its rules, so a tzdata update can never shift a locked event silently.
    return value.astimezone(zone)


# ---------------------------------------------------------------------------
# plan <-> lock


def pins(lock: Lock) -> dict[str, date | datetime]:
    """Published starts the planner should keep: every event not cancelled."""
    pinned: dict[str, date | datetime] = {}
    # Start fields by their text: many events share a start (same day, hour and zone).
    starts: dict[str, date | datetime] = {}
    for entry in lock.entries:
        if entry.status == "CANCELLED":
            continue
        field = _start_field(entry.line)
        start = starts.get(field)
        if start is None:
            start = _start_value(field)
            if start is None:
                start = entry.start  # not as chancal writes it: the full parser says why
            else:
                starts[field] = start
        pinned[entry.key] = start
    return pinned


def _start_field(line: str) -> str:
    # The second field, as _LINE splits it: keys and starts hold no spaces.
    first = line.find(" ") + 1
    end = line.find(" ", first)
    return line[first:end] if first and end > 0 else ""


def _start_value(field: str) -> date | datetime | None:
    """Parse a start field (`value[zone]`) exactly as `_parse_line` does; None if invalid."""
    text, zone_name = _split_zone(field)
    if zone_name is None or not _zone_ok(zone_name):
        return None
    return _parse_instant(text, _zone(zone_name))


def _record(event: Event, content: str, start: str, end: str) -> LockEntry:
    # The lock line of an event as published, its ISO times already rendered
    # (reconcile hashed them).
    stamp = event.stamp
    if stamp is None:
        raise ValueError(f"event {event.key} has no stamp; reconcile() sets it")
    line = _line(
        event.key,
        start,
        end,
        event.timezone,
        event.status,
        event.sequence,
        content,
        format_stamp(stamp),
        event.uid,
        event.partner_id,
        event.manager_id,
        event.kind,
        event.title,
    )
    return _new_entry(event.key, event.uid, event.status, event.sequence, content, stamp, line)


def reconcile(plan: Plan, lock: Lock, *, today: date, stamp: datetime) -> Reconciled:
    """Apply the lock to a fresh plan: keep UIDs, bump SEQUENCE where needed, cancel the gone.

    - in plan and lock, same content: the lock's UID, SEQUENCE and DTSTAMP (unchanged bytes);
    - in plan and lock, content or time changed: SEQUENCE + 1, DTSTAMP = `stamp`;
    - in plan, cancelled in the lock: restored with SEQUENCE + 1;
    - new: SEQUENCE 0, DTSTAMP = `stamp`;
    - in the lock only and not yet over: published as CANCELLED with SEQUENCE + 1, and
      kept (unchanged) on later runs until its last day is before `today`;
    - in the lock only and over, or outside the planning year: retired from the lock.
    """
    if stamp.tzinfo is None:
        raise ValueError("stamp must be timezone-aware")
    stamp = stamp.astimezone(UTC).replace(microsecond=0)
    locked = lock.by_key()
    uid_owner: dict[str, str] | None = None  # built for the first new event, if any
    moved_reasons = _moved_reasons(plan)
    digest_of = _Hasher().digest
    planned = {e.key for e in plan.events}
    if len(planned) != len(plan.events):
        counts = Counter(e.key for e in plan.events)
        twice = sorted(k for k, n in counts.items() if n > 1)
        # Two events under one key would share a UID: a planner bug, never a lock.
        raise ValueError(f"the plan holds these event keys twice: {', '.join(twice[:5])}")

    events: list[Event] = []
    entries: list[LockEntry] = []
    changes: _ChangeGroups = {}
    for event in plan.events:
        start, end = event.start.isoformat(), event.end.isoformat()
        digest = digest_of(event, start, end)
        old = locked.get(event.key)
        if old is None:
            if locked:
                if uid_owner is None:
                    uid_owner = {e.uid: e.key for e in lock.entries}
                _refuse_reused_uid(event, uid_owner)
            new = _published(event, event.uid, 0, stamp)
            # The whole plan on a first export: build the change without _change's checks.
            group = changes.get(event.partner_id)
            if group is None:
                group = changes[event.partner_id] = []
            group.append((event.start.toordinal(), event.key, _added(new)))
        elif old.status == "CANCELLED":
            new = _published(event, old.uid, old.sequence + 1, stamp)
            _note(changes, _change("restored", new, old))
        elif old.content_hash == digest and old.uid == event.uid:
            # The common case on every CI run: reuse the lock entry (and its text) as is.
            events.append(_published(event, old.uid, old.sequence, old.stamp))
            entries.append(old)
            continue
        elif old.content_hash == digest:
            new = _published(event, old.uid, old.sequence, old.stamp)
        else:
            new = _published(event, old.uid, old.sequence + 1, stamp)
            if _same_start(old.start, event.start):
                _note(changes, _change("changed", new, old))
            else:
                reason = moved_reasons.get((event.partner_id, event.rule_id, event.day), "")
                _note(changes, _change("moved", new, old, reason=reason))
        events.append(new)
        entries.append(_record(new, digest, start, end))

    partner_ids = tuple(sorted(p.id for p in plan.partners))
    cancelled: list[Event] = []
    gone = locked.keys() - planned
    for old in lock.entries if gone else ():
        if old.key not in gone:
            continue
        over = old.last_day < today
        outside = not (plan.year_start <= old.day < plan.year_end)
        if over or outside:
            _note(changes, _retired(old))
            continue
        if old.status == "CANCELLED":
            kept = old
        else:
            kept = make_entry(
                key=old.key,
                uid=old.uid,
                status="CANCELLED",
                sequence=old.sequence + 1,
                content_hash=old.content_hash,
                stamp=stamp,
                details=old.details,
            )
        event = _cancelled_event(kept, partner_ids)
        if kept is not old:
            _note(changes, _change("cancelled", event, old))
        cancelled.append(event)
        entries.append(kept)

    cancelled.sort(key=_order)
    merged = tuple(heapq.merge(events, cancelled, key=_order)) if cancelled else tuple(events)
    known: dict[tuple[str, str], FeedOwner] = {(o.kind, o.id): o for o in lock.owners}
    result = replace(
        plan,
        events=merged,
        partners=_with_missing_partners(plan.partners, cancelled, known),
        managers=_with_missing_managers(plan.managers, cancelled, known),
    )
    owners = [FeedOwner("partner", p.id, p.timezone, p.name) for p in result.partners]
    owners += [FeedOwner("manager", m.id, m.timezone, m.name) for m in result.managers]
    owners.sort(key=_owner_key)
    entries.sort(key=_entry_key)
    return Reconciled(result, Lock(tuple(entries), tuple(owners)), _in_report_order(changes))


def _refuse_reused_uid(event: Event, uid_owner: Mapping[str, str]) -> None:
    owner = uid_owner.get(event.uid)
    if owner is not None and owner != event.key:
        raise ValueError(
            f"UID {event.uid} of {event.key} is locked for {owner}; UIDs are never reused"
        )


def _make_copier() -> Callable[[Event, str, int, datetime], Event]:
    # dataclasses.replace costs several microseconds per event and runs 350,000
    # times on a large program; a straight-line copy built from Event's own
    # slots is several times faster and can never miss a field added later.
    # Each slot's descriptor setter is bound as a default argument: calling it
    # directly skips the lookup that object.__setattr__ repeats for every field.
    overrides = {"uid": "uid", "sequence": "sequence", "stamp": "stamp"}
    setters = "".join(f", _set_{name}=_slots[{name!r}].__set__" for name in Event.__slots__)
    body = "".join(
        f"    _set_{name}(new, {overrides.get(name, 'event.' + name)})\n"
        for name in Event.__slots__
    )
    source = (
        f"def _published(event, uid, sequence, stamp, _new=_new, _cls=_cls{setters}):\n"
        "    new = _new(_cls)\n"
        f"{body}"
        "    return new\n"
    )
    namespace: dict[str, object] = {"_new": object.__new__, "_cls": Event, "_slots": vars(Event)}
    exec(source, namespace)  # the source is built above from Event's field names only
    copier: Callable[[Event, str, int, datetime], Event] = namespace["_published"]  # type: ignore[assignment]
    return copier


_published = _make_copier()
"""Copy an event with the UID, SEQUENCE and DTSTAMP subscribers get (a fast `replace`)."""


def _same_start(a: date | datetime, b: date | datetime) -> bool:
    if isinstance(a, datetime) != isinstance(b, datetime):
        return False
    return a == b


def _moved_reasons(plan: Plan) -> dict[tuple[str | None, str | None, date | None], str]:
    reasons: dict[tuple[str | None, str | None, date | None], str] = {}
    for d in plan.diagnostics:
        if d.code == "moved":
            reasons.setdefault((d.partner_id, d.rule_id, d.day), d.message)
    return reasons


def _change(kind: ChangeKind, event: Event, old: LockEntry | None, *, reason: str = "") -> Change:
    was = old.details if old is not None else None
    details: list[str] = []
    if old is not None and was is not None and kind in ("changed", "moved"):
        if was.title != event.title:
            details.append("title")
        if not _same_start(was.start, event.start) or was.end != event.end:
            details.append("time")
        if old.status != event.status:
            details.append("status")
        if not details:
            details.append("details")
    return Change(
        kind=kind,
        key=event.key,
        uid=event.uid,
        partner_id=event.partner_id,
        manager_id=event.manager_id,
        title=event.title,
        old_start=was.start if was is not None else None,
        new_start=None if kind == "cancelled" else event.start,
        sequence=event.sequence,
        old_title=was.title if was is not None and was.title != event.title else None,
        details=tuple(details),
        reason=reason,
    )


def _added(event: Event) -> Change:
    # _change("added", event, None), built positionally: a first export adds every event.
    return _tuple_new(
        Change,
        (
            "added",
            event.key,
            event.uid,
            event.partner_id,
            event.manager_id,
            event.title,
            None,
            event.start,
            event.sequence,
            None,
            (),
            "",
        ),
    )


def _note(changes: _ChangeGroups, change: Change) -> None:
    when = change.new_start or change.old_start
    day = when.toordinal() if when is not None else 0
    changes.setdefault(change.partner_id, []).append((day, change.key, change))


def _retired(old: LockEntry) -> Change:
    was = old.details
    return Change(
        kind="retired",
        key=old.key,
        uid=old.uid,
        partner_id=was.partner_id,
        manager_id=was.manager_id,
        title=was.title,
        old_start=was.start,
        new_start=None,
        sequence=old.sequence,
    )


def _cancelled_event(entry: LockEntry, partner_ids: tuple[str, ...]) -> Event:
    # Only what the lock remembers: enough for a client to match the UID and
    # drop its copy (RFC 5545 needs UID, SEQUENCE, STATUS and DTSTART).
    was = entry.details
    spec = BUILTIN_KINDS.get(was.kind)
    segments = entry.key.split("/")
    return Event(
        key=entry.key,
        uid=entry.uid,
        partner_id=was.partner_id,
        manager_id=was.manager_id,
        rule_id=segments[1] if len(segments) > 1 else segments[0],
        kind=was.kind,
        purpose=spec.purpose if spec else "collaboration",
        title=was.title,
        start=was.start,
        end=was.end,
        timezone=was.timezone,
        all_day=was.all_day,
        mode=spec.mode if spec else "virtual",
        status="CANCELLED",
        sequence=entry.sequence,
        # A cancelled shared event goes to every partner still in the program.
        partner_ids=(was.partner_id,) if was.partner_id else partner_ids,
        stamp=entry.stamp,
    )


def _order(event: Event) -> tuple[float, str]:
    start = event.start
    if isinstance(start, datetime):
        return (start.timestamp(), event.key)
    midnight = datetime(start.year, start.month, start.day, tzinfo=_zone(event.timezone))
    return (midnight.timestamp(), event.key)


# Changes by partner (None: shared events), each with its day ordinal and key.
_ChangeGroups = dict[str | None, list[tuple[int, str, Change]]]
_day_and_key = itemgetter(0, 1)
_change_of = itemgetter(2)


def _in_report_order(changes: _ChangeGroups) -> tuple[Change, ...]:
    # Partner by partner (shared events last), each by day then key. Sorting each
    # partner's few changes is much cheaper than one sort of a first export's
    # every event on (partner, day, key) tuples; the order is the same.
    ordered: list[Change] = []
    partner_ids = sorted(p for p in changes if p is not None)
    for partner_id in [*partner_ids, None] if None in changes else partner_ids:
        group = changes[partner_id]
        group.sort(key=_day_and_key)
        ordered.extend(map(_change_of, group))
    return tuple(ordered)


def _with_missing_partners(
    partners: Sequence[PartnerInfo],
    events: Iterable[Event],
    owners: Mapping[tuple[str, str], FeedOwner],
) -> tuple[PartnerInfo, ...]:
    # A removed partner's subscribers still poll its feed: keep a PartnerInfo
    # (named as the lock remembers it) so the feed is written with the cancellations.
    known = {p.id for p in partners}
    missing: dict[str, PartnerInfo] = {}
    for e in events:
        pid = e.partner_id
        if pid is not None and pid not in known and pid not in missing:
            owner = owners.get(("partner", pid))
            missing[pid] = PartnerInfo(
                id=pid,
                name=owner.name if owner else pid,
                tier="",
                manager_id=e.manager_id or "",
                country="",
                timezone=owner.timezone if owner else e.timezone,
            )
    return tuple(partners) + tuple(missing[k] for k in sorted(missing))


def _with_missing_managers(
    managers: Sequence[ManagerInfo],
    events: Iterable[Event],
    owners: Mapping[tuple[str, str], FeedOwner],
) -> tuple[ManagerInfo, ...]:
    known = {m.id for m in managers}
    missing: dict[str, ManagerInfo] = {}
    for e in events:
        mid = e.manager_id
        if mid is not None and mid not in known and mid not in missing:
            owner = owners.get(("manager", mid))
            missing[mid] = ManagerInfo(
                id=mid,
                name=owner.name if owner else mid,
                email="",
                timezone=owner.timezone if owner else e.timezone,
                meetings_per_week=0,
                hours_per_week=0.0,
                site_visits_per_month=0,
            )
    return tuple(managers) + tuple(missing[k] for k in sorted(missing))
