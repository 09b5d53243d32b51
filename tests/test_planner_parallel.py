"""Planning managers in worker processes gives the very plan one process gives (issue 12)."""

from __future__ import annotations

import importlib.util
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from chancal import pool
from chancal.exporters.plan_json import plan_json
from chancal.loader import load
from chancal.models import Manager, Partner
from chancal.plan import Plan
from chancal.planner import build, make_plan, parallel
from chancal.publish.feeds import write_feeds
from test_pool import a_worker_goes_first  # noqa: F401 - a fixture

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "partners.yaml"
TODAY = date(2026, 11, 28)


@pytest.fixture
def outcomes(monkeypatch: pytest.MonkeyPatch) -> list[pool.Outcome[parallel.Batch]]:
    """What each pool run of the planner delivered, and which processes delivered it."""
    seen: list[pool.Outcome[parallel.Batch]] = []
    run = pool.run

    def watched(*args: object, **kwargs: object) -> pool.Outcome[parallel.Batch]:
        outcome: pool.Outcome[parallel.Batch] = run(*args, **kwargs)  # type: ignore[arg-type]
        seen.append(outcome)
        return outcome

    monkeypatch.setattr(pool, "run", watched)
    return seen


def plan_with(monkeypatch: pytest.MonkeyPatch, jobs: int) -> Plan:
    monkeypatch.setattr(parallel, "jobs", lambda partners: jobs)
    return make_plan(load(EXAMPLE).config, today=TODAY)


@pytest.mark.usefixtures("a_worker_goes_first")
def test_workers_plan_the_same_year_as_one_process(
    monkeypatch: pytest.MonkeyPatch,
    outcomes: list[pool.Outcome[parallel.Batch]],
) -> None:
    """Events (every field, datetimes with their zones) and diagnostics are equal whether the
    example's three managers are planned in one process or also in worker processes, and
    another process really planned some of them."""
    serial = plan_with(monkeypatch, 1)
    assert outcomes[-1].pids == {os.getpid()}
    split = plan_with(monkeypatch, 3)
    assert outcomes[-1].pids - {os.getpid()}, "no manager was planned in a worker process"
    assert outcomes[-1].redone == 0
    assert split.events == serial.events
    zones = [getattr(e.start, "tzinfo", None) for e in serial.events]
    assert all(
        getattr(e.start, "tzinfo", None) is zone
        for e, zone in zip(split.events, zones, strict=True)
    )
    assert split.diagnostics == serial.diagnostics
    assert split == serial


def _dies(manager_id: str) -> parallel.Batch:
    """In place of the planning task: the worker process ends without a word."""
    os._exit(3)


@pytest.mark.usefixtures("a_worker_goes_first")
def test_a_crashed_worker_costs_time_not_events(
    monkeypatch: pytest.MonkeyPatch,
    outcomes: list[pool.Outcome[parallel.Batch]],
) -> None:
    """When workers die, this process plans their managers again, says so with a RedoneHere
    warning, and the plan is still whole and the same."""
    serial = plan_with(monkeypatch, 1)
    monkeypatch.setattr(parallel, "_plan_in_worker", _dies)
    planned_here: list[str] = []
    plan_manager = build.Planner.plan_manager

    def watched(planner: build.Planner, manager: Manager, partners: list[Partner]) -> None:
        planned_here.append(manager.id)  # only this process sees the patch
        plan_manager(planner, manager, partners)

    monkeypatch.setattr(build.Planner, "plan_manager", watched)
    with pytest.warns(pool.RedoneHere, match="BrokenProcessPool"):
        assert plan_with(monkeypatch, 2) == serial
    assert outcomes[-1].redone >= 1
    assert sorted(planned_here) == sorted(m.id for m in load(EXAMPLE).config.managers)


