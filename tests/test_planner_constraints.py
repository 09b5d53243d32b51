"""The hard rules of planner/constraints.py: working days and hours of both sides, capacity
in the manager's own week, travel and overlaps, with literal tables of dates and times."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chancal.planner.calendar import country_weekdays, holiday_ordinals, weekday_mask
from chancal.planner.constraints import (
    R_ALL_DAY,
    R_BUSY,
    R_CAPACITY,
    R_DAY,
    R_HOURS,
    R_TRAVEL,
    Ledger,
    PartnerBook,
    Side,
    find_slot,
    meeting_sides,
    timed_slots,
    week_of,
    week_start,
)

MON_FRI = weekday_mask(["mon", "tue", "wed", "thu", "fri"])
SUN_THU = weekday_mask(["sun", "mon", "tue", "wed", "thu"])
YEARS = (2026, 2027, 2028)


def side(
    zone: str,
    country: str,
    start: str = "09:00",
    end: str = "17:00",
    weekdays: int = MON_FRI,
    subdivision: str | None = None,
) -> Side:
    return Side(
        zone,
        time.fromisoformat(start),
        time.fromisoformat(end),
        weekdays,
        holiday_ordinals(country, subdivision, YEARS),
    )


def day(text: str) -> int:
    return date.fromisoformat(text).toordinal()


def local(ts: int, zone: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("who", "on", "works"),
    [
        (side("America/New_York", "US"), "2027-07-05", False),  # Independence Day observed
        (side("America/New_York", "US"), "2027-07-06", True),
        (side("Europe/Berlin", "DE", subdivision="BY"), "2027-01-06", False),  # Epiphany, BY
        (side("Europe/Berlin", "DE", subdivision="HH"), "2027-01-06", True),
        (side("Europe/Berlin", "DE"), "2027-05-17", False),  # Whit Monday
        (side("Asia/Jerusalem", "IL", weekdays=SUN_THU), "2027-01-03", True),  # Sunday
        (side("Asia/Jerusalem", "IL", weekdays=SUN_THU), "2027-01-08", False),  # Friday
    ],
)
def test_a_side_works_its_own_week_and_not_on_its_holidays(who: Side, on: str, works: bool) -> None:
    """Each side's working week and public holidays (with subdivision) close its dates."""
    assert who.works(day(on)) is works


@pytest.mark.parametrize(
    ("country", "week"),
    [("US", MON_FRI), ("DE", MON_FRI), ("IL", SUN_THU), ("AE", MON_FRI), ("SA", SUN_THU)],
)
def test_a_partner_without_working_days_gets_its_countrys_week(country: str, week: int) -> None:
    """The `holidays` package knows each country's weekend: Israel works Sunday-Thursday."""
    assert country_weekdays(country) == week


@pytest.mark.parametrize(
    ("days", "start"),
    [
        (["mon", "tue", "wed", "thu", "fri"], 0),
        (["sun", "mon", "tue", "wed", "thu"], 6),
        (["sat", "sun", "mon", "tue", "wed"], 5),
        (["mon", "tue", "wed", "thu", "fri", "sat", "sun"], 0),
        (["mon", "tue", "thu", "fri"], 0),  # the longer break (Sat-Sun) is the weekend
    ],
)
def test_the_managers_week_starts_after_the_weekend(days: list[str], start: int) -> None:
    """Capacity weeks start on the first working day after the longest run of days off."""
    assert week_start(weekday_mask(days)) == start


def test_a_sunday_thursday_week_counts_sunday_with_the_following_days() -> None:
    """Sunday 2027-03-07 and Thursday 2027-03-11 are one week; Friday's week is the next."""
    sunday = week_of(day("2027-03-07"), 6)
    assert week_of(day("2027-03-11"), 6) == sunday
    assert week_of(day("2027-03-06"), 6) == sunday - 1  # the Saturday before


