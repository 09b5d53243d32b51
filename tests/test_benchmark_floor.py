"""benchmarks/floor.py: the export's floor writes valid iCalendar, as many events as asked.

The floor is the reference every export figure is judged against (issue 17), so
it must do the work it claims: every VEVENT escaped, folded at 75 octets and
ended with CRLF, spread over the files asked for. Not timed.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import icalendar
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str) -> ModuleType:
    # benchmarks/ is a folder of scripts, not a package: load the file by path.
    spec = importlib.util.spec_from_file_location(f"chancal_benchmark_{name}", BENCHMARKS / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FLOOR = _load("floor.py")


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("Acme; Inc., Ltd", "Acme\\; Inc.\\, Ltd"),
        ("a\\b\nc", "a\\\\b\\nc"),
        ("plain", "plain"),
    ],
)
def test_text_values_are_escaped_per_rfc_5545(text: str, escaped: str) -> None:
    """Backslash, semicolon, comma and newline are escaped; nothing else changes."""
    assert FLOOR.escape(text) == escaped


def test_long_lines_fold_at_75_octets_never_inside_a_character() -> None:
    """Every physical line is at most 75 octets, continuation lines start with a space, and
    unfolding gives the line back."""
    line = "DESCRIPTION:" + "Kaiyō 東京 " * 40
    folded = FLOOR.fold(line)
    assert folded.endswith(b"\r\n")
    physical = folded[:-2].split(b"\r\n")
    assert len(physical) > 5
    assert all(len(p) <= 75 for p in physical)
    assert all(p.startswith(b" ") for p in physical[1:])
    for p in physical:
        p.decode("utf-8")  # no character split across lines
    assert b"".join([physical[0], *(p[1:] for p in physical[1:])]).decode("utf-8") == line


def test_the_floor_writes_as_many_events_into_as_many_files_as_asked(tmp_path: Path) -> None:
    """Run as run.py runs it: 50 VEVENTs in 3 files, each a calendar icalendar parses."""
    generate = _load("generate.py")
    program = tmp_path / "partners.yaml"
    program.write_text(generate.generate(20, 1), encoding="utf-8")
    out = tmp_path / "floor"
    args = ["--events", "50", "--files", "3", "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "floor.py"), str(program), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(proc.stdout)
    files = sorted(out.glob("*.ics"))
    assert len(files) == 3
    assert report["bytes"] == sum(f.stat().st_size for f in files)
    counts = []
    for f in files:
        data = f.read_bytes()
        assert b"\n" not in data.replace(b"\r\n", b"")  # every line ends with CRLF
        assert all(len(line) <= 75 for line in data.split(b"\r\n"))
        calendar = icalendar.Calendar.from_ical(data)
        events = calendar.walk("VEVENT")
        counts.append(len(events))
        assert all(len(e.walk("VALARM")) == 2 for e in events)
    assert counts == [17, 17, 16]
