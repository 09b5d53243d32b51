"""The health check on hand-built plans: each principle passes, warns and fails as documented."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chancal.health import check_health, report_json
from chancal.kinds import BUILTIN_KINDS
from chancal.models import HealthThresholds
from chancal.plan import (
    AllDay,
    Diagnostic,
    Event,
    ManagerInfo,
    PartnerInfo,
    Plan,
    Span,
    TierInfo,
    Timed,
)
from chancal.scores import PRINCIPLES

TZ = "Europe/Berlin"
GAP = timedelta(days=21)
EXCHANGE_TEXT = "Information exchange\nWe share: roadmap\nAcme shares: pipeline"
STRATEGY_TEXT = (
    "Joint marketing strategy session\nNot a review: no targets, no scorecards.\n"
    "- Where the market is heading\n- Targeted segments and campaigns we could run together"
)
WORKSHOP_TEXT = "Capability workshop\n- Role-play: practise negotiation with feedback"


def ev(
    partner: str,
    kind: str,
    day: str,
    *,
    hours: float = 1.0,
    days: int = 0,
    key: str | None = None,
    focus: str | None = None,
    description: str = "",
    direction: str | None = None,
    partner_ids: tuple[str, ...] = (),
) -> Event:
    """Build one event; `days` > 0 makes it all-day."""
    d = date.fromisoformat(day)
    span: Span
    if days:
        span = AllDay(d, d + timedelta(days=days))
    else:
        start = datetime(d.year, d.month, d.day, 10, tzinfo=ZoneInfo(TZ))
        span = Timed(start, start + timedelta(hours=hours))
    key = key or f"{partner}/{kind}/{day}"
    return Event(
        key=key,
        uid=f"{key}@test",
        partner_id=None if partner_ids else partner,
        manager_id="sam",
        rule_id=kind,
        kind=kind,
        purpose=BUILTIN_KINDS[kind].purpose,
        title=BUILTIN_KINDS[kind].title,
        span=span,
        timezone=TZ,
        mode="virtual",
        description=description,
        focus_area=focus,
        partner_ids=partner_ids,
        direction=direction,  # type: ignore[arg-type]
    )


ACME_EVENTS = (
    ev("acme", "quarterly_business_review", "2027-01-25", hours=2),
    ev("acme", "capability_workshop", "2027-02-15", hours=3, key="acme/workshop/negotiation",
       focus="negotiation", description=WORKSHOP_TEXT),
    ev("acme", "coaching_session", "2027-03-08", key="acme/workshop/negotiation/coaching-1",
       focus="negotiation"),
    ev("acme", "information_exchange", "2027-03-29", hours=1.5, description=EXCHANGE_TEXT),
    ev("acme", "quarterly_business_review", "2027-04-19", hours=2),
    ev("acme", "joint_marketing_strategy", "2027-05-31", hours=3, description=STRATEGY_TEXT),
    ev("acme", "site_visit", "2027-06-21", days=2, direction="to_partner"),
    ev("acme", "quarterly_business_review", "2027-07-19", hours=2),
    ev("acme", "product_training", "2027-08-23", hours=2),
    ev("acme", "information_exchange", "2027-09-13", hours=1.5, description=EXCHANGE_TEXT),
    ev("acme", "quarterly_business_review", "2027-10-18", hours=2),
    ev("acme", "site_visit", "2027-11-08", days=2, direction="to_us"),
    ev("acme", "annual_review", "2027-12-06", hours=3),
)  # fmt: skip
MINI_EVENTS = (
    ev("mini", "capability_workshop", "2027-02-01", hours=3, key="mini/workshop/renewals",
       focus="renewals", description=WORKSHOP_TEXT),
    ev("mini", "coaching_session", "2027-02-22", key="mini/workshop/renewals/coaching-1"),
    ev("mini", "information_exchange", "2027-03-15", hours=1.5, description=EXCHANGE_TEXT),
    ev("mini", "quarterly_business_review", "2027-06-14", hours=2),
    ev("mini", "joint_marketing_strategy", "2027-09-06", hours=3, description=STRATEGY_TEXT),
    ev("mini", "information_exchange", "2027-10-04", hours=1.5, description=EXCHANGE_TEXT),
    ev("mini", "annual_review", "2027-11-29", hours=3),
)  # fmt: skip
ACME = PartnerInfo(
    "acme", "Acme", "top", "sam", "DE", TZ, ("negotiation",), ("roadmap",), ("pipeline",)
)
MINI = PartnerInfo(
    "mini", "Mini", "small", "sam", "DE", TZ, ("renewals",), ("roadmap",), ("pipeline",)
)
TOP = TierInfo(
    "top",
    "",
    2,
    (
        "quarterly_business_review",
        "capability_workshop",
        "joint_marketing_strategy",
        "information_exchange",
        "site_visit",
        "site_visit",
        "product_training",
        "annual_review",
    ),
)
SMALL = TierInfo(
    "small",
    "",
    1,
    ("quarterly_business_review", "capability_workshop", "joint_marketing_strategy"),
    max_silence=timedelta(weeks=20),
)


def make_plan(
    events: tuple[Event, ...] = ACME_EVENTS + MINI_EVENTS,
    partners: tuple[PartnerInfo, ...] = (ACME, MINI),
    tiers: tuple[TierInfo, ...] = (TOP, SMALL),
) -> Plan:
    return Plan(
        program_id="test",
        program_name="Test",
        timezone=TZ,
        year_start=date(2027, 1, 1),
        year_end=date(2028, 1, 1),
        events=tuple(sorted(events, key=lambda e: (e.day, e.key))),
        partners=partners,
        managers=(ManagerInfo("sam", "Sam", "sam@example.com", TZ, 12, 16.0, 2),),
        tiers=tiers,
    )


def statuses(plan: Plan, thresholds: HealthThresholds | None = None) -> dict[str, dict[str, str]]:
    report = check_health(plan, thresholds or HealthThresholds(), strategy_gap=GAP)
    return {s.partner.id: {f.principle: f.status for f in s.findings} for s in report.partners}


def without(events: tuple[Event, ...], key: str) -> tuple[Event, ...]:
    kept = tuple(e for e in events if e.key != key)
    assert len(kept) == len(events) - 1, key
    return kept


def swap(events: tuple[Event, ...], key: str, new: Event) -> tuple[Event, ...]:
    return (*without(events, key), new)


ALL_PASS = dict.fromkeys(PRINCIPLES, "pass")
MINI_OK = {**ALL_PASS, "site_visits": "n/a"}


def test_healthy_plan_passes_every_principle() -> None:
    """A calendar with targeted workshops, visits, a clean strategy session and exchanges passes."""
    assert statuses(make_plan()) == {"acme": ALL_PASS, "mini": MINI_OK}


Mutation = Callable[[], tuple[Plan, HealthThresholds]]


def _plan(**kwargs: object) -> Mutation:
    return lambda: (make_plan(**kwargs), HealthThresholds())  # type: ignore[arg-type]


CASES: list[tuple[str, Mutation, str, str]] = [
    # (scenario, plan, principle that must not pass for acme, its status)
    ("no focus areas", _plan(partners=(replace(ACME, focus_areas=()), MINI)), "capability", "warn"),
    (
        "workshop without role-play",
        _plan(events=swap(ACME_EVENTS, "acme/workshop/negotiation",
                          replace(ACME_EVENTS[1], description="Classroom slides")) + MINI_EVENTS),
        "capability",
        "fail",
    ),
    (
        "no coaching follow-up",
        _plan(events=without(ACME_EVENTS, "acme/workshop/negotiation/coaching-1") + MINI_EVENTS),
        "capability",
        "fail",
    ),
    (
        "focus area without workshop",
        _plan(partners=(replace(ACME, focus_areas=("negotiation", "pricing")), MINI)),
        "capability",
        "fail",
    ),
    (
        "visit only one way",
        _plan(events=without(ACME_EVENTS, "acme/site_visit/2027-11-08") + MINI_EVENTS),
        "site_visits",
        "fail",
    ),
    (
        "strategy 9 days after a review",
        _plan(events=swap(ACME_EVENTS, "acme/joint_marketing_strategy/2027-05-31",
                          ev("acme", "joint_marketing_strategy", "2027-04-28", hours=3,
                             description=STRATEGY_TEXT)) + MINI_EVENTS),
        "strategy",
        "fail",
    ),
    (
        "strategy agenda with review items",
        _plan(events=swap(ACME_EVENTS, "acme/joint_marketing_strategy/2027-05-31",
                          replace(ACME_EVENTS[5], description="- Review of Q1 targets\n- Ideas"))
              + MINI_EVENTS),
        "strategy",
        "fail",
    ),
    (
        "no strategy session",
        _plan(events=swap(ACME_EVENTS, "acme/joint_marketing_strategy/2027-05-31",
                          ev("acme", "product_training", "2027-05-31", hours=3)) + MINI_EVENTS),
        "strategy",
        "fail",
    ),
    (
        "exchange without their topics",
        _plan(events=swap(ACME_EVENTS, "acme/information_exchange/2027-09-13",
                          replace(ACME_EVENTS[9], description="We share: roadmap")) + MINI_EVENTS),
        "sharing",
        "fail",
    ),
    (
        "no exchange points",
        _plan(events=without(without(ACME_EVENTS, "acme/information_exchange/2027-03-29"),
                             "acme/information_exchange/2027-09-13") + MINI_EVENTS),
        "sharing",
        "fail",
    ),
    (
        "no topics agreed for them: one-way",
        _plan(partners=(replace(ACME, they_share=()), MINI)),
        "sharing",
        "fail",
    ),
    (
        "no topics agreed on either side yet",
        _plan(partners=(replace(ACME, we_share=(), they_share=()), MINI)),
        "sharing",
        "warn",
    ),
    (
        "collaboration ratio met by hours, not by count",
        lambda: (make_plan(), HealthThresholds(min_collaboration_ratio=2.0)),
        "balance",
        "fail",
    ),
    (
        "two-day reviews outweigh collaboration by hours",
        _plan(events=tuple(
            replace(e, span=AllDay(e.day, e.day + timedelta(days=2)))
            if e.kind == "quarterly_business_review" else e
            for e in ACME_EVENTS
        ) + MINI_EVENTS),
        "balance",
        "fail",
    ),
    (
        "silence longer than the tier allows",
        _plan(tiers=(replace(TOP, max_silence=timedelta(weeks=4)), SMALL)),
        "spread",
        "fail",
    ),
    (
        "three events in one week",
        _plan(events=ACME_EVENTS + MINI_EVENTS + (
            ev("acme", "monthly_check_in", "2027-01-26", hours=0.5),
            ev("acme", "monthly_check_in", "2027-01-28", hours=0.5),
        )),
        "spread",
        "fail",
    ),
    (
        "silence a few days over the tier's max",
        _plan(tiers=(replace(TOP, max_silence=timedelta(weeks=5)), SMALL)),
        "spread",
        "warn",
    ),
    (
        "highest tier promises no site visits",
        _plan(
            events=tuple(e for e in ACME_EVENTS if e.kind != "site_visit") + MINI_EVENTS,
            tiers=(replace(TOP, rule_kinds=TOP.rule_kinds[:4]), SMALL),
        ),
        "site_visits",
        "warn",
    ),
    (
        "collaboration ratio threshold raised",
        lambda: (make_plan(), HealthThresholds(min_collaboration_ratio=5.0)),
        "balance",
        "fail",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("principle", "status", "mutation"),
    [pytest.param(p, s, m, id=name) for name, m, p, s in CASES],
)
def test_each_check_the_box_change_fails_exactly_its_principle(
    principle: str, status: str, mutation: Mutation
) -> None:
    """One deliberate flaw changes exactly one principle of the affected partner."""
    plan, thresholds = mutation()
    got = statuses(plan, thresholds)["acme"]
    assert got == {**ALL_PASS, principle: status}


def test_investment_out_of_tier_order_fails_the_under_invested_partner() -> None:
    """A higher-ranked partner with fewer hours fails; the lower one with more hours warns."""
    plan = make_plan(tiers=(replace(TOP, rank=0), SMALL))
    got = statuses(plan)
    assert got["mini"]["investment"] == "fail"
    assert got["acme"]["investment"] == "warn"
    assert got["acme"]["site_visits"] == "pass"


def test_shared_event_counts_for_every_invited_partner() -> None:
    """A conference with partner_ids counts as collaboration for each invited partner."""
    conference = ev(
        "acme", "partner_conference", "2027-05-18", days=3, partner_ids=("acme", "mini")
    )
    heavy = tuple(
        ev("mini", "monthly_check_in", f"2027-{m:02}-0{3 + m % 4}", hours=0.5) for m in (1, 4, 7)
    )
    plain = check_health(
        make_plan(events=ACME_EVENTS + MINI_EVENTS + heavy), HealthThresholds(), strategy_gap=GAP
    )
    shared = check_health(
        make_plan(events=ACME_EVENTS + MINI_EVENTS + heavy + (conference,)),
        HealthThresholds(),
        strategy_gap=GAP,
    )
    nums = [dict(r.partners[1].finding("balance").numbers) for r in (plain, shared)]
    assert nums[1]["collaboration_events"] == nums[0]["collaboration_events"] + 1
    assert nums[1]["collaboration_hours"] == nums[0]["collaboration_hours"] + 24


def test_long_silence_across_the_year_end_only_warns() -> None:
    """Touchpoints only from April to September: fine inside, but a warning across the year end."""
    events = tuple(e for e in ACME_EVENTS if "2027-04-01" <= e.day.isoformat() <= "2027-09-30")
    report = check_health(
        make_plan(events=events + MINI_EVENTS), HealthThresholds(), strategy_gap=GAP
    )
    finding = report.partners[0].finding("spread")
    assert finding.status == "warn"
    assert dict(finding.numbers)["across_year_end_days"] == 218
    assert "silent across the year end" in finding.seen


def test_cancelled_events_do_not_count() -> None:
    """A cancelled visit is not a visit."""
    events = tuple(
        replace(e, status="CANCELLED") if e.key == "acme/site_visit/2027-11-08" else e
        for e in ACME_EVENTS
    )
    assert statuses(make_plan(events=events + MINI_EVENTS))["acme"]["site_visits"] == "fail"


def test_coaching_without_focus_area_is_matched_by_its_workshop_key() -> None:
    """A follow-up keyed under its workshop counts for the workshop's focus area."""
    assert statuses(make_plan())["mini"]["capability"] == "pass"


