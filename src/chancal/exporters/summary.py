"""Rich renderables of a plan for `chancal plan`: the per-partner summary, diagnostics, an agenda.

Every user-supplied string goes through `rich.text.Text`, so a partner called
"Acme [EU]" prints as written and is never read as markup.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from zoneinfo import ZoneInfo

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from chancal.exporters.layout import HangingLines
from chancal.plan import Diagnostic, Event, Plan, Timed

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


def _hours(events: Iterable[Event]) -> float:
    return sum(e.hours for e in events)


class SummaryTable:
    """One row per partner, laid out for the console's width (see `summary_table`)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield summary_table(self.plan, options.max_width)


_MIN_PARTNER = 12  # below this a partner column says too little to be worth showing


def summary_table(plan: Plan, width: int | None = None) -> Table:
    """One row per partner: events by kind (grid letters), collaboration against accountability.

    Fitted to `width` on purpose rather than squeezed by rich: the numbers,
    tiers and managers always print in full; the "By kind" column is dropped
    when it does not fit (the grid above shows the kinds), then the borders
    become lighter, and only then are long partner names cut with an ellipsis.
    """
    from chancal.exporters.views import kind_codes

    codes = kind_codes(plan.events)
    by_partner: dict[str, list[Event]] = {}
    for event in plan.events:
        for pid in event.viewers:
            by_partner.setdefault(pid, []).append(event)
    rows: list[tuple[Text, ...]] = []
    for partner in plan.partners:
        events = by_partner.get(partner.id, [])
        collab = [e for e in events if e.purpose == "collaboration"]
        account = [e for e in events if e.purpose == "accountability"]
        kinds = Counter(codes[e.kind] for e in events)
        rows.append(
            (
                Text(partner.name),
                Text(partner.tier),
                Text(partner.manager_id),
                Text(f"{len(collab)} / {_hours(collab):g}h", style="green"),
                Text(f"{len(account)} / {_hours(account):g}h", style="blue"),
                Text(" ".join(f"{k}{kinds[k]}" for k in sorted(kinds))),
            )
        )
    heads = ("Partner", "Tier", "Manager", "Collab.", "Acct.", "By kind")
    widths = [max([len(h), *(r[i].cell_len for r in rows)]) for i, h in enumerate(heads)]
    layouts = (
        (box.HEAVY_HEAD, (1, 2, 3, 4, 5)),
        (box.HEAVY_HEAD, (1, 2, 3, 4)),
        (box.SIMPLE_HEAD, (1, 2, 3, 4)),
        (box.SIMPLE_HEAD, (1, 3, 4)),  # the grid above groups partners by manager
    )
    for chosen, shown in layouts:
        # a bordered table spends 3 cells a column and 1 more; the light one, with
        # no edges, 3 a column less 3
        n = len(shown) + 1
        overhead = 3 * n + 1 if chosen is box.HEAVY_HEAD else 3 * n - 3
        spare = (width or 10_000) - overhead - sum(widths[i] for i in shown)
        if spare >= widths[0]:
            break
    partner_width = max(_MIN_PARTNER, min(widths[0], spare))
    caption = "collaboration and accountability as events / hours; " + (
        "kinds as in the grid" if 5 in shown else "kinds: see the grid"
    )
    light = chosen is not box.HEAVY_HEAD
    table = Table(
        title=Text(f"{plan.program_name}: {plan.year_start} to {plan.last_day}"),
        caption=Text(caption),
        box=chosen,
        show_edge=not light,
        pad_edge=not light,
    )
    table.add_column(
        heads[0], no_wrap=True, overflow="ellipsis", width=partner_width, max_width=partner_width
    )
    for i in shown:
        table.add_column(
            heads[i], no_wrap=True, min_width=widths[i], justify="right" if i in (3, 4) else "left"
        )
    for row in rows:
        table.add_row(row[0], *(row[i] for i in shown))
    return table


DIAGNOSTICS_SHOWN = 40  # beyond this the text view summarises; --format json lists them all
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def _severity_counts(diagnostics: Sequence[Diagnostic]) -> str:
    counts = Counter(d.severity for d in diagnostics)
    return ", ".join(
        f"{counts[s]} {s}{'s' if counts[s] != 1 and s != 'info' else ''}"
        for s in ("error", "warning", "info")
        if counts[s]
    )


