"""Plan trust: the behaviours a channel operations lead relies on, one scenario each.

Working weeks from the partner's country, rhythm, the strategy gap from reviews only,
over-demand named early, and an export that refuses an untrustworthy year.
"""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

import chancal.planner
from chancal.cli import app
from chancal.plan import Event, Plan, Timed
from chancal.verify import format_break, verify
from planner_support import partner, program

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "partners.yaml"
runner = CliRunner()
STAMP = ["--stamp", "2027-01-01T00:00:00Z", "--today", "2027-01-01"]


def make_plan(*args: object, **kwargs: object) -> Plan:
    # Through the module attribute, so the suite's verifier wrapper judges every plan.
    return chancal.planner.make_plan(*args, **kwargs)  # type: ignore[arg-type]


def test_a_us_partner_in_a_sunday_thursday_program_works_monday_to_friday() -> None:
    """The vendor works Sunday-Thursday; a US partner without working_days gets its country's
    week, so no event lands on a Sunday and Fridays are used."""
    config = program(
        "- {id: x, kind: information_exchange, cadence: 24 per year}",
        partner(country="US", tz="America/New_York"),
        program_extra="working_days: [sun, mon, tue, wed, thu, fri]",
    )
    plan = make_plan(config)
    weekdays = {e.day.weekday() for e in plan.events if e.partner_id}
    assert 6 not in weekdays and 5 not in weekdays
    assert not [d for d in plan.diagnostics if d.code == "working-week"]


def test_an_explicit_week_against_the_countrys_custom_gets_an_info_note() -> None:
    """A US partner that declares a Sunday-Thursday week is planned so, with an info note."""
    config = program(
        "- {id: x, kind: information_exchange, cadence: 4 per year}",
        partner(extra="    working_days: [sun, mon, tue, wed, thu]\n"),
        program_extra="working_days: [sun, mon, tue, wed, thu, fri]",
    )
    plan = make_plan(config)
    notes = [d for d in plan.diagnostics if d.code == "working-week"]
    assert [d.severity for d in notes] == ["info"]
    assert "US" in notes[0].message


@pytest.mark.parametrize(
    ("cadence", "period"),
    [("every 6 weeks", 42.0), ("monthly", 365.25 / 12), ("every 2 weeks", 14.0)],
)
def test_cadences_keep_their_rhythm(cadence: str, period: float) -> None:
    """Consecutive occurrences stay 0.5x to 1.5x the period apart, or a diagnostic says why."""
    config = program(
        f"- {{id: c, kind: monthly_check_in, cadence: {cadence},"
        " skip_months_with_accountability: false}\n"
        "- {id: x, kind: information_exchange, cadence: 10 per year}",
    )
    plan = make_plan(config)
    days = sorted(e.day for e in plan.events if e.rule_id == "c")
    assert len(days) >= 8
    explained = any(d.rule_id == "c" for d in plan.diagnostics)
    gaps = [(b - a).days for a, b in itertools.pairwise(days)]
    assert explained or all(0.5 * period <= g <= 1.5 * period for g in gaps), gaps


def test_the_strategy_session_keeps_away_from_reviews_not_from_check_ins() -> None:
    """With monthly check-ins all year, the strategy session still finds its quarter: only
    reviews (quarterly and annual) keep it 21 days away, a check-in only not on its day."""
    config = program(
        "- {id: r, kind: quarterly_business_review, cadence: quarterly,"
        " window: {after: quarter_end, from: 2w, to: 4w}}\n"
        "- {id: c, kind: monthly_check_in, cadence: monthly,"
        " skip_months_with_accountability: false}\n"
        "- {id: s, kind: joint_marketing_strategy, cadence: once, mode: virtual,"
        " duration: 2h, window: {in: [Q2]}}",
    )
    plan = make_plan(config)
    strategy = next(e for e in plan.events if e.rule_id == "s")
    reviews = [e.day for e in plan.events if e.rule_id == "r"]
    check_ins = [e.day for e in plan.events if e.rule_id == "c"]
    assert all(abs((strategy.day - r).days) >= 21 for r in reviews)
    assert strategy.day not in check_ins
    assert date(2027, 4, 1) <= strategy.day <= date(2027, 6, 30)


