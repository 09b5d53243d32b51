"""What each partner's rules ask for: resolved rules, occurrences, both sides' calendars, items."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import date
from typing import Generic, TypeVar

from chancal.models import WEEKDAYS, Config, Manager, Partner, Rule
from chancal.plan import Diagnostic, Pins, Severity
from chancal.planner.calendar import (
    Ranges,
    blackout_ranges,
    country_weekdays,
    holiday_ordinals,
    weekday_mask,
)
from chancal.planner.constraints import Side
from chancal.planner.placement import Item, PartnerState
from chancal.planner.recurrence import Fiscal, Occurrence, fiscal, occurrences
from chancal.planner.rules import RuleSpec, resolve, tier_rules

K = TypeVar("K")
V = TypeVar("V")


def group(spec: RuleSpec) -> int:
    """The rule's placement group (see make_plan's order of work)."""
    if spec.skip_months:
        return 2
    if spec.purpose == "accountability":
        return 0
    if spec.gap_days:
        return 1
    if spec.days:
        return 3
    return 4


def _fraction(text: str) -> float:
    """A stable number in [0, 1) from text (sha256, not hash(): same on every run)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 2**32


class Wants:
    """What the partners of one make_plan call ask for (caches shared by all partners)."""

    def __init__(
        self,
        config: Config,
        today: int | None,
        pins: Pins,
        review_kinds: tuple[str, ...],
        note: Callable[[Diagnostic], None],
    ) -> None:
        self.config = config
        self.program = config.program
        self.today = today
        self.pins = pins
        self.review_kinds = review_kinds
        self._note = note
        self.ys = self.program.year_start.toordinal()
        self.ye = self.program.year_end.toordinal()
        self.half_start = fiscal(self.program.fiscal_year_start, self.ys).boundary(6)
        # Holidays of the year around the planning year: a manager's date may be a day off.
        self.years = tuple(range(_day(self.ys).year - 1, _day(self.ye).year + 2))
        self.tiers = {t.id: t for t in config.tiers}
        self._tier_specs: dict[str, tuple[RuleSpec, ...]] = {}
        self._blocked: dict[str, frozenset[int]] = {}
        self.program_blackouts = blackout_ranges(self.program.blackouts)
        # Each cache in two: what many managers' partners share (a tier's rules, a
        # country's holidays), kept for the planner's life, and what only one partner or
        # manager has (its edited rules, focus areas, blackouts), kept until `forget`.
        # Kept for the life of the planner, the second half was most of what a planning
        # process held (benchmarks/README.md, "One copy of each value").
        self._resolved: _Caches[int, RuleSpec] = _Caches()
        self._occ: _Caches[tuple[int, str, tuple[str, ...]], tuple[Occurrence, ...]] = _Caches()
        self._closed_cache: _Caches[tuple[str, str | None, Ranges], frozenset[int]] = _Caches()
        self._tier_spec_ids: set[int] = set()

    def forget(self) -> None:
        """Drop what is cached for one partner or manager only (a partner has one manager)."""
        for caches in (self._resolved, self._occ, self._closed_cache):
            caches.own.clear()

    # -- rules ------------------------------------------------------------------

    def _spec(self, rule: Rule, *, shared: bool) -> RuleSpec:
        """The rule resolved: `shared` when the rule is a tier's, not a partner's edit."""
        for cache in (self._resolved.shared, self._resolved.own):
            found = cache.get(id(rule))
            if found is not None and found.rule is rule:
                return found  # an edit keeps most of a tier's rules as they are
        found = resolve(self.config, rule)
        (self._resolved.shared if shared else self._resolved.own)[id(rule)] = found
        return found

    def specs(self, partner: Partner) -> tuple[RuleSpec, ...]:
        """The partner's resolved rules in placement order."""
        base = self._tier_specs.get(partner.tier)
        if base is None:
            rules = tier_rules(partner.tier, self.tiers)
            base = self._order([self._spec(r, shared=True) for r in rules])
            self._tier_specs[partner.tier] = base
            self._tier_spec_ids.update(map(id, base))
        edits = partner.overrides
        if not (edits.rules or edits.change or edits.drop):
            return base
        from chancal.planner.rules import apply_edits

        rules = apply_edits(tier_rules(partner.tier, self.tiers), edits)
        return self._order([self._spec(r, shared=False) for r in rules])

    @staticmethod
    def _order(specs: Sequence[RuleSpec]) -> tuple[RuleSpec, ...]:
        return tuple(sorted(specs, key=group))  # stable: rule order within a group

    def _occurrences(self, spec: RuleSpec, partner: Partner) -> tuple[Occurrence, ...]:
        rule = spec.rule
        month_day = self.program.fiscal_year_start
        if rule.fiscal_calendar == "partner" and partner.fiscal_year_start:
            month_day = partner.fiscal_year_start
        per_focus = rule.cadence is not None and rule.cadence.kind == "per_focus_area"
        focus = partner.focus_areas if per_focus else ()
        key = (id(spec), month_day, focus)
        shared = not focus and id(spec) in self._tier_spec_ids
        cache = self._occ.shared if shared else self._occ.own
        found = cache.get(key)
        if found is None:
            cal: Fiscal = fiscal(month_day, self.ys)
            found = cache[key] = occurrences(rule, cal, self.ys, self.ye, focus)
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
        cache = self._closed_cache.own if blackouts else self._closed_cache.shared
        found = cache.get(key)
        if found is None:
            days = set(holiday_ordinals(country, subdivision, self.years))
            for lo, hi in (*blackouts, *self.program_blackouts):
                days.update(range(lo, hi))
            found = cache[key] = frozenset(days)
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

    def items(self, partner: Partner, state: PartnerState, *, report: bool) -> list[Item]:
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

    def _diag(
        self,
        severity: Severity,
        code: str,
        message: str,
        partner_id: str,
        rule_id: str | None = None,
    ) -> None:
        self._note(Diagnostic(severity, code, message, partner_id, rule_id, None))


class _Caches(Generic[K, V]):
    """A cache in two halves: kept for the planner's life, and kept until `Wants.forget`."""

    def __init__(self) -> None:
        self.shared: dict[K, V] = {}
        self.own: dict[K, V] = {}


def _weekdays(mask: int) -> str:
    names = [WEEKDAYS[d] for d in range(7) if mask >> d & 1]
    return ", ".join(names)


def _who(state: PartnerState) -> str:
    return f"{state.name} ({state.id})"


def _day(ordinal: int) -> date:
    return date.fromordinal(ordinal)
