"""Each stage of one export timed in one process, and what moving its data between processes costs.

    python benchmarks/stages.py partners.yaml out/ [--today 2027-01-01]

Run it beside an export's chancal.lock (and with `out/` holding that export's
feeds) to cost a re-export; without them it costs a first export. Everything
runs in this process (`CHANCAL_JOBS=1`), so each stage's CPU time is the work
itself, whoever would do it. The last lines pickle and unpickle what a design
that spreads the year over processes would have to send between them: the
planned events, the lock's entries, each event's rendered VEVENT and lock line
as bytes, and the program (each worker's payload); then, as the pool sends
them, each manager's part of the year (its events, lock entries and changes).

These are the figures the per-manager streaming design in benchmarks/README.md
("Streaming a manager at a time, costed") is costed from; `phases.py` gives
the wall time of the export as it runs today, planning workers included.
"""

from __future__ import annotations

import gc
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

from phases import export_args, whole_lock  # benchmarks/ is a folder of scripts

T = TypeVar("T")


def stage(label: str, work: Callable[[], T]) -> T:
    """Run `work`, print its CPU and wall seconds, return what it returned."""
    cpu, wall = time.process_time(), time.perf_counter()
    value = work()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{label:48s} cpu {cpu:7.2f} s   wall {wall:7.2f} s", flush=True)
    return value


def main() -> None:
    args = export_args(__doc__.splitlines()[0])
    os.environ["CHANCAL_JOBS"] = "1"  # every stage in this process: CPU time is the work
    gc.disable()  # as in the CLI (chancal.__main__)

    from chancal import planner
    from chancal.exporters.ics import EventWriter
    from chancal.plan import managers_of
    from chancal.publish import workflow
    from chancal.publish.feeds import router, select_feeds
    from chancal.publish.lock import dump_chunks, entry_line, pins
    from chancal.publish.reconcile import reconcile
    from chancal.publish.spool import write_events
    from chancal.publish.vevents import Here, new_folder
    from chancal.publish.year import Settings, _Process
    from chancal.verify import verify

    today = args.today
    stamp = datetime.combine(today, datetime.min.time(), UTC)
    program = stage("open: load and check the program", lambda: workflow.open_program(args.program))
    # Opened again, to time the lock alone (open_program read it above too).
    lock = stage("read the lock (parse, check every line)", lambda: whole_lock(program.lock_path))
    pinned = stage("pins from the lock", lambda: pins(lock))
    config = program.config
    plan = stage("plan", lambda: planner.make_plan(config, today=today, pins=pinned))
    breaks = stage("verify", lambda: tuple(verify(config, plan, today=today)))
    reconciled = stage("reconcile", lambda: reconcile(plan, lock, today=today, stamp=stamp))
    year = reconciled.plan

    feeds = stage("write: select the feeds", lambda: select_feeds(year))
    ordered = stage(
        "write: put the events in feed order, name their feeds",
        lambda: Here(year.events, stamp, managers_of(year.partners)),
    )
    route = router(feeds)

    def render() -> None:
        with tempfile.TemporaryFile() as spool:
            write_events(ordered.items(), route, len(feeds), spool)

    stage("write: render every event once (the spool)", render)
    stage("write: the lock's bytes", lambda: sum(map(len, dump_chunks(reconciled.lock))))
    published = workflow.Published(program, reconciled, breaks, today, 0)
    stage(
        "write: all of it (files compared or written)",
        lambda: workflow.write(published, args.out, stamp=stamp),
    )

    writer = EventWriter(stamp)
    sent: list[tuple[str, object]] = [
        ("planned events", list(plan.events)),
        ("lock entries", list(lock.entries)),
        ("rendered VEVENTs, bytes each", [writer.event(e) for e in year.events]),
        ("lock lines, bytes each", [entry_line(e) for e in reconciled.lock.entries]),
        ("the program (a worker's payload)", config),
    ]
    for label, value in sent:
        data = stage(f"pickle {label}", partial(pickle.dumps, value, pickle.HIGHEST_PROTOCOL))
        stage(f"unpickle it ({len(data) / 1e6:,.0f} MB)", partial(pickle.loads, data))

    # What the pool really sends for `export --ics`: each manager's part of the year,
    # pickled on its own (its events rendered to a scratch folder, not sent).
    folder = new_folder()
    settings = Settings(today, stamp, False, planned=False, published=False, vevents=folder)
    here = _Process(config, program.lock_index, settings)
    parts = stage(
        "each manager read, planned, judged, reconciled, rendered",
        lambda: [here.manager(m) for m in here.planner.manager_ids()],
    )
    here.close()
    shutil.rmtree(folder)
    pickled = stage(
        "pickle each manager's part, as workers send it",
        lambda: [pickle.dumps(part, pickle.HIGHEST_PROTOCOL) for part in parts],
    )
    size = sum(map(len, pickled)) / 1e6
    stage(f"unpickle them ({size:,.0f} MB)", lambda: [pickle.loads(data) for data in pickled])
    print(
        f"{len(plan.events):,} events planned, {len(lock.entries):,} in the lock read, "
        f"{len(feeds):,} feeds"
    )


if __name__ == "__main__":  # run only as a script, not when imported
    main()
