"""Which ICS feeds a plan publishes, where they go, and writing them all or nothing.

Feeds: `partners/<id>.ics` (what one partner sees), `managers/<id>.ics` (what
one manager runs) and `all.ics`. A run writes every file into a staging
folder inside `--out` first and only then renames each into place, rolling
back on failure, so a failed run leaves an existing folder exactly as it was.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import BinaryIO, ClassVar, Literal

from chancal.errors import UsageError
from chancal.exporters.ics import (
    CALENDAR_END,
    FeedHeader,
    Progress,
    copy_feed,
    feed_head,
    feed_order,
    feed_tzids,
    used_tzids,
    write_events,
    year_range,
)
from chancal.plan import Event, Plan

FeedKind = Literal["all", "partner", "manager"]

_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
# Device names Windows reserves in any folder, with any extension ("con.ics" too).
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"]
    + [f"com{i}" for i in range(10)]
    + [f"lpt{i}" for i in range(10)]
    + ["com¹", "com²", "com³", "lpt¹", "lpt²", "lpt³"]
)
_MAX_STEM = 120  # bytes; leaves room for ".ics", temp suffixes and long --out paths


@dataclass(frozen=True, slots=True)
class Feed:
    """One calendar file to publish."""

    path: str  # relative, '/'-separated, made only of safe names
    kind: FeedKind
    owner: str | None  # the partner or manager id; None for all.ics
    header: FeedHeader


@dataclass(frozen=True, slots=True)
class Written:
    """What a run wrote: each feed with its number of events."""

    out: Path
    feeds: tuple[tuple[Feed, int], ...] = field(default=())
    KINDS: ClassVar[tuple[FeedKind, ...]] = ("all", "partner", "manager")

    def count(self, kind: FeedKind) -> tuple[int, int]:
        """Return (files, events) written for feeds of `kind`."""
        chosen = [n for feed, n in self.feeds if feed.kind == kind]
        return len(chosen), sum(chosen)


def safe_name(identifier: str) -> str:
    """Return a file-name stem for `identifier` that is valid on every file system.

    Distinct ids give distinct stems, also on case-insensitive systems: only
    lower-case letters, digits, '-' and '_' are kept; every other character
    (upper-case letters, '.', '/', '~', ...) becomes `~` and its UTF-8 bytes in
    hex. A Windows device name gets a trailing '~', which encoding never
    produces. Stems too long for a file system are cut and completed with a
    hash of the whole id.
    """
    stem = "".join(
        c if c in _SAFE else "".join(f"~{b:02x}" for b in c.encode("utf-8", "surrogatepass"))
        for c in identifier
    )
    if not stem or stem in _RESERVED:
        stem += "~"
    if len(stem) > _MAX_STEM:
        digest = sha256(identifier.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        stem = stem[: _MAX_STEM - 18].rstrip("~0123456789abcdef") + "~~" + digest
    return stem


def period_text(start: date, end: date) -> str:
    """Describe a planning year: `2027`, or `2027-04-01 to 2028-03-31` for a fiscal year."""
    if (start.month, start.day) == (1, 1) and end == start.replace(year=start.year + 1):
        return str(start.year)
    return f"{start.isoformat()} to {(end - timedelta(days=1)).isoformat()}"


def select_feeds(
    plan: Plan,
    partners: Sequence[str] | None = None,
    managers: Sequence[str] | None = None,
) -> list[Feed]:
    """List the feeds to write: all of them, or only the partners and managers asked for."""
    known_partners = {p.id: p for p in plan.partners}
    known_managers = {m.id: m for m in plan.managers}
    for asked, known, what in (
        (partners or (), known_partners, "partner"),
        (managers or (), known_managers, "manager"),
    ):
        for ident in asked:
            if ident not in known:
                close = difflib.get_close_matches(ident, sorted(known), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise UsageError(f"unknown {what} '{ident}'{hint}")
    everything = not partners and not managers
    period = period_text(plan.year_start, plan.year_end)
    program = plan.program_name
    feeds: list[Feed] = []
    if everything:
        feeds.append(
            Feed(
                "all.ics",
                "all",
                None,
                FeedHeader(
                    program,
                    f"Every planned interaction of the {program} channel program, {period}.",
                    plan.timezone,
                ),
            )
        )
    partner_ids = sorted(known_partners) if everything else sorted(set(partners or ()))
    for ident in partner_ids:
        partner = known_partners[ident]
        feeds.append(
            Feed(
                f"partners/{safe_name(ident)}.ics",
                "partner",
                ident,
                FeedHeader(
                    f"{program}: {partner.name}",
                    f"The {program} calendar for {partner.name}, {period}: every review, "
                    "training, visit, workshop and information exchange, agreed up front.",
                    partner.timezone,
                ),
            )
        )
    manager_ids = sorted(known_managers) if everything else sorted(set(managers or ()))
    for ident in manager_ids:
        manager = known_managers[ident]
        feeds.append(
            Feed(
                f"managers/{safe_name(ident)}.ics",
                "manager",
                ident,
                FeedHeader(
                    f"{program}: {manager.name}",
                    f"The partner interactions {manager.name} runs in the {program} "
                    f"channel program, {period}.",
                    manager.timezone,
                ),
            )
        )
    return feeds


def router(plan: Plan, feeds: Sequence[Feed]) -> Callable[[Event], Sequence[int]]:
    """Return a function naming the indexes of the feeds an event belongs to.

    all.ics takes every event; a partner's feed the events of that partner and
    the shared events it is invited to; a manager's feed the events the
    manager owns and the shared events (such as the partner conference,
    which has no owner) that any of the manager's partners is invited to.
    """
    everything = [i for i, f in enumerate(feeds) if f.kind == "all"]
    by_partner = {f.owner: i for i, f in enumerate(feeds) if f.kind == "partner"}
    by_manager = {f.owner: i for i, f in enumerate(feeds) if f.kind == "manager"}
    manager_of = {p.id: p.manager_id for p in plan.partners}
    cache: dict[tuple[str | None, str | None, tuple[str, ...]], tuple[int, ...]] = {}

    def compute(ev: Event) -> tuple[int, ...]:
        found = set(everything)
        for pid in (ev.partner_id, *ev.partner_ids):
            if pid is None:
                continue
            if pid in by_partner:
                found.add(by_partner[pid])
            if ev.manager_id is None and manager_of.get(pid) in by_manager:
                found.add(by_manager[manager_of[pid]])
        if ev.manager_id in by_manager:
            found.add(by_manager[ev.manager_id])
        return tuple(sorted(found))

    def route(ev: Event) -> Sequence[int]:
        if len(ev.partner_ids) > 1:  # shared events: few, and their tuples are long
            return compute(ev)
        key = (ev.partner_id, ev.manager_id, ev.partner_ids)
        found = cache.get(key)
        if found is None:
            found = cache[key] = compute(ev)
        return found

    return route


def write_feeds(
    plan: Plan,
    out: Path,
    *,
    stamp: datetime,
    partners: Sequence[str] | None = None,
    managers: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> Written:
    """Write the selected feeds under `out`, all or nothing."""
    feeds = select_feeds(plan, partners, managers)
    ordered = feed_order(plan.events)
    years = year_range(ordered, plan.year_start, plan.year_end - timedelta(days=1))
    route = router(plan, feeds)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    root = out.resolve()
    targets = [_inside(root, feed.path) for feed in feeds]
    created = _make_dirs(root)
    staging = Path(tempfile.mkdtemp(prefix=".chancal-export-", dir=root))
    try:
        counts = _stage(feeds, ordered, route, staging, stamp, years, progress)
        _commit(root, staging, feeds, targets)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in reversed(created):
            _remove_empty(folder)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return Written(out, tuple(zip(feeds, counts, strict=True)))


def stale_feeds(
    plan: Plan,
    out: Path,
    *,
    stamp: datetime,
    partners: Sequence[str] | None = None,
    managers: Sequence[str] | None = None,
) -> list[str]:
    """List the feeds under `out` (relative paths) that a write would create or change.

    For `chancal export --check`: the feeds are staged in a temporary folder
    outside `out` and compared byte for byte; nothing under `out` is touched.
    """
    feeds = select_feeds(plan, partners, managers)
    ordered = feed_order(plan.events)
    years = year_range(ordered, plan.year_start, plan.year_end - timedelta(days=1))
    route = router(plan, feeds)
    root = out.resolve()
    targets = [_inside(root, feed.path) for feed in feeds]
    with tempfile.TemporaryDirectory(prefix="chancal-check-") as scratch:
        staging = Path(scratch)
        _stage(feeds, ordered, route, staging, stamp, years, None)
        return [
            feed.path
            for feed, target in zip(feeds, targets, strict=True)
            if not _same_bytes(staging / feed.path, target)
        ]


def _same_bytes(staged: Path, target: Path) -> bool:
    if not target.is_file() or staged.stat().st_size != target.stat().st_size:
        return False
    with open(staged, "rb") as a, open(target, "rb") as b:
        while True:
            chunk = a.read(1 << 20)
            if chunk != b.read(1 << 20):
                return False
            if not chunk:
                return True


def _stage(
    feeds: Sequence[Feed],
    ordered: Sequence[Event],
    route: Callable[[Event], Sequence[int]],
    staging: Path,
    stamp: datetime,
    years: tuple[int, int],
    progress: Progress | None,
) -> list[int]:
    total = len(ordered) + len(feeds)
    # all.ics, when written, is itself the spool; otherwise a scratch file in
    # the staging folder plays that part. Every other feed is written as the
    # events stream past, while open files last; any beyond that budget copy
    # their events from the spool afterwards.
    spool_feed = next((i for i, f in enumerate(feeds) if f.kind == "all"), None)
    spool_path = staging / (feeds[spool_feed].path if spool_feed is not None else ".spool")
    others = [i for i in range(len(feeds)) if i != spool_feed]
    direct = others[: _open_file_budget(len(others))]
    routes = [route(ev) for ev in ordered]  # once: the heads need them before the events
    tzids = feed_tzids(ordered, routes, len(feeds)) if direct else []
    sinks: list[BinaryIO | None] = [None] * len(feeds)
    with ExitStack() as files:
        spool = files.enter_context(open(spool_path, "w+b"))
        if spool_feed is not None:
            spool.write(feed_head(feeds[spool_feed].header, used_tzids(ordered), years))
        for index in direct:
            created = files.enter_context(_create(staging / feeds[index].path))
            created.write(feed_head(feeds[index].header, tzids[index], years))
            sinks[index] = created
        bodies = write_events(
            ordered,
            routes,
            len(feeds),
            spool,
            stamp=stamp,
            sinks=sinks,
            progress=progress,
            progress_total=total,
        )
        for open_sink in sinks:
            if open_sink is not None:
                open_sink.write(CALENDAR_END)
        if spool_feed is not None:
            spool.write(CALENDAR_END)
            spool.flush()
        for done, index in enumerate(others, len(ordered) + len(direct) + 1):
            if sinks[index] is None:
                with _create(staging / feeds[index].path) as sink:
                    copy_feed(feeds[index].header, bodies[index], spool, sink, years=years)
                if progress is not None:
                    progress(done, total)
    return [body.events for body in bodies]


def _create(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A small buffer: thousands of these can be open at once.
    return open(path, "wb", buffering=_SINK_BUFFER)


_SINK_BUFFER = 4096  # x 10,000 partner feeds open at once: 40 MB
_SPARE_FILES = 64  # descriptors left for everything else the process opens


def _open_file_budget(wanted: int) -> int:
    """Return how many feed files may be open at once, raising the soft limit if allowed."""
    try:
        import resource
    except ImportError:  # Windows: the C runtime allows 8192 descriptors
        return min(wanted, 2048)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = wanted + _SPARE_FILES * 2
    if soft != resource.RLIM_INFINITY and soft < need:
        # Raising the soft limit up to the hard one needs no privilege; where
        # the system refuses (macOS caps it below RLIM_INFINITY), keep what we have.
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(0, min(wanted, soft - _SPARE_FILES * 2))


def _commit(root: Path, staging: Path, feeds: Sequence[Feed], targets: Sequence[Path]) -> None:
    # Move each staged file into place; a file it replaces is parked in the
    # staging folder first, so a failure half-way can put everything back.
    backup = staging / ".replaced"
    done: list[tuple[Path, Path | None]] = []
    created: list[Path] = []
    try:
        for feed, target in zip(feeds, targets, strict=True):
            created.extend(_make_dirs(target.parent))
            parked = None
            if os.path.lexists(target):
                parked = backup / feed.path
                parked.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, parked)
            done.append((target, parked))
            os.replace(staging / feed.path, target)
    except BaseException:
        for target, parked in reversed(done):
            if parked is not None:
                os.replace(parked, target)
            elif os.path.lexists(target):
                os.unlink(target)
        for folder in reversed(created):
            _remove_empty(folder)
        raise


def _inside(root: Path, relative: str) -> Path:
    # Names come from safe_name, so this cannot trigger; it guards the
    # promise that no feed is ever written outside --out on its own.
    parts = relative.split("/")
    if any(p in ("", ".", "..") or not set(p) <= _SAFE | {".", "~"} for p in parts):
        raise UsageError(f"refusing to write {relative!r}: not a safe relative path")
    target = root.joinpath(*parts)
    parent = target.parent.resolve()
    if parent != root and root not in parent.parents:
        raise UsageError(f"refusing to write {target}: it would land outside {root}")
    return target


def _make_dirs(folder: Path) -> list[Path]:
    """Create `folder` and missing parents; return the ones created, outermost first."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    missing.reverse()
    for path in missing:
        path.mkdir()
    return missing


def _remove_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty: someone else's files are in it
        folder.rmdir()


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
    return value.astimezone(UTC).replace(microsecond=0)


def stamp_from_epoch(text: str) -> datetime:
    """Parse SOURCE_DATE_EPOCH (whole seconds since 1970, UTC), as reproducible builds define it."""
    if not re.fullmatch(r"\s*\d+\s*", text):
        raise UsageError(f"SOURCE_DATE_EPOCH '{text}' is not a whole number of seconds")
    try:
        return datetime.fromtimestamp(int(text), UTC)
    except (OverflowError, ValueError, OSError):
        raise UsageError(f"SOURCE_DATE_EPOCH '{text}' is out of range") from None
