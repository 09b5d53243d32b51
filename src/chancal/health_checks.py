"""The health check's principles, one method each: a partner's year in, one `Finding` out.

Expectations are scaled by tier: a partner is never failed for lacking what
its tier does not promise (site visits), and its tier's investment is judged
against the other tiers' (the ladder of `chancal.health_measures`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING

from chancal.durations import format_duration
from chancal.health_measures import (
    DAY,
    Ladder,
    agenda_items,
    days_apart,
    fmt_ratio,
    local_days,
    mentions,
    monday_of,
    ratio,
    review_name,
    time_zone,
    unplaced_reason,
    words,
)
from chancal.kinds import BUILTIN_KINDS
from chancal.plan import Diagnostic, Event, PartnerInfo, Plan, TierInfo
from chancal.scores import Finding, Number, Status, worst

if TYPE_CHECKING:
    from chancal.models import HealthThresholds

WORKSHOP = "capability_workshop"
COACHING = "coaching_session"
SITE_VISIT = "site_visit"
STRATEGY = "joint_marketing_strategy"
EXCHANGE = "information_exchange"
# Built-in kinds a tier can add to invest more in its partners. Coaching comes
# as a workshop's follow-up and the conference is a shared event, not tier rules.
_ENRICHING: tuple[str, ...] = tuple(
    k.id
    for k in BUILTIN_KINDS.values()
    if k.purpose == "collaboration" and k.id not in (COACHING, "partner_conference")
)


def _tier_hint(tier: TierInfo) -> str:
    return f"tier '{tier.id}'"


def _plural(n: int | float, word: str) -> str:
    return f"{n:g} {word}{'' if n == 1 else 's'}"


class Checker:
    """One method per principle; each returns one Finding."""

    def __init__(
        self,
        plan: Plan,
        thresholds: HealthThresholds,
        strategy_gap: timedelta,
        top_rank: int,
        ladder: Ladder,
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
        self.role_play = words(thresholds.role_play_terms)
        self.review = words(thresholds.review_terms)
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
        gap_days = self.gap / DAY
        if not sessions:
            return Finding(
                "strategy",
                p.id,
                "fail",
                "no joint marketing strategy session",
                self._missing_strategy_fix(p, tier, events),
                (("sessions", 0),),
            )
        zone = time_zone(p.timezone)
        # Weeks are Monday to Sunday on the partner's calendar: the week they live.
        review_weeks = [
            (r, first, monday_of(first), monday_of(last))
            for r in reviews
            for first, last in (local_days(r, zone),)
        ]
        clean = in_review_week = 0
        closest: int | None = None
        problems: list[str] = []
        too_close = review_items = False
        for s in sessions:
            s_first, s_last = local_days(s, zone)
            s_from, s_to = monday_of(s_first), monday_of(s_last)
            same_week = min(
                (
                    (r_day, r.key, r)
                    for r, r_day, r_from, r_to in review_weeks
                    if r_from <= s_to and s_from <= r_to
                ),
                default=None,
            )
            near = min(reviews, key=lambda a: (days_apart(s, a), a.day, a.key), default=None)
            apart = None if near is None else days_apart(s, near)
            if apart is not None and (closest is None or apart < closest):
                closest = apart
            items = [
                item
                for item in (s.title, *agenda_items(s.description))
                if self.review is not None and self.review.search(item)
            ]
            ok = True
            if same_week is not None:
                ok = False
                in_review_week += 1
                r_day, _, r = same_week
                problems.append(
                    f"session on {s_first} is in the week of the {review_name(r, r_day)} on {r_day}"
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
                    + unplaced_reason(found[0])
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
                    mentions(e.description, p.we_share) and mentions(e.description, p.they_share)
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
        by_count = ratio(len(collab), len(account))
        by_hours = ratio(c_hours, a_hours)
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
            f"{len(account)} / {a_hours:.1f} h (ratio {fmt_ratio(by_count)} by count, "
            f"{fmt_ratio(by_hours)} by hours; min {need:g})"
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
        max_days = max_silence / DAY
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
