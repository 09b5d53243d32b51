"""make_plan on small programs: literal dates, relaxation, pins, stability, the shipped examples."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from chancal.models import Config
from chancal.plan import AllDay, Event, Plan, Timed
from chancal.planner import make_plan
from planner_support import partner, program

ROOT = Path(__file__).resolve().parent.parent
QBR = (
    "- {id: r, kind: quarterly_business_review, cadence: quarterly,"
    " window: {after: quarter_end, from: 2w, to: 4w}}"
)


def _starts(plan: Plan) -> list[tuple[str, str]]:
    return [(e.key, e.start.isoformat()) for e in plan.events]


def _codes(plan: Plan) -> list[tuple[str, str]]:
    return [(d.severity, d.code) for d in plan.diagnostics]


def _load(path: Path) -> Config:
    import yaml

    return Config.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    ("name", "config", "expected", "codes"),
    [
        (
            "holiday on the asked day moves to the nearest allowed day",
            program("- {id: call, kind: monthly_check_in, dates: [2027-07-05]}"),
            [("acme/call/2027-07-05", "2027-07-06T16:00:00-04:00")],
            [("warning", "window-widened")],
        ),
        (
            "blackout covering the window widens it to the nearest free day",
            program(
                "- {id: s, kind: joint_marketing_strategy, cadence: once, window: {in: [Q2]}}",
                program_extra="blackouts: [{start: 2027-04-01, end: 2027-06-30, reason: freeze}]",
            ),
            [("acme/s", "2027-03-31T14:00:00-04:00")],
            [("warning", "window-widened")],
        ),
        (
            "Sunday-Thursday partner in Israel: reviews on days both work",
            program(
                QBR,
                partner(
                    country="IL",
                    tz="Asia/Jerusalem",
                    extra="    working_days: [sun, mon, tue, wed, thu]\n",
                ),
                manager_tz="Europe/Berlin",
                manager_country="DE",
            ),
            [
                ("acme/r/2026-q4", "2027-01-21T15:00:00+02:00"),
                ("acme/r/2027-q1", "2027-04-21T15:00:00+03:00"),
                ("acme/r/2027-q2", "2027-07-22T15:00:00+03:00"),
                ("acme/r/2027-q3", "2027-10-21T15:00:00+03:00"),
            ],
            [],
        ),
        (
            "Jerusalem partner, New York manager: 1 hour in common, a 2-hour review fits only "
            "while the US is on summer time and Israel is not yet",
            program(
                QBR,
                partner(
                    country="IL",
                    tz="Asia/Jerusalem",
                    extra="    working_days: [sun, mon, tue, wed, thu]\n",
                ),
            ),
            [
                ("acme/r/2026-q4", "2027-03-15T15:00:00+02:00"),
                ("acme/r/2027-q3", "2027-11-01T15:00:00+02:00"),
            ],
            [
                ("error", "unplaced"),
                ("error", "unplaced"),
                ("warning", "window-widened"),
                ("warning", "window-widened"),
            ],
        ),
        (
            "fiscal year starting 1 April: reviews follow its quarters",
            program(QBR, fy="04-01"),
            [
                ("acme/r/2026-q4", "2027-04-22T15:00:00-04:00"),
                ("acme/r/2027-q1", "2027-07-22T15:00:00-04:00"),
                ("acme/r/2027-q2", "2027-10-22T15:00:00-04:00"),
                ("acme/r/2027-q3", "2028-01-21T15:00:00-05:00"),
            ],
            [],
        ),
        (
            "leap year 2028: three exchanges spread over 366 days",
            program("- {id: x, kind: information_exchange, cadence: 3 per year}", year=2028),
            [
                ("acme/x/2028-n01", "2028-03-02T15:00:00-05:00"),
                ("acme/x/2028-n02", "2028-07-03T15:00:00-04:00"),
                ("acme/x/2028-n03", "2028-11-01T15:00:00-04:00"),
            ],
            [],
        ),
        (
            "DST: Berlin partner and New York manager meet 1 h earlier while only the US is on DST",
            program(
                "- {id: x, kind: information_exchange,"
                " dates: [2027-03-10, 2027-03-17, 2027-03-31]}",
                partner(country="DE", tz="Europe/Berlin"),
            ),
            [
                ("acme/x/2027-03-10", "2027-03-10T15:30:00+01:00"),
                ("acme/x/2027-03-17", "2027-03-17T15:30:00+01:00"),
                ("acme/x/2027-03-31", "2027-03-31T15:30:00+02:00"),
            ],
            [],
        ),
    ],
)
def test_literal_dates(
    name: str, config: Config, expected: list[tuple[str, str]], codes: list[tuple[str, str]]
) -> None:
    """Small programs plan to exactly these starts, with exactly these diagnostics."""
    plan = make_plan(config)
    assert _starts(plan) == expected, name
    assert _codes(plan) == codes, name


def test_dst_overlap_ends_inside_both_days() -> None:
    """During the US-only DST weeks the 90-minute exchange still ends by 17:00 Berlin and NY."""
    plan = make_plan(
        program(
            "- {id: x, kind: information_exchange, dates: [2027-03-17]}",
            partner(country="DE", tz="Europe/Berlin"),
        )
    )
    span = plan.events[0].span
    assert isinstance(span, Timed)
    assert span.end.strftime("%H:%M") == "17:00"
    assert span.end.astimezone(span.start.tzinfo).utcoffset() == timedelta(hours=1)


def test_unplaceable_event_is_an_error_diagnostic() -> None:
    """A rule whose every possible day is blacked out yields an 'unplaced' error, not a crash."""
    plan = make_plan(
        program(
            "- {id: call, kind: monthly_check_in, dates: [2027-07-05]}",
            program_extra="blackouts: [{start: 2027-01-01, end: 2027-12-31, reason: closed}]",
        )
    )
    assert plan.events == ()
    assert _codes(plan) == [("warning", "over-demand"), ("error", "unplaced")]
    assert "0 working weeks" in plan.diagnostics[0].message
    assert plan.diagnostics[1].partner_id == "acme"
    assert plan.diagnostics[1].rule_id == "call"


def test_partner_without_focus_areas_gets_an_info() -> None:
    """per_focus_area with no focus areas plans nothing and says so."""
    acme = partner(extra="").replace(
        "focus_areas: [solution selling, pipeline management]", "focus_areas: []"
    )
    plan = make_plan(program("- {id: w, kind: capability_workshop, cadence: per_focus_area}", acme))
    assert plan.events == ()
    assert _codes(plan) == [("info", "no-focus-areas")]


def test_workshop_per_focus_area_with_coaching_follow_ups() -> None:
    """Each focus area gets a workshop with role-play and coaching 2 and 5 weeks later."""
    plan = make_plan(
        program(
            "- {id: w, kind: capability_workshop, cadence: per_focus_area,"
            " follow_ups: [{kind: coaching_session, after: [2w, 5w]}]}"
        )
    )
    by_key = {e.key: e for e in plan.events}
    assert sorted(by_key) == [
        "acme/w/pipeline-management",
        "acme/w/pipeline-management/coaching-1",
        "acme/w/pipeline-management/coaching-2",
        "acme/w/solution-selling",
        "acme/w/solution-selling/coaching-1",
        "acme/w/solution-selling/coaching-2",
    ]
    workshop = by_key["acme/w/solution-selling"]
    assert "solution selling" in workshop.title
    assert "Role-play" in workshop.description
    for n, weeks in ((1, 2), (2, 5)):
        coaching = by_key[f"acme/w/solution-selling/coaching-{n}"]
        assert coaching.focus_area == "solution selling"
        assert "solution selling" in coaching.title
        gap = (coaching.day - workshop.day).days
        assert 7 * weeks - 3 <= gap <= 7 * weeks + 10


@pytest.mark.parametrize(
    ("blackout", "expected"),
    [
        ("", "2027-03-18"),  # acme's preferred day of the week from the offset
        # The week after the offset is closed: about a week either side is still
        # the window, so the coaching takes the Friday before, without a warning.
        ("2027-03-15, end: 2027-03-26", "2027-03-12"),
        ("2027-03-12, end: 2027-03-19", "2027-03-22"),
    ],
)
def test_a_follow_up_window_is_its_offset_minus_3_to_plus_10_days(
    blackout: str, expected: str
) -> None:
    """Coaching "2 weeks after" a workshop on Monday 2027-03-01 may take 2027-03-12..03-25,
    preferring the week from 03-15, and needs no warning while any of those days is free."""
    extra = f"    blackouts: [{{start: {blackout}, reason: audit}}]\n" if blackout else ""
    plan = make_plan(
        program(
            "- {id: w, kind: capability_workshop, dates: [2027-03-01],"
            " follow_ups: [{kind: coaching_session, after: [2w]}]}",
            partner(extra=extra),
        )
    )
    by_key = {e.key: e for e in plan.events}
    assert by_key["acme/w/2027-03-01/coaching-1"].day.isoformat() == expected
    assert [d.code for d in plan.diagnostics if d.severity != "info"] == []


def test_information_exchange_lists_both_sides_topics() -> None:
    """Every exchange says what we share and what the partner shares."""
    plan = make_plan(program("- {id: x, kind: information_exchange, cadence: 2 per year}"))
    assert len(plan.events) == 2
    for event in plan.events:
        assert "We share: roadmap" in event.description
        assert "Acme [EU] shares: forecast" in event.description


def test_site_visits_both_ways_in_different_halves() -> None:
    """Visits are all-day, on consecutive allowed days, one each way, in different halves."""
    plan = make_plan(
        program(
            """
            - {id: them, kind: site_visit, direction: to_partner, cadence: once, duration: 2d}
            - {id: us, kind: site_visit, direction: to_us, cadence: once, duration: 2d}
            """
        )
    )
    them, us = (next(e for e in plan.events if e.rule_id == r) for r in ("them", "us"))
    for visit in (them, us):
        assert isinstance(visit.span, AllDay)
        assert (visit.span.end - visit.span.start).days == 2
        assert visit.day.weekday() < 4  # Mon-Thu start: both days are working days
    assert them.location == "Acme [EU]"
    assert us.location == "HQ Boston"
    mid = date(2027, 7, 1)
    assert (them.day < mid) != (us.day < mid)


def test_shared_event_invites_partners_and_blocks_their_days() -> None:
    """The conference is all-day for every invited partner; their own events avoid it."""
    extra = (
        "shared_events: [{id: conf, title: Partner Conference, start: 2027-05-18, "
        "end: 2027-05-19, location: Boston}]"
    )
    plan = make_plan(
        program(
            "- {id: call, kind: monthly_check_in, dates: [2027-05-18]}",
            partner() + partner("bolt", name="Bolt"),
            program_extra=extra,
        )
    )
    conf = next(e for e in plan.events if e.key == "program/conf")
    assert conf.partner_id is None
    assert conf.partner_ids == ("acme", "bolt")
    assert (conf.start, conf.end) == (date(2027, 5, 18), date(2027, 5, 20))
    for event in plan.events:
        if event.partner_id is not None:
            assert event.day not in (date(2027, 5, 18), date(2027, 5, 19))


# -- pins -------------------------------------------------------------------------


def _one_call() -> Config:
    return program("- {id: s, kind: joint_marketing_strategy, cadence: once, window: {in: [Q2]}}")


def test_pins_on_the_planned_start_change_nothing() -> None:
    """Planning again with the plan's own starts as pins gives the same plan, no 'moved'."""
    config = _one_call()
    first = make_plan(config)
    again = make_plan(config, pins={e.key: e.start for e in first.events})
    assert again == first


