"""Allowed days: working weeks, public holidays and blackouts of both sides, cached per signature.

A day is allowed for a (manager, partner) pair when it is a working day of
both (each their own working week, so a Sunday-Thursday partner works), not a
public holiday in either one's country and subdivision (`holidays`), and not
inside a program, manager or partner blackout. Days are compared as plain
calendar dates: the partner's date of an event is the date checked on both sides.

Everything is expressed as day ordinals (`date.toordinal()`) inside the
planning year, so the placement code indexes arrays instead of building dates.
Arrays are cached per calendar signature: 10,000 partners sharing ~30
countries and a handful of managers build only a few dozen arrays.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from chancal.models import WEEKDAYS, Blackout

Ranges = tuple[tuple[int, int], ...]
"""Half-open day-ordinal ranges [lo, hi), sorted and disjoint."""


@lru_cache(maxsize=512)
def holiday_ordinals(
    country: str, subdivision: str | None, years: tuple[int, ...]
) -> frozenset[int]:
    """Return the public holidays of a place as day ordinals (cached: `holidays` is slow)."""
    import holidays

    found = holidays.country_holidays(country, subdiv=subdivision, years=list(years))
    return frozenset(day.toordinal() for day in found)


def blackout_ranges(blackouts: Iterable[Blackout]) -> Ranges:
    """Turn inclusive blackout periods into sorted half-open ordinal ranges."""
    return tuple(sorted((b.start.toordinal(), b.last.toordinal() + 1) for b in blackouts))


def weekday_mask(days: Sequence[str]) -> int:
    """Encode working days as a bit mask, bit 0 = Monday."""
    return sum(1 << WEEKDAYS.index(d) for d in set(days))


@dataclass(frozen=True, slots=True)
class Side:
    """One side's calendar: working week, holiday place and blackouts."""

    weekdays: int  # bit mask, bit 0 = Monday
    country: str
    subdivision: str | None
    blackouts: Ranges


@dataclass(frozen=True, slots=True)
class DayTable:
    """Allowed days of the planning year for one calendar signature.

    `allowed[i]` is 1 when day `first + i` is allowed; `run[i]` counts the
    consecutive allowed days starting there (for multi-day events); `days` is
    the sorted tuple of allowed ordinals (for bisecting).
    """

    first: int
    allowed: bytes
    run: tuple[int, ...]
    days: tuple[int, ...]

    def is_allowed(self, ordinal: int) -> bool:
        """Return whether the day is allowed (days outside the year never are)."""
        i = ordinal - self.first
        return 0 <= i < len(self.allowed) and self.allowed[i] == 1

    def fits(self, ordinal: int, length: int) -> bool:
        """Return whether `length` consecutive allowed days start on this day."""
        i = ordinal - self.first
        return 0 <= i < len(self.run) and self.run[i] >= length


def _years(first: int, last: int) -> tuple[int, ...]:
    return tuple(range(date.fromordinal(first).year, date.fromordinal(last).year + 1))


def day_table(first: int, end: int, sides: tuple[Side, ...], extra_blackouts: Ranges) -> DayTable:
    """Build the allowed days in [first, end) for all `sides` together.

    Most partners have blackouts of their own, so their tables are derived from
    the table of their weeks and holidays (cached: a few dozen per program) by
    closing the blackout ranges, instead of being built day by day.
    """
    own = tuple(r for side in sides for r in side.blackouts)
    if not own:
        return _day_table(first, end, sides, extra_blackouts)
    plain = tuple(Side(s.weekdays, s.country, s.subdivision, ()) for s in sides)
    base = _day_table(first, end, plain, extra_blackouts)
    allowed = bytearray(base.allowed)
    run = list(base.run)
    days = base.days
    for lo, hi in sorted(own):
        lo, hi = max(lo, first), min(hi, end)
        if lo >= hi:
            continue
        allowed[lo - first : hi - first] = bytes(hi - lo)
        run[lo - first : hi - first] = [0] * (hi - lo)
        i = lo - first - 1
        while i >= 0 and allowed[i]:  # runs that reached into the blackout now end before it
            run[i] = run[i + 1] + 1 if i + 1 < len(run) else 1
            i -= 1
        a, b = bisect.bisect_left(days, lo), bisect.bisect_left(days, hi)
        days = days[:a] + days[b:]
    return DayTable(first=first, allowed=bytes(allowed), run=tuple(run), days=days)


@lru_cache(maxsize=4096)
def _day_table(first: int, end: int, sides: tuple[Side, ...], extra_blackouts: Ranges) -> DayTable:
    """Build (once per signature) the allowed days in [first, end) for all `sides` together."""
    size = end - first
    allowed = bytearray(size)
    years = _years(first, end - 1)
    monday_offset = (first - 1) % 7  # date.fromordinal(1) is a Monday
    closed: set[int] = set()
    for side in sides:
        closed |= holiday_ordinals(side.country, side.subdivision, years)
    for i in range(size):
        weekday = (monday_offset + i) % 7
        if all(side.weekdays >> weekday & 1 for side in sides) and first + i not in closed:
            allowed[i] = 1
    for lo, hi in (*extra_blackouts, *(r for side in sides for r in side.blackouts)):
        for o in range(max(lo, first), min(hi, end)):
            allowed[o - first] = 0
    run = [0] * (size + 1)
    for i in range(size - 1, -1, -1):
        run[i] = run[i + 1] + 1 if allowed[i] else 0
    return DayTable(
        first=first,
        allowed=bytes(allowed),
        run=tuple(run[:size]),
        days=tuple(first + i for i in range(size) if allowed[i]),
    )
