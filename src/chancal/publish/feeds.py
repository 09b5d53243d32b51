"""Which ICS feeds a plan publishes, where they go, and writing them all or nothing.

Feeds: `partners/<id>.ics` (what one partner sees), `managers/<id>.ics` (what
one manager runs) and `all.ics`, and CSV tables beside all.ics and partners'
feeds. A run writes every changed file into a staging folder inside `--out`
first and only then moves them into place (a folder of many feeds in a few
renames, see `_commit`), undoing every move on failure, so a failed run
leaves an existing folder exactly as it was.
Feeds already on disk with the same bytes are not rewritten.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import partial
from hashlib import sha256
from pathlib import Path
from typing import ClassVar, Literal

from chancal.errors import UsageError
from chancal.exporters.csv_export import csv_table
from chancal.exporters.ics import (
    CALENDAR_END,
    FeedHeader,
    feed_head,
    feed_order,
    used_tzids,
    year_range,
)
from chancal.plan import ALL_FEED, Event, Plan, audience, feed_name
from chancal.publish.spool import Progress, feed_parts, spool_reader, write_events
from chancal.suggest import did_you_mean

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
    format: Literal["ics", "csv"] = "ics"


@dataclass(frozen=True, slots=True)
class Formats:
    """What a run writes: the ICS feeds, the CSV tables, or both."""

    ics: bool = True
    csv: bool = False
    bom: bool = False  # a UTF-8 byte-order mark at the start of each CSV table


ICS_ONLY = Formats()


@dataclass(frozen=True, slots=True)
class Written:
    """What a run wrote: each feed with its number of events."""

    out: Path
    feeds: tuple[tuple[Feed, int], ...] = field(default=())
    KINDS: ClassVar[tuple[FeedKind, ...]] = ("all", "partner", "manager")

    def count(self, kind: FeedKind, form: str = "ics") -> tuple[int, int]:
        """Return (files, events) written for feeds of `kind` in format `form`."""
        chosen = [n for feed, n in self.feeds if feed.kind == kind and feed.format == form]
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
    return f"{start.isoformat()} to {date.fromordinal(end.toordinal() - 1).isoformat()}"


def program_scope(program: str, period: str) -> str:
    """The program and its year for a sentence: `Acme Partners, 2027`.

    The program's own name is never wrapped in words of ours ("the X channel
    program" read "Contoso Channel Program 2027 channel program"), and a
    year the name already says is not said twice.
    """
    return program if period in program else f"{program}, {period}"


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
                raise UsageError(f"unknown {what} '{ident}'{did_you_mean(ident, known)}")
    everything = not partners and not managers
    program = plan.program_name
    scope = program_scope(program, period_text(plan.year_start, plan.year_end))
    feeds: list[Feed] = []
    if everything:
        feeds.append(
            Feed(
                "all.ics",
                "all",
                None,
                FeedHeader(
                    program,
                    f"Every partner interaction planned in {scope}.",
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
                    f"The calendar of {partner.name} in {scope}: every review, training, "
                    "visit, workshop and information exchange, agreed up front.",
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
                    f"The partner interactions {manager.name} runs in {scope}.",
                    manager.timezone,
                ),
            )
        )
    return feeds


def router(plan: Plan, feeds: Sequence[Feed]) -> Callable[[Event], Sequence[int]]:
    """Return a function naming the indexes of the feeds an event goes to (`plan.audience`)."""
    index = {
        ALL_FEED if f.kind == "all" else feed_name(f.kind, f.owner or ""): i
        for i, f in enumerate(feeds)
    }
    manager_of = {p.id: p.manager_id for p in plan.partners}
    cache: dict[tuple[str, ...], tuple[int, ...]] = {}

    def route(ev: Event) -> Sequence[int]:
        names = audience(ev, manager_of)
        found = cache.get(names)
        if found is None:
            found = cache[names] = tuple(sorted(index[n] for n in names if n in index))
        return found

    return route


@dataclass(frozen=True, slots=True)
class _Routed:
    """What writing and checking share: the feeds, the events in order, where each goes."""

    feeds: list[Feed]
    ordered: list[Event]
    years: tuple[int, int]
    route: Callable[[Event], Sequence[int]]
    # all.ics doubles as the spool only when it holds every event: a withdrawn
    # copy (a CANCELLED event for the feeds a partner left) is not in all.ics.
    all_is_spool: bool


def _prepare(plan: Plan, partners: Sequence[str] | None, managers: Sequence[str] | None) -> _Routed:
    """Select the feeds, order the events and route them."""
    feeds = select_feeds(plan, partners, managers)
    ordered = feed_order(plan.events)
    route = router(plan, feeds)
    all_is_spool = bool(feeds) and feeds[0].kind == "all"
    all_is_spool = all_is_spool and all(route(ev)[:1] == (0,) for ev in ordered)
    years = year_range(ordered, plan.year_start, plan.last_day)
    return _Routed(feeds, ordered, years, route, all_is_spool)


def write_feeds(
    plan: Plan,
    out: Path,
    *,
    stamp: datetime,
    partners: Sequence[str] | None = None,
    managers: Sequence[str] | None = None,
    progress: Progress | None = None,
    formats: Formats = ICS_ONLY,
) -> Written:
    """Write the selected feeds (in `formats`) under `out`, all or nothing.

    A failure the user can fix (permissions, a full disk, a file where a folder
    must be) is a UsageError naming the path; every file is then as it was.
    """
    try:
        return _write_feeds(plan, out, stamp, partners, managers, progress, formats)
    except OSError as exc:
        raise UsageError(_cannot_write(exc, out)) from None


def _cannot_write(exc: OSError, out: Path) -> str:
    # A path inside the staging folder means nothing to the user: name the --out folder.
    where = exc.filename if exc.filename and ".chancal-export-" not in str(exc.filename) else out
    return cannot_write(where, exc)


def cannot_write(path: Path | str, exc: OSError) -> str:
    """One line saying which file could not be written, why, and what to do about it."""
    hints = {
        errno.EACCES: "check the folder's permissions",
        errno.EPERM: "check the folder's permissions",
        errno.EROFS: "the file system is read-only",
        errno.ENOSPC: "free some disk space",
        errno.EDQUOT: "the disk quota is used up",
        errno.EFBIG: "a file-size limit is set (ulimit -f)",
        errno.ENOTDIR: "part of the path is a file, not a folder",
        errno.EISDIR: "a folder is where the file must go",
    }
    hint = hints.get(exc.errno or 0, "")
    return f"cannot write {path}: {exc.strerror or exc}" + (f"; {hint}" if hint else "")


def _write_feeds(
    plan: Plan,
    out: Path,
    stamp: datetime,
    partners: Sequence[str] | None,
    managers: Sequence[str] | None,
    progress: Progress | None,
    formats: Formats,
) -> Written:
    routed = _prepare(plan, partners, managers)
    tables = _tables(routed.feeds) if formats.csv else []
    feeds = (routed.feeds if formats.ics else []) + [table for _, table in tables]
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    root = out.resolve()
    targets = _targets(root, feeds)
    created = _make_dirs(root)
    present = _present(root, feeds)
    _refuse_folders_in_the_way(root, feeds, present)
    _remove_abandoned_staging(root)
    staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING}{os.getpid()}-", dir=root))
    try:
        for sub in sorted({os.path.dirname(feed.path) for feed in feeds} - {""}):
            (staging / sub).mkdir(parents=True, exist_ok=True)

        def emit(index: int, chunks: Callable[[], Iterator[bytes]]) -> bool:
            # A feed whose bytes are already on disk is left alone: re-exporting
            # an unchanged program (CI on every push, with chancal.lock keeping
            # DTSTAMPs) creates no files, and subscribers' caches keep their mtime.
            chunks = _replayable(chunks)
            if feeds[index].path in present and same_bytes(chunks(), targets[index]):
                return False
            _write_new(os.path.join(staging, feeds[index].path), chunks())
            return True

        counts: list[int] = []
        changed: list[int] = []
        if formats.ics:
            spool = staging / (feeds[0].path if routed.all_is_spool else ".spool")
            counts, changed = _stage(routed, spool, emit, stamp, progress)
            if routed.all_is_spool and not _same_file(spool, targets[0]):
                changed.insert(0, 0)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staging / ".spool")
        more = _emit_tables(routed, tables, len(feeds) - len(tables), emit, formats.bom)
        counts, changed = counts + more[0], changed + more[1]
        _commit(root, staging, [feeds[i] for i in changed], [targets[i] for i in changed])
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
    formats: Formats = ICS_ONLY,
) -> list[str]:
    """List the feeds under `out` (relative paths) that a write would create or change.

    For `chancal export --check`: each feed is built in memory, one at a time,
    and compared byte for byte with the file on disk; only the spool (all.ics's
    bytes) goes to a scratch file outside `out`. Nothing under `out` is touched.
    """
    routed = _prepare(plan, partners, managers)
    tables = _tables(routed.feeds) if formats.csv else []
    feeds = (routed.feeds if formats.ics else []) + [table for _, table in tables]
    root = out.resolve()
    targets = _targets(root, feeds)

    def emit(index: int, chunks: Callable[[], Iterator[bytes]]) -> bool:
        return not same_bytes(chunks(), targets[index])

    stale: list[int] = []
    if formats.ics:
        with tempfile.TemporaryDirectory(prefix="chancal-check-") as scratch:
            spool = Path(scratch) / "spool.ics"
            _, stale = _stage(routed, spool, emit, stamp, None)
            if routed.all_is_spool and not _same_file(spool, targets[0]):
                stale.insert(0, 0)
    stale += _emit_tables(routed, tables, len(feeds) - len(tables), emit, formats.bom)[1]
    return [feeds[i].path for i in stale]


def _tables(feeds: Sequence[Feed]) -> list[tuple[int, Feed]]:
    """The CSV table beside all.ics and each partner's feed, with that feed's index."""
    return [
        (index, replace(feed, path=feed.path.removesuffix(".ics") + ".csv", format="csv"))
        for index, feed in enumerate(feeds)
        if feed.kind != "manager"
    ]


def _emit_tables(
    routed: _Routed,
    tables: Sequence[tuple[int, Feed]],
    first: int,
    emit: Callable[[int, Callable[[], Iterator[bytes]]], bool],
    bom: bool,
) -> tuple[list[int], list[int]]:
    """`emit` each CSV table (as `first`+n) with exactly the events routed to its ICS feed.

    Withdrawn copies included, in feed order. Returns rows per table and the tables changed.
    """
    rows: dict[int, list[Event]] = {index: [] for index, _ in tables}
    for ev in routed.ordered if tables else ():
        for index in routed.route(ev):
            if index in rows:
                rows[index].append(ev)
    changed = []
    for n, (index, _) in enumerate(tables):
        if emit(first + n, (csv_table(rows[index], bom=bom),).__iter__):
            changed.append(first + n)
    return [len(rows[index]) for index, _ in tables], changed


_CHUNK = 1 << 20
_STAGING = ".chancal-export-"  # + the pid of the run that made it + a random part


def _refuse_folders_in_the_way(root: Path, feeds: Sequence[Feed], present: set[str]) -> None:
    """Refuse a folder (the user's, not ours) where a feed file must go: never delete it."""
    for feed in feeds:
        path = os.path.join(root, feed.path)
        if feed.path in present and os.path.isdir(path) and not os.path.islink(path):
            raise UsageError(
                f"{path} is a folder, where chancal writes the feed {feed.path}; nothing was "
                "written. Move the folder away, or choose another --out"
            )


def _remove_abandoned_staging(root: Path) -> None:
    """Remove staging folders that a killed run left in `root` (never a running one's)."""
    with contextlib.suppress(OSError):
        for name in os.listdir(root):
            pid = name.removeprefix(_STAGING).partition("-")[0]
            if name.startswith(_STAGING) and pid.isdigit() and not _running(int(pid)):
                shutil.rmtree(root / name, ignore_errors=True)


def _running(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # on Windows, os.kill would end the process
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else; or no way to ask (Windows): keep it
        return True
    return True


def _present(root: Path, feeds: Sequence[Feed]) -> set[str]:
    """Return the feed paths that already exist under `root`: one listing per folder."""
    found: set[str] = set()
    for folder in {os.path.dirname(feed.path) for feed in feeds}:
        with contextlib.suppress(OSError):  # no such folder yet: nothing in it exists
            prefix = folder + "/" if folder else ""
            found.update(prefix + name for name in os.listdir(root / folder))
    return found


# Files are opened with os.open: a buffered file object costs three more
# system calls per file (fstat, ioctl, lseek), and there are 10,000 feeds.
_OPEN_FLAGS = getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def _same_file(path: Path, target: str | Path) -> bool:
    """Tell whether the file `target` holds the same bytes as the file at `path`."""
    try:
        size = os.stat(target).st_size
    except OSError:  # missing or unreadable: writing would change it
        return False
    if size != os.stat(path).st_size:  # a different size needs no reading
        return False
    with open(path, "rb") as f:
        return same_bytes(iter(lambda: f.read(_CHUNK), b""), target)


def same_bytes(chunks: Iterable[bytes], target: str | Path) -> bool:
    """Tell whether `target` holds exactly the bytes of `chunks`.

    A feed of one chunk (most feeds) costs one read: one byte more than the
    chunk is asked for, so a longer file shows at once. Longer feeds are
    read chunk by chunk, then checked for their end.
    """
    try:
        fd = os.open(target, os.O_RDONLY | _OPEN_FLAGS)
    except OSError:  # missing, unreadable: writing would change it
        return False
    try:
        parts = iter(chunks)
        first = next(parts, b"")
        second = next(parts, None)
        if second is None:
            return _read(fd, len(first) + 1) == first
        if _read(fd, len(first)) != first:
            return False
        rest = itertools.chain((second,), parts)
        del second  # hold no chunk but the one being compared
        for chunk in rest:
            if _read(fd, len(chunk)) != chunk:
                return False
        return _read(fd, 1) == b""
    except OSError:  # a folder, a read error: writing would change it
        return False
    finally:
        os.close(fd)


def _read(fd: int, size: int) -> bytes:
    """Read `size` bytes from `fd`, fewer only at the end of the file."""
    data = os.read(fd, size) if size > 0 else b""
    if len(data) == size or not data:
        return data
    parts = [data]
    size -= len(data)
    while size > 0:
        more = os.read(fd, size)
        if not more:
            break
        parts.append(more)
        size -= len(more)
    return b"".join(parts)


def _write_new(path: str, chunks: Iterable[bytes]) -> None:
    """Create `path` (it must not exist: the staging folder is new) and write `chunks`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, 0o666)
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:  # os.write may take fewer bytes at a time
                view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _replayable(chunks: Callable[[], Iterator[bytes]]) -> Callable[[], Iterator[bytes]]:
    """Return `chunks` such that a feed of one chunk is assembled only once.

    Comparing and then writing a feed reads it twice; a feed of one chunk
    (a few kilobytes: most feeds) is cheaper kept than assembled again.
    Larger feeds stream again, so memory stays at about a chunk.
    """
    parts = chunks()
    first = next(parts, b"")
    second = next(parts, None)
    if second is None:
        return lambda: iter((first,))
    pending: list[Iterator[bytes]] = [itertools.chain((first, second), parts)]
    return lambda: pending.pop() if pending else chunks()


def _stage(
    routed: _Routed,
    spool_path: Path,
    emit: Callable[[int, Callable[[], Iterator[bytes]]], bool],
    stamp: datetime,
    progress: Progress | None,
) -> tuple[list[int], list[int]]:
    """Write the spool (all.ics itself when it holds every event), then `emit` every other feed.

    Every event is serialised once, into the spool; each other feed is then
    assembled from the spool's byte ranges that hold its events, and handed
    to `emit` as a function that yields its chunks (most feeds: a single
    one), so `emit` may compare and then write without holding the feed.
    Feeds are emitted in this process, one after another: spreading them over
    worker processes saved nothing measurable (benchmarks/README.md, issue 12).
    Returns events per feed, and the feeds `emit` answered True for, in order.
    """
    feeds, ordered, years = routed.feeds, routed.ordered, routed.years
    total = len(ordered) + len(feeds)
    spool_feed = 0 if routed.all_is_spool else None
    # Exclusive: the staging folder is new, so an existing file would be a bug.
    with open(spool_path, "x+b", buffering=_CHUNK) as spool:
        if spool_feed is not None:
            spool.write(feed_head(feeds[spool_feed].header, used_tzids(ordered), years))
        bodies = write_events(
            ordered,
            map(routed.route, ordered),
            len(feeds),
            spool,
            stamp=stamp,
            progress=progress,
            progress_total=total,
        )
        if spool_feed is not None:
            spool.write(CALENDAR_END)
        spool.flush()
        read = spool_reader(spool)
        changed = []
        for index in range(len(feeds)):
            if index == spool_feed:
                continue
            parts = partial(feed_parts, feeds[index].header, bodies[index], read, years=years)
            if emit(index, parts):
                changed.append(index)
            if progress is not None and index % 256 == 0:
                progress(len(ordered) + index + 1, total)
    return [body.events for body in bodies], changed


def _commit(root: Path, staging: Path, feeds: Sequence[Feed], targets: Sequence[str]) -> None:
    """Move the staged feeds into place; on any failure, undo every step taken.

    Feeds are grouped by their top-level entry under `out` (all.ics, partners/,
    managers/). A folder of many feeds is swapped whole: the files already in
    the old folder that this run does not rewrite (feeds of partners no longer
    selected, the user's own files) move into the staged folder first, then
    two renames exchange the folders. That costs a few renames instead of two
    per feed (10,000 partners: 20,000). A folder where the swap would move
    more than it saves, a single file, or a folder that is a symlink inside
    `out` goes file by file, each replaced file parked in the staging folder
    so it can be put back.
    """
    backup = staging / ".replaced"
    undo: list[Callable[[], None]] = []
    groups: dict[str, list[int]] = {}
    for index, feed in enumerate(feeds):
        groups.setdefault(feed.path.split("/", 1)[0], []).append(index)
    try:
        for top, members in groups.items():
            folder = root / top
            is_folder = "/" in feeds[members[0]].path
            if is_folder and not os.path.lexists(folder):
                _move(staging / top, folder, undo)
                continue
            if is_folder and folder.is_dir() and not folder.is_symlink():
                names = {os.path.basename(feeds[i].path) for i in members}
                leftovers = [name for name in os.listdir(folder) if name not in names]
                if len(leftovers) + 2 < len(members):
                    for name in sorted(leftovers):
                        _move(folder / name, staging / top / name, undo)
                    with contextlib.suppress(OSError):  # keep the folder's permissions
                        os.chmod(staging / top, os.stat(folder).st_mode & 0o7777)
                    backup.mkdir(exist_ok=True)
                    _move(folder, backup / top, undo)
                    _move(staging / top, folder, undo)
                    continue
            for index in members:
                target = targets[index]
                if os.path.lexists(target):
                    parked = backup / feeds[index].path
                    parked.parent.mkdir(parents=True, exist_ok=True)
                    _move(target, parked, undo)
                _move(staging / feeds[index].path, target, undo)
    except BaseException:
        for step in reversed(undo):
            step()
        raise


def _move(source: str | Path, target: str | Path, undo: list[Callable[[], None]]) -> None:
    os.replace(source, target)
    undo.append(lambda: os.replace(target, source))


def _targets(root: Path, feeds: Sequence[Feed]) -> list[str]:
    # One resolve per folder, not per feed: 10,000 partner feeds share one.
    checked: dict[str, None] = {}
    targets = []
    for feed in feeds:
        folder = os.path.dirname(feed.path)
        if folder not in checked:
            _inside(root, feed.path)
            checked[folder] = None
        else:
            _check_name(feed.path)
        targets.append(os.path.join(root, feed.path))  # str: a tenth of a Path's memory
    return targets


def _check_name(relative: str) -> list[str]:
    parts = relative.split("/")
    if any(p in ("", ".", "..") or not set(p) <= _SAFE | {".", "~"} for p in parts):
        raise UsageError(f"refusing to write {relative!r}: not a safe relative path")
    return parts


def _inside(root: Path, relative: str) -> Path:
    # Names come from safe_name, so this cannot trigger; it guards the
    # promise that no feed is ever written outside --out on its own.
    parts = _check_name(relative)
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
