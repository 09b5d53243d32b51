"""Rich views of a plan: the year at a glance, manager load per week, collaboration balance bars.

Each view is a renderable that lays itself out for the width it is given:
one row of weeks when the terminal is wide, wrapped by half or quarter year
at 80 columns. Everything is drawn from `rich.text.Text` pieces, so user
names such as "Acme [EU]" are never read as markup, and colour is only a
second channel: letters, glyphs and "!" carry the meaning in plain text.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Literal

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from chancal.exporters.layout import Row, fit_lines, flow, name_cell, partners_by_manager, plural
from chancal.kinds import Purpose
from chancal.plan import (
    ALL_DAY_HOURS,
    AllDay,
    Event,
    ManagerInfo,
    PartnerInfo,
    Plan,
    manager_date,
)

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
PURPOSE_STYLE: Mapping[Purpose, str] = {
    "accountability": "bold yellow",
    "collaboration": "bold cyan",
}
EMPTY = "\u00b7"  # middle dot: a week with nothing planned
MORE = "+"  # a second event in the same week
OVER = "!"  # over capacity
BAR_COLLAB = "\u2588"  # full block
BAR_ACCOUNT = "\u2591"  # light shade: tells the purposes apart without colour
LEVELS = " \u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"  # load as a fraction of capacity

# One letter per built-in kind; accountability kinds and collaboration kinds
# never share a letter, so the grid reads without colour too.
BUILTIN_CODES: Mapping[str, str] = {
    "monthly_check_in": "C",
    "quarterly_business_review": "Q",
    "annual_review": "A",
    "product_training": "T",
    "partner_conference": "P",
    "capability_workshop": "W",
    "coaching_session": "K",
    "site_visit": "V",
    "joint_marketing_strategy": "S",
    "information_exchange": "X",
}


def kind_codes(events: Iterable[Event]) -> dict[str, str]:
    """Give every kind in `events` a one-character code, custom kinds by sorted id."""
    kinds = sorted({e.kind for e in events})
    codes = {k: BUILTIN_CODES[k] for k in kinds if k in BUILTIN_CODES}
    taken = set(codes.values())
    for kind in kinds:
        if kind in codes:
            continue
        letters = [c.upper() for c in kind if c.isalpha()] + list("BDEFGHIJLMNORUYZ0123456789")
        code = next((c for c in letters if c not in taken), "?")
        codes[kind] = code
        taken.add(code)
    return codes


def kind_label(kind: str) -> str:
    return kind.replace("_", " ")


@dataclass(frozen=True, slots=True)
class Weeks:
    """The weeks that cover the planning year, from Monday or a manager's first working day."""

    first: date
    count: int

    @classmethod
    def of(cls, plan: Plan, start: int = 0) -> Weeks:
        """Weeks starting on weekday `start` (Monday 0), from the one holding the first day."""
        first = plan.year_start - timedelta(days=(plan.year_start.weekday() - start) % 7)
        count = math.ceil((plan.year_end - first).days / 7)
        return cls(first, count)

    def index(self, day: date) -> int | None:
        i = (day - self.first).days // 7
        return i if 0 <= i < self.count else None

    def monday(self, i: int) -> date:
        return self.first + timedelta(weeks=i)

    def blocks(self, per_block: int) -> list[range]:
        return [range(s, min(s + per_block, self.count)) for s in range(0, self.count, per_block)]


_SHRINK_LABEL_TO = 18  # names may shrink this far before the year wraps into more blocks


def _layout(weeks: Weeks, width: int, cell: int, label: int, min_label: int) -> tuple[int, int]:
    """Choose the label width and weeks per block: the whole year, halves, or quarters."""
    for parts in (1, 2, 4):
        per_block = math.ceil(weeks.count / parts)
        room = width - 1 - cell * per_block
        if room >= min(label, _SHRINK_LABEL_TO):
            return min(label, room), per_block
    per_block = math.ceil(weeks.count / 4)
    return max(min_label, width - 1 - cell * per_block), per_block


def _month_header(weeks: Weeks, block: range, cell: int, label: int) -> Text:
    """Month names above the week where each month starts."""
    chars = [" "] * (cell * len(block))
    for n, i in enumerate(block):
        monday = weeks.monday(i)
        sunday = monday + timedelta(days=6)
        starts = monday.day == 1 or sunday.month != monday.month or n == 0
        if not starts:
            continue
        month = sunday.month if sunday.month != monday.month else monday.month
        name = MONTHS[month - 1]
        at = n * cell
        fits = at + len(name) <= len(chars)
        if fits and all(c == " " for c in chars[max(0, at - 1) : at + len(name)]):
            chars[at : at + len(name)] = name
    return Text(" " * (label + 1) + "".join(chars).rstrip(), style="dim")


