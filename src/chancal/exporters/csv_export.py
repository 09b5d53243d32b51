"""CSV tables of a plan's events, rendered purely: events in, bytes out.

One row per event, in the order the events have in the matching ICS feed, so
a spreadsheet and a calendar show the same year: RFC 4180 (CRLF line ends,
fields quoted only when they must be), UTF-8, optionally with a byte-order
mark so spreadsheet apps read accents right. Same events, same bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from chancal.plan import AllDay, Event

COLUMNS = (
    "uid",
    "partner",
    "manager",
    "kind",
    "purpose",
    "status",
    "sequence",
    "start_utc",
    "end_utc",
    "start_local",
    "end_local",
    "timezone",
    "all_day",
    "mode",
    "location",
    "join_link",
    "title",
)

BOM = "\ufeff".encode()

# Spreadsheet apps run a cell that starts with one of these as a formula
# (`=HYPERLINK(...)`, `@SUM(...)`, even `+1-2`), so a title someone typed into
# the program file could compute or fetch things on the reader's machine
# ("CSV injection"). A leading apostrophe makes the app show the text as typed.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_table(events: Iterable[Event], *, bom: bool = False) -> bytes:
    """Render `events` (already in feed order) as one CSV file: a header row, then a row each."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    writer.writerows(map(_row, events))
    data = buffer.getvalue().encode("utf-8")
    return BOM + data if bom else data


def _row(ev: Event) -> list[str]:
    zone = ZoneInfo(ev.timezone)
    span = ev.span
    if isinstance(span, AllDay):
        start_local, end_local = span.start.isoformat(), span.end.isoformat()
        start_utc, end_utc = _midnight(span.start, zone), _midnight(span.end, zone)
    else:
        start_local = span.start.astimezone(zone).isoformat()
        end_local = span.end.astimezone(zone).isoformat()
        start_utc, end_utc = _utc(span.start), _utc(span.end)
    return [
        ev.uid,
        ";".join(ev.viewers),
        ev.manager_id or "",
        ev.kind,
        ev.purpose,
        ev.status,
        str(ev.sequence),
        start_utc,
        end_utc,
        start_local,
        end_local,
        ev.timezone,
        "yes" if ev.all_day else "no",
        ev.mode,
        safe_cell(ev.location),
        safe_cell(ev.conference),
        safe_cell(ev.title),
    ]


def safe_cell(text: str) -> str:
    """Return `text` as a spreadsheet shows it, never as a formula it would run."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _midnight(day: date, zone: ZoneInfo) -> str:
    """An all-day event's bound as an instant: midnight in the event's own zone."""
    return _utc(datetime.combine(day, time(), zone))
