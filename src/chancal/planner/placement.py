"""Choosing a day and a start time for each wanted event: hard rules first, then preferences.

Hard rules (constraints.py) are never broken: an event that cannot be placed
within them is left out as `unplaced`, with the reason. Double-booking a
manager is not a relaxation step.

Preferences, weighed in this order:
- the strategy gap (a collaboration rule with `min_gap_from_accountability`,
  by default the joint marketing strategy session, keeps that many days from
  the partner's reviews, and never shares a day with any accountability event),
  the check-in month rule (`skip_months_with_accountability`) and one site
  visit each way in different halves of the year: never relaxed;
- the window, then the partner's spacing (`max_per_week` in ISO weeks,
  `min_days_between`) and the rule's rhythm (consecutive occurrences of a
  cadence in weeks or months between 0.5x and 1.5x the period apart): relaxed
  in the order below, each step after the first recorded as a warning.

Relaxation:
  0. any day inside the window;
  1. "window-widened": up to 2 weeks either side of the window, nearest first;
  2. "window-widened": anywhere in the occurrence's period, nearest first;
  3. "spacing-relaxed": steps 0-2 again without spacing and rhythm;
  4. "unplaced" (error): the event is left out.

Preference inside a window: the scan starts at a point in its middle half
chosen by a stable hash of the partner id (so one manager's partners do not
all get the same day) and moves outward one day at a time; explicit dates and
published events that must move start on their own day. Start times: the
first free half hour from a per-partner offset among the starts that keep the
whole event inside both working days.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from chancal.planner.calendar import Ranges
from chancal.planner.constraints import (
    R_CAPACITY,
    R_DAY,
    Ledger,
    PartnerBook,
    Side,
    Slot,
    find_slot,
    meeting_sides,
    month_of,
)
from chancal.planner.recurrence import Occurrence
from chancal.planner.rules import FollowSpec, RuleSpec

WIDEN_DAYS = 14

# Why a day was refused by a preference (hard-rule reasons come from constraints.py).
R_SPACING = "the partner's spacing (events per week, days between events)"
R_RHYTHM = "the rule's rhythm (0.5 to 1.5 periods after the previous occurrence)"
R_GAP = "the gap from reviews (or a day with an accountability event)"
R_MONTH = "months that already hold an accountability event"
R_HALF = "the other direction's site visit in the same half of the year"
_SOFT = (R_SPACING, R_RHYTHM)


def iso_week(ordinal: int) -> int:
    """Monday-based week number (date.fromordinal(1) is a Monday): the partner's spacing."""
    return (ordinal - 1) // 7


@dataclass(slots=True)
class PartnerState:
    """One partner's calendar context and the events placed for it so far."""

    id: str
    name: str
    timezone: str
    side: Side
    vendor_closed: frozenset[int]  # the vendor office's holidays: hosts of `to_us` visits
    max_per_week: int
    min_days: int
    prefer: float  # 0..1 from a stable hash of the id
    time_prefer: float
    half_start: int  # second half of the (program) year starts here
    year: tuple[int, int]  # [first, end) ordinals of the planning year
    book: PartnerBook = field(default_factory=PartnerBook)
    occupied: list[int] = field(default_factory=list)  # sorted days of every event
    weeks: dict[int, int] = field(default_factory=dict)
    acc_days: set[int] = field(default_factory=set)  # days with any accountability event
    review_days: list[int] = field(default_factory=list)  # sorted days of reviews
    acc_months: dict[int, set[str]] = field(default_factory=dict)
    gap_events: list[tuple[int, int, int]] = field(default_factory=list)  # first, last, gap
    visit_halves: dict[str, set[int]] = field(default_factory=dict)  # direction -> halves
    rhythm: dict[str, dict[int, int]] = field(default_factory=dict)  # rule -> index -> day


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
    is_review: bool = False
    # results
    day: int | None = None
    start: int | None = None  # UTC epoch seconds of a timed event
    level: int = -1
    frozen: bool = False
    failure: str = ""
    # derived in __post_init__
    seconds: int = 0
    days: int = 0  # > 0: all-day, that many consecutive days
    is_accountability: bool = False
    gap: int = 0
    skip: bool = False
    visit_direction: str | None = None
    travels: bool = False
    period_days: float = 0.0  # > 0: the rule's cadence, for rhythm
    on_site: bool = False  # a timed meeting in person: the visitor is in the host's zone
    host_is_us: bool = False  # the vendor's office hosts it (`direction: to_us`)
    # The pin as (partner's local day, UTC start or None for all-day).
    pin_slot: tuple[int, int | None] | None = None
    published: tuple[int, int | None] | None = None  # the pin, even where a round ignores it
    reported: bool = False  # a "moved" diagnostic already says why it left its published slot
    past: bool = False  # its time had passed before `today` and it was never published

    def __post_init__(self) -> None:
        pin = self.pin
        if isinstance(pin, datetime):
            local = pin.astimezone(ZoneInfo(self.partner.timezone))
            self.pin_slot = local.date().toordinal(), int(pin.timestamp())
        elif pin is not None:
            self.pin_slot = pin.toordinal(), None
        self.published = self.pin_slot
        follow, spec = self.follow, self.spec
        self.host_is_us = spec.direction == "to_us"
        if follow is not None:
            self.seconds, self.days = follow.seconds, follow.days
            self.is_accountability = follow.purpose == "accountability"
            self.on_site = follow.mode == "on_site"
            return
        self.on_site = spec.mode == "on_site"
        self.seconds, self.days = spec.seconds, spec.days
        self.is_accountability = spec.purpose == "accountability"
        self.gap = spec.gap_days
        self.skip = spec.skip_months
        if spec.kind == "site_visit":
            self.visit_direction = "to_us" if spec.direction == "to_us" else "to_partner"
        self.travels = self.days > 0 and self.visit_direction == "to_partner"
        cadence = spec.rule.cadence
        if cadence is not None and cadence.kind == "monthly":
            self.period_days = 365.25 / 12
        elif cadence is not None and cadence.kind == "every_weeks":
            self.period_days = 7.0 * cadence.n

    @property
    def rule_key(self) -> str:
        """The rule (or the rule's follow-up) this item belongs to, for the month rule."""
        return self.spec.id if self.follow is None else f"{self.spec.id}/{self.follow.kind}"


