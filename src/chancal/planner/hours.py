"""Start times: the overlap of two working days, each in its own time zone, on one date.

For a date D the partner works D start..end in the partner's zone and the
manager works D start..end in the manager's zone; both are turned into UTC
instants on that very date, so daylight-saving changes that happen on
different dates in Europe and North America shift the overlap correctly.

Candidate starts are on the partner's local half hours. When the event fits,
it starts and ends inside the overlap. When the overlap is shorter than the
event, it starts at the overlap's first half hour. When there is no overlap at
all, the candidates are the half hours that minimise how far the event reaches
beyond each side's working day (summed over both sides, then the fairer
split); the caller records a "no-common-hours" diagnostic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

HALF_HOUR = 1800


class HoursSig(NamedTuple):
    """Both sides' zones and working hours: everything the start times depend on.

    A named tuple, not a dataclass: it keys several caches, and a tuple hashes in C.
    """

    partner_tz: str
    partner_start: time
    partner_end: time
    manager_tz: str
    manager_start: time
    manager_end: time


@dataclass(frozen=True, slots=True)
class Slots:
    """Candidate starts (UTC epoch seconds) of an event on one date, best first."""

    starts: tuple[int, ...]
    common: bool  # False: the two working days share no time on this date


# A planning year touches at most 4 blocks of 128 days (2 of 512 would compute 1,024 days).
_BLOCK = 128
_STEP = 7


@lru_cache(maxsize=4096)
def _instants(zone: str, at: time, block: int) -> tuple[int, ...]:
    """UTC instants of one wall-clock time on every day of a block of _BLOCK days."""
    first = block * _BLOCK
    tz = ZoneInfo(zone)

    def exact(i: int) -> int:
        return int(datetime.combine(date.fromordinal(first + i), at, tz).timestamp())

    # The UTC offset changes at most twice a year, never twice within a week: where
    # the offset is the same at both ends of a week, it holds on every day between.
    out = [0] * (_BLOCK + 1)
    base = _naive(first, at)
    for lo in range(0, _BLOCK, _STEP):
        hi = min(lo + _STEP, _BLOCK)
        a, b = exact(lo), exact(hi)
        out[lo], out[hi] = a, b
        if a - (base + lo * 86400) == b - (base + hi * 86400):
            for i in range(lo + 1, hi):
                out[i] = a + (i - lo) * 86400
        else:
            for i in range(lo + 1, hi):
                out[i] = exact(i)
    return tuple(out[:_BLOCK])


def _at(ordinal: int, at: time, zone: str) -> int:
    """The UTC instant of a wall-clock time on a day (from a cached block: most calls)."""
    block, i = divmod(ordinal, _BLOCK)
    return _instants(zone, at, block)[i]


def _naive(ordinal: int, at: time) -> int:
    """Seconds since the epoch of a wall-clock time read as if it were UTC."""
    return (ordinal - _EPOCH) * 86400 + at.hour * 3600 + at.minute * 60 + at.second


_EPOCH = date(1970, 1, 1).toordinal()


def _ceil(ts: int, offset: int) -> int:
    """Round up to the next half hour of a wall clock `offset` seconds from UTC."""
    return -(-(ts + offset) // HALF_HOUR) * HALF_HOUR - offset


def _beyond(start: int, end: int, lo: int, hi: int) -> int:
    """How far the event reaches before the working day starts or after it ends."""
    return max(0, lo - start) + max(0, end - hi)


@lru_cache(maxsize=1 << 16)
def _relative(p1: int, m0: int, m1: int, phase: int, seconds: int) -> tuple[tuple[int, ...], bool]:
    """Candidate starts relative to the partner's day start (p0 = 0); `phase` aligns half hours.

    Most days of a pair of zones share one shape, so this is computed a few
    times per pair and DST period, not once per day.
    """
    offset = phase  # any offset with the same phase rounds alike

    lo, hi = max(0, m0), min(p1, m1)
    if lo < hi:
        first = _ceil(lo, offset)
        starts = tuple(range(first, hi - seconds + 1, HALF_HOUR))
        if not starts:
            # The overlap is shorter than the event: start inside it, end outside.
            starts = (first,) if first < hi else (lo,)
        return starts, True
    begin = _ceil(min(0, m0) - seconds, offset)
    best: list[int] = []
    best_cost = (-1, -1)
    for start in range(begin, max(p1, m1) + 1, HALF_HOUR):
        end = start + seconds
        p_out, m_out = _beyond(start, end, 0, p1), _beyond(start, end, m0, m1)
        # Least total time beyond both working days; among those, the fairest split.
        cost = (p_out + m_out, max(p_out, m_out))
        if best_cost[0] < 0 or cost < best_cost:
            best, best_cost = [start], cost
        elif cost == best_cost:
            best.append(start)
    return tuple(best), False


class SlotMask(NamedTuple):
    """A day's candidate starts as bits over UTC half hours, for busy checks by int operations.

    Candidate k starts at `(base + bits[k]) * HALF_HOUR + phase` and touches
    `span` half hours from there; `cands` has bit `bits[k]` set for each; a
    busy mask read from `base` over `width` bits tells which are still free.
    """

    base: int
    phase: int
    span: int
    width: int
    cands: int
    bits: tuple[int, ...]
    common: bool


@lru_cache(maxsize=1 << 16)
def _day_edges(sig: HoursSig, ordinal: int) -> tuple[int, int, int, int, int]:
    """Both working days of a date as UTC instants, and the partner's half-hour phase."""
    p0 = _at(ordinal, sig.partner_start, sig.partner_tz)
    p1 = _at(ordinal, sig.partner_end, sig.partner_tz)
    m0 = _at(ordinal, sig.manager_start, sig.manager_tz)
    m1 = _at(ordinal, sig.manager_end, sig.manager_tz)
    # The partner's UTC offset during its working day (DST changes happen at night).
    offset = _naive(ordinal, sig.partner_start) - p0
    return p0, p1, m0, m1, (p0 + offset) % HALF_HOUR


