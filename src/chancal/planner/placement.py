"""Choosing a day and a start time for each wanted event, under spacing, capacity and pins.

Hard limits, never broken: allowed days (calendar.py), shared-event days of
invited partners, the manager's weekly capacity and travel, no two timed
events of one partner at the same time, no two site visits of one manager on
the same day, the strategy gap, and the month rule of monthly check-ins. Two
meetings of one manager at the same time only happen as the last relaxation
step (a manager whose weekly limits allow more meetings than the clock does).

Capacity: a week (ISO, Monday-based, by the partner's date of the event)
holds at most `meetings_per_week` timed events and `hours_per_week` hours,
where a timed event counts its duration and an all-day event 8 hours per day;
an all-day event longer than the whole weekly budget (a 2-day site visit of a
manager with a 14-hour week) may take a week that holds nothing else. Site
visits `to_partner` count against `travel.site_visits_per_month` (calendar
month of their first day).

Preference: inside a window, the scan starts at a point in its middle half
chosen by a stable hash of the partner id (so partners of one manager do not
all get the same day) and moves outward one day at a time; explicit dates
start on the date itself; follow-ups start in the week from their offset day
(their window runs from 3 days before it to 10 days after, see build.py).
Start times: the first free half hour from a per-partner offset among the
candidates of hours.py.

Relaxation, in this order, each step after the first recorded as a warning
naming partner, rule, date and reason:
  0. any day inside the window;
  1. "window-widened": up to 2 weeks either side of the window, nearest first;
  2. "window-widened": anywhere in the occurrence's period, nearest first;
  3. "spacing-relaxed": steps 0-2 again without the partner's spacing
     (max_per_week, min_days_between);
  4. "double-booked": steps 0-2 again (with spacing), letting a timed event
     overlap another meeting of the manager; only when some day was refused
     for the manager's time alone (the weekly limits still hold). One warning
     per manager counts these;
  5. "unplaced" (error): the event is left out.

Monthly check-ins (`skip_months_with_accountability`) only consider days in
months (the partner's calendar months) without an accountability event of
another rule, and outside any strategy gap; when no such day is left in their
window they are skipped (one info diagnostic per partner lists them).

Pins (build.py): before anything new is placed, every pinned event keeps its
published slot while the hard limits hold (an allowed day, a valid and free
start inside both working days, capacity, travel, the strategy gap, the
check-in month rule) and the day is no further from the window than
relaxation may go; the window itself and the partner's spacing do not move
a published event, so a plan re-run against its own lock changes nothing. A
slot published overlapping another of the manager's meetings stays (counted
as double-booked). Pins are reserved in a fixed order (partners by id, rules
in placement order), so new events cannot take their slots. A pinned start
before `today` is kept exactly and unconditionally. A pinned event that must
move gets a "moved" warning saying why.

Speed (issue 7): busy time is kept as bit masks of half hours, so the free
starts of a day are a few int operations over the day's candidates (hours.py
computes each day's candidate shape once per pair of zones); days found
without a free start for a manager are remembered (busy time only grows);
relaxation steps only order the days still usable, and the overlapping step
widens lazily.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from chancal.plan import ALL_DAY_HOURS
from chancal.planner.calendar import DayTable, Ranges
from chancal.planner.hours import HALF_HOUR, HoursSig, SlotMask, slot_mask
from chancal.planner.recurrence import Occurrence
from chancal.planner.rules import FollowSpec, RuleSpec

WIDEN_DAYS = 14
_NOTHING: frozenset[int] = frozenset()  # all-day events need no free start time

# Why a day was refused, from the most to the least fundamental.
R_DAY = "no allowed day (non-working days, holidays, blackouts, shared events)"
R_SPACING = "the partner's spacing (events per week, days between events)"
R_GAP = "the gap from accountability events"
R_MONTH = "months that already hold an accountability event"
R_CAPACITY = "the manager's weekly capacity or travel limit"
R_BUSY = "no free start time for both the manager and the partner"
R_HALF = "the other direction's site visit in the same half of the year"
_REASON_ORDER = (R_CAPACITY, R_BUSY, R_SPACING, R_GAP, R_MONTH, R_HALF, R_DAY)


def week_of(ordinal: int) -> int:
    """Monday-based week number (date.fromordinal(1) is a Monday)."""
    return (ordinal - 1) // 7


@dataclass(slots=True)
class ManagerState:
    """Everything one manager has committed to so far."""

    meetings_per_week: int
    hours_per_week: float
    visits_per_month: int
    meetings: dict[int, int] = field(default_factory=dict)
    hours: dict[int, float] = field(default_factory=dict)
    travel: dict[int, int] = field(default_factory=dict)
    # Taken half hours (UTC epoch // 1800) as bits: word k holds half hours 64k..64k+63.
    busy: dict[int, int] = field(default_factory=dict)
    visit_days: set[int] = field(default_factory=set)
    # Days with no free start for an event of this length between these working days.
    # Busy time only grows, so a day once found full stays full.
    # By the partner's slot cache (one per clock, see hours.same_clock), then length.
    no_room: dict[int, dict[int, set[int]]] = field(default_factory=dict)
    # Per slot cache: days found full where both working days overlap, with the shortest
    # length found not to fit. Such a day has no room for any longer event either (its
    # candidate starts are fewer and each needs more free time), so new lengths start
    # from what shorter ones found.
    full: dict[int, dict[int, int]] = field(default_factory=dict)

    def no_room_for(self, cache: int, seconds: int) -> set[int]:
        """The known full days for events of `seconds` between one pair of working days."""
        lengths = self.no_room.setdefault(cache, {})
        found = lengths.get(seconds)
        if found is None:
            shorter = self.full.get(cache)
            found = lengths[seconds] = (
                {d for d, s in shorter.items() if s <= seconds} if shorter else set()
            )
        return found

    def add_no_room(self, cache: int, seconds: int, day: int, common: bool) -> None:
        """Record a full day; where the working days overlap, for every longer length too."""
        self.no_room_for(cache, seconds).add(day)
        if not common:
            return
        full = self.full.setdefault(cache, {})
        if full.get(day, seconds + 1) <= seconds:
            return
        full[day] = seconds
        for length, days in self.no_room[cache].items():
            if length > seconds:
                days.add(day)


@dataclass(slots=True)
class PartnerState:
    """One partner's calendar context and the events placed for it so far."""

    id: str
    name: str
    timezone: str
    table: DayTable
    hours: HoursSig
    max_per_week: int
    min_days: int
    prefer: float  # 0..1 from a stable hash of the id
    time_prefer: float
    month_of: dict[int, int]  # ordinal -> year*12+month-1
    half_start: int  # second half of the (program) year starts here
    blocked: frozenset[int]  # shared-event days
    # Candidate starts per (ordinal << 20 | seconds), shared by partners with equal `hours`.
    slot_cache: dict[int, SlotMask] = field(default_factory=dict)
    occupied: list[int] = field(default_factory=list)  # sorted days of every event
    weeks: dict[int, int] = field(default_factory=dict)
    all_day: set[int] = field(default_factory=set)
    busy: dict[int, int] = field(default_factory=dict)  # as ManagerState.busy
    acc_days: list[int] = field(default_factory=list)  # sorted
    acc_months: dict[int, set[str]] = field(default_factory=dict)
    gap_events: list[tuple[int, int, int]] = field(default_factory=list)  # first, last, gap
    visit_halves: dict[str, set[int]] = field(default_factory=dict)  # direction -> halves


