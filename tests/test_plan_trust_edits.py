"""Edits repair the published year: few moves, each with its cause, history kept, no rule broken.

For the bundled example and a 40-partner program (tests/fixtures/programs/forty.yaml),
each scenario of benchmarks/edits.py publishes the program through the CLI on
2027-01-04, edits its YAML text (a partner moved to another manager or removed, a
program blackout in May, a focus area renamed, a tier down or up, a manager's
capacity cut), then with `--today 2027-04-01` runs `chancal diff --format json`
and `chancal export --ics`, plans the edited program again as export did and
judges the year. Each figure is computed once per scenario and shared by the
tests below; `python benchmarks/edits.py` prints them all as a table.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "edits.py"


def _script() -> ModuleType:
    # benchmarks/ is a folder of scripts, not a package: load the file by path.
    spec = importlib.util.spec_from_file_location("chancal_benchmark_edits", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


edits = _script()

# -- one run per scenario, shared by every test ----------------------------------------


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Return a function: scenario id -> its Figures (each scenario runs once)."""
    seeds: dict[str, Path] = {}
    done: dict[str, Any] = {}
    by_id = {scenario: (program, edit) for scenario, program, edit in edits.scenarios()}

    def get(scenario: str) -> Any:
        if scenario not in done:
            program, edit = by_id[scenario]
            if program.id not in seeds:
                seeds[program.id] = tmp_path_factory.mktemp(f"seed-{program.id}")
                edits.publish(program, seeds[program.id])
            folder = tmp_path_factory.mktemp(scenario) / "program"
            shutil.copytree(seeds[program.id], folder)
            done[scenario] = edits.run(program, edit, folder, scenario)
        return done[scenario]

    return get


ALL = [
    "example-move",
    "example-remove",
    "example-blackout",
    "example-rename",
    "example-tier-down",
    "example-tier-up",
    "example-capacity",
    "forty-move",
    "forty-remove",
    "forty-blackout",
    "forty-rename",
    "forty-tier-down",
    "forty-tier-up",
    "forty-capacity",
]


def test_the_tables_cover_every_scenario_of_the_script() -> None:
    """Every scenario of benchmarks/edits.py is judged here, and only those."""
    assert [s for s, _, _ in edits.scenarios()] == ALL


@pytest.mark.parametrize("scenario", ALL)
def test_no_hard_rule_breaks(figures: Any, scenario: str) -> None:
    """The re-planned year obeys every hard rule (library verify, and `chancal verify`)."""
    f = figures(scenario)
    assert f.breaks == ()
    assert f.cli_verify in (None, 0)


@pytest.mark.parametrize("scenario", ALL)
def test_no_more_unplaced_than_a_fresh_plan(figures: Any, scenario: str) -> None:
    """Repairing leaves no more events unplaced than planning the edited file afresh."""
    f = figures(scenario)
    assert f.unplaced <= f.fresh_unplaced


@pytest.mark.parametrize("scenario", ALL)
def test_the_feeds_hold_the_plan_and_diff_agrees_with_export(figures: Any, scenario: str) -> None:
    """all.ics holds exactly the re-made plan; diff and export count the same moves."""
    f = figures(scenario)
    assert f.feed_mismatch == ()
    assert f.moved == f.moved_reported


@pytest.mark.parametrize(
    ("scenario", "max_moved"),
    [
        # scenario id,        max moved (measured)
        ("example-move", 29),  # 15 break working hours where they were published; the rest
        # make room in claire's year for northwind's events (3 reviews fit no plan)
        ("example-remove", 0),
        ("example-blackout", 12),  # all 12 fall in the blackout
        ("example-rename", 0),
        ("example-tier-down", 0),
        ("example-tier-up", 0),
        ("example-capacity", 1),
        ("forty-move", 9),  # room in hannah's weeks for aegean-networks' visits
        ("forty-remove", 0),
        ("forty-blackout", 23),  # 19 fall in the blackout, 4 make room for them
        ("forty-rename", 0),
        ("forty-tier-down", 0),
        ("forty-tier-up", 14),  # room for the growth tier's two 2-day visits in H1 and H2
        ("forty-capacity", 7),
    ],
)
def test_few_published_events_move(figures: Any, scenario: str, max_moved: int) -> None:
    """`chancal diff` reports no more moved events than measured for the edit."""
    assert figures(scenario).moved <= max_moved


@pytest.mark.parametrize("scenario", ALL)
def test_every_moved_event_says_why(figures: Any, scenario: str) -> None:
    """Each moved event carries the planner's `moved` diagnostic (the reason diff prints)."""
    assert figures(scenario).moved_without_reason == ()


@pytest.mark.parametrize("scenario", ALL)
def test_an_event_is_cancelled_only_when_the_program_no_longer_asks_for_it(
    figures: Any, scenario: str
) -> None:
    """No cancelled event is one that a fresh plan of the edited program places."""
    assert figures(scenario).cancelled_still_planned == ()


@pytest.mark.parametrize("scenario", ALL)
def test_published_history_keeps_its_dates(figures: Any, scenario: str) -> None:
    """Every event published before --today is still in the feeds at its DTSTART, also
    when a tier change gives recurring events new keys: the lock keeps them in full."""
    f = figures(scenario)
    assert f.history_moved == ()
    assert f.history_dropped == ()


@pytest.mark.parametrize("scenario", ALL)
def test_nothing_new_lands_before_today(figures: Any, scenario: str) -> None:
    """No event is added or moved to a day before --today: the past is not rewritten."""
    assert figures(scenario).history_added == ()
