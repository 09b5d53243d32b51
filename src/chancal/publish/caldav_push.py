"""Publish a reconciled plan into CalDAV calendars, updated in place (`chancal publish --caldav`).

One calendar collection per partner and per manager under the URL given
(`partner-<id>/`, `manager-<id>/`, made with MKCALENDAR when missing, named
as the feeds are), or the existing calendar the program's
`publish.caldav.calendars` maps an id to (never made: it must exist). Each
event is one resource, `<uid>.ics`, holding a VCALENDAR with the event and
the VTIMEZONE its times need, rendered by the same pure writer as the feeds
(`chancal.exporters.ics`).

Writes are conditional: `If-None-Match: *` for a new event, `If-Match` with
the ETag last seen for an update, so an event someone changed or deleted
on the server is kept unless `force` (reported as a conflict once chancal
has a new version of it; until then there is nothing to overwrite). SEQUENCE is chancal's own (the
lock's); the caldav client's habit of raising it is bypassed by PUTting
raw bytes. A small state file beside the lock records, per resource, the
ETag the server gave and a digest of the bytes sent: an unchanged event
sends nothing, and a run cut short (server down, network gone) leaves a
state the next run completes. Events chancal put on the server that the
plan no longer publishes (cancelled ones whose date has passed, as in the
feeds) are deleted.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote, urlsplit

from chancal.errors import ChancalError, UsageError
from chancal.exporters.ics import (
    CALENDAR_END,
    EventWriter,
    FeedHeader,
    feed_head,
    feed_order,
    used_tzids,
    year_range,
)
from chancal.models_publish import check_calendar_url
from chancal.plan import ALL_FEED, Event, Plan, audience, managers_of
from chancal.publish.caldav_server import (
    PushInterrupted,
    Server,
    Transport,
    Unreachable,
    caldav_transport,
    credentials,
    path_key,
)
from chancal.publish.feeds import safe_name, select_feeds

if TYPE_CHECKING:
    from chancal.publish.workflow import Published

STATE_FORMAT = 1
SAVE_EVERY = 200  # writes between two saves of the state (each save rewrites the file)

Action = Literal["create", "update", "delete", "conflict", "adopt", "kept"]


@dataclass(frozen=True, slots=True)
class Collection:
    """One calendar on the server: its URL, what it says about itself, its events."""

    url: str  # ends with '/'
    header: FeedHeader
    events: list[Event]
    mapped: bool = False  # named in publish.caldav.calendars: it must exist, chancal never makes it


@dataclass(slots=True)
class Outcome:
    """What a push did (or, with dry_run, would do)."""

    calendars_created: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    conflicts: list[str] = field(default_factory=list)  # UIDs changed on the server, kept
    kept: int = 0  # changed or deleted on the server, and chancal has nothing new for them
    dry_run: bool = False
    url: str = ""  # the server's base URL

    @property
    def writes(self) -> int:
        return self.created + self.updated + self.deleted + len(self.calendars_created)

    def summary(self) -> str:
        verb = "would " if self.dry_run else ""
        parts = [
            f"{verb}create {self.created}",
            f"{verb}update {self.updated}",
            f"{verb}delete {self.deleted}",
            f"{self.unchanged} unchanged",
        ]
        text = f"{self.url}: {', '.join(parts)} event(s)"
        if self.calendars_created:
            text += f"; {verb}create {len(self.calendars_created)} calendar(s)"
        if self.kept:
            text += f"; {self.kept} event(s) changed or deleted on the server kept as they are"
        return text

    def conflict_text(self) -> str:
        shown = ", ".join(self.conflicts[:5]) + (" ..." if len(self.conflicts) > 5 else "")
        return (
            f"{len(self.conflicts)} event(s) were changed or deleted on the server since "
            f"chancal published them and were kept: {shown}; pass --force to overwrite them"
        )


# -- what goes where ------------------------------------------------------------


def collections(
    plan: Plan,
    base_url: str,
    *,
    mapped: Mapping[str, str] | None = None,
    partners: Sequence[str] | None = None,
    managers: Sequence[str] | None = None,
) -> list[Collection]:
    """The calendars to publish: one per partner and per manager, with their events.

    `mapped` gives an existing calendar's URL by `partner/<id>` or `manager/<id>`
    instead of `<base_url>partner-<id>/`. With `partners` or `managers`, only
    those calendars (an unknown id is a UsageError with a did-you-mean). A
    partner or manager the program no longer has keeps its calendar on the
    server; its events there come back CANCELLED (reconciling gives them a
    copy for the feeds they left) under a plain name.
    """
    base = _slash(base_url)
    mapped = mapped or {}
    manager_of = managers_of(plan.partners)
    headers: dict[str, FeedHeader] = {}
    for feed in select_feeds(plan, partners, managers):  # refuses unknown ids
        if feed.kind != "all" and feed.owner is not None:
            headers[f"{feed.kind}/{feed.owner}"] = feed.header
    only = set(headers) if partners or managers else None
    members: dict[str, list[Event]] = {name: [] for name in headers}
    for ev in feed_order(plan.events):
        for name in audience(ev, manager_of):
            if name != ALL_FEED and (only is None or name in only):
                members.setdefault(name, []).append(ev)
    found = []
    owner: dict[str, str] = {}
    for name in sorted(members):
        kind, _, ident = name.partition("/")
        header = headers.get(name) or FeedHeader(
            f"{plan.program_name}: {ident}", f"No longer in {plan.program_name}.", plan.timezone
        )
        url = _slash(mapped[name]) if name in mapped else f"{base}{kind}-{safe_name(ident)}/"
        if url in owner:  # two calendars in one collection would delete each other's events
            raise UsageError(f"{owner[url]} and {name} would share the calendar {url}")
        owner[url] = name
        found.append(Collection(url, header, members[name], mapped=name in mapped))
    return found


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


class Renderer:
    """One event as a CalDAV resource: a VCALENDAR with the event and its VTIMEZONE."""

    def __init__(self, plan: Plan, stamp: datetime) -> None:
        self._writer = EventWriter(stamp)
        self._years = year_range(plan.events, plan.year_start, plan.last_day)
        self._heads: dict[tuple[FeedHeader, tuple[str, ...]], bytes] = {}

    def resource(self, ev: Event, header: FeedHeader) -> bytes:
        key = (header, tuple(sorted(used_tzids([ev]))))
        head = self._heads.get(key)
        if head is None:
            # A calendar object resource carries no METHOD (RFC 4791 4.1).
            head = feed_head(header, key[1], self._years).replace(b"METHOD:PUBLISH\r\n", b"", 1)
            self._heads[key] = head
        return head + self._writer.event(ev) + CALENDAR_END


def resource_url(collection_url: str, uid: str) -> str:
    """Where an event lives in its calendar: its UID, percent-encoded, with `.ics`."""
    return f"{collection_url}{quote(uid, safe='')}.ics"


# -- state beside the lock -------------------------------------------------------


def state_path(lock_path: Path) -> Path:
    """The state file: `<lock name>.caldav.json` beside the lock."""
    return lock_path.with_name(lock_path.name + ".caldav.json")


State = dict[str, dict[str, str]]  # resource key -> {"etag", "digest"}


def load_state(path: Path, base_url: str) -> State:
    """What chancal last put on the server at `base_url`: {} when unknown."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}; delete it to start afresh") from None
    servers = data.get("servers", {}) if isinstance(data, dict) else {}
    found = servers.get(base_url, {})
    return {k: v for k, v in found.items() if isinstance(v, dict)}


