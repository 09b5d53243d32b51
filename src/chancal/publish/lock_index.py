"""Where each partner's events lie in a lock file, so each process reads only its own.

A 10,000-partner lock is 240 MB and reading it (parsing and checking every
line) took 5-7 s of one process before anything could be planned. Every
event's key begins with its partner's id (`<partner>/<rule>/...`), so one
pass that looks at each line's first bytes finds, for every partner, the
stretches of lines that hold its events: in a lock chancal wrote (sorted by
key) one stretch each. The process that plans a manager then reads and
checks just its partners' lines (`read_partners`), with their true line
numbers, and this process reads the rest (`read_rest`): the header, the
owners, shared events and the events of partners no longer in the program.
Together the parts check every line exactly as reading the whole file does;
the one check across parts, a UID used twice, is `uids_used_twice`.
"""

from __future__ import annotations

import itertools
import json
import os
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from chancal.errors import ConfigError, Problem
from chancal.limits import capped_lines, max_lock_bytes
from chancal.pickling import by_fields
from chancal.plan import SHARED_KEY_PREFIX
from chancal.publish.lock import Lines, Lock, LockEntry, Source, entry_line, read_at
from chancal.publish.lock_read import _Reader, reused_uid
from chancal.publish.lock_v1 import upgrade

_EVENT_LINE = b'{"key": "'
_OTHER_LINES = (b'{"owner": "', b'{"chancal_lock": ')  # as chancal writes them


@dataclass(frozen=True, slots=True, order=True)
class Stretch:
    """Lines one after another in the file: where they start, their bytes, the first's number."""

    offset: int
    size: int
    line: int


@dataclass(frozen=True, slots=True)
class LockIndex:
    """A lock file's lines sorted out by partner, without reading any event."""

    path: Path
    name: str  # the file as problems name it
    stretches: dict[str, tuple[Stretch, ...]] = field(default_factory=dict)  # by partner id
    rest: tuple[tuple[int, bytes], ...] = ()  # every other line, numbered (the header first)
    # A lock of an older format, read and upgraded whole: its events by partner id.
    upgraded: dict[str, tuple[LockEntry, ...]] | None = None
    upgraded_rest: Lock | None = None
    source: Source | None = None  # the file as indexed: its partners' stretches are copied

    @property
    def exists(self) -> bool:
        """Whether there is a lock file at all."""
        return bool(self.rest) or bool(self.stretches) or self.upgraded_rest is not None


@dataclass(frozen=True, slots=True)
class Part:
    """Some lines of a lock, read and checked: the lock they make and what was wrong."""

    lock: Lock
    problems: tuple[Problem, ...]
    uid_lines: dict[str, int]  # the line of each UID read


@by_fields
@dataclass(frozen=True, slots=True)
class UidLines:
    """A part's `uid_lines` as a planning process sends them back: two columns, not a dict.

    The main process holds every part's until the whole lock is checked; at 10,000
    partners their dicts and line numbers were 10 MB at the peak of an export's
    memory (benchmarks/README.md, "One copy of each value").
    """

    uids: list[str]
    lines: array[int]

    @classmethod
    def of(cls, found: dict[str, int]) -> UidLines:
        return cls(list(found), array("q", found.values()))

    def items(self) -> Iterator[tuple[str, int]]:
        return zip(self.uids, self.lines, strict=True)


def index_lock(path: Path) -> LockIndex:
    """Sort a lock file's lines by partner (an empty index when there is no lock yet).

    A lock in format 1 (an older chancal's) is read and upgraded whole here.
    """
    name = str(path)
    source = Source.of(name)  # before reading: a file replaced meanwhile is then refused
    lines = capped_lines(path, limit=max_lock_bytes(), what="lock")
    try:
        first = next(lines, b"")
    except FileNotFoundError:
        return LockIndex(path, name)
    if first.removeprefix(b"\xef\xbb\xbf").startswith(b"chancal-lock 1"):
        return _upgraded(path, name, itertools.chain([first], lines))
    stretches: dict[str, list[Stretch]] = {}
    rest: list[tuple[int, bytes]] = [(1, first)]
    # The run of lines being read: one partner's, from `start` (line `start_line`) to `offset`.
    # A lock lists each partner's events one after another, so a Stretch is made per run,
    # not per line (at 10,000 partners, 180,000 lines: benchmarks/README.md, "Lock lines
    # scanned").
    run: str | None = None
    start = offset = len(first)
    start_line = 2
    for number, line in enumerate(lines, start=2):
        partner = _partner_of(line)
        if partner != run:
            if run is not None:
                stretches.setdefault(run, []).append(Stretch(start, offset - start, start_line))
            run, start, start_line = partner, offset, number
        if partner is None:
            rest.append((number, line))
        offset += len(line)
    if run is not None:
        stretches.setdefault(run, []).append(Stretch(start, offset - start, start_line))
    by_partner = {p: tuple(s) for p, s in stretches.items()}
    return LockIndex(path, name, by_partner, tuple(rest), source=source)