@dataclass(slots=True)
class Item:
    """One event to place: an occurrence of a rule, or a follow-up of one."""

    key: str
    partner: PartnerState
    spec: RuleSpec
    occ: Occurrence
    follow: FollowSpec | None = None
    follow_number: int = 0
    offset: int = 0  # follow-ups: days after the base's first day
    parent: Item | None = None
    children: list[Item] = field(default_factory=list)
    window: Ranges = ()
    period: tuple[int, int] = (0, 0)
    pin: date | datetime | None = None
    # results
    day: int | None = None
    start: int | None = None  # UTC epoch seconds of a timed event
    level: int = -1
    frozen: bool = False
    common_hours: bool = True
    failure: str = ""
    # Derived once in __post_init__: read in the hot loop, so plain fields, not properties.
    seconds: int = 0
    days: int = 0  # > 0: all-day, that many consecutive days
    is_accountability: bool = False
    gap: int = 0
    skip: bool = False
    visit_direction: str | None = None
    travels: bool = False
    # The pin as (partner's local day, UTC start or None for all-day): read several times.
    pin_slot: tuple[int, int | None] | None = None

    def __post_init__(self) -> None:
        pin = self.pin
        if isinstance(pin, datetime):
            local = pin.astimezone(ZoneInfo(self.partner.timezone))
            self.pin_slot = local.date().toordinal(), int(pin.timestamp())
        elif pin is not None:
            self.pin_slot = pin.toordinal(), None
        follow, spec = self.follow, self.spec
        if follow is not None:
            self.seconds, self.days = follow.seconds, follow.days
            self.is_accountability = follow.purpose == "accountability"
            return
        self.seconds, self.days = spec.seconds, spec.days
        self.is_accountability = spec.purpose == "accountability"
        self.gap = spec.gap_days
        self.skip = spec.skip_months
        if spec.kind == "site_visit":
            self.visit_direction = "to_us" if spec.direction == "to_us" else "to_partner"
        self.travels = self.days > 0 and self.visit_direction == "to_partner"


