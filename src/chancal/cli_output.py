"""What the CLI shows on the terminal: consoles, user errors, progress, publishing verdicts.

Colours come from rich, which drops them on a pipe and with NO_COLOR. Progress
(a spinner while planning, a bar while writing feeds) appears only on a
terminal, so captured output stays byte-for-byte the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from chancal.errors import ChancalError, ConfigError, printable

if TYPE_CHECKING:
    from datetime import date, datetime
    from pathlib import Path

    from chancal.changes import ChangeKind
    from chancal.plan import Plan
    from chancal.publish.workflow import Formats, Program, Published


def stdout() -> Console:
    # emoji=False: rich would show `partners.yaml:100:11:` as `partners.yaml💯11:`.
    return Console(soft_wrap=True, highlight=False, emoji=False)


def stderr() -> Console:
    return Console(stderr=True, soft_wrap=True, highlight=False, emoji=False)


def print_plain(console: Console, text: str, style: str | None = None) -> None:
    """Print user text exactly: control characters escaped, no markup, no emoji codes."""
    from rich.text import Text

    console.print(Text(printable(text), style=style or ""))


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a ChancalError into its message on stderr and its exit code, never a traceback."""
    try:
        yield
    except ConfigError as exc:
        err = stderr()
        for problem in exc.problems:
            print_plain(err, str(problem))
        count = len(exc.problems)
        err.print(f"{count} problem{'s' if count != 1 else ''} found.", style="bold red")
        raise typer.Exit(code=exc.exit_code) from None
    except ChancalError as exc:
        print_plain(stderr(), f"error: {exc}")
        raise typer.Exit(code=exc.exit_code) from None


def refuse_unknown_ids(
    program: Program, *, partner: str | None = None, manager: str | None = None
) -> None:
    """Raise a UsageError with a did-you-mean for a --partner or --manager the program lacks."""
    config = program.config
    if partner is not None:
        _known_id(partner, [p.id for p in config.partners], "partner")
    if manager is not None:
        _known_id(manager, [m.id for m in config.managers], "manager")


def _known_id(value: str, choices: list[str], what: str) -> None:
    if value in choices:
        return
    from chancal.errors import UsageError
    from chancal.suggest import did_you_mean

    hint = did_you_mean(value, choices) or f"; known: {', '.join(sorted(choices))}"
    raise UsageError(f"unknown {what} '{value}'{hint}")


def count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def refuse_untrustworthy(
    published: Published, *, allow_unplaced: bool, allow_mass_cancel: bool = False
) -> None:
    """Report the plan's diagnostics on stderr; exit 1 on a hard-rule break, an unplaced
    event or a mass cancellation (`chancal.publish.workflow.refusal` decides the same).

    The verifier is independent of the planner, so a planner bug cannot publish
    a meeting outside someone's working hours or on top of another one.
    """
    from chancal.verify import format_break

    err = stderr()
    breaks, plan = published.breaks, published.reconciled.plan
    if breaks:
        for found in breaks:
            print_plain(err, f"hard rule broken: {format_break(found)}")
        err.print(
            f"refusing to publish: {count(len(breaks), 'hard-rule break')} in the planned "
            "year (a chancal bug: please report it with the program); nothing was written",
            markup=False,
        )
        raise typer.Exit(code=1)
    unplaced = published.unplaced
    counts = {s: sum(d.severity == s for d in plan.diagnostics) for s in ("error", "warning")}
    if counts["error"] or counts["warning"]:
        err.print(
            f"plan: {count(counts['error'], 'error')}, {count(counts['warning'], 'warning')} "
            "('chancal plan' lists them)",
            markup=False,
        )
    _print_errors(err, plan)
    if unplaced and not allow_unplaced:
        err.print(
            f"refusing to publish: {count(len(unplaced), 'event')} the program asks for "
            "could not be placed; change the program (see the reasons above) or pass "
            "--allow-unplaced to publish the year without them; nothing was written",
            markup=False,
        )
        raise typer.Exit(code=1)
    mass = published.mass_cancel
    if mass and not allow_mass_cancel:
        err.print(
            f"refusing to publish: this run would cancel {mass[0]} of the {mass[1]} published "
            "events still ahead; check the program's blackouts and removals ('chancal diff' "
            "lists every cancellation) or pass --allow-mass-cancel; nothing was written",
            markup=False,
        )
        raise typer.Exit(code=1)


SHOWN_ERRORS = 20
"""Export lists this many of the plan's errors; `chancal plan` lists them all."""


