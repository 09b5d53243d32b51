"""Cadences and windows -> occurrences: the days each event of a rule may take.

Fiscal periods come from `program.fiscal_year_start`, or from the partner's
own `fiscal_year_start` when the rule says `fiscal_calendar: partner`. A
fiscal year is named by the calendar year it starts in (a year starting
2027-04-01 is FY2027); period texts read "Q1 2027" for calendar years and
"FY2027 Q1" otherwise.

Calendar cadences (annual, semiannual, quarterly, monthly, every N weeks)
have one occurrence per period:
- Without an anchored window, the periods that start inside the planning year
  are used, clipped to it, and narrowed to `in`/`between` when given (a period
  entirely outside them has no occurrence): `semiannual` with `in: [Q1, Q3]`
  gives one event in Q1 and one in Q3.
- With an anchored window (`after: quarter_end, from: 2w, to: 4w`), the anchor
  is taken from each period itself (`X_start`: the start of the X holding the
  period's first day; `X_end`: the end of the X holding its last day), and the
  periods whose window *starts* inside the planning year are used. So the
  quarterly reviews "2-4 weeks after each quarter closes" of a calendar year
  2027 are those of 2026 Q4, 2027 Q1, Q2 and Q3, and their keys name the quarter
  reviewed (`2026-q4`). A window is clipped to the planning year.

Count cadences (once, `N per year`, per_focus_area) split the planning year,
or the union of `in`/`between` periods, into N parts of equal length; an
anchored window is taken relative to each part. Without one, `N per year`
(N > 1) takes the middle half of each part as the window (the part is the
relaxation period), so the events are evenly spread: 2 per year fall around
April and October, not at the end of one half and the start of the next.

`dates` and `rrule` (RFC 5545, dtstart = first day of the planning year)
give exact days; `in`/`between` keep only the days inside them, anchored
windows do not apply. `every N weeks` steps from the first day of the year,
like `FREQ=WEEKLY;INTERVAL=N`; `monthly` steps fiscal months, like
`FREQ=MONTHLY` from the fiscal year start (tests hold both equal to rrule).

Each occurrence also carries a "relaxation period" (the period the window lies
in), which the placement may widen to when the window itself has no free day.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from dateutil.relativedelta import relativedelta

from chancal.models import Rule, Window
from chancal.planner.calendar import Ranges

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_GRANULARITY = {"year": 12, "half": 6, "quarter": 3, "month": 1}
_CADENCE_MONTHS = {"annual": 12, "semiannual": 6, "quarterly": 3, "monthly": 1}
_PERIOD_NAMES = {"Q1": (3, 0), "Q2": (3, 1), "Q3": (3, 2), "Q4": (3, 3), "H1": (6, 0), "H2": (6, 1)}


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One wanted event of a rule, before it has a day."""

    label: str  # key suffix ("2027-q1", "solution-selling"); "" for `once`
    period_text: str  # for agendas: "Q1 2027"
    window: Ranges  # allowed ordinals, clipped to the planning year; may be empty
    period: tuple[int, int]  # where the window may widen to (relaxation step 2)
    focus_area: str | None = None
    index: int = 1
    count: int = 1
    exact: bool = False  # an explicit date: prefer that very day


