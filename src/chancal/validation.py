"""Checks that need the whole file: references, cycles, unique ids, countries, dates in the year.

Agenda texts are checked here too: each `$placeholder` must be one the planner fills.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, timedelta
from functools import cache, lru_cache
from string import Template
from typing import TYPE_CHECKING, Protocol

from chancal import limits
from chancal.durations import format_duration
from chancal.errors import Problem
from chancal.kinds import BUILTIN_KINDS
from chancal.models import Blackout, Config, Rule, RuleEdits, RuleFields, Tier, Window
from chancal.plan import SHARED_KEY_PREFIX
from chancal.source import format_path
from chancal.suggest import did_you_mean

if TYPE_CHECKING:
    from chancal.source import Source

Path = tuple[str | int, ...]


def check(
    config: Config, source: Source, suppressed: Collection[Path] = frozenset()
) -> list[Problem]:
    """Return every cross-reference problem of a program.

    `config` may be partly salvaged from an invalid file: the paths in
    `suppressed` hold stand-ins for values already reported, so problems at or
    under them are not reported again.
    """
    problems: list[Problem] = []
    hidden = set(suppressed)
    # A value that contains a stand-in (a date that did not parse inside a window) is as
    # unknown as the stand-in itself.
    containing = {path[:n] for path in hidden for n in range(1, len(path))}

    def report(
        path: Path, message: str, *, key: bool = False, excerpt: tuple[str, int] | None = None
    ) -> None:
        if hidden and (path in containing or any(path[:n] in hidden for n in range(len(path) + 1))):
            return
        problems.append(source.problem(path, message, key=key, excerpt=excerpt))

    program = config.program
    year_known = hidden.isdisjoint(
        {("program",), ("program", "year"), ("program", "fiscal_year_start")}
    )
    # Without a valid year, "inside the planning year" cannot be judged: accept every date.
    year_start, year_end = (
        (program.year_start, program.year_end) if year_known else (date.min, date.max)
    )

    _unique(report, "managers", [m.id for m in config.managers])
    _unique(report, "tiers", [t.id for t in config.tiers])
    _unique(report, "partners", [p.id for p in config.partners])
    _unique(report, ("program", "shared_events"), [e.id for e in program.shared_events])

    kinds: dict[str, timedelta] = {k: spec.duration for k, spec in BUILTIN_KINDS.items()}
    kinds.update((k, custom.duration) for k, custom in config.kinds.items())
    for kind_id, custom in config.kinds.items():
        if custom.duration <= timedelta(0):
            report(("kinds", kind_id, "duration"), "a duration must be positive")
        if kind_id in BUILTIN_KINDS:
            report(
                ("kinds", kind_id),
                f"'{kind_id}' is a built-in kind; give your kind another id",
                key=True,
            )
        _agenda(report, ("kinds", kind_id, "agenda"), custom.agenda)

    _place(report, ("program",), program.country, program.subdivision)
    if not program.working_days:
        report(("program", "working_days"), "the program needs at least one working day")
    _blackouts(report, ("program", "blackouts"), program.blackouts, year_start, year_end)
    tier_ids = {t.id for t in config.tiers}
    for i, event in enumerate(program.shared_events):
        path: Path = ("program", "shared_events", i)
        _known(report, (*path, "kind"), event.kind, kinds, "kind")
        for day, field in ((event.start, "start"), (event.end, "end")):
            if day is not None and not year_start <= day < year_end:
                report((*path, field), _outside(day, year_start, year_end))
        for j, invited in enumerate(event.tiers or ()):
            _known(report, (*path, "tiers", j), invited, tier_ids, "tier")

    for i, manager in enumerate(config.managers):
        _place(report, ("managers", i), manager.country, manager.subdivision)
        _blackouts(report, ("managers", i, "blackouts"), manager.blackouts, year_start, year_end)
        if manager.working_days is not None and not manager.working_days:
            report(("managers", i, "working_days"), "a manager needs at least one working day")

    tiers: dict[str, Tier] = {}
    for tier in config.tiers:
        tiers.setdefault(tier.id, tier)  # a duplicate is reported; the first one counts
    for i, tier in enumerate(config.tiers):
        if tier.extends is not None:
            if tier.extends not in tiers:
                _known(report, ("tiers", i, "extends"), tier.extends, tier_ids, "tier")
            elif _cycle(tier, tiers):
                chain = " -> ".join(_cycle(tier, tiers))
                report(
                    ("tiers", i, "extends"), f"'extends' makes a cycle: {chain}; remove one link"
                )
            elif len(_lineage(tier, tiers) or ()) == MAX_EXTENDS_DEPTH + 2:
                report(
                    ("tiers", i, "extends"),
                    f"this tier is more than {MAX_EXTENDS_DEPTH} 'extends' links from its "
                    "base tier; tiers build on each other a few levels deep (transactional -> "
                    "growth -> strategic): extend a tier nearer the base",
                )
        # With a broken `extends` chain (reported above) nothing is known to be inherited,
        # so change/drop cannot be judged: say nothing rather than something misleading.
        inherited = _inherited_rule_ids(tier, tiers) if _lineage_ok(tier, tiers) else None
        _edits(report, ("tiers", i), tier, inherited, kinds, year_start, year_end)

    manager_ids = {m.id for m in config.managers}
    # Computed once per tier, not once per partner: thousands of partners share a few tiers.
    effective: dict[str, set[str] | None] = {
        tier_id: _effective_rule_ids(tier, tiers) if _lineage_ok(tier, tiers) else None
        for tier_id, tier in tiers.items()
    }
    for i, partner in enumerate(config.partners):
        path = ("partners", i)
        if partner.id == SHARED_KEY_PREFIX:
            report(
                (*path, "id"),
                f"the partner id '{partner.id}' is reserved: the lock files the program's shared "
                f"events under it; choose another, such as '{partner.id}-partner'",
            )
        _known(report, (*path, "tier"), partner.tier, tier_ids, "tier")
        _known(report, (*path, "manager"), partner.manager, manager_ids, "manager")
        _place(report, path, partner.country, partner.subdivision)
        _blackouts(report, (*path, "blackouts"), partner.blackouts, year_start, year_end)
        if partner.working_days is not None and not partner.working_days:
            report((*path, "working_days"), "a partner needs at least one working day")
        _unique(report, (*path, "focus_areas"), list(partner.focus_areas), what="focus area")
        if partner.tier in tiers:
            _edits(
                report,
                (*path, "overrides"),
                partner.overrides,
                effective[partner.tier],
                kinds,
                year_start,
                year_end,
            )
    if year_known:
        _event_limits(report, config, tiers, year_start, year_end)
    _calendars(report, config, manager_ids)
    return problems


def _calendars(report: _Report, config: Config, manager_ids: Collection[str]) -> None:
    """`publish.caldav.calendars`: each id a partner or manager, each calendar used once."""
    mapped = config.publish.caldav.calendars
    partner_ids = {p.id for p in config.partners}
    first: dict[str, Path] = {}
    for what, table, known in (
        ("partner", mapped.partners, partner_ids),
        ("manager", mapped.managers, manager_ids),
    ):
        for ident, url in table.items():
            path: Path = ("publish", "caldav", "calendars", f"{what}s", ident)
            if ident not in known:
                options = sorted(known)
                hint = did_you_mean(ident, options) or f"; known: {', '.join(options)}"
                report(path, f"unknown {what} '{ident}'{hint}", key=True)
                continue
            # Two calendars in one collection would each delete the other's events.
            same = url if url.endswith("/") else url + "/"
            if same in first:
                report(path, f"{_fmt(first[same])} already uses this calendar; give each its own")
            first.setdefault(same, path)


def _unique(report: _Report, where: str | Path, ids: Sequence[str], what: str = "id") -> None:
    if len(set(ids)) == len(ids):
        return
    base: Path = (where,) if isinstance(where, str) else where
    seen: dict[str, int] = {}
    for i, value in enumerate(ids):
        if value in seen:
            suffix = (i, "id") if what == "id" else (i,)
            report(
                (*base, *suffix),
                f"duplicate {what} '{value}' (first used at {_fmt((*base, seen[value]))})",
            )
        else:
            seen[value] = i


def _fmt(path: Path) -> str:
    return format_path(path)


def _known(report: _Report, path: Path, value: str, choices: Collection[str], what: str) -> None:
    # `choices` is a set or dict on the hot path (one lookup per partner reference);
    # sorting only happens for the rare value that is unknown.
    if value in choices:
        return
    options = sorted(choices)
    hint = did_you_mean(value, options) or (
        f"; known: {', '.join(options)}" if options else f"; there is no {what} to refer to"
    )
    report(path, f"unknown {what} '{value}'{hint}")


@cache
def _countries() -> frozenset[str]:
    """Return the country codes `holidays` knows (aliases such as 'USA' included).

    `holidays.list_supported_countries()` imports all of its 500 country modules
    to list their subdivisions (0.1-0.2 s); its registry names the codes without
    importing any. Only a program that names a subdivision pays for the import
    (in `_subdivisions`), as planning does anyway to look up holidays.
    """
    import holidays

    try:
        from holidays.registry import EntityLoader

        return frozenset(EntityLoader.get_country_codes())
    except (ImportError, AttributeError):  # pragma: no cover - a holidays without the registry
        return frozenset(holidays.list_supported_countries())


@cache
def _subdivisions(country: str) -> tuple[str, ...]:
    """Return the subdivision codes of a known country (as `list_supported_countries` does)."""
    import holidays

    return tuple(getattr(holidays, country).subdivisions)


def _place(report: _Report, path: Path, country: str, subdivision: str | None) -> None:
    countries = _countries()
    if country not in countries:
        hint = did_you_mean(country.upper(), countries) or "; use an ISO 3166 code such as 'DE'"
        report((*path, "country"), f"unknown country '{country}'{hint}")
        return
    if subdivision is not None and subdivision not in _subdivisions(country):
        subs = _subdivisions(country)
        hint = did_you_mean(subdivision, subs, cutoff=0.5) or (
            f"; {country} has {', '.join(subs[:12])}{'...' if len(subs) > 12 else ''}"
            if subs
            else f"; {country} has no subdivisions, remove it"
        )
        report((*path, "subdivision"), f"unknown subdivision '{subdivision}' of {country}{hint}")


def _year(start: date, end: date) -> str:
    return f"{start} to {date.fromordinal(end.toordinal() - 1)}"


def _outside(day: date, start: date, end: date) -> str:
    return f"{day} is outside the planning year {_year(start, end)}"


def _blackouts(
    report: _Report, path: Path, blackouts: Sequence[Blackout], start: date, end: date
) -> None:
    for i, b in enumerate(blackouts):
        last = b.last
        first = b.start
        if last < start or first >= end:
            report(
                (*path, i),
                f"blackout {first} to {last} lies outside the planning year "
                f"{_year(start, end)}; remove it",
            )
            continue
        # Partly outside, like a shared event's or a rule's date: pointed at the day
        # that is out, since only clipping it to the year fixes the blackout.
        for day, field in ((first, "start"), (last, "end")):
            if not start <= day < end:
                report(
                    (*path, i, field), f"{_outside(day, start, end)}; clip the blackout or drop it"
                )


def _agenda(report: _Report, path: Path, text: str | None) -> None:
    if text is None or "$" not in text:
        return  # most agendas are plain text, and None means the kind's own template
    for excerpt, n, message in _placeholder_problems(text):
        report(path, message, excerpt=(excerpt, n))


@lru_cache(maxsize=1024)
def _placeholder_problems(text: str) -> tuple[tuple[str, int, str], ...]:
    """Return (written text, its appearance number, message) for each bad `$` of an agenda.

    Read with `string.Template`'s own pattern, as the planner fills it: `$$` is a
    dollar sign, `$name` and `${name}` are placeholders, any other `$` is a mistake.
    Cached: thousands of partners repeat the few agenda texts of their tiers.
    """
    # Imported here: `chancal.planner` loads the whole planner, which `validate` needs
    # only for a program whose agendas use placeholders at all.
    from chancal.planner.agenda import PLACEHOLDERS

    found: list[tuple[str, int, str]] = []
    for match in Template.pattern.finditer(text):
        written = match.group(0)
        name = match.group("named") or match.group("braced")
        if match.group("escaped") is not None or name in PLACEHOLDERS:
            continue
        if name is None:
            written = "$"
            message = "a '$' that starts no placeholder; write '$$' for a dollar sign"
        else:
            braced = match.group("braced") is not None
            choices = [f"${{{p}}}" if braced else f"${p}" for p in PLACEHOLDERS]
            hint = did_you_mean(written, choices) or (
                f"; known: {', '.join(f'${p}' for p in PLACEHOLDERS)} "
                "(write '$$' for a dollar sign)"
            )
            message = f"unknown placeholder '{written}'{hint}"
        found.append((written, _count(text, written, match.start()), message))
    return tuple(found)


def _count(text: str, part: str, stop: int) -> int:
    """Return how often `part` begins in `text` before `stop` (overlaps counted)."""
    n, at = 0, text.find(part)
    while 0 <= at < stop:
        n += 1
        at = text.find(part, at + 1)
    return n


MAX_EXTENDS_DEPTH = 16
"""How many `extends` links a tier may be from its base tier (a 600-tier chain took a minute)."""


def _cycle(tier: Tier, tiers: dict[str, Tier]) -> list[str]:
    chain = [tier.id]
    where = {tier.id: 0}
    current = tier
    while current.extends is not None and current.extends in tiers:
        if current.extends in where:
            return [*chain[where[current.extends] :], current.extends]
        where[current.extends] = len(chain)
        chain.append(current.extends)
        current = tiers[current.extends]
    return []


def _lineage(tier: Tier, tiers: dict[str, Tier]) -> list[Tier] | None:
    """The tier and the tiers it extends, nearest first; None if a link is unknown or loops."""
    chain = [tier]
    seen = {tier.id}
    while (parent := chain[-1].extends) is not None:
        if parent not in tiers or parent in seen:
            return None
        seen.add(parent)
        chain.append(tiers[parent])
    return chain


def _lineage_ok(tier: Tier, tiers: dict[str, Tier]) -> bool:
    lineage = _lineage(tier, tiers)
    return lineage is not None and len(lineage) <= MAX_EXTENDS_DEPTH + 1


def _inherited_rule_ids(tier: Tier, tiers: dict[str, Tier]) -> set[str]:
    if tier.extends is None or tier.extends not in tiers or _cycle(tier, tiers):
        return set()
    return _effective_rule_ids(tiers[tier.extends], tiers)


def _effective_rule_ids(tier: Tier, tiers: dict[str, Tier]) -> set[str]:
    # From the base down, without recursion: a long chain cannot exhaust the stack.
    # Callers ask only for tiers whose lineage is whole (`_lineage_ok`).
    ids: set[str] = set()
    for each in reversed(_lineage(tier, tiers) or [tier]):
        ids = (ids - set(each.drop)) | {r.id for r in each.rules}
    return ids


def _edits(
    report: _Report,
    path: Path,
    edits: RuleEdits,
    inherited: set[str] | None,
    kinds: dict[str, timedelta],
    start: date,
    end: date,
) -> None:
    if not (edits.rules or edits.change or edits.drop):
        return  # most partners override nothing
    for j, dropped in enumerate(edits.drop):
        if inherited is not None and dropped not in inherited:
            _known(report, (*path, "drop", j), dropped, inherited, "rule to drop")
    for j, change in enumerate(edits.change):
        if inherited is not None and change.id not in inherited:
            _known(report, (*path, "change", j, "id"), change.id, inherited, "rule to change")
        if change.kind is not None:
            _known(report, (*path, "change", j, "kind"), change.kind, kinds, "kind")
        # Checked like a rule: what a change sets ends up in one.
        _fields(report, (*path, "change", j), change, kinds, start, end)
    _unique(report, (*path, "rules"), [r.id for r in edits.rules])
    for j, rule in enumerate(edits.rules):
        rpath: Path = (*path, "rules", j)
        if inherited is not None and rule.id in inherited:
            report(
                (*rpath, "id"),
                f"rule '{rule.id}' is inherited already; list it under 'change' to edit it",
            )
        _rule(report, rpath, rule, kinds, start, end)


def _rule(
    report: _Report, path: Path, rule: Rule, kinds: dict[str, timedelta], start: date, end: date
) -> None:
    _known(report, (*path, "kind"), rule.kind, kinds, "kind")
    _fields(report, path, rule, kinds, start, end)


def _fields(
    report: _Report,
    path: Path,
    rule: RuleFields,
    kinds: dict[str, timedelta],
    start: date,
    end: date,
) -> None:
    """Check the fields a rule and a change share (the rule's kind is checked by the caller)."""
    _agenda(report, (*path, "agenda"), rule.agenda)
    for k, follow in enumerate(rule.follow_ups or ()):
        _known(report, (*path, "follow_ups", k, "kind"), follow.kind, kinds, "kind")
        _agenda(report, (*path, "follow_ups", k, "agenda"), follow.agenda)
    for k, day in enumerate(rule.dates or ()):
        if not start <= day < end:
            report((*path, "dates", k), _outside(day, start, end))
    window = rule.window
    if window is not None and window.between is not None:
        for k, day in enumerate(window.between):
            if not start <= day < end:
                report((*path, "window", "between", k), _outside(day, start, end))
    if rule.duration is not None and rule.duration <= timedelta(0):
        report((*path, "duration"), "a duration must be positive")
    for k, follow in enumerate(rule.follow_ups or ()):
        if follow.duration is not None and follow.duration <= timedelta(0):
            report((*path, "follow_ups", k, "duration"), "a duration must be positive")
    kind_duration = kinds.get(rule.kind) if rule.kind is not None else None
    duration = rule.duration if rule.duration is not None else kind_duration
    span = _window_span(window) if window is not None else None
    if duration is not None and span is not None and span < duration:
        report(
            (*path, "window"),
            f"the window spans {format_duration(span)} but the event lasts "
            f"{format_duration(duration)}; widen the window or shorten 'duration'",
        )


def _window_span(window: Window) -> timedelta | None:
    """Return how much time a window offers, counting whole days (None: a full period)."""
    # Compared in days as integers: durations near timedelta's limits must not overflow.
    if window.between is not None:
        return timedelta(days=(window.between[1] - window.between[0]).days + 1)
    if window.to is not None:
        days = window.to.days - window.from_.days + 1
        return timedelta(days=max(days, 0))
    return None


class _Report(Protocol):
    def __call__(
        self, path: Path, message: str, *, key: bool = False, excerpt: tuple[str, int] | None = None
    ) -> None: ...


# What decides how many events a rule makes: where its recurrence was given, the
# recurrence itself, and its follow-ups (each `after` is one more event).
_Recurs = tuple[Path, RuleFields, int]
_CADENCE_COUNT = {"once": 1, "annual": 1, "semiannual": 2, "quarterly": 4, "monthly": 12}


def _event_limits(
    report: _Report, config: Config, tiers: dict[str, Tier], start: date, end: date
) -> None:
    """Report rules, partners and a program that would ask the planner for too many events.

    Counted as the rules ask, before planning: at most `MAX_EVENTS_PER_RULE` events a
    rule (with its follow-ups), `MAX_EVENTS_PER_PARTNER` a partner, `max_events_per_year()`
    the program, and `MAX_RRULES` different rrules, each expanded in bounded time.
    """
    count = _Counter(report, start, end)
    where = {t.id: i for i, t in reversed(list(enumerate(config.tiers)))}
    plans: dict[str, dict[str, _Recurs] | None] = {}
    for tier_id, tier in tiers.items():
        lineage = _lineage(tier, tiers) if _lineage_ok(tier, tiers) else None
        plans[tier_id] = (
            None
            if lineage is None
            else _merge({}, [(("tiers", where[t.id]), t) for t in reversed(lineage)])
        )
    total = len(config.program.shared_events)
    # Thousands of partners share a few tiers and few numbers of focus areas.
    known: dict[tuple[str, int], int] = {}
    for i, partner in enumerate(config.partners):
        plan = plans.get(partner.tier)
        if plan is None:
            continue
        focus = len(partner.focus_areas)
        if partner.overrides.rules or partner.overrides.change or partner.overrides.drop:
            plan = _merge(plan, [(("partners", i, "overrides"), partner.overrides)])
            events = sum(count.rule(recurs, focus) for recurs in plan.values())
        elif (partner.tier, focus) in known:
            events = known[partner.tier, focus]
        else:
            events = sum(count.rule(recurs, focus) for recurs in plan.values())
            known[partner.tier, focus] = events
        if events > limits.MAX_EVENTS_PER_PARTNER:
            report(
                ("partners", i, "tier"),
                f"this partner's rules ask for {events:,} events a year; the limit is "
                f"{limits.MAX_EVENTS_PER_PARTNER:,}: no manager could hold them",
            )
        total += events
    most = limits.max_events_per_year()
    if total > most:
        report(
            ("partners",),
            f"the program's rules ask for {total:,} events a year; the limit is {most:,}: "
            "split it into several programs (by region), or if it is meant to be this big, "
            f"raise it with {limits.MAX_FILE_ENV}={limits.file_mb_for_events(total)} "
            f"({limits.MAX_EVENTS_PER_YEAR:,} events per {limits.DEFAULT_MAX_FILE_MB} MB)",
            key=True,
        )


def _merge(plan: dict[str, _Recurs], chain: list[tuple[Path, RuleEdits]]) -> dict[str, _Recurs]:
    """Apply rule edits, base first, to {rule id: its recurrence and follow-ups}."""
    out = dict(plan)
    for path, edits in chain:
        for dropped in edits.drop:
            out.pop(dropped, None)
        for j, change in enumerate(edits.change):
            if change.id not in out:
                continue
            rpath, fields, follows = out[change.id]
            if change.cadence or change.dates is not None or change.rrule is not None:
                rpath, fields = (*path, "change", j), change
            if change.follow_ups is not None:
                follows = _follow_count(change)
            out[change.id] = (rpath, fields, follows)
        for j, rule in enumerate(edits.rules):
            out.setdefault(rule.id, ((*path, "rules", j), rule, _follow_count(rule)))
    return out


def _follow_count(fields: RuleFields) -> int:
    return sum(len(f.after) for f in fields.follow_ups or ())


class _Counter:
    """Counts the events each rule asks for, reporting a rule over the limit once."""

    def __init__(self, report: _Report, start: date, end: date) -> None:
        self.report, self.start, self.end = report, start, end
        self.rrules: dict[str, int] = {}
        self.over: set[Path] = set()
        self.too_many = False

    def rule(self, recurs: _Recurs, focus: int) -> int:
        path, fields, follows = recurs
        occurrences = self.occurrences(path, fields, focus)
        events = occurrences * (1 + follows)
        if events > limits.MAX_EVENTS_PER_RULE and path not in self.over:
            self.over.add(path)
            given = next(n for n in ("rrule", "dates", "cadence") if getattr(fields, n) is not None)
            self.report(
                (*path, given),
                f"this rule asks for {events:,} events a year ({occurrences:,} occurrences, "
                f"each with {follows} follow-up{'' if follows == 1 else 's'}); the limit is "
                f"{limits.MAX_EVENTS_PER_RULE} "
                "a rule: one a day at most",
            )
        return events

    def occurrences(self, path: Path, fields: RuleFields, focus: int) -> int:
        if fields.dates is not None:
            return len(fields.dates)
        if fields.rrule is not None:
            return self.rrule((*path, "rrule"), fields.rrule)
        cadence = fields.cadence
        if cadence is None:
            return 0
        if cadence.kind == "every_weeks":
            return -(-(self.end - self.start).days // (7 * cadence.n))
        if cadence.kind == "per_focus_area":
            return focus
        if cadence.kind == "per_year":
            return cadence.n
        return _CADENCE_COUNT.get(cadence.kind, 1)

    def rrule(self, path: Path, text: str) -> int:
        if text in self.rrules:
            return self.rrules[text]
        if len(self.rrules) >= limits.MAX_RRULES:
            if not self.too_many:
                self.too_many = True
                self.report(
                    path,
                    f"the program has more than {limits.MAX_RRULES} different rrules; "
                    "use cadences or dates for the others, or repeat a rule's text exactly",
                )
            return 0
        from chancal.rrules import days

        try:
            found = len(days(text, self.start, self.end))
        except (ValueError, TypeError, OverflowError):  # a refused rule, reported already
            found = 0
        self.rrules[text] = found
        return found
