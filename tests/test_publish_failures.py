"""Publishing fails cleanly: one located line, exit 2, every file as it was (issue 16)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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
    (program.parent / f".chancal.lock.{os.getpid()}.tmp").mkdir()
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