def test_pin_on_another_allowed_day_in_the_window_is_kept() -> None:
    """A published start that is still allowed stays, even where the planner would not choose it."""
    pin = datetime.fromisoformat("2027-04-06T10:00:00-04:00")
    plan = make_plan(_one_call(), pins={"acme/s": pin})
    assert plan.events[0].start == pin
    assert plan.diagnostics == ()


@pytest.mark.parametrize(
    ("pin", "reason"),
    [
        ("2027-05-31T10:00:00-04:00", "no allowed day"),  # Memorial Day
        ("2027-08-03T10:00:00-04:00", "outside the rule's window"),
        ("2027-04-06T07:00:00-04:00", "working hours"),  # before working hours
    ],
)
def test_pin_no_longer_allowed_moves_with_a_diagnostic(pin: str, reason: str) -> None:
    """A pin on a holiday, outside the window or outside working hours moves, and says why."""
    plan = make_plan(_one_call(), pins={"acme/s": datetime.fromisoformat(pin)})
    assert plan.events[0].start != datetime.fromisoformat(pin)
    assert _codes(plan) == [("warning", "moved")]
    assert reason in plan.diagnostics[0].message


def test_pin_published_just_outside_the_window_is_kept_and_reported() -> None:
    """A start published in the widened range (a relaxed placement) stays where it was;
    the plan still says it lies outside the window, and nothing says 'moved'."""
    pin = datetime.fromisoformat("2027-07-08T10:00:00-04:00")  # 8 days after Q2
    plan = make_plan(_one_call(), pins={"acme/s": pin})
    assert plan.events[0].start == pin
    assert _codes(plan) == [("warning", "window-widened")]
    assert "kept where it was published" in plan.diagnostics[0].message