class Placer:
    """Commits items of one manager's partners, one at a time, checking every limit."""

    def __init__(self, manager: ManagerState) -> None:
        self.manager = manager
        # Why each day was refused (with spacing, without overlap) while placing the
        # current timed item. Nothing is committed during one item's search, so a later
        # step need only retry days whose refusal it relaxes: spacing (step 3) or the
        # manager's time (step 4); any other refusal would simply repeat.
        self.refused: dict[int, str] = {}

    # -- checks ---------------------------------------------------------------

    def refusal(self, item: Item, day: int, spacing: bool) -> str | None:
        """Return why `day` cannot hold the item (None: it can, start time aside)."""
        if item.days:
            return self._refusal_all_day(item, day, spacing)
        p = item.partner
        if not p.table.is_allowed(day) or day in p.blocked or (not spacing and day in p.all_day):
            return R_DAY
        if item.gap or item.skip or item.is_accountability:
            why = self._rules_refusal(item, day, day)
            if why is not None:
                return why
        m = self.manager
        week = (day - 1) // 7
        if m.meetings.get(week, 0) >= m.meetings_per_week:
            return R_CAPACITY
        if m.hours.get(week, 0.0) + item.seconds / 3600 > m.hours_per_week + 1e-9:
            return R_CAPACITY
        if spacing:
            if p.weeks.get(week, 0) >= p.max_per_week:
                return R_SPACING
            if p.min_days and p.occupied:
                i = bisect.bisect_right(p.occupied, day - p.min_days)
                if i < len(p.occupied) and p.occupied[i] < day + p.min_days:
                    return R_SPACING
        return None

    def _rules_refusal(self, item: Item, day: int, last: int) -> str | None:
        """The strategy gap, the check-in month rule and the site-visit halves."""
        p = item.partner
        gap = item.gap
        if gap and p.acc_days:
            i = bisect.bisect_right(p.acc_days, day - gap)
            if i < len(p.acc_days) and p.acc_days[i] < last + gap:
                return R_GAP
        if item.is_accountability:
            for first, end, g in p.gap_events:
                if day < end + g and last > first - g:
                    return R_GAP
        if item.skip:
            rules = p.acc_months.get(p.month_of[day])
            if rules and (len(rules) > 1 or item.spec.id not in rules):
                return R_MONTH
        direction = item.visit_direction
        if direction is not None:
            other = p.visit_halves.get("to_us" if direction == "to_partner" else "to_partner")
            if other and len(other) == 1 and _half(p, day) in other:
                return R_HALF
        return None

    def _refusal_all_day(self, item: Item, day: int, spacing: bool) -> str | None:
        p = item.partner
        length = item.days
        last = day + length - 1
        if not p.table.fits(day, length):
            return R_DAY
        for d in range(day, last + 1):
            if d in p.blocked or (d in p.all_day and not spacing):
                return R_DAY
        why = self._rules_refusal(item, day, last)
        if why is not None:
            return why
        m = self.manager
        if any(d in m.visit_days for d in range(day, last + 1)):
            return R_CAPACITY
        for week, n in _week_days(day, length):
            used = m.hours.get(week, 0.0)
            # A visit longer than the whole weekly budget may take an empty week.
            if used and used + ALL_DAY_HOURS * n > m.hours_per_week:
                return R_CAPACITY
        if item.travels and m.travel.get(p.month_of[day], 0) >= m.visits_per_month:
            return R_CAPACITY
        if spacing:
            for week, _ in _week_days(day, length):
                if p.weeks.get(week, 0) >= p.max_per_week:
                    return R_SPACING
            if p.min_days and p.occupied:
                i = bisect.bisect_right(p.occupied, day - p.min_days)
                if i < len(p.occupied) and p.occupied[i] < last + p.min_days:
                    return R_SPACING
        return None

    def start_time(self, item: Item, day: int, overlap: bool = False) -> tuple[int, bool] | None:
        """Return a free start (UTC seconds) on the day and whether it is in common hours.

        With `overlap`, the manager's other meetings are ignored (the last resort).
        Candidates are tried from a per-partner offset onwards, wrapping around;
        the busy checks are bit operations over the day's candidates at once.
        """
        p = item.partner
        sm = _slot_mask(p, day, item.seconds)
        free = sm.cands
        if not overlap:
            taken = _read(self.manager.busy, sm.base, sm.width)
            if taken:
                free &= ~_smear(taken, sm.span)
                if not free:
                    self.manager.add_no_room(id(p.slot_cache), item.seconds, day, sm.common)
                    return None
        if p.busy:
            taken = _read(p.busy, sm.base, sm.width)
            if taken:
                free &= ~_smear(taken, sm.span)
                if not free:
                    return None
        bits = sm.bits
        first = bits[int(p.time_prefer * len(bits)) % len(bits)]
        later = free >> first << first
        pick = later or free
        j = (pick & -pick).bit_length() - 1
        return (sm.base + j) * HALF_HOUR + sm.phase, sm.common

    def common_hours(self, item: Item, day: int) -> bool:
        """Whether both working days share time on the day (for a kept pin's report)."""
        return _slot_mask(item.partner, day, item.seconds).common

    def pinned_start_ok(self, item: Item, day: int, start: int, overlap: bool = False) -> bool:
        """Return whether a pinned start is still one of the day's valid, free starts.

        With `overlap`, the manager's other meetings are ignored.
        """
        p = item.partner
        sm = _slot_mask(p, day, item.seconds)
        if start % HALF_HOUR != sm.phase:
            return False
        j = start // HALF_HOUR - sm.base
        if j < 0 or not sm.cands >> j & 1:
            return False
        h = start // HALF_HOUR
        if not overlap and _read(self.manager.busy, h, sm.span):
            return False
        return not _read(p.busy, h, sm.span)

    # -- commit ---------------------------------------------------------------

    def commit(self, item: Item, day: int, start: int | None, level: int) -> None:
        """Record the item on `day` (and at `start` when timed) in both states."""
        item.day, item.start, item.level = day, start, level
        p, m = item.partner, self.manager
        length = item.days or 1
        days = range(day, day + length)
        for d in days:
            bisect.insort(p.occupied, d)
        for week, n in _week_days(day, length):
            p.weeks[week] = p.weeks.get(week, 0) + 1
            if item.days:
                m.hours[week] = m.hours.get(week, 0.0) + ALL_DAY_HOURS * n
        if item.days:
            p.all_day.update(days)
            m.visit_days.update(days)
            if item.travels:
                month = p.month_of.get(day, 0)
                m.travel[month] = m.travel.get(month, 0) + 1
            if item.visit_direction is not None:
                p.visit_halves.setdefault(item.visit_direction, set()).add(_half(p, day))
        else:
            assert start is not None
            week = week_of(day)
            m.meetings[week] = m.meetings.get(week, 0) + 1
            m.hours[week] = m.hours.get(week, 0.0) + item.seconds / 3600
            first, end = start // HALF_HOUR, -(-(start + item.seconds) // HALF_HOUR)
            _mark(m.busy, first, end)
            _mark(p.busy, first, end)
        if item.is_accountability:
            for d in days:
                bisect.insort(p.acc_days, d)
            rule = item.spec.id if item.follow is None else f"{item.spec.id}/{item.follow.kind}"
            p.acc_months.setdefault(p.month_of.get(day, 0), set()).add(rule)
        if item.gap:
            p.gap_events.append((day, day + length - 1, item.gap))

    # -- search ---------------------------------------------------------------

    def attempt(
        self, item: Item, day: int, spacing: bool, reasons: dict[str, int], overlap: bool = False
    ) -> tuple[bool, int | None]:
        """Check the day; return (ok, start time) or count why it was refused."""
        if not item.days:
            return self._attempt_timed(item, day, spacing, reasons, overlap)
        why = self.refusal(item, day, spacing)
        if why is not None:
            reasons[why] = reasons.get(why, 0) + 1
            return False, None
        return True, None

    def _attempt_timed(
        self, item: Item, day: int, spacing: bool, reasons: dict[str, int], overlap: bool
    ) -> tuple[bool, int | None]:
        """`attempt` for a timed event: `refusal` and `start_time` in one pass (the hot path)."""
        p = item.partner
        table = p.table
        i = day - table.first
        if (
            not 0 <= i < len(table.allowed)
            or not table.allowed[i]
            or day in p.blocked
            or (not spacing and day in p.all_day)
        ):
            why: str | None = R_DAY
        elif (item.gap or item.skip or item.is_accountability) and (
            why := self._rules_refusal(item, day, day)
        ) is not None:
            pass
        else:
            m = self.manager
            week = (day - 1) // 7
            if (
                m.meetings.get(week, 0) >= m.meetings_per_week
                or m.hours.get(week, 0.0) + item.seconds / 3600 > m.hours_per_week + 1e-9
            ):
                why = R_CAPACITY
            elif spacing and (
                p.weeks.get(week, 0) >= p.max_per_week
                or (
                    p.min_days
                    and p.occupied
                    and (k := bisect.bisect_right(p.occupied, day - p.min_days)) < len(p.occupied)
                    and p.occupied[k] < day + p.min_days
                )
            ):
                why = R_SPACING
            else:
                found = self.start_time(item, day, overlap)
                if found is not None:
                    start, item.common_hours = found
                    return True, start
                why = R_BUSY
        assert why is not None
        reasons[why] = reasons.get(why, 0) + 1
        if spacing and not overlap:
            self.refused[day] = why
        return False, None

    def place(self, item: Item, last_level: int = 4) -> tuple[int, str]:
        """Place the item by the relaxation order; return (level, why step 0 failed).

        Level -1 means it could not be placed at all (up to `last_level`).
        """
        reasons: dict[str, int] = {}
        refused = self.refused
        refused.clear()
        window = item.window
        order = _outward(window, _preferred_index(item, _window_size(window)))
        no_room = (
            _NOTHING
            if item.days
            else self.manager.no_room_for(id(item.partner.slot_cache), item.seconds)
        )
        # Step 0 checks each window day directly, in preference order: most events
        # find a day here. The cheapest refusals (not an allowed day, no free hour
        # left that day) are checked inline.
        table = item.partner.table
        allowed, first = table.allowed, table.first
        busy = 0
        for day in order:
            if not allowed[day - first]:
                continue
            if day in no_room:
                busy += 1
                continue
            ok, start = self.attempt(item, day, True, reasons)
            if ok:
                self.commit(item, day, start, 0)
                return 0, ""
        if busy:
            reasons[R_BUSY] = reasons.get(R_BUSY, 0) + busy
        first_reason = main_reason(reasons)
        if last_level == 0:
            return -1, first_reason
        usable, loose = self._usable(item)
        if not loose:
            lo, hi = span(item)
            i = bisect.bisect_left(table.days, lo)
            return -1, first_reason or (
                R_CAPACITY if i < len(table.days) and table.days[i] < hi else R_DAY
            )
        # Steps 1-4 only ever try days of `usable` (or `loose`), so those sets are
        # ordered directly instead of scanning and sorting every day of the period.
        near, far = _widened(item, usable) if usable else ([], [])
        for level in range(1, last_level + 1):
            if level == 1:
                tries: Iterable[int] = near
                spacing = True
            elif level == 2:
                tries, spacing = far, True
            elif level == 3:
                if not reasons.get(R_SPACING):
                    continue  # dropping the spacing cannot help
                tries, spacing = [*(d for d in order if d in usable), *near, *far], False
                if not item.days:
                    tries = [d for d in tries if refused.get(d) == R_SPACING]
            else:
                if item.days or (len(loose) == len(usable) and not reasons.get(R_BUSY)):
                    break  # no day was refused for the manager's time alone
                # Lazily: most overlapping events find a day in the window itself.
                tries = (
                    d
                    for d in _overlap_days(
                        item, order, loose, (near, far) if len(loose) == len(usable) else None
                    )
                    if refused.get(d, R_BUSY) == R_BUSY
                )
                spacing = True
            overlap = level == 4
            for day in tries:
                ok, start = self.attempt(item, day, spacing, reasons, overlap)
                if ok:
                    self.commit(item, day, start, level)
                    return level, first_reason
        return -1, first_reason

    def _usable(self, item: Item) -> tuple[set[int], set[int]]:
        """Allowed days of the widest search range in weeks the manager still has room in.

        Returns (days with a free start for the manager, days ignoring the
        manager's other meetings). Computed once per item, so an event that
        cannot be placed fails fast instead of checking every day five times.
        """
        table = item.partner.table
        lo, hi = span(item)
        days = table.days[bisect.bisect_left(table.days, lo) : bisect.bisect_left(table.days, hi)]
        m = self.manager
        if item.days:
            fitting = {d for d in days if table.fits(d, item.days)}
            return fitting, fitting
        hours = item.seconds / 3600
        no_room = m.no_room_for(id(item.partner.slot_cache), item.seconds)
        if not days:
            return set(), set()
        full = {
            w
            for w in range(week_of(days[0]), week_of(days[-1]) + 1)
            if m.meetings.get(w, 0) >= m.meetings_per_week
            or m.hours.get(w, 0.0) + hours > m.hours_per_week + 1e-9
        }
        loose = {d for d in days if (d - 1) // 7 not in full} if full else set(days)
        return (loose - no_room if no_room else loose), loose


def span(item: Item) -> tuple[int, int]:
    """The widest range any relaxation step may search."""
    table = item.partner.table
    ys, ye = table.first, table.first + len(table.allowed)
    plo, phi = item.period
    if item.window:
        lo = min(item.window[0][0] - WIDEN_DAYS, plo)
        hi = max(item.window[-1][1] + WIDEN_DAYS, phi)
    else:
        lo, hi = plo, phi
    return max(ys, lo), min(ye, hi)


@lru_cache(maxsize=4096)
def _inside(window: Ranges) -> frozenset[int]:
    return frozenset(d for lo, hi in window for d in range(lo, hi))


def _window_size(window: Ranges) -> int:
    return sum(hi - lo for lo, hi in window)


def _widened(item: Item, days: set[int]) -> tuple[list[int], list[int]]:
    """Days of steps 1 and 2 among `days`, each nearest to the window first.

    Step 1: up to WIDEN_DAYS either side of the window (and gaps between its
    ranges); step 2: the rest of the occurrence's period.
    """
    window = item.window
    table = item.partner.table
    ys, ye = table.first, table.first + len(table.allowed)
    plo, phi = item.period
    wlo, whi = (window[0][0], window[-1][1]) if window else (plo, phi)
    near_lo, near_hi = max(ys, wlo - WIDEN_DAYS), min(ye, whi + WIDEN_DAYS)
    far_lo, far_hi = max(ys, min(plo, near_lo)), min(ye, max(phi, near_hi))
    inside = _inside(window)
    near: list[int] = []
    far: list[int] = []
    for d in days:
        if d in inside:
            continue
        if near_lo <= d < near_hi:
            near.append(d)
        elif far_lo <= d < far_hi:
            far.append(d)
    if len(window) <= 1:
        lo, hi = window[0] if window else (0, 0)
        return _by_distance(near, lo, hi), _by_distance(far, lo, hi)

    def key(d: int) -> tuple[int, int]:
        return distance(window, d), d

    near.sort(key=key)
    far.sort(key=key)
    return near, far


def _overlap_days(
    item: Item, order: tuple[int, ...], loose: set[int], widened: tuple[list[int], list[int]] | None
) -> Iterator[int]:
    """Days of the last step, lazily: most overlapping events find one in the window itself."""
    yield from (d for d in order if d in loose)
    near, far = widened if widened is not None else _widened(item, loose)
    yield from near
    yield from far


def _by_distance(days: list[int], lo: int, hi: int) -> list[int]:
    """Days outside [lo, hi) nearest first (ties: the earlier day), by merging both sides."""
    days.sort()
    split = bisect.bisect_left(days, lo)
    before = days[split - 1 :: -1] if split else []  # nearest first
    after = days[split:]
    out: list[int] = []
    i = j = 0
    while i < len(before) and j < len(after):
        if lo - before[i] <= after[j] - hi + 1:
            out.append(before[i])
            i += 1
        else:
            out.append(after[j])
            j += 1
    out.extend(before[i:])
    out.extend(after[j:])
    return out


def _preferred_index(item: Item, n: int) -> int:
    if n == 0:
        return 0
    parent = item.parent
    if parent is not None and parent.day is not None and item.window:
        # A follow-up prefers a day of the week starting at its offset (where in
        # that week by the partner's hash, as for any window), then the days around.
        at = parent.day + item.offset + int(7 * (0.25 + 0.5 * item.partner.prefer))
        return max(0, min(n - 1, at - item.window[0][0]))
    if item.occ.exact:
        return 0
    return min(n - 1, int(n * (0.25 + 0.5 * item.partner.prefer)))


@lru_cache(maxsize=1 << 14)
def _outward(window: Ranges, start: int) -> tuple[int, ...]:
    """The window's days from the `start`-th outwards, alternating later and earlier."""
    days = [d for lo, hi in window for d in range(lo, hi)]
    n = len(days)
    if not n:
        return ()
    out = [days[start]]
    for k in range(1, n):
        if start + k < n:
            out.append(days[start + k])
        if start - k >= 0:
            out.append(days[start - k])
        if start + k >= n and start - k < 0:
            break
    return tuple(out)


def distance(window: Ranges, day: int) -> int:
    if not window:
        return 0
    return min(lo - day if day < lo else day - hi + 1 if day >= hi else 0 for lo, hi in window)


def main_reason(reasons: dict[str, int]) -> str:
    """The most frequent refusal, where a day was allowed at all."""
    found = [r for r in _REASON_ORDER if r != R_DAY and reasons.get(r)]
    if not found:
        return R_DAY
    return max(found, key=lambda r: (reasons[r], -_REASON_ORDER.index(r)))


def _week_days(day: int, length: int) -> list[tuple[int, int]]:
    out: dict[int, int] = {}
    for d in range(day, day + length):
        w = week_of(d)
        out[w] = out.get(w, 0) + 1
    return list(out.items())


def _half(p: PartnerState, day: int) -> int:
    return 0 if day < p.half_start else 1


def _slot_mask(p: PartnerState, day: int, seconds: int) -> SlotMask:
    key = day << 20 | seconds
    found = p.slot_cache.get(key)
    if found is None:
        found = p.slot_cache[key] = slot_mask(p.hours, day, seconds)
    return found


def _read(words: dict[int, int], first: int, width: int) -> int:
    """The busy bits of half hours first..first+width-1 (bit 0 = `first`)."""
    k, off = first >> 6, first & 63
    value = words.get(k, 0)
    have, shift = 64 - off, 64
    while have < width:
        k += 1
        value |= words.get(k, 0) << shift
        shift += 64
        have += 64
    return (value >> off) & ((1 << width) - 1)


def _smear(taken: int, span: int) -> int:
    """Bit j set when any of bits j..j+span-1 is set: starts an event of `span` would hit."""
    covered = 1
    while covered * 2 <= span:
        taken |= taken >> covered
        covered *= 2
    if covered < span:
        taken |= taken >> (span - covered)
    return taken


def _mark(words: dict[int, int], first: int, end: int) -> None:
    """Mark half hours first..end-1 as taken (one mask per 64-half-hour word)."""
    while first < end:
        k, off = first >> 6, first & 63
        n = min(end - first, 64 - off)
        words[k] = words.get(k, 0) | ((1 << n) - 1) << off
        first += n
