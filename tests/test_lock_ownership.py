"""One lock per program file, and a lock or feed folder of another program is never touched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chancal.cli import app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "partners.yaml"
ARGS = ["--ics", "--stamp", "2027-01-01T00:00:00Z", "--today", "2027-01-04"]
runner = CliRunner()


def _second_program(folder: Path) -> Path:
    """The example under another file name and program id (its UIDs differ)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "  id: contoso-2027\n" in text
    other = folder / "emea.yaml"
    other.write_text(text.replace("  id: contoso-2027\n", "  id: emea-2027\n", 1), "utf-8")
    return other


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_two_programs_in_one_folder_get_a_lock_each(tmp_path: Path) -> None:
    """partners.yaml keeps chancal.lock; emea.yaml gets emea.lock; neither touches the other."""
    main = tmp_path / "partners.yaml"
    shutil.copy(EXAMPLE, main)
    other = _second_program(tmp_path)
    first = runner.invoke(app, ["export", str(main), *ARGS, "--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    lock = (tmp_path / "chancal.lock").read_bytes()
    second = runner.invoke(app, ["export", str(other), *ARGS, "--out", str(tmp_path / "b")])
    assert second.exit_code == 0, second.output
    assert (tmp_path / "emea.lock").is_file()
    assert (tmp_path / "chancal.lock").read_bytes() == lock
    assert "@emea-2027.chancal" in (tmp_path / "emea.lock").read_text()


def test_a_feed_folder_of_another_program_is_refused_untouched(tmp_path: Path) -> None:
    """Exporting a second program into the first one's --out exits 2, names both programs
    and leaves every file as it was."""
    main = tmp_path / "partners.yaml"
    shutil.copy(EXAMPLE, main)
    out = tmp_path / "calendars"
    assert runner.invoke(app, ["export", str(main), *ARGS, "--out", str(out)]).exit_code == 0
    before = _files(tmp_path)
    other = _second_program(tmp_path)
    result = runner.invoke(app, ["export", str(other), *ARGS, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "contoso-2027" in result.stderr and "emea-2027" in result.stderr
    assert "Traceback" not in result.output
    after = _files(tmp_path)
    after.pop("emea.yaml")
    assert after == before


def test_a_private_site_of_another_program_is_refused_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A private site's all.ics lies at private/<token>/all.ics: it counts as well."""
    monkeypatch.setenv("CHANCAL_FEED_SECRET", "a-secret-of-sixteen-or-more")
    main = tmp_path / "partners.yaml"
    shutil.copy(EXAMPLE, main)
    out = tmp_path / "site"
    first = runner.invoke(
        app, ["export", str(main), *ARGS, "--html", "--private", "--out", str(out)]
    )
    assert first.exit_code == 0, first.output
    assert not (out / "all.ics").exists()
    before = _files(tmp_path)
    other = _second_program(tmp_path)
    result = runner.invoke(app, ["export", str(other), *ARGS, "--html", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "contoso-2027" in result.stderr and "emea-2027" in result.stderr
    after = _files(tmp_path)
    after.pop("emea.yaml")
    assert after == before


def test_a_lock_of_another_program_is_refused(tmp_path: Path) -> None:
    """A lock whose UIDs carry another program id is refused by every command that reads
    it (exit 2), never reconciled into cancellations."""
    main = tmp_path / "partners.yaml"
    shutil.copy(EXAMPLE, main)
    assert runner.invoke(app, ["lock", str(main), "--stamp", "2027-01-01T00:00:00Z"]).exit_code == 0
    lock = (tmp_path / "chancal.lock").read_bytes()
    text = main.read_text(encoding="utf-8").replace("  id: contoso-2027\n", "  id: renamed\n", 1)
    main.write_text(text, encoding="utf-8")
    for command in (["export", str(main), *ARGS], ["diff", str(main)], ["plan", str(main)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        assert "belongs to program 'contoso-2027'" in result.stderr
    assert (tmp_path / "chancal.lock").read_bytes() == lock