class Placer:
    """Commits items of one manager's partners, one at a time, checking every rule."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    # -- checks ---------------------------------------------------------------

    def day_refusal(self, item: Item, day: int, spacing: bool) -> str | None:
        """Why `day` cannot hold the item before start times are considered (None: it can)."""
        p = item.partner
        last = day + max(item.days, 1) - 1
        if not p.year[0] <= day and last < p.year[1]:
            return R_DAY
        if not p.side.works(day):
            return R_DAY
        why = self._rules_refusal(item, day, last)
        if why is not None:
            return why
        if spacing:
            return self._spacing_refusal(item, day, last)
        return None

    def _rules_refusal(self, item: Item, day: int, last: int) -> str | None:
        """The strategy gap, the check-in month rule and the site-visit halves."""
        p = item.partner
        if item.gap:
            if any(d in p.acc_days for d in range(day, last + 1)):
                return R_GAP
            i = bisect.bisect_right(p.review_days, day - item.gap)
            if i < len(p.review_days) and p.review_days[i] < last + item.gap:
                return R_GAP
        if item.is_accountability:
            for first, end, g in p.gap_events:
                if day <= end and last >= first:
                    return R_GAP
                if item.is_review and day < end + g and last > first - g:
                    return R_GAP
        if item.skip:
            rules = p.acc_months.get(month_of(day))
            if rules and (len(rules) > 1 or item.rule_key not in rules):
                return R_MONTH
        direction = item.visit_direction
        if direction is not None:
            other = p.visit_halves.get("to_us" if direction == "to_partner" else "to_partner")
            if other and len(other) == 1 and _half(p, day) in other:
                return R_HALF
        return None

    def _spacing_refusal(self, item: Item, day: int, last: int) -> str | None:
        p = item.partner
        for d in range(day, last + 1, 7):
            if p.weeks.get(iso_week(d), 0) >= p.max_per_week:
                return R_SPACING
        if p.weeks.get(iso_week(last), 0) >= p.max_per_week:
            return R_SPACING
        if p.min_days and p.occupied:
            i = bisect.bisect_right(p.occupied, day - p.min_days)
            if i < len(p.occupied) and p.occupied[i] < last + p.min_days:
                return R_SPACING
        return self.rhythm_refusal(item, day)

    def rhythm_refusal(self, item: Item, day: int) -> str | None:
        """Occurrences of a weekly or monthly cadence stay 0.5 to 1.5 periods apart."""
        if not item.period_days or item.follow is not None:
            return None
        placed = item.partner.rhythm.get(item.spec.id)
        if not placed:
            return None
        index = item.occ.index
        before = max((i for i in placed if i < index), default=None)
        after = min((i for i in placed if i > index), default=None)
        # k periods from the nearest placed occurrence (k > 1 when one was skipped).
        for other in (before, after):
            if other is not None:
                k = abs(index - other)
                gap = abs(day - placed[other])
                if not (k - 0.5) * item.period_days <= gap <= (k + 0.5) * item.period_days:
                    return R_RHYTHM
        return None

    def hard_refusal(self, item: Item, day: int) -> tuple[Slot | None, str | None]:
        """Check the hard rules on `day`: a free start (timed) or the days (all-day)."""
        p, ledger = item.partner, self.ledger
        if item.days:
            host = p.vendor_closed if item.visit_direction == "to_us" else frozenset()
            why = ledger.all_day_refusal(p.book, p.side, day, item.days, host, item.travels)
            return None, why
        slot, why_not = ledger.free_slot(p.book, self.sides(item), day, item.seconds, p.time_prefer)
        return slot, (None if slot is not None else why_not)

    def sides(self, item: Item) -> tuple[Side, Side]:
        """The manager's and the partner's side of the item's meeting (travel included)."""
        return meeting_sides(self.ledger.side, item.partner.side, item.on_site, item.host_is_us)

    def pin_refusal(
        self, item: Item, day: int, start: int | None
    ) -> tuple[Slot | None, str | None]:
        """Check a published slot under the hard rules and the fixed preferences.

        Returns what `commit` takes (a timed event's slot, None for all-day) and why
        the slot cannot be kept (None: it can).
        """
        why = self.day_refusal(item, day, spacing=False)
        if why is not None:
            return None, why
        p, ledger = item.partner, self.ledger
        if start is None:
            host = p.vendor_closed if item.visit_direction == "to_us" else frozenset()
            return None, ledger.all_day_refusal(p.book, p.side, day, item.days, host, item.travels)
        return ledger.slot_refusal(p.book, self.sides(item), day, start, item.seconds)

    # -- commit ---------------------------------------------------------------

    def keep_past(self, item: Item, day: int, start: int | None) -> None:
        """Record an event published before `today` where it was: history, unchecked."""
        slot = None
        if start is not None:
            slot = find_slot(self.sides(item), day, start, item.seconds) or Slot(start, day)
        self.commit(item, day, slot, 0)

    def commit(self, item: Item, day: int, slot: Slot | None, level: int) -> None:
        """Record the item on `day` (timed: at `slot`, as checked) in both states."""
        item.day, item.level = day, level
        item.start = slot.start if slot is not None else None
        p, ledger = item.partner, self.ledger
        length = item.days or 1
        days = range(day, day + length)
        for d in days:
            bisect.insort(p.occupied, d)
        for week in {iso_week(d) for d in days}:
            p.weeks[week] = p.weeks.get(week, 0) + 1
        if item.days:
            ledger.commit_all_day(p.book, day, item.days, item.travels)
            if item.visit_direction is not None:
                p.visit_halves.setdefault(item.visit_direction, set()).add(_half(p, day))
        else:
            assert slot is not None
            ledger.commit_timed(p.book, day, slot, item.seconds)
        if item.is_accountability:
            p.acc_days.update(days)
            if item.is_review:
                for d in days:
                    bisect.insort(p.review_days, d)
            p.acc_months.setdefault(month_of(day), set()).add(item.rule_key)
        if item.gap:
            p.gap_events.append((day, day + length - 1, item.gap))
        if item.period_days and item.follow is None:
            p.rhythm.setdefault(item.spec.id, {})[item.occ.index] = day

    # -- search ---------------------------------------------------------------

    def attempt(
        self,
        item: Item,
        day: int,
        spacing: bool,
        reasons: dict[str, int],
        soft: list[int] | None = None,
    ) -> tuple[bool, Slot | None]:
        """Check the day; return (ok, the timed event's slot) or count why it was refused.

        Days refused for spacing or rhythm alone are added to `soft`: the only days
        that dropping them (step 3) can win, since nothing is committed meanwhile.
        """
        why = self.day_refusal(item, day, spacing)
        if why is None:
            slot, why = self.hard_refusal(item, day)
            if why is None:
                return True, slot
        elif soft is not None and why in _SOFT:
            soft.append(day)
        reasons[why] = reasons.get(why, 0) + 1
        return False, None

    def place(self, item: Item, prefer_day: int | None = None) -> tuple[int, str]:
        """Place the item by the relaxation order; return (level, why step 0 failed).

        Level -1 means it could not be placed at all. `prefer_day` starts the
        search there (a published event that must move stays as near as it can).
        """
        reasons: dict[str, int] = {}
        soft: list[int] = []
        window = item.window
        order = _outward(window, _preferred_index(item, window, prefer_day))
        for day in order:
            ok, slot = self.attempt(item, day, True, reasons, soft)
            if ok:
                self.commit(item, day, slot, 0)
                return 0, ""
        first_reason = main_reason(reasons)
        near, far = _widened(item, prefer_day)
        steps: tuple[tuple[int, Iterable[int], bool], ...] = (
            (1, near, True),
            (2, far, True),
        )
        for level, tries, spacing in steps:
            for day in tries:
                ok, slot = self.attempt(item, day, spacing, reasons, soft)
                if ok:
                    self.commit(item, day, slot, level)
                    return level, first_reason
        for day in soft:
            ok, slot = self.attempt(item, day, False, {})
            if ok:
                self.commit(item, day, slot, 3)
                return 3, first_reason
        return -1, first_reason or main_reason(reasons)


