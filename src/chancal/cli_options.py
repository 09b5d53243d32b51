"""The command line's arguments and options, declared once and shared by its commands."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

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
AllowMassCancelOption = Annotated[
    bool,
    typer.Option(
        "--allow-mass-cancel",
        help="Publish even when the run cancels more than a quarter of the published "
        "events still ahead (a blackout over the whole year usually is a mistake).",
    ),
]
CsvOption = Annotated[
    bool,
    typer.Option(
        "--csv",
        help="Write CSV tables (all.csv, partners/<id>.csv) beside the feeds: one row per event.",
    ),
]
CsvBomOption = Annotated[
    bool,
    typer.Option(
        "--csv-bom",
        help="Start each CSV table with a byte-order mark, so spreadsheet apps read accents right.",
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

FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        "-f",
        help="text: a scorecard for people; json: a stable shape for scripts.",
    ),
]
