"""The planned year: frozen values that exporters, the health check and the lock consume.

Nothing here knows about YAML or pydantic, so a test can build a `Plan` by hand.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from chancal.kinds import REVIEW_KINDS, Mode, Purpose
from chancal.pickling import by_fields


def make_uid(program_id: str, key: str) -> str:
    """Derive an event's UID from stable keys only, never from its date.

    Moving an event therefore updates it in subscribers' calendars instead of
    adding a second copy.
    """
    digest = hashlib.sha256(f"{program_id}\x00{key}".encode()).hexdigest()[:32]
    return f"{digest}@{program_id}.chancal"


Pins = Mapping[str, "date | datetime"]
"""Published starts by event key (from the lock): the planner keeps them while still allowed."""

ALL_DAY_HOURS = 8.0
"""What one all-day event day weighs against weekly hours (planner capacity, views, health)."""

Severity = Literal["info", "warning", "error"]
Status = Literal["CONFIRMED", "TENTATIVE", "CANCELLED"]


@by_fields
@dataclass(frozen=True, slots=True)
class Person:
    """Someone who organises or attends an event."""

    name: str
    email: str
    role: str = ""


@by_fields
@dataclass(frozen=True, slots=True)
class Timed:
    """A meeting's span: from one moment to another, both aware, in the event's zone.

    A separate type from `AllDay` (rather than a `date | datetime` pair) so code
    that must tell the two apart asks the span's type, and mypy knows what
    `start` and `end` hold on either side.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a timed span needs aware date-times")


@by_fields
@dataclass(frozen=True, slots=True)
class AllDay:
    """Whole days on the event's own calendar: `end` is exclusive, as in RFC 5545."""

    start: date
    end: date

    def __post_init__(self) -> None:
        # A datetime is a date too, so the type checker would let one in here.
        if type(self.start) is not date or type(self.end) is not date:
            raise TypeError("an all-day span holds dates, not date-times")


Span = Timed | AllDay
"""When an event takes place: a timed meeting or whole days."""


@by_fields
@dataclass(frozen=True, slots=True)
class Event:
    """One dated occurrence placed by the planner.

    `key` is stable across runs and independent of the date, e.g.
    `acme/qbr/2027-q2` or `acme/workshop/negotiation/coaching-1`; the UID is
    derived from the program id and the key. `span` says when: `Timed` (aware
    datetimes in `timezone`) or `AllDay` (dates, exclusive end); `timezone` is
    the event's own zone either way (an all-day event starts at its midnight).
    """

    key: str
    uid: str
    partner_id: str | None  # None for a program-wide shared event
    manager_id: str | None
    rule_id: str
    kind: str
    purpose: Purpose
    title: str
    span: Span
    timezone: str
    mode: Mode
    location: str = ""
    description: str = ""
    # A virtual event's meeting link (https), from the rule, partner, manager or program.
    conference: str = ""
    focus_area: str | None = None
    organizer: Person | None = None
    attendees: tuple[Person, ...] = ()
    reminders: tuple[timedelta, ...] = ()
    status: Status = "CONFIRMED"
    sequence: int = 0
    partner_ids: tuple[str, ...] = ()  # every partner who sees it (shared events: many)
    # DTSTAMP of the version subscribers already have (from the lock); None means
    # the feed's stamp. Unchanged events keep their old stamp so feeds stay byte-identical.
    stamp: datetime | None = None
    # Who travels to whom (the rule's `direction`); the health check needs it to
    # see site visits both ways. None when the rule gives no direction.
    direction: Literal["to_partner", "to_us", "two_way"] | None = None
    # The feeds this copy goes to, set when it is published (`chancal.publish`):
    # a partner moved to another manager leaves a CANCELLED copy in the old
    # manager's feed only. None: the event's `audience`.
    feeds: tuple[str, ...] | None = None

    @property
    def start(self) -> date | datetime:
        """The span's start, as published (a date if all-day); branch on `span` to tell which."""
        return self.span.start

    @property
    def end(self) -> date | datetime:
        """The span's end (exclusive for all-day events)."""
        return self.span.end

    @property
    def all_day(self) -> bool:
        """Whether the event takes whole days (its span is `AllDay`)."""
        return isinstance(self.span, AllDay)

    @property
    def day(self) -> date:
        """The first calendar day of the event, in its own time zone."""
        span = self.span
        return span.start.date() if isinstance(span, Timed) else span.start

    @property
    def viewers(self) -> tuple[str, ...]:
        """The partners who see the event: the invited (shared events) or its one partner."""
        if self.partner_ids:
            return self.partner_ids
        return (self.partner_id,) if self.partner_id else ()

    @property
    def start_instant(self) -> datetime:
        """When the event starts, in UTC (an all-day event: midnight in its own zone)."""
        span = self.span
        if isinstance(span, Timed):
            return span.start.astimezone(UTC)
        return datetime.combine(span.start, time(), _zone(self.timezone)).astimezone(UTC)

    @property
    def hours(self) -> float:
        """Working hours the event takes (an all-day event counts 8 hours a day)."""
        span = self.span
        if isinstance(span, Timed):
            return (span.end - span.start).total_seconds() / 3600
        return ALL_DAY_HOURS * (span.end - span.start).days


