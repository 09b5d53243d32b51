"""Which ICS feeds a plan publishes, where they go, and writing them all or nothing.

Feeds: `partners/<id>.ics` (what one partner sees), `managers/<id>.ics` (what
one manager runs) and `all.ics`, CSV tables beside all.ics and partners'
feeds, and the static site: `index.html`, `site.css` and a page beside each
partner's and manager's feed (`partners/<id>.html`). Where each goes is
`chancal.publish.addresses.stem` (private paths with `--private`). They are
assembled here (the ICS feeds from events rendered where they were
reconciled, `chancal.publish.vevents`, or here) and written all or nothing by
`chancal.publish.files`: a failed run leaves an existing folder exactly as it
was, and feeds already on disk with the same bytes are not rewritten.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from chancal.errors import UsageError
from chancal.exporters.csv_export import csv_table
from chancal.exporters.ics import CALENDAR_END, FeedHeader, feed_head, feed_order, year_span
from chancal.plan import ALL_FEED, Event, Plan, audience, feed_name, managers_of
from chancal.publish import files, transaction
from chancal.publish.addresses import INDEX, STYLESHEET, Owner, stem
from chancal.publish.addresses import safe_name as safe_name  # where it lived first
from chancal.publish.spool import Progress, feed_parts, write_events
from chancal.publish.transaction import Move
from chancal.publish.vevents import Here, Vevents
from chancal.scores import HealthReport
from chancal.suggest import did_you_mean

if TYPE_CHECKING:  # pages only: jinja2 and the views are not imported for feeds
    from chancal.exporters.site import Site

FeedKind = Literal["all", "partner", "manager"]

FileFormat = Literal["ics", "csv", "html", "css"]


@dataclass(frozen=True, slots=True)
class Feed:
    """One file to publish: a calendar feed, a table, a page or the site's stylesheet."""

    path: str  # relative, '/'-separated, made only of safe names
    kind: FeedKind
    owner: str | None  # the partner or manager id; None for all.ics, index.html, site.css
    header: FeedHeader
    format: FileFormat = "ics"


@dataclass(frozen=True, slots=True)
class Formats:
    """What a run writes (ICS feeds, CSV tables, the site) and where it will be found."""

    ics: bool = True
    csv: bool = False
    bom: bool = False  # a UTF-8 byte-order mark at the start of each CSV table
    html: bool = False  # the static site: index.html, site.css, a page per partner and manager
    base_url: str | None = None  # where --out is published (ending in '/'): absolute links
    # With a secret: every owner's files at private/<token>/ (`addresses.stem`).
    secret: bytes | None = field(default=None, repr=False)


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
    formats: Formats = ICS_ONLY,
) -> list[Feed]:
    """List the feeds to write: all of them, or only the partners and managers asked for.

    Paths follow `addresses.stem` (private ones when `formats` holds a secret).
    With a base URL each feed names itself (RFC 7986 SOURCE) and its page (URL:
    the page when the site is published too, else the feed itself).
    """
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
                stem("all", plan.program_id, formats.secret) + ".ics",
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
                stem("partner", ident, formats.secret) + ".ics",
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
                stem("manager", ident, formats.secret) + ".ics",
                "manager",
                ident,
                FeedHeader(
                    f"{program}: {manager.name}",
                    f"The partner interactions {manager.name} runs in {scope}.",
                    manager.timezone,
                ),
            )
        )
    if formats.base_url is not None:
        feeds = [_located(feed, formats.base_url, formats.html) for feed in feeds]
    return feeds


def _located(feed: Feed, base_url: str, site: bool) -> Feed:
    """The feed with its own URL (SOURCE) and its page's (URL) in its header."""
    source = base_url + feed.path
    page = INDEX if feed.kind == "all" else feed.path.removesuffix(".ics") + ".html"
    url = base_url + page if site else source
    return replace(feed, header=replace(feed.header, source=source, url=url))


def router(feeds: Sequence[Feed]) -> Callable[[tuple[str, ...]], Sequence[int]]:
    """Return a function naming the indexes of the feeds that take an event, from its
    feeds' names (`plan.audience`)."""
    index = {
        ALL_FEED if f.kind == "all" else feed_name(f.kind, f.owner or ""): i
        for i, f in enumerate(feeds)
    }
    cache: dict[tuple[str, ...], tuple[int, ...]] = {}

    def route(names: tuple[str, ...]) -> Sequence[int]:
        found = cache.get(names)
        if found is None:
            found = cache[names] = tuple(sorted(index[n] for n in names if n in index))
        return found

    return route


