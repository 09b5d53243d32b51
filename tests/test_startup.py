"""Start-up hygiene: `chancal --help` and `--version` must not import the heavy libraries.

Not timed (timings live in benchmarks/run.py): each case runs the real entry
point in a fresh interpreter and lists the modules it imported.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pydantic", "yaml", "icalendar", "dateutil.rrule", "holidays")

# Runs the console-script entry point in-process, then reports what was imported.
_PROBE = """
import json, sys
sys.argv = ["chancal", *json.loads(sys.argv[1])]
from chancal.__main__ import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
sys.stdout.flush()
sys.stderr.write("\\n@@MODULES@@" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _imported(args: list[str]) -> tuple[int, set[str], str]:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    err, _, tail = proc.stderr.rpartition("@@MODULES@@")
    assert tail, proc.stderr  # the probe crashed before reporting
    report = json.loads(tail)
    return report["code"], set(report["modules"]), proc.stdout + err


def _heavy(modules: set[str]) -> list[str]:
    return sorted(
        name for name in modules for heavy in HEAVY if name == heavy or name.startswith(f"{heavy}.")
    )


@pytest.mark.parametrize(
    ("args", "expected_out"),
    [
        (["--help"], "Usage"),
        (["-h"], "Usage"),
        (["--version"], "chancal "),
        ([], "Usage"),  # no arguments shows the help
    ],
)
def test_help_and_version_import_no_heavy_library(args: list[str], expected_out: str) -> None:
    """`chancal --help`/`--version` answer without importing pydantic, yaml, icalendar,
    dateutil.rrule or holidays."""
    code, modules, out = _imported(args)
    assert expected_out in out
    assert code in (0, 2)  # typer exits 2 for a bare `chancal` after printing the help
    assert _heavy(modules) == []


def test_version_answers_before_the_cli_framework() -> None:
    """`chancal --version` imports neither typer, click nor rich: it is answered first."""
    code, modules, out = _imported(["--version"])
    assert code == 0
    assert out.startswith("chancal ")
    framework = sorted(m for m in modules if m.split(".")[0] in ("typer", "click", "rich"))
    assert framework == []


@pytest.mark.parametrize("command", ["validate", "schema", "init", "plan", "export", "check"])
def test_command_help_imports_no_heavy_library(command: str) -> None:
    """`chancal COMMAND --help` lists the command's options without importing yaml, icalendar,
    dateutil.rrule or holidays (pydantic is exempt: typer imports it itself to coerce the
    group's options as soon as any subcommand runs)."""
    code, modules, out = _imported([command, "--help"])
    if code == 2 and "No such command" in out:
        pytest.skip(f"command {command!r} does not exist yet")
    assert code == 0, out
    assert [m for m in _heavy(modules) if m.split(".")[0] != "pydantic"] == []


def test_probe_detects_heavy_imports() -> None:
    """The probe itself sees an import of yaml, so the tests above can fail."""
    assert _heavy({"yaml", "chancal", "holidays.countries"}) == ["holidays.countries", "yaml"]
