"""Cadences and windows expand into the expected occurrence windows (literal tables)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from dateutil.rrule import rrulestr

from chancal.models import Rule
from chancal.planner.recurrence import fiscal, occurrences

ORD = date.toordinal


def _rule(**fields: object) -> Rule:
    return Rule.model_validate({"id": "r", "kind": "quarterly_business_review", **fields})


def _expand(
    rule: Rule, year: int = 2027, fy: str = "01-01", focus: tuple[str, ...] = ()
) -> list[tuple[str, str, str]]:
    md = [int(x) for x in fy.split("-")]
    ys = date(year, md[0], md[1])
    ye = ys.replace(year=year + 1)
    cal = fiscal(fy, ORD(ys))
    return [
        (
            o.label,
            date.fromordinal(o.window[0][0]).isoformat(),
            date.fromordinal(o.window[-1][1] - 1).isoformat(),
        )
        for o in occurrences(rule, cal, ORD(ys), ORD(ye), focus)
    ]


@pytest.mark.parametrize(
    ("fields", "fy", "expected"),
    [
        (
            {"cadence": "quarterly", "window": {"after": "quarter_end", "from": "2w", "to": "4w"}},
            "01-01",
            [
                ("2026-q4", "2027-01-15", "2027-01-28"),
                ("2027-q1", "2027-04-15", "2027-04-28"),
                ("2027-q2", "2027-07-15", "2027-07-28"),
                ("2027-q3", "2027-10-15", "2027-10-28"),
            ],
        ),
        (  # fiscal year starting 1 April: FY2027 runs 2027-04-01 to 2028-03-31
            {"cadence": "quarterly", "window": {"after": "quarter_end", "from": "2w", "to": "4w"}},
            "04-01",
            [
                ("2026-q4", "2027-04-15", "2027-04-28"),
                ("2027-q1", "2027-07-15", "2027-07-28"),
                ("2027-q2", "2027-10-15", "2027-10-28"),
                ("2027-q3", "2028-01-15", "2028-01-28"),
            ],
        ),
        (
            {"cadence": "annual", "window": {"before": "year_end", "from": "0d", "to": "6w"}},
            "01-01",
            [("2027", "2027-11-20", "2027-12-31")],
        ),
        (
            {"cadence": "semiannual", "window": {"after": "half_end", "from": "2w", "to": "5w"}},
            "01-01",
            [("2026-h2", "2027-01-15", "2027-02-04"), ("2027-h1", "2027-07-15", "2027-08-04")],
        ),
        (
            {"cadence": "semiannual", "window": {"in": ["Q1", "Q3"]}},
            "01-01",
            [("2027-h1", "2027-01-01", "2027-03-31"), ("2027-h2", "2027-07-01", "2027-09-30")],
        ),
        (
            {"cadence": "once", "window": {"in": ["Q2"]}},
            "01-01",
            [("", "2027-04-01", "2027-06-30")],
        ),
        (
            {"cadence": "once", "window": {"in": ["H1"]}},
            "04-01",
            [("", "2027-04-01", "2027-09-30")],
        ),
        (
            {"cadence": "2 per year"},
            "01-01",
            # The middle half of each half year (Jan 1-Jul 1 and Jul 2-Dec 31).
            [("2027-n01", "2027-02-15", "2027-05-17"), ("2027-n02", "2027-08-16", "2027-11-16")],
        ),
        (
            {"cadence": "quarterly", "window": {"between": ["2027-02-01", "2027-05-15"]}},
            "01-01",
            [("2027-q1", "2027-02-01", "2027-03-31"), ("2027-q2", "2027-04-01", "2027-05-15")],
        ),
        (
            {"dates": ["2027-03-15", "2027-09-01"]},
            "01-01",
            [
                ("2027-03-15", "2027-03-15", "2027-03-15"),
                ("2027-09-01", "2027-09-01", "2027-09-01"),
            ],
        ),
    ],
)
def test_windows(fields: dict[str, object], fy: str, expected: list[tuple[str, str, str]]) -> None:
    """Each cadence and window gives these occurrence labels and first/last window days."""
    assert _expand(_rule(**fields), fy=fy) == expected


def test_leap_year_per_year_splits_366_days() -> None:
    """In 2028 (a leap year) '3 per year' splits 366 days into three parts of 122 (the
    relaxation periods); each window is the middle half of its part."""
    assert _expand(_rule(cadence="3 per year"), year=2028) == [
        ("2028-n01", "2028-01-31", "2028-04-01"),
        ("2028-n02", "2028-06-01", "2028-08-01"),
        ("2028-n03", "2028-10-01", "2028-12-01"),
    ]
    cal = fiscal("01-01", ORD(date(2028, 1, 1)))
    found = occurrences(
        _rule(cadence="3 per year"), cal, ORD(date(2028, 1, 1)), ORD(date(2029, 1, 1))
    )
    assert [
        (date.fromordinal(o.period[0]).isoformat(), date.fromordinal(o.period[1] - 1).isoformat())
        for o in found
    ] == [("2028-01-01", "2028-05-01"), ("2028-05-02", "2028-08-31"), ("2028-09-01", "2028-12-31")]


def test_leap_day_is_a_valid_explicit_date() -> None:
    """An explicit 2028-02-29 is an occurrence of the 2028 plan."""
    assert _expand(_rule(dates=["2028-02-29"]), year=2028) == [
        ("2028-02-29", "2028-02-29", "2028-02-29")
    ]


def test_per_focus_area_names_each_area() -> None:
    """One occurrence per focus area, keyed by its slug, spread over the year."""
    assert _expand(_rule(cadence="per_focus_area"), focus=("Solution Selling", "Cloud (EU)")) == [
        ("solution-selling", "2027-01-01", "2027-07-01"),
        ("cloud-eu", "2027-07-02", "2027-12-31"),
    ]


def test_per_focus_area_without_areas_is_empty() -> None:
    """A partner without focus areas gets no workshop occurrence."""
    assert _expand(_rule(cadence="per_focus_area")) == []


@pytest.mark.parametrize(
    ("cadence", "rrule", "fy"),
    [
        ("every 2 weeks", "FREQ=WEEKLY;INTERVAL=2", "01-01"),
        ("every 6 weeks", "FREQ=WEEKLY;INTERVAL=6", "04-01"),
        ("monthly", "FREQ=MONTHLY", "01-01"),
        ("monthly", "FREQ=MONTHLY", "04-01"),
        ("quarterly", "FREQ=MONTHLY;INTERVAL=3", "07-01"),
    ],
)
def test_stepped_cadences_equal_rrule(cadence: str, rrule: str, fy: str) -> None:
    """Cadences stepped directly start their periods where the equivalent RRULE lands."""
    month, day = (int(x) for x in fy.split("-"))
    ys = date(2027, month, day)
    ye = ys.replace(year=2028)
    cal = fiscal(fy, ORD(ys))
    stepped = [o.window[0][0] for o in occurrences(_rule(cadence=cadence), cal, ORD(ys), ORD(ye))]
    start = datetime(ys.year, ys.month, ys.day)
    expected = [d.toordinal() for d in rrulestr(rrule, dtstart=start) if d.date() < ye]
    assert stepped == expected


def test_rrule_rule_gives_exact_days() -> None:
    """A raw RRULE gives one exact-day occurrence per date it produces in the year."""
    found = _expand(_rule(rrule="FREQ=MONTHLY;BYDAY=2TU;BYMONTH=1,6"))
    assert [f[0] for f in found] == ["2027-01-12", "2027-06-08"]


def test_partner_fiscal_calendar_anchors_reviews_to_its_quarters() -> None:
    """A July-June partner's quarter ends (Sep, Dec, Mar, Jun) anchor its reviews."""
    rule = _rule(
        cadence="quarterly",
        window={"after": "quarter_end", "from": "2w", "to": "4w"},
        fiscal_calendar="partner",
    )
    ys, ye = ORD(date(2027, 1, 1)), ORD(date(2028, 1, 1))
    found = occurrences(rule, fiscal("07-01", ys), ys, ye)
    assert [(o.label, date.fromordinal(o.window[0][0]).isoformat()) for o in found] == [
        ("2026-q2", "2027-01-15"),
        ("2026-q3", "2027-04-15"),
        ("2026-q4", "2027-07-15"),
        ("2027-q1", "2027-10-15"),
    ]
    assert [o.period_text for o in found] == ["FY2026 Q2", "FY2026 Q3", "FY2026 Q4", "FY2027 Q1"]
