"""The one way from a program file to the published year: load, lock, plan, reconcile, write.

Every command goes through `open_program` and `plan_year`, so `plan`,
`check`, `verify`, `diff`, `lock` and `export` all see the same year: the
program planned around what its lock says was published, with nothing
before `today` moved. `publish` adds the verdict of the independent
verifier and the reconciled calendar; `write` (the feed writer,
`chancal.publish.feeds`, then `save_lock`) puts it on disk.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from chancal.errors import ChancalError, ConfigError, Problem, UsageError
from chancal.limits import max_lock_bytes, read_capped
from chancal.loader import STDIN, load
from chancal.models import Config
from chancal.plan import Diagnostic, Plan
from chancal.planner import parallel
from chancal.planner.build import program_id as id_of_program
from chancal.publish import transaction
from chancal.publish.addresses import PRIVATE, Owner, address_book

# Re-exported for the CLI, which reaches publishing only through here.
from chancal.publish.addresses import SECRET_VARIABLE as SECRET_VARIABLE
from chancal.publish.addresses import feed_secret as feed_secret
from chancal.publish.addresses import parse_base_url as parse_base_url
from chancal.publish.addresses import public_leftovers as public_leftovers
from chancal.publish.feeds import ICS_ONLY as ICS_ONLY
from chancal.publish.feeds import Formats as Formats
from chancal.publish.feeds import Written, stale_feeds, write_feeds
from chancal.publish.files import cannot_write, same_bytes
from chancal.publish.lock import LOCK_NAME, YEARS, dump_chunks
from chancal.publish.lock_index import LockIndex, Part, index_lock, read_rest
from chancal.publish.reconcile import Reconciled
from chancal.publish.spool import Progress
from chancal.publish.vevents import Rendered, new_folder
from chancal.publish.year import Settings, Year, make_year
from chancal.scores import HealthReport
from chancal.verify import Break


@dataclass(frozen=True, slots=True)
class Program:
    """A loaded program file and the lock beside it (where each partner's lines are)."""

    file: Path
    # The validated program. Not the text it was read from: nothing after loading
    # needs to locate a value in it (15 MB at 10,000 partners).
    config: Config
    program_id: str
    lock_index: LockIndex
    lock_rest: Part  # the header, the owners, and events of no partner in the program
    lock_path: Path


@dataclass(frozen=True, slots=True)
class Published:
    """The year as it would be published: verified, reconciled with the lock."""

    program: Program
    # Its plan keeps the diagnostics of the year as planned, and its events (as published)
    # unless it was published for ICS feeds alone (`publish`'s formats).
    reconciled: Reconciled
    breaks: tuple[Break, ...]  # hard-rule breaks the verifier found in the year as planned
    today: date  # nothing before it moves
    live_ahead: int  # events the lock publishes that are live and not yet over
    for_formats: Formats | None = None  # what it was published for (`publish`)
    # The year as planned, scored as `chancal check` scores it: only when published for
    # the site's pages.
    report: HealthReport | None = None
    # The events as published, rendered where they were reconciled: when published for
    # ICS feeds.
    vevents: Rendered | None = None

    @property
    def event_count(self) -> int:
        """How many events (withdrawn copies included) the feeds publish."""
        if self.vevents is not None:
            return self.vevents.count
        return len(self.reconciled.plan.events)

    @property
    def mass_cancel(self) -> tuple[int, int] | None:
        """(cancelled, published still ahead) when this run would cancel too many events.

        A blackout typed as the whole year, or a tier deleted by mistake, would
        otherwise cancel a year of meetings in every subscriber's calendar.
        """
        cancelled = self.reconciled.counts["cancelled"]
        if cancelled < MASS_CANCEL_MIN:
            return None
        ahead = self.live_ahead
        return (cancelled, ahead) if cancelled > MASS_CANCEL_SHARE * ahead else None

    @property
    def unplaced(self) -> tuple[Diagnostic, ...]:
        """Events the program asks for that could not be placed."""
        return tuple(d for d in self.reconciled.plan.diagnostics if d.code == "unplaced")

    def lock_chunks(self) -> Iterator[bytes]:
        """The lock file that records this publication, in pieces of about a megabyte."""
        return dump_chunks(self.reconciled.lock)


def open_program(file: Path) -> Program:
    """Load and validate a program file, and read its lock (empty when there is none yet).

    A publication that stopped half-way beside the lock is completed first,
    so the lock read is the one the feeds on disk were published with.

    A lock that belongs to another program is refused (UsageError), never reconciled.
    """
    # A program is opened to be planned (every command, `api.load` then `plan`): the
    # planning workers' fork server starts now, judged by the file's size, and is ready
    # once the lock is read; failing that, once the partners are counted.
    with contextlib.suppress(OSError, ValueError):
        parallel.warm_up_for_file(file.stat().st_size if str(file) != STDIN else 0)
    located = load(file)
    parallel.warm_up(len(located.config.partners))
    ident = id_of_program(located.config.program)
    lock_path = lock_path_for(file, ident)
    transaction.recover(lock_path.parent)  # an export that stopped half-way ends first
    transaction.remove_abandoned_staging(lock_path.parent)
    # Each partner's events are read by the process that plans its manager
    # (`chancal.publish.year`); the rest, header first, here and now.
    index = index_lock(lock_path)
    rest = read_rest(index, {p.id for p in located.config.partners})
    program_id = rest.lock.program_id
    if index.exists and program_id is None:  # no header to go by: nothing else is read
        raise ConfigError(list(rest.problems))
    if program_id is not None and program_id != ident:
        raise UsageError(_foreign(lock_path, program_id, ident, file))
    return Program(file, located.config, ident, index, rest, lock_path)


def plan_year(program: Program, *, today: date, replan: bool = False) -> Plan:
    """Plan the program's year, keeping published dates (unless `replan`) and the past."""
    return _year(program, Settings(today, None, replan)).plan


def publish(
    program: Program,
    *,
    today: date,
    stamp: datetime,
    replan: bool = False,
    formats: Formats | None = None,
) -> Published:
    """Plan, verify and reconcile the year with the lock: what `export` would publish.

    Nothing is written but scratch files. With `formats` (what `write` will
    write), this process holds only what they need: for ICS feeds, the
    planning processes render the events as published (`Published.vevents`,
    in a scratch folder removed with it); the events themselves come back as
    objects only for tables and pages, and the year as planned only for the
    pages' scores (`Published.report`). Without, the events as published come
    back as objects (for `diff`, CalDAV and the library's callers).
    """
    objects = formats is None or formats.csv or formats.html
    scored = formats is not None and formats.html
    folder = new_folder() if formats is not None and formats.ics else None
    settings = Settings(today, stamp, replan, scored, objects, folder)
    try:
        year = _year(program, settings)
    except BaseException:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    assert year.reconciled is not None, "a stamp asks for the year reconciled"
    report = _scores(program.config, year.plan) if scored else None
    return Published(
        program,
        year.reconciled,
        year.breaks,
        today,
        year.live_ahead,
        formats,
        report,
        year.vevents,
    )


def _year(program: Program, settings: Settings) -> Year:
    return make_year(program.config, program.lock_index, program.lock_rest, settings)


@dataclass(frozen=True, slots=True)
class Publication:
    """What `write` put on disk: the feeds with their event counts, and whether the lock."""

    feeds: Written
    lock_written: bool


class Refused(ChancalError):
    """The planned year must not be published: a hard-rule break, or unplaced events."""

    exit_code = 1


MASS_CANCEL_SHARE = 0.25
"""A run that would cancel more than this share of the published events still ahead stops."""
MASS_CANCEL_MIN = 10
"""Fewer cancellations never stop a run: removing a small partner is ordinary."""


def refusal(
    published: Published, *, allow_unplaced: bool, allow_mass_cancel: bool = False
) -> str | None:
    """Why this year must not be published, or None when it may be."""
    if published.breaks:
        return (
            f"{len(published.breaks)} hard-rule break(s) in the planned year "
            "(a chancal bug: please report it with the program)"
        )
    if published.unplaced and not allow_unplaced:
        return (
            f"{len(published.unplaced)} event(s) the program asks for could not be placed "
            "(pass allow_unplaced to publish the year without them)"
        )
    found = published.mass_cancel
    if found and not allow_mass_cancel:
        return (
            f"it would cancel {found[0]} of the {found[1]} published events still ahead "
            "(a blackout or a removal that large is usually a mistake; "
            "pass allow_mass_cancel if it is meant)"
        )
    return None


def write(
    published: Published,
    out: Path,
    *,
    stamp: datetime,
    partners: Sequence[str] | None = None,
    managers: Sequence[str] | None = None,
    progress: Progress | None = None,
    formats: Formats = ICS_ONLY,
) -> Publication:
    """Write the feeds under `out` and the lock (only if it changed) as one transaction.

    A folder another program published into is refused first (UsageError).
    The new lock is staged before any feed, so whatever would stop it (a
    read-only folder, a full disk) stops the run with every file as it was;
    it is committed with the feeds (`chancal.publish.transaction`): a run
    that dies half-way is completed by the next one that opens the program.
    """
    program = published.program
    refuse_foreign_feeds(out, program)
    staged = _stage_lock(published)
    try:
        written = write_feeds(
            published.reconciled.plan,
            out,
            stamp=stamp,
            partners=partners,
            managers=managers,
            progress=progress,
            formats=formats,
            lock=None if staged is None else _lock_move(staged, program.lock_path),
            report=_site_scores(published) if formats.html else None,
            vevents=_vevents(published, formats),
        )
    finally:
        if staged is not None:
            staged.unlink(missing_ok=True)
    return Publication(written, lock_written=staged is not None)


def out_of_date(
    published: Published,
    out: Path,
    *,
    stamp: datetime,
    partners: Sequence[str] | None = None,
    managers: Sequence[str] | None = None,
    formats: Formats = ICS_ONLY,
) -> list[Path]:
    """The lock and feed files that `write` would create or change; nothing is written.

    A folder another program published into is refused (UsageError), as `write` would.
    """
    program = published.program
    refuse_foreign_feeds(out, program)
    stale = [program.lock_path] if lock_is_stale(published) else []
    if out.is_dir():
        plan = published.reconciled.plan
        found = stale_feeds(
            plan,
            out,
            stamp=stamp,
            partners=partners,
            managers=managers,
            formats=formats,
            report=_site_scores(published) if formats.html else None,
            vevents=_vevents(published, formats),
        )
        stale += [out / path for path in found]
    return stale


def _site_scores(published: Published) -> HealthReport:
    """The scores the site's pages show: the year was published for them."""
    if published.report is None:
        raise ValueError("the site's pages need the year published for them (publish's formats)")
    return published.report


def _vevents(published: Published, formats: Formats) -> Rendered | None:
    """The events rendered for the ICS feeds, after checking `formats` were published for."""
    kept = published.for_formats
    if kept is not None and ((formats.csv and not kept.csv) or (formats.html and not kept.html)):
        raise ValueError("tables and pages need the year published for them (publish's formats)")
    return published.vevents


def _scores(config: Config, plan: Plan) -> HealthReport:
    """The health check of the year as planned, as `chancal check` scores it."""
    from chancal.health import check_health  # only for pages: an ICS export does without it

    return check_health(plan, config.program.health, strategy_gap=config.program.strategy_gap)


def address_list(published: Published, formats: Formats) -> bytes:
    """Where `write` puts every partner's, manager's and the program's files, as CSV."""
    plan = published.reconciled.plan
    owners: list[tuple[Owner, str, str]] = [("all", plan.program_id, plan.program_name)]
    owners += [("partner", p.id, p.name) for p in plan.partners]
    owners += [("manager", m.id, m.name) for m in plan.managers]
    return address_book(
        owners,
        secret=formats.secret,
        base_url=formats.base_url,
        page=formats.html,
        feed=formats.ics,
        table=formats.csv,
    )


def lock_path_for(program: Path, program_id: str) -> Path:
    """Where a program file's lock lives: one lock per program file.

    `partners.yaml` keeps the documented `chancal.lock`; any other program file
    gets `<name>.lock` beside it (`emea.yaml` -> `emea.lock`), so two programs in
    one folder never share a lock. A `chancal.lock` written for this very program
    before that rule is still used.
    """
    legacy = program.parent / LOCK_NAME
    if program.name == "partners.yaml":
        return legacy
    named = program.with_suffix(".lock")
    if not named.exists() and legacy.exists():
        text = read_text(legacy)
        if text is not None and _program_ids(text) == {program_id}:
            return legacy
    return named


def lock_is_stale(published: Published) -> bool:
    """Whether the lock file differs from this publication's (a CRLF checkout counts as the same).

    Compared piece by piece, as bytes: a 10,000-partner lock is about 100 MB.
    """
    path = published.program.lock_path
    if same_bytes(published.lock_chunks(), path):
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise ConfigError([Problem(str(path), 1, 1, "", f"cannot read: {exc.strerror}")]) from None
    if b"\r\n" not in head:
        return True
    # A CRLF checkout (git's autocrlf on Windows): rare, so compared whole.
    return path.read_bytes().replace(b"\r\n", b"\n") != b"".join(published.lock_chunks())


def save_lock(published: Published) -> bool:
    """Replace the lock file atomically if it changed; tell whether it was written."""
    staged = _stage_lock(published)
    if staged is None:
        return False
    target = published.program.lock_path
    try:
        transaction.commit(target.parent, [_lock_move(staged, target)], [])
    except OSError as exc:
        raise UsageError(cannot_write(target, exc)) from None
    finally:
        staged.unlink(missing_ok=True)
    return True


def _lock_move(staged: Path, target: Path) -> transaction.Move:
    # Absolute: the next run may complete the move from another working folder.
    parked = transaction.staged_beside(target.absolute())[1]
    return transaction.Move(str(staged.absolute()), str(target.absolute()), str(parked))


def _stage_lock(published: Published) -> Path | None:
    """Write the new lock to a temporary file beside the lock; None if it is unchanged."""
    if not lock_is_stale(published):
        return None
    target = published.program.lock_path
    staged = transaction.staged_beside(target)[0]
    try:
        transaction.write_new(staged, published.lock_chunks())
    except OSError as exc:
        with contextlib.suppress(OSError):  # it may not be ours (a folder of that name)
            if staged.is_file():
                staged.unlink()
        raise UsageError(cannot_write(target, exc)) from None
    return staged


def refuse_foreign_feeds(out: Path, program: Program) -> None:
    """Refuse (UsageError, exit 2) an output folder whose all.ics another program published.

    A private site's all.ics lies under `private/<token>/`, so those are read too.
    """
    for feed in [out / "all.ics", *sorted(out.glob(f"{PRIVATE}/*/all.ics"))]:
        try:
            with feed.open("rb") as handle:
                head = handle.read(1 << 20).decode("utf-8", "replace")  # its first UIDs suffice
        except OSError:
            continue  # no feeds yet (or unreadable: writing will say so)
        others = sorted(_program_ids(head) - {program.program_id})
        if others:
            raise UsageError(_foreign(feed, others[0], program.program_id, program.file))


def _foreign(path: Path, other: str, ident: str, file: Path) -> str:
    return (
        f"{path} belongs to program '{other}', not to '{ident}' ({file}); "
        "nothing was written. Give each program its own folder for feeds (--out) and "
        "its own file name (its lock is named after it), or set program.id to the "
        "program that published there"
    )


def _program_ids(text: str) -> set[str]:
    """The program ids in a lock's or feed's UIDs (`...@<program id>.chancal`)."""
    return set(re.findall(r"@([a-z0-9_-]+)\.chancal\b", text))


def read_text(path: Path) -> str | None:
    """Return a text file's content, None if it does not exist."""
    try:
        return read_capped(path, limit=max_lock_bytes(), what="lock").decode("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise ConfigError([Problem(str(path), 1, 1, "", "not UTF-8 text")]) from None
    except OSError as exc:
        raise ConfigError([Problem(str(path), 1, 1, "", f"cannot read: {exc.strerror}")]) from None


def write_atomic(target: Path, data: bytes | Iterable[bytes]) -> None:
    """Write `data` (bytes, or pieces of them) to a temporary file beside `target`, then
    rename it into place."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as handle:
            if isinstance(data, bytes):
                handle.write(data)
            else:
                handle.writelines(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def resolve_today(value: str | None) -> date:
    """Return --today, else the UTC date of SOURCE_DATE_EPOCH, else today's date."""
    if value is not None:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise UsageError(f"--today '{value}' is not a date; write it as YYYY-MM-DD") from None
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return stamp_from_epoch(os.environ["SOURCE_DATE_EPOCH"]).date()
    return date.today()  # the wall clock, read here and in resolve_stamp only


def resolve_stamp(value: str | None) -> datetime:
    """Return --stamp, else SOURCE_DATE_EPOCH, else now (UTC, whole seconds)."""
    if value is not None:
        return parse_stamp(value)
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return stamp_from_epoch(os.environ["SOURCE_DATE_EPOCH"])
    return datetime.now(UTC).replace(microsecond=0)


def parse_stamp(text: str) -> datetime:
    """Parse `--stamp` (ISO 8601; without an offset it means UTC) to whole UTC seconds."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--stamp '{text}' is not an ISO date-time; write it like 2027-01-01T00:00:00Z"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        stamp = value.astimezone(UTC).replace(microsecond=0)
    except OverflowError:  # year 1 with an offset east of UTC
        stamp = None
    if stamp is None or not YEARS[0] <= stamp.year <= YEARS[1]:
        raise UsageError(
            f"--stamp '{text}' is out of range: use a time from {YEARS[0]} to {YEARS[1]}"
        )
    return stamp


def stamp_from_epoch(text: str) -> datetime:
    """Parse SOURCE_DATE_EPOCH (whole seconds since 1970, UTC), as reproducible builds define it."""
    if not re.fullmatch(r"\s*\d+\s*", text):
        raise UsageError(f"SOURCE_DATE_EPOCH '{text}' is not a whole number of seconds")
    try:
        stamp = datetime.fromtimestamp(int(text), UTC)
    except (OverflowError, ValueError, OSError):
        stamp = None
    if stamp is None or not YEARS[0] <= stamp.year <= YEARS[1]:
        raise UsageError(f"SOURCE_DATE_EPOCH '{text}' is out of range") from None
    return stamp