@dataclass(frozen=True, slots=True)
class _Routed:
    """What writing and checking share: the feeds, the events in order, where each goes."""

    feeds: list[Feed]
    ordered: list[Event]  # for the tables and pages (none when `vevents` come from elsewhere)
    vevents: Vevents | None  # for the ICS feeds
    years: tuple[int, int]
    route: Callable[[tuple[str, ...]], Sequence[int]]
    manager_of: Mapping[str, str]
    # all.ics doubles as the spool only when it holds every event: a withdrawn
    # copy (a CANCELLED event for the feeds a partner left) is not in all.ics.
    all_is_spool: bool

    def route_event(self, ev: Event) -> Sequence[int]:
        return self.route(audience(ev, self.manager_of))


def _prepare(
    plan: Plan,
    partners: Sequence[str] | None,
    managers: Sequence[str] | None,
    formats: Formats,
    stamp: datetime,
    vevents: Vevents | None,
) -> _Routed:
    """Select the feeds, order the events and route them.

    The ICS feeds take `vevents` (the events rendered where they were
    reconciled); without them, the plan's events are rendered here.
    """
    feeds = select_feeds(plan, partners, managers, formats)
    manager_of = managers_of(plan.partners)
    if formats.ics and vevents is None:
        here = Here(plan.events, stamp, manager_of)
        ordered, vevents = here.ordered, here
    else:
        ordered = feed_order(plan.events)
    all_is_spool = bool(feeds) and feeds[0].kind == "all" and bool(vevents and vevents.everywhere)
    years = year_span(None if vevents is None else vevents.years, plan.year_start, plan.last_day)
    return _Routed(feeds, ordered, vevents, years, router(feeds), manager_of, all_is_spool)


def write_feeds(
    plan: Plan,
    out: Path,
    *,
    stamp: datetime,
    partners: Sequence[str] | None = None,
    managers: Sequence[str] | None = None,
    progress: Progress | None = None,
    formats: Formats = ICS_ONLY,
    report: HealthReport | None = None,
    lock: Move | None = None,
    vevents: Vevents | None = None,
) -> Written:
    """Write the selected feeds (in `formats`) under `out`, and `lock` with them, as one commit.

    With `formats.html`, the site's pages too (each partner's with its
    scorecard from `report`). `lock` is a lock file already staged beside its
    target: it is renamed into place with the feeds, and the commit's journal
    then lives beside it, so that opening the program completes a commit that
    stopped half-way (see `chancal.publish.transaction`). `vevents`: the
    plan's events already rendered (`chancal.publish.vevents`); without them,
    they are rendered here. A failure the user
    can fix (permissions, a full disk, a file where a folder must be) is a
    UsageError naming the path; every file is then as it was.
    """
    try:
        routed = _prepare(plan, partners, managers, formats, stamp, vevents)
        return _write_feeds(plan, routed, out, progress, formats, report, lock)
    except OSError as exc:
        raise UsageError(_cannot_write(exc, out)) from None


def _cannot_write(exc: OSError, out: Path) -> str:
    # A path inside the staging folder means nothing to the user: name the --out folder.
    where = exc.filename if exc.filename and transaction.STAGING not in str(exc.filename) else out
    return files.cannot_write(where, exc)


def _write_feeds(
    plan: Plan,
    routed: _Routed,
    out: Path,
    progress: Progress | None,
    formats: Formats,
    report: HealthReport | None,
    lock: Move | None,
) -> Written:
    feeds, tables, pages = _files(routed, formats)
    paths = [feed.path for feed in feeds]
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    root = out.resolve()
    targets = files.targets_of(root, paths)
    created = files.make_dirs(root)
    transaction.recover(root)
    transaction.remove_abandoned_staging(root)
    present = files.present_files(root, paths)
    files.refuse_folders_in_the_way(root, paths, present)
    staging = Path(tempfile.mkdtemp(prefix=f"{transaction.STAGING}{os.getpid()}-", dir=root))
    parked = staging / ".replaced"  # where the files replaced wait until the commit is done
    try:
        for sub in sorted({os.path.dirname(feed.path) for feed in feeds}):
            (staging / sub).mkdir(parents=True, exist_ok=True)
            (parked / sub).mkdir(parents=True, exist_ok=True)

        def emit(index: int, chunks: Callable[[], Iterator[bytes]]) -> bool:
            # A feed whose bytes are already on disk is left alone: re-exporting
            # an unchanged program (CI on every push, with chancal.lock keeping
            # DTSTAMPs) creates no files, and subscribers' caches keep their mtime.
            if feeds[index].path in present and files.same_bytes(chunks(), targets[index]):
                return False
            transaction.write_new(staging / feeds[index].path, chunks(), flush=False)
            return True

        counts: list[int] = []
        changed: list[int] = []
        if formats.ics:
            spool = staging / (feeds[0].path if routed.all_is_spool else ".spool")
            counts, changed = _stage(routed, spool, emit, progress)
            if routed.all_is_spool and not files.same_file(spool, targets[0]):
                changed.insert(0, 0)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staging / ".spool")
        first = len(feeds) - len(tables) - len(pages)
        more = _emit_tables(routed, tables, first, emit, formats.bom)
        counts, changed = counts + more[0], changed + more[1]
        if pages:  # the site's grid and scores cost a second at 10,000 partners: only for pages
            more = _emit_pages(
                routed, pages, first + len(tables), emit, _site(plan, formats, report)
            )
            counts, changed = counts + more[0], changed + more[1]
        moves = [Move(str(staging / paths[i]), targets[i], str(parked / paths[i])) for i in changed]
        transaction.flush_files(staging, [move.staged for move in moves])
        leftovers = [str(staging)]
        if lock is not None:  # last: a reader of the lock finds the feeds already new
            moves.append(lock)
            leftovers.append(lock.parked)
        journal_folder = Path(lock.target).parent if lock is not None else root
        transaction.commit(journal_folder, moves, leftovers)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in reversed(created):
            files.remove_empty(folder)
        raise
    return Written(out, tuple(zip(feeds, counts, strict=True)))