@pytest.mark.parametrize(
    ("agenda", "flagged"),
    [
        ("Not a review: no targets, no scorecards.\n- Ideas worth trying", False),
        ("- Targeted campaigns for new segments", False),
        ("- Q2 targets and the scorecard", True),
        ("- Performance against quota", True),
        ("Review of the pipeline", True),
        ("Free discussion of the market", False),
    ],
)
def test_strategy_agenda_items_judged_by_whole_review_words(agenda: str, flagged: bool) -> None:
    """Only agenda items with review words (whole words, plurals) make the session an evaluation."""
    events = swap(
        ACME_EVENTS,
        "acme/joint_marketing_strategy/2027-05-31",
        replace(ACME_EVENTS[5], description=agenda),
    )
    got = statuses(make_plan(events=events + MINI_EVENTS))["acme"]["strategy"]
    assert got == ("fail" if flagged else "pass")


def test_strategy_session_in_the_week_of_a_review_fails() -> None:
    """A session three days after a review passes the gap but not the week: it fails, naming it."""
    events = (
        *without(without(ACME_EVENTS, "acme/quarterly_business_review/2027-04-19"),
                 "acme/joint_marketing_strategy/2027-05-31"),
        ev("acme", "quarterly_business_review", "2027-05-04", hours=2),
        ev("acme", "joint_marketing_strategy", "2027-05-07", hours=3, description=STRATEGY_TEXT),
    )  # fmt: skip
    report = check_health(
        make_plan(events=events + MINI_EVENTS), HealthThresholds(), strategy_gap=timedelta(days=2)
    )
    finding = report.partners[0].finding("strategy")
    assert finding.status == "fail"
    assert "session on 2027-05-07 is in the week of the Q2 review on 2027-05-04" in finding.seen
    assert dict(finding.numbers)["in_review_week"] == 1
    assert "out of the review's week" in finding.fix