def test_managers_are_handed_out_largest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every process takes the next manager of the largest-first order (ties by id): one
    process plans them in exactly that order."""
    handed: list[list[str]] = []

    def record(task: object, items: list[str], here: object, **kwargs: object) -> object:
        handed.append(list(items))
        return pool.Outcome([([], [])] * len(items), frozenset(), 0)

    monkeypatch.setattr(pool, "run", record)

    class Planner:
        def plan_batch(self, manager_id: str) -> parallel.Batch:
            return [], []

    ids = ["a", "b", "c", "d", "e"]
    sizes = [10, 40, 40, 5, 20]
    parallel.plan_all(Planner(), lambda *a: Planner(), (None, None, None), ids, sizes, 1)  # type: ignore[arg-type]
    assert handed == [["b", "c", "e", "a", "d"]]


def _generated(n: int) -> str:
    """The YAML of `benchmarks/generate.py n` (a folder of scripts: loaded by path)."""
    path = Path(__file__).parent.parent / "benchmarks" / "generate.py"
    spec = importlib.util.spec_from_file_location("chancal_benchmark_generate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text: str = module.generate(n)
    return text


def test_600_partners_give_the_same_bytes_with_one_process_or_two(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    outcomes: list[pool.Outcome[parallel.Batch]],
) -> None:
    """A generated 600-partner program, planned as `chancal plan --format json` and
    `chancal export --ics` plan it (no patched thresholds): with CHANCAL_JOBS=2 a worker
    process plans managers, and the plan JSON and every feed file are the bytes of
    CHANCAL_JOBS=1."""
    source = tmp_path / "g600.yaml"
    source.write_text(_generated(600), encoding="utf-8")
    config = load(source).config
    monkeypatch.setattr(pool.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    made: dict[str, tuple[str, dict[str, bytes]]] = {}
    for jobs in ("1", "2"):
        monkeypatch.setenv(pool.JOBS_ENV, jobs)
        plan = make_plan(config, today=date(2027, 1, 1))
        write_feeds(plan, tmp_path / jobs, stamp=datetime(2027, 1, 1, tzinfo=UTC))
        files = {
            str(p.relative_to(tmp_path / jobs)): p.read_bytes()
            for p in sorted((tmp_path / jobs).rglob("*"))
            if p.is_file()
        }
        made[jobs] = plan_json(plan), files
    assert outcomes[0].pids == {os.getpid()}
    assert outcomes[1].pids - {os.getpid()}, "CHANCAL_JOBS=2 planned nothing in a worker"
    assert len(made["1"][1]) > 600
    assert made["2"][0] == made["1"][0]
    assert made["2"][1] == made["1"][1]


def test_events_read_back_from_a_worker_equal_the_events_sent() -> None:
    """Every field of a planned event (timed and all-day) survives pickling, as workers send it."""
    import pickle

    plan = make_plan(load(EXAMPLE).config, today=TODAY)
    timed = next(e for e in plan.events if not e.all_day and e.attendees and e.organizer)
    all_day = next(e for e in plan.events if e.all_day)
    for event in (timed, all_day):
        back = pickle.loads(pickle.dumps(event, protocol=pickle.HIGHEST_PROTOCOL))
        assert back == event
        assert type(back.span) is type(event.span)
    assert pickle.loads(pickle.dumps(timed)).span.start.tzinfo is timed.span.start.tzinfo


@pytest.mark.parametrize(("jobs", "started"), [(1, False), (2, True)])
def test_opening_a_program_that_needs_workers_starts_their_fork_server_early(
    monkeypatch: pytest.MonkeyPatch, jobs: int, started: bool
) -> None:
    """`open_program` starts the fork server when the program will be planned on several
    processes (it imports the planner while the lock is read), and not for a small one."""
    from chancal.publish.workflow import open_program

    calls: list[None] = []
    monkeypatch.setattr(parallel, "jobs", lambda partners: jobs)
    monkeypatch.setattr(pool, "warm_up", lambda: calls.append(None))
    open_program(EXAMPLE)
    assert bool(calls) is started


@pytest.mark.parametrize(
    ("partners", "cpus", "started"), [(500, 2, True), (499, 2, False), (500, 1, False)]
)
def test_a_program_file_large_enough_for_workers_starts_their_fork_server_before_it_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, partners: int, cpus: int, started: bool
) -> None:
    """The fork server starts before a file the size of enough partners for two processes
    (`PARTNER_BYTES` each) is read, if there are two CPUs: here the file is not even a
    program, and the server started all the same."""
    from chancal.errors import ConfigError
    from chancal.publish.workflow import open_program

    calls: list[None] = []
    monkeypatch.setattr(pool, "available", lambda: cpus)
    monkeypatch.setattr(pool, "warm_up", lambda: calls.append(None))
    file = tmp_path / "partners.yaml"
    file.write_text("#" * (partners * parallel.PARTNER_BYTES))
    with pytest.raises(ConfigError):
        open_program(file)
    assert bool(calls) is started


def test_the_bundled_programs_partners_take_more_than_partner_bytes() -> None:
    """The size that starts the fork server early counts `PARTNER_BYTES` a partner, fewer
    than the bundled example's take (its header and managers shared among them): a program
    written like it starts its workers' server before it is read whenever it needs them."""
    partners = len(load(EXAMPLE).config.partners)
    assert EXAMPLE.stat().st_size / partners > parallel.PARTNER_BYTES


@pytest.mark.skipif(pool.start_method() != "forkserver", reason="the fork server is Linux's")
def test_a_warmed_up_fork_server_is_the_one_workers_come_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After `pool.warm_up` the fork server runs, and planning forks its workers from it
    (no second server); a fork server that cannot start leaves planning to `run`."""
    import multiprocessing.forkserver as forkserver

    pool.warm_up()
    server = forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]
    assert server is not None
    assert os.waitpid(server, os.WNOHANG) == (0, 0), "the fork server is not running"
    plan_with(monkeypatch, 2)
    assert forkserver._forkserver._forkserver_pid == server  # type: ignore[attr-defined]

    def refused() -> None:
        raise OSError("no sockets here")

    monkeypatch.setattr(forkserver, "ensure_running", refused)
    pool.warm_up()  # best effort: says nothing, raises nothing
