"""Pydantic shapes of the program file's `publish` section: where `chancal publish` pushes.

Kept apart from `models.py` (which adds the one `publish` field to `Config`)
so the shapes of the plan and of its destinations change independently.
Whether a mapped partner or manager exists needs the whole file: that check
is in `validation.py`.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

# http(s), a host, no user:password@, query, fragment or white space; the path may hold '@'
# (Fastmail's calendars live under /dav/calendars/user/me@fastmail.com/).
CALENDAR_URL_PATTERN = r"^https?://[^\s/@?#]+(/[^\s?#]*)?$"


def check_calendar_url(value: str) -> str:
    """Return `value` if it is an http(s) address of a CalDAV collection; else raise ValueError.

    Credentials never go in an address: they would sit in the program file (or
    on the command line) and in every message that names the URL.
    """
    try:
        parts = urlsplit(value)
        host = parts.hostname if parts.scheme in ("http", "https") else None
    except ValueError:  # e.g. an unclosed [ of an IPv6 address
        host = None
    if host and (parts.username is not None or parts.password is not None):
        raise ValueError(
            "a CalDAV address must not hold a user name or password; set "
            "CHANCAL_CALDAV_USER and CHANCAL_CALDAV_PASSWORD (or ~/.netrc) instead"
        )
    if (
        not host
        or parts.query
        or parts.fragment
        or any(c.isspace() or not c.isprintable() for c in value)
    ):
        raise ValueError(
            f"'{value}' is not an http(s) address of a calendar; write the full address, "
            "for example https://dav.example.com/calendars/ops/"
        )
    return value


CalendarUrl = Annotated[
    str,
    AfterValidator(check_calendar_url),
    WithJsonSchema({"type": "string", "format": "uri", "pattern": CALENDAR_URL_PATTERN}),
]


class _Model(BaseModel):
    # As `models.Model`: unknown keys are errors, values are frozen.
    model_config = ConfigDict(extra="forbid", frozen=True)


class CaldavCalendars(_Model):
    """Existing calendars to use instead of the ones chancal makes, by partner and manager id."""

    partners: dict[str, CalendarUrl] = Field(
        default_factory=dict,
        description="partner id -> the URL of an existing calendar for that partner's events",
    )
    managers: dict[str, CalendarUrl] = Field(
        default_factory=dict,
        description="manager id -> the URL of an existing calendar for that manager's events",
    )


class CaldavSettings(_Model):
    """Where `chancal publish` pushes the year, so `--caldav` can be left out."""

    url: CalendarUrl | None = Field(
        default=None,
        description="the collection under which chancal makes partner-<id>/ and manager-<id>/",
    )
    calendars: CaldavCalendars = CaldavCalendars()


class PublishSettings(_Model):
    """Destinations of `chancal publish`."""

    caldav: CaldavSettings = CaldavSettings()