def test_follow_up_whose_window_falls_after_the_year_keeps_its_published_slot() -> None:
    """A coaching follow-up due after the year ends (its window clipped away) is placed in its
    period; a published slot there is kept like any other instead of moving on every run."""
    rules = (
        "- {id: w, kind: capability_workshop, dates: [2027-12-07],"
        " follow_ups: [{kind: coaching_session, after: [2w, 5w]}]}"
    )
    config = program(rules)
    first = make_plan(config)
    late = "acme/w/2027-12-07/coaching-2"
    assert first.events[[e.key for e in first.events].index(late)].day.year == 2027
    published = datetime.fromisoformat("2027-12-14T10:00:00-05:00")  # not the planner's choice
    pins = {e.key: e.start for e in first.events} | {late: published}
    again = make_plan(config, pins=pins)
    assert {e.key: e.start for e in again.events}[late] == published
    assert "moved" not in [d.code for d in again.diagnostics]


def test_follow_up_keeps_its_slot_when_its_base_moves_a_little() -> None:
    """A blackout moves a workshop by days; its published coaching, still inside the
    coaching window of the moved workshop, stays where it was."""
    rules = (
        "- {id: w, kind: capability_workshop, cadence: per_focus_area,"
        " follow_ups: [{kind: coaching_session, after: [2w]}]}"
    )
    first = make_plan(program(rules))
    starts = {e.key: e.start for e in first.events}
    base = "acme/w/solution-selling"
    day = starts[base].date()  # type: ignore[union-attr]
    start = day - timedelta(days=1)
    closed = f"    blackouts: [{{start: {start}, end: {day}, reason: audit}}]\n"
    again = make_plan(program(rules, partner(extra=closed)), pins=starts)
    moved = {e.key: e.start for e in again.events}
    assert moved[base] != starts[base]
    assert moved[f"{base}/coaching-1"] == starts[f"{base}/coaching-1"]
    assert [d.code for d in again.diagnostics if d.code == "moved"] == ["moved"]


