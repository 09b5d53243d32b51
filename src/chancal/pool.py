"""How many processes chancal may use, and running a task over items in worker processes.

Planning is pure Python and CPU-bound, so threads would take turns on one
core; worker processes do not. They come from `concurrent.futures` with an
explicit start method: "forkserver" on Linux, "spawn" elsewhere. Neither
forks the calling process, so the CLI's spinner thread (or any other thread)
cannot leave a worker holding a lock nobody will release, and macOS (where
fork without exec is unsafe) and Windows (which has no fork) run the same
code path. The fork server is one clean process started once per chancal
process, with the planner already imported, so each worker starts in
milliseconds.

`CHANCAL_JOBS` caps the processes: 1 keeps everything in this process, N
allows up to N, unset means one per CPU and at most `DEFAULT_MAX_JOBS`.
Callers decide how much work pays for a worker (`jobs`); below that they run
in this process on purpose, and say so in their docstring.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.forkserver
import os
import pickle
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

JOBS_ENV = "CHANCAL_JOBS"
"""Environment variable capping chancal's processes (1: this process only)."""

DEFAULT_MAX_JOBS = 4
"""Processes used without CHANCAL_JOBS, however many CPUs there are.

Each worker holds its own copy of the program and of the planner's caches
(180-220 MB at 10,000 partners), and this process reads what every worker
sends: beyond a few processes, memory grows faster than speed.
"""

RESULT_SWITCH_INTERVAL = 0.0005
"""Seconds this process's own work runs before the thread receiving results may take over.

While this process works on its share, the executor's thread that reads what
the workers send needs the GIL after every read from the pipe. At Python's
default 5 ms it waited that long each time, and a worker sat blocked on the
full pipe meanwhile: at 10,000 partners the worker was idle 40% of the time
and did 109 of the 430 managers. At 0.5 ms it is idle about a fifth of the
time and does about 150 (benchmarks/README.md, "Workers kept busy").
"""

RESULT_PIPE_BYTES = 1 << 20
"""What a worker may write to this process's result pipe before it must wait for a read (Linux).

A result is a manager's part of the year, about 0.8 MB pickled, and a pipe
holds 64 KB: the worker wrote each part in a dozen pieces, each waiting for
the executor's receiving thread to get the GIL from this process's own work,
and sat idle about a fifth of the time. In a pipe of 1 MB (Linux's limit for
an unprivileged process) it writes a part at once and goes on (benchmarks/README.md,
"A wider pipe for the workers' results").
"""

PRELOAD = ("chancal.planner.build", "chancal.publish.year")
"""Modules the fork server imports once, so that no worker imports them again: the
planner (`make_plan`'s workers) and the year a manager at a time (every command's
workers, which also judge and reconcile: about 45 ms of imports more per worker)."""

T = TypeVar("T")
R = TypeVar("R")


class RedoneHere(RuntimeWarning):
    """A worker process failed to deliver some items; this process did them again.

    The result is the same as without the failure (the work is deterministic);
    only time was lost. A task that raises raises again here, with its traceback.
    """


def available() -> int:
    """Processes chancal may use: one per CPU, at most CHANCAL_JOBS (default 4)."""
    # sched_getaffinity honours a CPU set given to this process (Linux); macOS and Windows lack it.
    affinity = getattr(os, "sched_getaffinity", None)
    cpus = len(affinity(0)) if affinity else os.cpu_count() or 1
    cap = os.environ.get(JOBS_ENV, "").strip()
    most = int(cap) if cap.isdigit() else DEFAULT_MAX_JOBS
    return max(1, min(most, cpus))