def diagnostics_table(diagnostics: Sequence[Diagnostic]) -> RenderableType:
    """The diagnostics, most severe first, one paragraph each, or a note that there are none."""
    if not diagnostics:
        return Text("No diagnostics: every rule was placed as written.", style="green")
    ordered = sorted(
        diagnostics,
        key=lambda d: (_SEVERITY_ORDER.get(d.severity, 3), d.partner_id or "", d.day or date.min),
    )
    head = Text("Diagnostics: ", style="bold")
    head.append(_severity_counts(diagnostics))
    lines: list[Text] = [head]
    for d in ordered[:DIAGNOSTICS_SHOWN]:
        line = Text("  ")
        line.append(f"{d.severity:<7}", style=SEVERITY_STYLE.get(d.severity, ""))
        line.append(f" {d.day.isoformat() if d.day else '':10} ")
        line.append(f"{d.code}: ", style="bold")
        line.append(d.message)
        lines.append(line)
    hidden = len(ordered) - DIAGNOSTICS_SHOWN
    if hidden > 0:
        lines.append(Text(f"  ... and {hidden} more; --format json lists them all", style="dim"))
    return HangingLines(lines, indent=4)


def _local(event: Event, zone: str) -> tuple[str, str]:
    span = event.span
    if isinstance(span, Timed):
        tz = ZoneInfo(zone)
        start, end = span.start.astimezone(tz), span.end.astimezone(tz)
        return start.date().isoformat(), f"{start:%H:%M}-{end:%H:%M}"
    days = (span.end - span.start).days
    return span.start.isoformat(), "all day" if days == 1 else f"{days} days"


class AgendaTable:
    """`agenda_table` laid out for the console's width."""

    def __init__(self, plan: Plan, partner_id: str | None, manager_id: str | None) -> None:
        self.plan, self.partner_id, self.manager_id = plan, partner_id, manager_id

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield agenda_table(
            self.plan,
            partner_id=self.partner_id,
            manager_id=self.manager_id,
            width=options.max_width,
        )


_PURPOSE_SHORT = {"collaboration": "collab.", "accountability": "acct."}


def agenda_table(
    plan: Plan,
    *,
    partner_id: str | None = None,
    manager_id: str | None = None,
    width: int | None = None,
) -> Table:
    """A partner's or a manager's events in date order, times in that person's own zone.

    Below 120 columns the borders are light, the purpose is abbreviated and
    date and time never wrap, so titles keep room to read.
    """
    if partner_id is not None:
        info = next(p for p in plan.partners if p.id == partner_id)
        zone, who = info.timezone, f"{info.name} ({info.id})"
        events = plan.agenda(partner_id=partner_id)
    else:
        minfo = next(m for m in plan.managers if m.id == manager_id)
        zone, who = minfo.timezone, f"{minfo.name} ({minfo.id})"
        events = plan.agenda(manager_id=manager_id)
    narrow = width is not None and width < 120
    title = Text(f"Agenda of {who}, times in {zone}")
    if not narrow:
        table = Table(title=title)
        for name in ("Date", "Time", "Purpose", "Title", "Where"):
            table.add_column(name)
    else:
        table = Table(
            title=title,
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            collapse_padding=True,
            expand=True,
        )
        for name in ("Date", "Time", "Purpose"):
            table.add_column(name, no_wrap=True)
        table.add_column("Title", ratio=2)
        table.add_column("Where", ratio=1)
    for event in events:
        day, time = _local(event, zone)
        purpose = _PURPOSE_SHORT.get(event.purpose, event.purpose) if narrow else event.purpose
        table.add_row(day, time, purpose, Text(event.title), Text(event.location))
    return table


def plan_text(
    plan: Plan, *, partner_id: str | None = None, manager_id: str | None = None
) -> RenderableType:
    """What `chancal plan` prints: the agenda asked for, or the summary, then diagnostics."""
    if partner_id is not None or manager_id is not None:
        first: RenderableType = AgendaTable(plan, partner_id, manager_id)
        diagnostics = [
            d for d in plan.diagnostics if partner_id is None or d.partner_id == partner_id
        ]
        if manager_id is not None:
            mine = {p.id for p in plan.partners if p.manager_id == manager_id}
            diagnostics = [d for d in plan.diagnostics if d.partner_id in mine]
    else:
        first, diagnostics = SummaryTable(plan), list(plan.diagnostics)
    return Group(first, diagnostics_table(diagnostics))