def save_state(path: Path, base_url: str, state: State) -> None:
    """Record the state for `base_url`, keeping other servers', atomically."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        servers = data.get("servers", {}) if isinstance(data, dict) else {}
    except (OSError, ValueError):
        servers = {}
    servers[base_url] = dict(sorted(state.items()))
    text = json.dumps({"format": STATE_FORMAT, "servers": servers}, indent=1) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)


# -- what goes to the server ------------------------------------------------------


def _mkcalendar_body(header: FeedHeader) -> str:
    def xml(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        "<d:set><d:prop>"
        f"<d:displayname>{xml(header.name)}</d:displayname>"
        f"<c:calendar-description>{xml(header.description)}</c:calendar-description>"
        '<c:supported-calendar-component-set><c:comp name="VEVENT"/>'
        "</c:supported-calendar-component-set>"
        "</d:prop></d:set></c:mkcalendar>"
    )


# -- the push ---------------------------------------------------------------------

_SEQUENCE = re.compile(r"^SEQUENCE:(\d+)", re.MULTILINE)
_DTSTAMP = re.compile(r"^DTSTAMP:(\S+)", re.MULTILINE)


def _version(ics: str) -> tuple[int, str]:
    """An event's SEQUENCE and DTSTAMP as a server holds it."""
    seq = _SEQUENCE.search(ics)
    stamp = _DTSTAMP.search(ics)
    return (int(seq[1]) if seq else 0, stamp[1] if stamp else "")