@pytest.mark.parametrize(
    ("manager", "partner", "on", "minutes", "starts"),
    [
        # New York and Berlin share 15:00-17:00 Berlin; in the weeks when only the US is on
        # summer time they share 14:00-17:00.
        ("America/New_York", "Europe/Berlin", "2027-03-10", 60, ["15:00", "15:30", "16:00"]),
        (
            "America/New_York",
            "Europe/Berlin",
            "2027-03-17",
            60,
            ["14:00", "14:30", "15:00", "15:30", "16:00"],
        ),
        # Jerusalem 10:00-19:00 and Los Angeles 08:00-17:00 share one hour (08:00 there):
        # a one-hour meeting fits once, a two-hour one never.
        ("Asia/Jerusalem", "America/Los_Angeles", "2027-05-04", 60, ["08:00"]),
        ("Asia/Jerusalem", "America/Los_Angeles", "2027-05-04", 120, []),
        # Three hours wanted, two in common: no start at all (never half outside).
        ("America/New_York", "Europe/Berlin", "2027-02-10", 180, []),
    ],
)
def test_a_timed_event_lies_wholly_inside_both_working_days(
    manager: str, partner: str, on: str, minutes: int, starts: list[str]
) -> None:
    """Every start keeps the whole event inside both sides' hours, each in its own zone."""
    m_country = {"America/New_York": "US", "Asia/Jerusalem": "IL"}[manager]
    p_country = {"Europe/Berlin": "DE", "America/Los_Angeles": "US"}[partner]
    m_week = SUN_THU if m_country == "IL" else MON_FRI
    m_hours = ("10:00", "19:00") if m_country == "IL" else ("09:00", "17:00")
    p_hours = ("08:00", "17:00") if p_country == "US" else ("09:00", "17:00")
    slots = timed_slots(
        side(manager, m_country, *m_hours, weekdays=m_week),
        side(partner, p_country, *p_hours),
        day(on),
        minutes * 60,
    )
    assert [local(s.start, partner)[11:] for s in slots] == starts


def test_the_managers_date_may_be_the_partners_next_day() -> None:
    """Los Angeles Monday 15:00 is Sydney Tuesday 08:00 in July; a Sydney manager starting at
    08:00 meets then, and the slot records the manager's own date (a Tuesday)."""
    sydney = side("Australia/Sydney", "AU", "08:00", "17:00")
    la = side("America/Los_Angeles", "US")
    slots = timed_slots(sydney, la, day("2027-07-12"), 3600)
    assert [local(s.start, "America/Los_Angeles") for s in slots] == [
        "2027-07-12 15:00",
        "2027-07-12 15:30",
        "2027-07-12 16:00",
    ]
    assert {s.manager_day for s in slots} == {day("2027-07-13")}


def test_the_manager_must_work_the_managers_own_date() -> None:
    """The same Los Angeles Friday is a Sydney Saturday: no slot."""
    sydney = side("Australia/Sydney", "AU", "08:00", "17:00")
    assert timed_slots(sydney, side("America/Los_Angeles", "US"), day("2027-07-16"), 3600) == ()


def test_at_an_on_site_meeting_the_visitor_works_the_hosts_hours() -> None:
    """A New York manager at a workshop in Hamburg works 09:00-17:00 Hamburg time; a Hamburg
    partner visiting the New York office works New York hours."""
    ny, hamburg = side("America/New_York", "US"), side("Europe/Berlin", "DE")
    visiting = meeting_sides(ny, hamburg, on_site=True, host_is_us=False)
    slots = timed_slots(*visiting, day("2027-02-10"), 3 * 3600)
    assert local(slots[0].start, "Europe/Berlin")[11:] == "09:00"
    hosting = meeting_sides(ny, hamburg, on_site=True, host_is_us=True)
    slots = timed_slots(*hosting, day("2027-02-10"), 3 * 3600)
    assert local(slots[0].start, "America/New_York")[11:] == "09:00"
    assert meeting_sides(ny, hamburg, on_site=False, host_is_us=False) == (ny, hamburg)


