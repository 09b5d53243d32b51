"""The independent verifier: each hard rule broken once by a hand-made year, and its near misses.

Plans here are built by hand (never by the planner), so these tests pin the
verifier's reading of the README's hard rules on their own.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import pytest
import yaml

from chancal.models import Blackout, Config
from chancal.plan import AllDay, Diagnostic, Event, Plan, Span, Timed
from chancal.verify import Break, Referee, format_break, verify

# The vendor sits in England (Late Summer Bank Holiday); managers in New York,
# Paris and Jerusalem (Sunday to Thursday); partners in five zones.
PROGRAM = """\
version: 1
program:
  name: Verify Program
  id: verify
  year: 2027
  timezone: Europe/London
  country: GB
  subdivision: ENG
  working_days: {program_days}
  capacity: {{meetings_per_week: 3, hours_per_week: 4}}
  travel: {{site_visits_per_month: 1}}
  blackouts: [{{start: 2027-08-09, end: 2027-08-13, reason: systems freeze}}]
  shared_events:
    - {{id: summit, title: Gold summit, start: 2027-05-18, end: 2027-05-19, tiers: [gold]}}
managers:
  - id: alex
    name: Alex Rivera
    email: alex@example.com
    timezone: America/New_York
    country: US
    capacity: {{meetings_per_week: 3, hours_per_week: 20}}
    blackouts: [{{start: 2027-06-14, end: 2027-06-18, reason: leave}}]
  - id: claire
    name: Claire Dubois
    email: claire@example.com
    timezone: Europe/Paris
    country: FR
    working_hours: {{start: "08:30", end: "17:30"}}
  - id: dana
    name: Dana Levi
    email: dana@example.com
    timezone: Asia/Jerusalem
    country: IL
    working_days: [sun, mon, tue, wed, thu]
    capacity: {{meetings_per_week: 2, hours_per_week: 16}}
tiers:
  - id: silver
    rules:
      - {{id: check-in, kind: monthly_check_in, cadence: monthly}}
      - {{id: sync, kind: monthly_check_in, cadence: every 2 weeks}}
      - {{id: review, kind: quarterly_business_review, cadence: quarterly}}
      - {{id: workshop, kind: capability_workshop, cadence: quarterly}}
      - {{id: visit, kind: site_visit, cadence: quarterly, direction: to_partner}}
      - {{id: visit-us, kind: site_visit, cadence: annual, direction: to_us}}
  - id: gold
    extends: silver
    change: [{{id: sync, cadence: every 4 weeks}}]
partners:
  - {{id: acme, name: Acme, tier: silver, manager: alex, country: US,
     timezone: America/New_York, blackouts: [{{start: 2027-07-19, reason: inventory}}],
     overrides: {{change: [{{id: check-in, cadence: quarterly}}]}}}}
  - {{id: lumiere, name: Lumiere, tier: silver, manager: alex, country: FR,
     timezone: Europe/Paris}}
  - {{id: northwind, name: Northwind, tier: silver, manager: claire, country: FR,
     timezone: Europe/Paris}}
  - {{id: tamar, name: Tamar, tier: gold, manager: dana, country: IL, timezone: Asia/Jerusalem}}
  - {{id: pacific, name: Pacific, tier: silver, manager: dana, country: US,
     timezone: America/Los_Angeles}}
