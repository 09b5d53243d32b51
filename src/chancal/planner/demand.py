"""A manager's demand for the year against the room in their working weeks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time

from chancal.models import Capacity, Travel
from chancal.planner.constraints import ALL_DAY_HOURS, Side, month_of, week_of, week_start
from chancal.planner.placement import Item


def over_demand(
    side: Side, capacity: Capacity, travel: Travel, items: Iterable[Item], year: tuple[int, int]
) -> str | None:
    """Say what the items ask for beyond the room of the year [start, end) (None: it fits)."""
    meetings = 0
    hours = 0.0
    visits = 0
    for item in items:
        if item.days:
            hours += ALL_DAY_HOURS * item.days
            visits += item.travels
        else:
            meetings += 1
            hours += item.seconds / 3600
    first, end = year
    daily = _hours_between(side.start, side.end)
    weeks: dict[int, int] = {}
    start = week_start(side.weekdays)
    for day in range(first, end):
        if side.works(day):
            week = week_of(day, start)
            weeks[week] = weeks.get(week, 0) + 1
    meeting_room = len(weeks) * capacity.meetings_per_week
    hour_room = sum(min(capacity.hours_per_week, n * daily) for n in weeks.values())
    months = len({month_of(d) for d in range(first, end)})
    visit_room = months * travel.site_visits_per_month
    over = []
    if meetings > meeting_room:
        over.append(
            f"{_count(meetings, 'meeting')} (room for {meeting_room}: "
            f"{_count(len(weeks), 'working week')} x {capacity.meetings_per_week})"
        )
    if hours > hour_room + 1e-9:
        over.append(f"{hours:.1f} h (room for {hour_room:.1f} h)")
    if visits > visit_room:
        over.append(
            f"{_count(visits, 'site visit')} (room for {visit_room}: "
            f"{travel.site_visits_per_month} a month)"
        )
    if not over:
        return None
    return (
        f"the year asks for {'; '.join(over)}; some events cannot be placed: lower the "
        "tiers' cadences, raise the manager's capacity or move partners to another manager"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _hours_between(start: time, end: time) -> float:
    return (end.hour * 60 + end.minute - start.hour * 60 - start.minute) / 60
