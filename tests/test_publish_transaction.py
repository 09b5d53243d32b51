"""Publishing is one transaction: an export killed at any step leaves all old or all new.

A real export's writing step runs in a child process that kills itself with
SIGKILL at its n-th file-system step (a flush, a rename, a folder created or
removed), for every n up to the last. The next command that opens the
program (`chancal plan`) must then find the feeds and the lock either all as
they were or all as the uninterrupted export writes them; and the export run
again must end with exactly the new files and nothing of chancal's left over.
"""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chancal.cli import app
from chancal.publish import transaction, workflow
from chancal.resources import starter_program

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

TODAY = date(2027, 1, 4)
STAMP = datetime(2027, 1, 4, tzinfo=UTC)
ARGS = ["--today", TODAY.isoformat(), "--stamp", "2027-01-04T00:00:00Z"]

# The child: load the publication, count file-system steps from the first flush
# (before it nothing is staged), and kill itself at step `limit` (0: never; then
# print how many steps the write took).
CHILD = """
import os, pickle, signal, sys
from dataclasses import replace
from pathlib import Path
from chancal.publish import transaction, workflow

limit, source, case = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
with open(source, "rb") as handle:
    published, stamp = pickle.load(handle)
program = replace(published.program, file=case / "program" / "partners.yaml",
                  lock_path=case / "program" / "chancal.lock")
published = replace(published, program=program)
steps = 0
started = False

def counted(real, starts=False):
    def step(*args, **kwargs):
        global steps, started
        started = started or starts
        if started:
            steps += 1
            if steps == limit:
                os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return step

os.fsync = counted(os.fsync, starts=True)
if transaction._syncfs is not None:  # the staged feeds' one flush (Linux)
    transaction._syncfs = counted(transaction._syncfs, starts=True)
for name in ("replace", "unlink", "mkdir", "rmdir"):
    setattr(os, name, counted(getattr(os, name)))
workflow.write(published, case / "cal", stamp=stamp)
print(steps)
"""


def _files(case: Path) -> dict[str, bytes]:
    """The published state: every feed under cal/ and the lock, by relative path.

    chancal's own staging (".chancal-*") is not published; `_leftovers` checks it.
    """
    found = {
        str(p.relative_to(case)): p.read_bytes()
        for p in sorted((case / "cal").rglob("*"))
        if p.is_file() and not any(part.startswith(".chancal") for part in p.parts)
    }
    found["lock"] = (case / "program" / "chancal.lock").read_bytes()
    return found


def _leftovers(case: Path) -> list[str]:
    return sorted(
        str(p.relative_to(case)) for p in case.rglob("*") if p.name.startswith(".chancal")
    )


