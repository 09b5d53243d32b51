"""The hard rules, each written once: every placement path (new events, kept pins) asks here.

The README's "Hard rules" table is the contract; `chancal.verify` checks the
same table independently, from the published year. The rules:

- working-hours: a timed event starts and ends on one local date of each
  side, inside that side's working hours of that date (each side in its own
  zone, daylight saving included);
- working-day, holiday, blackout: every local date an event touches is a
  working day of both sides and no holiday or blackout of either (`Side`
  folds holidays, blackouts and, for partners, shared-event days into one
  closed set); a site visit `to_us` also avoids the vendor's holidays;
- capacity: meetings and hours per week of the manager's own working week,
  by the manager's local date; an all-day event longer than the weekly budget
  may take a week that holds nothing else;
- travel: site visits `to_partner` per calendar month;
- overlap: no two timed events of a manager at once, no two all-day events of a
  manager on one day, no timed event on a day its manager or partner spends on
  an all-day event.

Nothing here is a preference: spacing, windows, the strategy gap and rhythm
live in placement.py and may be weighed; these never are. Days are ordinals
(`date.toordinal()`), instants UTC epoch seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

HALF_HOUR = 1800
ALL_DAY_HOURS = 8.0

# Why a slot was refused (shown in diagnostics).
R_DAY = "no allowed day (non-working days, holidays, blackouts, shared events)"
R_HOURS = "no time inside both sides' working hours on those days"
R_CAPACITY = "the manager's weekly capacity"
R_TRAVEL = "the manager's travel limit for the month"
R_BUSY = "the manager has another meeting at every time both sides work"
R_ALL_DAY = "a day the manager or the partner spends on an all-day event"


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a meeting, a manager or a partner: when it works, in its own zone."""

    zone: str
    start: time
    end: time
    weekdays: int  # bit mask, bit 0 = Monday
    closed: frozenset[int]  # holidays, blackouts (and a partner's shared-event days)

    def works(self, day: int) -> bool:
        """Return whether the local date is a working day that nothing closes."""
        return bool(self.weekdays >> weekday(day) & 1) and day not in self.closed


def weekday(day: int) -> int:
    """Monday 0 .. Sunday 6 (`date.fromordinal(1)` is a Monday)."""
    return (day - 1) % 7


def week_start(weekdays: int) -> int:
    """The weekday a working week starts on: the working day after the weekend.

    The weekend is the longest run of days off (the earlier weekday wins a tie):
    Sunday for a Sunday-Thursday week, Monday for Monday-Friday, and Monday
    when every day (or none) is a working day.
    """
    best, start = 0, 0
    for day in range(7):
        if not weekdays >> day & 1:
            continue
        off = 0
        while off < 7 and not weekdays >> ((day - off - 1) % 7) & 1:
            off += 1
        if off > best:
            best, start = off, day
    return start


def week_of(day: int, start: int) -> int:
    """The number of the week holding `day`, for weeks starting on weekday `start`."""
    return (day - 1 - start) // 7


@lru_cache(maxsize=1 << 16)
def working_window(zone: str, start: time, end: time, day: int) -> tuple[int, int]:
    """The working hours of a local date as UTC instants [start, end)."""
    tz = ZoneInfo(zone)
    on = date.fromordinal(day)
    return (
        int(datetime.combine(on, start, tz).timestamp()),
        int(datetime.combine(on, end, tz).timestamp()),
    )


def meeting_sides(
    manager: Side, partner: Side, on_site: bool, host_is_us: bool
) -> tuple[Side, Side]:
    """Both sides of a timed meeting: at an on-site one the visitor is in the host's zone."""
    if not on_site:
        return manager, partner
    if host_is_us:
        return manager, in_zone(partner, manager.zone)
    return in_zone(manager, partner.zone), partner


@lru_cache(maxsize=4096)
def in_zone(side: Side, zone: str) -> Side:
    """The same side, travelling: its working week and hours, in another zone."""
    return Side(zone, side.start, side.end, side.weekdays, side.closed)


class Slot(NamedTuple):
    """A start a timed event may take, and the manager's local date it falls on."""

    start: int
    manager_day: int


def timed_slots(manager: Side, partner: Side, day: int, seconds: int) -> tuple[Slot, ...]:
    """Every start on the partner's date `day` that keeps the whole event in both working days.

    Starts are on the partner's local half hours. The manager's date may be the
    day before or after (Los Angeles afternoon is Sydney's next morning); that
    date must be a working day of the manager too.
    """
    if not partner.works(day):
        return ()
    days = _open_days(*_day_key(manager, partner, day, seconds))
    return tuple(sorted(Slot(start, mday) for mday, starts in days for start in starts))