ZONES = (
    ("America/Los_Angeles", "US"),
    ("America/New_York", "US"),
    ("Europe/Berlin", "DE"),
    ("Asia/Jerusalem", "IL"),
    ("Asia/Kolkata", "IN"),
    ("Australia/Sydney", "AU"),
    ("Pacific/Auckland", "NZ"),
)
HOURS = (("08:00", "17:00"), ("09:00", "17:30"), ("07:30", "16:00"), ("10:15", "19:00"))


@given(
    manager=st.sampled_from(ZONES),
    partner=st.sampled_from(ZONES),
    manager_hours=st.sampled_from(HOURS),
    partner_hours=st.sampled_from(HOURS),
    on=st.integers(day("2027-01-01"), day("2027-12-31")),
    minutes=st.sampled_from([30, 60, 90, 180]),
    half_hours=st.integers(-4, 52),
    off=st.sampled_from([0, 0, 0, 60, 900]),
)
def test_finding_one_start_agrees_with_listing_the_days_starts(
    manager: tuple[str, str],
    partner: tuple[str, str],
    manager_hours: tuple[str, str],
    partner_hours: tuple[str, str],
    on: int,
    minutes: int,
    half_hours: int,
    off: int,
) -> None:
    """find_slot checks a published start directly: it finds exactly the slot that
    timed_slots lists with that start (earliest manager date first), and None otherwise,
    across zones a day apart, daylight saving, holidays and starts off the half hour."""
    m = side(*manager, *manager_hours, weekdays=SUN_THU if manager[1] == "IL" else MON_FRI)
    p = side(*partner, *partner_hours, weekdays=SUN_THU if partner[1] == "IL" else MON_FRI)
    midnight = int(datetime.combine(date.fromordinal(on), time(), ZoneInfo(p.zone)).timestamp())
    start = midnight + half_hours * 1800 + off
    listed = [s for s in timed_slots(m, p, on, minutes * 60) if s.start == start]
    assert find_slot((m, p), on, start, minutes * 60) == (listed[0] if listed else None)


def _ledger(
    meetings: int = 10, hours: float = 14.0, visits: int = 1, week: int = MON_FRI
) -> Ledger:
    return Ledger(side("Asia/Jerusalem", "IL", weekdays=week), meetings, hours, visits)


def test_capacity_is_counted_in_the_managers_own_week() -> None:
    """A Sunday-Thursday manager with 2 meetings a week: Sunday and Monday fill the week that
    starts on Sunday; the next Sunday starts a new one."""
    ledger = _ledger(meetings=2, week=SUN_THU)
    partner = side(
        "Europe/Berlin", "DE", weekdays=weekday_mask(["mon", "tue", "wed", "thu", "sun"])
    )
    book = PartnerBook()
    sides = (ledger.side, partner)
    for on in ("2027-03-07", "2027-03-08"):
        slot, why = ledger.free_slot(book, sides, day(on), 3600, 0.0)
        assert slot is not None, why
        ledger.commit_timed(book, day(on), slot, 3600)
    assert ledger.free_slot(book, sides, day("2027-03-09"), 3600, 0.0) == (None, R_CAPACITY)
    slot, _ = ledger.free_slot(book, sides, day("2027-03-14"), 3600, 0.0)
    assert slot is not None


def test_no_two_meetings_of_a_manager_overlap() -> None:
    """Once every common start is taken the day is refused as busy, never double-booked."""
    ledger = _ledger()
    partner = side("Asia/Jerusalem", "IL", "15:00", "18:00", weekdays=SUN_THU)
    book = PartnerBook()
    sides = (ledger.side, partner)
    on = day("2027-03-08")
    for _ in range(2):
        slot, why = ledger.free_slot(book, sides, on, 3600, 0.0)
        assert slot is not None, why
        ledger.commit_timed(book, on, slot, 3600)
    assert ledger.free_slot(book, sides, on, 3600, 0.0) == (None, R_BUSY)
    assert ledger.free_slot(book, sides, day("2027-03-12"), 3600, 0.0) == (None, R_DAY)
    short = side("Asia/Jerusalem", "IL", "18:30", "19:00", weekdays=SUN_THU)
    assert ledger.free_slot(book, (ledger.side, short), on, 3600, 0.0) == (None, R_HOURS)


