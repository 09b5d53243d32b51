"""`chancal lock`, `chancal diff`, `export --check`, and the CI and pre-commit files using them."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from chancal.cli import app

ROOT = Path(__file__).parent.parent
STARTER = ROOT / "src" / "chancal" / "templates" / "partners.yaml"
DAY = ["--today", "2027-01-04"]
STAMP = ["--stamp", "2027-01-01T00:00:00Z"]


@pytest.fixture
def program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The starter program in a fresh folder, with no lock yet."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    target = tmp_path / "partners.yaml"
    shutil.copy(STARTER, target)
    return target


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def rename(program: Path, old: str, new: str) -> None:
    text = program.read_text(encoding="utf-8")
    assert old in text
    program.write_text(text.replace(old, new), encoding="utf-8")


def test_lock_writes_the_lock_beside_the_program_and_then_is_up_to_date(program: Path) -> None:
    """`chancal lock` writes chancal.lock next to the program; a second run changes nothing."""
    code, out, _ = run("lock", str(program), *DAY, *STAMP)
    lock = program.parent / "chancal.lock"
    assert code == 0
    assert f"wrote {lock}" in out
    assert lock.read_text().startswith('{"chancal_lock": 2, ')
    first = lock.read_bytes()
    code, out, _ = run("lock", str(program), *DAY, "--stamp", "2027-03-01T00:00:00Z")
    assert (code, lock.read_bytes()) == (0, first)
    assert "is up to date" in out
    assert not (program.parent / "calendars").exists()  # lock writes no feed


def test_diff_names_partner_changes_in_words_without_markup(program: Path) -> None:
    """A renamed partner shows as changed events under its name, brackets printed as written."""
    run("lock", str(program), *DAY, *STAMP)
    rename(program, "name: Northwind Distribution", "name: Northwind [EU] Distribution")
    code, out, _ = run("diff", str(program), *DAY)
    assert code == 0
    assert "Northwind [EU] Distribution (northwind)" in out
    assert "~ changed" in out
    assert "Against " in out and " changed" in out.splitlines()[0]
    code, _, _ = run("diff", str(program), *DAY, "--exit-code")
    assert code == 1


def test_diff_json_is_stable_and_lists_every_change(program: Path) -> None:
    """--format json gives the same bytes twice, with a summary and one entry per change."""
    run("lock", str(program), *DAY, *STAMP)
    rename(program, "name: Northwind Distribution", "name: Northwind Trading")
    _, first, _ = run("diff", str(program), *DAY, "--format", "json")
    _, second, _ = run("diff", str(program), *DAY, "--format", "json")
    assert first == second
    document = json.loads(first)
    assert document["format"] == 1
    assert document["summary"]["changed"] == len(document["changes"]) > 0
    change = document["changes"][0]
    assert change["kind"] == "changed"
    assert change["details"] == ["title"]
    assert "Northwind Distribution" in change["old_title"]


def test_diff_without_lock_lists_everything_as_added(program: Path) -> None:
    """Before the first export, every event is reported as added."""
    code, out, _ = run("diff", str(program), *DAY, "--format", "json")
    document = json.loads(out)
    assert code == 0
    assert document["summary"]["added"] == len(document["changes"]) > 0


def test_corrupt_lock_is_a_located_error_not_a_traceback(program: Path) -> None:
    """A damaged chancal.lock exits 2 and names file, line and column."""
    run("lock", str(program), *DAY, *STAMP)
    lock = program.parent / "chancal.lock"
    lines = lock.read_text().splitlines(keepends=True)
    second = [i for i, line in enumerate(lines) if '"sequence": 0,' in line][1]
    column = lines[second].index('"sequence"') + 1
    lines[second] = lines[second].replace('"sequence": 0,', '"sequence": "zero",')
    lock.write_text("".join(lines))
    for command in (["diff"], ["lock"], ["export", "--ics", "--check"]):
        code, _, err = run(*command, str(program), *DAY)
        assert code == 2, command
        assert f"{lock}:{second + 1}:{column}:" in err
        assert '"sequence" must be a whole number' in err
        assert "Traceback" not in err


def test_export_check_without_feed_folder_checks_the_lock_only(program: Path) -> None:
    """With no feeds on disk, --check says so and judges chancal.lock alone."""
    run("lock", str(program), *DAY, *STAMP)
    out_dir = program.parent / "nowhere"
    code, out, err = run("export", str(program), "--ics", "--check", "--out", str(out_dir), *DAY)
    assert code == 0
    assert "checked" in err and "only" in err
    assert "up to date" in out
    assert not out_dir.exists()


def test_export_check_names_every_stale_file_and_writes_nothing(program: Path) -> None:
    """--check lists the lock and each feed that would change, exits 1, touches nothing."""
    out_dir = program.parent / "calendars"
    code, _, _ = run("export", str(program), "--ics", "--out", str(out_dir), *DAY, *STAMP)
    assert code == 0
    rename(program, "name: Northwind Distribution", "name: Northwind Trading")
    before = {p: p.read_bytes() for p in program.parent.rglob("*") if p.is_file()}
    code, _, err = run("export", str(program), "--ics", "--check", "--out", str(out_dir), *DAY)
    assert code == 1
    for name in ("chancal.lock", "all.ics", "northwind.ics"):
        assert name in err
    assert {p: p.read_bytes() for p in program.parent.rglob("*") if p.is_file()} == before


def test_export_check_reports_a_missing_feed(program: Path) -> None:
    """A feed deleted from disk is out of date too."""
    out_dir = program.parent / "calendars"
    run("export", str(program), "--ics", "--out", str(out_dir), *DAY, *STAMP)
    (out_dir / "all.ics").unlink()
    code, _, err = run("export", str(program), "--ics", "--check", "--out", str(out_dir), *DAY)
    assert code == 1
    assert "all.ics" in err and "chancal.lock" not in err


def test_today_defaults_to_source_date_epoch(
    program: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --today, SOURCE_DATE_EPOCH's date decides which events are history."""
    from chancal.publish.workflow import resolve_today

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1798761600")  # 2027-01-01T00:00:00Z
    assert str(resolve_today(None)) == "2027-01-01"
    assert str(resolve_today("2027-05-02")) == "2027-05-02"