@pytest.mark.parametrize(
    ("timezone", "status"), [("Europe/Berlin", "pass"), ("Asia/Tokyo", "fail")]
)
def test_review_week_is_the_partners_own_monday_based_week(timezone: str, status: str) -> None:
    """A Sunday-evening session in Berlin is Monday morning in Tokyo, the week of the review."""
    sunday_evening = datetime(2027, 5, 9, 20, tzinfo=ZoneInfo(TZ))
    session = replace(
        ev("acme", "joint_marketing_strategy", "2027-05-09", description=STRATEGY_TEXT),
        span=Timed(sunday_evening, sunday_evening + timedelta(hours=3)),
    )
    events = (
        *without(ACME_EVENTS, "acme/joint_marketing_strategy/2027-05-31"),
        ev("acme", "quarterly_business_review", "2027-05-10", hours=2),
        session,
    )
    plan = make_plan(events=events + MINI_EVENTS, partners=(replace(ACME, timezone=timezone), MINI))
    report = check_health(plan, HealthThresholds(), strategy_gap=timedelta(0))
    assert report.partners[0].finding("strategy").status == status


def test_strategy_session_beside_a_check_in_passes() -> None:
    """A check-in the next day is not an evaluation: the session keeps apart from reviews only."""
    events = (*ACME_EVENTS, ev("acme", "monthly_check_in", "2027-06-01", hours=0.5))
    report = check_health(
        make_plan(events=events + MINI_EVENTS), HealthThresholds(), strategy_gap=GAP
    )
    finding = report.partners[0].finding("strategy")
    assert finding.status == "pass"
    assert "closest review 42 days away" in finding.seen


