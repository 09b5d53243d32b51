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
    <key> <start>[<tz>] <end> <STATUS> seq=<n> hash=<hex> stamp=<UTC> uid=<uid> \
partner=<id|-> manager=<id|-> kind=<kind> title=<JSON string>

`start` and `end` are ISO 8601: a date for all-day events (the end is
exclusive), else a date-time with its UTC offset; the start carries the IANA
time zone in brackets (RFC 9557 style). `stamp` is the DTSTAMP in iCalendar's
UTC form. Key, ids and kind are percent-encoded if they ever hold a space or
`%`; the title is a JSON string and always last.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Literal, NamedTuple
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chancal.errors import ConfigError, Problem
from chancal.kinds import BUILTIN_KINDS
from chancal.plan import Event, ManagerInfo, PartnerInfo, Plan, Status

LOCK_NAME = "chancal.lock"
FORMAT_VERSION = 1
_HEADER = f"chancal-lock {FORMAT_VERSION}"
_PREAMBLE = (
    _HEADER,
    "# The calendar as published to subscribers. Commit it beside the program file;",
    "# `chancal export --ics` and `chancal lock` rewrite it, `chancal diff` compares against it.",
    "# key start[tz] end STATUS seq= hash= stamp= uid= partner= manager= kind= title=",
    "# All-day events have dates and an exclusive end; timed events carry their UTC offset.",
)

