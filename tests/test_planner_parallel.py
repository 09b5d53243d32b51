"""Planning managers in forked workers gives the very plan one process gives (issue 7)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

from chancal import workers
from chancal.loader import load
from chancal.models import Manager, Partner
from chancal.plan import Diagnostic, Plan
from chancal.planner import build, make_plan, parallel

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
    """When workers die before sending anything, this process plans their managers:
    the plan is still whole and the same."""
    serial = plan_with(monkeypatch, 1)

    def broken(event: object) -> tuple[object, ...]:
        raise RuntimeError("worker failed")  # only workers encode events

    monkeypatch.setattr(parallel, "_encode", broken)
    planned_here: list[str] = []
    plan_manager = build._Planner.plan_manager

    def watched(planner: build._Planner, manager: Manager, partners: list[Partner]) -> None:
        planned_here.append(manager.id)
        plan_manager(planner, manager, partners)

    monkeypatch.setattr(build._Planner, "plan_manager", watched)
    assert plan_with(monkeypatch, 3) == serial
    assert sorted(planned_here) == sorted(m.id for m in load(EXAMPLE).config.managers)


@needs_fork
def test_managers_are_handed_out_largest_first_to_whoever_is_free() -> None:
    """Each manager is planned exactly once across the processes, and this process takes
    its first from the head of the queue: the largest portfolio (ties by id)."""
    ids = ["a", "b", "c", "d", "e"]
    sizes = [10, 40, 40, 5, 20]
    here: list[str] = []

    def plan_one(manager_id: str) -> parallel.Batch:
        here.append(manager_id)
        return [], [Diagnostic("info", "planned", manager_id)]

    events, diagnostics = parallel.plan_all(ids, sizes, plan_one, jobs=2)
    elsewhere = [d.message for d in diagnostics]
    assert events == []
    assert sorted(here + elsewhere) == ids
    assert here[0] in ("b", "c")  # the worker may take b first
    assert parallel.plan_all(ids, sizes, plan_one, jobs=1) == ([], [])
    assert here[-5:] == ["b", "c", "e", "a", "d"]  # one process: largest first


@needs_fork
@pytest.mark.parametrize(
    ("partners", "cpus", "env", "expected"),
    [
        (100, 4, "", 1),  # a small program stays in one process
        (499, 4, "", 1),  # each process plans at least 250 partners
        (500, 4, "", 2),
        (10_000, 2, "", 2),  # at most one process per CPU
        (10_000, 64, "", 4),  # and at most 4 unless CHANCAL_JOBS says otherwise
        (10_000, 64, "8", 8),
        (10_000, 4, "8", 4),
        (10_000, 4, "1", 1),  # CHANCAL_JOBS=1 turns workers off
        (10_000, 4, "not a number", 4),  # ignored: as if unset
    ],
)
def test_jobs_follow_program_size_cpus_and_the_environment(
    monkeypatch: pytest.MonkeyPatch, partners: int, cpus: int, env: str, expected: int
) -> None:
    """Workers only pay off for big programs; there are never more processes than CPUs,
    at most 4 by default (each worker costs memory), and CHANCAL_JOBS sets the cap."""
    monkeypatch.setattr(
        workers.os, "sched_getaffinity", lambda pid: set(range(cpus)), raising=False
    )
    monkeypatch.setenv(workers.JOBS_ENV, env)
    assert parallel.jobs(partners) == expected