_EMPTY_CELL = (EMPTY + " ", "dim")


def _partner_events(plan: Plan) -> defaultdict[str, list[Event]]:
    out: defaultdict[str, list[Event]] = defaultdict(list)
    for e in plan.events:
        if e.status == "CANCELLED":
            continue
        ids = e.viewers
        for pid in dict.fromkeys(ids):
            out[pid].append(e)
    return out


def _title(plan: Plan) -> Text:
    return Text.assemble(
        (plan.program_name, "bold"),
        f"  {plan.year_start.isoformat()} to {plan.last_day.isoformat()}",
    )


@dataclass(frozen=True, slots=True)
class GridCell:
    """One partner's week in the year grid: its first event's letter and purpose, and all of it."""

    code: str
    purpose: Purpose
    events: tuple[Event, ...]  # in day order, then key

    @property
    def more(self) -> bool:
        """Whether the week holds more than one event (shown as `MORE`)."""
        return len(self.events) > 1


def grid_cells(
    plan: Plan, weeks: Weeks, codes: Mapping[str, str]
) -> dict[tuple[str, int], GridCell]:
    """The year grid's cells by (partner id, week index): the terminal grid's and the site's."""
    cells: dict[tuple[str, int], GridCell] = {}
    for pid, events in _partner_events(plan).items():
        by_week: defaultdict[int, list[Event]] = defaultdict(list)
        for e in events:
            i = weeks.index(e.day)
            if i is not None:
                by_week[i].append(e)
        for i, week in by_week.items():
            week.sort(key=lambda e: (e.day, e.key))
            first = week[0]
            cells[pid, i] = GridCell(codes[first.kind], first.purpose, tuple(week))
    return cells


