"""The plan views and the scorecard: golden renderings at 80 and 160 columns, colour or not."""

from __future__ import annotations

import functools
import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rich.cells import cell_len
from rich.console import Console

from chancal.exporters.scorecard import Scorecard
from chancal.exporters.views import (
    BalanceBars,
    ManagerLoad,
    YearGrid,
    kind_codes,
    render_text,
    select,
)
from chancal.health import check_health
from chancal.kinds import BUILTIN_KINDS
from chancal.models import HealthThresholds
from chancal.plan import AllDay, Event, ManagerInfo, PartnerInfo, Plan, Span, TierInfo, Timed

GOLDEN = Path(__file__).parent / "golden" / "views"
TZ = "Europe/Berlin"
ROCKET = "Acme [EU] \U0001f680"
ANSI = re.compile(r"\x1b\[")
COLOUR = re.compile(r"\x1b\[[0-9;]*(?:3[0-9]|9[0-7])[;m]")


def ev(
    partner: str | None,
    kind: str,
    day: str,
    *,
    manager: str | None = "sam",
    hours: float = 1.0,
    days: int = 0,
    mode: str = "virtual",
    direction: str | None = None,
    partner_ids: tuple[str, ...] = (),
    purpose: str | None = None,
) -> Event:
    """Build one event; `days` > 0 makes it all-day."""
    d = date.fromisoformat(day)
    span: Span
    if days:
        span = AllDay(d, d + timedelta(days=days))
    else:
        start = datetime(d.year, d.month, d.day, 10, tzinfo=ZoneInfo(TZ))
        span = Timed(start, start + timedelta(hours=hours))
    key = f"{partner or 'program'}/{kind}/{day}"
    spec = BUILTIN_KINDS.get(kind)
    return Event(
        key=key,
        uid=f"{key}@test",
        partner_id=partner,
        manager_id=manager,
        rule_id=kind,
        kind=kind,
        purpose=purpose or (spec.purpose if spec else "collaboration"),  # type: ignore[arg-type]
        title=spec.title if spec else kind,
        span=span,
        timezone=TZ,
        mode=mode,  # type: ignore[arg-type]
        partner_ids=partner_ids,
        direction=direction,  # type: ignore[arg-type]
    )


def small_plan() -> Plan:
    """Two managers, three partners (one named with brackets and an emoji), a shared conference."""
    events = [
        ev("acme", "quarterly_business_review", "2027-01-18", hours=2),
        ev("acme", "capability_workshop", "2027-02-08", hours=3, mode="on_site"),
        ev("acme", "coaching_session", "2027-03-01"),
        ev("acme", "monthly_check_in", "2027-03-03", hours=0.5),
        ev("acme", "site_visit", "2027-04-12", days=2, mode="on_site", direction="to_partner"),
        ev("acme", "joint_marketing_strategy", "2027-06-07", hours=3),
        ev("acme", "site_visit", "2027-09-20", days=2, mode="on_site", direction="to_us"),
        ev("acme", "annual_review", "2027-12-06", hours=3),
        ev("bolt", "quarterly_business_review", "2027-04-13", hours=2),
        ev("bolt", "information_exchange", "2027-04-14", hours=1.5),
        ev("bolt", "advisory_council", "2027-07-05", hours=2),
        ev("bolt", "site_visit", "2027-04-15", days=2, mode="on_site", direction="to_partner"),
        ev("cord", "monthly_check_in", "2027-02-01", manager="kim", hours=0.5),
        ev("cord", "monthly_check_in", "2027-03-01", manager="kim", hours=0.5),
        ev("cord", "product_training", "2027-10-04", manager="kim", hours=2),
        ev(
            None,
            "partner_conference",
            "2027-05-18",
            manager=None,
            days=2,
            mode="on_site",
            partner_ids=("acme", "bolt", "cord"),
        ),
    ]
    return Plan(
        program_id="views",
        program_name="Views Test Program",
        timezone=TZ,
        year_start=date(2027, 1, 1),
        year_end=date(2028, 1, 1),
        events=tuple(sorted(events, key=lambda e: (e.day, e.key))),
        partners=(
            PartnerInfo("acme", ROCKET, "gold", "sam", "DE", TZ, ("negotiation",)),
            PartnerInfo("bolt", "Bolt & Nut Distribution GmbH", "gold", "sam", "DE", TZ),
            PartnerInfo("cord", "Cord", "basic", "kim", "DE", TZ),
        ),
        managers=(
            ManagerInfo("sam", "Sam [lead] Jones", "sam@example.com", TZ, 2, 6.0, 1),
            ManagerInfo("kim", "Kim Lee", "kim@example.com", TZ, 12, 16.0, 2),
        ),
        tiers=(
            TierInfo("gold", "", 2, ("site_visit", "site_visit", "quarterly_business_review")),
            TierInfo("basic", "", 1, ("monthly_check_in",)),
        ),
    )


