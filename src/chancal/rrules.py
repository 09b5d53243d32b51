"""A rule's `rrule`: one RFC 5545 recurrence rule that picks days, read the same way by
validation and by the planner.

chancal places at most one event of a rule on a day and chooses its time itself,
so a rule that repeats within a day (FREQ=SECONDLY, MINUTELY or HOURLY) or picks
times of day (BYHOUR, BYMINUTE, BYSECOND) is refused rather than planned twice.
`UNTIL` may be written as RFC 5545 requires (UTC, `UNTIL=20270630T000000Z`), as a
floating date-time or as a date: the planner works in days, so it is read as the
day it names.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dateutil.rrule import rrule

SUB_DAILY = ("SECONDLY", "MINUTELY", "HOURLY")
TIMES_OF_DAY = ("BYHOUR", "BYMINUTE", "BYSECOND")
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