def test_pin_before_today_never_moves() -> None:
    """A published start before `today` is history: kept exactly, even on a holiday."""
    pin = datetime.fromisoformat("2027-05-31T10:00:00-04:00")
    plan = make_plan(_one_call(), pins={"acme/s": pin}, today=date(2027, 6, 15))
    assert plan.events[0].start == pin
    assert plan.diagnostics == ()


def test_pinned_events_keep_their_slot_against_new_events() -> None:
    """With room for one meeting a week, a pinned partner keeps its week; a new one moves."""
    rules = "- {id: s, kind: information_exchange, cadence: once, window: {in: [Q2]}}"
    extra = "capacity: {meetings_per_week: 1, hours_per_week: 40}"
    alone = make_plan(program(rules, partner("bbb", name="B"), program_extra=extra))
    pinned = alone.events[0]
    both = make_plan(
        program(rules, partner("aaa", name="A") + partner("bbb", name="B"), program_extra=extra),
        pins={pinned.key: pinned.start},
    )
    starts = {e.partner_id: e.start for e in both.events}
    assert starts["bbb"] == pinned.start
    assert starts["aaa"].isocalendar()[:2] != pinned.start.isocalendar()[:2]  # type: ignore[union-attr]


# -- stability and determinism ------------------------------------------------------