ChangeKind = Literal["added", "moved", "changed", "cancelled", "restored", "retired"]
CHANGE_KINDS: tuple[ChangeKind, ...] = (
    "added",
    "moved",
    "changed",
    "cancelled",
    "restored",
    "retired",
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
_TOO_MANY_PROBLEMS = 20

_Reporter = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class LockEntry:
    """What subscribers were last given for one event key."""

    key: str
    uid: str
    start: date | datetime
    end: date | datetime
    timezone: str
    all_day: bool
    status: Status
    sequence: int
    content_hash: str
    stamp: datetime  # aware, UTC
    partner_id: str | None
    manager_id: str | None
    kind: str
    title: str

    @property
    def day(self) -> date:
        """The first calendar day, in the event's own time zone."""
        return self.start.date() if isinstance(self.start, datetime) else self.start

    @property
    def last_day(self) -> date:
        """The last calendar day the event touches, in its own time zone."""
        if isinstance(self.end, datetime):
            return self.end.date()
        return self.end - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Lock:
    """Every published event, sorted by key."""

    entries: tuple[LockEntry, ...] = ()

    def by_key(self) -> dict[str, LockEntry]:
        """Index the entries by event key."""
        return {e.key: e for e in self.entries}


EMPTY_LOCK = Lock()


@dataclass(frozen=True, slots=True)
class Change:
    """One difference a reviewer should see between the lock and the fresh plan."""

    kind: ChangeKind
    key: str
    uid: str
    partner_id: str | None
    manager_id: str | None
    title: str
    old_start: date | datetime | None  # None for added
    new_start: date | datetime | None  # None for cancelled and retired
    sequence: int  # the SEQUENCE subscribers get (cancelled: of the cancellation)
    old_title: str | None = None  # set when the title changed
    details: tuple[str, ...] = ()  # what changed: "title", "time", "status", "details"
    reason: str = ""  # the planner's diagnostic, for moved events


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
    parts = [
        event.title,
        _instant_text(event.start),
        _instant_text(event.end),
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
        _person_text(event.organizer) if event.organizer else "",
        "\x1e".join(_person_text(p) for p in event.attendees),
        ",".join(str(int(r.total_seconds())) for r in event.reminders),
    ]
    # Unit and record separators cannot occur in YAML-loaded text by accident
    # in a way that makes two different events collide on the same joined text.
    data = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _person_text(person: object) -> str:
    name = getattr(person, "name", "")
    email = getattr(person, "email", "")
    role = getattr(person, "role", "")
    return f"{name}\x1d{email}\x1d{role}"


def _instant_text(value: date | datetime) -> str:
    return value.isoformat()


# ---------------------------------------------------------------------------
# text <-> Lock


def dumps(lock: Lock) -> str:
    """Render the lock as its canonical text (sorted by key, LF line endings)."""
    lines = list(_PREAMBLE)
    lines.extend(_entry_line(e) for e in sorted(lock.entries, key=lambda e: e.key))
    return "\n".join(lines) + "\n"


def _entry_line(e: LockEntry) -> str:
    return (
        f"{_token(e.key)} {_iso(e.start)}[{e.timezone}] {_iso(e.end)} {e.status}"
        f" seq={e.sequence} hash={e.content_hash} stamp={format_stamp(e.stamp)}"
        f" uid={_token(e.uid)} partner={_token(e.partner_id or '-')}"
        f" manager={_token(e.manager_id or '-')} kind={_token(e.kind)}"
        f" title={_title_json(e.title)}"
    )


def _iso(value: date | datetime) -> str:
    return value.isoformat()


def _token(value: str) -> str:
    # Ids are slugs, so this is nearly always the identity; quoting keeps a
    # space or newline from ever splitting a field if ids get looser one day.
    return quote(value, safe=_SAFE) if value else "-"


def _title_json(title: str) -> str:
    # JSON escapes quotes and control characters; the line separators it leaves
    # alone would split the line for tools that treat them as newlines.
    text = json.dumps(title, ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")


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


def loads(text: str, name: str = LOCK_NAME) -> Lock:
    """Parse lock text; raise ConfigError locating every problem (file:line:column)."""
    problems: list[Problem] = []
    entries: list[LockEntry] = []
    seen_keys: dict[str, int] = {}
    seen_uids: dict[str, int] = {}
    header_seen = False

    def problem(line_no: int, column: int, message: str) -> None:
        problems.append(Problem(name, line_no, column, "", message))

    for line_no, raw in enumerate(text.split("\n"), start=1):
        line = raw[:-1] if raw.endswith("\r") else raw  # tolerate CRLF checkouts
        if not line.strip() or line.startswith("#"):
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
        entry = _parse_line(line, line_no, problem)
        if entry is None:
            if len(problems) >= _TOO_MANY_PROBLEMS:
                break
            continue
        if entry.key in seen_keys:
            problem(
                line_no,
                1,
                f"event key '{entry.key}' is already locked on line {seen_keys[entry.key]}",
            )
        elif entry.uid in seen_uids:
            column = line.index(" uid=") + 6
            problem(
                line_no,
                column,
                f"UID '{entry.uid}' is already used on line {seen_uids[entry.uid]};"
                " a UID belongs to one event only",
            )
        else:
            seen_keys[entry.key] = line_no
            seen_uids[entry.uid] = line_no
            entries.append(entry)
    if not header_seen and not problems:
        problem(1, 1, f"empty lock file: the first line must be '{_HEADER}'")
    if problems:
        raise ConfigError(problems)
    entries.sort(key=lambda e: e.key)
    return Lock(tuple(entries))


def _parse_line(line: str, line_no: int, problem: _Reporter) -> LockEntry | None:
    m = _LINE.fullmatch(line)
    if m is None:
        fields = "key start end STATUS seq= hash= stamp= uid= partner= manager= kind= title="
        problem(line_no, 1, f"malformed lock line; expected the fields: {fields}")
        return None

    def col(group: str) -> int:
        return m.start(group) + 1

    key = unquote(m["key"])
    start_text, zone_name = _split_zone(m["start"])
    if zone_name is None:
        problem(
            line_no, col("start"), "the start must end with its time zone, e.g. [Europe/Berlin]"
        )
        return None
    try:
        zone = _zone(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        problem(line_no, col("start"), f"unknown time zone '{zone_name}'")
        return None
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
    uid = unquote(m["uid"])
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
    partner = unquote(m["partner"])
    manager = unquote(m["manager"])
    return LockEntry(
        key=key,
        uid=uid,
        start=start,
        end=end,
        timezone=zone_name,
        all_day=all_day,
        status=status,  # type: ignore[arg-type]  # checked against _STATUSES above
        sequence=int(seq_text),
        content_hash=m["hash"],
        stamp=stamp,
        partner_id=None if partner in ("", "-") else partner,
        manager_id=None if manager in ("", "-") else manager,
        kind=unquote(m["kind"]),
        title=title,
    )


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
    return {e.key: e.start for e in lock.entries if e.status != "CANCELLED"}


def entry_for(event: Event, *, content: str | None = None) -> LockEntry:
    """Record an event as published (its `stamp` must be set)."""
    if event.stamp is None:
        raise ValueError(f"event {event.key} has no stamp; reconcile() sets it")
    return LockEntry(
        key=event.key,
        uid=event.uid,
        start=event.start,
        end=event.end,
        timezone=event.timezone,
        all_day=event.all_day,
        status=event.status,
        sequence=event.sequence,
        content_hash=content if content is not None else content_hash(event),
        stamp=event.stamp,
        partner_id=event.partner_id,
        manager_id=event.manager_id,
        kind=event.kind,
        title=event.title,
    )


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
    uid_owner = {e.uid: e.key for e in lock.entries}
    moved_reasons = _moved_reasons(plan)

    events: list[Event] = []
    entries: list[LockEntry] = []
    changes: list[Change] = []
    for event in plan.events:
        digest = content_hash(event)
        old = locked.get(event.key)
        if old is None:
            owner = uid_owner.get(event.uid)
            if owner is not None and owner != event.key:
                raise ValueError(
                    f"UID {event.uid} of {event.key} is locked for {owner}; UIDs are never reused"
                )
            new = replace(event, sequence=0, stamp=stamp)
            changes.append(_change("added", new, None))
        elif old.status == "CANCELLED":
            new = replace(event, uid=old.uid, sequence=old.sequence + 1, stamp=stamp)
            changes.append(_change("restored", new, old))
        elif old.content_hash == digest:
            new = replace(event, uid=old.uid, sequence=old.sequence, stamp=old.stamp)
        else:
            new = replace(event, uid=old.uid, sequence=old.sequence + 1, stamp=stamp)
            if _same_start(old.start, event.start):
                changes.append(_change("changed", new, old))
            else:
                reason = moved_reasons.get((event.partner_id, event.rule_id, event.day), "")
                changes.append(_change("moved", new, old, reason=reason))
        events.append(new)
        entries.append(entry_for(new, content=digest))

    planned = {e.key for e in plan.events}
    partner_ids = tuple(sorted(p.id for p in plan.partners))
    cancelled: list[Event] = []
    for old in lock.entries:
        if old.key in planned:
            continue
        over = old.last_day < today
        outside = not (plan.year_start <= old.day < plan.year_end)
        if over or outside:
            changes.append(_retired(old))
            continue
        if old.status == "CANCELLED":
            kept = old
        else:
            kept = replace(old, status="CANCELLED", sequence=old.sequence + 1, stamp=stamp)
        event = _cancelled_event(kept, partner_ids)
        if kept is not old:
            changes.append(_change("cancelled", event, old))
        cancelled.append(event)
        entries.append(kept)

    cancelled.sort(key=_order)
    merged = tuple(heapq.merge(events, cancelled, key=_order)) if cancelled else tuple(events)
    result = replace(
        plan,
        events=merged,
        partners=_with_missing_partners(plan.partners, cancelled),
        managers=_with_missing_managers(plan.managers, cancelled),
    )
    entries.sort(key=lambda e: e.key)
    changes.sort(key=_change_order)
    return Reconciled(result, Lock(tuple(entries)), tuple(changes))


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
    details: list[str] = []
    if old is not None and kind in ("changed", "moved"):
        if old.title != event.title:
            details.append("title")
        if not _same_start(old.start, event.start) or old.end != event.end:
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
        old_start=old.start if old is not None else None,
        new_start=None if kind == "cancelled" else event.start,
        sequence=event.sequence,
        old_title=old.title if old is not None and old.title != event.title else None,
        details=tuple(details),
        reason=reason,
    )


def _retired(old: LockEntry) -> Change:
    return Change(
        kind="retired",
        key=old.key,
        uid=old.uid,
        partner_id=old.partner_id,
        manager_id=old.manager_id,
        title=old.title,
        old_start=old.start,
        new_start=None,
        sequence=old.sequence,
    )


def _cancelled_event(entry: LockEntry, partner_ids: tuple[str, ...]) -> Event:
    # Only what the lock remembers: enough for a client to match the UID and
    # drop its copy (RFC 5545 needs UID, SEQUENCE, STATUS and DTSTART).
    spec = BUILTIN_KINDS.get(entry.kind)
    segments = entry.key.split("/")
    return Event(
        key=entry.key,
        uid=entry.uid,
        partner_id=entry.partner_id,
        manager_id=entry.manager_id,
        rule_id=segments[1] if len(segments) > 1 else segments[0],
        kind=entry.kind,
        purpose=spec.purpose if spec else "collaboration",
        title=entry.title,
        start=entry.start,
        end=entry.end,
        timezone=entry.timezone,
        all_day=entry.all_day,
        mode=spec.mode if spec else "virtual",
        status="CANCELLED",
        sequence=entry.sequence,
        # A cancelled shared event goes to every partner still in the program.
        partner_ids=(entry.partner_id,) if entry.partner_id else partner_ids,
        stamp=entry.stamp,
    )


def _order(event: Event) -> tuple[float, str]:
    start = event.start
    if isinstance(start, datetime):
        return (start.timestamp(), event.key)
    midnight = datetime(start.year, start.month, start.day, tzinfo=_zone(event.timezone))
    return (midnight.timestamp(), event.key)


def _change_order(change: Change) -> tuple[int, str, int, str]:
    when = change.new_start or change.old_start
    day = when.toordinal() if when is not None else 0
    return (change.partner_id is None, change.partner_id or "", day, change.key)


def _with_missing_partners(
    partners: Sequence[PartnerInfo], events: Iterable[Event]
) -> tuple[PartnerInfo, ...]:
    # A removed partner's subscribers still poll its feed: keep a PartnerInfo
    # so the feed is written, holding the cancellations.
    known = {p.id for p in partners}
    missing: dict[str, PartnerInfo] = {}
    for e in events:
        pid = e.partner_id
        if pid is not None and pid not in known and pid not in missing:
            missing[pid] = PartnerInfo(
                id=pid,
                name=pid,
                tier="",
                manager_id=e.manager_id or "",
                country="",
                timezone=e.timezone,
            )
    return tuple(partners) + tuple(missing[k] for k in sorted(missing))


def _with_missing_managers(
    managers: Sequence[ManagerInfo], events: Iterable[Event]
) -> tuple[ManagerInfo, ...]:
    known = {m.id for m in managers}
    missing: dict[str, ManagerInfo] = {}
    for e in events:
        mid = e.manager_id
        if mid is not None and mid not in known and mid not in missing:
            missing[mid] = ManagerInfo(
                id=mid,
                name=mid,
                email="",
                timezone=e.timezone,
                meetings_per_week=0,
                hours_per_week=0.0,
                site_visits_per_month=0,
            )
    return tuple(managers) + tuple(missing[k] for k in sorted(missing))


def summarize(changes: Iterable[Change]) -> Mapping[ChangeKind, int]:
    """Count changes by kind, every kind present (zero if none), in a fixed order."""
    counts: dict[ChangeKind, int] = dict.fromkeys(CHANGE_KINDS, 0)
    for c in changes:
        counts[c.kind] += 1
    return counts
