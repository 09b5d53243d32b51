"""The health check: score each partner's planned year against the principles of a great calendar.

Pure: a `Plan` and the thresholds in, a `HealthReport` (a value of
`chancal.scores`) out. Expectations are scaled by tier through
`TierInfo.rule_kinds` and `TierInfo.rank`: a partner is never failed for
lacking what its tier does not promise (site visits), and its tier's
investment (median hours and events per partner) is compared with the other
tiers'.

JSON shape (`report_json`, stable; keys sorted, lists in plan order)::

    {
      "program": {"id": str, "name": str},
      "principles": [{"id": str, "title": str}, ...],
      "summary": {"partners": int, "pass": int, "warn": int, "fail": int, "n/a": int},
      "partners": [{"id", "name", "tier", "manager", "status",
                    "scores": {principle id: status}}, ...],
      "findings": [{"partner", "principle", "status", "seen", "fix",
                    "numbers": {name: number | str}}, ...]
    }

`status` is one of pass, warn, fail, n/a; `findings` holds one entry per
partner and principle, in partner then principle order.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from itertools import pairwise
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from chancal.durations import format_duration
from chancal.kinds import BUILTIN_KINDS
from chancal.plan import Diagnostic, Event, PartnerInfo, Plan, TierInfo
from chancal.scores import (
    PRINCIPLE_TITLES,
    PRINCIPLES,
    Finding,
    HealthReport,
    Number,
    PartnerScore,
    Status,
    worst,
)

if TYPE_CHECKING:
    from chancal.models import HealthThresholds

WORKSHOP = "capability_workshop"
COACHING = "coaching_session"
SITE_VISIT = "site_visit"
STRATEGY = "joint_marketing_strategy"
EXCHANGE = "information_exchange"
_DAY = timedelta(days=1)
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")
# Built-in kinds a tier can add to invest more in its partners. Coaching comes
# as a workshop's follow-up and the conference is a shared event, not tier rules.
_ENRICHING: tuple[str, ...] = tuple(
    k.id
    for k in BUILTIN_KINDS.values()
    if k.purpose == "collaboration" and k.id not in (COACHING, "partner_conference")
)
# The planner's "unplaced" message: "<who>: rule '<id>' could not place '<key>'
# [in <from> to <to> or its period]: <reason>". Diagnostic has no reason field,
# so the reason is cut out of the message; any other wording is shown whole.
_UNPLACED = re.compile(
    r"could not place '[^']*'(?: (?P<where>in .+? or its period))?: (?P<why>.+)\Z", re.S
)
_QUARTER = re.compile(r"\bQ([1-4])\b")


def check_health(
    plan: Plan, thresholds: HealthThresholds, *, strategy_gap: timedelta
) -> HealthReport:
    """Score every partner of `plan` against every principle."""
    by_partner = _events_by_partner(plan)
    tiers = {t.id: t for t in plan.tiers}
    # Day, last day and hours of each event, computed once: shared events are
    # seen by thousands of partners, and the properties are not free.
    facts = {id(e): (e.day, _last_day(e), e.hours) for e in plan.events}
    hours = {p.id: sum(facts[id(e)][2] for e in by_partner[p.id]) for p in plan.partners}
    counts = {p.id: len(by_partner[p.id]) for p in plan.partners}
    ladder = _Ladder.build(plan.partners, tiers, hours, counts)
    top_rank = max((t.rank for t in plan.tiers), default=0)
    checker = _Checker(plan, thresholds, strategy_gap, top_rank, ladder, facts)
    scores = []
    for partner in plan.partners:
        tier = tiers.get(partner.tier) or TierInfo(partner.tier, "", 0, ())
        events = by_partner[partner.id]
        findings = (
            checker.capability(partner, tier, events),
            checker.site_visits(partner, tier, events),
            checker.strategy(partner, tier, events),
            checker.sharing(partner, tier, events),
            checker.balance(partner, tier, events),
            checker.investment(partner, tier, hours[partner.id], counts[partner.id]),
            checker.spread(partner, tier, events),
        )
        scores.append(PartnerScore(partner, findings))
    return HealthReport(plan.program_id, plan.program_name, tuple(scores))


def report_dict(report: HealthReport) -> dict[str, object]:
    """Return the report as plain JSON-ready data (see the module docstring for the shape)."""
    summary: dict[str, int] = {"partners": len(report.partners)}
    for status, n in report.counts().items():
        summary[status] = n
    return {
        "program": {"id": report.program_id, "name": report.program_name},
        "principles": [{"id": p, "title": PRINCIPLE_TITLES[p]} for p in PRINCIPLES],
        "summary": summary,
        "partners": [
            {
                "id": s.partner.id,
                "name": s.partner.name,
                "tier": s.partner.tier,
                "manager": s.partner.manager_id,
                "status": s.status,
                "scores": {f.principle: f.status for f in s.findings},
            }
            for s in report.partners
        ],
        "findings": [
            {
                "partner": f.partner_id,
                "principle": f.principle,
                "status": f.status,
                "seen": f.seen,
                "fix": f.fix,
                "numbers": dict(f.numbers),
            }
            for s in report.partners
            for f in s.findings
        ],
    }


def report_json(report: HealthReport) -> str:
    """Return the report as deterministic JSON text ending in a newline."""
    return json.dumps(report_dict(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _events_by_partner(plan: Plan) -> defaultdict[str, list[Event]]:
    by_partner: defaultdict[str, list[Event]] = defaultdict(list)
    for event in plan.events:
        if event.status == "CANCELLED":
            continue
        seen = event.partner_ids or ((event.partner_id,) if event.partner_id else ())
        for partner_id in dict.fromkeys(seen):
            by_partner[partner_id].append(event)
    return by_partner


def _last_day(event: Event) -> date:
    if event.all_day:
        end_day: date = event.end
        return end_day - _DAY
    end = event.end
    return end.date() if isinstance(end, datetime) else end


def _days_apart(a: Event, b: Event) -> int:
    """Whole days between two events (0 when they share a day)."""
    if _last_day(a) < b.day:
        return (b.day - _last_day(a)).days
    if _last_day(b) < a.day:
        return (a.day - _last_day(b)).days
    return 0


def _words(terms: Sequence[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    alternatives = "|".join(re.escape(t.strip()) for t in terms if t.strip())
    # Whole words with an optional plural, so "targets" counts but "targeted" does not.
    return re.compile(rf"(?<!\w)(?:{alternatives})(?:s|es)?(?!\w)", re.IGNORECASE)


def _agenda_items(description: str) -> list[str]:
    """The agenda's bullet lines; all lines when it has none.

    Only items are judged, so a preamble such as "Not a review: no targets"
    does not count as a review item.
    """
    lines = [line.strip() for line in description.splitlines() if line.strip()]
    bullets = [line for line in lines if _BULLET.match(line)]
    return bullets or lines


def _tier_hint(tier: TierInfo) -> str:
    return f"tier '{tier.id}'"


def _plural(n: int | float, word: str) -> str:
    return f"{n:g} {word}{'' if n == 1 else 's'}"


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def _fmt_ratio(value: float | None) -> str:
    return "n/a (no accountability)" if value is None else f"{value:.2f}"


def _relation(a: float, b: float) -> str:
    return "<" if a < b else ">" if a > b else "="


@cache
def _zone(name: str) -> ZoneInfo | None:
    # Plans built by hand (tests, scripts) may carry no valid zone; the event's
    # own days are then the best guess at the partner's.
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):
        return None


def _local_days(event: Event, zone: ZoneInfo | None) -> tuple[date, date]:
    """The first and last day of an event on the partner's own calendar."""
    start, end = event.start, event.end
    if event.all_day or zone is None:
        return event.day, _last_day(event)
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return event.day, _last_day(event)
    first, stop = start.astimezone(zone), end.astimezone(zone)
    # An event ending at midnight does not reach into the next day.
    last = (stop - timedelta(microseconds=1)).date() if stop > first else first.date()
    return first.date(), last


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _review_name(review: Event, day: date) -> str:
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