def jobs(count: int, per_worker: int) -> int:
    """Processes for `count` pieces of work, each process taking at least `per_worker`."""
    return max(1, min(available(), count // per_worker))


def start_method() -> str:
    """How workers start: "forkserver" on Linux, "spawn" on macOS and Windows."""
    return "forkserver" if sys.platform.startswith("linux") else "spawn"


def warm_up() -> None:
    """Start the fork server now (Linux), so it imports the planner while this process works.

    A worker can only be forked once the fork server has imported `PRELOAD`
    (about 0.25 s). Started when the program is known to need workers, the
    server is mostly ready by the time the lock is read (in a 1,000-partner
    export the first fork took 0.15-0.18 s before, 0.01 s after), and `run`
    starts workers in a thread of its own, so this process never waits for
    the rest. Best effort: if it cannot start, `run` says so.
    """
    if start_method() != "forkserver":
        return
    _context()  # sets the preload before the server starts
    with contextlib.suppress(OSError):
        multiprocessing.forkserver.ensure_running()


def _context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context(start_method())
    if start_method() == "forkserver":
        context.set_forkserver_preload(list(PRELOAD))
    return context


@dataclass(frozen=True, slots=True)
class Outcome(Generic[R]):
    """What `run` did: a result per item (in the items' order) and who did the work."""

    results: list[R]
    pids: frozenset[int]  # processes that delivered results, this one included
    redone: int  # items a failed worker left, done again in this process


def run(
    task: Callable[[T], R],
    items: Sequence[T],
    here: Callable[[T], R],
    *,
    processes: int,
    initializer: Callable[[Any], None],
    payload: object,
) -> Outcome[R]:
    """Apply the work to every item across `processes` processes, this one included.

    Workers run `task(item)` after `initializer(payload)` (the payload is
    pickled once, here, only when there are workers, and read once by each);
    this process runs `here(item)`, which must give the same result. Items are
    handed out one at a time, in order, from a counter shared by all processes:
    whoever is free takes the next. Put the largest first: the last ones handed
    out are then the smallest, and the processes finish close together (when
    this process took from the back, a large item left to a worker at the
    end kept it going alone: benchmarks/README.md, "Largest first for every
    process"). Items a worker did not deliver (it crashed, was killed, or the
    task raised) are done again here, with a `RedoneHere` warning: a failure
    costs time, never a result, and never passes silently.
    """
    pids = {os.getpid()}
    if processes < 2 or len(items) < 2:
        return Outcome([here(item) for item in items], frozenset(pids), 0)
    context = _context()
    # Its bytes are held only until every worker has them: the executor keeps its workers'
    # initializer arguments for its life, and each worker its copy for its own, so a
    # 10,000-partner program was held twice more for the whole pool (8 MB each time;
    # benchmarks/README.md, "One copy of each value"). `_Workers.start` and `_start`
    # empty this box.
    box = [pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)]
    # [front, back): the items nobody has taken yet; `back` moves only to stop the workers.
    # Not Future.cancel() for that: a pool broken while cancelled futures wait never
    # finishes them (CPython 3.11).
    bounds = context.Array("q", [0, len(items)])
    workers = _Workers(min(processes - 1, len(items) - 1), context, bounds)
    starting = threading.Thread(
        target=workers.start, args=(task, items, initializer, box), name="chancal-pool"
    )
    starting.start()
    results: dict[int, R] = {}
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(min(switch_interval, RESULT_SWITCH_INTERVAL))
    try:
        while (index := _take_next(bounds)) is not None:
            results[index] = here(items[index])
        starting.join()
        if workers.error is not None:
            raise workers.error
        wait(workers.futures)
    except BaseException:  # a bug here, Ctrl-C: workers take nothing more
        with bounds.get_lock():
            bounds[0] = bounds[1]
        raise
    finally:
        sys.setswitchinterval(switch_interval)
        starting.join()
        if workers.executor is not None:
            workers.executor.shutdown(wait=True, cancel_futures=True)
    if workers.refused is not None:  # no worker could start: this process did every item
        _redo_warning(len(items), len(items), workers.refused)
        return Outcome([results[i] for i in range(len(items))], frozenset(pids), len(items))
    failures: list[BaseException] = []
    for future in workers.futures:
        error = future.exception()
        if error is not None:
            failures.append(error)
        elif (done := future.result()) is not None:
            pid, index, results[index] = done
            pids.add(pid)
    redone = [i for i in range(len(items)) if i not in results]
    if redone:
        reason = failures[0] if failures else RuntimeError("a worker lost its item")
        _redo_warning(len(redone), len(items), reason)
        for index in redone:
            results[index] = here(items[index])
    return Outcome([results[i] for i in range(len(items))], frozenset(pids), len(redone))


Bounds = Any  # a multiprocessing Array of two signed 64-bit integers, with its lock


class _Workers:
    """The worker processes, started by a thread of their own while this process works.

    Starting a worker waits for the fork server to fork it, and the fork
    server for its own imports (`warm_up`): in a 1,000-partner export this
    process used to wait 0.12-0.135 s before taking its first item
    (benchmarks/README.md, "Less sent between processes, and no wait for the workers").
    """

    def __init__(self, count: int, context: multiprocessing.context.BaseContext, bounds: Bounds):
        self.count, self.context, self.bounds = count, context, bounds
        self.executor: ProcessPoolExecutor | None = None
        self.futures: list[Future[tuple[int, int, Any] | None]] = []
        self.refused: OSError | None = None  # no worker could start (a sandbox without sockets)
        self.error: BaseException | None = None

    def start(
        self,
        task: Callable[[Any], Any],
        items: Sequence[Any],
        initializer: Callable[[Any], None],
        box: list[bytes],
    ) -> None:
        try:
            self.executor = ProcessPoolExecutor(
                max_workers=self.count,
                mp_context=self.context,
                initializer=_start,
                initargs=(self.bounds, list(items), initializer, box),
            )
            _widen_result_pipe(self.executor)
            # One task per item at most: each takes the next item from the front, or none.
            self.futures = [self.executor.submit(_take_front, task) for _ in items]
            # Each worker was started by a submit, its arguments sent as it started
            # (`concurrent.futures` starts no other: a worker lost breaks the pool).
            box.clear()
        except OSError as refused:
            self.refused = refused
        except BaseException as error:  # a bug (items that cannot be pickled): raised by run
            self.error = error


def _widen_result_pipe(executor: ProcessPoolExecutor) -> None:
    """Let the workers' results wait in a pipe of RESULT_PIPE_BYTES (Linux; elsewhere, as it is).

    `concurrent.futures` has no option for it, so this reaches the executor's
    private result queue (CPython 3.11-3.13: `_result_queue`, a SimpleQueue
    whose `_reader` end is a pipe made in the constructor, before any worker
    starts). Only speed depends on it: if those names change, or the kernel
    refuses the size, the pipe stays as it was.
    """
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)  # fcntl is None on Windows
    reader = getattr(getattr(executor, "_result_queue", None), "_reader", None)
    if set_size is None or reader is None:
        return
    with contextlib.suppress(OSError):
        fcntl.fcntl(reader.fileno(), set_size, RESULT_PIPE_BYTES)