def eligible(item: Item) -> bool:
    """False when every allowed day of the window is in an accountability month or gap."""
    p = item.partner
    seen = False
    for lo, hi in item.window:
        for d in range(lo, hi):
            if p.side.works(d):
                if month_gap_refusal(item, d) is None:
                    return True
                seen = True
    return not seen


def month_gap_refusal(item: Item, day: int) -> str | None:
    """The month and gap checks alone: what decides whether a check-in is skipped."""
    p = item.partner
    rules = p.acc_months.get(month_of(day))
    if rules and (len(rules) > 1 or item.rule_key not in rules):
        return R_MONTH
    for first, end, g in p.gap_events:
        if first <= day <= end or (item.is_review and first - g < day < end + g):
            return R_GAP
    return None


def span(item: Item) -> tuple[int, int]:
    """The widest range any relaxation step may search."""
    ys, ye = item.partner.year
    plo, phi = item.period
    if item.window:
        lo = min(item.window[0][0] - WIDEN_DAYS, plo)
        hi = max(item.window[-1][1] + WIDEN_DAYS, phi)
    else:
        lo, hi = plo, phi
    return max(ys, lo), min(ye, hi)


def _widened(item: Item, prefer_day: int | None = None) -> tuple[list[int], list[int]]:
    """Days of steps 1 and 2, each nearest to the window (or the preferred day) first.

    Step 1: up to WIDEN_DAYS either side of the window (and gaps between its
    ranges); step 2: the rest of the occurrence's period.
    """
    window = item.window
    ys, ye = item.partner.year
    plo, phi = item.period
    wlo, whi = (window[0][0], window[-1][1]) if window else (plo, phi)
    near_lo, near_hi = max(ys, wlo - WIDEN_DAYS), min(ye, whi + WIDEN_DAYS)
    far_lo, far_hi = max(ys, min(plo, near_lo)), min(ye, max(phi, near_hi))
    inside = {d for lo, hi in window for d in range(lo, hi)}
    near = [d for d in range(near_lo, near_hi) if d not in inside]
    far = [d for d in range(far_lo, far_hi) if not near_lo <= d < near_hi and d not in inside]

    def key(d: int) -> tuple[int, int, int]:
        return distance(window, d), abs(d - prefer_day) if prefer_day else 0, d

    near.sort(key=key)
    far.sort(key=key)
    return near, far


