"""Pydantic shapes of the program file (format version 1): unknown keys refused, values frozen.

Field-level checks live here; checks that need the whole file (cross-references,
`extends` cycles, dates inside the planning year) live in `validation.py`.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from chancal import limits
from chancal.kinds import Mode, Purpose
from chancal.model_values import (
    ClockTime,
    ConferenceUrl,
    Duration,
    Email,
    Float,
    Id,
    Int,
    Label,
    Location,
    MonthDay,
    Name,
    RRule,
    Text,
    TimeZone,
    no_bool,
)
from chancal.models_publish import PublishSettings

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Direction = Literal["to_partner", "to_us", "two_way"]
Period = Literal["Q1", "Q2", "Q3", "Q4", "H1", "H2"]
Anchor = Literal["year_start", "year_end", "half_start", "half_end", "quarter_start", "quarter_end"]
# Lists that multiply the events of a year or the work of each event, bounded.
Dates = Annotated[tuple[date, ...], Field(max_length=limits.MAX_DATES)]
Reminders = Annotated[tuple[Duration, ...], Field(max_length=limits.MAX_REMINDERS)]
People = Annotated[tuple[Label, ...], Field(max_length=limits.MAX_PEOPLE)]
Topics = Annotated[tuple[Label, ...], Field(max_length=limits.MAX_TOPICS)]

_TRAILING_YEAR = re.compile(r"[\s,:-]*(?:FY\s?)?\d{4}(?:[-/]\d{2,4})?\s*$", re.IGNORECASE)
_TRAILING_PROGRAM = re.compile(
    r"\s*(?:\b(?:channel|partner)\s+)?\bprogram(?:me)?\s*$", re.IGNORECASE
)


SHARED_FIELDS_SETS = "shared fields sets"
"""Validation context key: a dict through which equal sets of given fields become one set.

Pydantic gives every model instance its own set of the field names the file
gave (`model_fields_set`): a third of a loaded program's memory, in 85
distinct sets at 10,000 partners (benchmarks/README.md, "One copy of each
value"). The loader passes an empty dict under this key; models validated
without it keep their own sets.
"""


class Model(BaseModel):
    """Base for every shape of the file: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def _share_fields_set(self, info: ValidationInfo) -> Model:
        shared = info.context.get(SHARED_FIELDS_SETS) if info.context else None
        if shared is not None:
            # Safe to share: a frozen model never adds to its set, and pydantic copies
            # the set before `model_copy(update=...)` adds the updated names.
            given = self.__pydantic_fields_set__
            object.__setattr__(
                self, "__pydantic_fields_set__", shared.setdefault(frozenset(given), given)
            )
        return self


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
    reason: Label

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

    we_share: Topics = ()
    they_share: Topics = ()


class Contact(Model):
    """A person at the partner who is invited to events."""

    name: Name
    email: Email
    role: Label = "contact"


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

    kind: Label
    after: tuple[Duration, ...] = Field(min_length=1, max_length=limits.MAX_FOLLOW_UPS)
    title: Name | None = None
    duration: Duration | None = None
    mode: Mode | None = None
    agenda: Text | None = None


class RuleFields(Model):
    """Every field of an interaction rule, all optional: the shape of a `change`."""

    kind: Label | None = None
    title: Name | None = None
    cadence: CadenceText | None = None
    dates: Dates | None = None
    rrule: RRule | None = None
    window: Window | None = None
    fiscal_calendar: Literal["program", "partner"] | None = None
    duration: Duration | None = None
    mode: Mode | None = None
    direction: Direction | None = None
    attendees: People | None = None
    agenda: Text | None = None
    location: Location | None = None
    conference: ConferenceUrl | None = None
    reminders: Reminders | None = None
    follow_ups: Annotated[tuple[FollowUp, ...], Field(max_length=limits.MAX_FOLLOW_UPS)] | None = (
        None
    )
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
    kind: Label

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

    title: Name
    purpose: Purpose
    duration: Duration = timedelta(hours=1)
    mode: Mode = "virtual"
    agenda: Text | None = None
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
    kind: Label = "partner_conference"
    title: Name
    start: date
    end: date | None = None
    location: Location = ""
    description: Text = ""
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
    role_play_terms: Topics = Field(
        default=("role-play", "role play", "roleplay"),
        min_length=1,
        description="words that show a capability workshop's agenda includes role-play",
    )
    review_terms: Topics = Field(
        default=REVIEW_TERMS,
        description="words (whole words, plural allowed) that mark an agenda item of a "
        "joint marketing strategy session as an evaluation",
    )


class ProgramSettings(Model):
    """The planning year and the vendor-wide defaults."""

    name: Name
    organization: Name | None = Field(
        None,
        description="the vendor's own name, used in titles such as 'Northwind visits Contoso'; "
        "by default the program name without a trailing year and 'Channel/Partner Program'",
    )
    id: Id | None = None
    year: Int = Field(ge=2000, le=2100)
    fiscal_year_start: MonthDay = "01-01"
    timezone: TimeZone
    country: Label
    subdivision: Label | None = None
    location: Location = ""
    conference: ConferenceUrl | None = None
    working_days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    working_hours: WorkingHours = WorkingHours()
    blackouts: tuple[Blackout, ...] = ()
    shared_events: tuple[SharedEvent, ...] = ()
    reminders: Reminders = (timedelta(days=1),)
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
    name: Name
    email: Email
    timezone: TimeZone
    country: Label
    subdivision: Label | None = None
    location: Location = ""
    conference: ConferenceUrl | None = None
    working_days: tuple[Weekday, ...] | None = None
    working_hours: WorkingHours | None = None
    capacity: Capacity | None = None
    travel: Travel | None = None
    blackouts: tuple[Blackout, ...] = ()


class Tier(RuleEdits):
    """A level of relationship investment and the interaction plan its partners get."""

    id: Id
    description: Text = ""
    rank: Int = Field(default=0, description="higher means more investment")
    extends: Id | None = None
    spacing: Spacing | None = None
    max_silence: Duration | None = None


class Partner(Model):
    """A distributor or reseller."""

    id: Id
    name: Name
    tier: Id
    manager: Id
    country: Label
    subdivision: Label | None = None
    timezone: TimeZone
    location: Location = ""
    conference: ConferenceUrl | None = None
    working_days: tuple[Weekday, ...] | None = None
    working_hours: WorkingHours | None = None
    fiscal_year_start: MonthDay | None = None
    contacts: Annotated[tuple[Contact, ...], Field(max_length=limits.MAX_PEOPLE)] = ()
    focus_areas: Topics = ()
    sharing: Sharing = Sharing()
    blackouts: tuple[Blackout, ...] = ()
    overrides: RuleEdits = RuleEdits()


class Config(Model):
    """A whole program file."""

    version: Annotated[Literal[1], BeforeValidator(no_bool)]
    program: ProgramSettings
    kinds: dict[Id, CustomKind] = Field(default_factory=dict)
    managers: tuple[Manager, ...] = Field(min_length=1)
    tiers: tuple[Tier, ...] = Field(min_length=1)
    partners: tuple[Partner, ...] = ()
    publish: PublishSettings = PublishSettings()