UNPLACED = (
    "Acme (acme): rule '{rule}' could not place 'acme/{rule}/2027' in 2027-04-01 to "
    "2027-06-30 or its period: the gap from accountability events"
)


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param("strategy", id="rule named after the strategy"),
        pytest.param("q2-session", id="the partner's only rule that placed nothing"),
    ],
)
def test_unplaced_strategy_session_is_reported_with_the_planners_reason(rule: str) -> None:
    """A promised but unplaced session says why it could not be placed, not to add a rule."""
    events = without(ACME_EVENTS, "acme/joint_marketing_strategy/2027-05-31") + MINI_EVENTS
    diagnostics = (
        # A rule that did place events for Acme is not the strategy rule.
        Diagnostic("error", "unplaced", "Acme: coaching did not fit", "acme", "coaching_session"),
        Diagnostic("error", "unplaced", UNPLACED.format(rule=rule), "acme", rule),
        Diagnostic("error", "unplaced", "Mini: not Acme's", "mini", "strategy"),
    )
    plan = replace(make_plan(events=events), diagnostics=diagnostics)
    finding = (
        check_health(plan, HealthThresholds(), strategy_gap=GAP).partners[0].finding("strategy")
    )
    assert finding.status == "fail"
    assert finding.fix == (
        "the joint marketing strategy session could not be placed: the gap from accountability "
        "events (in 2027-04-01 to 2027-06-30 or its period)"
    )


