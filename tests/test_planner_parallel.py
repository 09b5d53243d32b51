"""Planning managers in forked workers gives the very plan one process gives (issue 7)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

from chancal.loader import load
from chancal.plan import Plan
from chancal.planner import make_plan, parallel

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "partners.yaml"
TODAY = date(2026, 11, 28)

needs_fork = pytest.mark.skipif(sys.platform == "win32", reason="workers are forked")


def plan_with(monkeypatch: pytest.MonkeyPatch, jobs: int) -> Plan:
    monkeypatch.setattr(parallel, "jobs", lambda partners: jobs)
    return make_plan(load(EXAMPLE).config, today=TODAY)


@needs_fork
@pytest.mark.parametrize("jobs", [2, 3, 8])
def test_workers_plan_the_same_year_as_one_process(
    monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """Events (every field, datetimes with their zones) and diagnostics are equal whether the
    example's three managers are planned in one process or spread over forked workers."""
    serial = plan_with(monkeypatch, 1)
    split = plan_with(monkeypatch, jobs)
    assert split.events == serial.events
    zones = [getattr(e.start, "tzinfo", None) for e in serial.events]
    assert all(
        getattr(e.start, "tzinfo", None) is zone
        for e, zone in zip(split.events, zones, strict=True)
    )
    assert split.diagnostics == serial.diagnostics
    assert split == serial


@needs_fork
def test_a_failing_worker_costs_time_not_events(monkeypatch: pytest.MonkeyPatch) -> None:
    """When a worker dies before sending its result, its managers are planned in this
    process: the plan is still whole and the same."""
    serial = plan_with(monkeypatch, 1)

    def broken(event: object) -> tuple[object, ...]:
        raise RuntimeError("worker failed")  # only workers encode events

    monkeypatch.setattr(parallel, "_encode", broken)
    results: list[object] = []
    collect = parallel.Worker.result

    def watched(worker: parallel.Worker) -> object:
        results.append(collect(worker))
        return results[-1]

    monkeypatch.setattr(parallel.Worker, "result", watched)
    assert plan_with(monkeypatch, 3) == serial
    assert results == [None, None]  # both workers failed; their managers were planned here


@pytest.mark.parametrize(
    ("sizes", "n", "groups"),
    [
        ({"a": 100, "b": 60, "c": 50, "d": 40}, 2, [["a", "d"], ["b", "c"]]),
        ({"a": 300, "b": 60, "c": 50, "d": 40}, 2, [["a"], ["b", "c", "d"]]),
        ({"a": 10, "b": 10, "c": 10}, 2, [["a", "c"], ["b"]]),
        ({"a": 10, "b": 10}, 4, [["a"], ["b"]]),  # never an empty group
        ({"z": 5, "a": 5}, 1, [["a", "z"]]),  # one group: every manager, sorted
    ],
)
def test_managers_split_into_groups_of_about_equal_size(
    sizes: dict[str, int], n: int, groups: list[list[str]]
) -> None:
    """Largest portfolios first, each to the lightest group (ties by id): deterministic."""
    assert parallel.split(sizes, n) == groups


@needs_fork
@pytest.mark.parametrize(
    ("partners", "env", "expected"),
    [
        (100, "", 1),  # a small program stays in one process
        (499, "", 1),  # each process plans at least 250 partners
        (500, "", 2),
        (10_000, "", 4),  # at most one process per CPU
        (10_000, "1", 1),  # CHANCAL_JOBS=1 turns workers off
        (10_000, "2", 2),
        (10_000, "not a number", 4),  # ignored: as if unset
    ],
)
def test_jobs_follow_program_size_cpus_and_the_environment(
    monkeypatch: pytest.MonkeyPatch, partners: int, env: str, expected: int
) -> None:
    """Workers only pay off for big programs; there are never more processes than CPUs,
    and CHANCAL_JOBS caps them."""
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setenv(parallel.JOBS_ENV, env)
    assert parallel.jobs(partners) == expected