def _partner_of(line: bytes) -> str | None:
    """The partner whose event this line holds; None for any other line.

    A line as chancal writes it is known by its first bytes. Any other line
    (respaced by hand or by a JSON tool) is parsed: were it left to the rest,
    its partner's process would plan the event as new while this one
    cancelled it, and the lock would hold its key twice.
    """
    if line.startswith(_EVENT_LINE):
        slash = line.find(b"/", len(_EVENT_LINE))
        quote = line.find(b'"', len(_EVENT_LINE))
        if slash >= 0 and quote > slash and b"\\" not in line[len(_EVENT_LINE) : slash]:
            return _partner_of_key(line[len(_EVENT_LINE) : slash + 1].decode("ascii", "replace"))
    elif line.startswith(_OTHER_LINES):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None  # reading the rest reports it
    key = value.get("key") if isinstance(value, dict) and "owner" not in value else None
    return _partner_of_key(key) if isinstance(key, str) else None


def _partner_of_key(key: str) -> str | None:
    """The partner whose event has this key: its part before the first slash, unless the
    key is a shared event's (or has no slash)."""
    partner, slash, _ = key.partition("/")
    return partner if slash and partner != SHARED_KEY_PREFIX else None


def _upgraded(path: Path, name: str, lines: Iterable[bytes]) -> LockIndex:
    try:
        text = b"".join(lines).decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError([Problem(name, 1, 1, "", "not UTF-8 text")]) from None
    lock = upgrade(text.removeprefix("\ufeff"), name)
    by_partner: dict[str, list[LockEntry]] = {}
    rest: list[LockEntry] = []
    for entry in lock.entries:
        partner = _partner_of_key(entry.key)
        if partner is not None:
            by_partner.setdefault(partner, []).append(entry)
        else:
            rest.append(entry)
    upgraded = {p: tuple(entries) for p, entries in by_partner.items()}
    return LockIndex(
        path,
        name,
        upgraded=upgraded,
        upgraded_rest=Lock(lock.program_id, tuple(rest), lock.owners),
    )


def read_partners(index: LockIndex, partners: Iterable[str]) -> Part:
    """Read and check the lines of these partners' events (and nothing else)."""
    if index.upgraded is not None:
        entries = [e for p in partners for e in index.upgraded.get(p, ())]
        entries.sort(key=lambda e: e.key)
        return Part(Lock(entries=tuple(entries)), (), {})
    wanted = sorted(s for p in partners for s in index.stretches.get(p, ()))
    reader = _Reader(index.name)
    lock = reader.read_part(_numbered(index, wanted))
    return Part(lock, tuple(reader.problems), reader.uid_lines)


def _numbered(index: LockIndex, stretches: Collection[Stretch]) -> list[tuple[int, bytes]]:
    """The lines of these stretches of the file, each with its number."""
    if not stretches:
        return []
    assert index.source is not None, "stretches are found in a lock file"
    fd = index.source.open()
    try:
        return [
            numbered
            for stretch in stretches
            for numbered in enumerate(
                read_at(fd, stretch.size, stretch.offset).splitlines(keepends=True),
                start=stretch.line,
            )
        ]
    finally:
        os.close(fd)


