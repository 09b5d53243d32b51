"""CSV tables beside the feeds (`export --csv`): RFC 4180, the feeds' events, all or nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import icalendar
import pytest
from typer.testing import CliRunner

import chancal.publish.feeds as feeds_module
import chancal.publish.transaction as transaction
from chancal.cli import app
from chancal.errors import UsageError
from chancal.exporters.csv_export import BOM, COLUMNS, csv_table
from chancal.publish.feeds import Formats, safe_name, write_feeds
from test_feeds import snapshot
from test_ics_support import STAMP, make_plan_by_hand, timed_event

BOTH = Formats(ics=True, csv=True)
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "partners.yaml"


def rows(data: bytes) -> list[dict[str, str]]:
    text = data.decode("utf-8").removeprefix("\ufeff")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_quoting_follows_rfc_4180() -> None:
    """Commas, quotes and line breaks are quoted (quotes doubled); plain fields are not."""
    event = timed_event(
        "ber", datetime(2022, 9, 1, 10), 1, title='Review, "Q3"\nand more', location="Plain"
    )
    data = csv_table([event])
    lines = data.split(b"\r\n")
    assert lines[0] == ",".join(COLUMNS).encode()
    assert data.endswith(b'"Review, ""Q3""\nand more"\r\n')
    assert b",Plain," in data and b'"Plain"' not in data
    assert data.count(b"\r\n") == 2  # the newline inside the title stays a bare LF in quotes
    assert rows(data)[0]["title"] == 'Review, "Q3"\nand more'


def test_the_byte_order_mark_is_optional() -> None:
    """UTF-8 without a BOM by default; --csv-bom puts one in front for spreadsheet apps."""
    event = timed_event("ber", datetime(2022, 9, 1, 10), 1, title="Réunion à Zürich")
    plain, marked = csv_table([event]), csv_table([event], bom=True)
    assert not plain.startswith(BOM)
    assert marked == BOM + plain
    assert "Réunion à Zürich".encode() in plain


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_formulas_are_defused(start: str) -> None:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe."""
    title = f'{start}HYPERLINK("http://evil.example","x")'
    event = timed_event("ber", datetime(2022, 9, 1, 10), 1, title=title, location=f"{start}1+2")
    row = rows(csv_table([event]))[0]
    assert row["title"] == "'" + title
    assert row["location"] == f"'{start}1+2"


def test_times_in_utc_and_local() -> None:
    """Timed events give UTC instants and local times with offset; all-day events give dates."""
    plan = make_plan_by_hand()
    table = {r["uid"]: r for r in rows(csv_table(plan.events))}
    timed = next(e for e in plan.events if not e.all_day)
    row = table[timed.uid]
    assert row["start_utc"] == timed.start_instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert datetime.fromisoformat(row["start_local"]) == timed.start
    assert row["timezone"] == timed.timezone and row["all_day"] == "no"
    day = next(e for e in plan.events if e.all_day)
    assert table[day.uid]["start_local"] == day.day.isoformat()
    assert table[day.uid]["all_day"] == "yes"


def _instants(ics: bytes) -> dict[str, tuple[object, object]]:
    found = {}
    for vevent in icalendar.Calendar.from_ical(ics).walk("VEVENT"):
        bounds = []
        for prop in ("DTSTART", "DTEND"):
            value = vevent.decoded(prop)
            bounds.append(
                value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                if isinstance(value, datetime)
                else value.isoformat()
            )
        found[str(vevent["UID"])] = (bounds[0], bounds[1])
    return found


def _csv_instants(data: bytes) -> dict[str, tuple[object, object]]:
    return {
        r["uid"]: (
            (r["start_local"], r["end_local"])
            if r["all_day"] == "yes"
            else (r["start_utc"], r["end_utc"])
        )
        for r in rows(data)
    }


