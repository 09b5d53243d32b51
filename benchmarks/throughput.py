"""Child process of run.py: exporter throughput and memory, and the icalendar baseline.

    python benchmarks/throughput.py --probe
    python benchmarks/throughput.py prepare FILE    # load + plan once, pickle to FILE.plan
    python benchmarks/throughput.py fast FILE       # the ICS exporter, every feed
    python benchmarks/throughput.py naive FILE --sample 2000
    python benchmarks/throughput.py memory FILE     # the exporter's traced peak memory
    python benchmarks/throughput.py files FOLDER    # ms to create one 12 KB file there

Rates are per second of wall time, as the issue states; CPU seconds come along.
Loading and planning are not timed; only the export is. `prepare` plans once
and pickles the plan beside the program, so each timed child starts from the
same plan without planning again. Each mode prints one JSON line. Run in a fresh
process per measurement, so caches and allocator state of one do not flatter
the next.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def stamp() -> datetime:
    """DTSTAMP from SOURCE_DATE_EPOCH, like the CLI (fixed, so runs are comparable)."""
    return datetime.fromtimestamp(int(os.environ.get("SOURCE_DATE_EPOCH", "1798761600")), UTC)


def plan_path(path: Path) -> Path:
    """Where `prepare` keeps the pickled plan of a program."""
    return path.with_suffix(".plan.pickle")


def prepare(path: Path) -> dict[str, float]:
    """Load and plan a program once; pickle the plan for the timed children."""
    from chancal.loader import load
    from chancal.planner import make_plan

    start = time.perf_counter()
    plan = make_plan(load(path).config)
    seconds = time.perf_counter() - start
    with plan_path(path).open("wb") as f:
        pickle.dump(plan, f, protocol=pickle.HIGHEST_PROTOCOL)
    return {"events": len(plan.events), "seconds": seconds}


def load_plan(path: Path) -> Any:
    """Return the plan `prepare` pickled (untimed)."""
    with plan_path(path).open("rb") as f:
        return pickle.load(f)


def exporter() -> Callable[[Any, Path, datetime], int]:
    """Return a function that writes every ICS feed of a plan to a folder; bytes written.

    Uses what `chancal export --ics` calls: chancal.publish.feeds.write_feeds.
    """
    from chancal.publish.feeds import write_feeds as write

    def run(plan: Any, folder: Path, when: datetime) -> int:
        write(plan, folder, stamp=when)
        return sum(p.stat().st_size for p in folder.rglob("*.ics"))

    return run


def fast(path: Path) -> dict[str, float]:
    """Time the exporter writing every feed of the plan: into an empty folder, then again.

    The folder is made beside the program (run.py's work folder), not in the
    system temp folder, whose file creation can cost far more than where
    users keep their calendars. The first export creates every file (a first
    publish); the second finds them all up to date, as CI does on a push that
    changed nothing, and still serialises every event, streams all.ics and
    assembles and compares every feed.
    """
    plan = load_plan(path)
    export = exporter()
    gc.collect()
    with tempfile.TemporaryDirectory(prefix="feeds-", dir=path.parent) as tmp:
        start, cpu_start = time.perf_counter(), time.process_time()
        written = export(plan, Path(tmp), stamp())
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        start, cpu_start = time.perf_counter(), time.process_time()
        export(plan, Path(tmp), stamp())
        again, again_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    events = len(plan.events)
    return {
        "events": events,
        "feeds": len(plan.partners) + len(plan.managers) + 1,
        "seconds": seconds,
        "cpu": cpu,
        "events_per_second": events / seconds,
        "again_seconds": again,
        "again_cpu": again_cpu,
        "again_events_per_second": events / again,
        "output_mb": written / 2**20,
    }


def file_cost(folder: Path, count: int = 2000) -> dict[str, float]:
    """Milliseconds to create, write (12 KB, a partner feed) and close one file in `folder`."""
    data = b"x" * 12_000
    with tempfile.TemporaryDirectory(prefix="files-", dir=folder) as tmp:
        start = time.perf_counter()
        for i in range(count):
            with open(os.path.join(tmp, f"{i}.ics"), "wb") as f:
                f.write(data)
        seconds = time.perf_counter() - start
    return {"ms_per_file": seconds / count * 1000}


def memory(path: Path) -> dict[str, float]:
    """Trace the exporter's own peak allocation (beyond the plan it is given)."""
    plan = load_plan(path)
    export = exporter()
    gc.collect()
    with tempfile.TemporaryDirectory(prefix="feeds-", dir=path.parent) as tmp:
        tracemalloc.start()
        written = export(plan, Path(tmp), stamp())
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {"events": len(plan.events), "peak_mb": peak / 2**20, "output_mb": written / 2**20}


def icalendar_event(ev: Any, when: datetime) -> Any:
    """Build one VEVENT with the icalendar object model, with the fields chancal writes."""
    import icalendar

    out = icalendar.Event()
    out.add("uid", ev.uid)
    out.add("dtstamp", when)
    out.add("dtstart", ev.start)
    out.add("dtend", ev.end)
    out.add("summary", ev.title)
    if ev.description:
        out.add("description", ev.description)
    if ev.location:
        out.add("location", ev.location)
    out.add("categories", [ev.kind, ev.purpose])
    if ev.organizer is not None:
        organizer = icalendar.vCalAddress(f"mailto:{ev.organizer.email}")
        organizer.params["cn"] = icalendar.vText(ev.organizer.name)
        out.add("organizer", organizer)
    for person in ev.attendees:
        attendee = icalendar.vCalAddress(f"mailto:{person.email}")
        attendee.params["cn"] = icalendar.vText(person.name)
        attendee.params["cutype"] = icalendar.vText("INDIVIDUAL")
        attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = icalendar.vText("NEEDS-ACTION")
        attendee.params["rsvp"] = icalendar.vText("FALSE")
        out.add("attendee", attendee, encode=False)
    out.add("status", ev.status)
    out.add("sequence", ev.sequence)
    out.add("transp", "OPAQUE")
    out.add("class", "PUBLIC")
    for reminder in ev.reminders:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", -reminder)
        alarm.add("description", ev.title)
        out.add_component(alarm)
    return out


def sample_events(events: Sequence[Any], size: int) -> list[Any]:
    """Every k-th event, so the sample mixes kinds, tiers and time zones like the whole."""
    step = max(1, len(events) // size)
    return list(events[::step][:size])


def naive(path: Path, size: int) -> dict[str, float]:
    """Build and serialise a sample of the plan's events as icalendar objects; scale per event."""
    import icalendar

    plan = load_plan(path)
    events = sample_events(plan.events, size)
    when = stamp()
    icalendar_event(events[0], when).to_ical()  # import and first-use costs are not per event
    gc.collect()
    start, cpu_start = time.perf_counter(), time.process_time()
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//chancal benchmark//EN")
    calendar.add("version", "2.0")
    for ev in events:
        calendar.add_component(icalendar_event(ev, when))
    data = calendar.to_ical()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    del calendar, data
    gc.collect()
    # Memory per event of the object model, traced separately (tracing slows the timing).
    tracemalloc.start()
    kept = [icalendar_event(ev, when) for ev in events]
    traced, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    return {
        "events": len(events),
        "seconds": seconds,
        "cpu": cpu,
        "events_per_second": len(events) / seconds,
        "bytes_per_event": traced / len(events),
    }


def main(argv: list[str] | None = None) -> int:
    """Run one measurement and print it as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probe", action="store_true", help="exit 0 if the exporter exists")
    parser.add_argument("mode", nargs="?", choices=("prepare", "fast", "naive", "memory", "files"))
    parser.add_argument("file", nargs="?", type=Path)
    parser.add_argument("--sample", type=int, default=2000)
    args = parser.parse_args(argv)
    if args.probe:
        try:
            import chancal.planner  # noqa: F401

            exporter()
        except ImportError as exc:
            print(f"exporter not available yet: {exc}")
            return 1
        return 0
    if args.mode is None or args.file is None:
        parser.error("give a mode and a program file")
    gc.disable()  # as `chancal` itself runs (see chancal.__main__)
    if args.mode == "prepare":
        result = prepare(args.file)
    elif args.mode == "fast":
        result = fast(args.file)
    elif args.mode == "memory":
        result = memory(args.file)
    elif args.mode == "files":
        result = file_cost(args.file)
    else:
        result = naive(args.file, args.sample)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