def stale_feeds(
    plan: Plan,
    out: Path,
    *,
    stamp: datetime,
    partners: Sequence[str] | None = None,
    managers: Sequence[str] | None = None,
    formats: Formats = ICS_ONLY,
    report: HealthReport | None = None,
    vevents: Vevents | None = None,
) -> list[str]:
    """List the feeds under `out` (relative paths) that a write would create or change.

    For `chancal export --check`: each feed is built in memory, one at a time,
    and compared byte for byte with the file on disk; only the spool (all.ics's
    bytes) goes to a scratch file outside `out`. Nothing under `out` is touched.
    """
    routed = _prepare(plan, partners, managers, formats, stamp, vevents)
    feeds, tables, pages = _files(routed, formats)
    paths = [feed.path for feed in feeds]
    root = out.resolve()
    targets = files.targets_of(root, paths)

    def emit(index: int, chunks: Callable[[], Iterator[bytes]]) -> bool:
        return not files.same_bytes(chunks(), targets[index])

    stale: list[int] = []
    if formats.ics:
        with tempfile.TemporaryDirectory(prefix="chancal-check-") as scratch:
            spool = Path(scratch) / "spool.ics"
            _, stale = _stage(routed, spool, emit, None)
            if routed.all_is_spool and not files.same_file(spool, targets[0]):
                stale.insert(0, 0)
    first = len(feeds) - len(tables) - len(pages)
    stale += _emit_tables(routed, tables, first, emit, formats.bom)[1]
    site = _site(plan, formats, report)
    stale += _emit_pages(routed, pages, first + len(tables), emit, site)[1]
    return [feeds[i].path for i in stale]


def _files(
    routed: _Routed, formats: Formats
) -> tuple[list[Feed], list[tuple[int, Feed]], list[tuple[int, Feed]]]:
    """Every file of the run in writing order (feeds, tables, pages), and the tables and pages
    each with the index of the feed it shows."""
    tables = _tables(routed.feeds) if formats.csv else []
    pages = _pages(routed.feeds) if formats.html else []
    feeds = (routed.feeds if formats.ics else []) + [t for _, t in tables] + [p for _, p in pages]
    return feeds, tables, pages


def _pages(feeds: Sequence[Feed]) -> list[tuple[int, Feed]]:
    """The site: site.css (every page needs it, also with --partner), index.html with
    all.ics, and a page beside each other feed; each with the index of the feed it shows."""
    pages = []
    for index, feed in enumerate(feeds):
        if index == 0:
            pages.append(
                (index, replace(feed, path=STYLESHEET, kind="all", owner=None, format="css"))
            )
        if feed.kind == "all":
            pages.append((index, replace(feed, path=INDEX, format="html")))
        else:
            page = feed.path.removesuffix(".ics") + ".html"
            pages.append((index, replace(feed, path=page, format="html")))
    return pages