@pytest.fixture(scope="module")
def published_states(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """An old published case, the pickled publication of an edit, the new state it writes."""
    root = tmp_path_factory.mktemp("transaction")
    old = root / "old"
    (old / "program").mkdir(parents=True)
    program = old / "program" / "partners.yaml"
    program.write_text(starter_program(), encoding="utf-8")
    code = CliRunner().invoke(
        app, ["export", str(program), "--ics", "--out", str(old / "cal"), *ARGS]
    )
    assert code.exit_code == 0, code.output
    edited = program.read_text(encoding="utf-8").replace("duration: 2h ", "duration: 90m", 1)
    assert edited != program.read_text(encoding="utf-8")
    new = root / "new"
    shutil.copytree(old, new)
    (new / "program" / "partners.yaml").write_text(edited, encoding="utf-8")
    published = workflow.publish(
        workflow.open_program(new / "program" / "partners.yaml"), today=TODAY, stamp=STAMP
    )
    source = root / "publication.pickle"
    with source.open("wb") as handle:
        pickle.dump((published, STAMP), handle)
    result = _child(0, source, new)
    assert result.returncode == 0, result.stderr
    before, after = _files(old), _files(new)
    assert before["lock"] != after["lock"]
    assert sum(before.get(k) != v for k, v in after.items()) >= 3  # feeds change too
    return old, source, new


def _child(limit: int, source: Path, case: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "CHANCAL_JOBS": "1"}
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(limit), str(source), str(case)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_a_kill_at_any_step_leaves_all_old_or_all_new(
    published_states: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    old, source, new = published_states
    before, after = _files(old), _files(new)
    probe = tmp_path / "probe"
    shutil.copytree(old, probe)
    shutil.copy(new / "program" / "partners.yaml", probe / "program" / "partners.yaml")
    counted = _child(0, source, probe)
    steps = int(counted.stdout.strip())
    assert steps > 20, steps  # flushes, journal, renames, clean-up: a real sequence
    seen = {"old": 0, "new": 0}
    for limit in range(1, steps + 1):
        case = tmp_path / f"kill-{limit}"
        shutil.copytree(old, case)
        shutil.copy(new / "program" / "partners.yaml", case / "program" / "partners.yaml")
        killed = _child(limit, source, case)
        assert killed.returncode == -signal.SIGKILL, (limit, killed.stdout, killed.stderr)
        # The next command that opens the program completes or forgets the commit.
        opened = CliRunner().invoke(
            app, ["plan", str(case / "program" / "partners.yaml"), *ARGS[:2]]
        )
        assert opened.exit_code == 0, (limit, opened.output)
        state = _files(case)
        assert state in (before, after), f"killed at step {limit}: a mix of old and new files"
        seen["new" if state == after else "old"] += 1
        assert not [p for p in _leftovers(case) if p.startswith("program/")], limit
        rerun = CliRunner().invoke(
            app,
            [
                "export",
                str(case / "program" / "partners.yaml"),
                "--ics",
                "--out",
                str(case / "cal"),
                *ARGS,
            ],
        )
        assert rerun.exit_code == 0, (limit, rerun.output)
        assert _files(case) == after, limit
        assert _leftovers(case) == [], (limit, _leftovers(case))
        shutil.rmtree(case)
    # Both outcomes happen: killed before the journal, the run is rolled back;
    # after it, rolled forward.
    assert seen["old"] > 0 and seen["new"] > 0, seen


def test_a_journal_is_completed_from_any_working_folder(tmp_path: Path) -> None:
    """Moves are recorded with absolute paths; completing twice is harmless."""
    target = tmp_path / "out" / "partners" / "a.ics"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"old")
    staged = tmp_path / "out" / f"{transaction.STAGING}1-x" / "a.ics"
    staged.parent.mkdir(parents=True)
    staged.write_bytes(b"new")
    parked = staged.parent / "a.ics.replaced"
    moves = [transaction.Move(str(staged), str(target), str(parked))]
    journal, held = transaction._write_journal(tmp_path, moves, [str(staged.parent)])
    assert transaction.recover(tmp_path) == 0  # held: its run is still going
    held.close()  # as the system does when the process dies, kill -9 included
    assert transaction.recover(tmp_path) == 1
    assert target.read_bytes() == b"new"
    assert not journal.exists() and not staged.parent.exists()
    assert transaction.recover(tmp_path) == 0


def test_a_journal_cut_short_commits_nothing(tmp_path: Path) -> None:
    """A run killed while writing its journal has not committed: the partial one goes."""
    partial = tmp_path / f"{transaction.JOURNAL}1.partial"
    partial.write_bytes(b'{"format": 1, "mo')
    target = tmp_path / "a.ics"
    target.write_bytes(b"old")
    assert transaction.recover(tmp_path) == 0
    assert not partial.exists() and target.read_bytes() == b"old"


def test_staged_files_are_flushed_by_one_syncfs_or_else_one_fsync_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Linux flushes the staging folder's file system once; elsewhere every file is fsynced."""
    staged = [tmp_path / f"{n}.ics" for n in range(3)]
    for path in staged:
        transaction.write_new(path, [b"BEGIN:VCALENDAR\r\n"], flush=False)
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    monkeypatch.setattr(transaction, "_syncfs", lambda fd: synced.append(fd) or 0)
    transaction.flush_files(tmp_path, staged)
    assert len(synced) == 1
    synced.clear()
    monkeypatch.setattr(transaction, "_syncfs", None)
    transaction.flush_files(tmp_path, staged)
    assert len(synced) == 3
    monkeypatch.setattr(transaction, "_syncfs", lambda fd: -1)
    with pytest.raises(OSError):
        transaction.flush_files(tmp_path, staged)