def test_promised_strategy_session_missing_without_a_diagnostic_does_not_ask_for_the_rule() -> None:
    """The tier has the rule, so the fix points at it and the diagnostics, not 'add a rule'."""
    events = without(ACME_EVENTS, "acme/joint_marketing_strategy/2027-05-31") + MINI_EVENTS
    finding = (
        check_health(make_plan(events=events), HealthThresholds(), strategy_gap=GAP)
        .partners[0]
        .finding("strategy")
    )
    assert finding.status == "fail"
    assert not finding.fix.startswith("add")
    assert "tier 'top' has a joint_marketing_strategy rule" in finding.fix


def test_balance_fails_when_short_by_hours_only() -> None:
    """Two-day reviews outweigh collaboration by hours: that alone fails, and both ratios show."""
    events = tuple(
        replace(e, span=AllDay(e.day, e.day + timedelta(days=2)))
        if e.kind == "quarterly_business_review"
        else e
        for e in ACME_EVENTS
    )
    report = check_health(
        make_plan(events=events + MINI_EVENTS), HealthThresholds(), strategy_gap=GAP
    )
    finding = report.partners[0].finding("balance")
    assert finding.status == "fail"
    assert "(ratio 1.60 by count, 0.66 by hours; min 1)" in finding.seen
    assert finding.seen.endswith("short by hours")


