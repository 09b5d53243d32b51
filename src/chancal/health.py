"""The health check: score each partner's planned year against the principles of a great calendar.

Pure: a `Plan` and the thresholds in, a `HealthReport` (a value of
`chancal.scores`) out. Expectations are scaled by tier through
`TierInfo.rule_kinds` and `TierInfo.rank`: a partner is never failed for
lacking what its tier does not promise (site visits), and its tier's
investment (median hours and events per partner) is compared with the other
tiers'.

JSON shape (`report_json`, stable; keys sorted, lists in plan order; the JSON
Schema is `chancal schema --output check`)::

    {
      "format": 1,          # a new number when a field goes or changes meaning
      "filter": {"partner_id", "manager_id"},   # what --partner/--manager asked for, or null
      "program": {"id": str, "name": str},
      "principles": [{"id": str, "title": str}, ...],
      "summary": {"partners": int, "pass": int, "warn": int, "fail": int, "n/a": int},
      "partners": [{"id", "name", "tier", "manager", "status",
                    "scores": {principle id: status}}, ...],
      "findings": [{"partner", "principle", "status", "seen", "fix",
                    "numbers": {name: number | str}}, ...]
    }

`status` is one of pass, warn, fail, n/a; `findings` holds one entry per
partner and principle, in partner then principle order. A report narrowed by
`select` (to one partner, or a manager's partners) holds and counts only those;
they are still scored against the whole plan (tier medians, shared events).

The checks themselves live in `chancal.health_checks` (one method per
principle) and what they measure in a plan (calendar days, agenda wording,
ratios, the tiers' median investment) in `chancal.health_measures`; this
module runs them over a plan and shapes the report.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from chancal.health_checks import Checker
from chancal.health_measures import Ladder, last_day
from chancal.plan import Event, Plan, TierInfo
from chancal.scores import PRINCIPLE_TITLES, PRINCIPLES, HealthReport, PartnerScore

if TYPE_CHECKING:
    from chancal.models import HealthThresholds

FORMAT = 1
"""The `format` of the JSON report: raised when a field is removed or changes meaning."""


def check_health(
    plan: Plan, thresholds: HealthThresholds, *, strategy_gap: timedelta
) -> HealthReport:
    """Score every partner of `plan` against every principle."""
    by_partner = _events_by_partner(plan)
    tiers = {t.id: t for t in plan.tiers}
    # Day, last day and hours of each event, computed once: shared events are
    # seen by thousands of partners, and the properties are not free.
    facts = {id(e): (e.day, last_day(e), e.hours) for e in plan.events}
    hours = {p.id: sum(facts[id(e)][2] for e in by_partner[p.id]) for p in plan.partners}
    counts = {p.id: len(by_partner[p.id]) for p in plan.partners}
    ladder = Ladder.build(plan.partners, tiers, hours, counts)
    top_rank = max((t.rank for t in plan.tiers), default=0)
    checker = Checker(plan, thresholds, strategy_gap, top_rank, ladder, facts)
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


def select(
    report: HealthReport, *, partner_id: str | None = None, manager_id: str | None = None
) -> HealthReport:
    """Narrow the report to one partner and/or the partners of one manager."""
    return replace(
        report,
        partners=tuple(
            s
            for s in report.partners
            if (partner_id is None or s.partner.id == partner_id)
            and (manager_id is None or s.partner.manager_id == manager_id)
        ),
    )


def report_dict(
    report: HealthReport, *, partner_id: str | None = None, manager_id: str | None = None
) -> dict[str, object]:
    """Return the report as plain JSON-ready data (see the module docstring for the shape).

    `partner_id` and `manager_id` only record the filter the report was narrowed by.
    """
    summary: dict[str, int] = {"partners": len(report.partners)}
    for status, n in report.counts().items():
        summary[status] = n
    return {
        "format": FORMAT,
        "filter": {"partner_id": partner_id, "manager_id": manager_id},
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


def report_json(
    report: HealthReport, *, partner_id: str | None = None, manager_id: str | None = None
) -> str:
    """Return the report, narrowed to a partner or manager if given, as deterministic JSON."""
    narrowed = select(report, partner_id=partner_id, manager_id=manager_id)
    document = report_dict(narrowed, partner_id=partner_id, manager_id=manager_id)
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _events_by_partner(plan: Plan) -> defaultdict[str, list[Event]]:
    by_partner: defaultdict[str, list[Event]] = defaultdict(list)
    for event in plan.events:
        if event.status == "CANCELLED":
            continue
        seen = event.viewers
        for partner_id in dict.fromkeys(seen):
            by_partner[partner_id].append(event)
    return by_partner