def _take_next(bounds: Bounds) -> int | None:
    """Take the first item nobody has taken yet (None: all are taken)."""
    with _not_terminated(), bounds.get_lock():
        front, back = bounds[0], bounds[1]
        if front >= back:
            return None
        bounds[0] = front + 1
        return int(front)


@contextlib.contextmanager
def _not_terminated() -> Iterator[None]:
    """Hold off SIGTERM until the block is left: a process terminated while it holds the
    bounds' lock would hold it for good, and every other process would wait for it.

    When a worker dies, `concurrent.futures` terminates the others (SIGTERM), whatever
    they are doing; one of them taking an item then left this process waiting forever
    (seen once in `test_a_crashed_worker_is_redone_here_and_said`). The signal is
    delivered as the block is left. Where signals cannot be held off (Windows), as before.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


_shared: tuple[Bounds, list[Any]] | None = None
"""In a worker: the shared bounds and the items, from `_start`."""


def _start(
    bounds: Bounds, items: list[Any], initializer: Callable[[Any], None], box: list[bytes]
) -> None:
    """Run in each new worker: keep what the tasks share, then the caller's initializer
    with the payload (its bytes let go: see `run`)."""
    global _shared
    _shared = bounds, items
    initializer(pickle.loads(box.pop()))


def _take_front(task: Callable[[Any], R]) -> tuple[int, int, R] | None:
    """Run in a worker: do the first item nobody has taken yet; (pid, index, result) or None."""
    assert _shared is not None, "every worker starts with _start"
    bounds, items = _shared
    index = _take_next(bounds)
    return None if index is None else (os.getpid(), index, task(items[index]))


def _redo_warning(failed: int, total: int, error: BaseException) -> None:
    reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    warnings.warn(
        RedoneHere(
            f"{failed} of {total} items were not delivered by a worker process ({reason}); "
            "doing them again in this process"
        ),
        stacklevel=3,
    )