@dataclass(slots=True)
class YearGrid:
    """Partners (grouped by manager) against the weeks of the year; one letter per touchpoint."""

    plan: Plan
    max_label: int = 28
    codes: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.codes = kind_codes(self.plan.events)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from fit_lines(self._lines(console, options), console, options.max_width)

    def _lines(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        plan = self.plan
        weeks = Weeks.of(plan)
        names = [Text(p.name).cell_len + 3 for p in plan.partners]
        label = min(self.max_label, max([14, *names]))
        label, per_block = _layout(weeks, options.max_width, 2, label, 10)
        cells = self._cells(weeks)
        yield _title(plan)
        for block in weeks.blocks(per_block):
            yield Text()
            yield _month_header(weeks, block, 2, label)
            for manager, partners in partners_by_manager(plan):
                yield Text(manager.name if manager else "(no manager)", style="bold")
                for p in partners:
                    row = Row()
                    row.add(" ")
                    for i in block:
                        row.add(*cells.get((p.id, i), _EMPTY_CELL))
                    yield name_cell(p.name, label, indent=2) + row.text()
        yield Text()
        yield from self.legend(options.max_width)

    def _cells(self, weeks: Weeks) -> dict[tuple[str, int], tuple[str, str]]:
        return {
            at: (cell.code + (MORE if cell.more else " "), PURPOSE_STYLE[cell.purpose])
            for at, cell in grid_cells(self.plan, weeks, self.codes).items()
        }

    def legend(self, width: int) -> Iterator[Text]:
        """Which letter is which kind, grouped by purpose, flowed into lines of `width`."""
        purposes: dict[str, Purpose] = {}
        for e in self.plan.events:
            purposes.setdefault(e.kind, e.purpose)
        for purpose in ("accountability", "collaboration"):
            kinds = sorted(
                (k for k, p in purposes.items() if p == purpose), key=lambda k: self.codes[k]
            )
            if kinds:
                entries = [
                    Text.assemble((self.codes[k], PURPOSE_STYLE[purpose]), f" {kind_label(k)}")
                    for k in kinds
                ]
                head = Text.assemble((f"{purpose}:", PURPOSE_STYLE[purpose]))
                yield from flow(head, entries, width)
        yield Text(f"{MORE} more that week   {EMPTY} nothing planned", style="dim")


@dataclass(frozen=True, slots=True)
class _Load:
    """One manager's week, counted the way the planner's capacity counts it."""

    meetings: int = 0  # timed events
    hours: float = 0.0  # timed durations plus 8 hours per all-day day in this week
    travel_days: int = 0
    all_day: int = 0  # all-day events touching this week

    def over(self, m: ManagerInfo) -> bool:
        """Whether the week exceeds the manager's capacity.

        Like the planner, a single all-day event alone in its week (a 2-day
        visit for a manager with a 14-hour week) is not over capacity.
        """
        alone = self.all_day == 1 and self.meetings == 0
        return self.meetings > m.meetings_per_week or (
            self.hours > m.hours_per_week + 1e-9 and not alone
        )


_CellFn = Callable[[_Load, ManagerInfo], tuple[str, str]]


def _travel_days(event: Event) -> int:
    """Days the manager travels for an event: on site and not hosted by us."""
    if event.mode != "on_site" or event.direction == "to_us":
        return 0
    span = event.span
    return max(1, (span.end - span.start).days) if isinstance(span, AllDay) else 1


@dataclass(slots=True)
class ManagerLoad:
    """Each manager's meetings, hours and travel days per week against their capacity."""

    plan: Plan

    def loads(self) -> dict[str, dict[int, _Load]]:
        """Weekly load per manager id, in each manager's own working weeks (indexed from the
        one holding the year's first day), counted by the manager's dates as capacity is."""
        managers = {m.id: m for m in self.plan.managers}
        weeks_of = {m.id: Weeks.of(self.plan, m.week_start) for m in self.plan.managers}
        loads: dict[str, dict[int, _Load]] = {m.id: {} for m in self.plan.managers}
        for e in self.plan.events:
            if e.manager_id not in loads or e.status == "CANCELLED":
                continue
            mine = loads[e.manager_id]
            weeks = weeks_of[e.manager_id]
            if not isinstance(e.span, AllDay):
                i = weeks.index(manager_date(e, managers[e.manager_id].timezone))
                if i is not None:
                    old = mine.get(i, _Load())
                    mine[i] = replace(
                        old,
                        meetings=old.meetings + 1,
                        hours=old.hours + e.hours,
                        travel_days=old.travel_days + _travel_days(e),
                    )
                continue
            days: defaultdict[int, int] = defaultdict(int)
            day, end = e.span.start, e.span.end
            while day < end:
                i = weeks.index(day)
                if i is not None:
                    days[i] += 1
                day += timedelta(days=1)
            travels = _travel_days(e) > 0
            for i, n in days.items():
                old = mine.get(i, _Load())
                mine[i] = replace(
                    old,
                    hours=old.hours + ALL_DAY_HOURS * n,
                    travel_days=old.travel_days + (n if travels else 0),
                    all_day=old.all_day + 1,
                )
        return loads

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from fit_lines(self._lines(console, options), console, options.max_width)

    def _lines(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        plan = self.plan
        weeks = Weeks.of(plan)
        label, per_block = _layout(weeks, options.max_width, 1, 11, 10)
        loads = self.loads()
        yield _title(plan)
        yield Text(
            "Manager load per week: timed meetings (digits, + for 10 or more), hours "
            "(all-day events count 8 h a day) against "
            f"capacity ({LEVELS[1:]}), travel days (digits); {OVER} or red marks a week "
            "over capacity.",
            style="dim",
        )
        for m in plan.managers:
            load = loads[m.id]
            weeks = Weeks.of(plan, m.week_start)  # the manager's own working weeks
            yield Text()
            yield Text.assemble(
                (m.name, "bold"),
                f"  capacity {m.meetings_per_week} meetings, {m.hours_per_week:g} h a week; "
                f"{plural(m.site_visits_per_month, 'site visit')} a month",
            )
            for block in weeks.blocks(per_block):
                yield _month_header(weeks, block, 1, label)
                yield self._row("meetings", label, block, load, m, self._meetings)
                yield self._row("hours", label, block, load, m, self._hours)
                yield self._row("travel", label, block, load, m, self._travel)
            yield from self._summary(m, load, weeks)

    @staticmethod
    def _row(
        name: str,
        label: int,
        block: range,
        load: Mapping[int, _Load],
        manager: ManagerInfo,
        cell: _CellFn,
    ) -> Text:
        row = Row()
        row.add(" ")
        for i in block:
            row.add(*cell(load.get(i, _Load()), manager))
        return name_cell(name, label, indent=2) + row.text()

    @staticmethod
    def _meetings(load: _Load, m: ManagerInfo) -> tuple[str, str]:
        if not load.meetings:
            return EMPTY, "dim"
        glyph = str(load.meetings) if load.meetings < 10 else MORE
        over = load.meetings > m.meetings_per_week
        return glyph, "bold red" if over else ""

    @staticmethod
    def _hours(load: _Load, m: ManagerInfo) -> tuple[str, str]:
        if not load.hours:
            return EMPTY, "dim"
        if load.over(m) and load.hours > m.hours_per_week:
            return OVER, "bold red"
        level = min(8, max(1, math.ceil(load.hours / m.hours_per_week * (len(LEVELS) - 1))))
        return LEVELS[level], "green" if level < 6 else "yellow"

    @staticmethod
    def _travel(load: _Load, m: ManagerInfo) -> tuple[str, str]:
        if not load.travel_days:
            return EMPTY, "dim"
        return str(min(load.travel_days, 9)), "magenta"

    def _summary(self, m: ManagerInfo, load: Mapping[int, _Load], weeks: Weeks) -> Iterator[Text]:
        total = _Load(
            sum(x.meetings for x in load.values()),
            sum(x.hours for x in load.values()),
            sum(x.travel_days for x in load.values()),
        )
        yield Text(
            f"  year: {plural(total.meetings, 'meeting')}, {total.hours:.1f} h, "
            f"{plural(total.travel_days, 'travel day')}"
        )
        if load:
            busiest = max(sorted(load), key=lambda i: (load[i].hours, load[i].meetings))
            b = load[busiest]
            allowed = b.hours > m.hours_per_week + 1e-9 and not b.over(m)
            yield Text(
                f"  busiest week {weeks.monday(busiest).isoformat()}: "
                f"{plural(b.meetings, 'meeting')}, {b.hours:.1f} h"
                + (" (one all-day event alone in its week: allowed)" if allowed else "")
            )
        over = [i for i in sorted(load) if load[i].over(m)]
        if not over:
            yield Text("  no week over capacity", style="green")
        for i in over:
            x = load[i]
            yield Text(
                f"  {OVER} week of {weeks.monday(i).isoformat()}: "
                f"{plural(x.meetings, 'meeting')} (capacity {m.meetings_per_week}), "
                f"{x.hours:.1f} h "
                f"(capacity {m.hours_per_week:g})",
                style="bold red",
            )
        visits: defaultdict[tuple[int, int], int] = defaultdict(int)
        for e in self.plan.events:
            if e.manager_id == m.id and e.kind == "site_visit" and e.direction != "to_us":
                visits[e.day.year, e.day.month] += 1
        for (year, month), n in sorted(visits.items()):
            if n > m.site_visits_per_month:
                yield Text(
                    f"  {OVER} {MONTHS[month - 1]} {year}: {n} site visits "
                    f"(limit {m.site_visits_per_month})",
                    style="bold red",
                )


@dataclass(frozen=True, slots=True)
class _Balance:
    collab_hours: float = 0.0
    account_hours: float = 0.0
    collab_events: int = 0
    account_events: int = 0

    def __add__(self, other: _Balance) -> _Balance:
        return _Balance(
            self.collab_hours + other.collab_hours,
            self.account_hours + other.account_hours,
            self.collab_events + other.collab_events,
            self.account_events + other.account_events,
        )

    def scaled(self, n: int) -> _Balance:
        """The average over `n` partners (events rounded to whole numbers)."""
        if n <= 1:
            return self
        return _Balance(
            self.collab_hours / n,
            self.account_hours / n,
            round(self.collab_events / n),
            round(self.account_events / n),
        )


def balances(plan: Plan) -> dict[str, _Balance]:
    """Collaboration and accountability hours and events per partner id."""
    out: dict[str, _Balance] = {p.id: _Balance() for p in plan.partners}
    for pid, events in _partner_events(plan).items():
        if pid not in out:
            continue
        c = [e for e in events if e.purpose == "collaboration"]
        a = [e for e in events if e.purpose == "accountability"]
        out[pid] = _Balance(sum(e.hours for e in c), sum(e.hours for e in a), len(c), len(a))
    return out


_NUMBERS = 32  # width of " 123.4:56.7 h  12:8 ev   1.5x"


@dataclass(slots=True)
class BalanceBars:
    """Collaboration against accountability as bars, per tier (average) and per partner."""

    plan: Plan
    max_label: int = 28

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from fit_lines(self._lines(console, options), console, options.max_width)

    def _lines(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        plan = self.plan
        per_partner = balances(plan)
        ranks = {t.id: t.rank for t in plan.tiers}
        by_tier: defaultdict[str, list[PartnerInfo]] = defaultdict(list)
        for p in plan.partners:
            by_tier[p.tier].append(p)
        order = sorted(by_tier, key=lambda t: (-ranks.get(t, 0), t))
        names = [Text(p.name).cell_len + 3 for p in plan.partners]
        label = min(self.max_label, max([16, *names]))
        bar = max(10, options.max_width - label - 1 - _NUMBERS)
        if label + 1 + bar + _NUMBERS > options.max_width:
            label = max(10, options.max_width - 1 - bar - _NUMBERS)
        yield _title(plan)
        yield Text.assemble(
            (BAR_COLLAB, PURPOSE_STYLE["collaboration"]),
            " collaboration  ",
            (BAR_ACCOUNT, PURPOSE_STYLE["accountability"]),
            " accountability: share of hours; then hours and events (collaboration:"
            "accountability) and their ratio by hours; a tier's row is its average partner",
        )
        for tier in order:
            partners = by_tier[tier]
            total = sum((per_partner[p.id] for p in partners), _Balance())
            yield Text()
            head = f"{tier} ({len(partners)})"
            yield self._row(name_cell(head, label, style="bold"), total.scaled(len(partners)), bar)
            for p in partners:
                yield self._row(name_cell(p.name, label, indent=2), per_partner[p.id], bar)

    @staticmethod
    def _row(row: Text, b: _Balance, width: int) -> Text:
        row.append(" ")
        total = b.collab_hours + b.account_hours
        filled = 0 if total == 0 else round(width * b.collab_hours / total)
        row.append(BAR_COLLAB * filled, style=PURPOSE_STYLE["collaboration"])
        row.append(BAR_ACCOUNT * (width - filled), style=PURPOSE_STYLE["accountability"])
        ratio = "-" if b.account_hours == 0 else f"{b.collab_hours / b.account_hours:.1f}x"
        low = b.account_hours > 0 and b.collab_hours < b.account_hours
        hours = f"{b.collab_hours:.1f}:{b.account_hours:.1f} h"
        events = f"{b.collab_events}:{b.account_events} ev"
        row.append(f" {hours:>14} {events:>9} ")
        row.append(f"{ratio:>6}", style="bold red" if low else "")
        row.rstrip()
        return row


def render_text(
    renderables: Sequence[object], *, width: int, color: bool, force_terminal: bool | None = None
) -> str:
    """Render views to a string at a fixed width, with or without ANSI colour (for tests, files)."""
    import io

    console = Console(
        file=io.StringIO(),
        width=width,
        color_system="truecolor" if color else None,
        force_terminal=color if force_terminal is None else force_terminal,
        record=True,
        soft_wrap=False,
        highlight=False,
        emoji=False,
        markup=False,
        legacy_windows=False,
    )
    for renderable in renderables:
        console.print(renderable)
    return console.export_text(styles=color)


ViewName = Literal["grid", "load", "balance"]
VIEWS: tuple[ViewName, ...] = ("grid", "load", "balance")


def select(plan: Plan, *, partner_id: str | None = None, manager_id: str | None = None) -> Plan:
    """Narrow a plan to one partner and/or one manager (their partners, events and infos)."""
    if partner_id is None and manager_id is None:
        return plan
    partners = tuple(
        p
        for p in plan.partners
        if (partner_id is None or p.id == partner_id)
        and (manager_id is None or p.manager_id == manager_id)
    )
    keep = {p.id for p in partners}
    managers = {p.manager_id for p in partners} | ({manager_id} if manager_id else set())

    def wanted(e: Event) -> bool:
        ids = e.viewers
        return any(i in keep for i in ids)

    return replace(
        plan,
        events=tuple(e for e in plan.events if wanted(e)),
        partners=partners,
        managers=tuple(m for m in plan.managers if m.id in managers),
    )


def view_of(
    name: str, plan: Plan, *, partner_id: str | None = None, manager_id: str | None = None
) -> YearGrid | ManagerLoad | BalanceBars:
    """Return the named view (one of `VIEWS`), narrowed to a partner or manager if given."""
    narrowed = select(plan, partner_id=partner_id, manager_id=manager_id)
    if name == "grid":
        return YearGrid(narrowed)
    if name == "load":
        return ManagerLoad(narrowed)
    if name == "balance":
        return BalanceBars(narrowed)
    raise ValueError(f"unknown view {name!r}; expected one of {', '.join(VIEWS)}")
