"""The typer app: the only module that prints, writes output files or picks exit codes.

Each command is: load the program, make one library call, render. Heavy
libraries are imported inside the commands so `chancal --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from chancal import __version__
from chancal.errors import ChancalError, ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date, datetime

    from chancal.changes import Change
    from chancal.loader import Located
    from chancal.lock import Lock, Reconciled
    from chancal.models import Config
    from chancal.plan import Pins, Plan

app = typer.Typer(
    name="chancal",
    help=(
        "Plan a year of channel-partner interactions from a YAML program and publish it "
        "as calendars.\n\n"
        "Exit codes: 0 success, 1 a check failed or output is out of date, "
        "2 invalid input or usage."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)

ProgramArg = Annotated[
    Path,
    typer.Argument(
        help="The program file.",
        show_default=True,
        dir_okay=False,
    ),
]
DEFAULT_PROGRAM = Path("partners.yaml")


class OutputFormat(StrEnum):
    """Output formats of the commands that print results: text for people, json for scripts."""

    text = "text"
    json = "json"


def _stdout() -> Console:
    return Console(soft_wrap=True, highlight=False)


def _stderr() -> Console:
    return Console(stderr=True, soft_wrap=True, highlight=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a ChancalError into its message on stderr and its exit code, never a traceback."""
    try:
        yield
    except ConfigError as exc:
        err = _stderr()
        for problem in exc.problems:
            err.print(str(problem), markup=False)
        count = len(exc.problems)
        err.print(f"{count} problem{'s' if count != 1 else ''} found.", style="bold red")
        raise typer.Exit(code=exc.exit_code) from None
    except ChancalError as exc:
        _stderr().print(f"error: {exc}", markup=False)
        raise typer.Exit(code=exc.exit_code) from None


def load_program(path: Path) -> Located:
    """Load and validate a program file (errors become ConfigError)."""
    from chancal.loader import load

    return load(path)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"chancal {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Plan a year of channel-partner interactions and publish it as calendars."""


@app.command()
def validate(file: ProgramArg = DEFAULT_PROGRAM) -> None:
    """Check a program file and report every problem at once.

    [bold]Examples[/bold]

      chancal validate partners.yaml

      chancal validate            [dim]# reads ./partners.yaml[/dim]
    """
    with user_errors():
        located = load_program(file)
    config = located.config
    out = _stdout()
    from rich.text import Text

    program = config.program
    # The model keeps the year's end exclusive (handy for arithmetic); people read the last day.
    last_day = date.fromordinal(program.year_end.toordinal() - 1)
    out.print(Text.assemble(("ok ", "bold green"), (f"{file}: ", ""), (program.name, "bold")))
    out.print(
        f"  {_count(len(config.managers), 'manager')}, {_count(len(config.tiers), 'tier')}, "
        f"{_count(len(config.partners), 'partner')}; planning year "
        f"{program.year_start} to {last_day}",
        markup=False,
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


@app.command()
def schema() -> None:
    """Print the JSON Schema of the program file format (for editors and CI).

    [bold]Example[/bold]

      chancal schema > partners.schema.json
    """
    from chancal.schema import schema_json

    sys.stdout.write(schema_json())


@app.command()
def init(
    directory: Annotated[
        Path, typer.Argument(help="Where to write partners.yaml.", file_okay=False)
    ] = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing partners.yaml.")
    ] = False,
) -> None:
    """Write a commented starter partners.yaml with three tiers, and its JSON Schema.

    The schema (partners.schema.json, beside it) lets editors complete and check the
    file offline.

    [bold]Examples[/bold]

      chancal init

      chancal init my-program --force
    """
    from chancal.errors import UsageError
    from chancal.resources import starter_program
    from chancal.schema import schema_json

    target = directory / "partners.yaml"
    schema_file = directory / "partners.schema.json"
    with user_errors():
        if target.exists() and not force:
            raise UsageError(f"{target} exists; pass --force to overwrite it")
        try:
            directory.mkdir(parents=True, exist_ok=True)
            write_atomic(target, starter_program().encode("utf-8"))
            write_atomic(schema_file, schema_json().encode("utf-8"))
        except OSError as exc:
            raise UsageError(f"cannot write into {directory}: {exc.strerror}") from None
    _stdout().print(
        f"wrote {target} and {schema_file.name}; next: chancal validate {target}", markup=False
    )