def test_each_table_has_exactly_its_feeds_events(tmp_path: Path) -> None:
    """partners/<id>.csv and all.csv hold the UIDs and instants of the .ics beside them,
    withdrawn copies included, in the same order."""
    plan = make_plan_by_hand()
    moved = plan.events[0]
    other = next(p.id for p in plan.partners if p.id != moved.partner_id)
    # A copy withdrawn from a feed the event left: only that feed has it, cancelled.
    withdrawn = replace(moved, status="CANCELLED", sequence=1, feeds=(f"partner/{other}",))
    plan = replace(plan, events=(*plan.events, withdrawn))
    written = write_feeds(plan, tmp_path, stamp=STAMP, formats=BOTH)
    for stem in ["all", *(f"partners/{safe_name(p.id)}" for p in plan.partners)]:
        ics = (tmp_path / f"{stem}.ics").read_bytes()
        table = (tmp_path / f"{stem}.csv").read_bytes()
        assert _csv_instants(table) == _instants(ics), stem
        uids = [str(v["UID"]) for v in icalendar.Calendar.from_ical(ics).walk("VEVENT")]
        assert [r["uid"] for r in rows(table)] == uids, stem
    other_rows = rows((tmp_path / f"partners/{safe_name(other)}.csv").read_bytes())
    assert [r["status"] for r in other_rows if r["uid"] == moved.uid] == ["CANCELLED"]
    all_rows = rows((tmp_path / "all.csv").read_bytes())
    assert [r["status"] for r in all_rows if r["uid"] == moved.uid] == ["CONFIRMED"]
    assert written.count("partner", "csv") == written.count("partner", "ics")
    assert not list(tmp_path.glob("managers/*.csv"))


def test_tables_alone_and_the_same_bytes_twice(tmp_path: Path) -> None:
    """--csv without --ics writes only the tables; the same plan gives the same bytes."""
    plan = make_plan_by_hand()
    write_feeds(plan, tmp_path / "a", stamp=STAMP, formats=Formats(ics=False, csv=True))
    write_feeds(plan, tmp_path / "b", stamp=STAMP, formats=Formats(ics=False, csv=True))
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")
    assert not list((tmp_path / "a").rglob("*.ics"))
    assert (tmp_path / "a" / "all.csv").exists()
    assert (
        feeds_module.stale_feeds(
            plan, tmp_path / "a", stamp=STAMP, formats=Formats(ics=False, csv=True)
        )
        == []
    )


def test_a_failure_leaves_feeds_and_tables_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table that cannot be written stops the run with every file as it was."""
    plan = make_plan_by_hand()
    write_feeds(plan, tmp_path, stamp=STAMP, formats=BOTH)
    before = snapshot(tmp_path)
    real = transaction.write_new
    changed = replace(plan, events=tuple(replace(e, title=e.title + "!") for e in plan.events))

    def failing(path: Path, chunks: Iterable[bytes], *, flush: bool = True) -> None:
        if path.suffix == ".csv" and "partners" in str(path):
            raise OSError("disk full")
        real(path, chunks, flush=flush)

    monkeypatch.setattr(transaction, "write_new", failing)
    with pytest.raises(UsageError, match="disk full"):
        write_feeds(changed, tmp_path, stamp=datetime(2024, 1, 1, tzinfo=UTC), formats=BOTH)
    assert snapshot(tmp_path) == before


def test_export_csv_from_the_command_line(tmp_path: Path) -> None:
    """`chancal export --csv --csv-bom` writes the tables, with a BOM, and says so."""
    program = tmp_path / "partners.yaml"
    program.write_bytes(EXAMPLE.read_bytes())
    out = tmp_path / "out"
    args = ["export", str(program), "--csv", "--csv-bom", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--today", date(2027, 1, 1).isoformat()])
    assert result.exit_code == 0, result.output
    assert "all.csv (" in result.output and "partner tables" in result.output
    assert (out / "all.csv").read_bytes().startswith(BOM)
    assert not list(out.rglob("*.ics"))
    bad = CliRunner().invoke(app, ["export", str(program), "--ics", "--csv-bom"])
    assert bad.exit_code == 2 and "--csv-bom needs --csv" in bad.output
