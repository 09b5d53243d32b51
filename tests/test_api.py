"""The Python API as the README shows it: the README's example runs here, as written."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from chancal import api
from chancal.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def _readme_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Python API", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README's Python API section has an example"
    return match.group(1)


def test_the_readme_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The example loads, plans, checks and publishes the bundled program."""
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "partners.yaml", tmp_path / "examples" / "partners.yaml")
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        exec(compile(_readme_example(), "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    printed = capsys.readouterr().out
    assert re.search(r"^\d+ events; \d+ failing findings$", printed, re.M), printed
    assert (tmp_path / "calendars" / "all.ics").is_file()
    assert (tmp_path / "examples" / "chancal.lock").is_file()


def test_api_and_cli_publish_the_same_bytes(tmp_path: Path) -> None:
    """api.publish writes what `chancal export --ics` writes, byte for byte."""
    from datetime import UTC, date, datetime

    from typer.testing import CliRunner

    from chancal.cli import app

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        shutil.copy(ROOT / "examples" / "partners.yaml", tmp_path / name / "partners.yaml")
    program = api.load(tmp_path / "a" / "partners.yaml")
    stamp = datetime(2027, 1, 4, tzinfo=UTC)
    api.publish(program, tmp_path / "a" / "out", today=date(2027, 1, 4), stamp=stamp)
    args = ["export", str(tmp_path / "b" / "partners.yaml"), "--ics", "--out"]
    args += [str(tmp_path / "b" / "out"), "--today", "2027-01-04"]
    result = CliRunner().invoke(app, [*args, "--stamp", "2027-01-04T00:00:00Z"])
    assert result.exit_code == 0, result.output

    def files(folder: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()
        }

    assert files(tmp_path / "a") == files(tmp_path / "b")


def test_api_errors_are_the_cli_errors(tmp_path: Path) -> None:
    """A broken program raises ConfigError with located problems, as the CLI reports them."""
    bad = tmp_path / "partners.yaml"
    bad.write_text("version: 1\nprogram: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        api.load(bad)
    assert info.value.problems and info.value.problems[0].line >= 1
