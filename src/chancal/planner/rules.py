"""Effective rules: tier `extends` chains, `change`, `drop`, partner overrides, kind defaults.

A tier's rules are its parent's effective rules (in their order), minus
`drop`, with each `change` applied in place, followed by the tier's own
`rules`. A partner's `overrides` edit its tier's effective rules the same way.
A change that sets one of `cadence`, `dates` or `rrule` clears the other two,
so the edited rule still recurs exactly one way.

Unset fields fall back to the kind (built-in or `kinds:`): title, duration,
mode and agenda template; reminders fall back to the program's. The strategy
gap defaults to `program.strategy_gap` for `joint_marketing_strategy` only;
`skip_months_with_accountability` defaults to true for `monthly_check_in` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from chancal.kinds import BUILTIN_KINDS, Mode, Purpose
from chancal.models import Config, Direction, FollowUp, Rule, RuleEdits, Tier
from chancal.resources import agenda_template

_RECURRENCE = ("cadence", "dates", "rrule")
DAY = 86400


@dataclass(frozen=True, slots=True)
class KindDefaults:
    """What a kind brings when a rule leaves a field unset."""

    title: str
    purpose: Purpose
    duration: timedelta
    mode: Mode
    agenda: str  # template text


@dataclass(frozen=True, slots=True)
class FollowSpec:
    """A resolved follow-up: one event per offset after each occurrence of its rule."""

    kind: str
    slug: str  # used in keys: coaching_session -> "coaching"
    purpose: Purpose
    title: str
    custom_title: bool
    seconds: int
    days: int  # > 0: an all-day event of that many days
    mode: Mode
    agenda: str
    offsets: tuple[int, ...]  # days after the base event's first day


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule with every default filled in: what the planner places."""

    rule: Rule
    id: str
    kind: str
    purpose: Purpose
    title: str
    custom_title: bool
    seconds: int  # duration of a timed event
    days: int  # > 0: an all-day event of that many consecutive days
    mode: Mode
    direction: Direction | None
    attendees: tuple[str, ...] | None  # lower-case roles, None = every contact
    agenda: str
    location: str | None
    reminders: tuple[timedelta, ...]
    follow_ups: tuple[FollowSpec, ...]
    gap_days: int  # > 0: keep this many days from any accountability event
    skip_months: bool


def kind_defaults(config: Config, kind: str) -> KindDefaults:
    """Return the defaults of a built-in or custom kind."""
    if kind in BUILTIN_KINDS:
        spec = BUILTIN_KINDS[kind]
        return KindDefaults(
            spec.title, spec.purpose, spec.duration, spec.mode, agenda_template(spec.template)
        )
    custom = config.kinds[kind]
    return KindDefaults(
        custom.title,
        custom.purpose,
        custom.duration,
        custom.mode,
        custom.agenda if custom.agenda is not None else agenda_template("custom"),
    )


def apply_edits(rules: Sequence[Rule], edits: RuleEdits) -> tuple[Rule, ...]:
    """Drop, change in place, then append: the rules after one level of edits."""
    dropped = set(edits.drop)
    changes = {c.id: c for c in edits.change}
    out: list[Rule] = []
    for rule in rules:
        if rule.id in dropped:
            continue
        change = changes.get(rule.id)
        if change is not None:
            update = {f: getattr(change, f) for f in change.model_fields_set if f != "id"}
            if any(f in update for f in _RECURRENCE):
                for f in _RECURRENCE:
                    update.setdefault(f, None)
            rule = rule.model_copy(update=update)
        out.append(rule)
    out.extend(edits.rules)
    return tuple(out)


def tier_rules(tier_id: str, tiers: dict[str, Tier]) -> tuple[Rule, ...]:
    """Return a tier's effective rules, following `extends` (validated to be acyclic)."""
    chain: list[Tier] = []
    current: Tier | None = tiers[tier_id]
    while current is not None:
        chain.append(current)
        current = tiers[current.extends] if current.extends is not None else None
    rules: tuple[Rule, ...] = ()
    for tier in reversed(chain):
        rules = apply_edits(rules, tier)
    return rules


def _seconds_and_days(duration: timedelta) -> tuple[int, int]:
    seconds = int(duration.total_seconds())
    if seconds >= DAY:
        return seconds, -(-seconds // DAY)
    return max(seconds, 60), 0


def _follow(config: Config, follow: FollowUp) -> FollowSpec:
    kind = kind_defaults(config, follow.kind)
    seconds, days = _seconds_and_days(follow.duration or kind.duration)
    slug = follow.kind.removesuffix("_session").replace("_", "-")
    return FollowSpec(
        kind=follow.kind,
        slug=slug,
        purpose=kind.purpose,
        title=follow.title or kind.title,
        custom_title=follow.title is not None,
        seconds=seconds,
        days=days,
        mode=follow.mode or kind.mode,
        agenda=follow.agenda if follow.agenda is not None else kind.agenda,
        offsets=tuple(int(a.total_seconds() // DAY) for a in follow.after),
    )


def resolve(config: Config, rule: Rule) -> RuleSpec:
    """Fill a rule's unset fields from its kind and the program."""
    kind = kind_defaults(config, rule.kind)
    seconds, days = _seconds_and_days(rule.duration or kind.duration)
    gap = rule.min_gap_from_accountability
    if gap is None and rule.kind == "joint_marketing_strategy":
        gap = config.program.strategy_gap
    gap_days = -(-int(gap.total_seconds()) // DAY) if gap is not None else 0
    skip = rule.skip_months_with_accountability
    return RuleSpec(
        rule=rule,
        id=rule.id,
        kind=rule.kind,
        purpose=kind.purpose,
        title=rule.title or kind.title,
        custom_title=rule.title is not None,
        seconds=seconds,
        days=days,
        mode=rule.mode or kind.mode,
        direction=rule.direction,
        attendees=tuple(a.lower() for a in rule.attendees) if rule.attendees else None,
        agenda=rule.agenda if rule.agenda is not None else kind.agenda,
        location=rule.location,
        reminders=rule.reminders if rule.reminders is not None else config.program.reminders,
        follow_ups=tuple(_follow(config, f) for f in rule.follow_ups or ()),
        # A gap only keeps collaboration apart from accountability.
        gap_days=gap_days if kind.purpose == "collaboration" else 0,
        skip_months=skip if skip is not None else rule.kind == "monthly_check_in",
    )