def test_review_only_calendar_fails_balance_though_a_conference_wins_on_hours() -> None:
    """Reviews and check-ins plus one shared conference: 0.12 by count fails, whatever the hours."""
    reviews = tuple(
        ev("mini", kind, day, hours=2 if kind != "monthly_check_in" else 0.5)
        for kind, day in [
            ("quarterly_business_review", "2027-01-18"),
            ("monthly_check_in", "2027-02-15"),
            ("quarterly_business_review", "2027-04-19"),
            ("monthly_check_in", "2027-05-17"),
            ("quarterly_business_review", "2027-07-19"),
            ("monthly_check_in", "2027-08-16"),
            ("quarterly_business_review", "2027-10-18"),
            ("monthly_check_in", "2027-11-15"),
        ]
    )
    conference = ev("mini", "partner_conference", "2027-06-08", days=3, partner_ids=("mini",))
    plan = make_plan(events=ACME_EVENTS + reviews + (conference,))
    finding = (
        check_health(plan, HealthThresholds(), strategy_gap=GAP).partners[1].finding("balance")
    )
    assert finding.status == "fail"
    assert "(ratio 0.12 by count, 2.40 by hours; min 1)" in finding.seen
    assert finding.seen.endswith("short by count")


STRATEGIC = TierInfo("strategic", "", 3, ("capability_workshop", "site_visit"))
GROWTH = TierInfo("growth", "", 2, ("capability_workshop",))
TRANSACTIONAL = TierInfo("transactional", "", 1, ("quarterly_business_review",))


def tier_plan(calendars: dict[str, tuple[int, float]]) -> Plan:
    """One partner per tier above; `calendars` gives each tier's events and hours per event."""
    partners, events = [], []
    for tier, (n, hours) in calendars.items():
        partners.append(PartnerInfo(tier, tier.title(), tier, "sam", "DE", TZ))
        events += [
            ev(tier, "product_training", f"2027-{m:02}-{10 + m:02}", hours=hours)
            for m in range(1, n + 1)
        ]
    return make_plan(
        events=tuple(events), partners=tuple(partners), tiers=(STRATEGIC, GROWTH, TRANSACTIONAL)
    )