"""

MANAGER = {"acme": "alex", "lumiere": "alex", "northwind": "claire", "tamar": "dana"}
MANAGER["pacific"] = "dana"
ZONE = {"acme": "America/New_York", "lumiere": "Europe/Paris", "northwind": "Europe/Paris"}
ZONE |= {"tamar": "Asia/Jerusalem", "pacific": "America/Los_Angeles"}
KIND = {"check-in": "monthly_check_in", "sync": "monthly_check_in", "visit": "site_visit"}
KIND |= {"review": "quarterly_business_review", "workshop": "capability_workshop"}
KIND |= {"visit-us": "site_visit"}
DIRECTION: dict[str, Literal["to_partner", "to_us"]] = {"visit": "to_partner", "visit-us": "to_us"}


def _config(program_days: str = "[mon, tue, wed, thu, fri]") -> Config:
    # Models only (as planner_support does): the fixture is cross-reference clean.
    return Config.model_validate(yaml.safe_load(PROGRAM.format(program_days=program_days)))


def _event(key: str, span: Span) -> Event:
    partner, rule = key.split("/")[:2]
    return Event(
        key=key,
        uid=key,
        partner_id=partner,
        manager_id=MANAGER[partner],
        rule_id=rule,
        kind=KIND[rule],
        purpose="collaboration",
        title=key,
        span=span,
        timezone=ZONE[partner],
        mode="virtual",
        partner_ids=(partner,),
        direction=DIRECTION.get(rule),
    )


def at(key: str, local: str, minutes: int = 60, tz: str | None = None) -> Event:
    """A timed event starting at `local` wall time in `tz` (default: the partner's zone)."""
    zone = ZoneInfo(tz or ZONE[key.split("/")[0]])
    start = datetime.fromisoformat(local).replace(tzinfo=zone)
    return _event(key, Timed(start, start + timedelta(minutes=minutes)))


def days(key: str, first: str, last: str | None = None) -> Event:
    """An all-day event from `first` to `last`, both inclusive."""
    end = date.fromisoformat(last or first) + timedelta(days=1)
    return _event(key, AllDay(date.fromisoformat(first), end))


def _plan(events: list[Event], diagnostics: tuple[Diagnostic, ...] = ()) -> Plan:
    return Plan(
        program_id="verify",
        program_name="Verify Program",
        timezone="Europe/London",
        year_start=date(2027, 1, 1),
        year_end=date(2028, 1, 1),
        events=tuple(events),
        diagnostics=diagnostics,
    )


def _found(breaks: tuple[Break, ...]) -> list[tuple[str, tuple[str, ...], str]]:
    return [(b.rule, b.keys, str(b.day)) for b in breaks]


CASES = [
    # -- working-hours --------------------------------------------------------
    (
        "ending exactly at the end of working hours is fine",
        [at("acme/review/a", "2027-03-03 16:00")],
        [],
    ),
    (
        "ending after the partner's working hours breaks though the manager's run later",
        [at("northwind/review/a", "2027-03-03 16:30")],
        [("working-hours", ("northwind/review/a",), "2027-03-03")],
    ),
    (
        "Jerusalem against Los Angeles: 16:00 for the manager is 06:00 for the partner",
        [at("pacific/review/a", "2027-02-10 16:00", 30, tz="Asia/Jerusalem")],
        [("working-hours", ("pacific/review/a",), "2027-02-10")],
    ),
    (
        "the week New York is on summer time and Paris is not: 11:00 there is 16:00 here",
        [at("lumiere/review/a", "2027-03-15 11:00", tz="America/New_York")],
        [],
    ),
    (
        "once both are on summer time, 11:00 in New York is 17:00 in Paris",
        [at("lumiere/review/a", "2027-03-30 11:00", tz="America/New_York")],
        [("working-hours", ("lumiere/review/a",), "2027-03-30")],
    ),
    # -- working-day ----------------------------------------------------------
    (
        "an Israeli partner and manager meet on a Sunday",
        [at("tamar/review/a", "2027-03-07 10:00")],
        [],
    ),
    (
        "Friday is not a working day of an Israeli partner nor of a Sunday-Thursday manager",
        [at("tamar/review/a", "2027-03-05 10:00")],
        [("working-day", ("tamar/review/a",), "2027-03-05")],
    ),
    (
        "an all-day visit over a weekend breaks on each day of it",
        [days("acme/visit/a", "2027-03-05", "2027-03-08")],
        [
            ("working-day", ("acme/visit/a",), "2027-03-06"),
            ("working-day", ("acme/visit/a",), "2027-03-07"),
        ],
    ),
    # -- holiday --------------------------------------------------------------
    (
        "a US holiday observed on Monday 5 July",
        [at("acme/review/a", "2027-07-05 10:00")],
        [("holiday", ("acme/review/a",), "2027-07-05")],
    ),
    (
        "a visit to the vendor on the English Late Summer Bank Holiday",
        [days("acme/visit-us/a", "2027-08-30", "2027-08-31")],
        [("holiday", ("acme/visit-us/a",), "2027-08-30")],
    ),
    (
        "a visit to the partner ignores the vendor's holidays",
        [days("acme/visit/a", "2027-08-30", "2027-08-31")],
        [],
    ),
    # -- blackout -------------------------------------------------------------
    (
        "a program blackout",
        [at("acme/review/a", "2027-08-10 10:00")],
        [("blackout", ("acme/review/a",), "2027-08-10")],
    ),
    (
        "the manager's leave",
        [at("lumiere/review/a", "2027-06-15 15:00")],
        [("blackout", ("lumiere/review/a",), "2027-06-15")],
    ),
    (
        "the partner's own blackout",
        [at("acme/review/a", "2027-07-19 10:00")],
        [("blackout", ("acme/review/a",), "2027-07-19")],
    ),
    (
        "a shared event the partner is invited to",
        [at("tamar/review/a", "2027-05-18 10:00")],
        [("blackout", ("tamar/review/a",), "2027-05-18")],
    ),
    (
        "a shared event of another tier leaves the partner free",
        [at("acme/review/a", "2027-05-18 10:00")],
        [],
    ),
    # -- capacity -------------------------------------------------------------
    (
        "a Sunday-Thursday manager's week runs Sunday to Saturday: three meetings in it",
        [
            at("tamar/review/a", "2027-03-07 10:00"),
            at("tamar/review/b", "2027-03-08 10:00"),
            at("tamar/review/c", "2027-03-11 10:00"),
        ],
        [("capacity", ("tamar/review/a", "tamar/review/b", "tamar/review/c"), "2027-03-07")],
    ),
    (
        "Monday, Thursday and the next Sunday fall in two of those weeks",
        [
            at("tamar/review/a", "2027-03-01 10:00"),
            at("tamar/review/b", "2027-03-04 10:00"),
            at("tamar/review/c", "2027-03-07 10:00"),
        ],
        [],
    ),
    (
        "four meetings in a week of three",
        [
            at(f"acme/review/{x}", f"2027-03-0{d} 10:00", 30)
            for x, d in zip("abcd", "1234", strict=True)
        ],
        [("capacity", tuple(f"acme/review/{x}" for x in "abcd"), "2027-03-01")],
    ),
    (
        "two all-day days and two 2-hour meetings make exactly the 20 hours",
        [
            days("acme/workshop/a", "2027-03-01", "2027-03-02"),
            at("acme/review/a", "2027-03-03 10:00", 120),
            at("acme/review/b", "2027-03-04 10:00", 120),
        ],
        [],
    ),
    (
        "one more hour goes over",
        [
            days("acme/workshop/a", "2027-03-01", "2027-03-02"),
            at("acme/review/a", "2027-03-03 10:00", 120),
            at("acme/review/b", "2027-03-04 10:00", 180),
        ],
        [
            (
                "capacity",
                ("acme/review/a", "acme/review/b", "acme/workshop/a"),
                "2027-03-01",
            )
        ],
    ),
    (
        "an all-day event over the whole budget may take a week of its own",
        [days("acme/workshop/a", "2027-03-01", "2027-03-03")],
        [],
    ),
    # -- travel ---------------------------------------------------------------
    (
        "two visits to partners in one month of one",
        [
            days("northwind/visit/a", "2027-04-06", "2027-04-07"),
            days("northwind/visit/b", "2027-04-20", "2027-04-21"),
        ],
        [("travel", ("northwind/visit/a", "northwind/visit/b"), "2027-04-01")],
    ),
    (
        "a visit counts in the month of its first day",
        [
            days("northwind/visit/a", "2027-06-30", "2027-07-01"),
            days("northwind/visit/b", "2027-07-20", "2027-07-21"),
        ],
        [],
    ),
    # -- overlap --------------------------------------------------------------
    (
        "back to back is fine",
        [at("acme/review/a", "2027-03-03 10:00"), at("acme/review/b", "2027-03-03 11:00", 30)],
        [],
    ),
    (
        "New York 10:00-11:00 and Paris 16:30-17:00 overlap for the same manager",
        [at("acme/review/a", "2027-03-03 10:00"), at("lumiere/review/a", "2027-03-03 16:30", 30)],
        [("overlap", ("acme/review/a", "lumiere/review/a"), "2027-03-03")],
    ),
    (
        "two all-day events of one manager on the same day",
        [days("acme/workshop/a", "2027-03-09"), days("lumiere/workshop/a", "2027-03-09")],
        [("overlap", ("acme/workshop/a", "lumiere/workshop/a"), "2027-03-09")],
    ),
    (
        "a meeting on a day the manager spends on an all-day event",
        [days("acme/workshop/a", "2027-03-09"), at("lumiere/review/a", "2027-03-09 15:00")],
        [("overlap", ("acme/workshop/a", "lumiere/review/a"), "2027-03-09")],
    ),
    (
        "a meeting on the partner's all-day date, already the next day for the manager",
        [days("pacific/workshop/a", "2027-02-09"), at("pacific/review/a", "2027-02-09 16:00")],
        [
            ("overlap", ("pacific/review/a", "pacific/workshop/a"), "2027-02-09"),
            ("working-hours", ("pacific/review/a",), "2027-02-10"),
        ],
    ),
    # -- rhythm ---------------------------------------------------------------
    (
        "every 4 weeks (the gold tier's change): 57 days apart",
        [
            at("tamar/sync/2027-n01", "2027-03-07 10:00"),
            at("tamar/sync/2027-n02", "2027-05-03 10:00"),
        ],
        [("rhythm", ("tamar/sync/2027-n01", "tamar/sync/2027-n02"), "2027-05-03")],
    ),
    (
        "every 4 weeks: 32 days apart is fine, and follow-ups keep out of the rhythm",
        [
            at("tamar/sync/2027-n01", "2027-03-07 10:00"),
            at("tamar/sync/2027-n01/coaching-1", "2027-03-10 10:00"),
            at("tamar/sync/2027-n02", "2027-04-08 10:00"),
        ],
        [],
    ),
    (
        "monthly: 50 days apart",
        [
            at("northwind/check-in/2027-03", "2027-03-03 10:00"),
            at("northwind/check-in/2027-04", "2027-04-22 10:00"),
        ],
        [("rhythm", ("northwind/check-in/2027-03", "northwind/check-in/2027-04"), "2027-04-22")],
    ),
    (
        "a partner's override makes its check-ins quarterly: no rhythm to keep",
        [
            at("acme/check-in/2027-03", "2027-03-03 10:00"),
            at("acme/check-in/2027-06", "2027-06-02 10:00"),
        ],
        [],
    ),
]


@pytest.mark.parametrize(("name", "events", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_breaks_once_and_near_misses_pass(
    name: str, events: list[Event], expected: list[tuple[str, tuple[str, ...], str]]
) -> None:
    """The hand-made year breaks exactly the listed rules, on the listed local dates."""
    assert _found(verify(_config(), _plan(events))) == expected


def test_us_partner_never_works_sunday_even_when_the_program_does() -> None:
    """A partner without working_days keeps its country's week, whatever the program's."""
    config = _config("[mon, tue, wed, thu, fri, sat, sun]")
    breaks = verify(config, _plan([at("acme/review/a", "2027-03-07 10:00")]))
    assert _found(breaks) == [("working-day", ("acme/review/a",), "2027-03-07")]
    assert "not a working day of acme (mon-fri, the US week)" in breaks[0].message
    assert "alex" not in breaks[0].message  # the manager follows the program's 7-day week


def test_a_diagnostic_of_that_partner_and_rule_explains_a_rhythm_gap() -> None:
    """A gap outside the rhythm is no break when a diagnostic of the partner and rule says why."""
    events = [at("northwind/check-in/2027-03", "2027-03-03 10:00")]
    events.append(at("northwind/check-in/2027-05", "2027-05-05 10:00"))
    skipped = Diagnostic("info", "skipped", "April holds a review", "northwind", "check-in")
    other_rule = dataclasses.replace(skipped, rule_id="sync")
    other_partner = dataclasses.replace(skipped, partner_id="acme")
    assert verify(_config(), _plan(events, (skipped,))) == ()
    assert [b.rule for b in verify(_config(), _plan(events, (other_rule,)))] == ["rhythm"]
    assert [b.rule for b in verify(_config(), _plan(events, (other_partner,)))] == ["rhythm"]
    assert verify(_config(), _plan(events, (other_partner, other_rule, skipped))) == ()


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (None, ["working-hours", "working-hours", "overlap"]),  # manager's and partner's
        (date(2027, 3, 3), ["working-hours", "working-hours", "overlap"]),
        (date(2027, 3, 4), ["overlap"]),  # the overlap's second event is still ahead
        (date(2027, 3, 5), []),
    ],
)
def test_events_before_today_are_history(today: date | None, expected: list[str]) -> None:
    """A break is reported only when one of its events starts on or after `today`."""
    late = at("acme/review/a", "2027-03-03 16:30")
    early = at("acme/review/b", "2027-03-04 09:00")
    crossing = at("lumiere/review/a", "2027-03-04 15:30", 30)  # 09:30 in New York
    breaks = verify(_config(), _plan([late, early, crossing]), today=today)
    assert [b.rule for b in breaks] == expected


def test_messages_carry_the_figures() -> None:
    """Each break prints as one line naming the rule, the event, the times and the limits."""
    config = _config()
    lines = [
        format_break(b)
        for b in verify(
            config,
            _plan(
                [
                    at("northwind/review/a", "2027-03-03 17:00"),
                    *(
                        at(f"tamar/review/{x}", f"2027-03-{d} 10:00")
                        for x, d in zip("abc", ("07", "08", "11"), strict=True)
                    ),
                    days("acme/visit-us/a", "2027-08-30"),
                ]
            ),
        )
    ]
    assert lines == [
        "working-hours: northwind/review/a ends 18:00 Europe/Paris (2027-03-03), after "
        "claire's working hours 08:30-17:30",
        "working-hours: northwind/review/a ends 18:00 Europe/Paris (2027-03-03), after "
        "northwind's working hours 09:00-17:00",
        "capacity: dana's week of 2027-03-07 (Sun-Sat) holds 3 meetings > 2",
        "holiday: acme/visit-us/a on mon 2027-08-30: Late Summer Bank Holiday at the "
        "vendor's office (GB-ENG), the host of the visit",
    ]


def _roadshow(partner_ids: tuple[str, ...]) -> Event:
    """A shared event of the plan, 14-15 September 2027, inviting `partner_ids`."""
    return dataclasses.replace(
        days("acme/review/x", "2027-09-14", "2027-09-15"),
        key="program/roadshow",
        partner_id=None,
        manager_id=None,
        rule_id="roadshow",
        kind="partner_conference",
        partner_ids=partner_ids,
    )


def test_shared_events_of_the_plan_block_their_invited_partners() -> None:
    """A shared event in the plan blocks the partners it lists, and is never judged itself."""
    shared = _roadshow(("acme",))
    events = [
        shared,
        at("acme/review/a", "2027-09-15 10:00"),
        at("lumiere/review/a", "2027-09-15 15:00"),
    ]
    assert _found(verify(_config(), _plan(events))) == [
        ("blackout", ("acme/review/a",), "2027-09-15")
    ]


def test_one_referee_judges_plans_with_other_shared_events_as_afresh() -> None:
    """A Referee keeps the last plan's shared events (every manager's part has the same):
    a plan whose shared events differ, or has none, is judged as a new Referee judges it."""
    shared = _roadshow(("acme",))
    elsewhere = _roadshow(("lumiere",))
    meetings = [at("acme/review/a", "2027-09-15 10:00"), at("lumiere/review/a", "2027-09-15 15:00")]
    plans = [_plan([shared, *meetings]), _plan([elsewhere, *meetings]), _plan(meetings)]
    referee = Referee(_config(), None)
    for plan in [*plans, plans[0]]:
        assert referee.judge(plan) == Referee(_config(), None).judge(plan)
    found = [sorted(b.keys for b in Referee(_config(), None).judge(plan)) for plan in plans]
    assert found == [[("acme/review/a",)], [("lumiere/review/a",)], []]


def test_a_day_in_several_blackouts_names_each_once_in_a_stable_order() -> None:
    """Each blackout of a day is named once: the manager's side, then the partner's, as listed."""
    config = _config()
    stocktake = Blackout(start=date(2027, 8, 12), end=date(2027, 8, 16), reason="stocktake")
    move = Blackout(start=date(2027, 8, 13), reason="office move")
    acme = config.partners[0].model_copy(update={"blackouts": (stocktake, move)})
    config = config.model_copy(update={"partners": (acme, *config.partners[1:])})
    breaks = verify(config, _plan([days("acme/workshop/a", "2027-08-11", "2027-08-17")]))
    freeze = "program blackout 2027-08-09..2027-08-13 (systems freeze)"
    stock = "acme's blackout 2027-08-12..2027-08-16 (stocktake)"
    assert [b.message for b in breaks if b.rule == "blackout"] == [
        f"acme/workshop/a on wed 2027-08-11: {freeze}",
        f"acme/workshop/a on thu 2027-08-12: {freeze}; {stock}",
        f"acme/workshop/a on fri 2027-08-13: {freeze}; {stock}; acme's blackout 2027-08-13 "
        "(office move)",
        f"acme/workshop/a on sat 2027-08-14: {stock}",
        f"acme/workshop/a on sun 2027-08-15: {stock}",
        f"acme/workshop/a on mon 2027-08-16: {stock}",
    ]


def test_cancelled_events_are_not_judged_and_block_nothing() -> None:
    """A lock's cancellation holds no one's time, even for a partner that left the program."""
    clash = at("acme/review/b", "2027-03-03 10:30", 30)
    gone = dataclasses.replace(clash, partner_id="gone", key="gone/review/a", status="CANCELLED")
    cancelled = dataclasses.replace(clash, status="CANCELLED")
    events = [at("acme/review/a", "2027-03-03 10:00"), cancelled, gone]
    assert verify(_config(), _plan(events)) == ()


def test_an_event_of_a_partner_unknown_to_the_program_is_a_bug() -> None:
    """Verifying a plan against another program raises instead of passing silently."""
    stray = dataclasses.replace(at("acme/review/a", "2027-03-03 10:00"), partner_id="gone")
    with pytest.raises(ValueError, match="unknown to the program"):
        verify(_config(), _plan([stray]))


def test_the_same_plan_gives_the_same_breaks_in_the_same_order() -> None:
    """Breaks are sorted by day, then rule, whatever order the events come in."""
    unique = {ev.key: ev for _, evs, _ in CASES for ev in evs}  # one event per key
    events = list(unique.values())
    first = verify(_config(), _plan(events))
    assert first == verify(_config(), _plan(events[::-1]))
    assert [b.day for b in first] == sorted(b.day or date.min for b in first)
