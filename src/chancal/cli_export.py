"""`chancal export`: the CLI's command for writing the feeds, the tables and the calendar site.

Kept beside `chancal.cli` (which registers it), as `chancal.cli_publish` is;
like every command it parses options, makes the library calls
(`chancal.publish.workflow`) and picks the exit code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from chancal.cli_options import (
    DEFAULT_PROGRAM,
    AllowMassCancelOption,
    AllowUnplacedOption,
    CsvBomOption,
    CsvOption,
    ProgramArg,
    ReplanOption,
)
from chancal.cli_output import (
    export_progress,
    print_lock_outcome,
    published_year,
    report_check,
    stderr,
    stdout,
    user_errors,
)

HtmlOption = Annotated[
    bool,
    typer.Option(
        "--html",
        help="Write the calendar site beside the feeds: index.html (the year at a glance), "
        "a page per partner (year, agenda, scorecard, subscribe links) and per manager.",
    ),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="Where --out is published (https:// or http://): absolute subscribe links, "
        "and URL and SOURCE in each feed.",
        show_default=False,
    ),
]
PrivateOption = Annotated[
    bool,
    typer.Option(
        "--private",
        help="Put each partner's and manager's files at an unguessable path made from the "
        "secret in CHANCAL_FEED_SECRET; the index lists nobody.",
    ),
]

AddressesOption = Annotated[
    Path | None,
    typer.Option(
        "--addresses",
        help="Also write a CSV of every partner's and manager's page, feed and table "
        "address to this file (outside --out): the links to hand out for --private.",
        dir_okay=False,
        show_default=False,
    ),
]


def export_command(
    file: ProgramArg = DEFAULT_PROGRAM,
    ics: Annotated[bool, typer.Option("--ics", help="Write iCalendar (.ics) feeds.")] = False,
    csv: CsvOption = False,
    csv_bom: CsvBomOption = False,
    html: HtmlOption = False,
    base_url: BaseUrlOption = None,
    private: PrivateOption = False,
    addresses: AddressesOption = None,
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
            help="Write nothing; exit 1 if chancal.lock or any feed or page on disk would change.",
        ),
    ] = False,
    replan: ReplanOption = False,
    allow_unplaced: AllowUnplacedOption = False,
    allow_mass_cancel: AllowMassCancelOption = False,
) -> None:
    """Write the plan as subscribable calendar feeds (one per partner, one per manager, all.ics),
    CSV tables and a static calendar site.

    Export refuses (exit 1, nothing written) a year that breaks a hard rule
    (see 'chancal verify') or leaves an event the program asks for unplaced,
    unless --allow-unplaced, or that would cancel more than a quarter of the
    published events still ahead, unless --allow-mass-cancel. The plan's errors
    and warnings are summarised on stderr.

    Nothing is written unless every file is: a failed run leaves --out as it was.
    The published calendar is recorded in chancal.lock beside the program file
    (staged before the feeds, renamed into place after them): locked dates stay
    put while still allowed, changed events get a higher SEQUENCE, removed ones
    are published as cancelled.

    --html adds the site: no JavaScript, nothing fetched from elsewhere, so it
    works offline too. A public site shows partners' contacts and agendas to
    anyone with the address: use --private (the secret in CHANCAL_FEED_SECRET)
    to give each partner and manager an unguessable address of its own.

    [bold]Examples[/bold]

      chancal export partners.yaml --ics

      chancal export --ics --out public/calendars --partner northwind

      chancal export --ics --csv --csv-bom   [dim]# spreadsheets beside the feeds[/dim]

      chancal export --ics --html --base-url https://calendars.example.com/

      CHANCAL_FEED_SECRET=... chancal export --ics --html --private --addresses links.csv

      SOURCE_DATE_EPOCH=1798761600 chancal export --ics   [dim]# reproducible bytes[/dim]

      chancal export --ics --check   [dim]# in CI: exit 1 if anything is out of date[/dim]
    """
    from chancal.errors import UsageError
    from chancal.publish.workflow import (
        SECRET_VARIABLE,
        Formats,
        address_list,
        feed_secret,
        out_of_date,
        parse_base_url,
        public_leftovers,
        resolve_stamp,
        resolve_today,
        write,
        write_atomic,
    )

    with user_errors():
        if not ics and not csv and not html:
            raise UsageError("choose what to export: --ics, --csv, --html or any of them")
        if csv_bom and not csv:
            raise UsageError("--csv-bom needs --csv")
        if addresses is not None and addresses.resolve().is_relative_to(out.resolve()):
            raise UsageError(
                f"--addresses {addresses} is inside --out {out}, which is published; "
                "write the list of addresses somewhere else"
            )
        formats = Formats(
            ics=ics,
            csv=csv,
            bom=csv_bom,
            html=html,
            base_url=None if base_url is None else parse_base_url(base_url),
            secret=feed_secret(os.environ.get(SECRET_VARIABLE)) if private else None,
        )
        dtstamp = resolve_stamp(stamp)
        published = published_year(
            file,
            today=resolve_today(today),
            stamp=dtstamp,
            replan=replan,
            allow_unplaced=allow_unplaced,
            allow_mass_cancel=allow_mass_cancel,
            formats=formats,
        )
        program, calendar = published.program, published.reconciled
        if check:
            if not out.is_dir():
                stderr().print(
                    f"note: no feeds at {out}; checked {program.lock_path} only", markup=False
                )
            stale = out_of_date(
                published, out, stamp=dtstamp, partners=partner, managers=manager, formats=formats
            )
            report_check([str(path) for path in stale], calendar.counts)
            return
        with export_progress(published.event_count) as progress:
            done = write(
                published,
                out,
                stamp=dtstamp,
                partners=partner,
                managers=manager,
                progress=progress,
                formats=formats,
            )
        if addresses is not None:
            try:
                write_atomic(addresses, address_list(published, formats))
            except OSError as exc:
                raise UsageError(f"cannot write {addresses}: {exc.strerror or exc}") from None
    written = done.feeds
    parts = []
    for form, kind in [(form, kind) for form in ("ics", "csv") for kind in written.KINDS]:
        files, events = written.count(kind, form)
        if files:
            noun = "table" if form == "csv" else "feed"
            what = f"{files} {kind} {noun}{'s' if files != 1 else ''}"
            parts.append(f"{f'all.{form}' if kind == 'all' else what} ({events} events)")
    pages = sum(written.count(kind, "html")[0] for kind in written.KINDS)
    if pages:
        parts.append(f"{pages} page{'s' if pages != 1 else ''}")
    place = f"{out}" + (" (private addresses)" if private else "")
    stdout().print(f"wrote {', '.join(parts)} to {place}", markup=False)
    left = public_leftovers(out) if private else []
    if left:
        stderr().print(
            f"warning: {', '.join(left)} under {out} are public files of an earlier export, "
            "still readable by anyone; delete them to keep the site private",
            markup=False,
        )
    print_lock_outcome(program.lock_path, calendar.counts, written=done.lock_written)
