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
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Literal

from chancal.kinds import REVIEW_KINDS
from chancal.models import Config, Manager, Partner, ProgramSettings
from chancal.plan import Diagnostic, Event, ManagerInfo, PartnerInfo, Pins, Plan
from chancal.planner import constraints, parallel
from chancal.planner.constraints import R_CAPACITY, Ledger, Slot, local_datetime, month_of
from chancal.planner.demand import over_demand
from chancal.planner.events import EventWriter
from chancal.planner.order import diagnostic_order, event_order
from chancal.planner.placement import (
    R_GAP,
    R_MONTH,
    WIDEN_DAYS,
    Item,
    PartnerState,
    Placer,
    distance,
    eligible,
    span,
)
from chancal.planner.recurrence import slug
from chancal.planner.wants import Wants, group

# How many repair rounds may grow the set of events placed before the published ones.
REPAIR_ROUNDS = 8
# A follow-up's window around its offset from the base event, in days.
FOLLOW_EARLY = 3
FOLLOW_LATE = 10


def program_id(program: ProgramSettings) -> str:
    """The program's id, or a slug of its name."""
    return program.id or slug(program.name)


# Groups placed together (see wants.group): reviews, then multi-day events, then the rest.
_STAGES = ({0}, {3}, {1, 2, 4})


def _day(ordinal: int) -> date:
    return date.fromordinal(ordinal)