def _print_errors(err: Console, plan: Plan) -> None:
    """Each over-demanded manager once (the usual cause), then the first errors.

    An over-demanded program leaves thousands of events unplaced: a CI log
    with a line for each buries the few lines that say why, so past
    SHOWN_ERRORS the rest is counted per manager instead.
    """
    for diagnostic in plan.diagnostics:
        if diagnostic.code == "over-demand":
            print_plain(err, f"  over-demand: {diagnostic.message}")
    errors = [d for d in plan.diagnostics if d.severity == "error"]
    for diagnostic in errors[:SHOWN_ERRORS]:
        print_plain(err, f"  error {diagnostic.code}: {diagnostic.message}")
    if len(errors) <= SHOWN_ERRORS:
        return
    from chancal.plan import managers_of

    manager_of = managers_of(plan.partners)
    names = {m.id: m.name for m in plan.managers}
    per_manager = Counter(manager_of.get(d.partner_id or "") for d in errors[SHOWN_ERRORS:])
    more = count(len(errors) - SHOWN_ERRORS, "more error")
    print_plain(err, f"  ... and {more} ('chancal plan' lists them), by manager:")
    for manager, n in sorted(per_manager.items(), key=lambda item: (-item[1], item[0] or "")):
        who = f"{names.get(manager, manager)} ({manager})" if manager else "program-wide"
        print_plain(err, f"    {n} for {who}")


def changes_text(counts: Mapping[ChangeKind, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "no changes"


def print_lock_outcome(lock_path: Path, counts: Mapping[ChangeKind, int], *, written: bool) -> None:
    if written:
        print_plain(stdout(), f"wrote {lock_path} ({changes_text(counts)})")
    else:
        print_plain(stdout(), f"{lock_path} is up to date")


def report_check(stale: Sequence[str], counts: Mapping[ChangeKind, int]) -> None:
    """Print what `--check` found; exit 1 when anything would change."""
    if not stale:
        stdout().print("up to date: the lock and every feed match the program", markup=False)
        return
    err = stderr()
    for path in stale:
        print_plain(err, f"out of date: {path}")
    # Two short lines rather than one long one: CI logs are often 80 columns wide.
    if any(counts.values()):
        err.print(f"{count(len(stale), 'file')} would change ({changes_text(counts)})")
        err.print("run 'chancal diff' to see why and 'chancal export --ics' to update")
    else:  # no event changed: a feed is missing or its bytes differ (header, layout)
        them = "its" if len(stale) == 1 else "their"
        err.print(f"{count(len(stale), 'file')} would change; {them} events are up to date")
        err.print("run 'chancal export --ics' to rewrite them")
    raise typer.Exit(code=1)


EXPORT_PROGRESS_MIN_EVENTS = 20_000
"""Exports at least this large show a progress bar on stderr (on a terminal only)."""


@contextmanager
def export_progress(
    events: int, label: str = "Writing feeds", minimum: int = EXPORT_PROGRESS_MIN_EVENTS
) -> Iterator[Callable[[int, int], None] | None]:
    """Yield a progress callback drawing a transient bar on a terminal's stderr, else None.

    `label` says what is happening; a bar shows from `minimum` events on (a CalDAV
    push waits on the network for every event, so it shows one sooner than export).
    """
    err = stderr()
    if events < minimum or not err.is_terminal:
        yield None
        return
    from rich.progress import Progress

    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


PROGRESS_MIN_PARTNERS = 200
"""Programs at least this large show a spinner on stderr while they are planned."""


@contextmanager
def planning_progress(partners: int, what: str = "Planning") -> Iterator[None]:
    """Show a transient spinner on stderr for a large program, only when stderr is a terminal.

    Pipes and CI logs get nothing, so captured output stays byte-for-byte the same.
    """
    err = stderr()
    if partners < PROGRESS_MIN_PARTNERS or not err.is_terminal:
        yield
        return
    with err.status(f"{what} {partners:,} partners\u2026", spinner="dots"):
        yield


def writable_program(file: Path) -> Path:
    """Return `file`; refuse `-` (standard input) for a command that writes the lock.

    The lock lives beside its program file, and a program read from standard
    input has no folder: reading commands (validate, plan, check, verify, diff)
    take `-`, writing ones (export, lock) need the file.
    """
    from chancal.errors import UsageError

    if str(file) == "-":
        raise UsageError(
            "export and lock write the lock beside the program file, and a program "
            "read from standard input ('-') has none; give the program's file name"
        )
    return file


def published_year(
    file: Path,
    *,
    today: date,
    stamp: datetime,
    replan: bool,
    allow_unplaced: bool | None = None,
    allow_mass_cancel: bool = False,
    only: tuple[str | None, str | None] = (None, None),
    formats: Formats | None = None,
) -> Published:
    """The year as `export` would publish it (no writes), with a spinner on a terminal.

    With `allow_unplaced` set (the commands that publish), a year that breaks a
    hard rule, leaves an event unplaced (unless `allow_unplaced` is True) or
    cancels too much (unless `allow_mass_cancel`) exits 1 before anything is
    written. `only` (a --partner and a --manager) must name ones the program defines.
    `formats`: what will be written from it, if anything (`workflow.publish`).
    """
    from chancal.publish.workflow import open_program, publish

    program = open_program(file if allow_unplaced is None else writable_program(file))
    refuse_unknown_ids(program, partner=only[0], manager=only[1])
    with planning_progress(len(program.config.partners)):
        published = publish(program, today=today, stamp=stamp, replan=replan, formats=formats)
    if allow_unplaced is not None:
        refuse_untrustworthy(
            published, allow_unplaced=allow_unplaced, allow_mass_cancel=allow_mass_cancel
        )
    return published