def push(
    plan: Plan,
    base_url: str,
    *,
    stamp: datetime,
    state_file: Path,
    transport: Transport,
    mapped: Mapping[str, str] | None = None,
    partners: Sequence[str] | None = None,
    managers: Sequence[str] | None = None,
    dry_run: bool = False,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Bring the calendars under `base_url` up to the plan; see the module's docstring.

    `mapped`, `partners` and `managers` are as for `collections`. Raises
    UsageError (exit 2) for refused credentials or a redirect, Unreachable
    (exit 1) when the server never answers, PushInterrupted (exit 1) when it
    stops answering part-way. Whatever stops a run, the state records every
    write the server confirmed.
    """
    base = _slash(base_url)
    server = Server(transport, base)
    state = load_state(state_file, base)
    initial = {key: dict(value) for key, value in state.items()}
    outcome = Outcome(dry_run=dry_run, url=base)
    render = Renderer(plan, stamp)
    calendars = collections(plan, base, mapped=mapped, partners=partners, managers=managers)
    total = sum(len(c.events) for c in calendars)
    done = saved = 0
    try:
        # Every calendar is listed before anything is written, so a mapped one that is
        # missing stops the run with the server as it was.
        listings = [server.listing(calendar.url) for calendar in calendars]
        for calendar, listing in zip(calendars, listings, strict=True):
            if listing is None and calendar.mapped:
                raise UsageError(
                    f"the calendar {calendar.url} (publish.caldav.calendars) does not exist "
                    "on the server; create it there or fix its address"
                )
        for calendar, listing in zip(calendars, listings, strict=True):
            if listing is None:
                # A calendar deleted on the server starts afresh: nothing in it is kept.
                prefix = path_key(calendar.url)
                for gone in [k for k in state if k.startswith(prefix)]:
                    del state[gone]
                outcome.calendars_created.append(calendar.url)
                if not dry_run:
                    _make_calendar(server, calendar)
                listing = {}
            for ev in calendar.events:
                _sync_event(server, calendar, ev, render, listing, state, outcome, dry_run, force)
                done += 1
                if progress is not None:
                    progress(done, total)
            _remove_withdrawn(server, calendar, listing, state, outcome, dry_run)
            if not dry_run and outcome.writes >= saved + SAVE_EVERY:
                save_state(state_file, base, state)  # now and then: a crash loses little
                saved = outcome.writes
    except Unreachable:
        raise
    except ChancalError as exc:
        if not dry_run and state != initial:
            save_state(state_file, base, state)
        if not isinstance(exc, PushInterrupted):
            raise
        raise PushInterrupted(
            f"{exc}; {outcome.created + outcome.updated + outcome.deleted} write(s) done and "
            f"recorded, {total - done} of {total} event(s) still to check: run the same "
            "command again to finish"
        ) from None
    if progress is not None:
        progress(total, total)
    if not dry_run and (state != initial or not state_file.exists()):
        save_state(state_file, base, state)
    return outcome


def _make_calendar(server: Server, calendar: Collection) -> None:
    status, _, _ = server.request(
        calendar.url,
        "MKCALENDAR",
        _mkcalendar_body(calendar.header),
        {"Content-Type": "application/xml; charset=utf-8"},
    )
    if status not in (200, 201):
        raise UsageError(f"cannot create the calendar {calendar.url} (HTTP {status})")


def _sync_event(
    server: Server,
    calendar: Collection,
    ev: Event,
    render: Renderer,
    listing: dict[str, str],
    state: State,
    outcome: Outcome,
    dry_run: bool,
    force: bool,
) -> None:
    url = resource_url(calendar.url, ev.uid)
    key = path_key(url)
    body = render.resource(ev, calendar.header)
    digest = sha256(body).hexdigest()
    known = state.get(key)
    on_server = listing.get(key)
    news = known is None or known.get("digest") != digest  # differs from what chancal sent
    if on_server is None:
        # Not there: new, or deleted on the server by someone (chancal had put it there).
        # A deletion is kept like an edit; a cancellation it anticipated is no conflict.
        action: Action = "create"
        if known is not None and not force:
            action = "conflict" if news and ev.status != "CANCELLED" else "kept"
    elif known is not None and known.get("etag") == on_server:
        if not news:
            outcome.unchanged += 1
            return
        action = "update"
    elif known is not None:  # changed on the server: kept, reported only if chancal has news
        action = "update" if force else "conflict" if news else "kept"
    else:  # on the server but not in the state (a lost state file): compare versions
        status, _, text = server.request(url, "GET")
        mine = (ev.sequence, _stamp_text(body))
        theirs = _version(text) if status == 200 else (-1, "")
        if theirs == mine:
            action = "adopt"
        elif theirs[0] < ev.sequence or force:
            action = "update"
        else:
            action = "conflict"
    if action == "conflict":
        outcome.conflicts.append(ev.uid)
        return
    if action == "kept":
        outcome.kept += 1
        return
    if action == "adopt":
        state[key] = {"etag": on_server or "", "digest": digest}
        outcome.unchanged += 1
        return
    if action == "create":
        outcome.created += 1
    else:
        outcome.updated += 1
    if dry_run:
        return
    condition = {"If-None-Match": "*"} if action == "create" else {"If-Match": on_server or "*"}
    status, headers, _ = server.request(
        url,
        "PUT",
        body.decode("utf-8"),
        {"Content-Type": "text/calendar; charset=utf-8", **condition},
    )
    if status == 412:  # changed (or made) on the server since it was listed: keep theirs
        outcome.created -= action == "create"
        outcome.updated -= action == "update"
        outcome.conflicts.append(ev.uid)
        return
    if status not in (200, 201, 204):
        raise UsageError(f"the server refused {url} (HTTP {status})")
    etag = headers.get("etag") or server.etag_of(url) or ""
    state[key] = {"etag": etag, "digest": digest}


def _stamp_text(body: bytes) -> str:
    found = _DTSTAMP.search(body.decode("utf-8", "replace").replace("\r\n", "\n"))
    return found[1] if found else ""


def _remove_withdrawn(
    server: Server,
    calendar: Collection,
    listing: dict[str, str],
    state: State,
    outcome: Outcome,
    dry_run: bool,
) -> None:
    """Delete what chancal put in this calendar that the plan no longer publishes."""
    wanted = {path_key(resource_url(calendar.url, ev.uid)) for ev in calendar.events}
    prefix = path_key(calendar.url)
    for key in sorted(k for k in state if k.startswith(prefix) and k not in wanted):
        etag = listing.get(key)
        if etag is None:  # already gone from the server
            if not dry_run:
                del state[key]
            continue
        if etag != state[key].get("etag"):
            continue  # someone changed it on the server: theirs now
        outcome.deleted += 1
        if dry_run:
            continue
        url = calendar.url + quote(key[len(prefix) :], safe="")
        status, _, _ = server.request(url, "DELETE", "", {"If-Match": etag})
        if status in (200, 204, 404, 412):
            del state[key]


def push_published(
    published: Published,
    url: str | None = None,
    *,
    stamp: datetime,
    partners: Sequence[str] | None = None,
    managers: Sequence[str] | None = None,
    dry_run: bool = False,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Push what `workflow.publish` reconciled to the server, then record it in the lock.

    The workflow's step after `publish` and `refusal`, as `workflow.write` is for
    feeds. `url` defaults to the program's `publish.caldav.url`; its
    `publish.caldav.calendars` name existing calendars. Credentials come from
    the environment (or ~/.netrc). The lock is written once the server has
    taken any write, so a run the server cut short still records what it did
    (the lock, and the state beside it); `dry_run` writes nothing anywhere.
    """
    from chancal.publish.workflow import save_lock

    settings = published.program.config.publish.caldav
    base = _base_url(url, settings.url)
    mapped = {f"partner/{k}": v for k, v in settings.calendars.partners.items()}
    mapped.update((f"manager/{k}", v) for k, v in settings.calendars.managers.items())
    for name, where in sorted(mapped.items()):
        if urlsplit(where)[:2] != urlsplit(base)[:2]:
            raise UsageError(
                f"the calendar of {name} ({where}) is not on the server at {base}: chancal "
                "sends the credentials to one server only"
            )
    user, password = credentials()
    state_file = state_path(published.program.lock_path)
    before = _read(state_file)
    try:
        outcome = push(
            published.reconciled.plan,
            base,
            stamp=stamp,
            state_file=state_file,
            transport=caldav_transport(base, user, password),
            mapped=mapped,
            partners=partners,
            managers=managers,
            dry_run=dry_run,
            force=force,
            progress=progress,
        )
    except ChancalError:
        if not dry_run and _read(state_file) != before:
            save_lock(published)
        raise
    if not dry_run:
        save_lock(published)
    return outcome


def _base_url(given: str | None, configured: str | None) -> str:
    """The server's URL: the one given, else the program's; checked as the program's is."""
    url = given or configured
    if url is None:
        raise UsageError(
            "no CalDAV server: pass --caldav URL or set publish.caldav.url in the program file"
        )
    try:
        return _slash(check_calendar_url(url))
    except ValueError as exc:
        raise UsageError(f"--caldav: {exc}") from None


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
