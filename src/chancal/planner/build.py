"""make_plan: a validated program in, every event of the planning year and its diagnostics out.

Pure: no I/O and no clock; `today` and `pins` are inputs.

Order of work, which is what makes the plan stable:
- Managers are planned independently of each other (sorted by id), so editing
  a partner never moves the events of partners with another manager.
- Within a manager, work goes in three stages, partners in id order inside
  each: first every partner's accountability rules (reviews: narrow windows),
  then multi-day events (a site visit may need a week of its own), then the
  rest per partner: collaboration rules with a gap from accountability
  (joint marketing strategy), rules that skip months with accountability
  (monthly check-ins), then the other collaboration rules; each occurrence is
  directly followed by its follow-ups. Adding a partner to a manager can
  therefore only move that manager's other partners where their shared
  capacity (weekly limits, travel, the manager's hours of the day) is used up.
- Pinned events are reserved first (see placement.py).

Keys: `<partner>/<rule>/<occurrence>` (occurrence: "2027-q1", "2027-05",
"2027-n02", a focus-area slug or an ISO date; nothing for `once`), follow-ups
add `/<kind>-<n>` ("coaching-1"), shared events are `program/<id>`.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from chancal.kinds import BUILTIN_KINDS, REVIEW_KINDS
from chancal.models import WEEKDAYS, Config, Manager, Partner, ProgramSettings, Rule
from chancal.plan import (
    Diagnostic,
    Event,
    ManagerInfo,
    PartnerInfo,
    Person,
    Pins,
    Plan,
    TierInfo,
    make_uid,
)
from chancal.planner import agenda, parallel
from chancal.planner.calendar import (
    Ranges,
    blackout_ranges,
    country_weekdays,
    holiday_ordinals,
    weekday_mask,
)
from chancal.planner.constraints import (
    ALL_DAY_HOURS,
    R_CAPACITY,
    Ledger,
    Side,
    local_datetime,
    month_of,
    week_of,
    week_start,
)
from chancal.planner.placement import (
    R_GAP,
    R_MONTH,
    WIDEN_DAYS,
    Item,
    PartnerState,
    Placer,
    distance,
    span,
)
from chancal.planner.recurrence import Fiscal, Occurrence, fiscal, occurrences, slug
from chancal.planner.rules import FollowSpec, RuleSpec, resolve, tier_rules
from chancal.resources import agenda_template

VIDEO_CALL = "Video call"
# How many repair rounds may grow the set of events placed before the published ones.
REPAIR_ROUNDS = 8
# A follow-up's window around its offset from the base event, in days.
FOLLOW_EARLY = 3
FOLLOW_LATE = 10


def _fraction(text: str) -> float:
    """A stable number in [0, 1) from text (sha256, not hash(): same on every run)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 2**32


def program_id(program: ProgramSettings) -> str:
    """The program's id, or a slug of its name."""
    return program.id or slug(program.name)


def _group(spec: RuleSpec) -> int:
    if spec.skip_months:
        return 2
    if spec.purpose == "accountability":
        return 0
    if spec.gap_days:
        return 1
    if spec.days:
        return 3
    return 4


_STAGES = ({0}, {3}, {1, 2, 4})


def _day(ordinal: int) -> date:
    return date.fromordinal(ordinal)


