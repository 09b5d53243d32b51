"""Publishing fails cleanly: one located line, exit 2, every file as it was (issue 16)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chancal.cli import app

EXAMPLE = Path(__file__).resolve().parents[1] / "examples"
ARGS = ["--ics", "--today", "2027-01-01", "--stamp", "2027-01-01T00:00:00Z"]


def _program(tmp_path: Path) -> Path:
    source = EXAMPLE / "partners.yaml"
    folder = tmp_path / "program"
    folder.mkdir()
    shutil.copy(source, folder / "partners.yaml")
    return folder / "partners.yaml"


def _export(program: Path, out: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["export", str(program), "--out", str(out), *ARGS])
    return result.exit_code, result.output


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_a_users_folder_where_a_feed_goes_is_refused_not_deleted(tmp_path: Path) -> None:
    program = _program(tmp_path)
    out = tmp_path / "cal"
    notes = out / "all.ics" / "notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("mine")
    code, output = _export(program, out)
    assert code == 2
    assert "is a folder, where chancal writes the feed all.ics" in output
    assert "Traceback" not in output
    assert notes.read_text() == "mine"
    assert not (program.parent / "chancal.lock").exists()


def test_a_lock_that_cannot_be_written_stops_the_run_before_any_feed(tmp_path: Path) -> None:
    """The lock is staged before the feeds: if it cannot be written, no feed changes.

    The fault: a folder where the staged lock goes (root ignores permissions,
    so a read-only folder would not fail in CI).
    """
    program = _program(tmp_path)
    out = tmp_path / "cal"
    assert _export(program, out)[0] == 0
    lock = program.parent / "chancal.lock"
    before, lock_before = _snapshot(out), lock.read_bytes()
    text = program.read_text(encoding="utf-8")
    program.write_text(text.replace("Contoso HQ", "Contoso House", 1), encoding="utf-8")
    (program.parent / f".chancal-export-{os.getpid()}-chancal.lock").mkdir()
    code, output = _export(program, out)
    assert code == 2 and "Traceback" not in output
    assert f"cannot write {lock}" in output.replace("\n", "")
    assert _snapshot(out) == before and lock.read_bytes() == lock_before


def test_a_file_where_the_partners_folder_goes_is_one_located_line(tmp_path: Path) -> None:
    program = _program(tmp_path)
    out = tmp_path / "cal"
    out.mkdir()
    (out / "partners").write_text("not a folder")
    code, output = _export(program, out)
    assert code == 2 and "Traceback" not in output
    assert "cannot write" in output and "not a folder" in output
    assert (out / "partners").read_text() == "not a folder"
    assert sorted(p.name for p in out.iterdir()) == ["partners"]


def test_a_killed_runs_staging_folder_is_removed_by_the_next_run(tmp_path: Path) -> None:
    program = _program(tmp_path)
    out = tmp_path / "cal"
    out.mkdir()
    # A pid that has exited: the child below, waited for.
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    abandoned = out / f".chancal-export-{done.stdout.strip()}-x1y2"
    (abandoned / "partners").mkdir(parents=True)
    (abandoned / "partners" / "old.ics").write_text("old")
    running = out / f".chancal-export-{os.getpid()}-a1b2"  # this process: still running
    running.mkdir()
    assert _export(program, out)[0] == 0
    assert not abandoned.exists()
    assert running.exists()


def test_a_blackout_over_the_whole_year_stops_before_cancelling_it(tmp_path: Path) -> None:
    """Cancelling more than a quarter of the published future needs allow_mass_cancel."""
    from datetime import UTC, date, datetime

    from chancal import api

    program = _program(tmp_path)
    out = tmp_path / "cal"
    stamp = datetime(2027, 1, 1, tzinfo=UTC)
    api.publish(api.load(program), out, today=date(2027, 1, 1), stamp=stamp)
    before, lock = _snapshot(out), (program.parent / "chancal.lock").read_bytes()
    text = program.read_text(encoding="utf-8")
    whole_year = "    - {start: 2027-03-01, end: 2027-12-31, reason: typed as the whole year}\n"
    program.write_text(text.replace("  blackouts:\n", "  blackouts:\n" + whole_year, 1))
    later = date(2027, 2, 1)
    with pytest.raises(api.Refused, match=r"it would cancel \d+ of the \d+ published events"):
        api.publish(api.load(program), out, today=later, stamp=stamp, allow_unplaced=True)
    assert _snapshot(out) == before
    assert (program.parent / "chancal.lock").read_bytes() == lock
    done = api.publish(
        api.load(program),
        out,
        today=later,
        stamp=stamp,
        allow_unplaced=True,
        allow_mass_cancel=True,
    )
    assert done.lock_written and _snapshot(out) != before


def test_removing_one_partner_is_not_a_mass_cancel(tmp_path: Path) -> None:
    from datetime import UTC, date, datetime

    from chancal import api
    from chancal.publish import workflow

    program = _program(tmp_path)
    stamp = datetime(2027, 1, 1, tzinfo=UTC)
    api.publish(api.load(program), tmp_path / "cal", today=date(2027, 1, 1), stamp=stamp)
    config = api.load(program).config
    first = config.partners[0].id
    text = program.read_text(encoding="utf-8")
    start = text.index(f"  - id: {first}\n")
    end = text.index("  - id: ", start + 1)
    program.write_text(text[:start] + text[end:], encoding="utf-8")
    published = workflow.publish(api.load(program), today=date(2027, 2, 1), stamp=stamp)
    assert any(c.kind == "cancelled" for c in published.reconciled.changes)
    assert published.mass_cancel is None


def test_export_refuses_a_mass_cancel_unless_allowed(tmp_path: Path) -> None:
    program = _program(tmp_path)
    out = tmp_path / "cal"
    assert _export(program, out)[0] == 0
    text = program.read_text(encoding="utf-8")
    whole_year = "    - {start: 2027-03-01, end: 2027-12-31, reason: typed as the whole year}\n"
    program.write_text(text.replace("  blackouts:\n", "  blackouts:\n" + whole_year, 1))
    later = [a if a != "2027-01-01" else "2027-02-01" for a in ARGS]
    run = CliRunner().invoke(
        app, ["export", str(program), "--out", str(out), *later, "--allow-unplaced"]
    )
    assert run.exit_code == 1
    assert "--allow-mass-cancel" in run.output and "nothing was written" in run.output
    allowed = ["--allow-unplaced", "--allow-mass-cancel"]
    run = CliRunner().invoke(app, ["export", str(program), "--out", str(out), *later, *allowed])
    assert run.exit_code == 0, run.output


def test_a_lock_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    program = _program(tmp_path)
    out = tmp_path / "cal"
    assert _export(program, out)[0] == 0
    lock = program.parent / "chancal.lock"
    lock.write_bytes(b"\xef\xbb\xbf" + lock.read_bytes())
    code, output = _export(program, out)
    assert code == 0, output


def test_a_stamp_out_of_range_is_one_line() -> None:
    from chancal.errors import UsageError
    from chancal.publish.workflow import parse_stamp, stamp_from_epoch

    for text in ("0001-01-01T00:00:00+01:00", "1800-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
        with pytest.raises(UsageError, match="out of range"):
            parse_stamp(text)
    with pytest.raises(UsageError, match="out of range"):
        stamp_from_epoch(str(10**12))
    assert parse_stamp("2027-01-01T01:00:00+01:00").isoformat() == "2027-01-01T00:00:00+00:00"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"sequence": 0', '"sequence": ' + "9" * 40, "sequence"),
        ('"stamp": "2027-01-01T00:00:00Z"', '"stamp": "0001-01-01T00:00:00Z"', "stamp"),
    ],
)
def test_a_lock_value_out_of_range_is_a_located_problem(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    program = _program(tmp_path)
    out = tmp_path / "cal"
    assert _export(program, out)[0] == 0
    lock = program.parent / "chancal.lock"
    text = lock.read_text(encoding="utf-8")
    assert old in text
    lock.write_text(text.replace(old, new, 1), encoding="utf-8")
    code, output = _export(program, out)
    assert code == 2 and "Traceback" not in output
    assert re.search(rf"chancal\.lock:\d+:\d+: .*{message}", output.replace("\n", " "))


def test_a_600_tier_extends_chain_is_one_located_line(tmp_path: Path) -> None:
    """It raised RecursionError after most of a minute; now validate refuses it at once."""
    program = _program(tmp_path)
    text = program.read_text(encoding="utf-8")
    head = text.index("\ntiers:\n") + len("\ntiers:\n")
    chain = "".join(
        f"  - id: t{n}\n    rank: {n + 10}\n    description: chain {n}\n"
        f"    extends: {'transactional' if n == 0 else f't{n - 1}'}\n"
        for n in range(600)
    )
    program.write_text(text[:head] + chain + text[head:], encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(program)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert re.search(r"partners\.yaml:\d+:\d+: tiers\[16\]\.extends: .*more than 16", result.output)