def _site(plan: Plan, formats: Formats, report: HealthReport | None) -> Site:
    """The site's map of paths (every owner's, whatever this run writes) and its scores."""
    from chancal.exporters.site import Links, Site

    secret = formats.secret
    owners: list[tuple[Owner, str]] = [("partner", p.id) for p in plan.partners]
    owners += [("manager", m.id) for m in plan.managers]
    stems = {(kind, ident): stem(kind, ident, secret) for kind, ident in owners}
    if secret is None:  # a private site's whole feed is listed nowhere
        stems["all", ""] = stem("all", plan.program_id)
    links = Links(
        pages={owner: path + ".html" for owner, path in stems.items() if owner[0] != "all"},
        feeds={owner: path + ".ics" for owner, path in stems.items()} if formats.ics else {},
        tables=(
            {owner: path + ".csv" for owner, path in stems.items() if owner[0] != "manager"}
            if formats.csv
            else {}
        ),
        base_url=formats.base_url,
        private=secret is not None,
        index=INDEX,
        stylesheet=STYLESHEET,
    )
    scores = {score.partner.id: score for score in report.partners} if report else {}
    return Site(plan, links, scores)


def _emit_pages(
    routed: _Routed,
    pages: Sequence[tuple[int, Feed]],
    first: int,
    emit: Callable[[int, Callable[[], Iterator[bytes]]], bool],
    site: Site,
) -> tuple[list[int], list[int]]:
    """`emit` each page (as `first`+n); a partner's or manager's agenda holds exactly the
    events of its ICS feed. Returns events per page and the pages changed."""
    from chancal.exporters.site import stylesheet

    rows = _rows(routed, {index for index, page in pages if page.kind != "all"})
    counts, changed = [], []
    for n, (index, page) in enumerate(pages):
        events = rows.get(index, [])
        if page.format == "css":
            render: Callable[[], bytes] = stylesheet
        elif page.kind == "all":
            render, events = site.index, routed.ordered
        elif page.kind == "partner":
            render = partial(site.partner, page.owner or "", events)
        else:
            render = partial(site.manager, page.owner or "", events)
        if emit(first + n, _chunks(render)):
            changed.append(first + n)
        counts.append(0 if page.format == "css" else len(events))
    return counts, changed


def _chunks(render: Callable[[], bytes]) -> Callable[[], Iterator[bytes]]:
    return lambda: iter((render(),))


def _rows(routed: _Routed, indexes: set[int]) -> dict[int, list[Event]]:
    """The events routed to each of the feeds at `indexes`, in feed order, withdrawn copies too."""
    rows: dict[int, list[Event]] = {index: [] for index in indexes}
    for ev in routed.ordered if rows else ():
        for index in routed.route_event(ev):
            if index in rows:
                rows[index].append(ev)
    return rows


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
    rows = _rows(routed, {index for index, _ in tables})
    changed = []
    for n, (index, _) in enumerate(tables):
        if emit(first + n, (csv_table(rows[index], bom=bom),).__iter__):
            changed.append(first + n)
    return [len(rows[index]) for index, _ in tables], changed


def _stage(
    routed: _Routed,
    spool_path: Path,
    emit: Callable[[int, Callable[[], Iterator[bytes]]], bool],
    progress: Progress | None,
) -> tuple[list[int], list[int]]:
    """Write the spool (all.ics itself when it holds every event), then `emit` every other feed.

    Every event is written once, into the spool; each other feed is then
    assembled from the spool's byte ranges that hold its events, and handed
    to `emit` as a function that yields its chunks (most feeds: a single
    one), so `emit` may compare and then write without holding the feed.
    Feeds are emitted in this process, one after another: spreading them over
    worker processes saved nothing measurable (benchmarks/README.md, issue 12).
    Returns events per feed, and the feeds `emit` answered True for, in order.
    """
    feeds, vevents, years = routed.feeds, routed.vevents, routed.years
    assert vevents is not None, "ICS feeds are written from rendered events"
    total = vevents.count + len(feeds)
    spool_feed = 0 if routed.all_is_spool else None
    # Exclusive: the staging folder is new, so an existing file would be a bug.
    with open(spool_path, "x+b", buffering=files.CHUNK) as spool:
        if spool_feed is not None:
            spool.write(feed_head(feeds[spool_feed].header, vevents.tzids, years))
        bodies = write_events(
            vevents.items(),
            routed.route,
            len(feeds),
            spool,
            progress=progress,
            progress_total=total,
        )
        if spool_feed is not None:
            spool.write(CALENDAR_END)
        spool.flush()  # all.ics itself, when it is the spool: flushed with the others
    changed = []
    with open(spool_path, "rb", buffering=0) as reader:
        for index in range(len(feeds)):
            if index == spool_feed:
                continue
            parts = partial(feed_parts, feeds[index].header, bodies[index], reader, years=years)
            if emit(index, parts):
                changed.append(index)
            if progress is not None and index % 256 == 0:
                progress(vevents.count + index + 1, total)
    return [body.events for body in bodies], changed