def test_editing_a_partner_does_not_move_partners_of_other_managers() -> None:
    """A partner of manager alex changes; bea's partners keep every start."""
    rules = "\n".join(
        (
            QBR,
            "- {id: x, kind: information_exchange, cadence: 4 per year}",
            "- {id: w, kind: capability_workshop, cadence: per_focus_area}",
        )
    )
    others = partner("zed", name="Zed", manager="bea") + partner("yak", name="Yak", manager="bea")
    before = make_plan(program(rules, partner() + others))
    edited = partner(extra="    blackouts: [{start: 2027-04-01, end: 2027-05-31, reason: move}]\n")
    after = make_plan(program(rules, edited + others))

    def of_bea(plan: Plan) -> list[Event]:
        return [e for e in plan.events if e.manager_id == "bea"]

    assert of_bea(after) == of_bea(before)
    assert [e for e in after.events if e.partner_id == "acme"] != [
        e for e in before.events if e.partner_id == "acme"
    ]


def test_same_input_same_plan() -> None:
    """Planning the realistic example twice gives identical plans."""
    config = _load(ROOT / "examples" / "partners.yaml")
    assert make_plan(config) == make_plan(config)


# -- shipped programs -----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [ROOT / "examples" / "partners.yaml", ROOT / "src" / "chancal" / "templates" / "partners.yaml"],
    ids=["examples", "starter"],
)
def test_shipped_programs_plan_without_errors(path: Path) -> None:
    """The starter template and the realistic example plan with no error diagnostic."""
    plan = make_plan(_load(path))
    assert [d.message for d in plan.diagnostics if d.severity == "error"] == []
    assert plan.events


def test_example_rules_hold() -> None:
    """Strategy sessions keep 21 days from reviews and share no day with a check-in;
    check-ins skip months with another accountability event."""
    plan = make_plan(_load(ROOT / "examples" / "partners.yaml"))
    by_partner: dict[str, list[Event]] = defaultdict(list)
    for event in plan.events:
        if event.partner_id:
            by_partner[event.partner_id].append(event)
    for events in by_partner.values():
        accountability = [e for e in events if e.purpose == "accountability"]
        reviews = [e for e in accountability if e.kind in plan.review_kinds]
        for strategy in (e for e in events if e.kind == "joint_marketing_strategy"):
            if strategy.rule_id == "planning-call":
                continue  # a fixed date the partner asked for, not a strategy rule with a gap
            assert all(abs((strategy.day - r.day).days) >= 21 for r in reviews)
            assert all(strategy.day != a.day for a in accountability)
        for check_in in (e for e in events if e.kind == "monthly_check_in"):
            month = (check_in.day.year, check_in.day.month)
            assert not [
                a
                for a in accountability
                if a.kind != "monthly_check_in" and (a.day.year, a.day.month) == month
            ]


