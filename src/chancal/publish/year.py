"""The year a manager at a time: each process reads, plans, judges and reconciles whole managers.

A manager's partners are planned against that manager's calendar only, and
every event's key begins with its partner's id, so a manager's part of the
year depends on the program and on that manager's partners' lines of the lock,
nothing else. Each process (`chancal.pool`, this one included) takes whole
managers, largest portfolio first, and for each: reads and checks its
partners' lines of the lock (`lock_index.read_partners`), pins what they
published, plans the manager, judges its events with the independent
verifier, reconciles them with those lines and, for ICS feeds, renders the
events as published (`chancal.publish.vevents`). It sends back only what the
caller needs (`Settings`). This process adds what belongs to no manager (the
shared events, and the lock's events of partners no longer in the program)
and merges the parts: every list is sorted again, so the year is the same
whichever process did which manager.

Before, this process read the whole lock (5-7 s of a 10,000-partner
re-export), then judged and reconciled the whole year alone, while the other
processes had nothing to do (benchmarks/README.md, "The year a manager at a time").
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from chancal import pool
from chancal.errors import ConfigError, Problem
from chancal.models import Config
from chancal.plan import Diagnostic, Event, Plan, managers_of
from chancal.planner import constraints, parallel
from chancal.planner.build import Planner
from chancal.publish import lock_index
from chancal.publish.lock import Lines, LockEntry, pins
from chancal.publish.lock_index import LockIndex, UidLines
from chancal.publish.reconcile import Part, Reconciled, merge, reconcile_part
from chancal.publish.vevents import Appender, Block, Rendered
from chancal.verify import Break, Referee, in_order

_TOO_MANY_PROBLEMS = 20  # as reading a whole lock reports


@dataclass(frozen=True, slots=True)
class Year:
    """The year as planned, the verifier's verdict and, when asked for, reconciled with the lock."""

    plan: Plan  # its partners' events only when `Settings.planned`
    breaks: tuple[Break, ...]
    reconciled: Reconciled | None  # its plan's events only when `Settings.published`
    live_ahead: int  # events the lock publishes that are live and not yet over
    vevents: Rendered | None  # the events as published, rendered (`Settings.vevents`)


@dataclass(frozen=True, slots=True)
class _Manager:
    """One manager's part of the year, as a process sends it back."""

    events: list[Event]  # as planned (none unless `Settings.planned`)
    diagnostics: list[Diagnostic]
    breaks: set[Break]
    reconciled: Part | None  # its entries sent as `lines` instead
    vevents: Block | None  # its events as published, rendered (`Settings.vevents`)
    lines: list[Lines]  # its partners' lines of the new lock (`lock_index.written_lines`)
    problems: tuple[Problem, ...]  # in its partners' lines of the lock
    uid_lines: UidLines  # of its partners' lines of the lock
    live_ahead: int


@dataclass(frozen=True, slots=True)
class Settings:
    """What every process needs to know besides the program and the lock's index."""

    today: date
    stamp: datetime | None  # None: plan and judge only, no reconcile
    replan: bool  # ignore the published dates
    # False: the partners' events as planned stay in the process that planned, judged and
    # reconciled them; only the year as reconciled comes back (benchmarks/README.md,
    # "The year as planned stays where it was planned").
    planned: bool = True
    published: bool = True  # False: the events as published stay where they were reconciled
    # The folder where each process renders the events as published (`chancal.publish.vevents`).
    vevents: str | None = None


def make_year(config: Config, index: LockIndex, rest: lock_index.Part, settings: Settings) -> Year:
    """Plan (and judge and reconcile, with a stamp) the year of a program against its lock.

    `rest` is the lock's part that belongs to no current partner
    (`lock_index.read_rest`). Every problem of the lock, in any part, is raised
    at once (ConfigError), as reading it whole would.
    """
    enabled = gc.isenabled()
    gc.disable()  # as make_plan does, for the same reason (see there)
    try:
        return _make_year(config, index, rest, settings)
    finally:
        constraints.forget()
        if enabled:
            gc.enable()


def _make_year(config: Config, index: LockIndex, rest: lock_index.Part, settings: Settings) -> Year:
    here = _Process(config, index, settings)
    order = here.planner.manager_ids()
    processes = parallel.jobs(len(config.partners))
    parts = pool.run(
        _in_worker,
        order,
        here.manager,
        processes=processes,
        initializer=_start_worker,
        payload=(config, index, settings),
    ).results
    _raise_problems(index, rest, parts)
    planner = here.planner
    events = [e for part in parts for e in part.events]
    plan = planner.year(events + planner.shared, [d for p in parts for d in p.diagnostics])
    breaks = in_order(b for part in parts for b in part.breaks)
    live_ahead = _live_ahead(rest.lock.entries, settings.today)
    live_ahead += sum(part.live_ahead for part in parts)
    if settings.stamp is None:
        return Year(plan, breaks, None, live_ahead, None)
    # What no manager has: the shared events, and the events of partners who left.
    shared = reconcile_part(
        plan, planner.shared, rest.lock.entries, today=settings.today, stamp=settings.stamp
    )
    vevents = None
    if settings.vevents is not None:
        blocks = [here.rendered(shared), *(part.vevents for part in parts)]
        vevents = Rendered(settings.vevents, [b for b in blocks if b is not None])
        here.close()
    shared = here.kept(shared)
    reconciled = merge(
        plan,
        rest.lock.owners,
        [shared, *(part.reconciled for part in parts if part.reconciled is not None)],
        _UidOwner(index, [rest.uid_lines.items(), *(p.uid_lines.items() for p in parts)]),
        [lines for part in parts for lines in part.lines],
        index.source,
    )
    return Year(plan, breaks, reconciled, live_ahead, vevents)


