"""Planning managers side by side in forked worker processes (issue 7).

A manager's partners are planned against that manager's calendar only, so
managers are independent: the planner may hand some of them to child
processes and merge what comes back. Events are sorted and diagnostics
ordered afterwards, so the plan is the same bytes whether it ran in one
process or several, whichever process planned which manager (a test holds
it to that).

Why processes and `fork`: planning is pure Python and CPU-bound, so threads
would take turns on one core; a forked child starts with the program, the
caches and the planner already in memory, copy-on-write, at no cost.
Where `fork` does not exist (Windows) or the program is small, everything
runs in this process. A child that fails for any reason is not trusted: the
managers it did not report are planned again here, so a worker can cost
time but never a result.

Managers are handed out one at a time, largest portfolio first, from a pipe
holding their numbers: whichever process is free takes the next, so a few
slow managers cannot leave one process working while the other waits.

What comes back is kept small and fast to rebuild: events travel as tuples
of their fields with timed starts as UTC seconds (a pickled aware datetime
costs a time-zone lookup each, and a frozen dataclass a slow
`__setstate__`); objects shared by many events (organizer, attendees,
reminders) are pickled once per manager thanks to pickle's memo.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import date, datetime
from typing import IO, Any

from chancal import workers
from chancal.plan import Diagnostic, Event
from chancal.planner.constraints import local_datetime

MIN_PARTNERS_PER_WORKER = 250
"""Each process plans at least this many partners: with fewer, forking costs more than it saves."""

_FIELDS = tuple(f.name for f in fields(Event))
_START, _END = _FIELDS.index("start"), _FIELDS.index("end")
_ZONE, _ALL_DAY = _FIELDS.index("timezone"), _FIELDS.index("all_day")


def jobs(partners: int) -> int:
    """How many processes to plan `partners` partners with (1: no workers)."""
    return workers.jobs(partners, MIN_PARTNERS_PER_WORKER)


Batch = tuple[Sequence[Event], Sequence[Diagnostic]]


def plan_all(
    ids: Sequence[str], sizes: Sequence[int], plan_one: Callable[[str], Batch], jobs: int
) -> tuple[list[Event], list[Diagnostic]]:
    """Plan every manager with `plan_one`, here and in `jobs - 1` forked workers.

    What this process plans stays wherever `plan_one` put it; what the
    workers planned is returned. `sizes` (partners per manager) orders the
    hand-out, largest first.
    """
    order = sorted(range(len(ids)), key=lambda i: (-sizes[i], ids[i]))
    if jobs < 2 or len(ids) < 2 or len(ids) >= _MAX_QUEUED:
        for i in order:
            plan_one(ids[i])
        return [], []
    read_fd, write_fd = os.pipe()
    workers.write_all(write_fd, b"".join(i.to_bytes(_ID, "little") for i in order))
    os.close(write_fd)  # an empty queue then reads as end of file
    try:
        children = [w for _ in range(jobs - 1) if (w := _start(read_fd, ids, plan_one))]
        done: set[str] = set()
        while (claim := os.read(read_fd, _ID)) and len(claim) == _ID:
            manager_id = ids[int.from_bytes(claim, "little")]
            plan_one(manager_id)
            done.add(manager_id)
            for child in children:  # unpickle what workers finished meanwhile
                child.collect()
    finally:
        os.close(read_fd)
    events: list[Event] = []
    diagnostics: list[Diagnostic] = []
    for child in children:
        if child.finish():
            done |= child.planned
            events += child.events
            diagnostics += child.diagnostics
    for manager_id in ids:  # a worker failed: plan what it did not deliver, here
        if manager_id not in done:
            plan_one(manager_id)
    return events, diagnostics


_ID = 2  # bytes per manager number in the queue
_MAX_QUEUED = 1 << 14  # well within a pipe's 64 KiB, so filling the queue never blocks
_HEADER = 8  # bytes of a batch's length in a worker's spool


class _Worker:
    """A forked child planning managers from the queue into its spool file.

    The child appends each manager's events, pickled behind an 8-byte length,
    to an unnamed temporary file as soon as they are planned: it never waits
    for this process (a pipe would stall it whenever this process, busy
    planning, is slow to drain it), and this process unpickles the batches
    already written between its own managers.
    """

    def __init__(self, pid: int, spool: IO[bytes]) -> None:
        self.pid = pid
        self._spool = spool
        self._offset = 0
        self.planned: set[str] = set()
        self.events: list[Event] = []
        self.diagnostics: list[Diagnostic] = []
        self.ok = True

    def collect(self) -> None:
        """Take every batch written whole so far (a garbled one marks the worker failed)."""
        while self.ok:
            frame = _frame(self._spool.fileno(), self._offset)
            if frame is None:
                break
            try:
                manager_id, rows, found = pickle.loads(frame)
                decoded = [_decode(row) for row in rows]
            except Exception:  # garbled: its managers are planned again in this process
                self.ok = False
                break
            self.events += decoded
            self.diagnostics += found
            self.planned.add(manager_id)
            self._offset += _HEADER + len(frame)

    def finish(self) -> bool:
        """Wait for the child, taking its batches as they come; whether it succeeded."""
        status = None
        while status is None:
            self.collect()
            pid, found = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                status = found
            else:
                time.sleep(0.002)
        with self._spool as spool:
            self.collect()
            whole = self._offset == os.fstat(spool.fileno()).st_size
        self.ok = self.ok and whole and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        return self.ok


def _frame(fd: int, offset: int) -> bytes | None:
    """The batch written whole at `offset` of a spool, or None if not (yet) there."""
    header = os.pread(fd, _HEADER, offset)
    if len(header) < _HEADER:
        return None
    size = int.from_bytes(header, "little")
    frame = os.pread(fd, size, offset + _HEADER)
    return frame if len(frame) == size else None


def _start(queue: int, ids: Sequence[str], plan_one: Callable[[str], Batch]) -> _Worker | None:
    """Fork a child that plans managers from the queue until it is empty (None: no fork)."""
    try:
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - the _Worker closes it
    except OSError:
        return None

    def child() -> None:
        while (claim := os.read(queue, _ID)) and len(claim) == _ID:
            manager_id = ids[int.from_bytes(claim, "little")]
            events, diagnostics = plan_one(manager_id)
            payload = pickle.dumps(
                (manager_id, [_encode(e) for e in events], list(diagnostics)),
                protocol=pickle.HIGHEST_PROTOCOL,
            )
            workers.write_all(spool.fileno(), len(payload).to_bytes(_HEADER, "little") + payload)

    pid = workers.fork(child)
    if pid is None:
        spool.close()
        return None
    return _Worker(pid, spool)


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
