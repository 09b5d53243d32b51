"""Rich renderables of a plan for `chancal plan`: the per-partner summary, diagnostics, an agenda.

Every user-supplied string goes through `rich.text.Text`, so a partner called
"Acme [EU]" prints as written and is never read as markup.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from zoneinfo import ZoneInfo

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from chancal.plan import Diagnostic, Event, Plan, Timed

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


def _hours(events: Iterable[Event]) -> float:
    return sum(e.hours for e in events)


def summary_table(plan: Plan) -> Table:
    """One row per partner: events by kind (grid letters), collaboration against accountability."""
    from chancal.exporters.views import kind_codes

    codes = kind_codes(plan.events)
    table = Table(
        title=Text(f"{plan.program_name}: {plan.year_start} to {plan.last_day}"),
        caption=Text("collaboration and accountability as events / hours; kinds as in the grid"),
    )
    table.add_column("Partner", ratio=3, no_wrap=True, overflow="ellipsis")
    table.add_column("Tier", no_wrap=True, overflow="ellipsis", max_width=13)
    table.add_column("Manager", no_wrap=True, overflow="ellipsis", max_width=10)
    table.add_column("Collab.", justify="right", no_wrap=True)
    table.add_column("Acct.", justify="right", no_wrap=True)
    table.add_column("By kind", ratio=2, overflow="fold")
    by_partner: dict[str, list[Event]] = {}
    for event in plan.events:
        for pid in event.viewers:
            by_partner.setdefault(pid, []).append(event)
    for partner in plan.partners:
        events = by_partner.get(partner.id, [])
        collab = [e for e in events if e.purpose == "collaboration"]
        account = [e for e in events if e.purpose == "accountability"]
        kinds = Counter(codes[e.kind] for e in events)
        table.add_row(
            Text(partner.name),
            Text(partner.tier),
            Text(partner.manager_id),
            Text(f"{len(collab)} / {_hours(collab):g}h", style="green"),
            Text(f"{len(account)} / {_hours(account):g}h", style="blue"),
            Text(" ".join(f"{k}{kinds[k]}" for k in sorted(kinds))),
        )
    return table


DIAGNOSTICS_SHOWN = 40  # beyond this the text view summarises; --format json lists them all
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def diagnostics_table(diagnostics: Sequence[Diagnostic]) -> RenderableType:
    """The diagnostics, most severe first, one line each, or a note that there are none."""
    if not diagnostics:
        return Text("No diagnostics: every rule was placed as written.", style="green")
    ordered = sorted(
        diagnostics,
        key=lambda d: (_SEVERITY_ORDER.get(d.severity, 3), d.partner_id or "", d.day or date.min),
    )
    counts = Counter(d.severity for d in diagnostics)
    head = Text("Diagnostics: ", style="bold")
    head.append(
        ", ".join(f"{counts[s]} {s}" for s in ("error", "warning", "info") if counts[s]),
    )
    lines: list[RenderableType] = [head]
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
    return Group(*lines)


def _local(event: Event, zone: str) -> tuple[str, str]:
    span = event.span
    if isinstance(span, Timed):
        tz = ZoneInfo(zone)
        start, end = span.start.astimezone(tz), span.end.astimezone(tz)
        return start.date().isoformat(), f"{start:%H:%M}-{end:%H:%M}"
    days = (span.end - span.start).days
    return span.start.isoformat(), "all day" if days == 1 else f"{days} days"


def agenda_table(
    plan: Plan, *, partner_id: str | None = None, manager_id: str | None = None
) -> Table:
    """A partner's or a manager's events in date order, times in that person's own zone."""
    if partner_id is not None:
        info = next(p for p in plan.partners if p.id == partner_id)
        zone, who = info.timezone, f"{info.name} ({info.id})"
        events = [e for e in plan.events if partner_id in e.viewers]
    else:
        minfo = next(m for m in plan.managers if m.id == manager_id)
        zone, who = minfo.timezone, f"{minfo.name} ({minfo.id})"
        mine = {p.id for p in plan.partners if p.manager_id == manager_id}
        events = [
            e for e in plan.events if e.manager_id == manager_id or mine.intersection(e.viewers)
        ]
    table = Table(title=Text(f"Agenda of {who}, times in {zone}"))
    for name in ("Date", "Time", "Purpose", "Title", "Where"):
        table.add_column(name)
    for event in events:
        day, time = _local(event, zone)
        table.add_row(day, time, event.purpose, Text(event.title), Text(event.location))
    return table


def plan_text(
    plan: Plan, *, partner_id: str | None = None, manager_id: str | None = None
) -> RenderableType:
    """What `chancal plan` prints: the agenda asked for, or the summary, then diagnostics."""
    if partner_id is not None or manager_id is not None:
        first: RenderableType = agenda_table(plan, partner_id=partner_id, manager_id=manager_id)
        diagnostics = [
            d for d in plan.diagnostics if partner_id is None or d.partner_id == partner_id
        ]
        if manager_id is not None:
            mine = {p.id for p in plan.partners if p.manager_id == manager_id}
            diagnostics = [d for d in plan.diagnostics if d.partner_id in mine]
    else:
        first, diagnostics = summary_table(plan), list(plan.diagnostics)
    return Group(first, diagnostics_table(diagnostics))
