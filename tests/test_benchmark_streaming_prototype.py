"""benchmarks/streaming_prototype.py measures the export's own work: same VEVENT and lock bytes.

Its figures say what per-manager streaming could reach only if each process
does exactly what `chancal export` does for a partner's events. Not timed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from chancal.cli import app

ROOT = Path(__file__).resolve().parent.parent
VEVENT = re.compile(rb"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", re.S)


def test_prototype_writes_the_exports_bytes_for_every_partners_event(tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples" / "partners.yaml", tmp_path / "partners.yaml")
    result = CliRunner().invoke(
        app,
        ["export", str(tmp_path / "partners.yaml"), "--ics", "--today", "2027-01-01",
         "--stamp", "2027-01-01T00:00:00Z", "--out", str(tmp_path / "feeds")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "streaming_prototype.py"), "partners.yaml",
         "proto"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

    lock_lines = (tmp_path / "chancal.lock").read_bytes().splitlines(keepends=True)
    partners_lines = [
        line
        for line in lock_lines
        if line.startswith(b'{"key"') and json.loads(line)["event"].get("partner")
    ]
    assert partners_lines and len(partners_lines) < len(lock_lines)
    assert sorted((tmp_path / "proto" / "lock-lines").read_bytes().splitlines(keepends=True)) == (
        sorted(partners_lines)
    )
    published = set(VEVENT.findall((tmp_path / "feeds" / "all.ics").read_bytes()))
    made = VEVENT.findall((tmp_path / "proto" / "all-events.ics-part").read_bytes())
    assert len(made) == len(set(made)) == len(partners_lines)
    assert set(made) <= published
    counts = f"{len(made):,} events, {len(partners_lines):,} lock entries read, 0 breaks"
    assert done.stdout.splitlines()[-1] == counts
    assert sorted(p.name for p in (tmp_path / "proto").iterdir()) == [
        "all-events.ics-part",
        "lock-lines",
    ]