def write_atomic(target: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `target`, then rename it into place."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


ReplanOption = Annotated[
    bool,
    typer.Option(
        "--replan",
        help="Ignore the published dates in chancal.lock and plan afresh "
        "(SEQUENCE still rises for every event that moves).",
    ),
]
TodayOption = Annotated[
    str | None,
    typer.Option(
        "--today",
        help="Plan as if today were this date (YYYY-MM-DD): published events before it "
        "never move. Default: today.",
        show_default=False,
    ),
]
AllowUnplacedOption = Annotated[
    bool,
    typer.Option(
        "--allow-unplaced",
        help="Publish even when some events the program asks for could not be placed "
        "(they are listed on stderr).",
    ),
]
LockTodayOption = Annotated[
    str | None,
    typer.Option(
        "--today",
        help="Events before this date (YYYY-MM-DD) never move; default: the date of "
        "SOURCE_DATE_EPOCH, else today.",
        show_default=False,
    ),
]
LockStampOption = Annotated[
    str | None,
    typer.Option(
        "--stamp",
        help="DTSTAMP for new and changed events (ISO date-time, UTC if no offset); "
        "default SOURCE_DATE_EPOCH, else now.",
        show_default=False,
    ),
]


def resolve_today(value: str | None) -> date:
    """Return --today, else the UTC date of SOURCE_DATE_EPOCH, else today's date."""
    import datetime as dt

    from chancal.errors import UsageError

    if value is not None:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise UsageError(f"--today '{value}' is not a date; write it as YYYY-MM-DD") from None
    if os.environ.get("SOURCE_DATE_EPOCH"):
        from chancal.feeds import stamp_from_epoch

        return stamp_from_epoch(os.environ["SOURCE_DATE_EPOCH"]).date()
    return dt.date.today()  # the wall clock, read here and nowhere deeper


def resolve_stamp(value: str | None) -> datetime:
    """Return --stamp, else SOURCE_DATE_EPOCH, else now (UTC, whole seconds)."""
    import datetime as dt

    from chancal.feeds import parse_stamp, stamp_from_epoch

    if value is not None:
        return parse_stamp(value)
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return stamp_from_epoch(os.environ["SOURCE_DATE_EPOCH"])
    # The one place the wall clock is read: no --stamp, no SOURCE_DATE_EPOCH.
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def lock_path_for(program: Path, program_id: str) -> Path:
    """Where a program file's lock lives: one lock per program file.

    `partners.yaml` keeps the documented `chancal.lock`; any other program file
    gets `<name>.lock` beside it (`emea.yaml` -> `emea.lock`), so two programs in
    one folder never share a lock. A `chancal.lock` written for this very program
    before that rule is still used.
    """
    from chancal.lock import LOCK_NAME

    legacy = program.parent / LOCK_NAME
    if program.name == "partners.yaml":
        return legacy
    named = program.with_suffix(".lock")
    if not named.exists() and legacy.exists():
        text = _read_text(legacy)
        if text is not None and _owners(text) == {program_id}:
            return legacy
    return named


def _owners(text: str) -> set[str]:
    """The program ids in a lock's or feed's UIDs (`...@<program id>.chancal`)."""
    import re

    return set(re.findall(r"@([a-z0-9_-]+)\.chancal\b", text))


def _refuse_foreign(path: Path, text: str, program_id: str, file: Path) -> None:
    """Stop (exit 2, nothing written) when a lock or feed belongs to another program."""
    from chancal.errors import UsageError

    others = sorted(_owners(text) - {program_id})
    if others:
        raise UsageError(
            f"{path} belongs to program '{others[0]}', not to '{program_id}' ({file}); "
            "nothing was written. Give each program its own folder for feeds (--out) and "
            "its own file name (its lock is named after it), or set program.id to the "
            "program that published there"
        )


def _read_text(path: Path) -> str | None:
    """Return a text file's content, None if it does not exist."""
    from chancal.errors import Problem

    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise ConfigError([Problem(str(path), 1, 1, "", "not UTF-8 text")]) from None
    except OSError as exc:
        raise ConfigError([Problem(str(path), 1, 1, "", f"cannot read: {exc.strerror}")]) from None


def _lock_differs(path: Path, text: str) -> bool:
    """Whether the lock on disk differs from `text` (a CRLF checkout counts as the same)."""
    current = _read_text(path)
    return current is None or current.replace("\r\n", "\n") != text


def _refuse_foreign_feeds(out: Path, program_id: str, file: Path) -> None:
    """Refuse an output folder whose all.ics another program published."""
    feed = out / "all.ics"
    try:
        with feed.open("rb") as handle:
            head = handle.read(1 << 20).decode("utf-8", "replace")  # its first UIDs suffice
    except OSError:
        return  # no feeds yet (or unreadable: writing will say so)
    _refuse_foreign(feed, head, program_id, file)


def read_lock(program: Path, program_id: str) -> tuple[Lock, Path]:
    """The program's lock (empty when there is none yet) and its path.

    A lock that belongs to another program is refused, never reconciled.
    """
    from chancal.lock import EMPTY_LOCK, loads

    lock_path = lock_path_for(program, program_id)
    text = _read_text(lock_path)
    if text is None:
        return EMPTY_LOCK, lock_path
    _refuse_foreign(lock_path, text, program_id, program)
    return loads(text, str(lock_path)), lock_path


def locked_pins(program: Path, config: Config) -> Pins | None:
    """The published starts in the program's lock, if it has one (issue 6).

    Every command that plans takes them, so `plan` and `check` show the year
    that `export` publishes.
    """
    from chancal.lock import pins
    from chancal.planner.build import program_id

    lock, _ = read_lock(program, program_id(config.program))
    return pins(lock)


def publish_plan(
    file: Path,
    *,
    today: date,
    stamp: datetime,
    replan: bool = False,
    allow_unplaced: bool | None = None,
) -> tuple[Reconciled, Path]:
    """Load the program and its lock, plan (pinned to the lock), reconcile; no writes.

    With `allow_unplaced` set (the commands that publish), the planned year must
    pass the independent verifier, and every event the program asks for must be
    placed unless `allow_unplaced` is True; otherwise this exits 1 before anything
    is written.
    """
    from chancal.lock import pins, reconcile
    from chancal.planner import make_plan
    from chancal.planner.build import program_id

    located = load_program(file)
    lock, lock_path = read_lock(file, program_id(located.config.program))
    with planning_progress(len(located.config.partners)):
        plan = make_plan(located.config, today=today, pins=None if replan else pins(lock))
    if allow_unplaced is not None:
        _refuse_untrustworthy(located.config, plan, today=today, allow_unplaced=allow_unplaced)
    return reconcile(plan, lock, today=today, stamp=stamp), lock_path


def _refuse_untrustworthy(config: Config, plan: Plan, *, today: date, allow_unplaced: bool) -> None:
    """Report the plan's diagnostics on stderr; exit 1 on a hard-rule break or an unplaced event.

    The verifier is independent of the planner, so a planner bug cannot publish
    a meeting outside someone's working hours or on top of another one.
    """
    from chancal.verify import format_break, verify

    err = _stderr()
    breaks = verify(config, plan, today=today)
    if breaks:
        for found in breaks:
            err.print(f"hard rule broken: {format_break(found)}", markup=False)
        err.print(
            f"refusing to publish: {_count(len(breaks), 'hard-rule break')} in the planned "
            "year (a chancal bug: please report it with the program); nothing was written",
            markup=False,
        )
        raise typer.Exit(code=1)
    unplaced = [d for d in plan.diagnostics if d.code == "unplaced"]
    counts = {s: sum(d.severity == s for d in plan.diagnostics) for s in ("error", "warning")}
    if counts["error"] or counts["warning"]:
        err.print(
            f"plan: {_count(counts['error'], 'error')}, {_count(counts['warning'], 'warning')} "
            "('chancal plan' lists them)",
            markup=False,
        )
    for diagnostic in plan.diagnostics:
        if diagnostic.severity == "error":
            err.print(f"  error {diagnostic.code}: {diagnostic.message}", markup=False)
    if unplaced and not allow_unplaced:
        err.print(
            f"refusing to publish: {_count(len(unplaced), 'event')} the program asks for "
            "could not be placed; change the program (see the reasons above) or pass "
            "--allow-unplaced to publish the year without them; nothing was written",
            markup=False,
        )
        raise typer.Exit(code=1)


def _changes_text(changes: Sequence[Change]) -> str:
    from chancal.changes import summarize

    counts = summarize(changes)
    return ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "no changes"


def _print_lock_outcome(lock_path: Path, changes: Sequence[Change], *, written: bool) -> None:
    if written:
        _stdout().print(f"wrote {lock_path} ({_changes_text(changes)})", markup=False)
    else:
        _stdout().print(f"{lock_path} is up to date", markup=False)


def _report_check(stale: Sequence[str], changes: Sequence[Change]) -> None:
    """Print what `--check` found; exit 1 when anything would change."""
    if not stale:
        _stdout().print("up to date: the lock and every feed match the program", markup=False)
        return
    err = _stderr()
    for path in stale:
        err.print(f"out of date: {path}", markup=False)
    err.print(
        f"{len(stale)} file{'s' if len(stale) != 1 else ''} would change "
        f"({_changes_text(changes)}); run 'chancal diff' to see why and "
        "'chancal export --ics' to update",
        markup=False,
    )
    raise typer.Exit(code=1)


EXPORT_PROGRESS_MIN_EVENTS = 20_000
"""Exports at least this large show a progress bar on stderr (on a terminal only)."""


@app.command()
def export(
    file: ProgramArg = DEFAULT_PROGRAM,
    ics: Annotated[bool, typer.Option("--ics", help="Write iCalendar (.ics) feeds.")] = False,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the feeds.", file_okay=False)
    ] = Path("calendars"),
    partner: Annotated[
        list[str] | None,
        typer.Option(
            "--partner", help="Only this partner's feed (repeatable).", show_default=False
        ),
    ] = None,
    manager: Annotated[
        list[str] | None,
        typer.Option(
            "--manager", help="Only this manager's feed (repeatable).", show_default=False
        ),
    ] = None,
    stamp: Annotated[
        str | None,
        typer.Option(
            "--stamp",
            help="DTSTAMP as ISO date-time (UTC if no offset); default SOURCE_DATE_EPOCH, "
            "else now.",
            show_default=False,
        ),
    ] = None,
    today: Annotated[
        str | None,
        typer.Option(
            "--today", help="Plan as if today were this date (YYYY-MM-DD).", show_default=False
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Write nothing; exit 1 if chancal.lock or any feed on disk would change.",
        ),
    ] = False,
    replan: ReplanOption = False,
    allow_unplaced: AllowUnplacedOption = False,
) -> None:
    """Write the plan as subscribable calendar feeds: one per partner, one per manager, all.ics.

    Export refuses (exit 1, nothing written) a year that breaks a hard rule
    (see 'chancal verify') or leaves an event the program asks for unplaced,
    unless --allow-unplaced. The plan's errors and warnings are summarised on
    stderr.

    Nothing is written unless every feed is: a failed run leaves --out as it was.
    The published calendar is recorded in chancal.lock beside the program file
    (written after the feeds): locked dates stay put while still allowed, changed
    events get a higher SEQUENCE, removed ones are published as cancelled.

    [bold]Examples[/bold]

      chancal export partners.yaml --ics

      chancal export --ics --out public/calendars --partner northwind

      SOURCE_DATE_EPOCH=1798761600 chancal export --ics   [dim]# reproducible bytes[/dim]

      chancal export --ics --check   [dim]# in CI: exit 1 if anything is out of date[/dim]
    """
    from chancal.errors import UsageError
    from chancal.feeds import stale_feeds, write_feeds
    from chancal.lock import dumps

    with user_errors():
        if not ics:
            raise UsageError("choose what to export: --ics")
        dtstamp = resolve_stamp(stamp)
        published, lock_path = publish_plan(
            file,
            today=resolve_today(today),
            stamp=dtstamp,
            replan=replan,
            allow_unplaced=allow_unplaced,
        )
        _refuse_foreign_feeds(out, published.plan.program_id, file)
        lock_text = dumps(published.lock)
        lock_stale = _lock_differs(lock_path, lock_text)
        if check:
            stale = [str(lock_path)] if lock_stale else []
            if out.is_dir():
                stale += [
                    str(out / path)
                    for path in stale_feeds(
                        published.plan, out, stamp=dtstamp, partners=partner, managers=manager
                    )
                ]
            else:
                _stderr().print(f"note: no feeds at {out}; checked {lock_path} only", markup=False)
            _report_check(stale, published.changes)
            return
        with _export_progress(len(published.plan.events)) as progress:
            written = write_feeds(
                published.plan,
                out,
                stamp=dtstamp,
                partners=partner,
                managers=manager,
                progress=progress,
            )
        # After the feeds: a lock never records a calendar that failed to publish.
        if lock_stale:
            write_atomic(lock_path, lock_text.encode("utf-8"))
    parts = []
    for kind in written.KINDS:
        files, events = written.count(kind)
        if files:
            what = "all.ics" if kind == "all" else f"{files} {kind} feed{'s' if files != 1 else ''}"
            parts.append(f"{what} ({events} events)")
    _stdout().print(f"wrote {', '.join(parts)} to {out}", markup=False)
    _print_lock_outcome(lock_path, published.changes, written=lock_stale)


