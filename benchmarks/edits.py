"""How much of a published year moves when the program is edited: one row per program and edit.

    python benchmarks/edits.py                 # every scenario, as a table
    python benchmarks/edits.py --only example  # scenarios whose id contains "example"

Each scenario publishes a program through the CLI (`export --ics --today T0`),
edits the program text the way a channel team would (a partner moved to another
manager or removed, a program blackout added, a focus area renamed, a tier or a
manager's capacity changed), then, with `--today T1`, asks `chancal diff --format
json` what publishing would change and publishes (`export --ics`). It then plans
the edited program again exactly as export did (pinned to the first lock) and
judges that year: hard-rule breaks (`chancal.verify`), unplaced events against a
fresh plan of the edited file (only history, the events before T1, kept),
published events before T1 whose start changed, moved events the planner gave
no `moved` diagnostic, cancelled events a fresh plan still places, and whether
the plan is exactly what `all.ics` now holds. tests/test_plan_trust_edits.py runs
the same scenarios and holds the figures to the bounds of its table.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

import icalendar
from typer.testing import CliRunner

from chancal.cli import app
from chancal.loader import load
from chancal.models import Config
from chancal.plan import Diagnostic, Plan
from chancal.planner import make_plan
from chancal.publish.lock import Lock, pins
from chancal.publish.lock_read import loads
from chancal.verify import format_break, verify

ROOT = Path(__file__).resolve().parent.parent
STAMP1 = "2027-01-01T00:00:00Z"
STAMP2 = "2027-04-01T08:00:00Z"


@dataclass(frozen=True)
class Program:
    """A program file and the two days a scenario publishes it on."""

    id: str
    path: Path
    t0: date  # first publication
    t1: date  # the edit is published on this day; events before it are history


PROGRAMS: dict[str, Program] = {
    p.id: p
    for p in (
        Program("example", ROOT / "examples" / "partners.yaml", date(2027, 1, 4), date(2027, 4, 1)),
        Program(
            "forty",
            ROOT / "tests" / "fixtures" / "programs" / "forty.yaml",
            date(2027, 1, 4),
            date(2027, 4, 1),
        ),
    )
}


# -- edits of the program text ------------------------------------------------------
#
# Edits work on the YAML text, not on the models, so comments and layout stay as a
# person would leave them and the edited file goes through the loader like any other.


@dataclass(frozen=True)
class Edit:
    """One change to a program file, as text in, text out."""

    name: str  # short, stable: the scenario id is "<program>-<name>"
    what: str  # for people
    apply: Callable[[str], str]


def _item(text: str, item_id: str) -> tuple[int, int]:
    """Where the list item `  - id: <item_id>` of a top-level list starts and ends."""
    found = re.search(rf"^  - id: {re.escape(item_id)}\n", text, flags=re.M)
    assert found is not None, f"no item {item_id!r} in the program"
    # The item ends where the next item, comment or top-level key of the list starts.
    after = re.compile(r"^(?:  - |  # |[^\s#])", flags=re.M).search(text, found.end())
    return found.start(), after.start() if after else len(text)


def _in_item(text: str, item_id: str, pattern: str, new: str) -> str:
    """Replace the one match of `pattern` inside the item `item_id`."""
    start, end = _item(text, item_id)
    block, count = re.subn(pattern, new, text[start:end], flags=re.M)
    assert count == 1, f"{pattern!r} matched {count} times in {item_id!r}"
    return text[:start] + block + text[end:]


def move_partner(partner: str, manager: str) -> Edit:
    """The partner changes manager."""
    return Edit(
        "move",
        f"{partner} to manager {manager}",
        lambda t: _in_item(t, partner, r"^    manager: \S+$", f"    manager: {manager}"),
    )


def remove_partner(partner: str) -> Edit:
    """The partner leaves the program (its item and the comments just above it stay)."""

    def apply(text: str) -> str:
        start, end = _item(text, partner)
        return text[:start] + text[end:].lstrip("\n")

    return Edit("remove", f"{partner} removed", apply)


def add_blackout(start: str, end: str, reason: str) -> Edit:
    """A program-wide blackout is added (the program's list comes first in the file)."""

    def apply(text: str) -> str:
        head = "\n  blackouts:\n"
        assert text.count(head) == 1, "the program has no blackouts list"
        line = f"    - {{start: {start}, end: {end}, reason: {reason}}}\n"
        return text.replace(head, head + line)

    return Edit("blackout", f"program blackout {start} to {end}", apply)


def rename_focus_area(partner: str, old: str, new: str) -> Edit:
    """One focus area of the partner gets another name (its workshop is a new event)."""
    return Edit(
        "rename",
        f"{partner} focus area {old!r} -> {new!r}",
        lambda t: _in_item(
            t,
            partner,
            rf"^(    focus_areas: \[.*\b){re.escape(old)}(\b.*\])$",
            rf"\g<1>{new}\g<2>",
        ),
    )


def change_tier(partner: str, tier: str, name: str) -> Edit:
    """The partner changes tier (`name`: tier-down or tier-up)."""
    return Edit(
        name,
        f"{partner} to tier {tier}",
        lambda t: _in_item(t, partner, r"^    tier: \S+$", f"    tier: {tier}"),
    )


def lower_capacity(manager: str, meetings: int, hours: int) -> Edit:
    """The manager's weekly capacity is cut (the manager's item must set one)."""
    return Edit(
        "capacity",
        f"{manager} capacity {meetings} meetings, {hours} h a week",
        lambda t: _in_item(
            t,
            manager,
            r"^    capacity: \{.*\}$",
            f"    capacity: {{meetings_per_week: {meetings}, hours_per_week: {hours}}}",
        ),
    )


EDITS: dict[str, tuple[Edit, ...]] = {
    "example": (
        move_partner("northwind", "claire"),
        remove_partner("thames-networks"),
        add_blackout("2027-05-10", "2027-05-14", "Product launch week"),
        rename_focus_area("northwind", "pipeline management", "pipeline forecasting"),
        change_tier("northwind", "growth", "tier-down"),
        change_tier("maple-it", "growth", "tier-up"),
        lower_capacity("alex", 4, 8),
    ),
    "forty": (
        move_partner("aegean-networks", "hannah"),
        remove_partner("negev-cloud"),
        add_blackout("2027-05-09", "2027-05-13", "Product launch week"),
        rename_focus_area("lakeshore-tech", "solution selling", "value selling"),
        change_tier("thames-gateway", "growth", "tier-down"),
        change_tier("canal-digital", "growth", "tier-up"),
        lower_capacity("marcus", 11, 16),
    ),
}


def scenarios() -> list[tuple[str, Program, Edit]]:
    """Every (scenario id, program, edit), in table order."""
    return [
        (f"{program_id}-{edit.name}", PROGRAMS[program_id], edit)
        for program_id, edits in EDITS.items()
        for edit in edits
    ]


# -- running a scenario -----------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """What publishing one edit did to the published year."""

    scenario: str
    moved: int  # `moved` changes in `chancal diff --format json`
    needed: int  # of those, events whose published slot alone breaks a hard rule after the edit
    moved_reported: int  # moved, as counted in export's "wrote chancal.lock (...)" line
    moved_without_reason: tuple[str, ...]  # keys of moved events with no `moved` diagnostic
    cancelled: int
    cancelled_still_planned: tuple[str, ...]  # cancelled keys that a fresh plan places
    unplaced: int  # `unplaced` errors of the plan export published
    fresh_unplaced: int  # ... of a fresh plan of the edited file (history kept)
    breaks: tuple[str, ...]  # hard-rule breaks found by chancal.verify
    cli_verify: int | None  # exit code of `chancal verify`, None while it does not exist
    history_moved: tuple[str, ...]  # events before T1 whose start changed
    history_dropped: tuple[str, ...]  # events before T1 that left the feeds (partner still in)
    history_added: tuple[str, ...]  # events now before T1 not published there (new or moved in)
    history_rewritten: tuple[str, ...]  # events before T1, same start, content changed
    feed_mismatch: tuple[str, ...]  # UIDs where all.ics and the re-made plan disagree


def invoke(*args: str) -> str:
    """Run the CLI in this process; return stdout; fail with its output on a non-zero exit."""
    result = CliRunner().invoke(app, list(args))
    if result.exit_code != 0:
        raise AssertionError(
            f"chancal {' '.join(args)} exited {result.exit_code}:\n{result.output}"
        ) from result.exception
    return result.stdout


def publish(program: Program, folder: Path) -> Path:
    """Copy the program into `folder` and publish it on T0 (feeds and chancal.lock)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "partners.yaml"
    shutil.copyfile(program.path, target)
    _export(target, program.t0, STAMP1)
    return target


def _export(path: Path, today: date, stamp: str, *extra: str) -> str:
    out = path.parent / "calendars"
    return invoke(
        *("export", str(path), "--ics", "--out", str(out)),
        *("--today", str(today), "--stamp", stamp, *extra),
    )


def _command(name: str) -> Callable[..., object] | None:
    """The CLI command's function, or None (the CLI grows while these figures are kept)."""
    for info in app.registered_commands:
        callback = info.callback
        if callback is not None and (info.name or callback.__name__) == name:
            return callback
    return None


def _option(command: str, parameter: str) -> bool:
    """Whether the CLI command exists and takes this parameter."""
    callback = _command(command)
    return callback is not None and parameter in inspect.signature(callback).parameters


def feed_starts(path: Path) -> dict[str, tuple[str, date | datetime]]:
    """STATUS and DTSTART of every event of an ICS feed, by UID (read with icalendar)."""
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    return {
        str(e["UID"]): (str(e.get("STATUS", "CONFIRMED")), e.decoded("DTSTART"))
        for e in calendar.walk("VEVENT")
    }


def _day(start: date | datetime) -> date:
    return start.date() if isinstance(start, datetime) else start


def _reported_moves(export_output: str) -> int:
    found = re.search(r"(\d+) moved", export_output)
    return int(found.group(1)) if found else 0


def _cli_verify(path: Path, today: date) -> int | None:
    """Exit code of `chancal verify FILE --today T` once that command exists, else None."""
    if _command("verify") is None:
        return None
    args = ["verify", str(path)]
    if _option("verify", "today"):
        args += ["--today", str(today)]
    return CliRunner().invoke(app, args).exit_code


def run(program: Program, edit: Edit, folder: Path, scenario: str = "") -> Figures:
    """Publish `program` on T0 in `folder` (unless already there), edit it, publish on T1, judge."""
    path = folder / "partners.yaml"
    if not (folder / "chancal.lock").exists():
        publish(program, folder)
    all_ics = folder / "calendars" / "all.ics"
    lock_text = (folder / "chancal.lock").read_text(encoding="utf-8")
    lock = loads(lock_text)
    published = pins(lock)
    before = feed_starts(all_ics)

    path.write_text(edit.apply(path.read_text(encoding="utf-8")), encoding="utf-8")
    t1 = str(program.t1)
    changes = json.loads(invoke("diff", str(path), "--format", "json", "--today", t1))["changes"]
    moved = [c for c in changes if c["kind"] == "moved"]
    cancelled = [c for c in changes if c["kind"] == "cancelled"]
    # An edit may leave events that no plan can place (a fresh plan neither): publish
    # the rest, as a team would, and compare the count with the fresh plan's below.
    allow = ("--allow-unplaced",) if _option("export", "allow_unplaced") else ()
    exported = _export(path, program.t1, STAMP2, *allow)
    after = feed_starts(all_ics)

    config = load(path).config
    # Exactly what export planned: the first lock's pins, the same today.
    plan = make_plan(config, today=program.t1, pins=published)
    history = {k: v for k, v in published.items() if _day(v) < program.t1}
    fresh = make_plan(config, today=program.t1, pins=history)

    # The feeds hold the plan, except that events published before T1 stay as published.
    frozen = {
        e.uid: e.start for e in lock.entries if e.status != "CANCELLED" and e.day < program.t1
    }
    planned = {e.uid: e.start for e in plan.events if e.uid not in frozen} | frozen
    live = {uid: start for uid, (status, start) in after.items() if status != "CANCELLED"}
    mismatch = sorted(
        uid for uid in planned.keys() | live.keys() if planned.get(uid) != live.get(uid)
    )
    {p.id for p in config.partners}
    history_moved, history_dropped = [], []
    for entry in lock.entries:
        if entry.status == "CANCELLED" or entry.day >= program.t1:
            continue
        now = after.get(entry.uid)
        if now is None:
            history_dropped.append(entry.key)
        elif now[1] != before[entry.uid][1]:
            history_moved.append(entry.key)
    # Planned before T1 but not published there: a new event, or one moved into the past.
    history_added = sorted(
        e.key
        for e in plan.events
        if _day(e.start) < program.t1 and before.get(e.uid, ("", None))[1] != e.start
    )
    history_rewritten = sorted(
        c["key"]
        for c in changes
        if c["kind"] == "changed" and date.fromisoformat(c["old_start"][:10]) < program.t1
    )
    fresh_keys = {e.key for e in fresh.events}
    needed = _needed(config, plan, lock, {c["key"] for c in moved}, program.t1)
    return Figures(
        scenario=scenario or f"{program.id}-{edit.name}",
        moved=len(moved),
        needed=needed,
        moved_reported=_reported_moves(exported),
        moved_without_reason=tuple(c["key"] for c in moved if not c["reason"]),
        cancelled=len(cancelled),
        cancelled_still_planned=tuple(c["key"] for c in cancelled if c["key"] in fresh_keys),
        unplaced=_unplaced(plan.diagnostics),
        fresh_unplaced=_unplaced(fresh.diagnostics),
        breaks=tuple(format_break(b) for b in verify(config, plan, today=program.t1)),
        cli_verify=_cli_verify(path, program.t1),
        history_moved=tuple(history_moved),
        history_dropped=tuple(history_dropped),
        history_added=tuple(history_added),
        history_rewritten=tuple(history_rewritten),
        feed_mismatch=tuple(mismatch),
    )


def _needed(config: Config, plan: Plan, lock: Lock, moved: set[str], today: date) -> int:
    """How many moved events break a hard rule on their own where they were published.

    Each moved event is put back at its published start and end, and the year is
    judged again: a break that names one event alone (working hours, working day,
    holiday, blackout) could only be mended by moving that event. Events moved to
    make room for others, or to settle a clash of two, are not counted, so this is
    a lower bound of the moves the edit needs.
    """
    published = lock.by_key()
    events = []
    for e in plan.events:
        if e.key in moved:
            was = published[e.key]
            e = replace(e, span=was.span, timezone=was.content.timezone)
        events.append(e)
    breaks = verify(config, replace(plan, events=tuple(events)), today=today)
    return len({b.keys[0] for b in breaks if len(b.keys) == 1 and b.keys[0] in moved})


def _unplaced(diagnostics: Sequence[Diagnostic]) -> int:
    return sum(1 for d in diagnostics if d.severity == "error" and d.code == "unplaced")


# -- the table ----------------------------------------------------------------------------

COLUMNS = (
    "scenario",
    "edit",
    "moved",
    "needed",
    "no reason",
    "cancelled",
    "still asked",
    "unplaced / fresh",
    "breaks",
    "past moved / dropped / added",
    "past rewritten",
)


def row(edit: Edit, f: Figures) -> tuple[str, ...]:
    """One table row for a scenario's figures."""
    return (
        f.scenario,
        edit.what,
        str(f.moved),
        str(f.needed),
        str(len(f.moved_without_reason)),
        str(f.cancelled),
        str(len(f.cancelled_still_planned)),
        f"{f.unplaced} / {f.fresh_unplaced}",
        str(len(f.breaks)),
        f"{len(f.history_moved)} / {len(f.history_dropped)} / {len(f.history_added)}",
        str(len(f.history_rewritten)),
    )


def table(rows: Sequence[tuple[str, ...]]) -> str:
    """Render rows as a Markdown table (pastes into a note or a pull request)."""
    lines = [COLUMNS, *rows]
    widths = [max(len(r[i]) for r in lines) for i in range(len(COLUMNS))]
    out = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in lines
    ]
    out.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scenarios, print the table and every problem found (exit 0: it only reports)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="only scenarios whose id contains this")
    args = parser.parse_args(argv)
    rows = []
    problems = []
    with tempfile.TemporaryDirectory(prefix="chancal-edits-") as tmp:
        seeds: dict[str, Path] = {}
        for scenario, program, edit in scenarios():
            if args.only not in scenario:
                continue
            if program.id not in seeds:
                seeds[program.id] = Path(tmp) / f"seed-{program.id}"
                publish(program, seeds[program.id])
            folder = Path(tmp) / scenario
            shutil.copytree(seeds[program.id], folder)
            figures = run(program, edit, folder, scenario)
            rows.append(row(edit, figures))
            problems += [f"{scenario}: {b}" for b in figures.breaks]
            problems += [
                f"{scenario}: moved with no reason: {k}" for k in figures.moved_without_reason
            ]
            problems += [f"{scenario}: past event moved: {k}" for k in figures.history_moved]
            problems += [f"{scenario}: past event dropped: {k}" for k in figures.history_dropped]
            problems += [f"{scenario}: past event added: {k}" for k in figures.history_added]
            problems += [f"{scenario}: feed differs from plan: {u}" for u in figures.feed_mismatch]
            problems += [
                f"{scenario}: cancelled, yet a fresh plan places it: {k}"
                for k in figures.cancelled_still_planned
            ]
    print(table(rows))
    if problems:
        print()
        print("\n".join(problems))
    return 0


if __name__ == "__main__":
    sys.exit(main())
