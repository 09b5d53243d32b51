"""Calendar facts as day ordinals: public holidays, blackout ranges, working weeks.

constraints.py combines them into each side's working days; they are cached
here because `holidays` is slow and 10,000 partners share a few dozen places.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


@lru_cache(maxsize=512)
def country_weekdays(country: str) -> int:
    """The usual working week of a country as a weekday mask (its weekend from `holidays`)."""
    import holidays

    weekend = holidays.country_holidays(country).weekend
    return sum(1 << d for d in range(7) if d not in weekend)
