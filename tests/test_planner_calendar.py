"""Allowed days and start times: working weeks, holidays, blackouts, DST and time-zone overlap."""

from __future__ import annotations

from datetime import date, time

import pytest

from chancal.models import Blackout
from chancal.planner.calendar import Side, blackout_ranges, day_table, weekday_mask
from chancal.planner.hours import HoursSig, local_datetime, slots

YS, YE = date(2027, 1, 1).toordinal(), date(2028, 1, 1).toordinal()
MON_FRI = weekday_mask(["mon", "tue", "wed", "thu", "fri"])
SUN_THU = weekday_mask(["sun", "mon", "tue", "wed", "thu"])


def _table(*sides: Side, blackouts: tuple[tuple[int, int], ...] = ()) -> object:
    return day_table(YS, YE, sides, blackouts)


@pytest.mark.parametrize(
    ("partner", "day", "allowed"),
    [
        (Side(MON_FRI, "US", None, ()), date(2027, 7, 5), False),  # Independence Day observed
        (Side(MON_FRI, "US", None, ()), date(2027, 7, 6), True),
        (Side(MON_FRI, "DE", "BY", ()), date(2027, 1, 6), False),  # Epiphany in Bavaria only
        (Side(MON_FRI, "DE", "HH", ()), date(2027, 1, 6), True),
        (Side(MON_FRI, "DE", None, ()), date(2027, 5, 17), False),  # Whit Monday
        (Side(SUN_THU, "IL", None, ()), date(2027, 1, 3), False),  # Sunday: the manager is off
        (Side(SUN_THU, "IL", None, ()), date(2027, 1, 8), False),  # Friday: the partner is off
        (Side(SUN_THU, "IL", None, ()), date(2027, 1, 7), True),  # Thursday: both work
    ],
)
def test_allowed_days_need_both_sides(partner: Side, day: date, allowed: bool) -> None:
    """A day is allowed only when both work it and it is a holiday for neither."""
    manager = Side(MON_FRI, "GB", "ENG", ())
    table = day_table(YS, YE, (manager, partner), ())
    assert table.is_allowed(day.toordinal()) is allowed


def test_manager_holiday_closes_the_day() -> None:
    """The manager's public holiday (US Thanksgiving) is closed for a German partner too."""
    table = day_table(YS, YE, (Side(MON_FRI, "US", None, ()), Side(MON_FRI, "DE", None, ())), ())
    assert not table.is_allowed(date(2027, 11, 25).toordinal())


def test_blackouts_are_inclusive_and_runs_count_consecutive_days() -> None:
    """Blackout days are closed and a 2-day run needs two consecutive allowed days."""
    blackout = Blackout(start=date(2027, 3, 2), end=date(2027, 3, 3), reason="freeze")
    side = Side(MON_FRI, "US", None, blackout_ranges([blackout]))
    table = day_table(YS, YE, (side,), ())
    assert [table.is_allowed(date(2027, 3, d).toordinal()) for d in range(1, 6)] == [
        True,
        False,
        False,
        True,
        True,
    ]
    assert table.fits(date(2027, 3, 4).toordinal(), 2)  # Thu-Fri
    assert not table.fits(date(2027, 3, 5).toordinal(), 2)  # Fri-Sat
    assert not table.fits(date(2027, 3, 1).toordinal(), 2)  # Mon, then a blackout


BERLIN_NY = HoursSig("Europe/Berlin", time(9), time(17), "America/New_York", time(9), time(17))


@pytest.mark.parametrize(
    ("day", "berlin_starts"),
    [
        (date(2027, 3, 10), ["15:00", "15:30", "16:00"]),  # both on winter time: 6 h apart
        (date(2027, 3, 17), ["14:00", "14:30", "15:00", "15:30", "16:00"]),  # US on DST: 5 h
        (date(2027, 3, 31), ["15:00", "15:30", "16:00"]),  # both on summer time
        (date(2027, 11, 3), ["14:00", "14:30", "15:00", "15:30", "16:00"]),  # EU back first
        (date(2027, 11, 10), ["15:00", "15:30", "16:00"]),
    ],
)
def test_overlap_follows_each_zones_dst(day: date, berlin_starts: list[str]) -> None:
    """One-hour starts lie in both working days, computed in each zone on that date."""
    found = slots(BERLIN_NY, day.toordinal(), 3600)
    assert found.common
    assert [local_datetime(s, "Europe/Berlin").strftime("%H:%M") for s in found.starts] == (
        berlin_starts
    )


def test_event_longer_than_the_overlap_starts_inside_it() -> None:
    """A 3-hour event with a 2-hour overlap starts at the overlap's first half hour."""
    found = slots(BERLIN_NY, date(2027, 3, 10).toordinal(), 3 * 3600)
    assert [local_datetime(s, "Europe/Berlin").strftime("%H:%M") for s in found.starts] == ["15:00"]


