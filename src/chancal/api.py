"""chancal as a Python library: load a program, plan its year, check it, publish it.

The same calls the CLI makes, for scripts and notebooks::

    from chancal import api

    program = api.load("partners.yaml")
    year = api.plan(program, today=date(2027, 1, 4))
    report = api.check(program, year)
    stamp = datetime(2027, 1, 4, tzinfo=UTC)
    api.publish(program, "calendars", today=date(2027, 1, 4), stamp=stamp)
    api.push_caldav(program, "https://dav.example.com/ops/", today=date(2027, 1, 4), stamp=stamp)

Errors a user can fix raise `chancal.errors.ChancalError` (its `exit_code`
is what the CLI would exit with); a year that breaks a hard rule, leaves
events unplaced or would cancel more than a quarter of the published events
still ahead raises `Refused` from `publish` and `push_caldav`, and nothing is
written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from chancal.health import check_health
from chancal.plan import Plan
from chancal.publish import caldav_push, caldav_server, workflow
from chancal.publish.workflow import Program, Publication, Refused
from chancal.scores import HealthReport

__all__ = [
    "Program",
    "Publication",
    "PushInterrupted",
    "PushOutcome",
    "Refused",
    "check",
    "load",
    "plan",
    "publish",
    "push_caldav",
]

PushOutcome = caldav_push.Outcome
PushInterrupted = caldav_server.PushInterrupted


def load(path: str | Path) -> Program:
    """Load and validate a program file and read its lock (ConfigError lists every problem)."""
    return workflow.open_program(Path(path))


def plan(program: Program, *, today: date) -> Plan:
    """The year as `chancal plan` shows it: published dates kept, nothing before `today` moved."""
    return workflow.plan_year(program, today=today)


def check(program: Program, year: Plan) -> HealthReport:
    """Score each partner's planned year against the principles, as `chancal check` does."""
    settings = program.config.program
    return check_health(year, settings.health, strategy_gap=settings.strategy_gap)


def publish(
    program: Program,
    out: str | Path,
    *,
    today: date,
    stamp: datetime,
    allow_unplaced: bool = False,
    allow_mass_cancel: bool = False,
) -> Publication:
    """Plan, verify, reconcile with the lock and write the feeds and the lock, as export does."""
    published = workflow.publish(program, today=today, stamp=stamp, formats=workflow.ICS_ONLY)
    why = workflow.refusal(
        published, allow_unplaced=allow_unplaced, allow_mass_cancel=allow_mass_cancel
    )
    if why is not None:
        raise Refused(f"refusing to publish: {why}; nothing was written")
    return workflow.write(published, Path(out), stamp=stamp)


def push_caldav(
    program: Program,
    url: str | None = None,
    *,
    today: date,
    stamp: datetime,
    partners: Sequence[str] | None = None,
    managers: Sequence[str] | None = None,
    dry_run: bool = False,
    force: bool = False,
    allow_unplaced: bool = False,
    allow_mass_cancel: bool = False,
) -> PushOutcome:
    """Plan, verify, reconcile and push into CalDAV calendars, as `chancal publish` does.

    `url` defaults to the program's `publish.caldav.url`; credentials come from
    CHANCAL_CALDAV_USER and CHANCAL_CALDAV_PASSWORD (else ~/.netrc). Events
    someone changed on the server are kept and listed in the outcome's
    `conflicts` (the CLI exits 1 on them) unless `force`. Raises `Refused` as
    `publish` does, `UsageError` for an unknown partner or manager id, refused
    credentials or a redirect (nothing written), and `PushInterrupted` when the
    server is down or stops answering (what was written is recorded: call again).
    """
    published = workflow.publish(program, today=today, stamp=stamp)
    why = workflow.refusal(
        published, allow_unplaced=allow_unplaced, allow_mass_cancel=allow_mass_cancel
    )
    if why is not None:
        raise Refused(f"refusing to publish: {why}; nothing was written")
    return caldav_push.push_published(
        published,
        url,
        stamp=stamp,
        partners=partners,
        managers=managers,
        dry_run=dry_run,
        force=force,
    )