def test_an_all_day_event_over_the_weekly_budget_takes_an_empty_week_only() -> None:
    """A 2-day visit (16 h) with a 14-hour week fits a week with nothing else, and then that
    week takes no meeting; a week holding a meeting refuses the visit."""
    ledger = _ledger(hours=14.0)
    partner = side("Asia/Jerusalem", "IL", weekdays=SUN_THU)
    book = PartnerBook()
    none: frozenset[int] = frozenset()
    assert ledger.all_day_refusal(book, partner, day("2027-03-08"), 2, none, True) is None
    ledger.commit_all_day(book, day("2027-03-08"), 2, True)
    slot, why = ledger.free_slot(book, (ledger.side, partner), day("2027-03-10"), 3600, 0.0)
    assert (slot, why) == (None, R_CAPACITY)
    on = day("2027-03-16")
    slot, _ = ledger.free_slot(book, (ledger.side, partner), on, 3600, 0.0)
    assert slot is not None
    ledger.commit_timed(book, on, slot, 3600)
    assert ledger.all_day_refusal(book, partner, day("2027-03-17"), 2, none, False) == R_CAPACITY


def test_site_visits_per_month_and_days_already_taken() -> None:
    """One visit a month: a second in March is refused for travel; a timed meeting on a
    visit day is refused, and so is a visit on a day with a meeting."""
    ledger = _ledger(hours=40.0, visits=1)
    partner = side("Asia/Jerusalem", "IL", weekdays=SUN_THU)
    book = PartnerBook()
    none: frozenset[int] = frozenset()
    ledger.commit_all_day(book, day("2027-03-08"), 1, True)
    assert ledger.all_day_refusal(book, partner, day("2027-03-22"), 1, none, True) == R_TRAVEL
    slot, why = ledger.free_slot(book, (ledger.side, partner), day("2027-03-08"), 3600, 0.0)
    assert (slot, why) == (None, R_ALL_DAY)
    on = day("2027-03-23")
    slot, _ = ledger.free_slot(book, (ledger.side, partner), on, 3600, 0.0)
    assert slot is not None
    ledger.commit_timed(book, on, slot, 3600)
    assert ledger.all_day_refusal(book, partner, on, 1, none, False) == R_ALL_DAY


def test_a_visit_to_us_avoids_the_vendors_holidays() -> None:
    """The host's closed days (the vendor's office) refuse a `to_us` visit."""
    ledger = _ledger(hours=40.0)
    partner = side("Asia/Jerusalem", "IL", weekdays=SUN_THU)
    gb = holiday_ordinals("GB", "ENG", YEARS)
    bank_holiday = day("2027-08-30")  # Late Summer Bank Holiday in England
    assert ledger.all_day_refusal(PartnerBook(), partner, bank_holiday, 1, gb, False) == R_DAY
    assert (
        ledger.all_day_refusal(PartnerBook(), partner, bank_holiday, 1, frozenset(), False) is None
    )


def _search_start_by_start(
    ledger: Ledger,
    book: PartnerBook,
    sides: tuple[Side, Side],
    on: int,
    seconds: int,
    prefer: float,
) -> tuple[object, str]:
    """free_slot's contract, spelled out with the one-start rule (`timed_refusal`)."""
    slots = timed_slots(*sides, on, seconds)
    if not slots:
        return None, R_DAY if not sides[1].works(on) else R_HOURS
    first = int(prefer * len(slots)) % len(slots)
    reasons = []
    for slot in (*slots[first:], *slots[:first]):
        why = ledger.timed_refusal(book, on, slot, seconds)
        if why is None:
            return slot, ""
        reasons.append(why)
    rank = (R_CAPACITY, R_TRAVEL, R_BUSY, R_ALL_DAY, R_HOURS, R_DAY)
    return None, min(reasons, key=rank.index)