class _Planner:
    """The state of one make_plan call (caches shared by all partners)."""

    def __init__(self, config: Config, today: date | None, pins: Pins | None) -> None:
        self.config = config
        self.program = config.program
        self.pid = program_id(config.program)
        self.today = today.toordinal() if today is not None else None
        self.pins = pins or {}
        self.ys = self.program.year_start.toordinal()
        self.ye = self.program.year_end.toordinal()
        self.cal = fiscal(self.program.fiscal_year_start, self.ys)
        self.half_start = self.cal.boundary(6)
        # Holidays of the year around the planning year: a manager's date may be a day off.
        self.years = tuple(range(_day(self.ys).year - 1, _day(self.ye).year + 2))
        self.review_kinds = review_kinds(config)
        self.tiers = {t.id: t for t in config.tiers}
        self.diagnostics: list[Diagnostic] = []
        self.events: list[Event] = []
        self._tier_specs: dict[str, tuple[RuleSpec, ...]] = {}
        self._resolved: dict[int, RuleSpec] = {}
        self._occ: dict[tuple[int, str, tuple[str, ...]], tuple[Occurrence, ...]] = {}
        self._blocked: dict[str, frozenset[int]] = {}
        self._attendees: dict[tuple[str, tuple[str, ...] | None], tuple[Person, ...]] = {}
        self.program_blackouts = blackout_ranges(self.program.blackouts)
        self._closed_cache: dict[tuple[str, str | None, Ranges], frozenset[int]] = {}
        self._fixed_cache: dict[tuple[str, str, str], tuple[Any, Any, tuple[Any, ...]]] = {}

    # -- rules ------------------------------------------------------------------

    def _spec(self, rule: Rule) -> RuleSpec:
        found = self._resolved.get(id(rule))
        if found is None or found.rule is not rule:
            found = resolve(self.config, rule)
            self._resolved[id(rule)] = found
        return found

    def specs(self, partner: Partner) -> tuple[RuleSpec, ...]:
        """The partner's resolved rules in placement order."""
        base = self._tier_specs.get(partner.tier)
        if base is None:
            rules = tier_rules(partner.tier, self.tiers)
            base = self._order([self._spec(r) for r in rules])
            self._tier_specs[partner.tier] = base
        edits = partner.overrides
        if not (edits.rules or edits.change or edits.drop):
            return base
        from chancal.planner.rules import apply_edits

        rules = apply_edits(tier_rules(partner.tier, self.tiers), edits)
        return self._order([self._spec(r) for r in rules])

    @staticmethod
    def _order(specs: Sequence[RuleSpec]) -> tuple[RuleSpec, ...]:
        return tuple(sorted(specs, key=_group))  # stable: rule order within a group

    def _occurrences(self, spec: RuleSpec, partner: Partner) -> tuple[Occurrence, ...]:
        rule = spec.rule
        month_day = self.program.fiscal_year_start
        if rule.fiscal_calendar == "partner" and partner.fiscal_year_start:
            month_day = partner.fiscal_year_start
        per_focus = rule.cadence is not None and rule.cadence.kind == "per_focus_area"
        focus = partner.focus_areas if per_focus else ()
        key = (id(spec), month_day, focus)
        found = self._occ.get(key)
        if found is None:
            cal: Fiscal = fiscal(month_day, self.ys)
            found = occurrences(rule, cal, self.ys, self.ye, focus)
            self._occ[key] = found
        return found

    # -- sides ------------------------------------------------------------------

    def _blocked_days(self, tier: str) -> frozenset[int]:
        found = self._blocked.get(tier)
        if found is None:
            days: set[int] = set()
            for shared in self.program.shared_events:
                if shared.tiers is None or tier in shared.tiers:
                    last = (shared.end or shared.start).toordinal()
                    days.update(range(shared.start.toordinal(), last + 1))
            found = self._blocked[tier] = frozenset(days)
        return found

    def _closed(self, country: str, subdivision: str | None, blackouts: Ranges) -> frozenset[int]:
        """Holidays and blackouts of one side, with the program's blackouts (cached)."""
        key = (country, subdivision, blackouts)
        found = self._closed_cache.get(key)
        if found is None:
            days = set(holiday_ordinals(country, subdivision, self.years))
            for lo, hi in (*blackouts, *self.program_blackouts):
                days.update(range(lo, hi))
            found = self._closed_cache[key] = frozenset(days)
        return found

    def manager_side(self, manager: Manager) -> Side:
        """The manager's working week, hours, zone and closed days."""
        program = self.program
        hours = manager.working_hours or program.working_hours
        return Side(
            manager.timezone,
            hours.start,
            hours.end,
            weekday_mask(manager.working_days or program.working_days),
            self._closed(manager.country, manager.subdivision, blackout_ranges(manager.blackouts)),
        )

    def partner_state(self, partner: Partner, manager: Manager) -> PartnerState:
        """Build the partner's calendar context."""
        program = self.program
        hours = partner.working_hours or program.working_hours
        custom = country_weekdays(partner.country)
        weekdays = weekday_mask(partner.working_days) if partner.working_days else custom
        if partner.working_days and weekdays != custom:
            self._diag(
                "info",
                "working-week",
                f"{partner.name} ({partner.id}) works {_weekdays(weekdays)}, while the usual "
                f"working week in {partner.country} is {_weekdays(custom)}; planned as written",
                partner.id,
            )
        closed = self._closed(
            partner.country, partner.subdivision, blackout_ranges(partner.blackouts)
        )
        side = Side(
            partner.timezone,
            hours.start,
            hours.end,
            weekdays,
            closed | self._blocked_days(partner.tier),
        )
        tier = self.tiers[partner.tier]
        spacing = tier.spacing or program.spacing
        return PartnerState(
            id=partner.id,
            name=partner.name,
            timezone=partner.timezone,
            side=side,
            vendor_closed=holiday_ordinals(program.country, program.subdivision, self.years),
            max_per_week=spacing.max_per_week,
            min_days=spacing.min_days_between,
            prefer=_fraction(partner.id),
            time_prefer=_fraction(partner.id + "\x00time"),
            half_start=self.half_start,
            # Nothing new lands before `today`: the days before it are history.
            year=(max(self.ys, self.today or self.ys), self.ye),
        )

    # -- items ------------------------------------------------------------------

    def items(self, partner: Partner, state: PartnerState, report: bool) -> list[Item]:
        """Every event wanted for the partner, in placement order, follow-ups as children."""
        out: list[Item] = []
        for spec in self.specs(partner):
            occs = self._occurrences(spec, partner)
            rule = spec.rule
            if not occs and report:
                if rule.cadence is not None and rule.cadence.kind == "per_focus_area":
                    self._diag(
                        "info",
                        "no-focus-areas",
                        f"{_who(state)} has no focus areas, so rule '{spec.id}' "
                        f"({spec.kind}) plans no event; list focus_areas to get one per area",
                        partner.id,
                        spec.id,
                    )
                else:
                    self._diag(
                        "warning",
                        "no-occurrences",
                        f"rule '{spec.id}' of {_who(state)} has no occurrence in the planning "
                        f"year {_day(self.ys)} to {_day(self.ye - 1)}; check its window, "
                        "dates or rrule",
                        partner.id,
                        spec.id,
                    )
            for occ in occs:
                key = "/".join(x for x in (partner.id, spec.id, occ.label) if x)
                item = Item(
                    key=key,
                    partner=state,
                    spec=spec,
                    occ=occ,
                    window=occ.window,
                    period=occ.period,
                    pin=self.pins.get(key),
                    is_review=spec.kind in self.review_kinds,
                )
                counters: dict[str, int] = {}
                for follow in spec.follow_ups:
                    for offset in follow.offsets:
                        n = counters[follow.slug] = counters.get(follow.slug, 0) + 1
                        child_key = f"{key}/{follow.slug}-{n}"
                        item.children.append(
                            Item(
                                key=child_key,
                                partner=state,
                                spec=spec,
                                occ=occ,
                                follow=follow,
                                follow_number=n,
                                offset=offset,
                                parent=item,
                                pin=self.pins.get(child_key),
                                is_review=follow.kind in self.review_kinds,
                            )
                        )
                out.append(item)
        return out

    def _follow_window(self, child: Item) -> None:
        """The follow-up's window: about a week either side of its offset.

        "Coaching 2 and 5 weeks after the workshop" means around those dates, so
        the window runs from FOLLOW_EARLY days before the offset to FOLLOW_LATE
        days after it (never before the day after the base event's first day).
        """
        assert child.parent is not None and child.parent.day is not None
        start = child.parent.day + child.offset
        lo = max(start - FOLLOW_EARLY, child.parent.day + 1, self.ys)
        hi = min(start + FOLLOW_LATE + 1, self.ye)
        child.window = ((lo, hi),) if lo < hi else ()
        child.period = (
            max(self.ys, child.parent.day + 1),
            min(self.ye, max(start + 35, child.parent.day + 2)),
        )

    # -- placement -------------------------------------------------------------

    def plan_manager(self, manager: Manager, partners: list[Partner]) -> None:
        """Place every event of one manager's partners, repairing the published year if needed.

        Published future events are strong preferences: they are reserved first.
        When an edit touched this manager (a published event had to move, or an
        event found no place) and that leaves more events out than planning the
        manager afresh would, three other rounds are tried: the repair round
        places the missing events first and then reserves the published ones (so
        only those in their way move), the release round places everything in
        the usual order with each published event trying its own slot first,
        and the fresh round ignores what was published. The round with the
        fewest unplaced events, then the fewest missing events and moves together, wins.
        Nothing moves before `today`. An over-demanded manager is not repaired.
        """
        partners = sorted(partners, key=lambda p: p.id)
        over = self._over_demand(manager, partners)
        chosen = self._round(manager, partners)
        # An over-demanded manager's year cannot hold everything however it is arranged
        # (said once, up front): reshuffling published events would only churn calendars.
        if self.pins and not over and (chosen.unplaced or chosen.moves):
            fresh = self._round(manager, partners, mode="fresh")
            if (len(chosen.unplaced), len(chosen.absent)) > (
                len(fresh.unplaced),
                len(fresh.absent),
            ):
                first = chosen.absent - fresh.absent
                rounds = [chosen]
                # A repair can displace a published event that then finds no place
                # itself: it joins the events placed first, a few times at most.
                for _ in range(REPAIR_ROUNDS):
                    rounds.append(self._round(manager, partners, mode="repair", first=first))
                    more = rounds[-1].absent - fresh.absent - first
                    if not rounds[-1].unplaced or not more:
                        break
                    first |= more
                rounds.append(self._round(manager, partners, mode="release", first=first))
                rounds.append(fresh)
                chosen = min(rounds, key=lambda r: r.score)
        self.events += chosen.events
        self.diagnostics += chosen.diagnostics

    def _round(
        self,
        manager: Manager,
        partners: list[Partner],
        *,
        mode: Literal["keep", "repair", "release", "fresh"] = "keep",
        first: frozenset[str] = frozenset(),
    ) -> _Round:
        """Plan one manager once and return what it would add, without adding it.

        keep: published slots are reserved first; repair: `first` is placed before
        they are; release: nothing is reserved, each event tries its published
        slot when its turn comes; fresh: published slots not yet past are ignored.
        """
        fresh = mode == "fresh"
        events, diagnostics = len(self.events), len(self.diagnostics)
        capacity = manager.capacity or self.program.capacity
        travel = manager.travel or self.program.travel
        placer = Placer(
            Ledger(
                self.manager_side(manager),
                capacity.meetings_per_week,
                capacity.hours_per_week,
                travel.site_visits_per_month,
            )
        )
        work: list[tuple[Partner, PartnerState, list[Item]]] = []
        for partner in partners:
            state = self.partner_state(partner, manager)
            items = self.items(partner, state, report=True)
            if fresh:
                for item in _every(items):
                    if not self._frozen(item):
                        item.pin = None
                        item.pin_slot = None
            work.append((partner, state, items))
        room = _listing(sorted(first))
        # Phase 1: pins before `today` are history: kept exactly, whatever changed.
        for _, _, items in work:
            for item in _every(items):
                if item.pin_slot is not None and self._frozen(item):
                    placer.commit(item, *item.pin_slot, 0)
                    item.frozen = True
        # Repair: what could not be placed around the published events goes first.
        if mode == "repair":
            for stage in _STAGES:
                for _, _, items in work:
                    for item in items:
                        if _group(item.spec) not in stage:
                            continue
                        wanted = [c for c in item.children if c.key in first]
                        if item.key in first or wanted:
                            if item.day is None:
                                self._place(placer, item, room)
                            for child in wanted:
                                if item.day is not None and child.day is None:
                                    self._follow_window(child)
                                    self._place(placer, child, room)
        # Phase 2: other pins still allowed keep their slot before anything new is placed.
        for _, _, items in work if mode in ("keep", "repair") else ():
            for item in items:
                self._try_pin(placer, item)
                for child in item.children:
                    if item.day is not None and child.day is None:
                        self._follow_window(child)
                        self._try_pin(placer, child)
        # Phase 3: everything else. Reviews of every partner first (narrow windows), then
        # multi-day events (a site visit may need a week of its own), then the rest.
        skipped: dict[str, list[Item]] = {}
        for stage in _STAGES:
            for _, state, items in work:
                for item in items:
                    if _group(item.spec) not in stage:
                        continue
                    if item.day is None and not self._place(placer, item, room):
                        skipped.setdefault(state.id, []).append(item)
                    for child in item.children:
                        if child.day is not None:
                            continue
                        if item.day is None:
                            if item.past:
                                child.past = True
                            else:
                                child.failure = "its base event was not placed"
                            continue
                        self._follow_window(child)
                        self._place(placer, child, room)
        for _, state, items in work:
            found = skipped.get(state.id, []) + self._collisions(items)
            if found:
                self._report_skips(state, found)
            past = [x for x in _every(items) if x.past]
            if past:
                self._diag(
                    "info",
                    "past",
                    f"{_who(state)}: {_count(len(past), 'event')} whose time had passed before "
                    f"{_day(self.today or self.ys)} and were never published are not planned "
                    f"({_listing([x.key for x in past])})",
                    state.id,
                )
        self._unplaced_report(work)
        pinned: list[str] = []
        unplaced: list[str] = []
        absent: list[str] = []
        moves = 0
        for partner, state, items in work:
            for item in _every(items):
                if item.published is not None and not item.frozen:
                    pinned.append(item.key)
                    if (item.day, item.start) != item.published:
                        moves += 1
                        self._report_move(item, room)
                if item.day is not None:
                    self.events.append(self._event(partner, manager, state, item))
                elif not item.past:
                    absent.append(item.key)
                    if item.failure:
                        unplaced.append(item.key)
        self._fixed_cache.clear()  # a partner has one manager: its entries are done
        for _, _, items in work:  # break item <-> follow-up cycles (see make_plan)
            for item in items:
                for child in item.children:
                    child.parent = None
                item.children = []
        result = _Round(
            self.events[events:],
            self.diagnostics[diagnostics:],
            frozenset(unplaced),
            frozenset(absent),
            frozenset(pinned),
            moves,
        )
        del self.events[events:]
        del self.diagnostics[diagnostics:]
        return result

    def _over_demand(self, manager: Manager, partners: list[Partner]) -> bool:
        """Say once, before searching, when a manager's year asks for more than fits."""
        side = self.manager_side(manager)
        capacity = manager.capacity or self.program.capacity
        travel = manager.travel or self.program.travel
        meetings = 0
        hours = 0.0
        visits = 0
        mark = len(self.diagnostics)
        for partner in partners:
            state = self.partner_state(partner, manager)
            for item in _every(self.items(partner, state, report=False)):
                if item.days:
                    hours += ALL_DAY_HOURS * item.days
                    visits += item.travels
                else:
                    meetings += 1
                    hours += item.seconds / 3600
        del self.diagnostics[mark:]  # the rounds report partner notes themselves
        daily = _hours_between(side.start, side.end)
        weeks: dict[int, int] = {}
        start = week_start(side.weekdays)
        for day in range(self.ys, self.ye):
            if side.works(day):
                week = week_of(day, start)
                weeks[week] = weeks.get(week, 0) + 1
        meeting_room = len(weeks) * capacity.meetings_per_week
        hour_room = sum(min(capacity.hours_per_week, n * daily) for n in weeks.values())
        months = len({month_of(d) for d in range(self.ys, self.ye)})
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
        if over:
            self._diag(
                "warning",
                "over-demand",
                f"{manager.name} ({manager.id}): the year asks for {'; '.join(over)}; some "
                "events cannot be placed: lower the tiers' cadences, raise the manager's "
                "capacity or move partners to another manager",
            )
        return bool(over)

    def _frozen(self, item: Item) -> bool:
        slot = item.pin_slot
        if slot is None or self.today is None or (slot[1] is None) != bool(item.days):
            return False
        return slot[0] < self.today

    @staticmethod
    def _pinned_slot(item: Item) -> tuple[int, int | None] | None:
        """The pinned day and start (None: all-day), or None when the event changed shape."""
        slot = item.pin_slot
        if slot is None or (slot[1] is None) != bool(item.days):
            return None
        return slot

    def _pin_refusal(self, placer: Placer, item: Item) -> str | None:
        """Why the published slot cannot be kept (None: it can).

        A published slot stays while the hard rules hold, the strategy gap, the
        check-in month rule and the site-visit halves hold, and the day is no
        further from the window than relaxation may go. The window itself, the
        partner's spacing and the rhythm are preferences: the slot was published
        after they were weighed, so keeping it is what keeps calendars still.
        """
        slot = self._pinned_slot(item)
        if slot is None:
            return "it changed between a timed and an all-day event"
        day, start = slot
        lo, hi = span(item)
        # A window clipped away by the year's end leaves the period (what `span` searches),
        # so a slot placed there is kept like any other instead of moving on every run.
        if not lo <= day < hi:
            return "it is outside the rule's window"
        why = placer.pin_refusal(item, day, start)
        if why is not None:
            return why
        if item.skip and not self._eligible(item):
            return R_MONTH
        return None

    def _try_pin(self, placer: Placer, item: Item) -> bool:
        """Keep the item's published slot if it is still allowed; return whether it was."""
        if item.pin is None or item.day is not None or self._pin_refusal(placer, item):
            return False
        slot = self._pinned_slot(item)
        assert slot is not None
        day, start = slot
        inside = any(lo <= day < hi for lo, hi in item.window)
        widened = 0 if inside else 1 if distance(item.window, day) <= WIDEN_DAYS else 2
        off_rhythm = placer.rhythm_refusal(item, day) is not None
        placer.commit(item, day, start, widened)
        if widened:
            self._relaxed(item, widened, "kept where it was published")
        elif off_rhythm:
            self._diag(
                "warning",
                "off-rhythm",
                f"{_who(item.partner)}: '{item.key}' is kept where it was published, "
                f"{_day(day)}, although that is off its rule's rhythm (0.5 to 1.5 periods "
                "from the occurrence placed next to it): a published date wins over rhythm",
                item.partner.id,
                item.spec.id,
                _day(day),
            )
        return True

    def _place(self, placer: Placer, item: Item, room_for: str) -> bool:
        """Place an unpinned (or no longer pinnable) item; False when a check-in is skipped."""
        if self._try_pin(placer, item):
            return True  # a follow-up whose base was placed only now keeps its slot too
        why_pin = self._pin_refusal(placer, item) if item.pin is not None else None
        if item.skip and not self._eligible(item):
            # A check-in whose own window is taken by other accountability events or a
            # strategy gap is skipped, never pushed into a neighbouring month. Only the
            # partner's own events decide this, so pins and capacity cannot flip it.
            return False
        if self._passed(item):  # after the skip: a skipped check-in stays explained
            item.past = True
            return True
        prefer = item.pin_slot[0] if item.pin_slot is not None else None
        level, reason = placer.place(item, prefer)
        if level == -1 and item.skip and reason in (R_MONTH, R_GAP):
            return False  # its free days are taken: as good as a month with a review
        if not item.window:
            reason = "the window lies outside the planning year"
        if level == -1:
            item.failure = reason
            return True
        if level > 0:
            self._relaxed(item, level, reason)
        if item.pin is not None and why_pin is not None and self._start_of(item) != item.pin:
            if why_pin == R_CAPACITY and room_for:
                why_pin = f"its slot was needed for {room_for}"
            item.reported = True
            self._diag(
                "warning",
                "moved",
                f"{_who(item.partner)}: '{item.key}' was published for {_fmt(item.pin)} but "
                f"cannot stay there ({why_pin}); moved to {_fmt(self._start_of(item))}",
                item.partner.id,
                item.spec.id,
                _day(item.day) if item.day is not None else None,
            )
        return True

    def _passed(self, item: Item) -> bool:
        """Whether the item's time was over before `today` (never published: not planned)."""
        if self.today is None or item.published is not None:
            return False
        end = item.window[-1][1] if item.window else item.period[1]
        return max(end, item.period[1]) <= self.today

    def _report_move(self, item: Item, room_for: str) -> None:
        """Say why a published event moved, where placing it did not already say."""
        if item.reported or item.published is None:
            return
        published = item.pin if item.pin is not None else self.pins.get(item.key)
        if item.day is None:
            where = "could not be placed again"
        else:
            where = f"moved to {_fmt(self._start_of(item))}"
        why = f"to make room for {room_for}" if room_for else "to repair the manager's year"
        self._diag(
            "warning",
            "moved",
            f"{_who(item.partner)}: '{item.key}' was published for "
            f"{_fmt(published) if published is not None else 'another time'}; {where} {why}",
            item.partner.id,
            item.spec.id,
            _day(item.day) if item.day is not None else None,
        )

    @staticmethod
    def _eligible(item: Item) -> bool:
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

    def _start_of(self, item: Item) -> date | datetime:
        assert item.day is not None
        if item.start is None:
            return _day(item.day)
        return local_datetime(item.start, item.partner.timezone)

    def _relaxed(self, item: Item, level: int, reason: str) -> None:
        assert item.day is not None
        window = item.window
        where = (
            f"its window {_day(window[0][0])} to {_day(window[-1][1] - 1)}"
            if window
            else "its window"
        )
        if level in (1, 2):
            code, what = "window-widened", "placed outside " + where
        else:
            code, what = "spacing-relaxed", "placed without the partner's spacing and rhythm"
        self._diag(
            "warning",
            code,
            f"{_who(item.partner)}: rule '{item.spec.id}' ('{item.key}') had no free day in "
            f"{where} ({reason}); {what} on {_day(item.day)}",
            item.partner.id,
            item.spec.id,
            _day(item.day),
        )

    def _collisions(self, items: list[Item]) -> list[Item]:
        """Check-ins that ended up in a month with another accountability event are skipped."""
        out = []
        for item in items:
            if item.skip and item.day is not None and not item.frozen:
                p = item.partner
                rules = p.acc_months.get(month_of(item.day), set())
                if rules - {item.rule_key}:
                    item.day = None
                    out.append(item)
        return out

    def _report_skips(self, state: PartnerState, skipped: list[Item]) -> None:
        by_rule: dict[str, list[Item]] = {}
        for item in skipped:
            by_rule.setdefault(item.spec.id, []).append(item)
        for rule_id, items in sorted(by_rule.items()):
            labels = ", ".join(i.occ.period_text for i in items)
            self._diag(
                "info",
                "skipped-check-in",
                f"{_who(state)}: {len(items)} '{rule_id}' event"
                f"{'s' if len(items) != 1 else ''} skipped in months that already hold an "
                f"accountability event or lie within a strategy gap ({labels})",
                state.id,
                rule_id,
            )

    def _unplaced_report(self, work: list[tuple[Partner, PartnerState, list[Item]]]) -> None:
        for _, state, items in work:
            for item in items:
                for x in (item, *item.children):
                    if x.day is None and x.failure:
                        window = x.window
                        where = (
                            f" in {_day(window[0][0])} to {_day(window[-1][1] - 1)} or its period"
                            if window
                            else ""
                        )
                        self._diag(
                            "error",
                            "unplaced",
                            f"{_who(state)}: rule '{x.spec.id}' could not place '{x.key}'"
                            f"{where}: {x.failure}",
                            state.id,
                            x.spec.id,
                            _day(window[0][0]) if window else None,
                        )

    # -- events -----------------------------------------------------------------

    def _event(self, partner: Partner, manager: Manager, state: PartnerState, item: Item) -> Event:
        spec, follow, occ = item.spec, item.follow, item.occ
        assert item.day is not None
        fixed = self._fixed(partner, manager, spec, follow)
        kind, base_title, titled, template, values, location = fixed[:6]
        if occ.focus_area:
            base_title = f"{base_title}: {occ.focus_area}"
        elif follow is None and titled == 1:
            base_title = f"{base_title} {occ.period_text}"
        elif titled == 2 and occ.count > 1:
            base_title = f"{base_title} ({occ.index} of {occ.count})"
        if fixed[13]:
            base_title = f"{base_title} ({item.follow_number})"
        title = f"{base_title}{fixed[6]}"
        values = {
            **values,
            "period": occ.period_text,
            "title": title,
            "exchange": str(occ.index),
            "exchanges": str(occ.count),
        }
        if occ.focus_area:
            values["focus_area"] = occ.focus_area
        description = template.fill(values)
        if kind == "information_exchange" and "We share:" not in description:
            description += (
                f"\nWe share: {values['we_share']}\n{partner.name} shares: {values['they_share']}"
            )
        if item.days:
            start: date | datetime = _day(item.day)
            end: date | datetime = _day(item.day + item.days)
        else:
            assert item.start is not None
            start = local_datetime(item.start, partner.timezone)
            end = local_datetime(item.start + item.seconds, partner.timezone)
        return Event(
            key=item.key,
            uid=make_uid(self.pid, item.key),
            partner_id=partner.id,
            manager_id=manager.id,
            rule_id=spec.id,
            kind=kind,
            purpose=fixed[7],
            title=title,
            start=start,
            end=end,
            timezone=partner.timezone,
            all_day=bool(item.days),
            mode=fixed[8],
            location=location,
            description=description,
            focus_area=occ.focus_area,
            organizer=fixed[9],
            attendees=fixed[10],
            reminders=spec.reminders,
            partner_ids=fixed[11],
            direction=fixed[12],
        )

    def _fixed(
        self, partner: Partner, manager: Manager, spec: RuleSpec, follow: FollowSpec | None
    ) -> tuple[Any, ...]:
        """What every event of one partner's rule (or follow-up) shares, computed once.

        Returns kind, base title, title style (1: period, 2: "n of m", 0: none),
        agenda template, agenda values, location, title suffix, purpose, mode,
        organizer, attendees, partner ids, direction, whether follow-ups are numbered.
        """
        key = (partner.id, spec.id, follow.slug if follow else "")
        found = self._fixed_cache.get(key)
        if found is not None and found[0] is spec and found[1] is follow:
            return found[2]
        kind = follow.kind if follow else spec.kind
        purpose = follow.purpose if follow else spec.purpose
        mode = follow.mode if follow else spec.mode
        base_title = follow.title if follow else spec.title
        custom_title = follow.custom_title if follow else spec.custom_title
        direction = spec.direction if follow is None else None
        if kind == "site_visit" and direction is None:
            direction = "to_partner"
        program_name = self.program.name
        if direction == "to_us":
            direction_text = f"{partner.name} visits {program_name}"
        elif direction == "to_partner":
            direction_text = f"{manager.name} visits {partner.name}"
        else:
            direction_text = f"{manager.name} and {partner.name}"
        titled = 0
        if follow is None and not custom_title and self._periodic(spec):
            titled = 1
        elif kind == "information_exchange":
            titled = 2
        numbered = follow is not None and _follow_count(spec, follow.slug) > 1
        suffix = f": {direction_text}" if kind == "site_visit" else f": {partner.name}"
        focus_areas = agenda.listing(partner.focus_areas)
        values = {
            "partner_name": partner.name,
            "manager_name": manager.name,
            "program_name": program_name,
            "focus_area": focus_areas,
            "focus_areas": focus_areas,
            "we_share": agenda.listing(partner.sharing.we_share),
            "they_share": agenda.listing(partner.sharing.they_share),
            "direction_text": direction_text,
        }
        if follow is None and spec.location:
            location = spec.location
        elif mode == "virtual":
            location = VIDEO_CALL
        elif direction == "to_us":
            location = self.program.location or manager.location or program_name
        else:
            location = partner.location or partner.name
        fixed = (
            kind,
            base_title,
            titled,
            agenda.compiled(follow.agenda if follow else spec.agenda),
            values,
            location,
            suffix,
            purpose,
            mode,
            Person(manager.name, manager.email, "manager"),
            self._people(partner, spec.attendees),
            (partner.id,),
            direction,
            numbered,
        )
        self._fixed_cache[key] = (spec, follow, fixed)
        return fixed

    @staticmethod
    def _periodic(spec: RuleSpec) -> bool:
        cadence = spec.rule.cadence
        return (
            spec.purpose == "accountability"
            and cadence is not None
            and cadence.kind in ("annual", "semiannual", "quarterly")
        )

    def _people(self, partner: Partner, roles: tuple[str, ...] | None) -> tuple[Person, ...]:
        key = (partner.id, roles)
        found = self._attendees.get(key)
        if found is None:
            found = tuple(
                Person(c.name, c.email, c.role)
                for c in partner.contacts
                if roles is None or c.role.lower() in roles
            )
            self._attendees[key] = found
        return found

    def shared(self) -> None:
        """Add the program's shared events (all-day, fixed dates, every invited partner)."""
        tz = self.program.timezone
        for shared in self.program.shared_events:
            invited = tuple(
                sorted(
                    p.id
                    for p in self.config.partners
                    if shared.tiers is None or p.tier in shared.tiers
                )
            )
            key = f"program/{shared.id}"
            kind = BUILTIN_KINDS.get(shared.kind)
            custom = self.config.kinds.get(shared.kind)
            purpose = kind.purpose if kind else custom.purpose if custom else "collaboration"
            template = (
                agenda_template(kind.template)
                if kind
                else (custom.agenda if custom and custom.agenda else "$title")
            )
            description = shared.description or agenda.render(
                template, {"title": shared.title, "program_name": self.program.name}
            )
            self.events.append(
                Event(
                    key=key,
                    uid=make_uid(self.pid, key),
                    partner_id=None,
                    manager_id=None,
                    rule_id=shared.id,
                    kind=shared.kind,
                    purpose=purpose,
                    title=shared.title,
                    start=shared.start,
                    end=(shared.end or shared.start) + timedelta(days=1),
                    timezone=tz,
                    all_day=True,
                    mode="on_site",
                    location=shared.location or self.program.location,
                    description=description,
                    reminders=self.program.reminders,
                    partner_ids=invited,
                )
            )

    def _diag(
        self,
        severity: str,
        code: str,
        message: str,
        partner_id: str | None = None,
        rule_id: str | None = None,
        day: date | None = None,
    ) -> None:
        self.diagnostics.append(
            Diagnostic(severity, code, message, partner_id, rule_id, day)  # type: ignore[arg-type]
        )

    # -- result -----------------------------------------------------------------

    def plan(self) -> Plan:
        """Plan everything and assemble the Plan."""
        by_manager: dict[str, list[Partner]] = {}
        for partner in self.config.partners:
            by_manager.setdefault(partner.manager, []).append(partner)
        managers = {m.id: m for m in self.config.managers}

        def plan_one(manager_id: str) -> parallel.Batch:
            """Plan one manager; return the events and diagnostics it added."""
            events, diagnostics = len(self.events), len(self.diagnostics)
            self.plan_manager(managers[manager_id], by_manager[manager_id])
            return self.events[events:], self.diagnostics[diagnostics:]

        ids = sorted(by_manager)
        events, diagnostics = parallel.plan_all(
            ids,
            [len(by_manager[m]) for m in ids],
            plan_one,
            parallel.jobs(len(self.config.partners)),
        )
        self.events += events
        self.diagnostics += diagnostics
        self.shared()
        events = sorted(self.events, key=_sort_key)
        severity = {"error": 0, "warning": 1, "info": 2}
        diagnostics = sorted(
            self.diagnostics,
            key=lambda d: (
                d.partner_id or "",
                severity[d.severity],
                d.day or date.min,
                d.rule_id or "",
                d.code,
                d.message,
            ),
        )
        return Plan(
            program_id=self.pid,
            program_name=self.program.name,
            timezone=self.program.timezone,
            year_start=self.program.year_start,
            year_end=self.program.year_end,
            events=tuple(events),
            diagnostics=tuple(diagnostics),
            partners=self._partner_infos(),
            managers=self._manager_infos(),
            tiers=self._tier_infos(),
            review_kinds=self.review_kinds,
        )

    def _partner_infos(self) -> tuple[PartnerInfo, ...]:
        return tuple(
            PartnerInfo(
                id=p.id,
                name=p.name,
                tier=p.tier,
                manager_id=p.manager,
                country=p.country,
                timezone=p.timezone,
                focus_areas=p.focus_areas,
                we_share=p.sharing.we_share,
                they_share=p.sharing.they_share,
            )
            for p in sorted(self.config.partners, key=lambda p: p.id)
        )

    def _manager_infos(self) -> tuple[ManagerInfo, ...]:
        out = []
        for m in sorted(self.config.managers, key=lambda m: m.id):
            capacity = m.capacity or self.program.capacity
            travel = m.travel or self.program.travel
            out.append(
                ManagerInfo(
                    id=m.id,
                    name=m.name,
                    email=m.email,
                    timezone=m.timezone,
                    meetings_per_week=capacity.meetings_per_week,
                    hours_per_week=capacity.hours_per_week,
                    site_visits_per_month=travel.site_visits_per_month,
                    week_start=week_start(self.manager_side(m).weekdays),
                )
            )
        return tuple(out)

    def _tier_infos(self) -> tuple[TierInfo, ...]:
        out = []
        for tier in sorted(self.config.tiers, key=lambda t: t.id):
            kinds: dict[str, None] = {}
            for rule in tier_rules(tier.id, self.tiers):
                kinds[rule.kind] = None
                for follow in rule.follow_ups or ():
                    kinds[follow.kind] = None
            out.append(
                TierInfo(
                    id=tier.id,
                    description=tier.description,
                    rank=tier.rank,
                    rule_kinds=tuple(kinds),
                    max_silence=tier.max_silence,
                )
            )
        return tuple(out)


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


