"""Print each step of one export, in this process: its time, the time so far, peak memory.

    python benchmarks/phases.py partners.yaml out/ [--today 2027-01-01]

The steps are the publishing workflow's (`chancal.publish.workflow`): open the
program and its lock, plan, verify, reconcile, then write the feeds and the
lock. Peak RSS is this process's high-water mark (`getrusage`), so each figure
is the largest so far; planning workers run in their own processes and are not
counted, as with `/usr/bin/time chancal export` (run.py counts them). The cyclic
garbage collector is off for the whole run, as in the CLI (`chancal.__main__`),
so no phase is charged for collections the CLI never makes.

    CHANCAL_JOBS=1 python -m cProfile -o export.prof benchmarks/phases.py partners.yaml out

profiles every phase in one process (planning included).
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any


def export_args(description: str) -> argparse.Namespace:
    """What each script that takes one export apart is given: program, out/, --today."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("program", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--today", type=date.fromisoformat, default=date(2027, 1, 1))
    return parser.parse_args()


def main() -> None:
    args = export_args(__doc__.splitlines()[0])
    gc.disable()
    began = last = time.perf_counter()
    factor = 1024 if sys.platform != "darwin" else 1024 * 1024  # ru_maxrss: KB, bytes on macOS

    def step(label: str) -> None:
        nonlocal last
        now = time.perf_counter()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / factor
        print(
            f"{label:20s} {now - last:7.1f} s (elapsed {now - began:7.1f} s)   "
            f"peak RSS {peak:6.0f} MB",
            flush=True,
        )
        last = now

    from chancal.publish import workflow
    from chancal.publish.reconcile import reconcile
    from chancal.verify import verify

    step("imports")

    today = args.today
    stamp = datetime.combine(today, datetime.min.time(), UTC)
    program = workflow.open_program(args.program)
    step("open")
    plan = workflow.plan_year(program, today=today)
    step("plan")
    breaks = tuple(verify(program.config, plan, today=today))
    step("verify")
    reconciled = reconcile(plan, whole_lock(program.lock_path), today=today, stamp=stamp)
    step("reconcile")  # with the lock read whole again, as before `publish.year`
    published = workflow.Published(program, reconciled, breaks, today, 0)
    workflow.write(published, args.out, stamp=stamp)
    step("write feeds, lock")
    print(f"{len(plan.events)} events planned, {len(breaks)} hard-rule breaks")


def whole_lock(path: Path) -> Any:
    """The lock file read whole, in one process, as chancal read it before `publish.year`."""
    from chancal.publish.lock import EMPTY_LOCK
    from chancal.publish.lock_read import read_lines

    if not path.exists():
        return EMPTY_LOCK
    with path.open("rb") as handle:
        return read_lines(handle, str(path))


if __name__ == "__main__":  # the pool's workers import this module: plan only when run
    main()
