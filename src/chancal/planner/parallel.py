"""Planning managers side by side in worker processes: the pool's planning task.

A manager's partners are planned against that manager's calendar only, so
managers are independent: some may be planned in worker processes
(`chancal.pool`) and merged. Events are sorted and diagnostics ordered
afterwards, so the plan is the same bytes whether it ran in one process or
several, whichever process planned which manager (tests hold it to that).

Each worker builds its own planner from the program, today and the pins,
pickled once by this process and unpickled once per worker, then plans the
managers it is handed: largest portfolio first, so a few slow managers do
not leave one process working at the end while the others wait. A program
of fewer than `MIN_PARTNERS_PER_WORKER` partners per process is planned in
this process on purpose: starting a worker costs more than it saves.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from datetime import date
from typing import Protocol

from chancal import pool
from chancal.models import Config
from chancal.plan import Diagnostic, Event, Pins

MIN_PARTNERS_PER_WORKER = 250
"""Each process plans at least this many partners: with fewer, a worker costs more than it saves."""

Batch = tuple[list[Event], list[Diagnostic]]
"""What planning one manager adds to the plan."""


class ManagerPlanner(Protocol):
    """A planner that can plan one manager and hand back what it added."""

    def plan_batch(self, manager_id: str) -> Batch:
        """Plan one manager; return its events and diagnostics without keeping them."""
        ...


Factory = Callable[[Config, date | None, Pins | None], ManagerPlanner]


def jobs(partners: int) -> int:
    """How many processes to plan `partners` partners with (1: this process alone)."""
    return pool.jobs(partners, MIN_PARTNERS_PER_WORKER)


PARTNER_BYTES = 500
"""The bytes a partner is taken to need in a program file, to guess from the file's size
whether it holds enough partners for workers: the bundled example's take 980 each and the
benchmark's 770 (contacts, focus areas, sharing); one with only its required keys, one to a
line, about 150."""


def warm_up(partners: int) -> None:
    """Get worker processes ready early when a program of `partners` partners will use them."""
    if jobs(partners) > 1:
        pool.warm_up()


def warm_up_for_file(size: int) -> None:
    """Get worker processes ready before a program file of `size` bytes is even read,
    when its size says it holds enough partners to use them (`PARTNER_BYTES` each).

    The fork server's imports (0.15 s) then run while this process reads the
    program instead of after it: in a 1,000-partner export the worker took its
    first manager about 0.2 s after this process took its own, now 0.1 s after
    (benchmarks/README.md, "The fork server started before the program is read").
    The size is a guess either way. Partners written more tersely start their
    server once they are counted (`warm_up`), as before; a file with fewer but
    longer partners (300-500 in the benchmark's style) starts one it will not
    use: a second core for a moment, and the server and multiprocessing's
    resource tracker, about 50 MB, while the command runs.
    """
    if size >= 2 * MIN_PARTNERS_PER_WORKER * PARTNER_BYTES and pool.available() > 1:
        pool.warm_up()


def plan_all(
    planner: ManagerPlanner,
    factory: Factory,
    program: tuple[Config, date | None, Pins | None],
    ids: Sequence[str],
    sizes: Sequence[int],
    processes: int,
) -> list[Batch]:
    """Plan every manager, largest portfolio first (ties by id), across `processes` processes.

    This process plans with `planner`; each worker with its own, made by
    `factory` from `program` (the program's config, today and pins).
    Returns one batch per manager, in the order they were handed out.
    """
    order = [ids[i] for i in sorted(range(len(ids)), key=lambda i: (-sizes[i], ids[i]))]
    outcome = pool.run(
        _plan_in_worker,
        order,
        planner.plan_batch,
        processes=processes,
        initializer=_start_worker,
        payload=(factory, program),
    )
    return outcome.results


_worker: ManagerPlanner | None = None
"""In a worker process: the planner built from the program by `_start_worker`."""


def _start_worker(payload: tuple[Factory, tuple[Config, date | None, Pins | None]]) -> None:
    """Build this worker's planner from the program (once per worker)."""
    global _worker
    gc.disable()  # as make_plan does: the planner breaks its own cycles
    factory, program = payload
    _worker = factory(*program)


def _plan_in_worker(manager_id: str) -> Batch:
    """Plan one manager in a worker process."""
    assert _worker is not None, "the pool starts every worker with _start_worker"
    return _worker.plan_batch(manager_id)