class _Process:
    """What one process builds once from the program, then uses for every manager it takes."""

    def __init__(self, config: Config, index: LockIndex, settings: Settings) -> None:
        self.index, self.settings = index, settings
        self.planner = Planner(config, settings.today, None)
        self.referee = Referee(config, settings.today)
        self.partners_of: dict[str, list[str]] = {}
        for partner in config.partners:
            self.partners_of.setdefault(partner.manager, []).append(partner.id)
        # Every part's plan has the same partners: their managers are looked up once.
        self.manager_of = managers_of(self.planner.infos[0])
        self.appender: Appender | None = None
        if settings.vevents is not None and settings.stamp is not None:
            self.appender = Appender(settings.vevents, settings.stamp, self.manager_of)

    def rendered(self, part: Part) -> Block | None:
        """The part's events as published, rendered to this process's file (`Settings.vevents`)."""
        return None if self.appender is None else self.appender.append(part.events)

    def close(self) -> None:
        """Close this process's file of rendered events (a worker's closes when it exits)."""
        if self.appender is not None:
            self.appender.close()

    def kept(self, part: Part) -> Part:
        """The part as sent: its events as published and its changes (not only their
        counts) only when `Settings.published`."""
        return part if self.settings.published else replace(part, events=[], changes=[])

    def manager(self, manager_id: str) -> _Manager:
        """One manager's part: its lock lines read, planned, judged and reconciled."""
        settings = self.settings
        read = lock_index.read_partners(self.index, self.partners_of[manager_id])
        entries = read.lock.entries
        published = {} if settings.replan else pins(read.lock)
        events, diagnostics = self.planner.plan_batch(manager_id, published)
        # Judged beside the shared events, which are no one's time to plan over.
        part = self.planner.year(events + self.planner.shared, diagnostics)
        breaks = self.referee.judge(part)
        reconciled, vevents, lines = None, None, []
        if settings.stamp is not None:
            reconciled = reconcile_part(
                part,
                events,
                entries,
                today=settings.today,
                stamp=settings.stamp,
                manager_of=self.manager_of,
            )
            # Their lines, not the entries: the main process only writes them, and most
            # are copied from the lock read (benchmarks/README.md, "The lock copied"),
            # the others from this process's scratch file when there is one.
            spill = None if self.appender is None else self.appender.spill
            lines = lock_index.written_lines(self.index, reconciled.entries, spill)
            vevents = self.rendered(reconciled)
            reconciled = self.kept(replace(reconciled, entries=[]))
        return _Manager(
            events if settings.planned else [],
            diagnostics,
            breaks,
            reconciled,
            vevents,
            lines,
            read.problems,
            UidLines.of(read.uid_lines),
            _live_ahead(entries, settings.today),
        )


def _live_ahead(entries: Iterable[LockEntry], today: date) -> int:
    return sum(e.status != "CANCELLED" and e.last_day >= today for e in entries)


def _raise_problems(index: LockIndex, rest: lock_index.Part, parts: list[_Manager]) -> None:
    """Raise every problem of the lock, in any part, at once: the first ones by line."""
    found = [*rest.problems, *(p for part in parts for p in part.problems)]
    uid_parts = [rest.uid_lines.items(), *(part.uid_lines.items() for part in parts)]
    found += lock_index.uids_used_twice(index, uid_parts)
    if found:
        found.sort(key=lambda p: p.line)
        raise ConfigError(found[:_TOO_MANY_PROBLEMS])


class _UidOwner:
    """The key that holds a UID in the lock (None if no event has it), found on its line.

    Asked only for events new to the lock: most runs add none, or a few.
    """

    def __init__(self, index: LockIndex, uid_lines: list[Iterable[tuple[str, int]]]) -> None:
        self.index, self.uid_lines = index, uid_lines
        self.lines: dict[str, int] | None = None
        self.upgraded: dict[str, str] = {}

    def __call__(self, uid: str) -> str | None:
        if self.lines is None:
            self.lines = {}
            for lines in self.uid_lines:
                self.lines.update(lines)
            self.upgraded = lock_index.upgraded_uids(self.index)
        line = self.lines.get(uid)
        if line is None:
            return self.upgraded.get(uid)
        return lock_index.key_on_line(self.index, line)


_worker: _Process | None = None
"""In a worker process: what `_start_worker` built from the program."""


def _start_worker(program: tuple[Config, LockIndex, Settings]) -> None:
    global _worker
    gc.disable()  # as make_year does in this process
    _worker = _Process(*program)


def _in_worker(manager_id: str) -> _Manager:
    assert _worker is not None, "the pool starts every worker with _start_worker"
    return _worker.manager(manager_id)