def read_rest(index: LockIndex, partners: Collection[str]) -> Part:
    """Read and check the header, the owners and every event of no partner in `partners`."""
    if index.upgraded_rest is not None:
        assert index.upgraded is not None
        gone = [e for p, entries in index.upgraded.items() if p not in partners for e in entries]
        entries = sorted([*index.upgraded_rest.entries, *gone], key=lambda e: e.key)
        lock = index.upgraded_rest
        return Part(Lock(lock.program_id, tuple(entries), lock.owners), (), {})
    if not index.exists:
        return Part(Lock(), (), {})
    left = sorted(s for p, found in index.stretches.items() if p not in partners for s in found)
    reader = _Reader(index.name)
    lock = reader.read(sorted([*index.rest, *_numbered(index, left)]))
    return Part(lock, tuple(reader.problems), reader.uid_lines)


def written_lines(
    index: LockIndex,
    entries: Iterable[LockEntry],
    spill: Callable[[bytes], tuple[str, int, int]] | None = None,
) -> list[Lines]:
    """The new lock's lines of these entries, a partner's at a time: its stretch of the lock
    read when they are the same bytes (most partners, on most runs), else their bytes, or
    where `spill` wrote them (a scratch file, offset and size).

    What a process that reconciled some managers sends back instead of their
    entries: a 10,000-partner lock holds 240 MB of events' text, which the main
    process kept in memory only to write them back as they were read (or, in a
    first export, to write them at all).
    """
    by_partner: dict[str, list[LockEntry]] = {}
    for entry in entries:
        by_partner.setdefault(entry.key.partition("/")[0], []).append(entry)
    written: list[Lines] = []
    fd = -1
    try:
        for partner, found in by_partner.items():
            found.sort(key=lambda e: e.key)
            data = b"".join([entry_line(e) + b"\n" for e in found])
            stretch = None
            held = index.stretches.get(partner, ())
            if index.source is not None and len(held) == 1 and held[0].size == len(data):
                if fd < 0:
                    fd = index.source.open()
                if read_at(fd, held[0].size, held[0].offset) == data:
                    data, stretch = b"", (held[0].offset, held[0].size)
            file = None
            if stretch is None and spill is not None:
                file, offset, size = spill(data)
                data, stretch = b"", (offset, size)
            written.append(Lines(found[0].key, found[-1].key, data, stretch, file))
    finally:
        if fd >= 0:
            os.close(fd)
    return written


def uids_used_twice(index: LockIndex, parts: Iterable[Iterable[tuple[str, int]]]) -> list[Problem]:
    """A problem for each line whose UID an earlier line of another part already has.

    `parts`: each part's UIDs and their lines (`uid_lines`). Reading the whole
    file, a line with a UID used before is not kept, so a later line with its
    key would not count as a repeat; read in parts, it does. Both are problems
    of a lock edited by hand, reported either way.
    """
    first: dict[str, int] = {}
    later: list[tuple[int, str]] = []
    for uid_lines in parts:
        for uid, line in uid_lines:
            seen = first.get(uid)
            if seen is None:
                first[uid] = line
                continue
            later.append((max(line, seen), uid))
            first[uid] = min(line, seen)
    return [
        Problem(index.name, line, _line(index, line).find(b'"uid"') + 1 or 1, "", message)
        for line, uid in sorted(later)
        for message in [reused_uid(uid, first[uid])]
    ]


def key_on_line(index: LockIndex, number: int) -> str | None:
    """The key of the event on a line of the lock (a line read and found sound before)."""
    value = json.loads(_line(index, number))
    key = value.get("key") if isinstance(value, dict) else None
    return key if isinstance(key, str) else None


def upgraded_uids(index: LockIndex) -> dict[str, str]:
    """Each UID's key in a lock of an older format (empty for any other lock)."""
    if index.upgraded_rest is None or index.upgraded is None:
        return {}
    entries = itertools.chain(index.upgraded_rest.entries, *index.upgraded.values())
    return {e.uid: e.key for e in entries}


def _line(index: LockIndex, number: int) -> bytes:
    """One line of the file, found by its number: for a rare problem only."""
    for line, raw in index.rest:
        if line == number:
            return raw
    before = [s for found in index.stretches.values() for s in found if s.line <= number]
    if not before:
        return b""
    holder = max(before, key=lambda s: s.line)  # the one stretch that can hold it
    return dict(_numbered(index, [holder])).get(number, b"")
