"""How many processes chancal may use, and a forked split of an index loop (issue 7).

Planning and publishing are pure Python and CPU-bound, so threads would take
turns on one core; a forked child starts with everything already in memory,
copy-on-write, at no cost. Where `fork` does not exist (Windows), everything
runs in this process. `CHANCAL_JOBS` caps the processes (1: this one only).
"""

from __future__ import annotations

import os
import sys
from array import array
from collections.abc import Callable, Sequence

JOBS_ENV = "CHANCAL_JOBS"
"""Environment variable capping chancal's processes (1: this process only)."""


DEFAULT_MAX_JOBS = 4
"""Processes used without CHANCAL_JOBS, however many CPUs there are.

Each forked worker soon holds a copy of the pages it touches (a quarter of a
gigabyte at 10,000 partners), and the main process unpickles what every
worker sends: beyond a few processes, memory grows faster than speed.
"""


def available() -> int:
    """Processes chancal may use: one per CPU, at most CHANCAL_JOBS (default 4); 1 without fork."""
    if not hasattr(os, "fork") or sys.platform == "win32":
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cap = os.environ.get(JOBS_ENV, "").strip()
    most = int(cap) if cap.isdigit() else DEFAULT_MAX_JOBS
    return max(1, min(most, cpus or 1))


def jobs(count: int, per_worker: int) -> int:
    """Processes for `count` pieces of work, each process taking at least `per_worker`."""
    return max(1, min(available(), count // per_worker))


def fork(child: Callable[[], None]) -> int | None:
    """Fork a worker running `child`; return its pid here (None: could not fork).

    The worker never returns into the caller's code, never touches stdout or
    stderr (their buffers are this process's), and leaves by os._exit, so no
    atexit handler or buffered output runs twice. It exits 0 only if `child`
    returned, 1 on any exception.
    """
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid:
        return pid
    code = 1
    try:
        child()
        code = 0
    finally:
        os._exit(code)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of `data` to `fd` (os.write may take fewer at a time)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def flag_split(
    items: Sequence[int], check: Callable[[int], bool], jobs: int
) -> tuple[list[int], list[int]]:
    """Run `check` on every item, spread over `jobs` processes (this one included).

    Returns (the items `check` flagged, sorted; the items of workers that
    failed, which the caller must check again itself: a worker can cost time,
    never a result). Workers take every jobs-th item, so neighbouring items
    (similar sizes) spread evenly.
    """
    n = max(1, min(jobs, len(items)))
    shares = [items[k::n] for k in range(n)]
    mine = list(shares[0])
    children: list[tuple[int, int, Sequence[int]]] = []
    for share in shares[1:]:
        try:
            read_fd, write_fd = os.pipe()
        except OSError:
            mine += share
            continue

        def child(
            share: Sequence[int] = share, read_fd: int = read_fd, write_fd: int = write_fd
        ) -> None:
            os.close(read_fd)
            write_all(write_fd, array("q", [i for i in share if check(i)]).tobytes())

        pid = fork(child)
        os.close(write_fd)
        if pid is None:
            os.close(read_fd)
            mine += share
            continue
        children.append((pid, read_fd, share))
    flagged = [i for i in mine if check(i)]
    failed: list[int] = []
    for pid, read_fd, share in children:
        chunks = []
        while chunk := os.read(read_fd, 1 << 16):
            chunks.append(chunk)
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
        data = b"".join(chunks)
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and len(data) % 8 == 0:
            flagged += array("q", data)
        else:
            failed += share
    return sorted(flagged), failed
