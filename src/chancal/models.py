"""Pydantic shapes of the program file (format version 1): unknown keys refused, values frozen.

Field-level checks live here; checks that need the whole file (cross-references,
`extends` cycles, dates inside the planning year) live in `validation.py`.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from functools import cache
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from chancal.durations import DURATION_PATTERN, format_duration, parse_duration
from chancal.kinds import Mode, Purpose
from chancal.models_publish import PublishSettings
from chancal.rrules import check as check_rrule

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Direction = Literal["to_partner", "to_us", "two_way"]
Period = Literal["Q1", "Q2", "Q3", "Q4", "H1", "H2"]
Anchor = Literal["year_start", "year_end", "half_start", "half_end", "quarter_start", "quarter_end"]

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_TRAILING_YEAR = re.compile(r"[\s,:-]*(?:FY\s?)?\d{4}(?:[-/]\d{2,4})?\s*$", re.IGNORECASE)
_TRAILING_PROGRAM = re.compile(
    r"\s*(?:\b(?:channel|partner)\s+)?\bprogram(?:me)?\s*$", re.IGNORECASE
)
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
        and len(value) <= 254
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


def _no_bool(value: object) -> object:
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


Id = Annotated[str, AfterValidator(_check_id)]
ConferenceUrl = Annotated[
    str,
    AfterValidator(_check_conference),
    WithJsonSchema({"type": "string", "format": "uri", "pattern": "^https://[^\\s]+$"}),
]
# Numbers in the file: whole numbers only where whole numbers belong, never a boolean
# or a quoted number (pydantic alone reads `true` as 1 and "12" as 12).
Int = Annotated[int, Field(strict=True)]
Float = Annotated[float, BeforeValidator(_no_bool), Field(strict=True)]
RRule = Annotated[str, AfterValidator(check_rrule)]
TimeZone = Annotated[str, AfterValidator(_check_timezone)]
Email = Annotated[str, AfterValidator(_check_email)]
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


class Model(BaseModel):
    """Base for every shape of the file: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkingHours(Model):
    """A daily working window in the owner's own time zone."""

    start: ClockTime = time(9)
    end: ClockTime = time(17)

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError("working hours must end after they start")
        return self


class Blackout(Model):
    """Days (inclusive) when nothing may be scheduled."""

    start: date
    end: date | None = None
    reason: str

    @property
    def last(self) -> date:
        """The last blacked-out day."""
        return self.end or self.start

    @model_validator(mode="after")
    def _ordered(self) -> Blackout:
        if self.end is not None and self.end < self.start:
            raise ValueError("blackout ends before it starts")
        return self


class Capacity(Model):
    """A manager's weekly limits, across all their partners."""

    meetings_per_week: Int = Field(default=12, ge=1)
    hours_per_week: Float = Field(default=16, gt=0)


class Travel(Model):
    """How much a manager may travel."""

    site_visits_per_month: Int = Field(default=2, ge=0)


class Spacing(Model):
    """How closely events of one partner may follow each other."""

    max_per_week: Int = Field(default=1, ge=1)
    min_days_between: Int = Field(default=3, ge=0)


class Sharing(Model):
    """What each side agrees to bring to the information exchanges."""

    we_share: tuple[str, ...] = ()
    they_share: tuple[str, ...] = ()


class Contact(Model):
    """A person at the partner who is invited to events."""

    name: str
    email: Email
    role: str = "contact"