def test_adding_a_partner_with_pins_keeps_the_others_in_place() -> None:
    """A new partner of the same manager (sorted first) leaves pinned partners where they were."""
    rules = "\n".join((QBR, "- {id: x, kind: information_exchange, cadence: 4 per year}"))
    before = make_plan(program(rules, partner()))
    pins = {e.key: e.start for e in before.events}
    after = make_plan(program(rules, partner("aaa", name="New") + partner()), pins=pins)
    assert [e for e in after.events if e.partner_id == "acme"] == list(before.events)
    assert [e.partner_id for e in after.events].count("aaa") == len(before.events)
    assert after.diagnostics == ()


def test_capacity_forcing_a_pinned_event_to_move_says_why() -> None:
    """When a pinned slot is taken by a frozen past event of another partner, 'moved' names it."""
    rules = "- {id: s, kind: information_exchange, cadence: once, window: {in: [Q2]}}"
    extra = "capacity: {meetings_per_week: 1, hours_per_week: 40}"
    config = program(
        rules, partner("aaa", name="A") + partner("bbb", name="B"), program_extra=extra
    )
    first = make_plan(config)
    a, b = (next(e for e in first.events if e.partner_id == p) for p in ("aaa", "bbb"))
    # Both published in the same week; 'aaa' already happened, so 'bbb' must give way.
    pins = {a.key: a.start, b.key: a.start + timedelta(days=1)}  # type: ignore[operator]
    plan = make_plan(config, pins=pins, today=a.day + timedelta(days=1))
    moved = [d for d in plan.diagnostics if d.code == "moved"]
    assert [d.partner_id for d in moved] == ["bbb"]
    assert "capacity" in moved[0].message


def test_the_overloaded_benchmark_program_names_over_demand_and_keeps_every_hard_rule() -> None:
    """benchmarks/generate.py --portfolio overloaded gives managers 50 to 200 partners, more
    meetings than their working days hold: each such manager gets one 'over-demand' warning
    with the figures, the events that do not fit are 'unplaced' errors, and none is
    double-booked (the suite's verifier checks every placed event)."""
    import importlib.util

    from chancal.loader import loads

    path = ROOT / "benchmarks" / "generate.py"
    spec = importlib.util.spec_from_file_location("chancal_benchmark_generate_plan", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = loads(module.generate(260, portfolio="overloaded")).config
    assert max(sum(p.manager == m.id for p in config.partners) for m in config.managers) > 150
    plan = make_plan(config)
    over = [d for d in plan.diagnostics if d.code == "over-demand"]
    assert over
    assert len({d.message.split(":")[0] for d in over}) == len(over)  # once per manager
    assert all("room for" in d.message for d in over)
    assert not [d for d in plan.diagnostics if d.code == "double-booked"]


@pytest.mark.parametrize("enabled", [True, False])
def test_make_plan_leaves_the_garbage_collector_as_it_found_it(enabled: bool) -> None:
    """Planning pauses the cyclic collector for speed and restores its state afterwards."""
    import gc

    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        make_plan(_one_call())
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_a_planner_keeps_only_what_many_partners_share_between_managers() -> None:
    """What one partner or manager alone has (edited rules, focus areas, blackouts) is
    dropped once its manager is planned; planning that manager again gives the same."""
    from chancal.planner.build import Planner

    config = _load(ROOT / "examples" / "partners.yaml")
    assert any(p.blackouts for p in config.partners)
    assert any(p.overrides.rules or p.overrides.change or p.overrides.drop for p in config.partners)
    planner = Planner(config, date(2027, 1, 1), None)
    wants = planner.wants
    first = {m: planner.plan_batch(m) for m in planner.manager_ids()}
    for caches in (wants._resolved, wants._occ, wants._closed_cache):
        assert caches.shared and not caches.own
    assert all(not key[2] for key in wants._closed_cache.shared)  # no one's blackouts
    again = {m: planner.plan_batch(m) for m in reversed(planner.manager_ids())}
    assert again == first