def test_bad_today_is_a_usage_error(program: Path) -> None:
    """--today that is not a date exits 2 with a hint."""
    code, _, err = run("diff", str(program), "--today", "tomorrow")
    assert code == 2
    assert "YYYY-MM-DD" in err


def test_pre_commit_hooks_call_real_commands() -> None:
    """Every hook's entry is a chancal command whose options exist."""
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"chancal-validate", "chancal-export-check"}
    for hook in hooks:
        words = shlex.split(hook["entry"])
        assert words[0] == "chancal"
        code, _, err = run(*words[1:], "--help")
        assert code == 0, (hook["id"], err)


@pytest.mark.parametrize("name", ["publish-calendars.yml", "check-calendars.yml"])
def test_ci_workflows_run_chancal(name: str) -> None:
    """The example workflows are valid YAML and run chancal commands that exist."""
    workflow = yaml.safe_load((ROOT / "examples" / "ci" / "github" / name).read_text())
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    commands = [
        line.strip()
        for step in steps
        for line in step.get("run", "").splitlines()
        if line.strip().startswith("chancal ")
    ]
    assert commands
    for command in commands:
        words = shlex.split(command.split(">>")[0])
        code, _, err = run(words[1], "--help")
        assert code == 0, (command, err)


def test_lock_checked_out_with_crlf_is_up_to_date(program: Path) -> None:
    """A lock converted to CRLF by a Windows checkout neither fails --check nor is rewritten."""
    run("lock", str(program), *DAY, *STAMP)
    lock = program.parent / "chancal.lock"
    crlf = lock.read_bytes().replace(b"\n", b"\r\n")
    lock.write_bytes(crlf)
    out_dir = program.parent / "nowhere"
    code, _, _ = run("export", str(program), "--ics", "--check", "--out", str(out_dir), *DAY)
    assert code == 0
    code, out, _ = run("lock", str(program), *DAY)
    assert (code, lock.read_bytes()) == (0, crlf)
    assert "is up to date" in out


def test_plan_shows_the_locked_dates(program: Path) -> None:
    """`chancal plan` plans against chancal.lock, so it shows the dates export publishes."""
    run("lock", str(program), *DAY, *STAMP)
    lock = program.parent / "chancal.lock"
    published = '"start": "2027-03-16T16:30:00+01:00", "end": "2027-03-16T17:00:00+01:00"'
    moved = '"start": "2027-03-17T16:00:00+01:00", "end": "2027-03-17T16:30:00+01:00"'
    text = lock.read_text()
    [line] = [line for line in text.splitlines() if '"northwind/check-in/2027-03"' in line]
    assert published in line
    lock.write_text(text.replace(line, line.replace(published, moved)))
    code, out, _ = run("plan", str(program), *DAY, "--format", "json")
    assert code == 0
    starts = {e["key"]: e["start"] for e in json.loads(out)["events"]}
    assert starts["northwind/check-in/2027-03"] == "2027-03-17T16:00:00+01:00"
