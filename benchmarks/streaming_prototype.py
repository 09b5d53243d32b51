"""A measuring prototype of per-manager streaming: each manager from lock lines to bytes.

    python benchmarks/streaming_prototype.py partners.yaml out/

Not chancal, and not a way to publish: it exists to measure, on the real code,
what benchmarks/README.md ("Streaming a manager at a time, costed") predicts
from `stages.py`. Run it beside an export's chancal.lock. The main process
loads the program and finds each partner's lines in the lock (keys begin with
the partner's id and the lock is sorted by key, so they are one range). Then
every process, this one included (`chancal.pool`, as planning uses it today),
takes whole managers, largest first: it reads and checks only that manager's
partners' lock lines, pins them, plans the manager, verifies the manager's
events, reconciles them with those lines, renders every VEVENT and lock line,
and appends those bytes to its own spool file, sending back only where they
lie. The main process then writes the VEVENTs to
`out/all-events.ics-part` and the lock lines to `out/lock-lines`, in the order
the managers were handed out, and prints its timings.

For every partner's event, those bytes are exactly what `chancal export`
writes into all.ics and chancal.lock (a test holds it to that on the example).
Left out, so its time is a lower bound for the real design: shared events
(2 of 180,663 at 10,000 partners), the global order of all.ics, assembling the
partner and manager feeds and comparing them with the disk (about 1.4 s of CPU
at 10,000 partners, `stages.py`), lock entries of partners no longer in the
program, the lock's checks across partners (a key or UID used twice), and the
CLI's report. It reaches into private names of the planner and the verifier
on purpose; delete it once the real design lands.
"""

from __future__ import annotations

import gc
import os
import pickle
import time
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from phases import export_args  # benchmarks/ is a folder of scripts

Ranges = dict[str, tuple[int, int]]
# Where a manager's bytes lie in its process's spool (file, VEVENTs at, lock lines at,
# their end), then its events, breaks found and lock entries read.
Result = tuple[str, int, int, int, int, int, int]

_state: dict[str, Any] = {}
"""In each process: what `start` built for the managers it takes."""


def partner_ranges(lock: Path) -> tuple[bytes, Ranges]:
    """The lock's header line, and where each partner's event lines lie (start, end offsets)."""
    ranges: dict[str, list[int]] = {}
    last = None
    with lock.open("rb") as handle:
        header = handle.readline()
        offset = len(header)
        for line in handle:
            if line.startswith(b'{"key": "'):
                prefix = line[9 : line.find(b"/", 9)].decode()
                if prefix != last:
                    ranges[prefix] = [offset, offset]
                    last = prefix
                ranges[prefix][1] = offset + len(line)
            offset += len(line)
    return header, {k: (a, b) for k, (a, b) in ranges.items()}


def start(payload: bytes) -> None:
    """Build this process's planner, verifier sides and per-manager plan skeletons, once."""
    from chancal.exporters.ics import EventWriter
    from chancal.plan import Plan
    from chancal.planner import build
    from chancal.verify import Referee

    gc.disable()  # as the CLI does
    config, today, stamp, lock, header, ranges, out = pickle.loads(payload)
    # Given non-empty, the planner keeps this very dict: each manager's pins go into it.
    pinned: dict[str, Any] = {"": None}
    planner = build.Planner(config, today, pinned)
    pinned.clear()
    skeleton = Plan(
        program_id=planner.pid,
        program_name=config.program.name,
        timezone=config.program.timezone,
        year_start=config.program.year_start,
        year_end=config.program.year_end,
        events=(),
        partners=planner.writer.partner_infos(),
        managers=planner.writer.manager_infos(planner.wants.manager_side),
        tiers=planner.writer.tier_infos(),
        review_kinds=planner.review_kinds,
    )
    partners_of: dict[str, list[str]] = defaultdict(list)
    for partner in config.partners:
        partners_of[partner.manager].append(partner.id)
    partner_info = {p.id: p for p in skeleton.partners}
    manager_info = {m.id: m for m in skeleton.managers}
    _state.update(
        config=config,
        today=today,
        stamp=stamp,
        planner=planner,
        pins=pinned,
        # The verifier's sides of every manager and partner, built once, not per manager.
        sides=Referee(config, today),
        skeletons={
            m: replace(
                skeleton,
                partners=tuple(partner_info[p] for p in sorted(ids)),
                managers=(manager_info[m],),
            )
            for m, ids in partners_of.items()
        },
        partners_of=partners_of,
        writer=EventWriter(stamp),
        lock=str(lock),
        fd=os.open(lock, os.O_RDONLY),
        # Bytes go to this process's own file as they are made, never held: only offsets travel.
        spool=(out / f".spool-{os.getpid()}").open("ab"),
        header=header,
        ranges=ranges,
    )