@contextmanager
def _export_progress(events: int) -> Iterator[Callable[[int, int], None] | None]:
    """Yield a progress callback drawing a transient bar on a terminal's stderr, else None."""
    err = _stderr()
    if events < EXPORT_PROGRESS_MIN_EVENTS or not err.is_terminal:
        yield None
        return
    from rich.progress import Progress

    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("Writing feeds", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


@app.command("lock")
def lock_command(
    file: ProgramArg = DEFAULT_PROGRAM,
    today: LockTodayOption = None,
    stamp: LockStampOption = None,
    replan: ReplanOption = False,
    allow_unplaced: AllowUnplacedOption = False,
) -> None:
    """Refresh chancal.lock (beside the program file) without writing any feed.

    Like export, it refuses (exit 1) a year that breaks a hard rule or leaves an
    event unplaced, unless --allow-unplaced.

    Commit the lock with the program: it records what subscribers were given, so
    later runs keep dates, raise SEQUENCE for updates and cancel removed events.

    [bold]Examples[/bold]

      chancal lock partners.yaml

      chancal lock --replan   [dim]# plan afresh; moved events still update in place[/dim]
    """
    from chancal.lock import dumps

    with user_errors():
        published, lock_path = publish_plan(
            file,
            today=resolve_today(today),
            stamp=resolve_stamp(stamp),
            replan=replan,
            allow_unplaced=allow_unplaced,
        )
        text = dumps(published.lock)
        stale = _lock_differs(lock_path, text)
        if stale:
            write_atomic(lock_path, text.encode("utf-8"))
    _print_lock_outcome(lock_path, published.changes, written=stale)


@app.command("diff")
def diff_command(
    file: ProgramArg = DEFAULT_PROGRAM,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format", "-f", help="text: for a pull-request reviewer; json: for scripts."
        ),
    ] = OutputFormat.text,
    today: LockTodayOption = None,
    replan: ReplanOption = False,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when anything would change.")
    ] = False,
) -> None:
    """Show what publishing the program would change against chancal.lock, per partner.

    Added, moved (old and new date), changed and cancelled events, in words a
    reviewer reads in a pull request. Writes nothing.

    [bold]Examples[/bold]

      chancal diff partners.yaml

      chancal diff --format json > changes.json
    """
    import datetime as dt

    from chancal.exporters.diff import render_json, render_text

    with user_errors():
        # The stamp only marks new versions in the lock, which diff never writes.
        published, lock_path = publish_plan(
            file,
            today=resolve_today(today),
            stamp=dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
            replan=replan,
        )
    changes = published.changes
    if output_format is OutputFormat.json:
        sys.stdout.write(render_json(changes, lock_name=str(lock_path)))
    else:
        names = {p.id: p.name for p in published.plan.partners}
        _stdout().print(render_text(changes, names, lock_name=str(lock_path)))
    if exit_code and changes:
        raise typer.Exit(code=1)


