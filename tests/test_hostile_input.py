"""Hostile and odd input (issue 16): nothing is lost, nothing crashes, nothing reaches the
terminal raw. Every case exits 2 with one located `file:line:col:` line per problem."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chancal.cli import app

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = (ROOT / "examples" / "minimal.yaml").read_text("utf-8")
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): \S")


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def refused(tmp_path: Path, text: str, command: str = "validate") -> list[str]:
    """Run a command on `text`; assert exit 2, located lines only, no traceback."""
    path = tmp_path / "partners.yaml"
    path.write_text(text, "utf-8")
    code, out, err = run(command, str(path))
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    lines = err.splitlines()
    assert lines[-1].endswith("found."), err
    for line in lines[:-1]:
        match = LOCATED.match(line)
        assert match and match["file"] == str(path), line
    return lines[:-1]


def edit(old: str, new: str, text: str = MINIMAL) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# -- safe terminal output -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "shown"),
    [("\\e[2J", "U+001B"), ("\\0", "U+0000"), ("\\r", "U+000D"), ("\\x9b", "U+009B")],
)
@pytest.mark.parametrize("command", ["validate", "plan", "check"])
def test_control_characters_in_names_are_refused_and_never_printed(
    tmp_path: Path, written: str, shown: str, command: str
) -> None:
    text = edit("name: Acme Resellers", f'name: "Acme{written} Resellers"')
    (line,) = refused(tmp_path, text, command)
    assert ":31:11: partners[0].name: " in line and shown in line
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", line)


def test_a_line_feed_in_a_value_cannot_forge_a_second_problem(tmp_path: Path) -> None:
    forged = "gold\\npartners.yaml:1:1: all good"
    (line,) = refused(tmp_path, edit("tier: standard", f'tier: "{forged}"'))
    assert "'gold\\npartners.yaml:1:1: all good' is not a valid id" in line


def test_an_escape_sequence_in_an_unknown_reference_is_shown_escaped(tmp_path: Path) -> None:
    lines = refused(tmp_path, edit("tier: standard", 'tier: "st\\e]0;pwned\\a"'))
    assert len(lines) == 2  # not an id, and a control character
    assert all("\x1b" not in line and "\x07" not in line for line in lines)
    assert any("'st\\x1b]0;pwned\\x07' is not a valid id" in line for line in lines)


def test_line_100_and_colons_are_not_turned_into_emoji(tmp_path: Path) -> None:
    padded = "#\n" * 68 + edit("tier: standard", "tier: ':100:'")
    (line,) = refused(tmp_path, padded)
    assert ":100:" in line and "\N{HUNDRED POINTS SYMBOL}" not in line
    assert LOCATED.match(line)["line"] == "100"  # type: ignore[index]


def test_yaml_tags_are_refused_where_they_stand(tmp_path: Path) -> None:
    text = edit("name: Acme Resellers", "name: !!python/name:os.system")
    text = edit("version: 1", "version: !custom 1", text)
    lines = refused(tmp_path, text)
    assert any(":4:10: version: YAML tag '!custom' is not supported" in x for x in lines)
    assert any(":31:11: partners[0].name: YAML tag '!!python/name:os.system'" in x for x in lines)


def test_plain_core_tags_stay_allowed(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(edit("name: Acme Resellers", "name: !!str 1234"), "utf-8")
    assert run("validate", str(path))[0] == 0


def test_printed_output_is_escaped_in_a_real_process(tmp_path: Path) -> None:
    """Through a real stderr (not the test runner's): no raw ESC, one line per problem."""
    path = tmp_path / "partners.yaml"
    path.write_text(edit("tier: standard", 'tier: "a\\e[31mb\\nc"'), "utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "chancal", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "\x1b" not in proc.stderr and "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 3 and all(LOCATED.match(line) for line in lines[:-1])