class Window(Model):
    """Where inside each occurrence's period an event may land.

    Either relative to an anchor (`after: quarter_end, from: 2w, to: 4w`;
    `before: year_end, to: 6w`), inside named periods (`in: [Q2, Q3]`),
    or between two fixed dates.
    """

    after: Anchor | None = None
    before: Anchor | None = None
    from_: Duration = Field(default=timedelta(0), alias="from")
    to: Duration | None = None
    in_: tuple[Period, ...] | None = Field(default=None, alias="in")
    between: tuple[date, date] | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_form(self) -> Window:
        forms = [
            self.after is not None or self.before is not None,
            self.in_ is not None,
            self.between is not None,
        ]
        if sum(forms) != 1:
            raise ValueError(
                "a window is one of: after/before an anchor with from/to, "
                "'in' named quarters or halves, or 'between' two dates"
            )
        if self.after is not None and self.before is not None:
            raise ValueError("a window is either 'after' or 'before' its anchor, not both")
        if (self.after or self.before) and self.to is None:
            raise ValueError("an anchored window needs 'to' (for example to: 4w)")
        if self.to is not None and self.to < self.from_:
            raise ValueError("window 'to' must not be smaller than 'from'")
        if self.between is not None and self.between[1] < self.between[0]:
            raise ValueError("window 'between' ends before it starts")
        return self


CADENCE_WORDS = ("once", "annual", "semiannual", "quarterly", "monthly", "per_focus_area")
_EVERY_WEEKS = re.compile(r"^every (\d+) weeks?$")
_PER_YEAR = re.compile(r"^(\d+) per year$")


class Cadence(Model):
    """How often a rule recurs, parsed from words such as `quarterly` or `every 2 weeks`."""

    kind: Literal[
        "once",
        "annual",
        "semiannual",
        "quarterly",
        "monthly",
        "per_focus_area",
        "every_weeks",
        "per_year",
    ]
    n: int = 1

    def __str__(self) -> str:
        if self.kind == "every_weeks":
            return f"every {self.n} weeks"
        if self.kind == "per_year":
            return f"{self.n} per year"
        return self.kind


def _parse_cadence(value: object) -> object:
    if not isinstance(value, str):
        return value
    text = " ".join(value.strip().lower().split())
    if text in CADENCE_WORDS:
        return {"kind": text}
    if m := _EVERY_WEEKS.match(text):
        if int(m[1]) < 1:
            raise ValueError("'every N weeks' needs N of at least 1")
        return {"kind": "every_weeks", "n": int(m[1])}
    if m := _PER_YEAR.match(text):
        if not 1 <= int(m[1]) <= 366:
            raise ValueError("'N per year' needs N between 1 and 366")
        return {"kind": "per_year", "n": int(m[1])}
    raise ValueError(
        f"unknown cadence '{value}'; use one of {', '.join(CADENCE_WORDS)}, "
        "'every N weeks' or 'N per year' (or give 'dates' or 'rrule' instead)"
    )


CadenceText = Annotated[
    Cadence,
    BeforeValidator(_parse_cadence),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "description": "once, annual, semiannual, quarterly, monthly, per_focus_area, "
            "'every N weeks' or 'N per year'",
        }
    ),
]


class FollowUp(Model):
    """Events that follow each occurrence of a rule, e.g. coaching 2w and 5w after a workshop."""

    kind: str
    after: tuple[Duration, ...] = Field(min_length=1)
    title: str | None = None
    duration: Duration | None = None
    mode: Mode | None = None
    agenda: str | None = None


class RuleFields(Model):
    """Every field of an interaction rule, all optional: the shape of a `change`."""

    kind: str | None = None
    title: str | None = None
    cadence: CadenceText | None = None
    dates: tuple[date, ...] | None = None
    rrule: RRule | None = None
    window: Window | None = None
    fiscal_calendar: Literal["program", "partner"] | None = None
    duration: Duration | None = None
    mode: Mode | None = None
    direction: Direction | None = None
    attendees: tuple[str, ...] | None = None
    agenda: str | None = None
    location: str | None = None
    conference: ConferenceUrl | None = None
    reminders: tuple[Duration, ...] | None = None
    follow_ups: tuple[FollowUp, ...] | None = None
    min_gap_from_accountability: Duration | None = None
    skip_months_with_accountability: bool | None = None