@by_fields
@dataclass(frozen=True, slots=True)
class Diagnostic:
    """Something the planner could not do as asked, and why."""

    severity: Severity
    code: str  # short stable slug, e.g. "window-widened", "no-allowed-day"
    message: str
    partner_id: str | None = None
    rule_id: str | None = None
    day: date | None = None


@dataclass(frozen=True, slots=True)
class PartnerInfo:
    """What feeds and views need to know about a partner."""

    id: str
    name: str
    tier: str
    manager_id: str
    country: str
    timezone: str
    focus_areas: tuple[str, ...] = ()
    we_share: tuple[str, ...] = ()
    they_share: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ManagerInfo:
    """What feeds and views need to know about a manager."""

    id: str
    name: str
    email: str
    timezone: str
    meetings_per_week: int
    hours_per_week: float
    site_visits_per_month: int
    # Weekday (Monday 0) the manager's working week starts on: capacity weeks start there.
    week_start: int = 0


ALL_FEED = "all"
"""The feed every event goes to (`all.ics`)."""

SHARED_KEY_PREFIX = "program"
"""The first part of a shared event's key (`program/<id>`); a partner's keys begin with its
id, so no partner may be called this (`chancal.validation` says so)."""


def feed_name(kind: Literal["partner", "manager"], ident: str) -> str:
    """Name a partner's or manager's feed: `partner/<id>` or `manager/<id>`."""
    return f"{kind}/{ident}"


def managers_of(partners: Iterable[PartnerInfo]) -> dict[str, str]:
    """Each partner's manager, by partner id: what `audience` needs to know of them."""
    return {p.id: p.manager_id for p in partners}


def audience(event: Event, manager_of: Mapping[str, str]) -> tuple[str, ...]:
    """Every feed the event goes to, sorted: all.ics, its partners' and its managers'.

    A partner's feed takes the partner's events and the shared events it is
    invited to; a manager's feed the events the manager owns and the shared
    events (such as the partner conference, which has no owner) that any of
    the manager's partners is invited to. `manager_of` maps partner ids to
    their managers. The one place that decides who sees an event.
    """
    if event.feeds is not None:
        return event.feeds
    feeds = {ALL_FEED}
    for pid in event.viewers:
        feeds.add(feed_name("partner", pid))
        if event.manager_id is None and pid in manager_of:
            feeds.add(feed_name("manager", manager_of[pid]))
    if event.manager_id is not None:
        feeds.add(feed_name("manager", event.manager_id))
    return tuple(sorted(feeds))


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def manager_date(event: Event, zone: str) -> date:
    """The date a manager in `zone` spends the event on (capacity weeks count by it).

    All-day events keep their dates; at an on-site meeting the manager is at the
    host's (the partner's, unless the partner visits us), so the event's own date.
    """
    span = event.span
    if isinstance(span, AllDay) or (event.mode == "on_site" and event.direction != "to_us"):
        return event.day
    return span.start.astimezone(ZoneInfo(zone)).date()


@dataclass(frozen=True, slots=True)
class TierInfo:
    """What the health check needs to know about a tier."""

    id: str
    description: str
    rank: int
    rule_kinds: tuple[str, ...]  # kinds of the tier's effective rules
    max_silence: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """All events of the planning year, sorted, plus diagnostics."""

    program_id: str
    program_name: str
    timezone: str
    year_start: date
    year_end: date  # exclusive
    events: tuple[Event, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    partners: tuple[PartnerInfo, ...] = ()
    managers: tuple[ManagerInfo, ...] = ()
    tiers: tuple[TierInfo, ...] = ()
    # Kinds that evaluate a partner (built-in reviews and custom kinds with `review: true`).
    review_kinds: tuple[str, ...] = REVIEW_KINDS

    @property
    def last_day(self) -> date:
        """The last day of the planning year (`year_end` is exclusive)."""
        return date.fromordinal(self.year_end.toordinal() - 1)

    def agenda(
        self, *, partner_id: str | None = None, manager_id: str | None = None
    ) -> tuple[Event, ...]:
        """The events on a partner's and/or a manager's agenda, in plan order.

        A partner's: the events it sees (shared ones it is invited to included).
        A manager's: the events they run and those their partners see.
        """
        mine = {p.id for p in self.partners if p.manager_id == manager_id}

        def shown(e: Event) -> bool:
            if partner_id is not None and partner_id not in e.viewers:
                return False
            return (
                manager_id is None or e.manager_id == manager_id or not mine.isdisjoint(e.viewers)
            )

        return tuple(e for e in self.events if shown(e))