@pytest.mark.parametrize(
    ("calendars", "expected", "ladder"),
    [
        pytest.param(
            {"strategic": (12, 5.5), "growth": (12, 5.5), "transactional": (12, 5.5)},
            {"strategic": "fail", "growth": "fail", "transactional": "warn"},
            "transactional 66.0 h = growth 66.0 h = strategic 66.0 h "
            "(median hours per partner; events 12 = 12 = 12)",
            id="flat tiers",
        ),
        pytest.param(
            {"strategic": (4, 2.0), "growth": (8, 2.0), "transactional": (12, 2.0)},
            {"strategic": "fail", "growth": "fail", "transactional": "warn"},
            "transactional 24.0 h > growth 16.0 h > strategic 8.0 h "
            "(median hours per partner; events 12 > 8 > 4)",
            id="reversed tiers",
        ),
        pytest.param(
            {"strategic": (12, 2.0), "growth": (8, 2.0), "transactional": (4, 2.0)},
            {"strategic": "pass", "growth": "pass", "transactional": "pass"},
            "transactional 8.0 h < growth 16.0 h < strategic 24.0 h "
            "(median hours per partner; events 4 < 8 < 12)",
            id="rising tiers",
        ),
        pytest.param(
            {"strategic": (6, 4.0), "growth": (6, 3.0), "transactional": (6, 2.0)},
            {"strategic": "warn", "growth": "warn", "transactional": "pass"},
            "transactional 12.0 h < growth 18.0 h < strategic 24.0 h "
            "(median hours per partner; events 6 = 6 = 6)",
            id="more hours but no more events",
        ),
    ],
)
def test_investment_judges_each_pair_of_tiers_by_median_hours_and_events(
    calendars: dict[str, tuple[int, float]], expected: dict[str, str], ladder: str
) -> None:
    """Above in both measures passes, in one warns, in neither fails; relations print true."""
    report = check_health(tier_plan(calendars), HealthThresholds(), strategy_gap=GAP)
    findings = {s.partner.id: s.finding("investment") for s in report.partners}
    assert {k: f.status for k, f in findings.items()} == expected
    assert all(f.seen.endswith(ladder) or f"{ladder};" in f.seen for f in findings.values())


def test_flat_tiers_fail_the_higher_tier_with_a_fix_naming_rules_to_add_or_extend() -> None:
    """The strategic tier gets no more than growth: its fix says which rules would give it more."""
    flat = {"strategic": (12, 5.5), "growth": (12, 5.5), "transactional": (12, 5.5)}
    report = check_health(tier_plan(flat), HealthThresholds(), strategy_gap=GAP)
    finding = report.partners[0].finding("investment")
    assert finding.partner_id == "strategic"
    assert (
        "tier 'strategic' ranks above 'growth' and 'transactional' but gets no more hours or "
        "events per partner"
    ) in finding.seen
    assert finding.fix.startswith("give tier 'strategic' more than 'growth' and 'transactional': ")
    assert (
        "add product_training, joint_marketing_strategy, information_exchange rules" in finding.fix
    )
    assert "extend its capability_workshop, site_visit rules" in finding.fix
    assert dict(finding.numbers)["tier_median_events"] == 12


def test_failure_names_the_numbers_and_a_fix() -> None:
    """A failing finding says what was seen, with numbers, and what would fix it."""
    plan = make_plan(events=without(ACME_EVENTS, "acme/site_visit/2027-11-08") + MINI_EVENTS)
    report = check_health(plan, HealthThresholds(), strategy_gap=GAP)
    finding = report.partners[0].finding("site_visits")
    assert finding.seen.startswith("visits by us to them: 1, by them to us: 0")
    assert "direction to_us" in finding.fix
    assert dict(finding.numbers) == {"to_partner": 1, "to_us": 0, "other": 0}
    assert report.failed


def test_json_has_the_documented_stable_shape() -> None:
    """The JSON report has program, principles, summary, partners and findings, deterministic."""
    report = check_health(make_plan(), HealthThresholds(), strategy_gap=GAP)
    text = report_json(report)
    data = json.loads(text)
    assert sorted(data) == [
        "filter",
        "findings",
        "format",
        "partners",
        "principles",
        "program",
        "summary",
    ]
    assert data["summary"] == {"partners": 2, "pass": 13, "warn": 0, "fail": 0, "n/a": 1}
    assert [p["id"] for p in data["principles"]] == list(PRINCIPLES)
    assert data["partners"][0] == {
        "id": "acme",
        "name": "Acme",
        "tier": "top",
        "manager": "sam",
        "status": "pass",
        "scores": ALL_PASS,
    }
    assert len(data["findings"]) == 2 * len(PRINCIPLES)
    assert sorted(data["findings"][0]) == [
        "fix",
        "numbers",
        "partner",
        "principle",
        "seen",
        "status",
    ]
    again = report_json(check_health(make_plan(), HealthThresholds(), strategy_gap=GAP))
    assert again == text
    assert not report.failed