def _day_key(
    manager: Side, partner: Side, day: int, seconds: int
) -> tuple[_Clock, tuple[bool, bool, bool]]:
    """What a day's starts depend on once the partner works that day: the clock, and
    whether each of the manager's three dates is closed (`_open_days`; the key of a day
    found full, `Ledger.full`)."""
    closed = (not manager.works(day - 1), not manager.works(day), not manager.works(day + 1))
    return _clock(manager, partner, day, seconds), closed


def find_slot(sides: tuple[Side, Side], day: int, start: int, seconds: int) -> Slot | None:
    """The slot of a given start on the partner's date `day`, if it is one of `timed_slots`.

    A published start is checked where it is (a range holds a start or not)
    instead of listing the whole day's starts to find it: re-exporting checks
    every published event this way, and commits look up the manager's date here.
    Not cached: with the working windows cached, a re-export's checks cost the
    same without (1% of planning, within noise) and 35 MB less a process
    (benchmarks/README.md, "Caches that pay").
    """
    manager, partner = sides
    if not partner.works(day):
        return None
    # The earliest manager date first, as in the sorted `timed_slots`.
    for mday, starts in _starts(_clock(manager, partner, day, seconds)):
        if start in starts and manager.works(mday):
            return Slot(start, mday)
    return None


class _Clock(NamedTuple):
    """What the clock alone decides a day's starts by: shared by partners of one zone and hours."""

    manager_zone: str
    manager_start: time
    manager_end: time
    partner_zone: str
    partner_start: time
    partner_end: time
    day: int  # the partner's date
    seconds: int


def _clock(manager: Side, partner: Side, day: int, seconds: int) -> _Clock:
    return _Clock(
        manager.zone,
        manager.start,
        manager.end,
        partner.zone,
        partner.start,
        partner.end,
        day,
        seconds,
    )