def _preferred_index(item: Item, window: Ranges, prefer_day: int | None) -> int:
    # Only a preferred day needs the window's days listed; the rest is arithmetic on its size.
    n = sum(hi - lo for lo, hi in window)
    if n == 0:
        return 0
    if prefer_day is not None:
        days = [d for lo, hi in window for d in range(lo, hi)]
        return min(range(n), key=lambda i: (abs(days[i] - prefer_day), i))
    parent = item.parent
    if parent is not None and parent.day is not None:
        # A follow-up prefers a day of the week starting at its offset (where in
        # that week by the partner's hash, as for any window), then the days around.
        at = parent.day + item.offset + int(7 * (0.25 + 0.5 * item.partner.prefer))
        return max(0, min(n - 1, at - window[0][0]))
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
    """How many days `day` lies outside the window (0 inside)."""
    if not window:
        return 0
    return min(lo - day if day < lo else day - hi + 1 if day >= hi else 0 for lo, hi in window)


# Most telling first, for the "main reason" of a diagnostic.
_REASON_ORDER = (R_CAPACITY, R_GAP, R_MONTH, R_HALF, R_SPACING, R_RHYTHM)


def main_reason(reasons: dict[str, int]) -> str:
    """The most frequent refusal, where a day was allowed at all."""
    found = [r for r in reasons if r != R_DAY and reasons[r]]
    if not found:
        return R_DAY
    return max(
        found,
        key=lambda r: (
            reasons[r],
            -_REASON_ORDER.index(r) if r in _REASON_ORDER else -len(_REASON_ORDER),
        ),
    )


def _half(p: PartnerState, day: int) -> int:
    return 0 if day < p.half_start else 1
