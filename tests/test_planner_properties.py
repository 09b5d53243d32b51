"""Invariants of make_plan over generated small programs (hypothesis)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chancal.models import WEEKDAYS, Config
from chancal.plan import AllDay, Event, Plan, Timed
from chancal.planner import make_plan
from chancal.planner.rules import tier_rules

PLACES = (
    ("US", "America/Chicago", None),
    ("DE", "Europe/Berlin", None),
    ("IL", "Asia/Jerusalem", ["sun", "mon", "tue", "wed", "thu"]),
    ("JP", "Asia/Tokyo", None),
    ("AU", "Australia/Sydney", None),
    ("GB", "Europe/London", None),
    ("BR", "America/Sao_Paulo", None),
)
MANAGERS = (("US", "America/New_York"), ("FR", "Europe/Paris"), ("SG", "Asia/Singapore"))
RULES: tuple[dict[str, Any], ...] = (
    {
        "id": "review",
        "kind": "quarterly_business_review",
        "cadence": "quarterly",
        "window": {"after": "quarter_end", "from": "2w", "to": "4w"},
    },
    {
        "id": "annual",
        "kind": "annual_review",
        "cadence": "annual",
        "window": {"before": "year_end", "from": "0d", "to": "6w"},
    },
    {"id": "check-in", "kind": "monthly_check_in", "cadence": "monthly"},
    {
        "id": "workshop",
        "kind": "capability_workshop",
        "cadence": "per_focus_area",
        "follow_ups": [{"kind": "coaching_session", "after": ["2w", "5w"]}],
    },
    {
        "id": "strategy",
        "kind": "joint_marketing_strategy",
        "cadence": "once",
        "window": {"in": ["Q2"]},
    },
    {"id": "exchange", "kind": "information_exchange", "cadence": "3 per year"},
    {
        "id": "them",
        "kind": "site_visit",
        "direction": "to_partner",
        "cadence": "once",
        "duration": "2d",
    },
    {"id": "us", "kind": "site_visit", "direction": "to_us", "cadence": "once", "duration": "2d"},
    {"id": "fixed", "kind": "product_training", "dates": ["2027-07-05", "2027-12-24"]},
    {"id": "biweekly", "kind": "coaching_session", "cadence": "every 2 weeks"},
)


@st.composite
def programs(draw: st.DrawFn) -> Config:
    """A small valid program: 1-2 managers, 1-4 partners, a random subset of rules."""
    n_managers = draw(st.integers(1, 2))
    managers = []
    for i in range(n_managers):
        country, tz = draw(st.sampled_from(MANAGERS))
        managers.append(
            {
                "id": f"m{i}",
                "name": f"Manager {i}",
                "email": f"m{i}@example.com",
                "timezone": tz,
                "country": country,
                "capacity": {
                    "meetings_per_week": draw(st.integers(1, 6)),
                    "hours_per_week": draw(st.sampled_from([3, 8, 16])),
                },
                "travel": {"site_visits_per_month": draw(st.integers(0, 2))},
            }
        )
    rules = draw(
        st.lists(st.sampled_from(RULES), min_size=1, max_size=5, unique_by=lambda r: r["id"])
    )
    partners = []
    for i in range(draw(st.integers(1, 4))):
        country, tz, days = draw(st.sampled_from(PLACES))
        entry: dict[str, Any] = {
            "id": f"p{i}",
            "name": f"Partner [{i}]",
            "tier": "t",
            "manager": f"m{draw(st.integers(0, n_managers - 1))}",
            "country": country,
            "timezone": tz,
            "focus_areas": draw(st.sampled_from([[], ["selling"], ["selling", "cloud"]])),
        }
        if days:
            entry["working_days"] = days
        if draw(st.booleans()):
            start = date(2027, 1, 1) + timedelta(days=draw(st.integers(0, 350)))
            entry["blackouts"] = [
                {
                    "start": start,
                    "end": start + timedelta(days=draw(st.integers(0, 40))),
                    "reason": "x",
                }
            ]
            entry["blackouts"][0]["end"] = min(entry["blackouts"][0]["end"], date(2027, 12, 31))
        partners.append(entry)
    return Config.model_validate(
        {
            "version": 1,
            "program": {
                "name": "Generated",
                "year": 2027,
                "fiscal_year_start": draw(st.sampled_from(["01-01", "04-01"])),
                "timezone": "America/New_York",
                "country": "US",
                "spacing": {
                    "max_per_week": draw(st.integers(1, 2)),
                    "min_days_between": draw(st.integers(0, 4)),
                },
                "blackouts": [{"start": "2027-12-20", "end": "2027-12-31", "reason": "freeze"}],
            },
            "managers": managers,
            "tiers": [{"id": "t", "rules": rules}],
            "partners": partners,
        }
    )


SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _people(config: Config) -> dict[str, tuple[Any, Any]]:
    managers = {m.id: m for m in config.managers}
    return {p.id: (p, managers[p.manager]) for p in config.partners}


def _days(event: Event) -> list[date]:
    match event.span:
        case AllDay(start, end):
            return [start + timedelta(days=i) for i in range((end - start).days)]
        case Timed():
            return [event.day]


@SETTINGS
@given(programs())
def test_no_event_on_a_forbidden_day(config: Config) -> None:
    """No partner event lands on a non-working day, holiday or blackout of either side."""
    plan = make_plan(config)
    program = config.program
    for event in plan.events:
        if event.partner_id is None:
            continue
        partner, manager = _people(config)[event.partner_id]
        for day in _days(event):
            weekday = WEEKDAYS[day.weekday()]
            assert weekday in (partner.working_days or program.working_days)
            assert weekday in (manager.working_days or program.working_days)
            assert day not in holidays.country_holidays(partner.country, years=day.year)
            assert day not in holidays.country_holidays(manager.country, years=day.year)
            for b in (*program.blackouts, *manager.blackouts, *partner.blackouts):
                assert not b.start <= day <= b.last


def _instant(day: date, at: time, zone: str) -> datetime:
    return datetime.combine(day, at, ZoneInfo(zone))


@SETTINGS
@given(programs())
def test_capacity_never_exceeded(config: Config) -> None:
    """Weekly meetings and hours, and monthly travel, stay within each manager's limits."""
    plan = make_plan(config)
    limits = {m.id: m for m in plan.managers}
    meetings: dict[tuple[str, int], int] = defaultdict(int)
    hours: dict[tuple[str, int], float] = defaultdict(float)
    alone: dict[tuple[str, int], list[Event]] = defaultdict(list)
    travel: dict[tuple[str, int, int], int] = defaultdict(int)
    for event in plan.events:
        if event.manager_id is None:
            continue
        m = event.manager_id
        if event.all_day:
            for day in _days(event):
                week = (day.toordinal() - 1) // 7
                hours[m, week] += 8
                alone[m, week].append(event)
            if event.kind == "site_visit" and event.direction == "to_partner":
                travel[m, event.day.year, event.day.month] += 1
        else:
            week = (event.day.toordinal() - 1) // 7
            meetings[m, week] += 1
            hours[m, week] += event.hours
            alone[m, week].append(event)
    for (m, _), n in meetings.items():
        assert n <= limits[m].meetings_per_week
    for key, h in hours.items():
        # A visit longer than the whole weekly budget may take a week on its own.
        assert h <= limits[key[0]].hours_per_week + 1e-9 or len(set(alone[key])) == 1
    for (m, _, _), n in travel.items():
        assert n <= limits[m].site_visits_per_month


@SETTINGS
@given(programs())
def test_every_rule_gives_events_or_a_diagnostic(config: Config) -> None:
    """Each partner's rule either has events or a diagnostic naming it; same input, same plan."""
    plan = make_plan(config)
    seen = {(e.partner_id, e.rule_id) for e in plan.events}
    seen |= {(d.partner_id, d.rule_id) for d in plan.diagnostics}
    tiers = {t.id: t for t in config.tiers}
    for partner in config.partners:
        for rule in tier_rules(partner.tier, tiers):
            assert (partner.id, rule.id) in seen
    assert make_plan(config) == plan


def _pinned(plan: Plan) -> dict[str, date | datetime]:
    return {e.key: e.start for e in plan.events if e.partner_id is not None}


@SETTINGS
@given(programs())
def test_pins_of_the_plan_itself_change_nothing(config: Config) -> None:
    """Planning with the plan's own starts as pins gives back the same events and no 'moved'."""
    plan = make_plan(config)
    again = make_plan(config, pins=_pinned(plan))
    assert again.events == plan.events
    assert "moved" not in {d.code for d in again.diagnostics}