def test_a_custom_kind_declared_a_review_keeps_the_strategy_session_away() -> None:
    """A custom kind with `review: true` counts as a review for the strategy gap."""
    import yaml

    from chancal.models import Config

    base = program("- {id: s, kind: joint_marketing_strategy, cadence: once}")
    raw = base.model_dump(mode="json", exclude_none=True)
    raw["kinds"] = {
        "scorecard": {"title": "Scorecard", "purpose": "accountability", "review": True}
    }
    raw["tiers"][0]["rules"] = [
        {"id": "sc", "kind": "scorecard", "dates": ["2027-05-12"]},
        {
            "id": "s",
            "kind": "joint_marketing_strategy",
            "cadence": "once",
            "mode": "virtual",
            "duration": "2h",
            "window": {"between": ["2027-05-03", "2027-06-11"]},
        },
    ]
    config = Config.model_validate(yaml.safe_load(yaml.safe_dump(raw)))
    plan = make_plan(config)
    assert "scorecard" in plan.review_kinds
    strategy = next(e for e in plan.events if e.rule_id == "s")
    assert abs((strategy.day - date(2027, 5, 12)).days) >= 21


def test_over_demand_is_named_once_per_manager_with_the_figures() -> None:
    """A manager with room for 1 meeting a week asked for 3 a week hears it once, up front."""
    partners = "".join(partner(f"p{n}", name=f"P{n}") for n in range(3))
    config = program(
        "- {id: x, kind: information_exchange, cadence: every 1 weeks}",
        partners,
        program_extra="capacity: {meetings_per_week: 1, hours_per_week: 10}",
    )
    plan = make_plan(config)
    over = [d for d in plan.diagnostics if d.code == "over-demand"]
    assert len(over) == 1
    assert "room for" in over[0].message and "meetings" in over[0].message
    assert [d for d in plan.diagnostics if d.code == "unplaced"]


def test_export_names_each_over_demanded_manager_and_counts_the_rest(tmp_path: Path) -> None:
    """Thousands of unplaced events would bury the cause in a CI log: export prints the
    over-demand line of each manager, the first errors, then the rest counted per manager."""
    import yaml

    from chancal.cli_output import SHOWN_ERRORS

    partners = "".join(partner(f"p{n}", name=f"P{n}") for n in range(3))
    config = program(
        "- {id: x, kind: information_exchange, cadence: every 1 weeks}",
        partners,
        program_extra="capacity: {meetings_per_week: 1, hours_per_week: 10}",
    )
    path = _program_in(tmp_path, yaml.safe_dump(config.model_dump(mode="json", exclude_none=True)))
    errors = [d for d in make_plan(config).diagnostics if d.severity == "error"]
    assert len(errors) > SHOWN_ERRORS + 1
    out = tmp_path / "calendars"
    result = runner.invoke(
        app, ["export", str(path), "--ics", "--out", str(out), "--allow-unplaced", *STAMP]
    )
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert sum(line.startswith("  over-demand: ") for line in lines) == 1
    assert sum(line.startswith("  error unplaced: ") for line in lines) == SHOWN_ERRORS
    more = len(errors) - SHOWN_ERRORS
    assert f"  ... and {more} more errors ('chancal plan' lists them), by manager:" in lines
    manager = config.managers[0]
    assert f"    {more} for {manager.name} ({manager.id})" in lines


def test_a_visit_to_us_avoids_the_vendors_holiday() -> None:
    """A partner's visit to a London office never lands on an English bank holiday."""
    import holidays

    config = program(
        "- {id: v, kind: site_visit, direction: to_us, duration: 1d, dates: [2027-08-30]}",
        partner(country="DE", tz="Europe/Berlin"),
        program_extra="",
        manager_tz="Europe/London",
        manager_country="GB",
    )
    raw = config.model_dump(mode="json", exclude_none=True)
    raw["program"]["country"] = "GB"
    raw["program"]["subdivision"] = "ENG"
    raw["program"]["timezone"] = "Europe/London"
    raw["managers"][0]["subdivision"] = "ENG"
    from chancal.models import Config

    edited = Config.model_validate(raw)
    visit = next(e for e in make_plan(edited).events if e.rule_id == "v")
    assert visit.day not in holidays.country_holidays("GB", subdiv="ENG", years=2027)
    assert visit.day != date(2027, 8, 30)


# -- export refuses an untrustworthy year ----------------------------------------------


