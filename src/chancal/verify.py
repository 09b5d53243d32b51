"""The independent referee: recompute every hard rule of the README from the program and the year.

The planner decides where events go; this module only judges where they went.
It shares no code with the planner (no day tables, no placement, no constraint
core, not even rule resolution), so a misreading of a rule in the planner
cannot hide by being repeated here, and `export` can trust it to refuse a year
that breaks one. It reads the program straight from the models and public
holidays straight from `holidays`, one event at a time, and prefers obvious to
fast: indexes per manager, partner and day (blackouts, shared events, diagnostics
per partner) and caches per place and tier, nothing cleverer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import pairwise
from typing import Literal, get_args
from zoneinfo import ZoneInfo

import holidays

from chancal.models import WEEKDAYS, Blackout, Cadence, Config, Partner, RuleEdits, Tier
from chancal.models import WorkingHours as Hours
from chancal.plan import ALL_DAY_HOURS, AllDay, Event, Plan, Timed

RuleName = Literal[
    "working-hours", "working-day", "holiday", "blackout", "capacity", "travel", "overlap", "rhythm"
]
RULES: tuple[RuleName, ...] = get_args(RuleName)
_RECURRENCE = frozenset({"cadence", "dates", "rrule"})
_MONTH_DAYS = 365.2425 / 12
_SLACK = 1e-9  # hours are sums of floats: 16 x 1h must not read as 16.000000001 > 16
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Break:
    """One break of a hard rule: which rule, the events involved and the figures."""

    rule: RuleName
    keys: tuple[str, ...]  # the event keys involved, sorted
    partner_id: str | None
    manager_id: str | None
    day: date | None  # the local date concerned
    message: str  # one line, with the figures


def format_break(b: Break) -> str:
    """Return the one line the CLI prints for a break."""
    return f"{b.rule}: {b.message}"


def verify(config: Config, plan: Plan, *, today: date | None = None) -> tuple[Break, ...]:
    """Return every break of a hard rule in the planned year, sorted (deterministic).

    Events that start before `today` (their partner's date) are history: a break
    is reported only when at least one of its events starts on or after `today`.
    """
    return in_order(Referee(config, today).judge(plan))


def in_order(breaks: Iterable[Break]) -> tuple[Break, ...]:
    """The breaks without repeats, in the order `verify` returns them."""
    return tuple(sorted(set(breaks), key=_order))


class Referee:
    """The rules of one program, ready to judge one planned year or several parts of one.

    Judging each manager's events (with the plan's shared events) finds exactly
    the breaks that judging the whole year finds: every rule looks at one
    event, one manager's events or one partner's, and a partner's events are
    all its manager's. The sides of every manager are built once, here, not
    once per part; a partner's with the part that holds its events.
    """

    def __init__(self, config: Config, today: date | None) -> None:
        self._sides = _Verifier(config, today)

    def judge(self, plan: Plan) -> set[Break]:
        """Every break in `plan` (the whole year or one manager's part of it), unsorted."""
        return set(self._sides.judge(plan))


def _order(b: Break) -> tuple[date, int, str, str, tuple[str, ...], str]:
    rank = RULES.index(b.rule)
    return (b.day or date.min, rank, b.manager_id or "", b.partner_id or "", b.keys, b.message)


# -- places and calendars ------------------------------------------------------


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@cache
def _holiday_names(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    # `holidays` is slow to build; a program has few places and one or two years.
    return dict(holidays.country_holidays(country, subdiv=subdivision, years=[year]).items())


def _holiday(country: str, subdivision: str | None, day: date) -> str | None:
    return _holiday_names(country, subdivision, day.year).get(day)


@cache
def _country_week(country: str) -> frozenset[int]:
    return frozenset(range(7)) - frozenset(holidays.country_holidays(country).weekend)


def _place(country: str, subdivision: str | None) -> str:
    return f"{country}-{subdivision}" if subdivision else country


def _week_start(days: frozenset[int]) -> int:
    """Return the weekday (Monday = 0) that opens a working week.

    It is the working day after the longest run of days off (the weekend;
    the earlier weekday on a tie); Monday when every day or no day is worked.
    """
    best: tuple[int, int] | None = None  # (days off before it, -weekday)
    for wd in sorted(days):
        off = 0
        while off < 7 and (wd - off - 1) % 7 not in days:
            off += 1
        if off and (best is None or (off, -wd) > best):
            best = (off, -wd)
    return 0 if best is None else -best[1]


def _days_text(days: frozenset[int]) -> str:
    first = _week_start(days)
    ordered = [(first + i) % 7 for i in range(7) if (first + i) % 7 in days]
    if len(ordered) == 7:
        return "every day"
    if ordered and ordered[-1] == (first + len(ordered) - 1) % 7:
        return f"{WEEKDAYS[ordered[0]]}-{WEEKDAYS[ordered[-1]]}"
    return ",".join(WEEKDAYS[d] for d in ordered)


def _span(first: date, last: date) -> str:
    return str(first) if first == last else f"{first}..{last}"


def _blackout_days(blackouts: Iterable[Blackout], whose: str) -> dict[date, tuple[str, ...]]:
    """Index blackouts by day, each day with its reasons in the order the program lists them.

    An event's dates are then looked up, not compared with every blackout of its sides.
    """
    days: dict[date, list[str]] = defaultdict(list)
    for b in blackouts:
        text = f"{whose} blackout {_span(b.start, b.last)} ({b.reason})"
        for d in _dates(b.start, b.last):
            days[d].append(text)
    return {d: tuple(texts) for d, texts in days.items()}


def _dates(first: date, last: date) -> tuple[date, ...]:
    if last <= first:
        return (first,)  # nearly every event
    return tuple(first + timedelta(days=i) for i in range((last - first).days + 1))


@dataclass(frozen=True, slots=True)
class _Side:
    """One side's calendar as the rules read it: zone, hours, week, holidays, leave."""

    who: str  # the manager's or partner's id, as messages name it
    zone: ZoneInfo
    hours: Hours
    days: frozenset[int]  # working weekdays, Monday = 0
    week: str  # where the working days come from, for messages
    country: str
    subdivision: str | None
    blackouts: dict[date, tuple[str, ...]]  # day -> why it is blacked out


@dataclass(slots=True)
class _Placed:
    """An event of a partner, its two sides and the local dates it touches on each."""

    # Not frozen: one is made per event, and a frozen one costs 0.15 s more at 10,000 partners.

    event: Event
    manager: _Side
    partner: _Side
    manager_dates: tuple[date, ...]
    partner_dates: tuple[date, ...]
    times: tuple[datetime, datetime] | None  # aware start and end; None for all-day
    judged: bool  # starts on or after `today`


@dataclass(frozen=True, slots=True)
class _Shared:
    """The days of a shared event and the partners it blocks."""

    name: str
    first: date
    last: date
    invited: frozenset[str]


@dataclass(slots=True)
class _Week:
    """What one manager's week holds."""

    meetings: int = 0
    hours: float = 0.0
    events: dict[str, _Placed] = field(default_factory=dict)


# -- rule resolution (cadences only) -------------------------------------------


def _edit(cadences: dict[str, Cadence | None], edits: RuleEdits) -> dict[str, Cadence | None]:
    """Apply one level of drop / change / add to the rules' cadences, by rule id."""
    changes = {c.id: c for c in edits.change}
    out: dict[str, Cadence | None] = {}
    for rule_id, cadence in cadences.items():
        if rule_id in edits.drop:
            continue
        change = changes.get(rule_id)
        # Setting any of cadence, dates or rrule replaces how the rule recurs.
        out[rule_id] = (
            change.cadence
            if change is not None and _RECURRENCE & change.model_fields_set
            else cadence
        )
    out.update((r.id, r.cadence) for r in edits.rules)
    return out


def _tier_cadences(tier_id: str, tiers: dict[str, Tier]) -> dict[str, Cadence | None]:
    chain: list[Tier] = []
    current: Tier | None = tiers[tier_id]
    while current is not None:
        chain.append(current)
        current = tiers[current.extends] if current.extends is not None else None
    cadences: dict[str, Cadence | None] = {}
    for tier in reversed(chain):
        cadences = _edit(cadences, tier)
    return cadences


def _period_days(cadence: Cadence | None) -> float | None:
    if cadence is not None and cadence.kind == "monthly":
        return _MONTH_DAYS
    if cadence is not None and cadence.kind == "every_weeks":
        return 7.0 * cadence.n
    return None  # other cadences have windows, not a rhythm


# -- the referee ---------------------------------------------------------------


class _Verifier:
    """Every hard rule, judged over one program and one planned year."""

    def __init__(self, config: Config, today: date | None) -> None:
        self.config, self.today = config, today
        self.program = program = config.program
        self.manager_models = {m.id: m for m in config.managers}
        self.managers = {
            m.id: _Side(
                who=m.id,
                zone=_zone(m.timezone),
                hours=m.working_hours or program.working_hours,
                days=frozenset(WEEKDAYS.index(d) for d in m.working_days or program.working_days),
                week="own working_days" if m.working_days else "the program's week",
                country=m.country,
                subdivision=m.subdivision,
                blackouts=_blackout_days(m.blackouts, f"{m.id}'s"),
            )
            for m in config.managers
        }
        self.partner_models = {p.id: p for p in config.partners}
        self.partners: dict[str, _Side] = {}  # of the plan being judged (`judge`)
        self.program_blackouts = _blackout_days(program.blackouts, "program")
        # Who each of the program's shared events invites: the same for every part judged.
        self.program_invited: dict[tuple[str, date, date], set[str]] = defaultdict(set)
        for s in program.shared_events:
            invited = {p.id for p in config.partners if s.tiers is None or p.tier in s.tiers}
            self.program_invited[(s.id, s.start, s.end or s.start)] |= invited
        self.tiers = {t.id: t for t in config.tiers}
        self.tier_cadences: dict[str, dict[str, Cadence | None]] = {}  # resolved once per tier
        self._shared_memo: (
            tuple[tuple[int, ...], list[Event], list[_Shared], dict[date, list[_Shared]]] | None
        ) = None

    def judge(self, plan: Plan) -> Iterator[Break]:
        """Yield every break in `plan` (some twice; the caller deduplicates and sorts)."""
        # A cancelled event (a lock's retraction) holds no one's time, and may name a
        # partner that has left the program.
        self.events = [e for e in plan.events if e.status != "CANCELLED"]
        # A partner's side is built for the plan that holds its events: all are in one
        # manager's part, so each process holds only the sides of the parts it judges.
        ids = {e.partner_id for e in self.events}
        models = self.partner_models
        self.partners = {i: self._partner_side(models[i]) for i in ids if i in models}
        self.shared, self.shared_days = self._shared_of(
            [e for e in self.events if e.partner_id is None]
        )
        self.placed = [self._place(e) for e in self.events if e.partner_id is not None]
        self.by_manager: dict[str, list[_Placed]] = defaultdict(list)
        self.by_partner: dict[str, list[_Placed]] = defaultdict(list)
        for p in self.placed:
            self.by_manager[p.manager.who].append(p)
            self.by_partner[p.partner.who].append(p)
        # Read once, not once per partner: a scan of every diagnostic for each partner
        # made the rhythm rule quadratic in the size of the program.
        self.explained: dict[str, set[str | None]] = defaultdict(set)  # partner -> rule ids
        for diagnostic in plan.diagnostics:
            if diagnostic.partner_id is not None:
                self.explained[diagnostic.partner_id].add(diagnostic.rule_id)
        return self.breaks()

    def _partner_side(self, p: Partner) -> _Side:
        if p.working_days:
            days, week = frozenset(WEEKDAYS.index(d) for d in p.working_days), "own working_days"
        else:
            days, week = _country_week(p.country), f"the {p.country} week"
        return _Side(
            who=p.id,
            zone=_zone(p.timezone),
            hours=p.working_hours or self.program.working_hours,
            days=days,
            week=week,
            country=p.country,
            subdivision=p.subdivision,
            blackouts=_blackout_days(p.blackouts, f"{p.id}'s"),
        )

    def _shared_of(self, events: list[Event]) -> tuple[list[_Shared], dict[date, list[_Shared]]]:
        """The shared events of the program and of `events` (the plan's), and their days.

        Each manager's part is judged with the same shared events, each inviting
        every partner of its tiers: merging those sets once per part cost about
        3 ms a manager at 10,000 partners, so the last result is kept, by the
        events' identity (the events are kept too, so no other can take their id).
        """
        key = tuple(map(id, events))
        if self._shared_memo is None or self._shared_memo[0] != key:
            shared = self._shared_events(events)
            days: dict[date, list[_Shared]] = defaultdict(list)
            for s in shared:
                for d in _dates(s.first, s.last):
                    days[d].append(s)
            self._shared_memo = (key, events, shared, days)
        return self._shared_memo[2], self._shared_memo[3]

    def _shared_events(self, events: list[Event]) -> list[_Shared]:
        """Shared events of the program and of `events`, merged by id and dates."""
        found: dict[tuple[str, date, date], set[str]] = defaultdict(set)
        for when, invited in self.program_invited.items():
            found[when] |= invited
        for e in events:
            # Shared events are all-day; the end is exclusive.
            span = e.span
            last = span.end.date() if isinstance(span, Timed) else span.end - timedelta(days=1)
            found[(e.rule_id, e.day, max(e.day, last))] |= set(e.partner_ids)
        return [_Shared(n, a, b, frozenset(who)) for (n, a, b), who in sorted(found.items())]

    def _place(self, event: Event) -> _Placed:
        partner = self.partners.get(event.partner_id or "")
        manager = self.managers.get(event.manager_id or "")
        if partner is None or manager is None:
            # A plan of another program is the caller's bug, not a break of a rule.
            raise ValueError(
                f"event {event.key} names partner {event.partner_id!r} and manager "
                f"{event.manager_id!r}, unknown to the program"
            )
        span = event.span
        if isinstance(span, AllDay):
            # All-day dates are the partner's and count as the same dates for the manager.
            partner_dates = manager_dates = _dates(span.start, span.end - timedelta(days=1))
            times: tuple[datetime, datetime] | None = None
        else:
            start, end = span.start, span.end
            if event.mode == "on_site":
                # In person, the visitor is in the host's zone: the vendor's office hosts
                # `to_us` meetings, the partner every other on-site meeting.
                if event.direction == "to_us":
                    partner = replace(partner, zone=manager.zone)
                else:
                    manager = replace(manager, zone=partner.zone)

            # The end is exclusive: a meeting ending at midnight does not touch the next day.
            def local(zone: ZoneInfo) -> tuple[date, ...]:
                return _dates(start.astimezone(zone).date(), (end - _TICK).astimezone(zone).date())

            partner_dates, manager_dates = local(partner.zone), local(manager.zone)
            times = (start, end)
        judged = self.today is None or partner_dates[0] >= self.today
        return _Placed(event, manager, partner, manager_dates, partner_dates, times, judged)

    def breaks(self) -> Iterator[Break]:
        """Yield every break (some twice; the caller deduplicates and sorts)."""
        for p in self.placed:
            yield from self._working_hours(p)
            yield from self._days(p)
        for manager_id, placed in self.by_manager.items():
            yield from self._capacity(manager_id, placed)
            yield from self._travel(manager_id, placed)
            yield from self._overlap_manager(manager_id, placed)
        for partner_id, placed in self.by_partner.items():
            yield from self._overlap_partner(partner_id, placed)
            yield from self._rhythm(partner_id, placed)

    def _break(
        self, rule: RuleName, placed: Iterable[_Placed], day: date | None, message: str
    ) -> Iterator[Break]:
        """Yield one break unless every event involved is history."""
        events = list(placed)
        if not any(p.judged for p in events):
            return
        keys = tuple(sorted({p.event.key for p in events}))
        partners = {p.partner.who for p in events}
        managers = {p.manager.who for p in events}
        yield Break(
            rule,
            keys,
            partners.pop() if len(partners) == 1 else None,
            managers.pop() if len(managers) == 1 else None,
            day,
            message,
        )

    # -- rules of one event ----------------------------------------------------

    def _working_hours(self, p: _Placed) -> Iterator[Break]:
        if p.times is None:
            return
        for side in (p.manager, p.partner):
            start, end = p.times[0].astimezone(side.zone), p.times[1].astimezone(side.zone)
            h = side.hours
            one_date = start.date() == end.date()
            if one_date and h.start <= start.time() and end.time() <= h.end:
                continue  # nearly every event: only a break is worth the words
            whose = f"{side.who}'s working hours {h.start:%H:%M}-{h.end:%H:%M}"
            where = f"{side.zone.key} ({start.date()})"
            if not one_date:
                what = f"runs {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} {side.zone.key}"
                what += f", across two of {side.who}'s dates"
            elif start.time() < h.start and end.time() > h.end:
                what = f"runs {start:%H:%M}-{end:%H:%M} {where}, outside {whose}"
            elif start.time() < h.start:
                what = f"starts {start:%H:%M} {where}, before {whose}"
            else:
                what = f"ends {end:%H:%M} {where}, after {whose}"
            yield from self._break("working-hours", [p], start.date(), f"{p.event.key} {what}")

    def _days(self, p: _Placed) -> Iterator[Break]:
        """Working days, holidays and blackouts of each side, on each side's own dates."""
        reasons: dict[tuple[RuleName, date], dict[str, None]] = defaultdict(dict)  # ordered set
        program, e = self.program, p.event
        for side, dates in ((p.manager, p.manager_dates), (p.partner, p.partner_dates)):
            for d in dates:
                if d.weekday() not in side.days:
                    text = f"not a working day of {side.who} ({_days_text(side.days)}, {side.week})"
                    reasons[("working-day", d)][text] = None
                if name := _holiday(side.country, side.subdivision, d):
                    text = f"{name} for {side.who} ({_place(side.country, side.subdivision)})"
                    reasons[("holiday", d)][text] = None
                for text in side.blackouts.get(d, ()) + self.program_blackouts.get(d, ()):
                    reasons[("blackout", d)][text] = None
        if e.kind == "site_visit" and e.direction == "to_us":
            # The partner comes to the vendor's office, which is closed on the vendor's holidays.
            vendor = _zone(program.timezone)
            dates = p.partner_dates
            if p.times is not None:
                dates = _dates(*(t.astimezone(vendor).date() for t in p.times))
            for d in dates:
                if name := _holiday(program.country, program.subdivision, d):
                    place = _place(program.country, program.subdivision)
                    text = f"{name} at the vendor's office ({place}), the host of the visit"
                    reasons[("holiday", d)][text] = None
        for d in p.partner_dates:
            for s in self.shared_days.get(d, ()):
                if p.partner.who in s.invited:
                    text = f"{p.partner.who} is invited to {s.name} ({_span(s.first, s.last)})"
                    reasons[("blackout", d)][text] = None
        for (rule, d), texts in reasons.items():
            message = f"{e.key} on {WEEKDAYS[d.weekday()]} {d}: {'; '.join(texts)}"
            yield from self._break(rule, [p], d, message)

    # -- rules of one manager ----------------------------------------------------

    def _capacity(self, manager_id: str, placed: list[_Placed]) -> Iterator[Break]:
        cap = self.manager_models[manager_id].capacity or self.program.capacity
        first = _week_start(self.managers[manager_id].days)
        weeks: dict[date, _Week] = defaultdict(_Week)
        for p in placed:
            if p.times is None:
                for d in p.manager_dates:  # each date weighs in its own week
                    week = weeks[d - timedelta(days=(d.weekday() - first) % 7)]
                    week.hours += ALL_DAY_HOURS
                    week.events[p.event.key] = p
            else:
                d = p.manager_dates[0]
                week = weeks[d - timedelta(days=(d.weekday() - first) % 7)]
                week.meetings += 1
                week.hours += p.event.hours
                week.events[p.event.key] = p
        days = f"{WEEKDAYS[first].title()}-{WEEKDAYS[(first + 6) % 7].title()}"
        for start, week in sorted(weeks.items()):
            # One all-day event longer than the whole budget may take a week of its own.
            alone = len(week.events) == 1 and week.meetings == 0
            over: list[str] = []
            if week.meetings > cap.meetings_per_week:
                over.append(f"{week.meetings} meetings > {cap.meetings_per_week}")
            if week.hours > cap.hours_per_week + _SLACK and not alone:
                over.append(f"{week.hours:.1f} h > {cap.hours_per_week:.1f} h")
            if over:
                message = f"{manager_id}'s week of {start} ({days}) holds {' and '.join(over)}"
                yield from self._break("capacity", week.events.values(), start, message)

    def _travel(self, manager_id: str, placed: list[_Placed]) -> Iterator[Break]:
        limit = (
            self.manager_models[manager_id].travel or self.program.travel
        ).site_visits_per_month
        months: dict[date, list[_Placed]] = defaultdict(list)
        for p in placed:
            if p.event.kind == "site_visit" and p.event.direction in ("to_partner", None):
                months[p.manager_dates[0].replace(day=1)].append(p)
        for month, visits in sorted(months.items()):
            if len(visits) > limit:
                message = (
                    f"{manager_id} makes {len(visits)} site visits to partners in "
                    f"{month:%Y-%m} > {limit} per month"
                )
                yield from self._break("travel", visits, month, message)

    def _overlap_manager(self, manager_id: str, placed: list[_Placed]) -> Iterator[Break]:
        zone = self.managers[manager_id].zone
        # In UTC: aware times of many zones compare through their offsets, 50x slower.
        timed = sorted(
            (
                (p, (p.times[0].astimezone(UTC), p.times[1].astimezone(UTC)))
                for p in placed
                if p.times is not None
            ),
            key=lambda pt: (pt[1][0], pt[0].event.key),
        )
        active: list[tuple[_Placed, tuple[datetime, datetime]]] = []
        for p, (start, end) in timed:
            active = [(a, t) for a, t in active if t[1] > start]
            for a, (a_start, a_end) in active:
                s, e = start.astimezone(zone), end.astimezone(zone)
                a_s, a_e = a_start.astimezone(zone), a_end.astimezone(zone)
                message = (
                    f"{a.event.key} ({a_s:%H:%M}-{a_e:%H:%M}) and {p.event.key} "
                    f"({s:%H:%M}-{e:%H:%M}) overlap for {manager_id} ({zone.key}, {s.date()})"
                )
                yield from self._break("overlap", [a, p], s.date(), message)
            active.append((p, (start, end)))
        all_day: dict[date, list[_Placed]] = defaultdict(list)
        for p in placed:
            if p.times is None:
                for d in p.manager_dates:
                    all_day[d].append(p)
        for p, _ in timed:
            for d in p.manager_dates:
                for a in all_day.get(d, ()):
                    message = (
                        f"{p.event.key} is timed on {d}, a day {manager_id} spends on "
                        f"all-day {a.event.key}"
                    )
                    yield from self._break("overlap", [a, p], d, message)
        shared: dict[tuple[str, str], list[date]] = defaultdict(list)
        pairs: dict[tuple[str, str], tuple[_Placed, _Placed]] = {}
        for d, here in sorted(all_day.items()):
            for i, a in enumerate(here):
                for b in here[i + 1 :]:
                    pair = tuple(sorted((a.event.key, b.event.key)))
                    shared[(pair[0], pair[1])].append(d)
                    pairs[(pair[0], pair[1])] = (a, b)
        for (x, y), dates in sorted(shared.items()):
            message = f"all-day {x} and {y} share {', '.join(map(str, dates))} for {manager_id}"
            yield from self._break("overlap", pairs[(x, y)], dates[0], message)

    # -- rules of one partner ----------------------------------------------------

    def _overlap_partner(self, partner_id: str, placed: list[_Placed]) -> Iterator[Break]:
        all_day: dict[date, list[_Placed]] = defaultdict(list)
        for p in placed:
            if p.times is None:
                for d in p.partner_dates:
                    all_day[d].append(p)
        for p in placed:
            if p.times is None:
                continue
            for d in p.partner_dates:
                for a in all_day.get(d, ()):
                    if a.manager is p.manager and set(a.manager_dates) & set(p.manager_dates):
                        continue  # the manager's overlap already names this pair
                    message = (
                        f"{p.event.key} is timed on {d}, a day {partner_id} spends on "
                        f"all-day {a.event.key}"
                    )
                    yield from self._break("overlap", [a, p], d, message)

    def _rhythm(self, partner_id: str, placed: list[_Placed]) -> Iterator[Break]:
        partner = self.partner_models[partner_id]
        if partner.tier not in self.tier_cadences:
            self.tier_cadences[partner.tier] = _tier_cadences(partner.tier, self.tiers)
        cadences = _edit(self.tier_cadences[partner.tier], partner.overrides)
        explained = self.explained.get(partner_id, set())
        series: dict[str, list[_Placed]] = defaultdict(list)
        for p in placed:
            e = p.event
            # Occurrences are `<partner>/<rule>/<label>`; follow-ups add a segment.
            if e.key.count("/") == 2 and e.key.startswith(f"{partner_id}/{e.rule_id}/"):
                series[e.rule_id].append(p)
        for rule_id, events in sorted(series.items()):
            period = _period_days(cadences.get(rule_id))
            if period is None or rule_id in explained:
                continue
            lo, hi = 0.5 * period, 1.5 * period
            events.sort(key=lambda p: (p.partner_dates[0], p.event.key))
            for a, b in pairwise(events):
                gap = (b.partner_dates[0] - a.partner_dates[0]).days
                if not lo <= gap <= hi:
                    message = (
                        f"{a.event.key} and {b.event.key} are {gap} days apart, outside "
                        f"{lo:.1f}-{hi:.1f} days for rule '{rule_id}' ({cadences[rule_id]}), "
                        "and no diagnostic says why"
                    )
                    yield from self._break("rhythm", [a, b], b.partner_dates[0], message)