def _starts(c: _Clock) -> tuple[tuple[int, range], ...]:
    """The starts on the partner's date by the clock alone, before either side's closed days:
    per manager date (the day before, the day itself, the day after), a range of UTC instants
    on the partner's local half hours that keep the event inside both working days."""
    p0, p1 = working_window(c.partner_zone, c.partner_start, c.partner_end, c.day)
    # The partner's local midnight of that date, for aligning starts to local half hours.
    midnight = p0 - (c.partner_start.hour * 3600 + c.partner_start.minute * 60)
    out: list[tuple[int, range]] = []
    for mday in (c.day - 1, c.day, c.day + 1):
        m0, m1 = working_window(c.manager_zone, c.manager_start, c.manager_end, mday)
        lo, hi = max(p0, m0), min(p1, m1)
        first = midnight + -(-(lo - midnight) // HALF_HOUR) * HALF_HOUR
        out.append((mday, range(first, hi - c.seconds + 1, HALF_HOUR)))
    return tuple(out)


OpenDays = tuple[tuple[int, range], ...]
"""A day's open starts: each manager date with its starts, in time order (`_open_days`)."""


@lru_cache(maxsize=1 << 14)
def _open_days(c: _Clock, closed: tuple[bool, bool, bool]) -> OpenDays:
    """The clock's starts without those on the manager's closed dates (the day before, of,
    after), as ranges: one per manager date, in time order.

    Ranges, not a slot each: a manager date's starts are one range, and each date's
    working hours end before the next date's begin, so the ranges in date order are the
    slots in time order. Cached, for the searches of one manager's year ask for the same
    days again and again (an overloaded program's most of all: 20% more time uncached),
    but only the last 16,384 days: computed anew, one takes 2.2 us. Unbounded, each
    process of a first export at 10,000 partners held 55,000 days: 60 MB as slots, 40 MB
    even as ranges (benchmarks/README.md, "One copy of each value").
    """
    # A Monday or a Friday: the starts on the closed neighbour go.
    return tuple(
        (mday, starts) for mday, starts in _starts(c) if starts and not closed[mday - c.day + 1]
    )


def _from(days: OpenDays, first: int) -> list[tuple[int, range]]:
    """The days' starts from the `first`-th on, then round to those before it."""
    after: list[tuple[int, range]] = []
    before: list[tuple[int, range]] = []
    for mday, starts in days:
        if after:
            after.append((mday, starts))
        elif first < len(starts):
            after.append((mday, starts[first:]))
            before.append((mday, starts[:first]))
        else:
            before.append((mday, starts))
            first -= len(starts)
    return after + before


@dataclass(slots=True)
class PartnerBook:
    """What one partner has committed to, as far as the hard rules care."""

    all_day: set[int] = field(default_factory=set)  # partner dates on all-day events
    timed_days: set[int] = field(default_factory=set)  # partner dates holding timed events


@dataclass(slots=True)
class Ledger:
    """Everything one manager has committed to, as far as the hard rules care."""

    side: Side
    meetings_per_week: int
    hours_per_week: float
    visits_per_month: int
    week_start: int = 0
    meetings: dict[int, int] = field(default_factory=dict)
    hours: dict[int, float] = field(default_factory=dict)
    events: dict[int, int] = field(default_factory=dict)  # per week: for the all-day exception
    travel: dict[int, int] = field(default_factory=dict)  # per month (year * 12 + month - 1)
    busy: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # manager date
    all_day: set[int] = field(default_factory=set)  # days on all-day events
    # Clocks (with the manager's closed dates) whose every start overlaps a meeting, and
    # the manager dates of their starts: meetings are only ever added, so it stays so.
    full: dict[tuple[_Clock, tuple[bool, bool, bool]], frozenset[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.week_start = week_start(self.side.weekdays)

    def week(self, day: int) -> int:
        """The manager's working week holding the manager's local date `day`."""
        return week_of(day, self.week_start)

    # -- timed events -------------------------------------------------------------

    def timed_refusal(self, book: PartnerBook, day: int, slot: Slot, seconds: int) -> str | None:
        """Why a timed event cannot start at `slot` (partner date `day`); None when it can."""
        return self._day_refusal(book, day, slot.manager_day, seconds) or self._busy(slot, seconds)

    def _day_refusal(self, book: PartnerBook, day: int, mday: int, seconds: int) -> str | None:
        """What refuses every start on the manager's date `mday`: all-day events, capacity."""
        if mday in self.all_day or day in book.all_day:
            return R_ALL_DAY
        week = self.week(mday)
        if self.meetings.get(week, 0) + 1 > self.meetings_per_week:
            return R_CAPACITY
        if self.hours.get(week, 0.0) + seconds / 3600 > self.hours_per_week + 1e-9:
            return R_CAPACITY
        return None

    def _busy(self, slot: Slot, seconds: int) -> str | None:
        return _overlap(self._taken(slot.manager_day), slot.start, slot.start + seconds)

    def _taken(self, mday: int) -> list[tuple[int, int]]:
        """The manager's meetings that may overlap a start on the manager's date `mday`."""
        # Neighbouring dates too: a travelling manager's dates are the host's.
        busy = self.busy
        return [*busy.get(mday - 1, ()), *busy.get(mday, ()), *busy.get(mday + 1, ())]

    def free_slot(
        self,
        book: PartnerBook,
        sides: tuple[Side, Side],
        day: int,
        seconds: int,
        prefer: float,
    ) -> tuple[Slot | None, str]:
        """The first free start from a per-partner offset (wrapping); else None and why.

        `sides` are the manager's and the partner's, as `meeting_sides` gives them.
        """
        manager, partner = sides
        if not partner.works(day):
            return None, R_DAY
        key = _day_key(manager, partner, day, seconds)
        days = _open_days(*key)
        if not days:
            return None, R_HOURS
        full = self.full.get(key)
        if full is not None:
            # Every start still overlaps a meeting; only its dates' refusals may have
            # changed. Half an overloaded program's searches end here (benchmarks/README.md).
            reasons = [self._day_refusal(book, day, mday, seconds) or R_BUSY for mday in full]
            return None, min(reasons, key=_REASON_RANK.index)
        count = sum(len(starts) for _, starts in days)
        reasons = []
        # One manager's date's refusal holds for all its starts, and its meetings are
        # gathered once for all of them.
        by_day: dict[int, tuple[str | None, list[tuple[int, int]]]] = {}
        for mday, starts in _from(days, int(prefer * count) % count):
            if not starts:
                continue
            if mday not in by_day:
                refused = self._day_refusal(book, day, mday, seconds)
                if refused is not None and not by_day:
                    whole = self._refused_whole(book, day, days, seconds)
                    if whole is not None:
                        return None, whole
                by_day[mday] = refused, [] if refused else self._taken(mday)
            refused, taken = by_day[mday]
            if refused is not None:
                reasons.append(refused)
                continue
            for start in starts:
                if _overlap(taken, start, start + seconds) is None:
                    return Slot(start, mday), ""
            reasons.append(R_BUSY)
        if all(refused is None for refused, _ in by_day.values()):
            self.full[key] = frozenset(by_day)
        return None, min(reasons, key=_REASON_RANK.index)

    def _refused_whole(
        self, book: PartnerBook, day: int, days: OpenDays, seconds: int
    ) -> str | None:
        """The most telling refusal when each manager date of the day's slots is refused whole
        (a full week, an all-day event), so that no start needs looking at; None otherwise.

        Asked only once the first date looked at is refused: in an overloaded program,
        a third of the searches (benchmarks/README.md, "Largest first for every process").
        """
        reasons = []
        for mday, _ in days:
            why = self._day_refusal(book, day, mday, seconds)
            if why is None:
                return None
            reasons.append(why)
        return min(reasons, key=_REASON_RANK.index)

    def slot_refusal(
        self, book: PartnerBook, sides: tuple[Side, Side], day: int, start: int, seconds: int
    ) -> tuple[Slot | None, str | None]:
        """Check a given start (a published one): its slot, and why it cannot be kept (None: it
        can). The slot found here is the one committed: the start is looked up once."""
        slot = find_slot(sides, day, start, seconds)
        if slot is None:
            return None, R_DAY if not sides[1].works(day) else R_HOURS
        return slot, self.timed_refusal(book, day, slot, seconds)

    def commit_timed(self, book: PartnerBook, day: int, slot: Slot, seconds: int) -> None:
        """Record a timed event at `slot` (partner date `day`)."""
        week = self.week(slot.manager_day)
        self.meetings[week] = self.meetings.get(week, 0) + 1
        self.hours[week] = self.hours.get(week, 0.0) + seconds / 3600
        self.events[week] = self.events.get(week, 0) + 1
        self.busy.setdefault(slot.manager_day, []).append((slot.start, slot.start + seconds))
        book.timed_days.add(day)

    # -- all-day events -----------------------------------------------------------

    def all_day_refusal(
        self,
        book: PartnerBook,
        partner: Side,
        first: int,
        length: int,
        host_closed: frozenset[int],
        travels: bool,
    ) -> str | None:
        """Why an all-day event cannot take days first..first+length-1; None when it can."""
        days = range(first, first + length)
        for day in days:
            if not (partner.works(day) and self.side.works(day)) or day in host_closed:
                return R_DAY
            if (
                day in self.all_day
                or day in self.busy
                or day in book.all_day
                or day in book.timed_days
            ):
                return R_ALL_DAY
        for week, n in self._weeks(days).items():
            used = self.hours.get(week, 0.0)
            # A visit longer than the whole weekly budget may take an otherwise empty week.
            if self.events.get(week, 0) and used + ALL_DAY_HOURS * n > self.hours_per_week + 1e-9:
                return R_CAPACITY
        if travels and self.travel.get(month_of(first), 0) + 1 > self.visits_per_month:
            return R_TRAVEL
        return None

    def commit_all_day(self, book: PartnerBook, first: int, length: int, travels: bool) -> None:
        """Record an all-day event on days first..first+length-1."""
        days = range(first, first + length)
        for week, n in self._weeks(days).items():
            self.hours[week] = self.hours.get(week, 0.0) + ALL_DAY_HOURS * n
            self.events[week] = self.events.get(week, 0) + 1
        self.all_day.update(days)
        book.all_day.update(days)
        if travels:
            month = month_of(first)
            self.travel[month] = self.travel.get(month, 0) + 1

    def _weeks(self, days: range) -> dict[int, int]:
        out: dict[int, int] = {}
        for day in days:
            week = self.week(day)
            out[week] = out.get(week, 0) + 1
        return out


def _overlap(taken: list[tuple[int, int]], start: int, end: int) -> str | None:
    """R_BUSY when [start, end) overlaps one of the meetings taken."""
    for taken_start, taken_end in taken:
        if start < taken_end and taken_start < end:
            return R_BUSY
    return None


def forget() -> None:
    """Empty this module's caches once a plan is made.

    The caches earn their place: planning 1,000 partners in one process took
    13.5-15.0 s with them and 24.4-27.0 s without (benchmarks/README.md, issue 12).

    They serve one planning run; at 10,000 partners they hold a few hundred MB
    that the rest of an export (reconcile, lock, feeds) would otherwise carry.
    """
    for cached in (
        working_window,
        in_zone,
        _open_days,
        local_datetime,
    ):
        cached.cache_clear()


@lru_cache(maxsize=1 << 12)
def local_datetime(ts: int, zone: str) -> datetime:
    """Return the aware datetime of an instant in a zone (cached: many events share starts).

    The events that share a start are mostly one manager's: 4,096 entries
    planned 10,000 partners as fast as 262,144 did, and held 24 MB less in
    each process (benchmarks/README.md, "Caches that pay").
    """
    return datetime.fromtimestamp(ts, ZoneInfo(zone))


def month_of(day: int) -> int:
    """A month number (year * 12 + month - 1) of a date."""
    on = date.fromordinal(day)
    return on.year * 12 + on.month - 1


# Most telling first: what a user can act on before what merely happened to be full.
_REASON_RANK = (R_CAPACITY, R_TRAVEL, R_BUSY, R_ALL_DAY, R_HOURS, R_DAY)
