"""The year's VEVENTs, rendered by the processes that reconciled them and read back in feed order.

At 10,000 partners the events as published were most of what this process
held (about 180 MB of 180,000 objects, sent by the planning processes), and
rendering them was its longest step alone. Now each process that reconciles
a manager renders that manager's published events (`ics.EventWriter`, as
the feed writer always did) and appends them to a file of its own in a
scratch folder; it sends back only how long each is and what the feed
writer needs to place it: its feed order (`ics.feed_key`), its feeds
(`plan.audience`) and the time zone its feeds need (`Block`). The feed
writer (`chancal.publish.feeds`) reads them back in feed order (`Rendered`).

`Here` gives a plan's events in the same form, rendered in this process:
the feed writer reads both alike.
"""

from __future__ import annotations

import heapq
import os
import shutil
import tempfile
import weakref
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import BinaryIO, Protocol

from chancal.errors import UsageError
from chancal.exporters.ics import EventWriter, event_years, feed_key, feed_order, used_tzids
from chancal.pickling import by_fields
from chancal.plan import ALL_FEED, Event, audience
from chancal.publish.lock import open_bytes, read_at

Item = tuple[bytes, tuple[str, ...], str | None]
"""An event as the feed writer takes it: its VEVENT, its feeds, its TZID if it is timed."""


class Vevents(Protocol):
    """A year's events as the feed writer reads them."""

    @property
    def count(self) -> int:
        """How many events."""

    @property
    def years(self) -> tuple[int, int] | None:
        """The first and last calendar year any event touches (None: no events)."""

    @property
    def tzids(self) -> frozenset[str]:
        """The time zones of the timed events (each feed needs some of their VTIMEZONEs)."""

    @property
    def everywhere(self) -> bool:
        """Every event goes to all.ics."""

    def items(self) -> Iterator[Item]:
        """Every event in feed order."""


@dataclass(frozen=True, slots=True)
class _Summary:
    count: int
    years: tuple[int, int] | None
    tzids: frozenset[str]
    everywhere: bool


def _summary(events: Sequence[Event], feeds: Sequence[tuple[str, ...]]) -> _Summary:
    return _Summary(
        len(events),
        event_years(events),
        frozenset(used_tzids(events)),
        all(ALL_FEED in names for names in set(feeds)),
    )


def _tzid(ev: Event) -> str | None:
    """The zone whose VTIMEZONE the event needs (`used_tzids`): a timed event's."""
    return None if ev.all_day else ev.timezone


class Here:
    """A plan's events rendered in this process, as the feed writer reads them."""

    def __init__(
        self, events: Sequence[Event], stamp: datetime, manager_of: Mapping[str, str]
    ) -> None:
        self.ordered = feed_order(events)
        self.stamp = stamp
        self.feeds = [audience(ev, manager_of) for ev in self.ordered]
        summary = _summary(self.ordered, self.feeds)
        self.count, self.years = summary.count, summary.years
        self.tzids, self.everywhere = summary.tzids, summary.everywhere

    def items(self) -> Iterator[Item]:
        render = EventWriter(self.stamp).event
        for ev, feeds in zip(self.ordered, self.feeds, strict=True):
            yield render(ev), feeds, _tzid(ev)


@by_fields
@dataclass(frozen=True, slots=True)
class Block:
    """Some events one process rendered, in feed order, at `offset` of its file in the folder."""

    file: str  # its name in the folder
    offset: int
    sizes: array[int]  # each VEVENT's bytes, one after another
    # Each event's `feed_key`, in three columns: its start instant, its UID, and the feeds
    # the lock gave it (a withdrawn copy's, say), else ().
    instants: array[float]
    uids: list[str]
    locked_feeds: list[tuple[str, ...]]
    feeds: list[tuple[str, ...]]  # each event's feeds' names (`plan.audience`)
    tzids: list[str | None]  # each event's zone when it is timed
    years: tuple[int, int] | None  # the first and last year any of them touches
    zones: frozenset[str]  # the zones of the timed ones
    everywhere: bool  # every one goes to all.ics