def views(plan: Plan) -> list[object]:
    return [YearGrid(plan), ManagerLoad(plan), BalanceBars(plan)]


def check_golden(name: str, text: str, update: bool) -> None:
    path = GOLDEN / name
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path} missing; run pytest --update-golden"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


WIDTHS_AND_COLOURS = [(80, False), (80, True), (160, False), (160, True)]


@pytest.mark.parametrize(("width", "color"), WIDTHS_AND_COLOURS)
def test_views_of_a_small_plan_match_golden_files(
    width: int, color: bool, update_golden: bool
) -> None:
    """Grid, manager load and balance bars render exactly as recorded."""
    text = render_text(views(small_plan()), width=width, color=color)
    mode = "color" if color else "plain"
    check_golden(f"small-{width}-{mode}.txt", text, update_golden)


@pytest.mark.parametrize(("width", "color"), WIDTHS_AND_COLOURS)
def test_scorecard_of_a_small_plan_matches_golden_file(
    width: int, color: bool, update_golden: bool
) -> None:
    """The health scorecard renders exactly as recorded."""
    plan = small_plan()
    report = check_health(plan, HealthThresholds(), strategy_gap=timedelta(days=21))
    text = render_text([Scorecard(report, plan)], width=width, color=color)
    mode = "color" if color else "plain"
    check_golden(f"small-scorecard-{width}-{mode}.txt", text, update_golden)


@pytest.mark.parametrize("width", [60, 80, 100, 160, 200])
def test_every_line_fits_the_width(width: int) -> None:
    """No view line is wider than the console, from 60 to 200 columns."""
    plan = small_plan()
    report = check_health(plan, HealthThresholds(), strategy_gap=timedelta(days=21))
    console = Console(width=width, record=True, color_system=None, file=open("/dev/null", "w"))  # noqa: SIM115
    for view in [*views(plan), Scorecard(report, plan)]:
        console.print(view, soft_wrap=True)
    text = console.export_text()
    widest = max(cell_len(line) for line in text.splitlines())
    assert widest <= width


@pytest.mark.parametrize(("width", "blocks"), [(80, 2), (120, 2), (140, 1), (160, 1), (50, 4)])
def test_grid_wraps_by_half_or_quarter_when_narrow(width: int, blocks: int) -> None:
    """The year grid uses one row of weeks when it fits, else halves or quarters."""
    text = render_text([YearGrid(small_plan())], width=width, color=False)
    rows = [line for line in text.splitlines() if line.startswith("  Cord")]
    assert len(rows) == blocks


def test_user_names_render_as_written() -> None:
    """Names with square brackets or an emoji print verbatim, never as markup."""
    plan = small_plan()
    report = check_health(plan, HealthThresholds(), strategy_gap=timedelta(days=21))
    text = render_text([*views(plan), Scorecard(report, plan)], width=160, color=True)
    assert text.count(ROCKET) == 6  # grid, balance bars, scorecard row and three findings
    assert text.count("Sam [lead] Jones") == 3  # grid, manager load, scorecard


def test_plain_output_has_no_escape_codes() -> None:
    """Without colour (a pipe), the views are plain text."""
    text = render_text(views(small_plan()), width=80, color=False)
    assert not ANSI.search(text)