class RuleChange(RuleFields):
    """A partial edit of an inherited rule, found by its id."""

    id: Id

    @field_validator("*", mode="before")
    @classmethod
    def _not_empty(cls, value: object, info: ValidationInfo) -> object:
        # An empty value would clear the field of the inherited rule: `cadence: null`
        # left a rule that recurs no way at all, `kind: null` a rule of no kind.
        if value is None:
            raise ValueError(
                f"'{info.field_name}' is empty; give it a value or leave it out of the change"
            )
        return value

    @model_validator(mode="after")
    def _one_recurrence(self) -> RuleChange:
        given = [n for n in ("cadence", "dates", "rrule") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(
                "a change gives at most one of 'cadence', 'dates' or 'rrule' "
                f"(got {', '.join(given)})"
            )
        return self


class Rule(RuleFields):
    """One line of a tier's interaction plan.

    Exactly one of `cadence`, `dates` or `rrule` says when it recurs; unset
    optional fields fall back to the kind's defaults in the planner.
    """

    id: Id
    kind: str

    @model_validator(mode="after")
    def _one_recurrence(self) -> Rule:
        given = [n for n in ("cadence", "dates", "rrule") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                "a rule needs exactly one of 'cadence', 'dates' or 'rrule'"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class RuleEdits(Model):
    """Rules added, changed or dropped (by id) relative to what is inherited."""

    rules: tuple[Rule, ...] = ()
    change: tuple[RuleChange, ...] = ()
    drop: tuple[Id, ...] = ()


class CustomKind(Model):
    """A user-defined interaction kind; its purpose must be declared."""

    title: str
    purpose: Purpose
    duration: Duration = timedelta(hours=1)
    mode: Mode = "virtual"
    agenda: str | None = None
    review: bool = Field(
        default=False,
        description="an evaluation of the partner: the joint marketing strategy session "
        "keeps its strategy_gap from it, and the health check treats it as a review",
    )

    @model_validator(mode="after")
    def _review_is_accountability(self) -> CustomKind:
        # Evaluating the partner is accountability: a collaboration kind marked as a
        # review would be counted as collaboration by the health check's ratio while
        # keeping strategy sessions away like any other review.
        if self.review and self.purpose != "accountability":
            raise ValueError(
                "a review is accountability: set 'purpose: accountability' or drop 'review: true'"
            )
        return self


class SharedEvent(Model):
    """An event of the whole program with fixed dates, such as the partner conference."""

    id: Id
    kind: str = "partner_conference"
    title: str
    start: date
    end: date | None = None
    location: str = ""
    description: str = ""
    tiers: tuple[Id, ...] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> SharedEvent:
        if self.end is not None and self.end < self.start:
            raise ValueError("shared event ends before it starts")
        return self


REVIEW_TERMS = (
    "review",
    "evaluation",
    "scorecard",
    "target",
    "quota",
    "kpi",
    "performance",
)


class HealthThresholds(Model):
    """Thresholds of the health check (`chancal check`); defaults suit most programs."""

    min_collaboration_ratio: Float = Field(
        default=1.0,
        ge=0,
        description="collaboration must weigh at least this many times accountability, "
        "both by number of events and by hours (1.0: at least as much)",
    )
    max_events_per_week: Int = Field(
        default=2,
        ge=1,
        description="more events than this with one partner in one week is a pile-up",
    )
    default_max_silence: Duration = Field(
        default=timedelta(weeks=8),
        description="longest gap between two touchpoints of a partner whose tier sets "
        "no max_silence",
    )
    silence_tolerance: Float = Field(
        default=0.25,
        ge=0,
        description="a silence longer than the tier's max_silence by up to this fraction "
        "warns; a longer one fails",
    )
    min_coaching_per_focus_area: Int = Field(
        default=1,
        ge=0,
        description="coaching follow-ups each focus area's workshop needs",
    )
    min_information_exchanges: Int = Field(
        default=2,
        ge=1,
        description="agreed information exchange points each partner needs a year",
    )
    role_play_terms: tuple[str, ...] = Field(
        default=("role-play", "role play", "roleplay"),
        min_length=1,
        description="words that show a capability workshop's agenda includes role-play",
    )
    review_terms: tuple[str, ...] = Field(
        default=REVIEW_TERMS,
        description="words (whole words, plural allowed) that mark an agenda item of a "
        "joint marketing strategy session as an evaluation",
    )


class ProgramSettings(Model):
    """The planning year and the vendor-wide defaults."""

    name: str
    organization: str | None = Field(
        None,
        description="the vendor's own name, used in titles such as 'Northwind visits Contoso'; "
        "by default the program name without a trailing year and 'Channel/Partner Program'",
    )
    id: Id | None = None
    year: Int = Field(ge=2000, le=2100)
    fiscal_year_start: MonthDay = "01-01"
    timezone: TimeZone
    country: str
    subdivision: str | None = None
    location: str = ""
    conference: ConferenceUrl | None = None
    working_days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    working_hours: WorkingHours = WorkingHours()
    blackouts: tuple[Blackout, ...] = ()
    shared_events: tuple[SharedEvent, ...] = ()
    reminders: tuple[Duration, ...] = (timedelta(days=1),)
    capacity: Capacity = Capacity()
    travel: Travel = Travel()
    spacing: Spacing = Spacing()
    strategy_gap: Duration = timedelta(days=21)
    health: HealthThresholds = HealthThresholds()

    @property
    def vendor(self) -> str:
        """The vendor's name: `organization`, else derived from the program's name.

        "Contoso Channel Program 2027" reads "Contoso": a trailing year, then a
        trailing "Channel Program", "Partner Program" or "Program", are dropped;
        if nothing is left, the program's whole name is used.
        """
        if self.organization and self.organization.strip():
            return self.organization.strip()
        name = _TRAILING_PROGRAM.sub("", _TRAILING_YEAR.sub("", self.name))
        return name.strip(" -:,") or self.name

    @property
    def year_start(self) -> date:
        """The first day of the planning year."""
        month, day = (int(x) for x in self.fiscal_year_start.split("-"))
        return date(self.year, month, day)

    @property
    def year_end(self) -> date:
        """The day after the last day of the planning year."""
        start = self.year_start
        return start.replace(year=start.year + 1)


class Manager(Model):
    """A channel manager who owns partners."""

    id: Id
    name: str
    email: Email
    timezone: TimeZone
    country: str
    subdivision: str | None = None
    location: str = ""
    conference: ConferenceUrl | None = None
    working_days: tuple[Weekday, ...] | None = None
    working_hours: WorkingHours | None = None
    capacity: Capacity | None = None
    travel: Travel | None = None
    blackouts: tuple[Blackout, ...] = ()


class Tier(RuleEdits):
    """A level of relationship investment and the interaction plan its partners get."""

    id: Id
    description: str = ""
    rank: Int = Field(default=0, description="higher means more investment")
    extends: Id | None = None
    spacing: Spacing | None = None
    max_silence: Duration | None = None


class Partner(Model):
    """A distributor or reseller."""

    id: Id
    name: str
    tier: Id
    manager: Id
    country: str
    subdivision: str | None = None
    timezone: TimeZone
    location: str = ""
    conference: ConferenceUrl | None = None
    working_days: tuple[Weekday, ...] | None = None
    working_hours: WorkingHours | None = None
    fiscal_year_start: MonthDay | None = None
    contacts: tuple[Contact, ...] = ()
    focus_areas: tuple[str, ...] = ()
    sharing: Sharing = Sharing()
    blackouts: tuple[Blackout, ...] = ()
    overrides: RuleEdits = RuleEdits()


class Config(Model):
    """A whole program file."""

    version: Annotated[Literal[1], BeforeValidator(_no_bool)]
    program: ProgramSettings
    kinds: dict[Id, CustomKind] = Field(default_factory=dict)
    managers: tuple[Manager, ...] = Field(min_length=1)
    tiers: tuple[Tier, ...] = Field(min_length=1)
    partners: tuple[Partner, ...] = ()
    publish: PublishSettings = PublishSettings()