def review_kinds(config: Config) -> tuple[str, ...]:
    """Kinds that evaluate a partner: the built-in reviews and custom kinds marked `review`."""
    custom = (k for k, kind in config.kinds.items() if getattr(kind, "review", False))
    return tuple(sorted({*REVIEW_KINDS, *custom}))


def _every(items: list[Item]) -> list[Item]:
    """Items and their follow-ups, in placement order."""
    return [x for item in items for x in (item, *item.children)]


@dataclass(frozen=True, slots=True)
class _Round:
    """What one planning round of a manager would add to the plan."""

    events: list[Event]
    diagnostics: list[Diagnostic]
    unplaced: frozenset[str]
    absent: frozenset[str]  # unplaced, or skipped (check-ins in a review month)
    pinned: frozenset[str]
    moves: int

    @property
    def score(self) -> tuple[int, int]:
        """Lower is better: unplaced events, then missing events and moves alike.

        A skipped check-in regained is worth one published event moved, not more:
        subscribers' calendars staying still is what a committed year promises.
        """
        return len(self.unplaced), len(self.absent) + self.moves


def _listing(keys: list[str], most: int = 3) -> str:
    shown = ", ".join(f"'{k}'" for k in keys[:most])
    return shown + (f" and {len(keys) - most} more" if len(keys) > most else "")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _hours_between(start: time, end: time) -> float:
    return (end.hour * 60 + end.minute - start.hour * 60 - start.minute) / 60