def _unplaced_reason(diagnostic: Diagnostic) -> str:
    found = _UNPLACED.search(diagnostic.message)
    if found is None:
        return diagnostic.message
    where = found.group("where")
    return found.group("why") + (f" ({where})" if where else "")


@dataclass(frozen=True, slots=True)
class _Rung:
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
class _Step:
    """A higher rung compared with a lower one: is it above in hours, in events?"""

    low: _Rung
    high: _Rung

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
class _Ladder:
    """Median hours and events per partner of each tier rank, lowest rank first."""

    rungs: tuple[_Rung, ...]

    @classmethod
    def build(
        cls,
        partners: Sequence[PartnerInfo],
        tiers: Mapping[str, TierInfo],
        hours: Mapping[str, float],
        events: Mapping[str, int],
    ) -> _Ladder:
        by_rank: defaultdict[int, list[str]] = defaultdict(list)
        names: defaultdict[int, set[str]] = defaultdict(set)
        for p in partners:
            rank = tiers[p.tier].rank if p.tier in tiers else 0
            by_rank[rank].append(p.id)
            names[rank].add(p.tier)
        rungs = tuple(
            _Rung(
                rank,
                tuple(sorted(names[rank])),
                round(statistics.median(hours[i] for i in by_rank[rank]), 1),
                statistics.median(events[i] for i in by_rank[rank]),
            )
            for rank in sorted(by_rank)
        )
        return cls(rungs)

    def steps(self) -> list[_Step]:
        """Every pair of ranks that have partners, lower rank first in each."""
        return [
            _Step(low, high) for i, low in enumerate(self.rungs) for high in self.rungs[i + 1 :]
        ]

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


