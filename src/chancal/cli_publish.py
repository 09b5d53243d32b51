"""`chancal publish --caldav URL`: the CLI's command for pushing the year into CalDAV calendars.

Kept beside `chancal.cli` (which registers it) so the CLI module stays one
screenful of commands per concern; like every command it parses options,
makes the library calls (`chancal.publish.workflow`, then
`chancal.publish.caldav_push`) and picks the exit code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chancal.cli_options import (
    DEFAULT_PROGRAM,
    AllowMassCancelOption,
    AllowUnplacedOption,
    LockStampOption,
    LockTodayOption,
    ProgramArg,
    ReplanOption,
)
from chancal.cli_output import (
    export_progress,
    planning_progress,
    refuse_unknown_ids,
    refuse_untrustworthy,
    stderr,
    stdout,
    user_errors,
    writable_program,
)

CaldavOption = Annotated[
    str | None,
    typer.Option(
        "--caldav",
        help="The CalDAV URL under which each partner's and manager's calendar goes "
        "(default: the program's publish.caldav.url).",
        show_default=False,
    ),
]
PUSH_PROGRESS_MIN_EVENTS = 1
"""A push shows its bar on a terminal whatever its size: every event may wait on the network."""


def publish_command(
    file: ProgramArg = DEFAULT_PROGRAM,
    caldav: CaldavOption = None,
    partner: Annotated[
        list[str] | None,
        typer.Option(
            "--partner", help="Only this partner's calendar (repeatable).", show_default=False
        ),
    ] = None,
    manager: Annotated[
        list[str] | None,
        typer.Option(
            "--manager", help="Only this manager's calendar (repeatable).", show_default=False
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would change; write nothing anywhere.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Overwrite (or put back) events someone changed or deleted on the server.",
        ),
    ] = False,
    today: LockTodayOption = None,
    stamp: LockStampOption = None,
    replan: ReplanOption = False,
    allow_unplaced: AllowUnplacedOption = False,
    allow_mass_cancel: AllowMassCancelOption = False,
) -> None:
    """Push the year into CalDAV calendars: one per partner and per manager, updated in place.

    Each calendar (partner-ID/ and manager-ID/ under the URL, named as the feeds,
    or the existing calendar publish.caldav.calendars maps the id to) is made
    when missing. Each event is PUT by its UID with chancal's SEQUENCE: a moved
    event updates in place, a removed one turns CANCELLED (deleted once its date
    has passed), an unchanged one sends nothing. An event someone changed or
    deleted on the server is kept, and reported (exit 1) once chancal has a new
    version of it, unless --force. --partner and --manager push only those
    calendars.

    Credentials come from CHANCAL_CALDAV_USER and CHANCAL_CALDAV_PASSWORD (else
    ~/.netrc), never the command line. Like export it refuses (exit 1) a year that breaks a hard
    rule, leaves events unplaced or cancels too much, and records chancal.lock;
    the server's ETags go in a state file beside the lock (<lock>.caldav.json).
    A server that is down or stops answering exits 1 with what is left; running
    the same command again finishes the job.

    [bold]Examples[/bold]

      export CHANCAL_CALDAV_USER=ops CHANCAL_CALDAV_PASSWORD=...

      chancal publish partners.yaml --caldav https://dav.example.com/ops/ --dry-run

      chancal publish partners.yaml --caldav https://dav.example.com/ops/

      chancal publish --partner northwind   [dim]# URL from publish.caldav.url[/dim]
    """
    from chancal.publish.caldav_push import push_published
    from chancal.publish.workflow import open_program, publish, resolve_stamp, resolve_today

    with user_errors():
        dtstamp = resolve_stamp(stamp)
        program = open_program(writable_program(Path(file)))
        for ident in partner or ():  # before planning: a typo costs no wait
            refuse_unknown_ids(program, partner=ident)
        for ident in manager or ():
            refuse_unknown_ids(program, manager=ident)
        with planning_progress(len(program.config.partners)):
            published = publish(program, today=resolve_today(today), stamp=dtstamp, replan=replan)
        refuse_untrustworthy(
            published, allow_unplaced=allow_unplaced, allow_mass_cancel=allow_mass_cancel
        )
        events = len(published.reconciled.plan.events)
        with export_progress(events, "Pushing to CalDAV", PUSH_PROGRESS_MIN_EVENTS) as progress:
            done = push_published(
                published,
                caldav,
                stamp=dtstamp,
                partners=partner,
                managers=manager,
                dry_run=dry_run,
                force=force,
                progress=progress,
            )
    stdout().print(done.summary(), markup=False)
    if done.conflicts:
        stderr().print(f"error: {done.conflict_text()}", markup=False)
        raise typer.Exit(code=1)