def _weekdays(mask: int) -> str:
    names = [WEEKDAYS[d] for d in range(7) if mask >> d & 1]
    return ", ".join(names)


_MIDNIGHT: dict[tuple[str, date], float] = {}


def _sort_key(event: Event) -> tuple[float, str]:
    start = event.start
    if isinstance(start, datetime):
        return start.timestamp(), event.key
    cached = _MIDNIGHT.get((event.timezone, start))
    if cached is None:
        cached = datetime.combine(start, time(), ZoneInfo(event.timezone)).timestamp()
        _MIDNIGHT[(event.timezone, start)] = cached
    return cached, event.key


def _follow_count(spec: RuleSpec, follow_slug: str) -> int:
    return sum(len(f.offsets) for f in spec.follow_ups if f.slug == follow_slug)


def _who(state: PartnerState) -> str:
    return f"{state.name} ({state.id})"


def _fmt(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M %Z").strip()
    return value.isoformat()


def make_plan(config: Config, *, today: date | None = None, pins: Pins | None = None) -> Plan:
    """Plan the program's year: every event, sorted by (start instant, key), and diagnostics."""
    # The planner allocates several containers per event, so the cyclic garbage
    # collector would re-scan the whole growing heap (config and plan) again and
    # again: about a quarter of the time at 10,000 partners. It is paused while
    # planning (and restored as it was); the planner's only cycles (an item and
    # its follow-ups) are broken after each manager, so memory is freed as it goes.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _Planner(config, today, pins).plan()
    finally:
        if enabled:
            gc.enable()