def _program_in(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "partners.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_export_refuses_unplaced_events_unless_allowed(tmp_path: Path) -> None:
    """A 4-hour virtual annual review between New York and Hamburg (2 hours in common) cannot
    be placed: export exits 1, names it on stderr and writes nothing; --allow-unplaced
    publishes the rest."""
    starter = ROOT / "src" / "chancal" / "templates" / "partners.yaml"
    text = starter.read_text(encoding="utf-8").replace("duration: 2h ", "duration: 4h ", 1)
    path = _program_in(tmp_path, text)
    out = tmp_path / "calendars"
    result = runner.invoke(app, ["export", str(path), "--ics", "--out", str(out), *STAMP])
    assert result.exit_code == 1, result.output
    assert "unplaced" in result.stderr
    assert "--allow-unplaced" in result.stderr
    assert not out.exists() and not (tmp_path / "chancal.lock").exists()
    allowed = runner.invoke(
        app, ["export", str(path), "--ics", "--out", str(out), "--allow-unplaced", *STAMP]
    )
    assert allowed.exit_code == 0, allowed.output
    assert (out / "all.ics").exists()


def test_export_refuses_a_year_that_breaks_a_hard_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the planner ever put a meeting outside working hours, the independent verifier
    stops export with exit 1, the break on stderr, and nothing written."""
    build = chancal.planner.build
    real = build.Planner.plan_batch

    def broken(self: build.Planner, *args: object) -> tuple[list[Event], list[object]]:
        events, diagnostics = real(self, *args)  # type: ignore[arg-type]
        i, span = next((i, e.span) for i, e in enumerate(events) if isinstance(e.span, Timed))
        late = timedelta(hours=6)
        events[i] = dataclasses.replace(events[i], span=Timed(span.start + late, span.end + late))
        return events, diagnostics

    monkeypatch.setattr(chancal.planner.build.Planner, "plan_batch", broken)
    path = _program_in(tmp_path, EXAMPLE.read_text(encoding="utf-8"))
    out = tmp_path / "calendars"
    result = runner.invoke(app, ["export", str(path), "--ics", "--out", str(out), *STAMP])
    assert result.exit_code == 1, result.output
    assert "hard rule broken: working-hours" in result.stderr
    assert not out.exists() and not (tmp_path / "chancal.lock").exists()
    verify_result = runner.invoke(app, ["verify", str(path), "--today", "2027-01-01"])
    assert verify_result.exit_code == 1
    assert "working-hours" in verify_result.stderr


def test_verify_passes_the_bundled_example() -> None:
    """`chancal verify` on the bundled example: exit 0 and the count of events checked."""
    result = runner.invoke(app, ["verify", str(EXAMPLE), "--today", "2027-01-01"])
    assert result.exit_code == 0, result.output
    assert "keep every hard rule" in result.stdout


@pytest.mark.parametrize("name", ["partners.yaml", "minimal.yaml"])
def test_the_bundled_examples_keep_every_hard_rule(name: str) -> None:
    """Each bundled program's plan has no break, judged by the verifier directly
    (each break's text is shown if one appears)."""
    from chancal.loader import load

    config = load(ROOT / "examples" / name).config
    breaks = verify(config, chancal.planner.build.make_plan(config))
    assert [format_break(b) for b in breaks] == []


def test_a_sunday_thursday_managers_load_view_agrees_with_capacity() -> None:
    """The load view counts a Sunday-Thursday manager's own weeks, as capacity does: its
    busiest week stays within the 14-hour limit and it reports no week over capacity."""
    from rich.console import Console

    from chancal.exporters.views import ManagerLoad

    config = program(
        "- {id: x, kind: information_exchange, cadence: every 1 weeks, duration: 3h}\n"
        "- {id: c, kind: monthly_check_in, cadence: every 1 weeks}",
        "".join(
            partner(f"p{n}", name=f"P{n}", country="IL", tz="Asia/Jerusalem") for n in range(4)
        ),
        program_extra="capacity: {meetings_per_week: 12, hours_per_week: 14}\n"
        "  working_days: [sun, mon, tue, wed, thu]",
        manager_tz="Asia/Jerusalem",
        manager_country="IL",
    )
    plan = make_plan(config)
    alex = next(m for m in plan.managers if m.id == "alex")
    assert alex.week_start == 6  # Sunday
    console = Console(width=200, record=True, color_system=None)
    console.print(ManagerLoad(plan))
    text = console.export_text()
    block = text[text.index("Alex Rivera") :]
    busiest = next(line for line in block.splitlines() if "busiest week" in line)
    assert float(busiest.split(", ")[-1].split(" h")[0]) <= 14.0
    assert "no week over capacity" in block.split("Bea Stone")[0]
