"""The spool: each event rendered once into one file, every feed assembled from its byte ranges.

Events are rendered (by the pure `chancal.exporters.ics`) once each, in feed
order, straight into all.ics (or a scratch spool when all.ics is not asked
for), while each feed notes the byte ranges of the spool its events take:
integers only. Once the spool is complete, every partner and manager feed is
assembled from those ranges (read back from the page cache), so memory holds
offsets, never the rendered events: it does not grow with their number.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from chancal.exporters.ics import CALENDAR_END, EventWriter, FeedHeader, feed_head
from chancal.plan import Event, Timed

_CHUNK = 1 << 20

Progress = Callable[[int, int], None]
"""`progress(done, total)`: called now and then while events are spooled."""


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


def feed_parts(
    header: FeedHeader, body: FeedBody, spool: BinaryIO, *, years: tuple[int, int]
) -> Iterator[bytes]:
    """Yield one complete VCALENDAR (head, VTIMEZONEs, its spooled events, end) in pieces.

    `spool` reads the flushed spool unbuffered (`open(path, "rb", buffering=0)`):
    a buffered reader would fill its whole buffer after every seek, for runs
    of a few kilobytes (10,000 partners: 12 s instead of under one). A run of
    events longer than a chunk is read in chunks, so memory stays at about a
    chunk whatever the feed's size.
    """
    yield feed_head(header, body.tzids, years)
    runs = body.runs
    for start, end in zip(runs[0::2], runs[1::2], strict=True):
        for offset in range(start, end, _CHUNK):
            spool.seek(offset)
            yield spool.read(min(_CHUNK, end - offset))
    yield CALENDAR_END
