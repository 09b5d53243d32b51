"""What the health checks measure in a plan, apart from any one principle.

The days an event covers (on the partner's own calendar too), the wording of
agendas and the planner's diagnostics, ratios, and the tier ladder: median
hours and events per partner of each tier rank, for the investment principle.
Pure functions and frozen values over `chancal.plan`; `chancal.health_checks`
turns them into findings.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from chancal.plan import AllDay, Diagnostic, Event, PartnerInfo, TierInfo, Timed
from chancal.scores import Status

DAY = timedelta(days=1)
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")
# The planner's "unplaced" message: "<who>: rule '<id>' could not place '<key>'
# [in <from> to <to> or its period]: <reason>". Diagnostic has no reason field,
# so the reason is cut out of the message; any other wording is shown whole.
_UNPLACED = re.compile(
    r"could not place '[^']*'(?: (?P<where>in .+? or its period))?: (?P<why>.+)\Z", re.S
)
_QUARTER = re.compile(r"\bQ([1-4])\b")


def last_day(event: Event) -> date:
    span = event.span
    return span.end - DAY if isinstance(span, AllDay) else span.end.date()


def days_apart(a: Event, b: Event) -> int:
    """Whole days between two events (0 when they share a day)."""
    if last_day(a) < b.day:
        return (b.day - last_day(a)).days
    if last_day(b) < a.day:
        return (a.day - last_day(b)).days
    return 0


def words(terms: Sequence[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    alternatives = "|".join(re.escape(t.strip()) for t in terms if t.strip())
    # Whole words with an optional plural, so "targets" counts but "targeted" does not.
    return re.compile(rf"(?<!\w)(?:{alternatives})(?:s|es)?(?!\w)", re.IGNORECASE)


def agenda_items(description: str) -> list[str]:
    """The agenda's bullet lines; all lines when it has none.

    Only items are judged, so a preamble such as "Not a review: no targets"
    does not count as a review item.
    """
    lines = [line.strip() for line in description.splitlines() if line.strip()]
    bullets = [line for line in lines if _BULLET.match(line)]
    return bullets or lines


def mentions(text: str, topics: Sequence[str]) -> bool:
    lowered = text.casefold()
    return any(t.casefold() in lowered for t in topics if t.strip())


def ratio(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def fmt_ratio(value: float | None) -> str:
    return "n/a (no accountability)" if value is None else f"{value:.2f}"


def _relation(a: float, b: float) -> str:
    return "<" if a < b else ">" if a > b else "="


@cache
def time_zone(name: str) -> ZoneInfo | None:
    # Plans built by hand (tests, scripts) may carry no valid zone; the event's
    # own days are then the best guess at the partner's.
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):
        return None


def local_days(event: Event, zone: ZoneInfo | None) -> tuple[date, date]:
    """The first and last day of an event on the partner's own calendar."""
    if not isinstance(event.span, Timed) or zone is None:
        return event.day, last_day(event)
    first, stop = event.span.start.astimezone(zone), event.span.end.astimezone(zone)
    # An event ending at midnight does not reach into the next day.
    last = (stop - timedelta(microseconds=1)).date() if stop > first else first.date()
    return first.date(), last


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def review_name(review: Event, day: date) -> str:
    """Name a review the way people say it: "the Q2 review", "the annual review"."""
    if review.kind == "quarterly_business_review":
        # The planner titles a QBR with the (fiscal) quarter it covers; hand-built
        # plans may not, and then the calendar quarter it is held in is the name.
        found = _QUARTER.search(review.title)
        quarter = found.group(1) if found else str((day.month - 1) // 3 + 1)
        return f"Q{quarter} review"
    if review.kind == "annual_review":
        return "annual review"
    return review.title or review.kind


def unplaced_reason(diagnostic: Diagnostic) -> str:
    found = _UNPLACED.search(diagnostic.message)
    if found is None:
        return diagnostic.message
    where = found.group("where")
    return found.group("why") + (f" ({where})" if where else "")


@dataclass(frozen=True, slots=True)
class Rung:
    """The partners of one tier rank: median hours and events per partner."""

    rank: int
    tiers: tuple[str, ...]
    # Rounded to a tenth of an hour, as printed: a difference nobody can see in
    # the finding must not decide it (sums of fractional hours carry float noise).
    hours: float
    events: float

    @property
    def name(self) -> str:
        return "/".join(self.tiers)


@dataclass(frozen=True, slots=True)
class Step:
    """A higher rung compared with a lower one: is it above in hours, in events?"""

    low: Rung
    high: Rung

    @property
    def more_hours(self) -> bool:
        return self.high.hours > self.low.hours

    @property
    def more_events(self) -> bool:
        return self.high.events > self.low.events

    @property
    def status(self) -> Status:
        above = self.more_hours + self.more_events
        return "pass" if above == 2 else "warn" if above == 1 else "fail"

    def lacking(self) -> str:
        """What the higher rung gets no more of."""
        measures = (("hours", self.more_hours), ("events", self.more_events))
        return " or ".join(what for what, more in measures if not more)


@dataclass(frozen=True, slots=True)
class Ladder:
    """Median hours and events per partner of each tier rank, lowest rank first."""

    rungs: tuple[Rung, ...]

    @classmethod
    def build(
        cls,
        partners: Sequence[PartnerInfo],
        tiers: Mapping[str, TierInfo],
        hours: Mapping[str, float],
        events: Mapping[str, int],
    ) -> Ladder:
        by_rank: defaultdict[int, list[str]] = defaultdict(list)
        names: defaultdict[int, set[str]] = defaultdict(set)
        for p in partners:
            rank = tiers[p.tier].rank if p.tier in tiers else 0
            by_rank[rank].append(p.id)
            names[rank].add(p.tier)
        rungs = tuple(
            Rung(
                rank,
                tuple(sorted(names[rank])),
                round(statistics.median(hours[i] for i in by_rank[rank]), 1),
                statistics.median(events[i] for i in by_rank[rank]),
            )
            for rank in sorted(by_rank)
        )
        return cls(rungs)

    def steps(self) -> list[Step]:
        """Every pair of ranks that have partners, lower rank first in each."""
        return [Step(low, high) for i, low in enumerate(self.rungs) for high in self.rungs[i + 1 :]]

    def describe(self) -> str:
        if not self.rungs:
            return ""
        first = self.rungs[0]
        hours = f"{first.name} {first.hours:.1f} h" + "".join(
            f" {_relation(a.hours, b.hours)} {b.name} {b.hours:.1f} h"
            for a, b in pairwise(self.rungs)
        )
        events = f"{first.events:g}" + "".join(
            f" {_relation(a.events, b.events)} {b.events:g}" for a, b in pairwise(self.rungs)
        )
        return f"{hours} (median hours per partner; events {events})"
