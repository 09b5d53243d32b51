"""`chancal export --ics`: exit codes, stamps, untouched folders, identical bytes anywhere."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chancal.cli import app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "minimal.yaml"


@pytest.fixture
def program(tmp_path: Path) -> Path:
    """A copy of the minimal example, so nothing is written beside the real one."""
    target = tmp_path / "partners.yaml"
    shutil.copy(EXAMPLE, target)
    return target


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def tree(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): (None if p.is_dir() else p.read_bytes())
        for p in sorted(folder.rglob("*"))
    }


def test_export_writes_every_feed(program: Path, tmp_path: Path) -> None:
    """Exits 0, writes all.ics, partner and manager feeds, and says so on stdout."""
    out = tmp_path / "cal"
    code, stdout, stderr = run(
        "export", str(program), "--ics", "--out", str(out), "--stamp", "2027-01-01T00:00:00Z"
    )
    assert code == 0, stderr
    assert (out / "all.ics").read_bytes().startswith(b"BEGIN:VCALENDAR\r\n")
    assert list((out / "partners").glob("*.ics")) and list((out / "managers").glob("*.ics"))
    assert "all.ics" in stdout and "partner feed" in stdout and "manager feed" in stdout
    assert b"DTSTAMP:20270101T000000Z" in (out / "all.ics").read_bytes()


@pytest.mark.parametrize(
    ("args", "env", "stamp"),
    [
        ((), {"SOURCE_DATE_EPOCH": "1798761600"}, b"DTSTAMP:20270101T000000Z"),
        (
            ("--stamp", "2027-02-03T04:05:06+01:00"),
            {"SOURCE_DATE_EPOCH": "1798761600"},
            b"DTSTAMP:20270203T030506Z",
        ),
    ],
)
def test_stamp_sources(
    program: Path, tmp_path: Path, args: tuple[str, ...], env: dict[str, str], stamp: bytes
) -> None:
    """DTSTAMP comes from --stamp, else SOURCE_DATE_EPOCH, in UTC."""
    out = tmp_path / "cal"
    code, _out, stderr = run("export", str(program), "--ics", "--out", str(out), *args, env=env)
    assert code == 0, stderr
    assert stamp in (out / "all.ics").read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--ics"),
        (("--ics", "--partner", "acm"), "unknown partner 'acm'"),
        (("--ics", "--stamp", "soon"), "--stamp"),
    ],
)
def test_usage_errors_exit_2_and_touch_nothing(
    program: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    """Usage errors exit 2 with a one-line message, no traceback, and leave --out as it was."""
    out = tmp_path / "cal"
    out.mkdir()
    (out / "keep.ics").write_bytes(b"old")
    before = tree(out)
    code, _stdout, stderr = run("export", str(program), "--out", str(out), *args)
    assert code == 2
    assert message in stderr
    assert "Traceback" not in stderr
    assert tree(out) == before


def test_invalid_program_leaves_existing_feeds(program: Path, tmp_path: Path) -> None:
    """A program that fails validation exits 2 and writes nothing over yesterday's feeds."""
    out = tmp_path / "cal"
    assert run("export", str(program), "--ics", "--out", str(out), "--stamp", "2027-01-01")[0] == 0
    before = tree(out)
    program.write_text(program.read_text().replace("version: 1", "version: 1\nbogus: 1", 1))
    code, _stdout, stderr = run(
        "export", str(program), "--ics", "--out", str(out), "--stamp", "2028-01-01"
    )
    assert code == 2
    assert "bogus" in stderr
    assert tree(out) == before


@pytest.mark.parametrize(
    "env",
    [
        {"PYTHONHASHSEED": "1", "TZ": "UTC", "LC_ALL": "C"},
        {"PYTHONHASHSEED": "4242", "TZ": "Pacific/Chatham", "LC_ALL": "C.UTF-8"},
    ],
    ids=["seed1-utc", "seed4242-chatham"],
)
def test_same_bytes_whatever_the_machine(
    program: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    """Another hash seed, time zone and locale give byte-identical feeds (fresh process),
    and the process leaves no scratch file behind when it exits."""
    expected_dir = tmp_path / "here"
    code, _stdout, stderr = run(
        "export", str(program), "--ics", "--out", str(expected_dir), "--stamp", "2027-01-01"
    )
    assert code == 0, stderr
    other = tmp_path / "there"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    subprocess.run(
        [sys.executable, "-m", "chancal", "export", str(program), "--ics", "--out", str(other)],
        env={**os.environ, **env, "SOURCE_DATE_EPOCH": "1798761600", "TMPDIR": str(scratch)},
        check=True,
        capture_output=True,
    )
    assert list(scratch.iterdir()) == []

    def digest(folder: Path) -> dict[str, str]:
        return {k: hashlib.sha256(v).hexdigest() for k, v in tree(folder).items() if v is not None}

    assert digest(other) == digest(expected_dir)
    assert digest(other)  # something was compared
