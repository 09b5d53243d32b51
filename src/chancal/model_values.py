"""The values of the program file: ids, names and texts with their limits, emails, time
zones, clock times, durations, month-days and meeting links, each read strictly.

The models in `models.py` are built from these; a value's own check lives here,
a check that needs the whole file lives in `validation.py`.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from functools import cache
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
)

from chancal import limits
from chancal.durations import DURATION_PATTERN, format_duration, parse_duration
from chancal.rrules import check as check_rrule

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_MONTH_DAY = re.compile(r"^(\d\d)-(\d\d)$")
# A time of day as the file writes it, shared with the JSON Schema: HH:MM, 00:00 to 23:59.
CLOCK_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_CLOCK = re.compile(CLOCK_PATTERN)


def _check_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError(
            f"'{value}' is not a valid id; use lower-case letters, digits, '-' and '_'"
            " (for example 'acme-eu')"
        )
    return value


# Names already found valid: ZoneInfo keeps only a few zones alive, so a program
# with partners in 30 zones would otherwise read zone files again and again.
_KNOWN_ZONES: set[str] = set()


@cache
def _iana_zones() -> frozenset[str]:
    """Return the IANA zone names (tzdata's list): not `localtime`, not a path."""
    from importlib import resources

    try:
        return frozenset(resources.files("tzdata").joinpath("zones").read_text("utf-8").split())
    except (ModuleNotFoundError, OSError):  # pragma: no cover - tzdata is a dependency
        from zoneinfo import available_timezones

        return frozenset(available_timezones() - {"localtime"})


def _check_timezone(value: str) -> str:
    if value in _KNOWN_ZONES:
        return value
    # Only IANA names: ZoneInfo alone also takes `localtime` (the machine's own zone,
    # different on every computer) and paths into the zone folder.
    if value not in _iana_zones():
        raise ValueError(f"unknown time zone '{value}'; use an IANA name such as 'Europe/Berlin'")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - listed but unreadable
        raise ValueError(f"time zone '{value}' cannot be read; reinstall tzdata") from None
    _KNOWN_ZONES.add(value)
    return value


# An address as mail and calendar software take it (RFC 5321/5322 dot-atom, no quoted
# local parts, no IP literals): a local part of letters, digits and !#$%&'*+/=?^_`{|}~-
# in dot-separated runs, then a domain name of two or more labels. Non-ASCII letters
# are allowed (internationalised addresses). Neither pattern can backtrack: a dot
# never matches inside a run, and lengths are checked before matching.
_LOCAL = re.compile(r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*")
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+{_LABEL}")


def _check_email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not (
        at
        and len(value) <= limits.MAX_EMAIL
        and 0 < len(local) <= 64
        and _LOCAL.fullmatch(local)
        and _DOMAIN.fullmatch(domain)
        and not domain.rpartition(".")[2].isdigit()
        and "_" not in domain
    ):
        raise ValueError(
            f"'{value}' is not an email address; write it like name@example.com (no spaces, "
            "quotes or ;,:\\ characters, up to 64 characters before the @)"
        )
    return value


def _check_month_day(value: str) -> str:
    match = _MONTH_DAY.fullmatch(value)
    if not match:
        raise ValueError(f"'{value}' is not a month and day; write it as MM-DD, e.g. 04-01")
    month, day = int(match[1]), int(match[2])
    try:
        # 2001 is not a leap year, so 02-29 is refused: a fiscal year must start every year.
        date(2001, month, day)
    except ValueError:
        raise ValueError(f"'{value}' is not a day of the year") from None
    return value


def _parse_clock(value: object) -> object:
    # Only HH:MM, as the schema says: pydantic alone would also take seconds,
    # a UTC offset or a number of seconds since midnight.
    if isinstance(value, time):
        return value
    if isinstance(value, str) and _CLOCK.fullmatch(value):
        return time(int(value[:2]), int(value[3:]))
    raise ValueError(f"'{value}' is not a time of day; write it as HH:MM, e.g. 09:00")


def _format_clock(value: time) -> str:
    return value.strftime("%H:%M")


def no_bool(value: object) -> object:
    # YAML `true` is 1 to Python: `version: true` or `year: yes` must not pass as a number.
    if isinstance(value, bool):
        raise ValueError(f"'{str(value).lower()}' is not a number; write a number")
    return value


def _parse_duration_value(value: object) -> object:
    # Text as the schema describes it, or a timedelta from Python: pydantic alone
    # would read a number (YAML `duration: 1.5`) as seconds.
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"'{value}' has no unit; write it like 30m, 1h30m, 2d or 6w")
    raise ValueError(f"'{value}' is not a duration; write it like 30m, 1h30m, 2d or 6w")


def _check_conference(value: str) -> str:
    # A link subscribers click: https only, no spaces, a host to go to.
    try:
        host = urlsplit(value).hostname if value.startswith("https://") else None
    except ValueError:  # e.g. an unclosed [ of an IPv6 address
        host = None
    if not host or any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError(
            f"'{value}' is not an https meeting link; write the full address, "
            "for example https://zoom.us/j/123456789"
        )
    return value


Id = Annotated[str, Field(max_length=limits.MAX_ID), AfterValidator(_check_id)]
ConferenceUrl = Annotated[
    str,
    Field(max_length=limits.MAX_URL),
    AfterValidator(_check_conference),
    WithJsonSchema(
        {
            "type": "string",
            "format": "uri",
            "pattern": "^https://[^\\s]+$",
            "maxLength": limits.MAX_URL,
        }
    ),
]
# Numbers in the file: whole numbers only where whole numbers belong, never a boolean
# or a quoted number (pydantic alone reads `true` as 1 and "12" as 12).
Int = Annotated[int, Field(strict=True)]
Float = Annotated[float, BeforeValidator(no_bool), Field(strict=True)]
RRule = Annotated[str, Field(max_length=limits.MAX_RRULE), AfterValidator(check_rrule)]
TimeZone = Annotated[str, Field(max_length=limits.MAX_ID), AfterValidator(_check_timezone)]
Email = Annotated[str, Field(max_length=limits.MAX_EMAIL), AfterValidator(_check_email)]
MonthDay = Annotated[str, AfterValidator(_check_month_day)]
Duration = Annotated[
    timedelta,
    BeforeValidator(_parse_duration_value),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN}),
]
ClockTime = Annotated[
    time,
    PlainValidator(_parse_clock),
    PlainSerializer(_format_clock, return_type=str),
    WithJsonSchema({"type": "string", "pattern": CLOCK_PATTERN}),
]

# Texts, with the limits of `limits.py`: pydantic's own max_length, so the JSON Schema
# shows them (maxLength) and a long value is refused before any other check reads it.
Name = Annotated[str, Field(max_length=limits.MAX_NAME)]
Label = Annotated[str, Field(max_length=limits.MAX_LABEL)]
Location = Annotated[str, Field(max_length=limits.MAX_LOCATION)]
Text = Annotated[str, Field(max_length=limits.MAX_TEXT)]