@lru_cache(maxsize=1 << 16)
def _shape(
    p1: int, m0: int, m1: int, phase: int, seconds: int
) -> tuple[int, int, int, int, tuple[int, ...], bool]:
    """A day's candidates relative to the partner's day start: first, span, width, bits."""
    starts, common = _relative(p1, m0, m1, phase, seconds)
    first = starts[0]
    bits = tuple((s - first) // HALF_HOUR for s in starts)
    cands = 0
    for b in bits:
        cands |= 1 << b
    return first, seconds, bits[-1], cands, bits, common


def slot_mask(sig: HoursSig, ordinal: int, seconds: int) -> SlotMask:
    """Return the day's candidate starts (the same as `slots`) as a SlotMask.

    Every candidate of a day steps from the first by whole half hours, and
    most days of a pair of zones share one shape, so only `base` and `phase`
    are worked out per day.
    """
    p0, p1, m0, m1, phase = _day_edges(sig, ordinal)
    first, _, last_bit, cands, bits, common = _shape(p1 - p0, m0 - p0, m1 - p0, phase, seconds)
    start = p0 + first
    base, start_phase = divmod(start, HALF_HOUR)
    span = -(-(start_phase + seconds) // HALF_HOUR)
    return SlotMask(base, start_phase, span, last_bit + span, cands, bits, common)


def slots(sig: HoursSig, ordinal: int, seconds: int) -> Slots:
    """Return the candidate starts of an event lasting `seconds` on day `ordinal`."""
    p0, p1, m0, m1, phase = _day_edges(sig, ordinal)
    starts, common = _relative(p1 - p0, m0 - p0, m1 - p0, phase, seconds)
    return Slots(tuple(p0 + s for s in starts), common)


def same_clock(sig: HoursSig, first: int, last: int) -> tuple[object, ...]:
    """A key equal for every HoursSig whose start times are equal on days first..last-1.

    Start times depend on zones only through their UTC offsets, and many zones
    share them all year (Paris, Berlin, Madrid, ...), so the candidate starts
    and the manager's "no room" days of one are those of the other: keyed by
    this, partners in such zones share them instead of each working them out.
    """
    return (
        _offsets(sig.partner_tz, first, last),
        sig.partner_start,
        sig.partner_end,
        _offsets(sig.manager_tz, first, last),
        sig.manager_start,
        sig.manager_end,
    )


@lru_cache(maxsize=1024)
def _offsets(zone: str, first: int, last: int) -> tuple[int, ...]:
    """A zone's UTC offset history around days first..last-1: the offset, then (instant, offset).

    Two days of margin either side cover any wall-clock time on those dates.
    Transitions are found day by day, then to the second by bisection (offsets
    change at most once in a day).
    """
    tz = ZoneInfo(zone)

    def offset(ts: int) -> int:
        delta = datetime.fromtimestamp(ts, tz).utcoffset()
        assert delta is not None
        return int(delta.total_seconds())

    start = (first - 2 - _EPOCH) * 86400
    out = [offset(start)]
    prev_ts, prev = start, out[0]
    for day in range(first - 1, last + 3):
        ts = (day - _EPOCH) * 86400
        now = offset(ts)
        if now != prev:
            lo, hi = prev_ts, ts  # offset(lo) == prev, offset(hi) == now
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == prev:
                    lo = mid
                else:
                    hi = mid
            out += [hi, now]
        prev_ts, prev = ts, now
    return tuple(out)


@lru_cache(maxsize=1 << 18)
def local_datetime(ts: int, zone: str) -> datetime:
    """Return the aware datetime of an instant in a zone (cached: many events share starts)."""
    return datetime.fromtimestamp(ts, ZoneInfo(zone))
