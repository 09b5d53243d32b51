"""The default views at 80 and 120 columns: nothing wider than the terminal, no column squeezed.

Pipes and CI logs are often 80 columns wide. The text of `plan`, `check`,
`validate` and `export --check` is compared with golden files at both widths
(`pytest --update-golden` rewrites them), and checked for what a reader needs:
every line fits, header cells print in full, tiers are never cut or run into a
name, diagnostics wrap under a hanging indent and counts read as English.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from chancal.cli import app

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "terminal"
EXAMPLE = "examples/partners.yaml"
WIDTHS = (80, 120)
TIERS = ("strategic", "growth", "transactional")


def run(width: int, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": str(width), "NO_COLOR": "1"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def assert_fits(text: str, width: int) -> None:
    wide = [line for line in text.splitlines() if cell_len(line) > width]
    assert not wide, f"{len(wide)} lines wider than {width}: {wide[:3]}"


def compare(name: str, text: str, update_golden: bool) -> None:
    golden = GOLDEN / name
    if update_golden:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"{golden} missing: run pytest --update-golden"
    assert golden.read_text(encoding="utf-8") == text, f"{golden} differs: review, then update"


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the repository root, so printed paths are the same on every machine."""
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.usefixtures("at_root")
def test_plan(width: int, update_golden: bool) -> None:
    """The grid, the summary table and the diagnostics fit; no column is collapsed."""
    code, out, _ = run(width, "plan", EXAMPLE)
    assert code == 0
    compare(f"plan-{width}.txt", out, update_golden)
    assert_fits(out, width)
    header = next(line for line in out.splitlines() if "Partner" in line and "Tier" in line)
    for cell in ("Partner", "Tier", "Manager", "Collab.", "Acct."):
        assert re.search(rf"(^|\s){re.escape(cell)}(\s|$)", header), (cell, header)
    assert ("By kind" in header) == (width >= 120)
    rows = [line for line in out.splitlines() if "Northwind Traders" in line and "/" in line]
    assert rows and "12 / 14.5h" in rows[0] and "strategic" in rows[0] and "alex" in rows[0]
    assert "Southern Cross Distribution" in out  # the longest name, whole in the table
    assert "…" not in "".join(line for line in out.splitlines() if "/" in line and "h" in line)
    assert "Diagnostics: 8 warnings, 11 info" in out
    diagnostics = out[out.index("Diagnostics:") :].splitlines()[1:]
    assert all(line.startswith(("  warning ", "  info ", "    ")) for line in diagnostics)
    assert any(line.startswith("    ") for line in diagnostics)  # some wrap, under the indent


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.usefixtures("at_root")
def test_check(width: int, update_golden: bool) -> None:
    """The scorecard fits; a name is never run into its tier."""
    _, out, _ = run(width, "check", EXAMPLE)
    compare(f"check-{width}.txt", out, update_golden)
    assert_fits(out, width)
    assert not re.search(r"…\S", out)
    header = next(line for line in out.splitlines() if "skills" in line)
    for cell in ("skills", "visits", "strat", "share", "balance", "invest", "spread"):
        assert cell in header.split()
    if width >= 120:
        assert "tier" in header.split()
        assert re.search(r"Northwind Traders +strategic ", out)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.usefixtures("at_root")
def test_validate(width: int, update_golden: bool) -> None:
    code, out, _ = run(width, "validate", EXAMPLE)
    assert code == 0
    compare(f"validate-{width}.txt", out, update_golden)
    assert_fits(out, width)
    assert "3 managers, 3 tiers, 14 partners" in out


@pytest.mark.parametrize("width", WIDTHS)
def test_export_check(width: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--check says 'up to date', and what is stale in short lines with right plurals; diff fits."""
    shutil.copy(ROOT / EXAMPLE, tmp_path / "partners.yaml")
    monkeypatch.chdir(tmp_path)
    args = ("export", "partners.yaml", "--ics", "--out", "cal", "--today", "2027-01-04")
    assert run(width, *args)[0] == 0
    code, out, err = run(width, *args, "--check")
    assert code == 0 and "up to date" in out
    assert_fits(out + err, width)

    (tmp_path / "cal" / "all.ics").unlink()
    code, out, err = run(width, *args, "--check")
    assert code == 1
    assert "1 file would change; its events are up to date" in err
    assert "no changes" not in err
    assert_fits(out + err, width)

    text = (tmp_path / "partners.yaml").read_text(encoding="utf-8")
    (tmp_path / "partners.yaml").write_text(
        text.replace("name: Northwind Traders", "name: Northwind Trading"), encoding="utf-8"
    )
    code, out, err = run(width, *args, "--check")
    assert code == 1
    assert re.search(r"\b\d+ files would change \(\d+ changed\)", err), err
    assert_fits(out + err, width)

    code, out, _ = run(width, "diff", "partners.yaml", "--today", "2027-01-04")
    assert code == 0 and "Northwind Trading (northwind)" in out
    assert_fits(out, width)
    lines = out.splitlines()
    assert all(line.startswith(("  ~ ", " " * 15)) for line in lines[3:] if line), lines[:6]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("who", [("--partner", "northwind"), ("--manager", "mei")])
@pytest.mark.usefixtures("at_root")
def test_agenda(width: int, who: tuple[str, str]) -> None:
    """A partner's or manager's agenda fits; date and time never wrap."""
    code, out, _ = run(width, "plan", EXAMPLE, *who)
    assert code == 0
    assert_fits(out, width)
    header = next(line for line in out.splitlines() if "Date" in line)
    for cell in ("Date", "Time", "Purpose", "Title", "Where"):
        assert cell in header
    assert re.search(r"2027-\d\d-\d\d[ │]+\d\d:\d\d-\d\d:\d\d ", out)
