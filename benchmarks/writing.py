"""Time the last step of an export alone: staging, comparing and committing the files.

    python benchmarks/writing.py prepare partners.yaml year.pickle   # plan once
    python benchmarks/writing.py time year.pickle --runs 5           # then time `write`

`prepare` plans the program as `export` would (today and stamp 2027-01-01)
and pickles the publication, so that two versions of the writing code can be
timed on the very same year. `time` runs `chancal.publish.workflow.write`
into a new folder (a first export: every file created) and then again into
the same folder (a re-export: every file compared, none written), `--runs`
times each, and prints the median wall and CPU seconds (CPU time moves less
on a shared machine) and each run's wall seconds. The lock is written beside
a copy of the program in a scratch folder.
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

TODAY = date(2027, 1, 1)
STAMP = datetime(2027, 1, 1, tzinfo=UTC)


def prepare(program_file: Path, target: Path) -> None:
    from chancal.publish import workflow

    program = workflow.open_program(program_file)
    published = workflow.publish(program, today=TODAY, stamp=STAMP)
    with target.open("wb") as handle:
        pickle.dump(published, handle, protocol=pickle.HIGHEST_PROTOCOL)
    print(f"{len(published.reconciled.plan.events)} events, pickled to {target}")


def time_writes(source: Path, runs: int) -> None:
    from chancal.publish import workflow

    with source.open("rb") as handle:
        published = pickle.load(handle)
    first: list[tuple[float, float]] = []
    again: list[tuple[float, float]] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="chancal-writing-") as scratch:
            folder = Path(scratch)
            program = replace(published.program, lock_path=folder / "chancal.lock")
            run = replace(published, program=program)
            for times in (first, again):
                began, cpu = time.perf_counter(), time.process_time()
                workflow.write(run, folder / "out", stamp=STAMP)
                times.append((time.perf_counter() - began, time.process_time() - cpu))
            shutil.rmtree(folder / "out")
    for label, times in (("first export", first), ("re-export", again)):
        wall = statistics.median(t for t, _ in times)
        cpu = statistics.median(c for _, c in times)
        each = " ".join(f"{t:.2f}" for t, _ in times)
        print(f"{label:13s} median {wall:6.2f} s (cpu {cpu:5.2f} s)   runs: {each}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prep = commands.add_parser("prepare")
    prep.add_argument("program", type=Path)
    prep.add_argument("pickle", type=Path)
    timing = commands.add_parser("time")
    timing.add_argument("pickle", type=Path)
    timing.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.program, args.pickle)
    else:
        time_writes(args.pickle, args.runs)


if __name__ == "__main__":  # the pool's workers import this module: plan only when run
    main()
