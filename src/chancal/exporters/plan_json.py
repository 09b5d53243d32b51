"""The whole plan as stable JSON for scripts (`chancal plan --format json`).

Shape (keys sorted, two-space indent, UTF-8 text, dates ISO 8601; the JSON
Schema is `chancal schema --output plan`):

    {
      "format": 1,                        # a new number when a field goes or changes meaning
      "filter": {"partner_id", "manager_id"},   # what --partner/--manager asked for, or null
      "program": {"id", "name", "timezone", "year_start", "year_end"},   # year_end exclusive
      "events": [{
          "key", "uid", "partner_id" (null for shared), "partner_ids", "manager_id",
          "rule_id", "kind", "purpose" ("accountability"|"collaboration"), "title",
          "all_day", "start", "end",      # all-day: "2027-05-18", end exclusive;
                                          # timed: "2027-01-22T15:00:00+01:00"
          "timezone", "mode", "direction", "location", "focus_area", "description",
          "organizer": {"name", "email", "role"} | null, "attendees": [{...}],
          "reminders_minutes": [1440, 30], "status", "sequence"
      }],                                 # sorted by start instant, then key
      "diagnostics": [{"severity", "code", "message", "partner_id", "rule_id", "day"}],
      "partners": [{"id", "name", "tier", "manager_id", "country", "timezone",
                    "focus_areas", "we_share", "they_share"}],
      "managers": [{"id", "name", "email", "timezone", "meetings_per_week",
                    "hours_per_week", "site_visits_per_month"}],
      "tiers": [{"id", "description", "rank", "rule_kinds", "max_silence_days"}],
      "summary": {"events", "errors", "warnings", "infos"}
    }

With a partner or manager filter the document holds what that person's agenda
shows: the events the partner sees (a manager: the events the manager owns or
any of the manager's partners sees), the diagnostics, partners and managers
they concern, and counts of those; the tiers stay whole.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from chancal.plan import Event, Person, Plan

FORMAT = 1
"""The `format` of the document: raised when a field is removed or changes meaning."""


def _when(value: date | datetime) -> str:
    return value.isoformat()


def _person(person: Person) -> dict[str, str]:
    return {"name": person.name, "email": person.email, "role": person.role}


def _event(e: Event) -> dict[str, Any]:
    return {
        "key": e.key,
        "uid": e.uid,
        "partner_id": e.partner_id,
        "partner_ids": list(e.partner_ids),
        "manager_id": e.manager_id,
        "rule_id": e.rule_id,
        "kind": e.kind,
        "purpose": e.purpose,
        "title": e.title,
        "all_day": e.all_day,
        "start": _when(e.start),
        "end": _when(e.end),
        "timezone": e.timezone,
        "mode": e.mode,
        "direction": e.direction,
        "location": e.location,
        "focus_area": e.focus_area,
        "description": e.description,
        "organizer": _person(e.organizer) if e.organizer else None,
        "attendees": [_person(p) for p in e.attendees],
        "reminders_minutes": [int(r.total_seconds() // 60) for r in e.reminders],
        "status": e.status,
        "sequence": e.sequence,
    }


def select(plan: Plan, *, partner_id: str | None = None, manager_id: str | None = None) -> Plan:
    """Narrow the plan to what one partner's and/or one manager's agenda shows."""
    if partner_id is None and manager_id is None:
        return plan
    partners = tuple(
        p
        for p in plan.partners
        if (partner_id is None or p.id == partner_id)
        and (manager_id is None or p.manager_id == manager_id)
    )
    keep = {p.id for p in partners}
    managers = {p.manager_id for p in partners} | ({manager_id} if manager_id else set())
    return replace(
        plan,
        events=plan.agenda(partner_id=partner_id, manager_id=manager_id),
        diagnostics=tuple(d for d in plan.diagnostics if d.partner_id in keep),
        partners=partners,
        managers=tuple(m for m in plan.managers if m.id in managers),
    )


def plan_document(
    plan: Plan, *, partner_id: str | None = None, manager_id: str | None = None
) -> dict[str, Any]:
    """Return the plan, narrowed as `select` does, as JSON-ready values (the documented shape)."""
    plan = select(plan, partner_id=partner_id, manager_id=manager_id)
    severities = [d.severity for d in plan.diagnostics]
    return {
        "format": FORMAT,
        "filter": {"partner_id": partner_id, "manager_id": manager_id},
        "program": {
            "id": plan.program_id,
            "name": plan.program_name,
            "timezone": plan.timezone,
            "year_start": plan.year_start.isoformat(),
            "year_end": plan.year_end.isoformat(),
        },
        "events": [_event(e) for e in plan.events],
        "diagnostics": [
            {
                "severity": d.severity,
                "code": d.code,
                "message": d.message,
                "partner_id": d.partner_id,
                "rule_id": d.rule_id,
                "day": d.day.isoformat() if d.day else None,
            }
            for d in plan.diagnostics
        ],
        "partners": [
            {
                "id": p.id,
                "name": p.name,
                "tier": p.tier,
                "manager_id": p.manager_id,
                "country": p.country,
                "timezone": p.timezone,
                "focus_areas": list(p.focus_areas),
                "we_share": list(p.we_share),
                "they_share": list(p.they_share),
            }
            for p in plan.partners
        ],
        "managers": [
            {
                "id": m.id,
                "name": m.name,
                "email": m.email,
                "timezone": m.timezone,
                "meetings_per_week": m.meetings_per_week,
                "hours_per_week": m.hours_per_week,
                "site_visits_per_month": m.site_visits_per_month,
            }
            for m in plan.managers
        ],
        "tiers": [
            {
                "id": t.id,
                "description": t.description,
                "rank": t.rank,
                "rule_kinds": list(t.rule_kinds),
                "max_silence_days": t.max_silence.days if t.max_silence else None,
            }
            for t in plan.tiers
        ],
        "summary": {
            "events": len(plan.events),
            "errors": severities.count("error"),
            "warnings": severities.count("warning"),
            "infos": severities.count("info"),
        },
    }


def plan_json(plan: Plan, *, partner_id: str | None = None, manager_id: str | None = None) -> str:
    """Serialise the plan (narrowed to a partner or manager if given) as sorted JSON text."""
    document = plan_document(plan, partner_id=partner_id, manager_id=manager_id)
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