def test_no_common_hours_takes_the_fairest_slot() -> None:
    """Tokyo and New York share no hour: the slot reaches equally beyond both days."""
    sig = HoursSig("Asia/Tokyo", time(9), time(17), "America/New_York", time(9), time(17))
    found = slots(sig, date(2027, 3, 10).toordinal(), 3600)
    assert not found.common
    assert [local_datetime(s, "Asia/Tokyo").strftime("%H:%M") for s in found.starts] == ["19:30"]
    assert [local_datetime(s, "America/New_York").strftime("%H:%M") for s in found.starts] == [
        "05:30"
    ]


@pytest.mark.parametrize(
    "blackouts",
    [
        ((date(2027, 3, 1), date(2027, 3, 5)),),
        ((date(2026, 12, 20), date(2027, 1, 10)), (date(2027, 12, 28), date(2028, 1, 3))),
        ((date(2027, 6, 1), date(2027, 6, 20)), (date(2027, 6, 10), date(2027, 6, 30))),
        ((date(2027, 8, 2), date(2027, 8, 2)), (date(2027, 8, 4), date(2027, 8, 4))),
    ],
)
def test_a_table_with_own_blackouts_equals_one_built_day_by_day(
    blackouts: tuple[tuple[date, date], ...],
) -> None:
    """Deriving a partner's table from its weeks-and-holidays table (closing its blackouts)
    gives the same allowed days, runs and day list as building it from scratch."""
    from chancal.planner.calendar import _day_table

    ranges = tuple((a.toordinal(), b.toordinal() + 1) for a, b in blackouts)
    sides = (Side(MON_FRI, "US", "MA", ()), Side(SUN_THU, "IL", None, ranges))
    extra = ((date(2027, 7, 1).toordinal(), date(2027, 7, 3).toordinal()),)
    assert day_table(YS, YE, sides, extra) == _day_table(YS, YE, sides, extra)


@pytest.mark.parametrize(
    ("zone", "at"),
    [
        ("Europe/Berlin", time(2, 30)),  # inside the spring-forward gap on one day
        ("America/New_York", time(1, 30)),  # ambiguous on the fall-back day
        ("Australia/Sydney", time(9, 0)),
        ("America/Santiago", time(23, 30)),
        ("Asia/Kolkata", time(9, 0)),
    ],
)
def test_instants_stepped_by_week_equal_day_by_day(zone: str, at: time) -> None:
    """The cached UTC instants of a wall-clock time, filled in between weekly samples where
    the offset holds, equal the instants computed day by day through every DST change."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from chancal.planner.hours import _BLOCK, _instants

    tz = ZoneInfo(zone)
    for block in range(YS // _BLOCK, YE // _BLOCK + 1):
        exact = tuple(
            int(datetime.combine(date.fromordinal(block * _BLOCK + i), at, tz).timestamp())
            for i in range(_BLOCK)
        )
        assert _instants(zone, at, block) == exact


NINE, FIVE = time(9, 0), time(17, 0)


@pytest.mark.parametrize(
    ("a", "b", "shared"),
    [
        ("Europe/Paris", "Europe/Berlin", True),  # one EU rule: same offsets all year
        ("America/New_York", "America/Toronto", True),
        ("Europe/London", "Europe/Lisbon", True),
        ("Europe/Paris", "Europe/London", False),  # an hour apart
        ("America/Chicago", "America/Mexico_City", False),  # same winter, no DST in Mexico
        ("Asia/Kolkata", "Asia/Colombo", True),
        ("Australia/Sydney", "Australia/Brisbane", False),  # Brisbane keeps no DST
    ],
)
def test_zones_with_equal_offsets_all_year_share_start_times(a: str, b: str, shared: bool) -> None:
    """Partners in zones with the same UTC offsets at every instant of the year share their
    start-time caches (same_clock keys them alike); any difference keeps them apart, and
    sharing is only claimed where every day's candidate starts really are equal."""
    from chancal.planner.hours import same_clock

    sig_a = HoursSig(a, NINE, FIVE, "America/New_York", NINE, FIVE)
    sig_b = HoursSig(b, NINE, FIVE, "America/New_York", NINE, FIVE)
    assert (same_clock(sig_a, YS, YE) == same_clock(sig_b, YS, YE)) is shared
    if shared:
        for day in range(YS, YE):
            assert slots(sig_a, day, 3600) == slots(sig_b, day, 3600)


def test_offset_history_records_each_change_to_the_second() -> None:
    """The offset history of New York in 2027: EST, then EDT from 2027-03-14 07:00 UTC, then
    EST again from 2027-11-07 06:00 UTC (2 a.m. local both times)."""
    from chancal.planner.hours import _offsets

    spring = 1805007600  # 2027-03-14T07:00:00Z
    autumn = 1825567200  # 2027-11-07T06:00:00Z
    assert _offsets("America/New_York", YS, YE) == (-18000, spring, -14400, autumn, -18000)
