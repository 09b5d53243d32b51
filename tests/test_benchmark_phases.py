"""benchmarks/phases.py: the export step by step writes what `chancal export` writes.

Its per-phase figures are only worth reading if the steps are the export's own:
the same feeds and lock as the CLI, byte for byte. Not timed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from chancal.cli import app

ROOT = Path(__file__).resolve().parent.parent
PHASES = ["imports", "open", "plan", "verify", "reconcile", "write feeds, lock"]
LINE = re.compile(r"(?P<label>.+?) +(?P<phase>\d+\.\d) s \(elapsed +(?P<total>\d+\.\d) s\) ")


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_phases_print_each_step_and_write_what_export_writes(tmp_path: Path) -> None:
    for name in ("script", "cli"):
        (tmp_path / name).mkdir()
        shutil.copy(ROOT / "examples" / "partners.yaml", tmp_path / name / "partners.yaml")
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "phases.py"), "partners.yaml", "out"],
        cwd=tmp_path / "script",
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    steps = [LINE.match(line) for line in done.stdout.splitlines()[: len(PHASES)]]
    assert [m["label"] if m else None for m in steps] == PHASES, done.stdout
    # Each line gives its own phase and the time so far: the phases add up.
    totals = [float(m["total"]) for m in steps if m]
    phases = [float(m["phase"]) for m in steps if m]
    assert abs(sum(phases) - totals[-1]) <= 0.1 * len(phases)

    result = CliRunner().invoke(
        app,
        ["export", str(tmp_path / "cli" / "partners.yaml"), "--ics", "--today", "2027-01-01",
         "--stamp", "2027-01-01T00:00:00Z", "--out", str(tmp_path / "cli" / "out")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _files(tmp_path / "script") == _files(tmp_path / "cli")
