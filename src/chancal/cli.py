"""The typer app: options in, one library call, rendering out, an exit code.

Each command parses its options, makes one call into the library (mostly the
publishing workflow, `chancal.publish.workflow`), renders the result with the
exporters and `chancal.cli_output`, and picks the exit code. Heavy libraries
are imported inside the commands so `chancal --help` stays fast.
"""

from __future__ import annotations

import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from chancal import __version__
from chancal.cli_export import export_command
from chancal.cli_options import (
    DEFAULT_PROGRAM,
    AllowMassCancelOption,
    AllowUnplacedOption,
    FormatOption,
    LockStampOption,
    LockTodayOption,
    OutputFormat,
    ProgramArg,
    ReplanOption,
    TodayOption,
)
from chancal.cli_output import (
    count,
    planning_progress,
    print_lock_outcome,
    published_year,
    refuse_unknown_ids,
    stderr,
    stdout,
    user_errors,
)
from chancal.cli_publish import publish_command
from chancal.errors import printable

if TYPE_CHECKING:
    from datetime import date

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
    add_completion=True,  # --install-completion and --show-completion: bash, zsh, fish, PowerShell
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


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
    out = stdout()
    from rich.text import Text

    program = config.program
    # The model keeps the year's end exclusive (handy for arithmetic); people read the last day.
    last_day = date.fromordinal(program.year_end.toordinal() - 1)
    name, where = printable(program.name), printable(f"{file}: ")
    out.print(Text.assemble(("ok ", "bold green"), (where, ""), (name, "bold")))
    out.print(
        f"  {count(len(config.managers), 'manager')}, {count(len(config.tiers), 'tier')}, "
        f"{count(len(config.partners), 'partner')}; planning year "
        f"{program.year_start} to {last_day}",
        markup=False,
    )


class OutputSchema(StrEnum):
    """The commands whose --format json output has a JSON Schema."""

    plan = "plan"
    check = "check"
    diff = "diff"