PROGRESS_MIN_PARTNERS = 200
"""Programs at least this large show a spinner on stderr while they are planned."""


@contextmanager
def planning_progress(partners: int, what: str = "Planning") -> Iterator[None]:
    """Show a transient spinner on stderr for a large program, only when stderr is a terminal.

    Pipes and CI logs get nothing, so captured output stays byte-for-byte the same.
    """
    err = _stderr()
    if partners < PROGRESS_MIN_PARTNERS or not err.is_terminal:
        yield
        return
    with err.status(f"{what} {partners:,} partners\u2026", spinner="dots"):
        yield


FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        "-f",
        help="text: a scorecard for people; json: a stable shape for scripts.",
    ),
]


@app.command()
def verify(file: ProgramArg = DEFAULT_PROGRAM, today: TodayOption = None) -> None:
    """Check the year that export would publish against every hard rule, independently.

    The verifier shares no code with the planner: it recomputes working hours
    and days of both sides, holidays, blackouts, weekly capacity, travel and
    overlaps from the program and the planned year (pinned to chancal.lock, as
    export plans it), and names each break with its figures. Events before
    --today are history and not judged. Exit 1 on any break.

    [bold]Examples[/bold]

      chancal verify partners.yaml

      chancal verify --today 2027-06-01
    """
    from chancal.planner import make_plan
    from chancal.verify import format_break
    from chancal.verify import verify as find_breaks

    with user_errors():
        config = load_program(file).config
        day = resolve_today(today)
        with planning_progress(len(config.partners)):
            plan = make_plan(config, today=day, pins=locked_pins(file, config))
        breaks = find_breaks(config, plan, today=day)
    if breaks:
        err = _stderr()
        for found in breaks:
            err.print(f"{file}: {format_break(found)}", markup=False)
        err.print(f"{_count(len(breaks), 'hard-rule break')} found.", markup=False)
        raise typer.Exit(code=1)
    timed = sum(1 for e in plan.events if e.partner_id and not e.all_day)
    _stdout().print(
        f"ok {file}: {_count(len(plan.events), 'event')} ({timed} timed) keep every hard rule",
        markup=False,
    )