@given(
    partner=st.sampled_from(ZONES),
    partner_hours=st.sampled_from(HOURS),
    meetings=st.integers(2, 12),
    steps=st.lists(
        st.tuples(
            st.integers(0, 1),  # which of two partners who share a clock
            st.integers(0, 4),  # which day of the week
            st.sampled_from([60, 120, 180]),  # minutes
            st.floats(0, 0.99),  # the partner's offset into the day
            st.sampled_from(["timed", "timed", "timed", "all-day"]),
        ),
        min_size=1,
        max_size=60,
    ),
)
def test_the_slot_search_agrees_with_checking_each_start_while_the_days_fill(
    partner: tuple[str, str],
    partner_hours: tuple[str, str],
    meetings: int,
    steps: list[tuple[int, int, int, float, str]],
) -> None:
    """As meetings and all-day events fill a week, every search gives what checking each
    start with the one-start rule gives (the first free start from the offset, or the most
    telling reason), also when it answers from the days it found full before: for another
    partner on the same clock, and after the week reached its capacity."""
    ledger = _ledger(meetings=meetings, hours=40.0)
    p = side(*partner, *partner_hours, weekdays=SUN_THU if partner[1] == "IL" else MON_FRI)
    books = (PartnerBook(), PartnerBook())
    sides = (ledger.side, p)
    first_day = day("2027-03-08")
    for who, offset, minutes, prefer, kind in steps:
        on, book = first_day + offset, books[who]
        if kind == "all-day":
            # The partner's own all-day event (a day out for that partner alone).
            if on not in book.timed_days and p.works(on):
                book.all_day.add(on)
            continue
        expected = _search_start_by_start(ledger, book, sides, on, minutes * 60, prefer)
        found = ledger.free_slot(book, sides, on, minutes * 60, prefer)
        assert found == expected
        if found[0] is not None:
            ledger.commit_timed(book, on, found[0], minutes * 60)


def test_a_day_found_full_still_reports_the_weeks_capacity_once_it_is_reached() -> None:
    """Two one-hour meetings fill the two hours both sides work on Monday; once a third
    meeting on Tuesday reaches the week's capacity, Monday is refused for capacity (the
    most telling reason), as the start-by-start search says, not still for the meetings."""
    ledger = _ledger(meetings=3, hours=40.0)
    narrow = side("Asia/Jerusalem", "IL", "15:00", "17:00")
    book, sides, monday = PartnerBook(), (ledger.side, narrow), day("2027-03-08")
    for on in (monday, monday, monday + 1):
        slot, why = ledger.free_slot(book, sides, on, 3600, 0.0)
        assert slot is not None, why
        if on == monday + 1:
            assert ledger.free_slot(PartnerBook(), sides, monday, 3600, 0.0) == (None, R_BUSY)
        ledger.commit_timed(book, on, slot, 3600)
    assert ledger.free_slot(book, sides, monday, 3600, 0.0) == (None, R_CAPACITY)
    assert _search_start_by_start(ledger, book, sides, monday, 3600, 0.0) == (None, R_CAPACITY)


def test_a_day_one_partner_spends_elsewhere_stays_open_to_another_on_the_same_clock() -> None:
    """Partner A's all-day event refuses Monday for A only: partner B, with the very same
    hours and zone, still gets a start on it."""
    ledger = _ledger()
    narrow = side("Asia/Jerusalem", "IL", "15:00", "17:00")
    sides, monday = (ledger.side, narrow), day("2027-03-08")
    away = PartnerBook(all_day={monday})
    assert ledger.free_slot(away, sides, monday, 3600, 0.0) == (None, R_ALL_DAY)
    slot, why = ledger.free_slot(PartnerBook(), sides, monday, 3600, 0.0)
    assert slot is not None, why
