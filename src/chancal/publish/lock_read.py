"""Reading a lock file: every line checked, every problem located (file:line:column).

The format is `chancal.publish.lock`'s. A 10,000-partner lock is 240 MB, so
it is read one line at a time, as bytes, and each event's text is kept as it
was written (`Shown`) instead of being decoded and encoded again.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, cast

from chancal.errors import ConfigError, Problem
from chancal.plan import Status
from chancal.publish.lock import (
    FORMAT_VERSION,
    LOCK_NAME,
    MAX_SEQUENCE,
    YEARS,
    FeedOwner,
    Lock,
    LockEntry,
    Shown,
    Withdrawn,
    _instant,
    _zone_ok,
)

_TOO_MANY_PROBLEMS = 20
# Each status's one string: an entry refers to it instead of holding a copy (58 bytes).
_STATUSES: dict[str, Status] = {
    "CONFIRMED": "CONFIRMED",
    "TENTATIVE": "TENTATIVE",
    "CANCELLED": "CANCELLED",
}


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
    reader = _Reader(name)
    lock = reader.read(enumerate(lines, start=1))
    reader.raise_problems()
    return lock


def reused_uid(uid: str, line: int) -> str:
    """The problem of a lock line whose UID an earlier line (`line`) already has."""
    return f"UID '{uid}' is already used on line {line}; a UID belongs to one event only"


_EVENT = b', "event": '
# The decoder's `raw_decode`, one call around its C scanner: `json.loads` adds a few
# microseconds of Python more for each value, and a lock line is two (benchmarks/README.md,
# "Lock lines scanned"). What it rejects is parsed again by `json.loads`, which says why.
_decode = json.JSONDecoder().raw_decode
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
        self.program_id: str | None = None
        self.entries: list[LockEntry] = []
        self.owners: list[FeedOwner] = []
        self.seen_keys: dict[str, int] = {}
        self.uid_lines: dict[str, int] = {}  # each UID's line
        self.seen_owners: set[tuple[str, str]] = set()

    @property
    def line(self) -> str:
        return self.raw.decode("utf-8", "replace")

    def problem(self, message: str, field_name: str | None = None) -> None:
        column = 1
        if field_name is not None:
            found = self.line.find(f'"{field_name}"')
            column = found + 1 if found >= 0 else 1
        self.problems.append(Problem(self.name, self.line_no, column, "", message))

    def read(self, lines: Iterable[tuple[int, bytes]]) -> Lock:
        """Read a whole lock from its numbered lines: the header first, then owners and events.

        Problems are collected, not raised (`raise_problems`).
        """
        header_seen = False
        for self.line_no, line in lines:
            raw = self._text(line)
            if raw is None:
                continue
            value = self._json(raw)
            if value is None:
                if not header_seen:
                    break
                continue
            if not header_seen:
                header_seen = True
                self.program_id = self._header(value)
                if self.program_id is None:
                    break
                continue
            self._record(value)
            if len(self.problems) >= _TOO_MANY_PROBLEMS:
                break
        if not header_seen and not self.problems:
            self.line_no = 1
            self.problem("empty lock file: the first line must be the chancal_lock header")
        return self.lock()

    def read_part(self, lines: Iterable[tuple[int, bytes]]) -> Lock:
        """Read some numbered lines of a lock after its header (one partner's events, say).

        The events and owners are checked as `read` checks them, against each
        other only: a UID also used in another part is for the caller to find
        (`uid_lines`). Problems are collected, not raised.
        """
        for self.line_no, line in lines:
            raw = self._text(line)
            value = None if raw is None else self._json(raw)
            if value is not None:
                self._record(value)
            if len(self.problems) >= _TOO_MANY_PROBLEMS:
                break
        return self.lock()

    def lock(self) -> Lock:
        """What has been read: its events by key and its owners by (kind, id)."""
        entries = sorted(self.entries, key=lambda e: e.key)
        owners = sorted(self.owners, key=lambda o: (o.kind, o.id))
        return Lock(self.program_id, tuple(entries), tuple(owners))

    def raise_problems(self) -> None:
        """Raise ConfigError with every problem found, if any."""
        if self.problems:
            raise ConfigError(self.problems)

    def _text(self, raw: bytes) -> bytes | None:
        """The line without its end; None if there is nothing to read (blank, a conflict marker)."""
        # Tolerate CRLF checkouts, and the BOM some editors add.
        raw = raw.removesuffix(b"\n").removesuffix(b"\r")
        self.raw = raw = raw.removeprefix(_BOM) if self.line_no == 1 else raw
        if not raw or raw.isspace():
            return None
        if raw.startswith((b"<<<<<<<", b"=======", b">>>>>>>", b"|||||||")):
            self.problem(
                "unresolved merge conflict; keep either side, then run 'chancal lock' "
                "to rebuild the lock from the program"
            )
            return None
        return raw

    def _record(self, value: dict[str, Any]) -> None:
        """Check an owner's or an event's line and keep it, unless it repeats an earlier one."""
        if "owner" in value:
            owner = self._owner(value)
            if owner is not None:
                if (owner.kind, owner.id) in self.seen_owners:
                    self.problem(f"{owner.kind} '{owner.id}' is listed twice")
                self.seen_owners.add((owner.kind, owner.id))
                self.owners.append(owner)
            return
        entry = self._entry(value)
        if entry is None:
            return
        if entry.key in self.seen_keys:
            self.problem(
                f"event key '{entry.key}' is already locked on line {self.seen_keys[entry.key]}",
                "key",
            )
        elif entry.uid in self.uid_lines:
            self.problem(reused_uid(entry.uid, self.uid_lines[entry.uid]), "uid")
        else:
            self.seen_keys[entry.key] = self.uid_lines[entry.uid] = self.line_no
            self.entries.append(entry)

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
        head, event = _whole(raw[:at] + b"}"), _whole(event_json)
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
            status=_STATUSES[cast(str, status)],
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
        text = value.get("stamp")
        stamp = _parse_stamp(text) if isinstance(text, str) else None
        if stamp is None or not YEARS[0] <= stamp.year <= YEARS[1]:
            self.problem(
                f'"stamp" must be a UTC time from {YEARS[0]} to {YEARS[1]}, '
                'such as "2027-01-04T09:00:00Z"',
                "stamp",
            )
            stamp = None
        feeds = value.get("feeds")
        listed = (
            tuple(feeds)
            if isinstance(feeds, list) and all(isinstance(f, str) for f in feeds)
            else None
        )
        # A partner's feed names are checked on its first event, not on every one.
        if listed is None or (listed not in self.feed_lists and not all(map(_feed_ok, listed))):
            self.problem(
                '"feeds" must list feed names: "all", "partner/<id>" or "manager/<id>"', "feeds"
            )
            return sequence, stamp, ()
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
        found = _span_problem(value["start"], value["end"], zone)
        if found is not None:
            self.problem(*found)
            return None
        if written is None:
            return Shown.of(value)
        return Shown(written, value["start"], value["end"], sys.intern(zone), canonical=False)


def _whole(text: bytes) -> object:
    """The JSON value that is the whole of `text`; None if it is not exactly one."""
    try:
        decoded = text.decode("utf-8")
        value, end = _decode(decoded)
    except ValueError:
        return None
    return value if end == len(decoded) else None


def _span_problem(start: str, end: str, zone: str) -> tuple[str, str] | None:
    """What is wrong with an event's start, end and zone, and in which field; None if nothing."""
    if not _zone_ok(zone):
        return f"unknown time zone '{zone}'", "timezone"
    try:
        first, last = _as_written(start), _as_written(end)
        if not (_well_inside(first) and _well_inside(last)):
            # Near a limit the year depends on the zone, and a time without an
            # offset on the machine's: judge the instants as they are published.
            first, last = _instant(start, zone), _instant(end, zone)
    except (ValueError, OverflowError):
        return "start and end must be ISO 8601 dates or date-times with offsets", "start"
    if not (YEARS[0] <= first.year <= YEARS[1] and YEARS[0] <= last.year <= YEARS[1]):
        return f"start and end must lie between {YEARS[0]} and {YEARS[1]}", "start"
    if isinstance(first, datetime) != isinstance(last, datetime):
        return "start and end must both be dates or both date-times", "end"
    if isinstance(first, datetime) and (first.utcoffset() is None or not _offset_given(start, end)):
        return "a timed event's start and end need their UTC offset", "start"
    if last <= first:
        return "the event must end after it starts", "end"
    return None


def _as_written(text: str) -> date | datetime:
    """The date, or the date-time at the offset its text gives (not yet in the event's zone).

    Enough to check a span: the same instants as `_instant`'s, without a
    conversion to the zone for each of a lock's 180,663 starts and ends (a
    second of reading a 10,000-partner lock, nearly all the checking).
    """
    return date.fromisoformat(text) if "T" not in text else datetime.fromisoformat(text)


def _well_inside(value: date | datetime) -> bool:
    """Whether no zone can move it out of `YEARS`, and a date-time has its offset."""
    if isinstance(value, datetime) and value.utcoffset() is None:
        return False
    return YEARS[0] < value.year < YEARS[1]


def _offset_given(*texts: str) -> bool:
    return all(t[-6] in "+-" or t.endswith("Z") for t in texts if len(t) > 6)


def _feed_ok(name: str) -> bool:
    kind, _, ident = name.partition("/")
    return name == "all" or (kind in ("partner", "manager") and bool(ident))


@lru_cache(maxsize=256)
def _parse_stamp(text: str) -> datetime | None:
    """The stamp's UTC time; None if it is not one."""
    # Most entries share a handful of stamps (one per run that changed them).
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