class Appender:
    """In a process that reconciles managers: renders their events into its file of the folder."""

    def __init__(self, folder: str, stamp: datetime, manager_of: Mapping[str, str]) -> None:
        self.name = f"{os.getpid()}.vevents"
        self.path = os.path.join(folder, self.name)
        self.stamp, self.manager_of = stamp, manager_of
        self.file: BinaryIO | None = None

    def spill(self, data: bytes) -> tuple[str, int, int]:
        """Write other bytes of the run to this process's file (the new lock's lines of
        partners that changed): the file's path, their offset and size."""
        try:
            file = self._file()
            offset = file.tell()
            file.write(data)
            file.flush()
        except OSError as exc:
            raise _cannot_write(os.path.dirname(self.path), exc) from None
        return self.path, offset, len(data)

    def _file(self) -> BinaryIO:
        if self.file is None:
            # Exclusive: a process's file is its own (the folder is new, its name the pid).
            self.file = open(self.path, "xb")  # noqa: SIM115 - open for the process's life
        return self.file

    def append(self, events: Sequence[Event]) -> Block:
        """Render `events` to the end of this process's file; where they are, and their places."""
        try:
            return self._append(events)
        except OSError as exc:
            raise _cannot_write(os.path.dirname(self.path), exc) from None

    def _append(self, events: Sequence[Event]) -> Block:
        file = self._file()
        keyed = sorted(((feed_key(ev), ev) for ev in events), key=itemgetter(0))
        ordered = [ev for _, ev in keyed]
        render = EventWriter(self.stamp).event  # its caches serve one manager
        offset = file.tell()
        sizes, instants, uids, locked_feeds = array("q"), array("d"), [], []
        # One tuple for each list of feeds: an event as published carries its lock entry's
        # own, and a block kept every event's, 39 MB of a first export at 10,000 partners
        # (benchmarks/README.md, "One copy of each value").
        interned: dict[tuple[str, ...], tuple[str, ...]] = {}
        feeds = []
        for (instant, uid, locked), ev in keyed:
            data = render(ev)
            file.write(data)
            sizes.append(len(data))
            instants.append(instant)
            uids.append(uid)
            locked_feeds.append(interned.setdefault(locked, locked))
            names = audience(ev, self.manager_of)
            feeds.append(interned.setdefault(names, names))
        # Flushed now: the process that reads it may do so as soon as this block arrives.
        file.flush()
        summary = _summary(ordered, feeds)
        return Block(
            self.name,
            offset,
            sizes,
            instants,
            uids,
            locked_feeds,
            feeds,
            [_tzid(ev) for ev in ordered],
            summary.years,
            summary.tzids,
            summary.everywhere,
        )

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def new_folder() -> str:
    """A new scratch folder for the processes' files (the system's temporary folder)."""
    try:
        return tempfile.mkdtemp(prefix="chancal-vevents-")
    except OSError as exc:  # also when no temporary folder is writable at all
        where = os.environ.get("TMPDIR") or "the system's temporary folder"
        raise _cannot_write(where, exc) from None


def _cannot_write(folder: str, exc: OSError) -> UsageError:
    return UsageError(
        f"cannot write chancal's scratch files in {folder}: {exc.strerror or exc}; "
        "free some space there, or set TMPDIR to a folder with room"
    )


class Rendered:
    """The year's events as the processes rendered them (`Block`s): read back in feed order.

    Owns the folder: it is removed when this is collected, or when this process exits.
    """

    def __init__(self, folder: str, blocks: Sequence[Block]) -> None:
        self.folder, self.blocks = folder, list(blocks)
        weakref.finalize(self, shutil.rmtree, folder, True)  # kept alive by weakref itself
        self.count = sum(len(b.sizes) for b in self.blocks)
        spans = [b.years for b in self.blocks if b.years is not None]
        self.years = (min(y[0] for y in spans), max(y[1] for y in spans)) if spans else None
        self.tzids = frozenset().union(*(b.zones for b in self.blocks))
        self.everywhere = all(b.everywhere for b in self.blocks)

    def items(self) -> Iterator[Item]:
        names = sorted({b.file for b in self.blocks})
        fds = {}
        try:
            for name in names:
                fds[name] = open_bytes(os.path.join(self.folder, name))
            runs = [_run(n, b, fds[b.file]) for n, b in enumerate(self.blocks)]
            for *_, fd, offset, size, feeds, tzid in heapq.merge(*runs):
                yield read_at(fd, size, offset), feeds, tzid
        finally:
            for fd in fds.values():
                os.close(fd)


_Placed = tuple[float, str, tuple[str, ...], int, int, int, int, int, tuple[str, ...], str | None]


def _run(number: int, block: Block, fd: int) -> Iterator[_Placed]:
    """A block's events in feed order, each with where its bytes are.

    Keyed by `feed_key`, then the block and the event's place in it, so that
    `heapq.merge` never compares further (no two events share a key).
    """
    offset = block.offset
    for i, size in enumerate(block.sizes):
        yield (
            block.instants[i],
            block.uids[i],
            block.locked_feeds[i],
            number,
            i,
            fd,
            offset,
            size,
            block.feeds[i],
            block.tzids[i],
        )
        offset += size
