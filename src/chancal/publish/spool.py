"""The spool: each event rendered once into one file, every feed assembled from its byte ranges.

Events are rendered (by the pure `chancal.exporters.ics`) once each, in feed
order, straight into all.ics (or a scratch spool when all.ics is not asked
for), while each feed notes the byte ranges of the spool its events take:
integers only. Once the spool is complete, every partner and manager feed is
assembled from those ranges (read back with `os.pread`, from the page cache),
so memory holds offsets, never the rendered events: it does not grow with
their number.
"""

from __future__ import annotations

import os
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate, repeat
from operator import sub
from typing import BinaryIO

from chancal.exporters.ics import CALENDAR_END, EventWriter, FeedHeader, feed_head
from chancal.plan import Event, Timed

_CHUNK = 1 << 20

Progress = Callable[[int, int], None]
"""`progress(done, total)`: called now and then while events are spooled."""

Reader = Callable[[Sequence[int], Sequence[int]], Iterable[bytes]]
"""`read(offsets, sizes)`: the spool's bytes at each offset, one piece per offset."""


@dataclass(slots=True)
class FeedBody:
    """Where one feed's events lie in the spool, and what the feed needs around them."""

    runs: array[int]  # alternating start and end offsets of contiguous spool ranges
    tzids: set[str]
    events: int = 0


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
    """Render each event once to `out`; note, per feed, which byte ranges are its events.

    `events` must already be in feed order; `routes` holds, for each event,
    the indexes of the feeds it belongs to. Offsets count from the start of
    `out`, so `out` may already hold a calendar head (then it is itself a
    feed, usually all.ics); `feed_parts` assembles the other feeds from it.
    """
    render = EventWriter(stamp).event
    bodies = [FeedBody(array("q"), set()) for _ in range(feed_count)]
    last_end = [-1] * feed_count
    position = out.tell()
    for count, (ev, indexes) in enumerate(zip(events, routes, strict=True), 1):
        data = render(ev)
        out.write(data)
        begin = position
        position += len(data)
        timed = isinstance(ev.span, Timed)  # needs its zone's VTIMEZONE in every feed
        for index in indexes:
            body = bodies[index]
            body.events += 1
            if timed:
                body.tzids.add(ev.timezone)
            if last_end[index] == begin:  # follows its previous event: one longer run
                body.runs[-1] = position
            else:
                body.runs.extend((begin, position))
            last_end[index] = position
        if progress is not None and count % 4096 == 0:
            progress(count, progress_total)
    out.flush()
    return bodies


def spool_reader(spool: BinaryIO) -> Reader:
    """Return `read(offsets, sizes)` for a flushed spool: `os.pread` where there is one.

    pread leaves the file position alone and maps nothing, so the spool's
    pages never count towards this process's resident memory; mapped over
    the offsets, it reads a feed's runs without a Python call per run.
    Without pread (Windows) it seeks and reads.
    """
    if hasattr(os, "pread"):
        pread = os.pread
        fd = spool.fileno()
        return lambda offsets, sizes: map(pread, repeat(fd), sizes, offsets)

    def read(offsets: Sequence[int], sizes: Sequence[int]) -> Iterator[bytes]:
        for offset, size in zip(offsets, sizes, strict=True):
            spool.seek(offset)
            yield spool.read(size)

    return read


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
