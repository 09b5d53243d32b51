"""The spine commands: validate, schema and init, and the CLI's handling of bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chancal.cli import app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("name", "summary"),
    [
        (
            "partners.yaml",
            "  3 managers, 3 tiers, 14 partners; planning year 2027-01-01 to 2027-12-31\n",
        ),
        (
            "minimal.yaml",
            "  1 manager, 1 tier, 1 partner; planning year 2027-01-01 to 2027-12-31\n",
        ),
    ],
)
def test_validate_prints_a_short_summary(name: str, summary: str) -> None:
    """Exits 0 and shows the counts and the planning year's last (not exclusive) day."""
    code, out, err = run("validate", str(EXAMPLES / name))
    assert (code, err) == (0, "")
    assert out.splitlines()[0].startswith(f"ok {EXAMPLES / name}: ")
    assert out.endswith(summary)


def test_validate_reads_partners_yaml_by_default(tmp_path: Path) -> None:
    """Without an argument, validate reads ./partners.yaml."""
    (tmp_path / "partners.yaml").write_text((EXAMPLES / "minimal.yaml").read_text("utf-8"))
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        code, out, _ = run("validate")
    finally:
        os.chdir(cwd)
    assert code == 0
    assert out.startswith("ok partners.yaml: Minimal Program")


def test_validate_reports_every_problem_and_exits_2(tmp_path: Path) -> None:
    """Exits 2, lists every located problem on stderr and counts them; no traceback."""
    text = (EXAMPLES / "minimal.yaml").read_text("utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("tier: standard", "tier: standrd\n    colour: red"))
    code, out, err = run("validate", str(bad))
    assert (code, out) == (2, "")
    assert err == (
        f"{bad}:32:11: partners[0].tier: unknown tier 'standrd'; did you mean 'standard'?\n"
        f"{bad}:33:5: partners[0].colour: unknown key 'colour'; did you mean 'country'?\n"
        "2 problems found.\n"
    )


def test_user_text_is_not_rich_markup(tmp_path: Path) -> None:
    """A program called "Acme [bold]EU[/bold]" prints as written."""
    text = (EXAMPLES / "minimal.yaml").read_text("utf-8")
    path = tmp_path / "p.yaml"
    path.write_text(text.replace("name: Minimal Program", "name: 'Acme [bold]EU[/bold]'"))
    code, out, _ = run("validate", str(path))
    assert code == 0
    assert "Acme [bold]EU[/bold]" in out


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "1:1: file not found; run 'chancal init' to write a starter program"),
        ("directory", "is a directory"),
        ("latin1", "1:10: the file is not UTF-8 text (byte 0xe9); save it as UTF-8"),
        ("empty", "1:1: a program file is a mapping with version, program, managers"),
    ],
)
def test_unreadable_input_exits_2(tmp_path: Path, setup: str, expected: str) -> None:
    """Files that cannot be programs exit 2 with a message, never a traceback."""
    path = tmp_path / "partners.yaml"
    if setup == "directory":
        path.mkdir()
    elif setup == "latin1":
        path.write_bytes("name: Caf\xe9\n".encode("latin-1"))
    elif setup == "empty":
        path.write_text("")
    code, _, err = run("validate", str(path))
    assert code == 2
    assert expected in err
    assert "Traceback" not in err


def test_schema_matches_the_committed_file() -> None:
    """`chancal schema` prints exactly schema/partners.schema.json (regenerate it if not)."""
    code, out, _ = run("schema")
    assert code == 0
    committed = (ROOT / "schema" / "partners.schema.json").read_text(encoding="utf-8")
    assert out == committed, "run: chancal schema > schema/partners.schema.json"
    assert json.loads(out)["title"] == "chancal program file, version 1"


def test_init_writes_a_valid_starter_and_its_schema(tmp_path: Path) -> None:
    """init writes partners.yaml and partners.schema.json; the result validates."""
    target = tmp_path / "new"
    code, out, _ = run("init", str(target))
    assert code == 0
    assert "wrote" in out
    program = (target / "partners.yaml").read_text(encoding="utf-8")
    assert program.startswith("# yaml-language-server: $schema=partners.schema.json\n")
    schema = (target / "partners.schema.json").read_text(encoding="utf-8")
    assert schema == (ROOT / "schema" / "partners.schema.json").read_text(encoding="utf-8")
    code, out, _ = run("validate", str(target / "partners.yaml"))
    assert code == 0
    assert "3 tiers" in out


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    """An existing partners.yaml is kept (exit 2) unless --force is given."""
    (tmp_path / "partners.yaml").write_text("mine\n")
    code, _, err = run("init", str(tmp_path))
    assert code == 2
    assert "exists; pass --force to overwrite it" in err
    assert (tmp_path / "partners.yaml").read_text() == "mine\n"
    code, _, _ = run("init", str(tmp_path), "--force")
    assert code == 0
    assert (tmp_path / "partners.yaml").read_text().startswith("# yaml-language-server")