@app.command()
def schema(
    output: Annotated[
        OutputSchema | None,
        typer.Option(
            "--output",
            help="Print the schema of this command's --format json output instead: "
            "plan, check or diff.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the JSON Schema of the program file format (for editors and CI).

    With --output: the schema of a command's JSON output (its "format" is
    raised when a field is removed or changes meaning; new fields may appear).

    [bold]Examples[/bold]

      chancal schema > partners.schema.json

      chancal schema --output plan > plan.schema.json
    """
    if output is not None:
        from chancal.resources import output_schema

        sys.stdout.write(output_schema(output.value))
        return
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
    from chancal.publish.workflow import write_atomic
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
    stdout().print(
        f"wrote {target} and {schema_file.name}; next: chancal validate {target}", markup=False
    )


app.command("export")(export_command)  # chancal.cli_export: feeds, tables, the site


@app.command("lock")
def lock_command(
    file: ProgramArg = DEFAULT_PROGRAM,
    today: LockTodayOption = None,
    stamp: LockStampOption = None,
    replan: ReplanOption = False,
    allow_unplaced: AllowUnplacedOption = False,
    allow_mass_cancel: AllowMassCancelOption = False,
) -> None:
    """Refresh chancal.lock (beside the program file) without writing any feed.

    Like export, it refuses (exit 1) a year that breaks a hard rule, leaves an
    event unplaced (unless --allow-unplaced) or cancels more than a quarter of the
    published events still ahead (unless --allow-mass-cancel).

    Commit the lock with the program: it records what subscribers were given, so
    later runs keep dates, raise SEQUENCE for updates and cancel removed events.

    [bold]Examples[/bold]

      chancal lock partners.yaml

      chancal lock --replan   [dim]# plan afresh; moved events still update in place[/dim]
    """
    from chancal.publish.workflow import resolve_stamp, resolve_today, save_lock

    with user_errors():
        published = published_year(
            file,
            today=resolve_today(today),
            stamp=resolve_stamp(stamp),
            replan=replan,
            allow_unplaced=allow_unplaced,
            allow_mass_cancel=allow_mass_cancel,
        )
        written = save_lock(published)
    print_lock_outcome(published.program.lock_path, published.reconciled.counts, written=written)


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
    partner: Annotated[
        str | None,
        typer.Option("--partner", help="Only what this partner sees.", show_default=False),
    ] = None,
    manager: Annotated[
        str | None,
        typer.Option(
            "--manager", help="Only what this manager or their partners see.", show_default=False
        ),
    ] = None,
) -> None:
    """Show what publishing the program would change against chancal.lock, per partner.

    Added, moved (old and new date), changed and cancelled events, in words a
    reviewer reads in a pull request. Writes nothing.

    [bold]Examples[/bold]

      chancal diff partners.yaml

      chancal diff --format json > changes.json

      chancal diff --partner northwind --exit-code
    """
    import datetime as dt

    from chancal.exporters.diff import render_json, render_text, select
    from chancal.publish.workflow import resolve_today

    with user_errors():
        # The stamp only marks new versions in the lock, which diff never writes.
        published = published_year(
            file,
            today=resolve_today(today),
            stamp=dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
            replan=replan,
            only=(partner, manager),
        )
    fresh = published.reconciled.plan
    changes = select(published.reconciled.changes, fresh, partner_id=partner, manager_id=manager)
    lock_path = published.program.lock_path
    if output_format is OutputFormat.json:
        sys.stdout.write(
            render_json(changes, lock_name=str(lock_path), partner_id=partner, manager_id=manager)
        )
    else:
        names = {p.id: p.name for p in fresh.partners}
        stdout().print(render_text(changes, names, lock_name=str(lock_path)))
    if exit_code and changes:
        raise typer.Exit(code=1)


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
    from chancal.publish.workflow import open_program, plan_year, resolve_today
    from chancal.verify import format_break
    from chancal.verify import verify as find_breaks

    with user_errors():
        program = open_program(file)
        day = resolve_today(today)
        with planning_progress(len(program.config.partners)):
            plan = plan_year(program, today=day)
        breaks = find_breaks(program.config, plan, today=day)
    if breaks:
        err = stderr()
        for found in breaks:
            err.print(f"{file}: {format_break(found)}", markup=False)
        err.print(f"{count(len(breaks), 'hard-rule break')} found.", markup=False)
        raise typer.Exit(code=1)
    timed = sum(1 for e in plan.events if e.partner_id and not e.all_day)
    stdout().print(
        f"ok {file}: {count(len(plan.events), 'event')} ({timed} timed) keep every hard rule",
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
    partner: Annotated[
        str | None,
        typer.Option("--partner", help="Only this partner's scores.", show_default=False),
    ] = None,
    manager: Annotated[
        str | None,
        typer.Option("--manager", help="Only this manager's partners.", show_default=False),
    ] = None,
) -> None:
    """Score each partner's planned year against the principles of a great calendar.

    Principles: targeted capability development, site visits both ways, a joint
    marketing strategy session that is not an evaluation, two-way information
    sharing, collaboration at least matching accountability, investment by
    tier and touchpoints spread out. Expectations scale with the tier;
    thresholds live under program.health in the program file. --partner and
    --manager narrow the report (and --strict) to those partners, still scored
    against the whole year.

    [bold]Examples[/bold]

      chancal check partners.yaml

      chancal check --strict            [dim]# exit 1 on any failure, for CI[/dim]

      chancal check --format json | jq '.findings[] | select(.status == "fail")'
    """
    from chancal.health import check_health, report_json, select
    from chancal.publish.workflow import open_program, plan_year, resolve_today

    with user_errors():
        program = open_program(file)
        config = program.config
        day = resolve_today(today)
        refuse_unknown_ids(program, partner=partner, manager=manager)
        with planning_progress(len(config.partners)):
            plan = plan_year(program, today=day)
            report = check_health(
                plan, config.program.health, strategy_gap=config.program.strategy_gap
            )
    report = select(report, partner_id=partner, manager_id=manager)
    if output_format is OutputFormat.json:
        sys.stdout.write(report_json(report, partner_id=partner, manager_id=manager))
    else:
        from chancal.exporters.scorecard import Scorecard

        Console(highlight=False, emoji=False).print(Scorecard(report, plan))
    if strict and report.failed:
        failed = report.counts()["fail"]
        stderr().print(
            f"health check failed: {failed} failing finding{'s' if failed != 1 else ''} (--strict)",
            markup=False,
        )
        raise typer.Exit(code=1)


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
    --format json: the whole plan for scripts, narrowed the same way by
    --partner and --manager (schema: chancal schema --output plan).

    [bold]Examples[/bold]

      chancal plan partners.yaml

      chancal plan --partner northwind

      chancal plan --view grid --view load --manager alex

      chancal plan --format json | jq '.events[] | select(.kind == "site_visit")'

      chancal plan --strict            [dim]# exit 1 on any diagnostic, for CI[/dim]
    """
    from chancal.publish.workflow import open_program, plan_year, resolve_today

    with user_errors():
        program = open_program(file)
        config = program.config
        day = resolve_today(today)
        refuse_unknown_ids(program, partner=partner, manager=manager)
        with planning_progress(len(config.partners)):
            result = plan_year(program, today=day)
    if output_format is OutputFormat.json:
        from chancal.exporters.plan_json import plan_json

        sys.stdout.write(plan_json(result, partner_id=partner, manager_id=manager))
    else:
        from chancal.exporters.summary import plan_text
        from chancal.exporters.views import view_of

        out = Console(highlight=False, emoji=False)
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
        stderr().print(
            f"{count} warning or error diagnostic{'s' if count != 1 else ''} (--strict)",
            markup=False,
        )
        raise typer.Exit(code=1)


app.command("publish")(publish_command)  # chancal.cli_publish: CalDAV push