def slug(text: str) -> str:
    """Turn free text into a key segment: 'Cloud Migration (EU)' -> 'cloud-migration-eu'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "x"


@dataclass(frozen=True, slots=True)
class Fiscal:
    """Month boundaries of a fiscal calendar around the planning year."""

    base: date  # first day of the fiscal year holding the planning year's first day
    calendar_year: bool  # starts on 01-01: period texts need no "FY"
    months: tuple[int, ...]  # ordinals of month boundaries, base at index OFFSET
    OFFSET = 24

    def boundary(self, k: int) -> int:
        """Ordinal of the k-th month boundary after the base (k may be negative)."""
        return self.months[k + self.OFFSET]

    def boundaries(self, step: int) -> list[int]:
        """Sorted ordinals of every `step`-month boundary held."""
        return [self.months[i] for i in range(len(self.months)) if (i - self.OFFSET) % step == 0]

    def fiscal_year(self, k: int) -> int:
        """The name (start year) of the fiscal year holding month k."""
        return self.base.year + k // 12


@lru_cache(maxsize=256)
def fiscal(month_day: str, year_start: int) -> Fiscal:
    """Build the fiscal calendar starting on `month_day` around the planning year."""
    first = date.fromordinal(year_start)
    month, day = (int(x) for x in month_day.split("-"))
    base = date(first.year, month, day)
    if base > first:
        base = date(first.year - 1, month, day)
    months = tuple(
        (base + relativedelta(months=k)).toordinal()
        for k in range(-Fiscal.OFFSET, 3 * Fiscal.OFFSET)
    )
    return Fiscal(base, month_day == "01-01", months)


def _fy_text(cal: Fiscal, fy: int) -> str:
    return str(fy) if cal.calendar_year else f"FY{fy}"


def _clip(lo: int, hi: int, ys: int, ye: int) -> Ranges:
    lo, hi = max(lo, ys), min(hi, ye)
    return ((lo, hi),) if lo < hi else ()


def intersect(a: Ranges, b: Ranges) -> Ranges:
    """Intersect two sorted lists of half-open ranges."""
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _union(ranges: list[tuple[int, int]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def restriction(window: Window | None, cal: Fiscal, ys: int, ye: int) -> Ranges | None:
    """The days `in`/`between` allow (clipped to the year), or None when the window has neither."""
    if window is None:
        return None
    if window.between is not None:
        first, last = window.between
        return _clip(first.toordinal(), last.toordinal() + 1, ys, ye)
    if window.in_ is not None:
        parts: list[tuple[int, int]] = []
        for name in window.in_:
            step, index = _PERIOD_NAMES[name]
            # The named period of the fiscal year whose instance starts inside the planning year.
            for year in (0, 12, -12):
                k = year + step * index
                lo, hi = cal.boundary(k), cal.boundary(k + step)
                if ys <= lo < ye:
                    parts.extend(_clip(lo, hi, ys, ye))
                    break
        return _union(parts)
    return None


def _anchored(window: Window, cal: Fiscal, lo: int, hi: int) -> tuple[int, int]:
    """The window of a subject period [lo, hi) for an anchored window."""
    anchor = window.after or window.before
    assert anchor is not None and window.to is not None
    unit, edge = anchor.split("_")
    bounds = cal.boundaries(_GRANULARITY[unit])
    if edge == "start":
        a = bounds[bisect.bisect_right(bounds, lo) - 1]
    else:
        a = bounds[bisect.bisect_left(bounds, hi)]
    start, end = window.from_.days, window.to.days
    if window.after is not None:
        return a + start, a + max(end, start + 1)
    return a - max(end, start + 1), a - start


def _containing(cal: Fiscal, step: int, day: int, ys: int, ye: int) -> tuple[int, int]:
    bounds = cal.boundaries(step)
    i = bisect.bisect_right(bounds, day) - 1
    lo, hi = max(bounds[i], ys), min(bounds[i + 1], ye)
    return (lo, hi) if lo < hi else (ys, ye)


def _period_text(cal: Fiscal, step: int, k: int, lo: int) -> str:
    fy = cal.fiscal_year(k)
    if step == 12:
        return _fy_text(cal, fy)
    if step == 1:
        d = date.fromordinal(lo)
        return f"{MONTHS[d.month - 1]} {d.year}"
    n = (k % 12) // step + 1
    name = f"{'Q' if step == 3 else 'H'}{n}"
    return f"{name} {fy}" if cal.calendar_year else f"FY{fy} {name}"


def _label(cal: Fiscal, step: int, k: int, lo: int) -> str:
    fy = cal.fiscal_year(k)
    if step == 12:
        return str(fy)
    if step == 1:
        d = date.fromordinal(lo)
        return f"{d.year}-{d.month:02d}"
    return f"{fy}-{'q' if step == 3 else 'h'}{(k % 12) // step + 1}"


def occurrences(
    rule: Rule, cal: Fiscal, ys: int, ye: int, focus_areas: tuple[str, ...] = ()
) -> tuple[Occurrence, ...]:
    """Expand a rule into its occurrences in the planning year [ys, ye)."""
    window = rule.window
    limit = restriction(window, cal, ys, ye)
    anchored = window is not None and (window.after or window.before) is not None
    if rule.dates is not None or rule.rrule is not None:
        days = sorted(
            {d.toordinal() for d in rule.dates} if rule.dates else _rrule_days(rule, ys, ye)
        )
        inside = limit if limit is not None else ((ys, ye),)
        found = [d for d in days if ys <= d < ye and any(lo <= d < hi for lo, hi in inside)]
        return tuple(
            Occurrence(
                label=date.fromordinal(d).isoformat(),
                period_text=date.fromordinal(d).isoformat(),
                window=((d, d + 1),),
                period=(max(ys, d - 14), min(ye, d + 15)),
                index=i + 1,
                count=len(found),
                exact=True,
            )
            for i, d in enumerate(found)
        )
    cadence = rule.cadence
    assert cadence is not None
    if cadence.kind in _CADENCE_MONTHS or cadence.kind == "every_weeks":
        return _calendar(rule, cal, ys, ye, limit, anchored)
    count = {"once": 1, "per_year": cadence.n, "per_focus_area": len(focus_areas)}[cadence.kind]
    return _spread(rule, cal, ys, ye, limit, anchored, count, focus_areas)


def _rrule_days(rule: Rule, ys: int, ye: int) -> list[int]:
    from chancal.rrules import days

    assert rule.rrule is not None
    # Read as validation read it: a UTC UNTIL names a day; bounded even for a rule
    # that never picks a day.
    return [d.toordinal() for d in days(rule.rrule, date.fromordinal(ys), date.fromordinal(ye))]


def _calendar(
    rule: Rule, cal: Fiscal, ys: int, ye: int, limit: Ranges | None, anchored: bool
) -> tuple[Occurrence, ...]:
    assert rule.cadence is not None
    subjects: list[tuple[int, int, str, str]] = []  # lo, hi, label, period text
    if rule.cadence.kind == "every_weeks":
        step_days = 7 * rule.cadence.n
        first_year = date.fromordinal(ys).year
        for n, lo in enumerate(range(ys, ye, step_days)):
            hi = min(lo + step_days, ye)
            text = f"{date.fromordinal(lo)} to {date.fromordinal(hi - 1)}"
            subjects.append((lo, hi, f"{first_year}-n{n + 1:02d}", text))
        step = 1
    else:
        step = _CADENCE_MONTHS[rule.cadence.kind]
        # OFFSET (24) is a multiple of every step, so k stays on period boundaries.
        for k in range(-Fiscal.OFFSET, 2 * Fiscal.OFFSET + 1, step):
            lo, hi = cal.boundary(k), cal.boundary(k + step)
            if hi <= ys - 400 or lo >= ye + 400:
                continue
            subjects.append((lo, hi, _label(cal, step, k, lo), _period_text(cal, step, k, lo)))
    found: list[tuple[Ranges, tuple[int, int], str, str]] = []
    for lo, hi, label, text in subjects:
        if anchored:
            assert rule.window is not None
            wlo, whi = _anchored(rule.window, cal, lo, hi)
            if not ys <= wlo < ye:
                continue
            found.append(
                (_clip(wlo, whi, ys, ye), _containing(cal, step, wlo, ys, ye), label, text)
            )
        else:
            if not ys <= lo < ye:
                continue
            win = _clip(lo, hi, ys, ye)
            if limit is not None:
                win = intersect(win, limit)
                if not win:
                    continue
            found.append((win, (max(lo, ys), min(hi, ye)), label, text))
    return tuple(
        Occurrence(label, text, win, period, index=i + 1, count=len(found))
        for i, (win, period, label, text) in enumerate(found)
    )


def _spread(
    rule: Rule,
    cal: Fiscal,
    ys: int,
    ye: int,
    limit: Ranges | None,
    anchored: bool,
    count: int,
    focus_areas: tuple[str, ...],
) -> tuple[Occurrence, ...]:
    assert rule.cadence is not None
    base = limit if limit is not None else ((ys, ye),)
    days = [d for lo, hi in base for d in range(lo, hi)]
    if not days or count <= 0:
        return ()
    kind = rule.cadence.kind
    year = date.fromordinal(ys).year
    labels: list[str] = []
    seen: set[str] = set()
    for i in range(count):
        if kind == "per_focus_area":
            label = slug(focus_areas[i])
            while label in seen:  # two focus areas with the same slug
                label += "-2"
        elif kind == "once":
            label = ""
        else:
            label = f"{year}-n{i + 1:02d}"
        seen.add(label)
        labels.append(label)
    out: list[Occurrence] = []
    total = len(days)
    for i in range(count):
        part = days[i * total // count : max((i + 1) * total // count, i * total // count + 1)]
        lo, hi = part[0], part[-1] + 1
        if anchored:
            assert rule.window is not None
            wlo, whi = _anchored(rule.window, cal, lo, hi)
            win = _clip(wlo, whi, ys, ye)
            period = (max(ys, min(wlo, lo)), min(ye, max(whi, hi)))
        elif kind == "per_year" and count > 1:
            # "N per year, spread evenly": the middle half of each part, so that
            # consecutive events sit about a part apart instead of drifting
            # together at adjacent part edges; the whole part stays the period.
            quarter = (hi - lo) // 4
            win = intersect(((lo + quarter, hi - quarter),), base) or intersect(((lo, hi),), base)
            period = (lo, hi)
        else:
            win = intersect(((lo, hi),), base)
            period = (lo, hi)
        text = f"{i + 1} of {count}" if count > 1 else _fy_text(cal, cal.base.year)
        out.append(
            Occurrence(
                label=labels[i],
                period_text=text,
                window=win,
                period=period,
                focus_area=focus_areas[i] if kind == "per_focus_area" else None,
                index=i + 1,
                count=count,
            )
        )
    return tuple(out)