@app.command()
def check(
    file: ProgramArg = DEFAULT_PROGRAM,
    output_format: FormatOption = OutputFormat.text,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when any principle fails for any partner.")
    ] = False,
    today: TodayOption = None,
) -> None:
    """Score each partner's planned year against the principles of a great calendar.

    Principles: targeted capability development, site visits both ways, a joint
    marketing strategy session that is not an evaluation, two-way information
    sharing, collaboration at least matching accountability, investment by
    tier and touchpoints spread out. Expectations scale with the tier;
    thresholds live under program.health in the program file.

    [bold]Examples[/bold]

      chancal check partners.yaml

      chancal check --strict            [dim]# exit 1 on any failure, for CI[/dim]

      chancal check --format json | jq '.findings[] | select(.status == "fail")'
    """
    from chancal.health import check_health, report_json
    from chancal.planner import make_plan

    with user_errors():
        config = load_program(file).config
        with planning_progress(len(config.partners)):
            plan = make_plan(config, today=resolve_today(today), pins=locked_pins(file, config))
            report = check_health(
                plan, config.program.health, strategy_gap=config.program.strategy_gap
            )
    if output_format is OutputFormat.json:
        sys.stdout.write(report_json(report))
    else:
        from chancal.exporters.scorecard import Scorecard

        Console(highlight=False).print(Scorecard(report, plan))
    if strict and report.failed:
        failed = report.counts()["fail"]
        _stderr().print(
            f"health check failed: {failed} failing finding{'s' if failed != 1 else ''} (--strict)",
            markup=False,
        )
        raise typer.Exit(code=1)


