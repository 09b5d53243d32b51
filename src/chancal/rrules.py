"""A rule's `rrule`: one RFC 5545 recurrence rule that picks days, read the same way by
validation and by the planner.

chancal places at most one event of a rule on a day and chooses its time itself,
so a rule that repeats within a day (FREQ=SECONDLY, MINUTELY or HOURLY) or picks
times of day (BYHOUR, BYMINUTE, BYSECOND) is refused rather than planned twice.
`UNTIL` may be written as RFC 5545 requires (UTC, `UNTIL=20270630T000000Z`), as a
floating date-time or as a date: the planner works in days, so it is read as the
day it names.

`days` expands a rule over the planning year in bounded time. dateutil walks
period after period until it finds a day past the window, so a rule that never
picks another day (`FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30`) walked every day up to
the year 9999: ten seconds for one rule. The Gregorian calendar repeats every 400
years, weekdays included, so the rule is read 400 x INTERVAL x k years later,
near 9999, where that walk is short, and its days shifted back; a DAILY rule,
whose every day is its own period, is read as the YEARLY rule with the same
filters (one period a year), its INTERVAL, BYSETPOS, COUNT and UNTIL applied here.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dateutil.rrule import rrule

SUB_DAILY = ("SECONDLY", "MINUTELY", "HOURLY")
TIMES_OF_DAY = ("BYHOUR", "BYMINUTE", "BYSECOND")
# RFC 5545 numbers BYDAY (2TU, -1FR) only in a month or a year; dateutil silently
# drops the number in a week or a day, which would plan every Tuesday.
_NUMBERED_BYDAY_FREQS = ("MONTHLY", "YEARLY")
_ALL_WEEKDAYS = "MO,TU,WE,TH,FR,SA,SU"
_CYCLE = 400  # years after which the Gregorian calendar repeats (146,097 days: whole weeks)
_LAST_YEAR = 9999  # dateutil's walk ends here
HINT = "write it like FREQ=MONTHLY;BYDAY=2TU"


def _parts(text: str) -> tuple[str, dict[str, str]]:
    """Return the rule text without its `RRULE:` prefix, and its parts; ValueError if malformed."""
    body = text.strip()
    if body[:6].upper() == "RRULE:":
        body = body[6:]
    if not body:
        raise ValueError(f"the rrule is empty; {HINT}")
    parts: dict[str, str] = {}
    for part in body.split(";"):
        name, sep, value = part.partition("=")
        name = name.strip().upper()
        if not sep or not name or not value.strip():
            raise ValueError(f"'{part}' is not NAME=VALUE; {HINT}")
        if name in parts:
            raise ValueError(f"the rule gives {name} twice; give it once")
        parts[name] = value.strip()
    return body, parts


def check(text: str) -> str:
    """Return `text` if the planner can use it; raise ValueError saying why not."""
    body, parts = _parts(text)
    freq = parts.get("FREQ", "").upper()
    if freq in SUB_DAILY:
        raise ValueError(
            f"a rule that repeats within a day (FREQ={freq}) cannot be planned: a rule "
            "places at most one event a day; use DAILY, WEEKLY, MONTHLY or YEARLY"
        )
    for name in TIMES_OF_DAY:
        if name in parts:
            raise ValueError(
                f"times of day ({name}) are not the rule's to pick: chancal chooses each "
                f"event's time itself; remove {name}"
            )
    interval = parts.get("INTERVAL", "1")
    if not interval.isdigit() or int(interval) < 1:
        raise ValueError(f"the interval (INTERVAL={interval}) must be a whole number of at least 1")
    if "BYEASTER" in parts:
        raise ValueError("the BYEASTER part is not RFC 5545 and calendar apps ignore it; remove it")
    byday = parts.get("BYDAY", "")
    if freq not in _NUMBERED_BYDAY_FREQS and any(c.isdigit() for c in byday):
        raise ValueError(
            f"a numbered weekday (BYDAY={byday}) picks the n-th weekday of a month or a "
            "year: use it with FREQ=MONTHLY or FREQ=YEARLY"
        )
    try:
        parse(body, datetime(2000, 1, 1))
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"invalid RRULE: {exc}; {HINT}") from None
    return text


def parse(text: str, dtstart: datetime) -> rrule:
    """Return the rule of `text` from a floating `dtstart`, its UNTIL read as a day."""
    from dateutil.rrule import rrule, rrulestr

    body, parts = _parts(text)
    until = parts.get("UNTIL")
    if until is not None and until.upper().endswith("Z"):
        parts["UNTIL"] = until[:-1]
        body = ";".join(f"{name}={value}" for name, value in parts.items())
    found = rrulestr(body, dtstart=dtstart)
    if not isinstance(found, rrule):
        raise ValueError("give one recurrence rule, not a set")
    return found


@lru_cache(maxsize=256)
def days(text: str, start: date, end: date) -> tuple[date, ...]:
    """Return the days in [start, end) that a checked rule picks from dtstart `start`.

    In bounded time however rarely the rule picks a day (see the module's docstring);
    `end` must lie before the year 9000.
    """
    _, parts = _parts(text)
    if parts.get("FREQ", "").upper() != "DAILY":
        return _shifted(text, parts, start, end, int(parts.get("INTERVAL", "1")))
    # Each day is a period of its own: the filters alone (read as a YEARLY rule) decide
    # which days qualify; the interval, BYSETPOS, UNTIL and COUNT are applied here.
    keep = ("BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYDAY", "WKST")
    filters = {name: value for name, value in parts.items() if name in keep}
    filters.setdefault("BYDAY", _ALL_WEEKDAYS)
    yearly = ";".join(["FREQ=YEARLY", *(f"{k}={v}" for k, v in filters.items())])
    found = _shifted(yearly, {}, start, end, 1)
    interval = int(parts.get("INTERVAL", "1"))
    found = tuple(d for d in found if (d - start).days % interval == 0)
    setpos = parts.get("BYSETPOS")
    if setpos is not None and not {"1", "+1", "-1"} & {p.strip() for p in setpos.split(",")}:
        return ()  # a day's set holds one day: only position 1 (or -1) keeps it
    until = _until(parts)
    if until is not None:
        found = tuple(d for d in found if d <= until)
    if "COUNT" in parts:
        found = found[: int(parts["COUNT"])]
    return found


def _until(parts: dict[str, str]) -> date | None:
    """The day UNTIL names (a UTC, floating or date value is read as its day), or None."""
    if "UNTIL" not in parts:
        return None
    from dateutil import parser

    return parser.parse(parts["UNTIL"].upper().removesuffix("Z")).date()


def _shifted(
    text: str, parts: dict[str, str], start: date, end: date, interval: int
) -> tuple[date, ...]:
    """Expand `text` over [start, end) read 400 x interval x k years later, shifted back."""
    years = _CYCLE * interval
    shift = years * max(0, (_LAST_YEAR - 1 - end.year) // years)
    rule = parse(text, datetime(start.year + shift, start.month, start.day))
    until = _until(parts)
    if until is not None:
        # Clipped to the window first: only days inside it are asked for.
        until = min(until, end)
        rule = rule.replace(until=datetime(until.year + shift, until.month, until.day, 23, 59))
    first = datetime(start.year + shift, start.month, start.day)
    last = datetime(end.year + shift, end.month, end.day)
    return tuple(
        date(d.year - shift, d.month, d.day)
        for d in rule.between(first, last, inc=True)
        if d < last
    )