def test_no_color_environment_drops_colours(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR keeps the layout and bold, but no colour code reaches even a terminal."""
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    console = Console(width=80, force_terminal=True, file=out, color_system="truecolor")
    for view in views(small_plan()):
        console.print(view)
    written = out.getvalue()
    assert ANSI.search(written)  # still a terminal: bold and dim remain
    assert not COLOUR.search(written)
    assert re.sub(r"\x1b\[[0-9;]*m", "", written) == render_text(
        views(small_plan()), width=80, color=False
    )


def test_over_committed_weeks_stand_out() -> None:
    """A week over the manager's capacity is listed with its numbers and marked '!'."""
    text = render_text([ManagerLoad(small_plan())], width=80, color=False)
    assert "! week of 2027-04-12: 2 meetings (capacity 2), 35.5 h (capacity 6)" in text
    # A two-day visit alone in its week is allowed, as in the planner's capacity.
    assert "week of 2027-09-20" not in text
    assert "! Apr 2027: 2 site visits (limit 1)" in text
    assert "Kim Lee" in text and "  no week over capacity" in text


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        (["monthly_check_in", "site_visit"], {"monthly_check_in": "C", "site_visit": "V"}),
        (
            ["advisory_council", "annual_review"],
            {"advisory_council": "D", "annual_review": "A"},
        ),
        (["zeta", "zulu"], {"zeta": "Z", "zulu": "U"}),
    ],
)
def test_kind_codes_are_unique_letters(kinds: list[str], expected: dict[str, str]) -> None:
    """Built-in kinds keep their letter; custom kinds take the first free letter of their id."""
    events = [ev("acme", k, "2027-03-01", purpose="collaboration") for k in kinds]
    assert kind_codes(events) == expected


EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.yaml"))


@functools.cache
def example_plan(path: Path) -> Plan:
    from chancal.loader import load
    from chancal.planner import make_plan

    return make_plan(load(path).config)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize(("width", "color"), WIDTHS_AND_COLOURS)
def test_views_of_the_examples_match_golden_files(
    example: Path, width: int, color: bool, update_golden: bool
) -> None:
    """Every example's grid, manager load and balance bars render as recorded."""
    text = render_text(views(example_plan(example)), width=width, color=color)
    mode = "color" if color else "plain"
    check_golden(f"{example.stem}-{width}-{mode}.txt", text, update_golden)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_views_fit_80_columns(example: Path) -> None:
    """The examples' views stay inside 80 columns."""
    text = render_text(views(example_plan(example)), width=80, color=False)
    assert max(cell_len(line) for line in text.splitlines()) <= 80


def test_select_narrows_to_a_manager_and_keeps_shared_events() -> None:
    """Selecting a manager keeps their partners, their events and shared events they see."""
    narrowed = select(small_plan(), manager_id="kim")
    assert [p.id for p in narrowed.partners] == ["cord"]
    assert [m.id for m in narrowed.managers] == ["kim"]
    assert [e.kind for e in narrowed.events] == [
        "monthly_check_in",
        "monthly_check_in",
        "partner_conference",
        "product_training",
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--view", "grid"], ["+ more that week", "Andes Distribución [CL]"]),
        (["--view", "load", "--manager", "mei"], ["Mei Tan  capacity", "  travel"]),
        (["--view", "balance", "--partner", "kiwi-channel"], ["transactional (1)"]),
    ],
)
def test_plan_command_shows_the_chosen_views(args: list[str], expected: list[str]) -> None:
    """chancal plan --view prints the views as plain text on a pipe, names as written."""
    from typer.testing import CliRunner

    from chancal.cli import app

    example = Path(__file__).parent.parent / "examples" / "partners.yaml"
    result = CliRunner().invoke(app, ["plan", str(example), *args])
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.stdout
    for text in expected:
        assert text in result.stdout


def test_scorecard_lists_failures_first_and_counts_past_the_limit() -> None:
    """Past max_findings the scorecard only counts the rest and points to the JSON format."""
    plan = small_plan()
    report = check_health(plan, HealthThresholds(), strategy_gap=timedelta(days=21))
    text = render_text([Scorecard(report, plan, max_findings=2)], width=100, color=False)
    listed = [line for line in text.splitlines() if line[:1] in ("\u2717", "!")]
    assert [line[0] for line in listed] == ["\u2717", "\u2717"]
    assert "\u2026 and 10 more findings; chancal check --format json lists them all" in text
