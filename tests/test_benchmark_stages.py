"""benchmarks/stages.py: every stage is timed, and a second run costs a re-export. Not timed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = [
    "open: load and check the program",
    "read the lock (parse, check every line)",
    "pins from the lock",
    "plan",
    "verify",
    "reconcile",
    "write: select the feeds",
    "write: put the events in feed order, name their feeds",
    "write: render every event once (the spool)",
    "write: the lock's bytes",
    "write: all of it (files compared or written)",
]
LINE = re.compile(r"(?P<label>.+?) +cpu +\d+\.\d\d s +wall +\d+\.\d\d s$")
COUNTS = re.compile(r"([\d,]+) events planned, ([\d,]+) in the lock read, ([\d,]+) feeds")


def _run(folder: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "stages.py"), "partners.yaml", "out"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_stages_cost_a_first_export_then_a_re_export(tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples" / "partners.yaml", tmp_path / "partners.yaml")
    first = _run(tmp_path)
    labels = [m["label"] if (m := LINE.match(line)) else None for line in first]
    assert labels[: len(STAGES)] == STAGES, first
    # Then a pickle and an unpickle line for each of the five things a worker would send,
    # and for what the pool's workers do send: each manager's part, pickled on its own.
    assert sum(line.startswith("pickle ") for line in first) == 6
    assert sum(line.startswith("unpickle it (") for line in first) == 5
    assert sum(line.startswith("unpickle them (") for line in first) == 1
    counts = COUNTS.fullmatch(first[-1])
    assert counts and counts[2] == "0", first[-1]  # no lock yet: a first export
    assert (tmp_path / "out" / "all.ics").is_file() and (tmp_path / "chancal.lock").is_file()

    again = COUNTS.fullmatch(_run(tmp_path)[-1])
    assert again and again[1] == again[2] == counts[1] != "0"  # the lock written is read back