class Planner:
    """The state of one make_plan call (caches shared by all partners)."""

    def __init__(self, config: Config, today: date | None, pins: Pins | None) -> None:
        self.config = config
        self.program = config.program
        self.pid = program_id(config.program)
        self.today = today.toordinal() if today is not None else None
        self.pins = dict(pins or {})  # its own: `plan_batch` may replace what it holds
        self.ys = self.program.year_start.toordinal()
        self.ye = self.program.year_end.toordinal()
        self.review_kinds = review_kinds(config)
        self.diagnostics: list[Diagnostic] = []
        self.events: list[Event] = []
        # What the wants note (working weeks, rules with nothing to plan) joins the plan's
        # diagnostics as it happens, so a round can take it back with its own.
        self.wants = Wants(
            config, self.today, self.pins, self.review_kinds, self.diagnostics.append
        )
        self.writer = EventWriter(config, self.pid)

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
        # The first round's items, before placing, are also what the demand is counted on.
        todo = self._work(manager, partners)
        over = self._over_demand(manager, todo)
        chosen = self._round(manager, todo)
        # An over-demanded manager's year cannot hold everything however it is arranged
        # (said once, up front): reshuffling published events would only churn calendars.
        if self.pins and not over and (chosen.unplaced or chosen.moves):
            fresh = self._round(manager, self._work(manager, partners), mode="fresh")
            if (len(chosen.unplaced), len(chosen.absent)) > (
                len(fresh.unplaced),
                len(fresh.absent),
            ):
                first = chosen.absent - fresh.absent
                rounds = [chosen]
                # A repair can displace a published event that then finds no place
                # itself: it joins the events placed first, a few times at most.
                for _ in range(REPAIR_ROUNDS):
                    todo = self._work(manager, partners)
                    rounds.append(self._round(manager, todo, mode="repair", first=first))
                    more = rounds[-1].absent - fresh.absent - first
                    if not rounds[-1].unplaced or not more:
                        break
                    first |= more
                todo = self._work(manager, partners)
                rounds.append(self._round(manager, todo, mode="release", first=first))
                rounds.append(fresh)
                chosen = min(rounds, key=lambda r: r.score)
        self.events += chosen.events
        self.diagnostics += chosen.diagnostics
        self.wants.forget()  # what only these partners and this manager have is done

    def _work(self, manager: Manager, partners: list[Partner]) -> _Work:
        """Every partner's items, not yet placed, and the notes the wants made building them."""
        mark = len(self.diagnostics)
        found = []
        for partner in partners:
            state = self.wants.partner_state(partner, manager)
            found.append((partner, state, self.wants.items(partner, state, report=True)))
        notes = self.diagnostics[mark:]
        del self.diagnostics[mark:]  # the round that uses these items reports them
        return _Work(found, notes)

    def _round(
        self,
        manager: Manager,
        todo: _Work,
        *,
        mode: Literal["keep", "repair", "release", "fresh"] = "keep",
        first: frozenset[str] = frozenset(),
    ) -> _Round:
        """Plan one manager once and return what it would add, without adding it.

        `todo` is used up: each round places its own items. keep: published slots
        are reserved first; repair: `first` is placed before they are; release:
        nothing is reserved, each event tries its published slot when its turn
        comes; fresh: published slots not yet past are ignored.
        """
        events, diagnostics = len(self.events), len(self.diagnostics)
        self.diagnostics += todo.notes
        capacity = manager.capacity or self.program.capacity
        travel = manager.travel or self.program.travel
        placer = Placer(
            Ledger(
                self.wants.manager_side(manager),
                capacity.meetings_per_week,
                capacity.hours_per_week,
                travel.site_visits_per_month,
            )
        )
        work = todo.partners
        if mode == "fresh":
            for _, _, items in work:
                for item in _every(items):
                    if not self._frozen(item):
                        item.pin = None
                        item.pin_slot = None
        room = _listing(sorted(first))
        # Phase 1: pins before `today` are history: kept exactly, whatever changed.
        for _, _, items in work:
            for item in _every(items):
                if item.pin_slot is not None and self._frozen(item):
                    placer.keep_past(item, *item.pin_slot)
                    item.frozen = True
        # Repair: what could not be placed around the published events goes first.
        if mode == "repair":
            for stage in _STAGES:
                for _, _, items in work:
                    for item in items:
                        if group(item.spec) not in stage:
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
                    if group(item.spec) not in stage:
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
        for partner, _, items in work:
            for item in _every(items):
                if item.published is not None and not item.frozen:
                    pinned.append(item.key)
                    if (item.day, item.start) != item.published:
                        moves += 1
                        self._report_move(item, room)
                if item.day is not None:
                    self.events.append(self.writer.event(partner, manager, item))
                elif not item.past:
                    absent.append(item.key)
                    if item.failure:
                        unplaced.append(item.key)
        self.writer.forget()  # a partner has one manager: its entries are done
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

    def _over_demand(self, manager: Manager, todo: _Work) -> bool:
        """Say once, before searching, when a manager's year asks for more than fits."""
        side = self.wants.manager_side(manager)
        wanted = [x for _, _, items in todo.partners for x in _every(items)]
        capacity = manager.capacity or self.program.capacity
        travel = manager.travel or self.program.travel
        text = over_demand(side, capacity, travel, wanted, (self.ys, self.ye))
        if text is not None:
            self._diag("warning", "over-demand", f"{manager.name} ({manager.id}): {text}")
        return text is not None

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

    def _pin_check(self, placer: Placer, item: Item) -> tuple[Slot | None, str | None]:
        """The published slot as `Placer.commit` takes it, and why it cannot be kept (None: it can).

        A published slot stays while the hard rules hold, the strategy gap, the
        check-in month rule and the site-visit halves hold, and the day is no
        further from the window than relaxation may go. The window itself, the
        partner's spacing and the rhythm are preferences: the slot was published
        after they were weighed, so keeping it is what keeps calendars still.
        """
        slot = self._pinned_slot(item)
        if slot is None:
            return None, "it changed between a timed and an all-day event"
        day, start = slot
        lo, hi = span(item)
        # A window clipped away by the year's end leaves the period (what `span` searches),
        # so a slot placed there is kept like any other instead of moving on every run.
        if not lo <= day < hi:
            return None, "it is outside the rule's window"
        checked, why = placer.pin_refusal(item, day, start)
        if why is None and item.skip and not eligible(item):
            why = R_MONTH
        return checked, why

    def _try_pin(self, placer: Placer, item: Item) -> None:
        """Keep the item's published slot if it is still allowed (an item not yet placed)."""
        if item.pin is not None and item.day is None:
            self._keep_pin(placer, item)

    def _keep_pin(self, placer: Placer, item: Item) -> str | None:
        """Commit the published slot if it is still allowed, saying where it bends a
        preference; else return why it cannot stay (None: it stayed)."""
        checked, why = self._pin_check(placer, item)
        if why is not None:
            return why
        assert item.pin_slot is not None
        day = item.pin_slot[0]
        inside = any(lo <= day < hi for lo, hi in item.window)
        widened = 0 if inside else 1 if distance(item.window, day) <= WIDEN_DAYS else 2
        off_rhythm = placer.rhythm_refusal(item, day) is not None
        placer.commit(item, day, checked, widened)
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
        return None

    def _place(self, placer: Placer, item: Item, room_for: str) -> bool:
        """Place an unpinned (or no longer pinnable) item; False when a check-in is skipped."""
        why_pin = None
        if item.pin is not None:
            why_pin = self._keep_pin(placer, item)
            if why_pin is None:  # a follow-up whose base was placed only now keeps its slot too
                return True
        if item.skip and not eligible(item):
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

    @cached_property
    def _portfolios(self) -> dict[str, list[Partner]]:
        """Each manager's partners, in the program's order."""
        found: dict[str, list[Partner]] = {}
        for partner in self.config.partners:
            found.setdefault(partner.manager, []).append(partner)
        return found

    def plan_batch(self, manager_id: str, pins: Pins | None = None) -> parallel.Batch:
        """Plan one manager; return its events and diagnostics without keeping them.

        `pins`, when given, are the published starts of this manager's partners'
        events: they replace the planner's pins (a process that reads each
        manager's part of the lock as it goes).
        """
        if pins is not None:
            self.pins.clear()  # the very dict the wants read
            self.pins.update(pins)
        events, diagnostics = len(self.events), len(self.diagnostics)
        manager = next(m for m in self.config.managers if m.id == manager_id)
        self.plan_manager(manager, self._portfolios[manager_id])
        batch = self.events[events:], self.diagnostics[diagnostics:]
        del self.events[events:], self.diagnostics[diagnostics:]
        return batch

    def plan(self) -> Plan:
        """Plan everything and assemble the Plan."""
        ids = self.manager_ids()
        today = None if self.today is None else date.fromordinal(self.today)
        batches = parallel.plan_all(
            self,
            Planner,
            (self.config, today, self.pins),
            ids,
            [len(self._portfolios[m]) for m in ids],
            parallel.jobs(len(self.config.partners)),
        )
        events = [e for batch in batches for e in batch[0]]
        diagnostics = [d for batch in batches for d in batch[1]]
        return self.year(events + self.shared, diagnostics)

    def manager_ids(self) -> list[str]:
        """Every manager with partners, largest portfolio first (ties by id): the order to plan."""
        return sorted(self._portfolios, key=lambda m: (-len(self._portfolios[m]), m))

    @cached_property
    def shared(self) -> list[Event]:
        """The program's shared events (with every partner they invite)."""
        return self.writer.shared()

    def year(self, events: list[Event], diagnostics: list[Diagnostic]) -> Plan:
        """The Plan of these events and diagnostics (the whole year, or one manager's part).

        Sorted here, so the plan is the same whichever process planned which manager.
        """
        return Plan(
            program_id=self.pid,
            program_name=self.program.name,
            timezone=self.program.timezone,
            year_start=self.program.year_start,
            year_end=self.program.year_end,
            events=tuple(sorted(events, key=event_order)),
            diagnostics=tuple(sorted(diagnostics, key=diagnostic_order)),
            partners=self.infos[0],
            managers=self.infos[1],
            tiers=self.writer.tier_infos(),
            review_kinds=self.review_kinds,
        )

    @cached_property
    def infos(self) -> tuple[tuple[PartnerInfo, ...], tuple[ManagerInfo, ...]]:
        """What the plan says of every partner and every manager."""
        return self.writer.partner_infos(), self.writer.manager_infos(self.wants.manager_side)


def review_kinds(config: Config) -> tuple[str, ...]:
    """Kinds that evaluate a partner: the built-in reviews and custom kinds marked `review`."""
    custom = (k for k, kind in config.kinds.items() if getattr(kind, "review", False))
    return tuple(sorted({*REVIEW_KINDS, *custom}))


def _every(items: list[Item]) -> list[Item]:
    """Items and their follow-ups, in placement order."""
    return [x for item in items for x in (item, *item.children)]


@dataclass(frozen=True, slots=True)
class _Work:
    """What one round of a manager places: each partner's items, and the wants' notes on them."""

    partners: list[tuple[Partner, PartnerState, list[Item]]]
    notes: list[Diagnostic]


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
        return Planner(config, today, pins).plan()
    finally:
        constraints.forget()
        if enabled:
            gc.enable()
