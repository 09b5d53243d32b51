"""The process pool: how many processes, how they start, and that work really runs in them."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from chancal import pool


@pytest.fixture
def a_worker_goes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process takes its first item only once a worker has taken one (or after a minute).

    Without it, this process may finish a few quick items before a worker has even
    started, and a test of the workers would test nothing.
    """
    take_next = pool._take_next

    def patient(bounds: pool.Bounds) -> int | None:
        deadline = time.monotonic() + 60
        while bounds[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        return take_next(bounds)

    # Patched here only: workers take items with the module as their fork server imported it.
    monkeypatch.setattr(pool, "_take_next", patient)


_parent = 0


def _remember_parent(payload: bytes) -> None:
    """Worker initializer: keep the parent's pid (the payload)."""
    global _parent
    _parent = int(payload)


def _square(n: int) -> int:
    return n * n


def _square_but_not_in_a_worker(n: int) -> int:
    """A task that fails in any process but the one that started the pool."""
    if os.getpid() != _parent:
        raise ValueError(f"refusing {n} in a worker")
    return n * n


def _slow_square(n: int) -> int:
    time.sleep(0.05)  # leaves items for this process to take
    return n * n


def _die(n: int) -> int:
    os._exit(3)  # a crash: no exception, no result, the process is simply gone


def _run(task: object, items: list[int], processes: int = 3) -> pool.Outcome[int]:
    return pool.run(
        task,  # type: ignore[arg-type]
        items,
        _square,
        processes=processes,
        initializer=_remember_parent,
        payload=str(os.getpid()).encode(),
    )


def test_work_runs_in_other_processes_and_comes_back_in_order(a_worker_goes_first: None) -> None:
    """Each item is done once, results keep the items' order, and processes other than this
    one delivered some of them (a pool that quietly ran everything here fails this)."""
    items = list(range(12))
    outcome = _run(_square, items)
    assert outcome.results == [n * n for n in items]
    assert outcome.pids - {os.getpid()}, "no worker process delivered anything"
    assert outcome.redone == 0


def test_results_are_received_promptly_while_this_process_works(
    a_worker_goes_first: None,
) -> None:
    """While this process does its share, the thread receiving workers' results may take
    the GIL every RESULT_SWITCH_INTERVAL (not Python's 5 ms, which kept a worker blocked on
    a full pipe); the interval is restored afterwards, also when the work raises."""
    seen: list[float] = []

    def here(n: int) -> int:
        seen.append(sys.getswitchinterval())
        return n * n

    before = sys.getswitchinterval()
    assert before > pool.RESULT_SWITCH_INTERVAL  # Python's default, 5 ms
    outcome = pool.run(
        _slow_square, list(range(8)), here, processes=2, initializer=_remember_parent, payload=b"0"
    )
    assert outcome.results == [n * n for n in range(8)]
    assert seen and set(seen) == {pool.RESULT_SWITCH_INTERVAL}
    assert sys.getswitchinterval() == before

    def broken(n: int) -> int:
        raise KeyError(n)

    with pytest.raises(KeyError):
        pool.run(
            _slow_square, [1, 2, 3], broken, processes=2, initializer=_remember_parent, payload=b"0"
        )
    assert sys.getswitchinterval() == before


def test_this_process_starts_its_share_while_workers_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Starting workers waits for the fork server (its imports, then the fork): this
    process does not wait with it, but takes its first item at once."""
    first_item_here = threading.Event()
    starts_waited: list[bool] = []

    class SlowToStart(ProcessPoolExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            starts_waited.append(first_item_here.wait(timeout=30))
            super().__init__(*args, **kwargs)

    def here(n: int) -> int:
        first_item_here.set()
        return n * n

    monkeypatch.setattr(pool, "ProcessPoolExecutor", SlowToStart)
    outcome = pool.run(
        _slow_square, list(range(6)), here, processes=2, initializer=_remember_parent, payload=b"0"
    )
    assert outcome.results == [n * n for n in range(6)]
    assert starts_waited == [True], "workers were started before this process took an item"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe sizes are Linux's")
def test_workers_results_wait_in_a_pipe_that_holds_a_whole_part(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker writes a manager's part (about 0.8 MB) to a pipe of RESULT_PIPE_BYTES, not
    64 KB, so it need not wait for this process's receiving thread to get the GIL."""
    import fcntl

    sizes: list[int] = []

    class Recorded(ProcessPoolExecutor):
        def submit(self, *args: Any, **kwargs: Any) -> Any:
            if not sizes:  # the pipe the workers will write their results to
                reader = self._result_queue._reader  # type: ignore[attr-defined]
                sizes.append(fcntl.fcntl(reader.fileno(), fcntl.F_GETPIPE_SZ))
            return super().submit(*args, **kwargs)

    monkeypatch.setattr(pool, "ProcessPoolExecutor", Recorded)
    outcome = _run(_square, list(range(6)), processes=2)
    assert outcome.results == [n * n for n in range(6)]
    assert sizes == [pool.RESULT_PIPE_BYTES]


def test_a_pool_that_cannot_start_for_a_bug_raises_here() -> None:
    """Anything but a refusal to start (OSError) is a bug: raised to the caller, not
    printed by the thread that starts the workers and forgotten."""
    with pytest.raises(AttributeError, match="pickle"):
        pool.run(
            _square,
            [1, 2, 3],
            _square,
            processes=2,
            initializer=lambda payload: None,  # a lambda cannot be pickled for a worker
            payload=b"0",
        )


def test_one_process_runs_here_without_a_pool() -> None:
    """processes=1 (CHANCAL_JOBS=1, or a small program) is this process alone, on purpose."""
    outcome = _run(_die, [1, 2, 3], processes=1)  # _die would end any worker it ran in
    assert outcome.results == [1, 4, 9]
    assert outcome.pids == {os.getpid()}


def test_a_crashed_worker_is_redone_here_and_said(a_worker_goes_first: None) -> None:
    """A worker that dies takes no result with it: what it did not deliver is done again in
    this process, and a RedoneHere warning says so (never a silent serial run)."""
    with pytest.warns(pool.RedoneHere, match=r"items were not delivered.*BrokenProcessPool"):
        outcome = _run(_die, list(range(6)))
    assert outcome.results == [n * n for n in range(6)]
    assert outcome.redone >= 1
    assert outcome.pids == {os.getpid()}


def test_a_task_raising_in_a_worker_is_redone_here(a_worker_goes_first: None) -> None:
    """An exception in a worker is not the end either: the item is done again here (where a
    real bug would raise again, with its traceback)."""
    with pytest.warns(pool.RedoneHere, match="refusing"):
        outcome = _run(_square_but_not_in_a_worker, list(range(6)))
    assert outcome.results == [n * n for n in range(6)]


@pytest.mark.parametrize(
    ("platform", "method"),
    [("linux", "forkserver"), ("darwin", "spawn"), ("win32", "spawn")],
)
def test_this_process_is_never_forked(
    monkeypatch: pytest.MonkeyPatch, platform: str, method: str
) -> None:
    """Workers come from a fork server (Linux) or a fresh interpreter: never a fork of this
    process, whose threads (the CLI's spinner) could leave a lock held forever."""
    monkeypatch.setattr(pool.sys, "platform", platform)
    assert pool.start_method() == method


@pytest.mark.parametrize(
    ("count", "per_worker", "cpus", "env", "expected"),
    [
        (100, 250, 4, "", 1),  # a small program stays in one process
        (499, 250, 4, "", 1),  # each process takes at least `per_worker`
        (500, 250, 4, "", 2),
        (10_000, 250, 2, "", 2),  # at most one process per CPU
        (10_000, 250, 64, "", 4),  # and at most 4 unless CHANCAL_JOBS says otherwise
        (10_000, 250, 64, "8", 8),
        (10_000, 250, 4, "8", 4),
        (10_000, 250, 4, "1", 1),  # CHANCAL_JOBS=1: this process only
        (10_000, 250, 4, "not a number", 4),  # ignored: as if unset
    ],
)
def test_jobs_follow_size_cpus_and_the_environment(
    monkeypatch: pytest.MonkeyPatch, count: int, per_worker: int, cpus: int, env: str, expected: int
) -> None:
    """Workers only pay off for big programs; there are never more processes than CPUs,
    at most 4 by default (each worker costs memory), and CHANCAL_JOBS sets the cap."""
    monkeypatch.setattr(pool.os, "sched_getaffinity", lambda pid: set(range(cpus)), raising=False)
    monkeypatch.setenv(pool.JOBS_ENV, env)
    assert pool.jobs(count, per_worker) == expected


_given: list[object] = []


def _keep(payload: object) -> None:
    _given.append(payload)


def test_the_payload_bytes_are_let_go_once_the_workers_have_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Neither the executor (which keeps its workers' initializer arguments) nor a worker
    (which keeps its own copy) holds the pickled payload once the workers have started."""
    context = pool._context()
    bounds = context.Array("q", [0, 0])  # nothing to take: the workers only start
    box = [pool.pickle.dumps({"program": 1})]
    workers = pool._Workers(1, context, bounds)
    try:
        workers.start(_square, [1, 2], _keep, box)
        assert workers.error is None and workers.refused is None
        assert box == []
        assert [f.result(timeout=60) for f in workers.futures] == [None, None]
    finally:
        if workers.executor is not None:
            workers.executor.shutdown(wait=True)
    # What a worker runs first: it takes the bytes out of its own copy of the box.
    monkeypatch.setattr(pool, "_shared", None)  # set by `_start`: put back after the test
    mine = [pool.pickle.dumps({"program": 2})]
    pool._start(bounds, [1], _keep, mine)
    assert mine == [] and _given[-1] == {"program": 2}


def _hold_the_lock(bounds: pool.Bounds, ready: Any, release: Any) -> None:
    """In a process: take the bounds' lock as `_take_next` does, and keep it until told."""
    with pool._not_terminated(), bounds.get_lock():
        ready.set()
        release.wait(60)


def test_a_worker_terminated_while_it_takes_an_item_lets_the_lock_go() -> None:
    """When a worker dies, concurrent.futures terminates the others (SIGTERM): one of them
    holding the bounds' lock then would leave this process waiting for it forever."""
    context = pool._context()
    bounds = context.Array("q", [0, 1])
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_the_lock, args=(bounds, ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        holder.terminate()
        holder.join(0.5)
        assert holder.is_alive(), "terminated while it held the lock"
        release.set()
        holder.join(60)
        assert holder.exitcode == -signal.SIGTERM  # the signal waited, and then ended it
        assert bounds.get_lock().acquire(timeout=10)
        bounds.get_lock().release()
    finally:
        release.set()
        holder.kill()
        holder.join(60)
