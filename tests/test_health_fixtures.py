"""The health check on real programs: check-the-box fixtures fail exactly their principle."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chancal.cli import app
from chancal.health import check_health
from chancal.loader import load
from chancal.planner import make_plan
from chancal.scores import HealthReport

FIXTURES = Path(__file__).parent / "fixtures" / "health"
EXAMPLES = Path(__file__).parent.parent / "examples"


@cache
def report_of(path: Path) -> HealthReport:
    config = load(path).config
    plan = make_plan(config)
    return check_health(plan, config.program.health, strategy_gap=config.program.strategy_gap)


def failing(report: HealthReport) -> dict[str, set[str]]:
    """Failed principles by partner id (partners without failures left out)."""
    out = {
        s.partner.id: {f.principle for f in s.findings if f.status == "fail"}
        for s in report.partners
    }
    return {k: v for k, v in out.items() if v}


def test_healthy_fixture_passes_everything() -> None:
    """The healthy base program has no failure and no warning."""
    report = report_of(FIXTURES / "healthy.yaml")
    assert {f.status for s in report.partners for f in s.findings} == {"pass", "n/a"}


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("capability", {"maple": {"capability"}, "northwind": {"capability"}}),
        ("site_visits", {"northwind": {"site_visits"}}),
        ("strategy", {"maple": {"strategy"}, "northwind": {"strategy"}}),
        ("sharing", {"maple": {"sharing"}, "northwind": {"sharing"}}),
        ("balance", {"maple": {"balance"}}),
        ("investment", {"maple": {"investment"}}),
        ("spread", {"maple": {"spread"}}),
    ],
)
def test_check_the_box_fixture_fails_exactly_its_principle(
    fixture: str, expected: dict[str, set[str]]
) -> None:
    """Each fixture breaks one principle of healthy.yaml, and only that one fails."""
    assert failing(report_of(FIXTURES / f"{fixture}.yaml")) == expected


def test_every_fixture_is_covered() -> None:
    """Each principle has a fixture, so adding a principle asks for one."""
    from chancal.scores import PRINCIPLES

    names = {p.stem for p in FIXTURES.glob("*.yaml")}
    assert names == {"healthy", *PRINCIPLES}


# What the bundled example is known to fail. Its growth tier plans one review or
# check-in more than it plans collaboration (0.92 by count, far ahead by hours):
# balance is judged by count and by hours, so that fails until the example's
# growth tier gets one more collaboration touchpoint (or one check-in fewer).
def test_bundled_example_fails_no_principle() -> None:
    """The realistic example is a great calendar: no finding fails for any partner."""
    report = report_of(EXAMPLES / "partners.yaml")
    assert failing(report) == {}
    assert len(report.partners) == 14


runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["check", str(FIXTURES / "healthy.yaml"), "--strict"], 0),
        (["check", str(FIXTURES / "spread.yaml")], 0),
        (["check", str(FIXTURES / "spread.yaml"), "--strict"], 1),
        (["check", str(FIXTURES / "spread.yaml"), "--format", "yaml"], 2),
        (["check", str(FIXTURES / "missing.yaml")], 2),
    ],
)
def test_check_exit_codes(args: list[str], code: int) -> None:
    """check exits 0, 1 only with --strict and a failure, 2 on bad input; never a traceback."""
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    if code == 1:
        assert "health check failed: 1 failing finding (--strict)" in result.stderr


def test_check_json_is_parseable_and_names_the_failure() -> None:
    """--format json prints the documented shape on stdout."""
    result = runner.invoke(app, ["check", str(FIXTURES / "site_visits.yaml"), "-f", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["program"] == {"id": "health-fixture", "name": "Health Fixture Program"}
    fails = [f for f in data["findings"] if f["status"] == "fail"]
    assert [(f["partner"], f["principle"]) for f in fails] == [("northwind", "site_visits")]
    assert "direction to_us" in fails[0]["fix"]


def test_check_text_is_plain_on_a_pipe() -> None:
    """The scorecard printed to a pipe has no escape codes and names the failing partner."""
    result = runner.invoke(app, ["check", str(FIXTURES / "spread.yaml")])
    assert "\x1b[" not in result.stdout
    assert "\u2717 Maple Resellers: touchpoints spread out" in result.stdout


def test_progress_stays_off_a_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even a 'large' program prints no spinner when stderr is not a terminal."""
    import chancal.cli_output as cli_output

    monkeypatch.setattr(cli_output, "PROGRESS_MIN_PARTNERS", 1)
    result = runner.invoke(app, ["check", str(FIXTURES / "healthy.yaml"), "-f", "json"])
    assert result.exit_code == 0
    assert result.stderr == ""
    json.loads(result.stdout)


@pytest.mark.parametrize(("partners", "shown"), [(1, True), (0, False)])
def test_progress_shows_on_a_terminal_for_large_programs(
    monkeypatch: pytest.MonkeyPatch, partners: int, shown: bool
) -> None:
    """On a terminal, programs at least PROGRESS_MIN_PARTNERS large get a transient spinner."""
    import io

    from rich.console import Console

    import chancal.cli_output as cli_output

    err = io.StringIO()
    monkeypatch.setattr(cli_output, "PROGRESS_MIN_PARTNERS", 1)
    monkeypatch.setattr(
        cli_output, "stderr", lambda: Console(file=err, force_terminal=True, width=80)
    )
    with cli_output.planning_progress(partners):
        pass
    assert ("Planning 1 partners" in err.getvalue()) is shown
