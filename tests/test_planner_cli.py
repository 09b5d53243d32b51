"""`chancal plan`: exit codes, agendas, the JSON shape, bytes stable across hash seed and TZ."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from chancal.cli import app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "examples" / "partners.yaml")
STARTER = str(ROOT / "src" / "chancal" / "templates" / "partners.yaml")
runner = CliRunner()


def test_plan_prints_summary_and_diagnostics() -> None:
    """Exits 0 and prints every partner by name (brackets intact) and the diagnostics."""
    result = runner.invoke(app, ["plan", EXAMPLE], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Andes Distribución [CL]" in result.stdout
    assert "Diagnostics" in result.stdout


def test_partner_agenda_in_date_order() -> None:
    """--partner prints that partner's events in date order, 'Acme [CL]'-style names intact."""
    result = runner.invoke(
        app, ["plan", EXAMPLE, "--partner", "andes-distribucion"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "Andes Distribución [CL]" in result.stdout
    days = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("│ 2027-")]
    assert days and days == sorted(days)


def test_unknown_partner_is_a_usage_error_with_a_suggestion() -> None:
    """Exits 2, suggests the closest id, no traceback."""
    result = runner.invoke(app, ["plan", EXAMPLE, "--partner", "northwnd"])
    assert result.exit_code == 2
    assert "did you mean 'northwind'?" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_manager_is_a_usage_error() -> None:
    """Exits 2 for an unknown manager id."""
    result = runner.invoke(app, ["plan", EXAMPLE, "--manager", "clare"])
    assert result.exit_code == 2
    assert "did you mean 'claire'?" in result.stderr


def test_strict_ignores_info_notes_but_exits_1_on_warnings(tmp_path: Path) -> None:
    """--strict passes a plan with only info notes (skipped check-ins) and fails on a warning."""
    result = runner.invoke(app, ["plan", STARTER, "--strict"])
    assert result.exit_code == 0, result.output
    assert "skipped-check-in" in result.stdout

    # A partner blackout over the whole of Q2 pushes its Q2 strategy session out of its window.
    text = (
        Path(STARTER)
        .read_text(encoding="utf-8")
        .replace(
            "    focus_areas: [solution selling, pipeline management]\n",
            "    focus_areas: [solution selling, pipeline management]\n"
            "    blackouts: [{start: 2027-04-01, end: 2027-06-30, reason: ERP migration}]\n",
        )
    )
    program = tmp_path / "partners.yaml"
    program.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["plan", str(program), "--strict"])
    assert result.exit_code == 1, result.output
    assert "(--strict)" in result.stderr


def test_bad_today_is_a_usage_error() -> None:
    """--today must be a date."""
    result = runner.invoke(app, ["plan", STARTER, "--today", "tomorrow"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.stderr


def test_json_shape() -> None:
    """--format json has the documented top-level keys and ISO starts."""
    result = runner.invoke(app, ["plan", STARTER, "--format", "json"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert sorted(doc) == [
        "diagnostics",
        "events",
        "filter",
        "format",
        "managers",
        "partners",
        "program",
        "summary",
        "tiers",
    ]
    first = doc["events"][0]
    assert first["key"] == "northwind/review/2026-q4"
    assert first["start"] == "2027-01-22T15:00:00+01:00"
    assert doc["summary"]["events"] == len(doc["events"])


def test_json_is_byte_stable_across_hash_seed_and_machine_zone() -> None:
    """Two runs with other PYTHONHASHSEED and TZ print the same bytes."""
    outputs = []
    for seed, tz in (("1", "UTC"), ("2", "Asia/Kolkata")):
        env = {**os.environ, "PYTHONHASHSEED": seed, "TZ": tz, "LC_ALL": "C"}
        done = subprocess.run(
            [sys.executable, "-m", "chancal", "plan", EXAMPLE, "--format", "json"],
            env=env,
            capture_output=True,
            check=True,
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