def _known_id(value: str, choices: list[str], what: str) -> None:
    """Raise a UsageError with a did-you-mean when `value` is not one of `choices`."""
    if value in choices:
        return
    from chancal.errors import UsageError
    from chancal.suggest import did_you_mean

    hint = did_you_mean(value, choices) or f"; known: {', '.join(sorted(choices))}"
    raise UsageError(f"unknown {what} '{value}'{hint}")


class PlanView(StrEnum):
    """What `chancal plan` shows in text format."""

    summary = "summary"
    grid = "grid"
    load = "load"
    balance = "balance"


@app.command()
def plan(
    file: ProgramArg = DEFAULT_PROGRAM,
    partner: Annotated[
        str | None,
        typer.Option("--partner", help="Show this partner's agenda.", show_default=False),
    ] = None,
    manager: Annotated[
        str | None,
        typer.Option("--manager", help="Show this manager's agenda.", show_default=False),
    ] = None,
    output_format: FormatOption = OutputFormat.text,
    view: Annotated[
        list[PlanView] | None,
        typer.Option(
            "--view",
            help="What to show, repeatable: summary, grid (the year at a glance; both by default), "
            "load (each manager's weeks against capacity), balance (collaboration against "
            "accountability bars).",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Exit 1 when the plan has any warning or error diagnostic."),
    ] = False,
    today: TodayOption = None,
) -> None:
    """Plan the year and print it: the year at a glance, a summary per partner, the diagnostics.

    With --partner or --manager: that person's agenda in date order. With
    --format json: the whole plan for scripts (shape documented in
    chancal.exporters.plan_json).

    [bold]Examples[/bold]

      chancal plan partners.yaml

      chancal plan --partner northwind

      chancal plan --view grid --view load --manager alex

      chancal plan --format json | jq '.events[] | select(.kind == "site_visit")'

      chancal plan --strict            [dim]# exit 1 on any diagnostic, for CI[/dim]
    """
    from chancal.planner import make_plan

    with user_errors():
        config = load_program(file).config
        day = resolve_today(today)
        if partner is not None:
            _known_id(partner, [p.id for p in config.partners], "partner")
        if manager is not None:
            _known_id(manager, [m.id for m in config.managers], "manager")
        with planning_progress(len(config.partners)):
            result = make_plan(config, today=day, pins=locked_pins(file, config))
    if output_format is OutputFormat.json:
        from chancal.exporters.plan_json import plan_json

        sys.stdout.write(plan_json(result))
    else:
        from chancal.exporters.summary import plan_text
        from chancal.exporters.views import view_of

        out = Console(highlight=False)
        # The year at a glance first, unless one person's agenda was asked for.
        default = [PlanView.summary] if partner or manager else [PlanView.grid, PlanView.summary]
        for n, shown in enumerate(view or default):
            if n:
                out.print()
            if shown is PlanView.summary:
                out.print(plan_text(result, partner_id=partner, manager_id=manager))
            else:
                out.print(view_of(shown.value, result, partner_id=partner, manager_id=manager))
    # Info notes record what the program asked for (a check-in skipped in a review month),
    # not a rule that could not be met, so --strict does not fail on them.
    serious = [d for d in result.diagnostics if d.severity != "info"]
    if strict and serious:
        count = len(serious)
        _stderr().print(
            f"{count} warning or error diagnostic{'s' if count != 1 else ''} (--strict)",
            markup=False,
        )
        raise typer.Exit(code=1)
