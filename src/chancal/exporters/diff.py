"""What a change to the program does to the published calendar, for a pull-request reviewer.

Changes (`chancal.changes`, made by the lock) -> rich text grouped by partner, or
stable JSON (its JSON Schema is `chancal schema --output diff`; `format` is
raised when a field is removed or changes meaning). Pure: no I/O; user text
never goes through rich markup.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from rich.console import Group
from rich.text import Text

from chancal.changes import Change, ChangeKind, summarize
from chancal.exporters.layout import HangingLines
from chancal.plan import Plan

JSON_FORMAT_VERSION = 1

# Locale-independent on purpose: output must be the same bytes on every machine.
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MARKS: dict[ChangeKind, tuple[str, str]] = {
    "added": ("+", "green"),
    "moved": ("~", "yellow"),
    "changed": ("~", "cyan"),
    "cancelled": ("-", "red"),
    "restored": ("+", "green"),
    "retired": (" ", "dim"),
}


def when(value: date | datetime | None) -> str:
    """Render a start for people: `Tue 2027-03-09` or `Tue 2027-03-09 10:00 CET`."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        day = value.date()
        zone = value.tzname() or ""
        return f"{_WEEKDAYS[day.weekday()]} {day.isoformat()} {value:%H:%M} {zone}".rstrip()
    return f"{_WEEKDAYS[value.weekday()]} {value.isoformat()}"


def headline(changes: Sequence[Change], lock_name: str = "chancal.lock") -> Text:
    """One line: what would change against the lock, counted by kind."""
    counts = summarize(changes)
    shown = [f"{n} {kind}" for kind, n in counts.items() if n and kind != "retired"]
    if not shown:
        text = Text(f"No changes to the published calendar ({lock_name} is up to date)")
        if counts["retired"]:
            text.append(f"; {_retired_text(counts['retired'])}")
        return text
    text = Text(f"Against {lock_name}: ", style="bold")
    text.append(", ".join(shown))
    if counts["retired"]:
        text.append(f"; {_retired_text(counts['retired'])}")
    return text


def _retired_text(n: int) -> str:
    return f"{n} past event{'s' if n != 1 else ''} leave{'s' if n == 1 else ''} the lock"


def render_text(
    changes: Sequence[Change],
    partner_names: Mapping[str, str],
    *,
    lock_name: str = "chancal.lock",
) -> Group:
    """Group the changes by partner (program-wide events last), one line each."""
    parts: list[Text] = [headline(changes, lock_name)]
    groups: dict[str | None, list[Change]] = {}
    for change in changes:
        if change.kind != "retired":
            groups.setdefault(change.partner_id, []).append(change)
    for partner_id in sorted(groups, key=lambda p: (p is None, p or "")):
        parts.append(Text())
        if partner_id is None:
            parts.append(Text("Program-wide", style="bold"))
        else:
            name = partner_names.get(partner_id, partner_id)
            title = Text(name, style="bold")
            if name != partner_id:
                title.append(f" ({partner_id})", style="dim")
            parts.append(title)
        parts.extend(_line(c) for c in groups[partner_id])
    # a long line continues under the date column ("  ~ changed    "); the
    # headline, which names the lock's path, stays one line
    return Group(parts[0], HangingLines(parts[1:], indent=15))


def _line(change: Change) -> Text:
    mark, style = _MARKS[change.kind]
    line = Text("  ")
    line.append(f"{mark} {change.kind:<9}", style=style)
    line.append("  ")
    if change.kind == "moved":
        line.append(f"{when(change.old_start)} -> {when(change.new_start)}")
    elif change.kind in ("cancelled", "retired"):
        line.append(when(change.old_start))
    else:
        line.append(when(change.new_start))
    line.append("  ")
    line.append(change.title)
    notes: list[str] = []
    if change.old_title is not None:
        notes.append(f"was {json.dumps(change.old_title, ensure_ascii=False)}")
    shown = [d for d in change.details if d != "title"]  # the old title says it already
    if change.kind == "changed" and shown:
        notes.append("changed: " + ", ".join(shown))
    if change.reason:
        notes.append(change.reason)
    if notes:
        line.append(f"  ({'; '.join(notes)})", style="dim")
    return line


def select(
    changes: Sequence[Change],
    plan: Plan,
    *,
    partner_id: str | None = None,
    manager_id: str | None = None,
) -> list[Change]:
    """The changes one partner's and/or one manager's agenda would show.

    A partner's: changes to its own events and to the shared events it sees in
    the fresh `plan`; a manager's: to the events the manager owns and to those
    any of the manager's partners sees.
    """
    if partner_id is None and manager_id is None:
        return list(changes)
    mine = {p.id for p in plan.partners if p.manager_id == manager_id}
    shared = {e.key: e.viewers for e in plan.events if e.partner_id is None}

    def wanted(c: Change) -> bool:
        seen = (c.partner_id,) if c.partner_id is not None else shared.get(c.key, ())
        if partner_id is not None and partner_id not in seen:
            return False
        return manager_id is None or c.manager_id == manager_id or not mine.isdisjoint(seen)

    return [c for c in changes if wanted(c)]


def render_json(
    changes: Sequence[Change],
    *,
    lock_name: str = "chancal.lock",
    partner_id: str | None = None,
    manager_id: str | None = None,
) -> str:
    """Return the changes as stable, sorted JSON (one trailing newline).

    `partner_id` and `manager_id` only record the filter `changes` went through.
    """
    counts = summarize(changes)
    document: dict[str, Any] = {
        "format": JSON_FORMAT_VERSION,
        "filter": {"partner_id": partner_id, "manager_id": manager_id},
        "lock": lock_name,
        "summary": dict(counts),
        "changes": [_change_json(c) for c in changes],
    }
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _change_json(change: Change) -> dict[str, Any]:
    return {
        "kind": change.kind,
        "key": change.key,
        "uid": change.uid,
        "partner_id": change.partner_id,
        "manager_id": change.manager_id,
        "title": change.title,
        "old_title": change.old_title,
        "old_start": _iso(change.old_start),
        "new_start": _iso(change.new_start),
        "sequence": change.sequence,
        "details": list(change.details),
        "reason": change.reason or None,
    }


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
