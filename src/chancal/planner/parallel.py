"""Planning managers side by side in forked worker processes (issue 7).

A manager's partners are planned against that manager's calendar only, so
managers are independent: the planner may hand some of them to child
processes and merge what comes back. Events are sorted and diagnostics
ordered afterwards, so the plan is the same bytes whether it ran in one
process or several (a test holds it to that).

Why processes and `fork`: planning is pure Python and CPU-bound, so threads
would take turns on one core; a forked child starts with the program, the
caches and the planner already in memory, copy-on-write, at no cost.
Where `fork` does not exist (Windows) or the program is small, everything
runs in this process. A child that fails for any reason is not trusted: its
managers are planned again here, so a worker can cost time but never a result.

What crosses the pipe is kept small and fast to rebuild: events travel as
tuples of their fields with timed starts as UTC seconds (a pickled aware
datetime costs a time-zone lookup each, and a frozen dataclass a slow
`__setstate__`); objects shared by many events (organizer, attendees,
reminders) are pickled once each thanks to pickle's memo.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from chancal.plan import Diagnostic, Event
from chancal.planner.hours import local_datetime

MIN_PARTNERS_PER_WORKER = 250
"""Each process plans at least this many partners: with fewer, forking costs more than it saves."""

JOBS_ENV = "CHANCAL_JOBS"
"""Environment variable capping the planner's processes (1: plan in this process only)."""

_FIELDS = tuple(f.name for f in fields(Event))
_START, _END = _FIELDS.index("start"), _FIELDS.index("end")
_ZONE, _ALL_DAY = _FIELDS.index("timezone"), _FIELDS.index("all_day")


def jobs(partners: int) -> int:
    """How many processes to plan `partners` partners with (1: no workers)."""
    if not hasattr(os, "fork") or sys.platform == "win32":
        return 1
    cap = _env_jobs()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    wanted = min(cap if cap is not None else cpus or 1, partners // MIN_PARTNERS_PER_WORKER)
    return max(1, wanted)


def _env_jobs() -> int | None:
    value = os.environ.get(JOBS_ENV, "").strip()
    if not value:
        return None
    try:
        return max(1, int(value))
    except ValueError:
        return None


def split(sizes: dict[str, int], n: int) -> list[list[str]]:
    """Split managers into `n` groups of about equal partner counts (largest first).

    Deterministic: ties go by manager id. Each group keeps ids sorted, the
    order a single process plans them in.
    """
    groups: list[list[str]] = [[] for _ in range(n)]
    loads = [0] * n
    for manager_id in sorted(sizes, key=lambda m: (-sizes[m], m)):
        k = min(range(n), key=lambda i: (loads[i], i))
        groups[k].append(manager_id)
        loads[k] += sizes[manager_id]
    return [sorted(g) for g in groups if g]


@dataclass(slots=True)
class Worker:
    """A forked child planning some managers; `result()` collects what it planned."""

    pid: int
    fd: int

    def result(self) -> tuple[list[Event], list[Diagnostic]] | None:
        """Wait for the child; its events and diagnostics, or None if it failed."""
        chunks = []
        while chunk := os.read(self.fd, 1 << 20):
            chunks.append(chunk)
        os.close(self.fd)
        _, status = os.waitpid(self.pid, 0)
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0 or not chunks:
            return None
        try:
            rows, diagnostics = pickle.loads(b"".join(chunks))
            return [_decode(row) for row in rows], diagnostics
        except Exception:  # a truncated or garbled payload: plan those managers here
            return None


def start(work: Callable[[], tuple[Sequence[Event], Sequence[Diagnostic]]]) -> Worker | None:
    """Fork a child that runs `work` and sends back its result (None: could not fork)."""
    try:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
    except OSError:
        return None
    if pid:
        os.close(write_fd)
        return Worker(pid, read_fd)
    # The child: never returns into the caller's code, never touches stdout or stderr
    # (their buffers are the parent's), and leaves by os._exit so no atexit handler or
    # buffered output of the parent runs twice.
    code = 1
    try:
        os.close(read_fd)
        events, diagnostics = work()
        payload = pickle.dumps(
            ([_encode(e) for e in events], list(diagnostics)), protocol=pickle.HIGHEST_PROTOCOL
        )
        view = memoryview(payload)
        while view:
            view = view[os.write(write_fd, view) :]
        code = 0
    finally:
        os._exit(code)


def _encode(event: Event) -> tuple[Any, ...]:
    row: list[Any] = [getattr(event, name) for name in _FIELDS]
    # Timed: UTC seconds (the zone is the event's own `timezone`); all-day: day ordinals.
    convert = date.toordinal if event.all_day else datetime.timestamp
    row[_START], row[_END] = int(convert(row[_START])), int(convert(row[_END]))
    return tuple(row)


def _decode(row: tuple[Any, ...]) -> Event:
    values = list(row)
    if values[_ALL_DAY]:
        values[_START], values[_END] = date.fromordinal(row[_START]), date.fromordinal(row[_END])
    else:
        zone = values[_ZONE]
        values[_START] = local_datetime(row[_START], zone)
        values[_END] = local_datetime(row[_END], zone)
    return Event(*values)
