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
    from chancal.loader import Located

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

    out.print(
        Text.assemble(("ok ", "bold green"), (f"{file}: ", ""), (config.program.name, "bold"))
    )
    out.print(
        f"  {len(config.managers)} managers, {len(config.tiers)} tiers, "
        f"{len(config.partners)} partners; planning year "
        f"{config.program.year_start} to {config.program.year_end}",
        markup=False,
    )


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
    """Write a commented starter partners.yaml with three tiers.

    [bold]Examples[/bold]

      chancal init

      chancal init my-program --force
    """
    from chancal.resources import starter_program

    target = directory / "partners.yaml"
    with user_errors():
        if target.exists() and not force:
            from chancal.errors import UsageError

            raise UsageError(f"{target} exists; pass --force to overwrite it")
        directory.mkdir(parents=True, exist_ok=True)
        write_atomic(target, starter_program().encode("utf-8"))
    _stdout().print(f"wrote {target}; next: chancal validate {target}", markup=False)


def write_atomic(target: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `target`, then rename it into place."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


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
) -> None:
    """Write the plan as subscribable calendar feeds: one per partner, one per manager, all.ics.

    Nothing is written unless every feed is: a failed run leaves --out as it was.

    [bold]Examples[/bold]

      chancal export partners.yaml --ics

      chancal export --ics --out public/calendars --partner northwind

      SOURCE_DATE_EPOCH=1798761600 chancal export --ics   [dim]# reproducible bytes[/dim]
    """
    from datetime import UTC, date, datetime

    from chancal.errors import UsageError
    from chancal.feeds import parse_stamp, stamp_from_epoch, write_feeds

    with user_errors():
        if not ics:
            raise UsageError("choose what to export: --ics")
        if stamp is not None:
            dtstamp = parse_stamp(stamp)
        elif os.environ.get("SOURCE_DATE_EPOCH"):
            dtstamp = stamp_from_epoch(os.environ["SOURCE_DATE_EPOCH"])
        else:
            # The one place the wall clock is read: no --stamp, no SOURCE_DATE_EPOCH.
            dtstamp = datetime.now(UTC).replace(microsecond=0)
        day = None
        if today is not None:
            try:
                day = date.fromisoformat(today)
            except ValueError:
                raise UsageError(
                    f"--today '{today}' is not a date; write it as YYYY-MM-DD"
                ) from None
        located = load_program(file)
        from chancal.planner import make_plan

        plan = make_plan(located.config, today=day)
        with _export_progress(len(plan.events)) as progress:
            written = write_feeds(
                plan, out, stamp=dtstamp, partners=partner, managers=manager, progress=progress
            )
    parts = []
    for kind in written.KINDS:
        files, events = written.count(kind)
        if files:
            what = "all.ics" if kind == "all" else f"{files} {kind} feed{'s' if files != 1 else ''}"
            parts.append(f"{what} ({events} events)")
    _stdout().print(f"wrote {', '.join(parts)} to {out}", markup=False)


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


class CheckFormat(StrEnum):
    """Output formats of `chancal check`."""

    text = "text"
    json = "json"


CheckFormatOption = Annotated[
    CheckFormat,
    typer.Option(
        "--format",
        "-f",
        help="text: a scorecard for people; json: a stable shape for scripts.",
    ),
]


@app.command()
def check(
    file: ProgramArg = DEFAULT_PROGRAM,
    output_format: CheckFormatOption = CheckFormat.text,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when any principle fails for any partner.")
    ] = False,
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
            plan = make_plan(config)
            report = check_health(
                plan, config.program.health, strategy_gap=config.program.strategy_gap
            )
    if output_format is CheckFormat.json:
        sys.stdout.write(report_json(report))
    else:
        from chancal.exporters.views import Scorecard

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
    import difflib

    from chancal.errors import UsageError

    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else f"; known: {', '.join(sorted(choices))}"
    raise UsageError(f"unknown {what} '{value}'{hint}")


def parse_today(value: str | None) -> date | None:
    """Parse --today (YYYY-MM-DD) or raise a UsageError."""
    if value is None:
        return None
    from chancal.errors import UsageError

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--today '{value}' is not a date; write it as YYYY-MM-DD") from None


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
    output_format: CheckFormatOption = CheckFormat.text,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when the plan has any diagnostic.")
    ] = False,
    today: Annotated[
        str | None,
        typer.Option(
            "--today", help="Plan as if today were this date (YYYY-MM-DD).", show_default=False
        ),
    ] = None,
) -> None:
    """Plan the year and print it: a summary per partner and the diagnostics.

    With --partner or --manager: that person's agenda in date order. With
    --format json: the whole plan for scripts (shape documented in
    chancal.exporters.plan_json).

    [bold]Examples[/bold]

      chancal plan partners.yaml

      chancal plan --partner northwind

      chancal plan --format json | jq '.events[] | select(.kind == "site_visit")'

      chancal plan --strict            [dim]# exit 1 on any diagnostic, for CI[/dim]
    """
    from chancal.planner import make_plan

    with user_errors():
        config = load_program(file).config
        day = parse_today(today)
        if partner is not None:
            _known_id(partner, [p.id for p in config.partners], "partner")
        if manager is not None:
            _known_id(manager, [m.id for m in config.managers], "manager")
        with planning_progress(len(config.partners)):
            result = make_plan(config, today=day)
    if output_format is CheckFormat.json:
        from chancal.exporters.plan_json import plan_json

        sys.stdout.write(plan_json(result))
    else:
        from chancal.exporters.summary import plan_text

        Console(highlight=False).print(plan_text(result, partner_id=partner, manager_id=manager))
    if strict and result.diagnostics:
        count = len(result.diagnostics)
        _stderr().print(f"{count} diagnostic{'s' if count != 1 else ''} (--strict)", markup=False)
        raise typer.Exit(code=1)