class _Checker:
    """One method per principle; each returns one Finding."""

    def __init__(
        self,
        plan: Plan,
        thresholds: HealthThresholds,
        strategy_gap: timedelta,
        top_rank: int,
        ladder: _Ladder,
        facts: Mapping[int, tuple[date, date, float]],
    ) -> None:
        self.facts = facts
        self.plan = plan
        self.th = thresholds
        self.gap = strategy_gap
        self.top_rank = top_rank
        self.ladder = ladder
        # Worked out once: every partner's investment finding quotes the same ladder.
        self.ladder_text = ladder.describe()
        self.steps = ladder.steps()
        self.role_play = _words(thresholds.role_play_terms)
        self.review = _words(thresholds.review_terms)
        self.review_kinds = frozenset(plan.review_kinds)
        # Rules known to plan strategy sessions (for some partner), to tell which
        # "unplaced" diagnostic explains a partner's missing session.
        self.strategy_rules = {e.rule_id for e in plan.events if e.kind == STRATEGY}
        self.unplaced: defaultdict[str, list[Diagnostic]] = defaultdict(list)
        for d in plan.diagnostics:
            if d.code == "unplaced" and d.severity == "error" and d.partner_id is not None:
                self.unplaced[d.partner_id].append(d)

    # -- targeted capability development ------------------------------------
    def capability(self, p: PartnerInfo, tier: TierInfo, events: list[Event]) -> Finding:
        workshops = [e for e in events if e.kind == WORKSHOP]
        coaching = [e for e in events if e.kind == COACHING]
        min_coaching = self.th.min_coaching_per_focus_area
        if not p.focus_areas:
            return Finding(
                "capability",
                p.id,
                "warn",
                f"no focus areas chosen, so training can only be generic "
                f"({_plural(len(workshops), 'workshop')})",
                f"choose this year's capability focus areas for {p.name} "
                "(partners[].focus_areas); a capability_workshop rule with cadence "
                "per_focus_area then targets each one",
                (("focus_areas", 0), ("workshops", len(workshops))),
            )
        workshop_keys: dict[str, list[Event]] = defaultdict(list)
        for w in workshops:
            if w.focus_area is not None:
                workshop_keys[w.focus_area].append(w)
        missing: list[str] = []
        no_role_play: list[str] = []
        short_coaching: list[str] = []
        covered = 0
        for area in p.focus_areas:
            area_workshops = workshop_keys.get(area, [])
            if not area_workshops:
                missing.append(area)
                continue
            if self.role_play is not None and not any(
                self.role_play.search(f"{w.title}\n{w.description}") for w in area_workshops
            ):
                no_role_play.append(area)
            prefixes = tuple(f"{w.key}/" for w in area_workshops)
            n_coaching = sum(
                1
                for c in coaching
                if c.focus_area == area or (c.focus_area is None and c.key.startswith(prefixes))
            )
            if n_coaching < min_coaching:
                short_coaching.append(f"'{area}' ({n_coaching})")
            if area not in no_role_play and n_coaching >= min_coaching:
                covered += 1
        total = len(p.focus_areas)
        numbers: tuple[tuple[str, Number], ...] = (
            ("focus_areas", total),
            ("covered", covered),
            ("workshops", len(workshops)),
            ("coaching_sessions", len(coaching)),
        )
        seen = (
            f"{covered} of {_plural(total, 'focus area')} with a role-play workshop and "
            f"at least {_plural(min_coaching, 'coaching follow-up')}"
        )
        problems, fixes = [], []
        if missing:
            problems.append("no workshop for " + ", ".join(f"'{a}'" for a in missing))
            if WORKSHOP in tier.rule_kinds:
                fixes.append(
                    "check the plan's diagnostics: the workshop rule of "
                    f"{_tier_hint(tier)} could not place every focus area"
                )
            else:
                fixes.append(
                    f"add a capability_workshop rule with cadence per_focus_area to "
                    f"{_tier_hint(tier)}"
                )
        if no_role_play:
            problems.append("no role-play in the agenda for " + ", ".join(no_role_play))
            fixes.append(
                "put role-play in the workshop agenda (the built-in capability_workshop "
                "agenda has it)"
            )
        if short_coaching:
            problems.append("too few coaching follow-ups: " + ", ".join(short_coaching))
            fixes.append(
                "give the workshop rule follow_ups such as "
                "{kind: coaching_session, after: [2w, 5w]}"
            )
        if problems:
            return Finding(
                "capability",
                p.id,
                "fail",
                f"{seen}; " + "; ".join(problems),
                "; ".join(fixes),
                numbers,
            )
        return Finding("capability", p.id, "pass", seen, "", numbers)

    # -- site visits both ways ----------------------------------------------
    def site_visits(self, p: PartnerInfo, tier: TierInfo, events: list[Event]) -> Finding:
        visits = [e for e in events if e.kind == SITE_VISIT]
        to_partner = sum(1 for e in visits if e.direction == "to_partner")
        to_us = sum(1 for e in visits if e.direction == "to_us")
        other = len(visits) - to_partner - to_us
        numbers: tuple[tuple[str, Number], ...] = (
            ("to_partner", to_partner),
            ("to_us", to_us),
            ("other", other),
        )
        seen = f"visits by us to them: {to_partner}, by them to us: {to_us}"
        if other:
            seen += f", without a direction: {other}"
        if SITE_VISIT not in tier.rule_kinds:
            if tier.rank >= self.top_rank and len({t.rank for t in self.plan.tiers}) > 1:
                return Finding(
                    "site_visits",
                    p.id,
                    "warn",
                    f"{seen}; {_tier_hint(tier)} is the highest and promises no site visits",
                    f"add site_visit rules with direction to_partner and to_us to "
                    f"{_tier_hint(tier)}",
                    numbers,
                )
            return Finding(
                "site_visits",
                p.id,
                "n/a",
                f"{seen}; {_tier_hint(tier)} promises none",
                "",
                numbers,
            )
        if to_partner and to_us:
            return Finding("site_visits", p.id, "pass", seen, "", numbers)
        lacking = [
            text
            for text, n in (
                ("to_partner (we visit them)", to_partner),
                ("to_us (they visit us)", to_us),
            )
            if not n
        ]
        return Finding(
            "site_visits",
            p.id,
            "fail",
            f"{seen}; {_tier_hint(tier)} promises site visits, but not both ways",
            f"add a site_visit rule with direction {' and '.join(lacking)} to "
            f"{_tier_hint(tier)}, or check the plan's diagnostics if it could not be placed",
            numbers,
        )

    # -- joint marketing strategy session -----------------------------------
    def strategy(self, p: PartnerInfo, tier: TierInfo, events: list[Event]) -> Finding:
        sessions = [e for e in events if e.kind == STRATEGY]
        # Only evaluations are kept away: a check-in beside a strategy session is
        # fine (the planner's strategy gap keeps from the same kinds).
        reviews = [e for e in events if e.kind in self.review_kinds]
        gap_days = self.gap / _DAY
        if not sessions:
            return Finding(
                "strategy",
                p.id,
                "fail",
                "no joint marketing strategy session",
                self._missing_strategy_fix(p, tier, events),
                (("sessions", 0),),
            )
        zone = _zone(p.timezone)
        # Weeks are Monday to Sunday on the partner's calendar: the week they live.
        review_weeks = [
            (r, first, _monday(first), _monday(last))
            for r in reviews
            for first, last in (_local_days(r, zone),)
        ]
        clean = in_review_week = 0
        closest: int | None = None
        problems: list[str] = []
        too_close = review_items = False
        for s in sessions:
            s_first, s_last = _local_days(s, zone)
            s_from, s_to = _monday(s_first), _monday(s_last)
            same_week = min(
                (
                    (r_day, r.key, r)
                    for r, r_day, r_from, r_to in review_weeks
                    if r_from <= s_to and s_from <= r_to
                ),
                default=None,
            )
            near = min(reviews, key=lambda a: (_days_apart(s, a), a.day, a.key), default=None)
            apart = None if near is None else _days_apart(s, near)
            if apart is not None and (closest is None or apart < closest):
                closest = apart
            items = [
                item
                for item in (s.title, *_agenda_items(s.description))
                if self.review is not None and self.review.search(item)
            ]
            ok = True
            if same_week is not None:
                ok = False
                in_review_week += 1
                r_day, _, r = same_week
                problems.append(
                    f"session on {s_first} is in the week of the {_review_name(r, r_day)} "
                    f"on {r_day}"
                )
            elif near is not None and apart is not None and apart < gap_days:
                ok = False
                too_close = True
                problems.append(
                    f"session on {s.day} is {_plural(apart, 'day')} from "
                    f"{near.title or near.kind} on {near.day}"
                )
            if items:
                ok = False
                review_items = True
                problems.append(
                    f"session on {s.day} has evaluation items: "
                    + "; ".join(f"'{i}'" for i in items[:3])
                )
            clean += ok
        numbers: tuple[tuple[str, Number], ...] = (
            ("sessions", len(sessions)),
            ("clean", clean),
            ("in_review_week", in_review_week),
            ("closest_review_days", -1 if closest is None else closest),
            ("gap_days", gap_days),
        )
        seen = f"{_plural(len(sessions), 'session')}, {clean} apart from every review; " + (
            "no reviews"
            if closest is None
            else f"closest review {_plural(closest, 'day')} away (gap {format_duration(self.gap)})"
        )
        if clean == len(sessions):
            return Finding("strategy", p.id, "pass", seen, "", numbers)
        fixes = []
        if in_review_week or too_close:
            fixes.append(
                f"move the session out of the review's week and at least "
                f"{format_duration(self.gap)} away from reviews "
                "(its rule's window or min_gap_from_accountability)"
            )
        if review_items:
            fixes.append("take review and target items out of its agenda")
        # A session in the week of a review is read as part of the evaluation,
        # however clean the others are.
        status: Status = "warn" if clean and not in_review_week else "fail"
        return Finding(
            "strategy",
            p.id,
            status,
            f"{seen}; " + "; ".join(problems),
            "; ".join(fixes),
            numbers,
        )

    def _missing_strategy_fix(self, p: PartnerInfo, tier: TierInfo, events: list[Event]) -> str:
        """Say why a promised session is missing, or which rule would promise one."""
        if STRATEGY not in tier.rule_kinds:
            return (
                "add a joint_marketing_strategy rule (for example cadence: once, "
                f"window: {{in: [Q2]}}) to {_tier_hint(tier)}"
            )
        # The strategy rule placed nothing for this partner, so a rule that did
        # place something is not it.
        placed = {e.rule_id for e in events}
        candidates = [d for d in self.unplaced.get(p.id, ()) if d.rule_id not in placed]
        known = [d for d in candidates if d.rule_id in self.strategy_rules]
        named = [d for d in candidates if d.rule_id and "strateg" in d.rule_id.casefold()]
        only = candidates if len({d.rule_id for d in candidates}) == 1 else []
        for found in (known, named, only):
            if found:
                return (
                    "the joint marketing strategy session could not be placed: "
                    + _unplaced_reason(found[0])
                )
        return (
            f"{_tier_hint(tier)} has a joint_marketing_strategy rule, but it planned no "
            f"session for {p.name}: check the rule's window or dates, partner overrides "
            "that drop it, and the plan's diagnostics"
        )

    # -- two-way information sharing ------------------------------------------
    def sharing(self, p: PartnerInfo, tier: TierInfo, events: list[Event]) -> Finding:
        exchanges = [e for e in events if e.kind == EXCHANGE]
        need = self.th.min_information_exchanges
        numbers: tuple[tuple[str, Number], ...] = (
            ("exchanges", len(exchanges)),
            ("min_exchanges", need),
            ("we_share", len(p.we_share)),
            ("they_share", len(p.they_share)),
        )
        seen = (
            f"{_plural(len(exchanges), 'exchange point')} (min {need}); topics agreed: "
            f"we share {len(p.we_share)}, they share {len(p.they_share)}"
        )
        if not exchanges:
            return Finding(
                "sharing",
                p.id,
                "fail",
                seen,
                f"add an information_exchange rule (for example cadence: {need} per year) to "
                f"{_tier_hint(tier)} and agree topics under partners[].sharing",
                numbers,
            )
        status: Status = "pass"
        problems, fixes = [], []
        if len(exchanges) < need:
            status = "warn"
            problems.append("fewer exchange points than agreed")
            fixes.append(f"plan at least {need} information exchanges a year")
        empty = [
            side
            for side, topics in (("we_share", p.we_share), ("they_share", p.they_share))
            if not topics
        ]
        if empty:
            # Nothing agreed yet only makes the exchanges generic; one side bringing
            # nothing is the one-way reporting the principle is against.
            status = "warn" if len(empty) == 2 else "fail"
            problems.append(
                "no topics agreed yet"
                if len(empty) == 2
                else f"one-way: nothing agreed for {empty[0]}"
            )
            fixes.append(f"agree what each side brings: partners[].sharing.{' and '.join(empty)}")
        else:
            missing = [
                e
                for e in exchanges
                if not (
                    _mentions(e.description, p.we_share) and _mentions(e.description, p.they_share)
                )
            ]
            if missing:
                status = "fail"
                problems.append(
                    f"{_plural(len(missing), 'exchange')} without topics for both directions "
                    f"(first on {missing[0].day})"
                )
                fixes.append(
                    "list $we_share and $they_share in the exchange agenda (the built-in "
                    "information_exchange agenda does)"
                )
        if problems:
            seen = f"{seen}; " + "; ".join(problems)
        return Finding("sharing", p.id, status, seen, "; ".join(fixes), numbers)

    # -- collaboration, not just accountability -------------------------------
    def balance(self, p: PartnerInfo, tier: TierInfo, events: list[Event]) -> Finding:
        collab = [e for e in events if e.purpose == "collaboration"]
        account = [e for e in events if e.purpose == "accountability"]
        c_hours = sum(self.facts[id(e)][2] for e in collab)
        a_hours = sum(self.facts[id(e)][2] for e in account)
        by_count = _ratio(len(collab), len(account))
        by_hours = _ratio(c_hours, a_hours)
        need = self.th.min_collaboration_ratio
        numbers: tuple[tuple[str, Number], ...] = (
            ("collaboration_events", len(collab)),
            ("accountability_events", len(account)),
            ("collaboration_hours", round(c_hours, 2)),
            ("accountability_hours", round(a_hours, 2)),
            ("min_ratio", need),
        )
        seen = (
            f"collaboration {len(collab)} events / {c_hours:.1f} h, accountability "
            f"{len(account)} / {a_hours:.1f} h (ratio {_fmt_ratio(by_count)} by count, "
            f"{_fmt_ratio(by_hours)} by hours; min {need:g})"
        )
        short = [
            what
            for what, r in (("count", by_count), ("hours", by_hours))
            if r is not None and r < need
        ]
        if not short:
            return Finding("balance", p.id, "pass", seen, "", numbers)
        # Either measure alone can hide a check-the-box year: one long conference
        # against a dozen reviews wins on hours, many short coaching calls against
        # two-day reviews win on count. Collaboration has to match on both.
        return Finding(
            "balance",
            p.id,
            "fail",
            f"{seen}; short by {' and '.join(short)}",
            f"add collaboration (workshops, coaching, exchanges, a strategy session) to "
            f"{_tier_hint(tier)} or thin out its reviews and check-ins "
            "(skip_months_with_accountability on the check-in rule)",
            numbers,
        )

    # -- investment by tier ---------------------------------------------------
    def investment(self, p: PartnerInfo, tier: TierInfo, hours: float, events: int) -> Finding:
        """Judge the partner's tier against every other ranked tier (tier medians)."""
        rung = next((r for r in self.ladder.rungs if r.rank == tier.rank), None)
        numbers: tuple[tuple[str, Number], ...] = (
            ("hours", round(hours, 2)),
            ("events", events),
            ("tier_median_hours", -1 if rung is None else rung.hours),
            ("tier_median_events", -1 if rung is None else rung.events),
        )
        seen = f"{hours:.1f} h, {_plural(events, 'event')} a year; by tier: {self.ladder_text}"
        # The verdict on a pair belongs to the higher tier: it is the one promised
        # more. The lower tier of a flat pair warns, since lightening it is the
        # other way out.
        short = [s for s in self.steps if s.high.rank == tier.rank and s.status != "pass"]
        crowding = [s for s in self.steps if s.low.rank == tier.rank and s.status == "fail"]
        if not short and not crowding:
            return Finding("investment", p.id, "pass", seen, "", numbers)
        problems: list[str] = []
        fixes: list[str] = []
        status: Status = "warn"
        if short:
            status = worst(s.status for s in short)
            lows = sorted(short, key=lambda s: -s.low.rank)
            by_lack: dict[str, list[str]] = defaultdict(list)
            for s in lows:
                by_lack[s.lacking()].append(f"'{s.low.name}'")
            problems.extend(
                f"{_tier_hint(tier)} ranks above {' and '.join(names)} but gets no more "
                f"{lacking} per partner"
                for lacking, names in by_lack.items()
            )
            fixes.append(
                f"give {_tier_hint(tier)} more than "
                + " and ".join(f"'{s.low.name}'" for s in lows)
                + ": "
                + self._richer(tier)
            )
        if crowding:
            highs = " and ".join(f"'{s.high.name}'" for s in crowding)
            problems.append(
                f"{_tier_hint(tier)} gets at least as many hours and events per partner "
                f"as {highs}, which rank{'s' if len(crowding) == 1 else ''} higher"
            )
            fixes.append(
                f"give {highs} more (see {'its' if len(crowding) == 1 else 'their'} "
                f"investment finding) or lighten {_tier_hint(tier)}"
            )
        return Finding(
            "investment",
            p.id,
            status,
            f"{seen}; " + "; ".join(problems),
            "; ".join(fixes),
            numbers,
        )

    def _richer(self, tier: TierInfo) -> str:
        """Which rules a tier could add or extend to invest more in its partners."""
        lacking = [k for k in _ENRICHING if k not in tier.rule_kinds]
        # Extending reviews or check-ins adds hours but not the collaboration a
        # higher tier is promised (and the balance principle would object).
        own = [
            k
            for k in dict.fromkeys(tier.rule_kinds)
            if k not in self.review_kinds
            and (k not in BUILTIN_KINDS or BUILTIN_KINDS[k].purpose == "collaboration")
        ]
        ways = []
        if lacking:
            ways.append("add " + ", ".join(lacking) + " rules")
        if own:
            ways.append(
                "extend its " + ", ".join(own) + " rules (a tighter cadence, a longer duration)"
            )
        return " or ".join(ways) or "add collaboration rules"

    # -- spread ---------------------------------------------------------------
    def spread(self, p: PartnerInfo, tier: TierInfo, events: list[Event]) -> Finding:
        max_silence = tier.max_silence or self.th.default_max_silence
        max_days = max_silence / _DAY
        per_week = self.th.max_events_per_week
        if not events:
            return Finding(
                "spread",
                p.id,
                "fail",
                "no touchpoints at all",
                f"give {_tier_hint(tier)} rules, or check the plan's diagnostics",
                (("events", 0),),
            )
        facts = self.facts
        ordered = sorted(events, key=lambda e: (facts[id(e)][0], e.key))
        days = [facts[id(e)][0] for e in ordered]
        first = days[0]
        longest, gap_from, gap_to = 0, first, first
        reach = facts[id(ordered[0])][1]
        for e, day in zip(ordered[1:], days[1:], strict=True):
            silence = (day - reach).days
            if silence > longest:
                longest, gap_from, gap_to = silence, reach, day
            reach = max(reach, facts[id(e)][1])
        # The year repeats: the silence across its end is real, but the partner
        # also has next year's plan there (and year-end freezes are common), so it
        # only warns, and only when it is twice the allowed silence.
        wrap = (self.plan.year_end - reach).days + (first - self.plan.year_start).days
        weeks: defaultdict[date, int] = defaultdict(int)
        for day in days:
            weeks[day - timedelta(days=day.weekday())] += 1
        piles = sorted((monday, n) for monday, n in weeks.items() if n > per_week)
        busiest = max(weeks.values())
        numbers: tuple[tuple[str, Number], ...] = (
            ("longest_silence_days", longest),
            ("across_year_end_days", wrap),
            ("max_silence_days", max_days),
            ("busiest_week_events", busiest),
            ("max_events_per_week", per_week),
        )
        seen = (
            f"longest silence {_plural(longest, 'day')} (max {format_duration(max_silence)}), "
            f"{_plural(wrap, 'day')} across the year end; busiest week "
            f"{_plural(busiest, 'event')} (max {per_week})"
        )
        problems, fixes = [], []
        status: Status = "pass"
        if longest > max_days:
            # A few days over is a nudge (a holiday or blackout pushed an event);
            # beyond the tolerance the partner really hears nothing for too long.
            over = longest > max_days * (1 + self.th.silence_tolerance)
            status = "fail" if over else "warn"
            problems.append(f"silent from {gap_from} to {gap_to}")
            fixes.append(
                f"add a touchpoint between {gap_from} and {gap_to} (for example a check-in "
                f"rule) or raise max_silence of {_tier_hint(tier)}"
            )
        if piles:
            status = "fail"
            problems.append(
                "pile-up in the week of "
                + ", ".join(f"{monday} ({n})" for monday, n in piles[:3])
                + (f" and {len(piles) - 3} more" if len(piles) > 3 else "")
            )
            fixes.append(
                f"spread those events out (spacing.max_per_week of {_tier_hint(tier)} "
                "or the rules' windows)"
            )
        if status == "pass" and wrap > 2 * max_days:
            status = "warn"
            problems.append(f"silent across the year end ({first} is the first event)")
            fixes.append("plan a touchpoint early in the year or late in the previous one")
        if problems:
            seen = f"{seen}; " + "; ".join(problems)
        return Finding("spread", p.id, status, seen, "; ".join(fixes), numbers)


def _mentions(text: str, topics: Sequence[str]) -> bool:
    lowered = text.casefold()
    return any(t.casefold() in lowered for t in topics if t.strip())