def verify_manager(plan: Any) -> int:
    """The verifier's rules over one manager's events, on sides built once; the breaks found."""
    return len(_state["sides"].judge(plan))


def manager(manager_id: str) -> Result:
    """One manager from its partners' lock lines to its VEVENTs and lock lines, as bytes."""
    from chancal.planner.order import event_order
    from chancal.publish.lock import entry_line, pins
    from chancal.publish.lock_read import read_lines
    from chancal.publish.reconcile import reconcile

    lines = [_state["header"]]
    for partner_id in _state["partners_of"][manager_id]:
        found = _state["ranges"].get(partner_id)
        if found:
            begin, end = found
            lines += os.pread(_state["fd"], end - begin, begin).splitlines(keepends=True)
    locked = read_lines(lines, _state["lock"])
    _state["pins"].update(pins(locked))
    events, diagnostics = _state["planner"].plan_batch(manager_id)
    plan = replace(
        _state["skeletons"][manager_id],
        events=tuple(sorted(events, key=event_order)),
        diagnostics=tuple(diagnostics),
    )
    breaks = verify_manager(plan)
    year = reconcile(plan, locked, today=_state["today"], stamp=_state["stamp"])
    render = _state["writer"].event
    vevents = b"".join(render(e) for e in year.plan.events)
    lock_lines = b"".join(entry_line(e) + b"\n" for e in year.lock.entries)
    spool = _state["spool"]
    at = spool.tell()
    spool.write(vevents)
    spool.write(lock_lines)
    spool.flush()
    end = spool.tell()
    counts = len(year.plan.events), breaks, len(locked.entries)
    return spool.name, at, at + len(vevents), end, *counts


def main() -> None:
    args = export_args(__doc__.splitlines()[0])
    gc.disable()
    began = time.perf_counter()
    from chancal import pool
    from chancal.loader import load
    from chancal.planner import parallel

    config = load(args.program).config
    parallel.warm_up(len(config.partners))
    loaded = time.perf_counter()
    lock = args.program.parent / "chancal.lock"
    header, ranges = partner_ranges(lock)
    scanned = time.perf_counter()
    stamp = datetime.combine(args.today, datetime.min.time(), UTC)
    args.out.mkdir(parents=True, exist_ok=True)
    payload = pickle.dumps((config, args.today, stamp, lock, header, ranges, args.out), 5)
    start(payload)
    sizes: dict[str, int] = defaultdict(int)
    for partner in config.partners:
        sizes[partner.manager] += 1
    order = sorted(sizes, key=lambda m: (-sizes[m], m))
    ready = time.perf_counter()
    done = pool.run(
        manager,
        order,
        manager,
        processes=pool.available(),
        initializer=start,
        payload=payload,
    )
    managed = time.perf_counter()
    _state["spool"].close()
    spools = {name: os.open(name, os.O_RDONLY) for name, *_ in done.results}
    with (args.out / "all-events.ics-part").open("wb") as vevents:
        vevents.writelines(os.pread(spools[r[0]], r[2] - r[1], r[1]) for r in done.results)
    with (args.out / "lock-lines").open("wb") as lock_lines:
        lock_lines.writelines(os.pread(spools[r[0]], r[3] - r[2], r[2]) for r in done.results)
    for fd in spools.values():
        os.close(fd)
    for spool in args.out.glob(".spool-*"):  # a worker that took no manager left an empty one
        spool.unlink()
    ended = time.perf_counter()
    events = sum(r[4] for r in done.results)
    breaks = sum(r[5] for r in done.results)
    read = sum(r[6] for r in done.results)
    print(
        f"{len(done.pids)} processes: load {loaded - began:.2f} s, lock ranges "
        f"{scanned - loaded:.2f} s, start {ready - scanned:.2f} s, managers "
        f"{managed - ready:.2f} s, write {ended - managed:.2f} s, total {ended - began:.2f} s "
        f"(CPU of this process {time.process_time():.2f} s)"
    )
    print(f"{events:,} events, {read:,} lock entries read, {breaks:,} breaks")


if __name__ == "__main__":  # pool workers import this module: run only as a script
    main()
