"""Publish a reconciled plan into CalDAV calendars, updated in place (`chancal publish --caldav`).

One calendar collection per partner and per manager under the URL given
(`partner-<id>/`, `manager-<id>/`, made with MKCALENDAR when missing, named
as the feeds are). Each event is one resource, `<uid>.ics`, holding a
VCALENDAR with the event and the VTIMEZONE its times need, rendered by the
same pure writer as the feeds (`chancal.exporters.ics`).

Writes are conditional: `If-None-Match: *` for a new event, `If-Match` with
the ETag last seen for an update, so an event someone changed on the
server is reported and kept unless `force`. SEQUENCE is chancal's own (the
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
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote, unquote, urlsplit

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
from chancal.plan import ALL_FEED, Event, Plan, audience
from chancal.publish.feeds import safe_name, select_feeds

if TYPE_CHECKING:
    from chancal.publish.workflow import Published

ENV_USER = "CHANCAL_CALDAV_USER"
ENV_PASSWORD = "CHANCAL_CALDAV_PASSWORD"
STATE_FORMAT = 1
TIMEOUT = 30  # seconds per request
SAVE_EVERY = 200  # writes between two saves of the state (each save rewrites the file)

Action = Literal["create", "update", "delete", "conflict", "adopt"]


class PushInterrupted(ChancalError):
    """The server stopped answering part-way: what was done is recorded; run again to finish."""

    exit_code = 1


Transport = Callable[[str, str, str, dict[str, str]], tuple[int, dict[str, str], str]]
"""`send(url, method, body, headers)` -> (status, lower-cased headers, body): one request."""


@dataclass(frozen=True, slots=True)
class Collection:
    """One calendar on the server: its URL, what it says about itself, its events."""

    url: str  # ends with '/'
    header: FeedHeader
    events: list[Event]


@dataclass(slots=True)
class Outcome:
    """What a push did (or, with dry_run, would do)."""

    calendars_created: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    conflicts: list[str] = field(default_factory=list)  # UIDs changed on the server, kept
    dry_run: bool = False

    @property
    def writes(self) -> int:
        return self.created + self.updated + self.deleted + len(self.calendars_created)

    def summary(self, url: str) -> str:
        verb = "would " if self.dry_run else ""
        parts = [
            f"{verb}create {self.created}",
            f"{verb}update {self.updated}",
            f"{verb}delete {self.deleted}",
            f"{self.unchanged} unchanged",
        ]
        text = f"{url}: {', '.join(parts)} event(s)"
        if self.calendars_created:
            text += f"; {verb}create {len(self.calendars_created)} calendar(s)"
        return text

    def conflict_text(self) -> str:
        shown = ", ".join(self.conflicts[:5]) + (" ..." if len(self.conflicts) > 5 else "")
        return (
            f"{len(self.conflicts)} event(s) were changed on the server since chancal "
            f"published them and were kept: {shown}; pass --force to overwrite them"
        )


# -- what goes where ------------------------------------------------------------


def collections(plan: Plan, base_url: str) -> list[Collection]:
    """The calendars to publish: one per partner and per manager, with their events.

    A partner or manager the program no longer has keeps its calendar on the
    server; its events there come back CANCELLED (reconciling gives them a
    copy for the feeds they left) under a plain name.
    """
    base = base_url if base_url.endswith("/") else base_url + "/"
    manager_of = {p.id: p.manager_id for p in plan.partners}
    headers: dict[str, FeedHeader] = {}
    for feed in select_feeds(plan):
        if feed.kind != "all" and feed.owner is not None:
            headers[f"{feed.kind}/{feed.owner}"] = feed.header
    members: dict[str, list[Event]] = {name: [] for name in headers}
    for ev in feed_order(plan.events):
        for name in audience(ev, manager_of):
            if name != ALL_FEED:
                members.setdefault(name, []).append(ev)
    found = []
    for name in sorted(members):
        kind, _, ident = name.partition("/")
        header = headers.get(name) or FeedHeader(
            f"{plan.program_name}: {ident}", f"No longer in {plan.program_name}.", plan.timezone
        )
        found.append(Collection(f"{base}{kind}-{safe_name(ident)}/", header, members[name]))
    return found


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


def _key(url: str) -> str:
    """A resource's key in the state and in listings: its path, decoded."""
    return unquote(urlsplit(url).path)


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


# -- talking to the server ------------------------------------------------------

_PROPFIND = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>'
)
_DAV = "{DAV:}"


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


def caldav_transport(url: str, user: str | None, password: str | None) -> Transport:
    """Requests through the `caldav` package's client (auth, TLS, proxies as it does them)."""
    from caldav.davclient import DAVClient  # heavy: only when publishing

    client = DAVClient(
        url=url, username=user, password=password, timeout=TIMEOUT, enable_rfc6764=False
    )

    def send(
        target: str, method: str, body: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], str]:
        response = client.request(target, method, body, headers)
        raw = response.raw
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
        headers = {str(k).lower(): str(v) for k, v in dict(response.headers).items()}
        return int(response.status), headers, text

    return send


def credentials() -> tuple[str | None, str | None]:
    """The user and password from CHANCAL_CALDAV_USER and CHANCAL_CALDAV_PASSWORD.

    None when unset: the HTTP client then uses ~/.netrc's entry for the host, if any.
    """
    return os.environ.get(ENV_USER) or None, os.environ.get(ENV_PASSWORD) or None


class _Server:
    """Requests with chancal's error policy: refused auth and a dead server are one line."""

    def __init__(self, transport: Transport, base_url: str) -> None:
        self._send = transport
        self._base = base_url
        self.answered = False  # any request has had an answer

    def request(
        self, url: str, method: str, body: str = "", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        try:
            status, got, text = self._send(url, method, body, headers or {})
        except ChancalError:
            raise
        except Exception as exc:
            raise self._failure(exc) from None
        if status in (401, 403):
            raise UsageError(_denied(self._base, status))
        if status >= 500:
            raise self._failure(None, f"{method} {url} answered {status}")
        self.answered = True
        return status, got, text

    def _failure(self, exc: Exception | None, why: str = "") -> ChancalError:
        name = type(exc).__name__ if exc is not None else ""
        if exc is not None and ("Authorization" in name or "Unauthorized" in str(exc)):
            # The caldav client raises AuthorizationError for 401 and 403 alike.
            return UsageError(_denied(self._base, 403 if "Forbidden" in str(exc) else 401))
        why = why or _reason(exc)
        if not self.answered:
            return UsageError(f"cannot reach the CalDAV server at {self._base}: {why}")
        return PushInterrupted(f"the CalDAV server at {self._base} stopped answering: {why}")

    def listing(self, collection_url: str) -> dict[str, str] | None:
        """ETag of each resource in a collection; None when the collection does not exist."""
        status, _, text = self.request(
            collection_url,
            "PROPFIND",
            _PROPFIND,
            {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
        )
        if status == 404:
            return None
        if status != 207:
            raise UsageError(f"{collection_url} is not a calendar the server lists (HTTP {status})")
        found: dict[str, str] = {}
        own = _key(collection_url)
        for response in ET.fromstring(text).iter(f"{_DAV}response"):
            href = response.findtext(f"{_DAV}href") or ""
            etag = response.findtext(f".//{_DAV}getetag")
            key = _key(href)
            if key != own and key.rstrip("/") != own.rstrip("/") and etag:
                found[key] = etag
        return found

    def etag_of(self, url: str) -> str | None:
        status, _, text = self.request(
            url, "PROPFIND", _PROPFIND, {"Depth": "0", "Content-Type": "application/xml"}
        )
        if status != 207:
            return None
        return ET.fromstring(text).findtext(f".//{_DAV}getetag")


def _reason(exc: Exception | None) -> str:
    text = str(exc) if exc is not None else ""
    for pattern, words in (
        (r"Connection refused|ConnectionRefused", "connection refused"),
        (r"Name or service not known|NameResolution|getaddrinfo|resolve", "unknown host"),
        (r"[Tt]imed? ?out", "timed out"),
        (r"SSL|TLS|certificate", "TLS error"),
    ):
        if re.search(pattern, text):
            return words
    return type(exc).__name__ if exc is not None else "no answer"


def _denied(base_url: str, status: int) -> str:
    if status == 401:
        return (
            f"the CalDAV server at {base_url} refused the credentials (401); "
            f"set {ENV_USER} and {ENV_PASSWORD}"
        )
    return f"the CalDAV server at {base_url} forbids this (403): check the account's rights"


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
    dry_run: bool = False,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Bring the calendars under `base_url` up to the plan; see the module's docstring.

    Raises UsageError (exit 2) for an unreachable server or refused credentials
    before anything is written, PushInterrupted (exit 1) when the server stops
    answering part-way (the state records what was done).
    """
    base = base_url if base_url.endswith("/") else base_url + "/"
    server = _Server(transport, base)
    state = load_state(state_file, base)
    initial = {key: dict(value) for key, value in state.items()}
    outcome = Outcome(dry_run=dry_run)
    render = Renderer(plan, stamp)
    calendars = collections(plan, base)
    total = sum(len(c.events) for c in calendars)
    done = saved = 0
    try:
        for calendar in calendars:
            listing = server.listing(calendar.url)
            if listing is None:
                outcome.calendars_created.append(calendar.url)
                if not dry_run:
                    _make_calendar(server, calendar)
                listing = {}
            for ev in calendar.events:
                _sync_event(server, calendar, ev, render, listing, state, outcome, dry_run, force)
                done += 1
                if progress is not None and done % 50 == 0:
                    progress(done, total)
            _remove_withdrawn(server, calendar, listing, state, outcome, dry_run)
            if not dry_run and outcome.writes >= saved + SAVE_EVERY:
                save_state(state_file, base, state)  # now and then: a crash loses little
                saved = outcome.writes
    except PushInterrupted as exc:
        if not dry_run:
            save_state(state_file, base, state)
        left = total - done
        raise PushInterrupted(
            f"{exc}; {outcome.created + outcome.updated + outcome.deleted} write(s) done and "
            f"recorded, {left} of {total} event(s) still to check: run the same command again "
            "to finish"
        ) from None
    if progress is not None:
        progress(total, total)
    if not dry_run and (state != initial or not state_file.exists()):
        save_state(state_file, base, state)
    return outcome


def _make_calendar(server: _Server, calendar: Collection) -> None:
    status, _, _ = server.request(
        calendar.url,
        "MKCALENDAR",
        _mkcalendar_body(calendar.header),
        {"Content-Type": "application/xml; charset=utf-8"},
    )
    if status not in (200, 201):
        raise UsageError(f"cannot create the calendar {calendar.url} (HTTP {status})")


def _sync_event(
    server: _Server,
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
    key = _key(url)
    body = render.resource(ev, calendar.header)
    digest = sha256(body).hexdigest()
    known = state.get(key)
    on_server = listing.get(key)
    if on_server is None:
        action: Action = "create"
    elif known is not None and known.get("etag") == on_server:
        if known.get("digest") == digest:
            outcome.unchanged += 1
            return
        action = "update"
    elif known is not None:
        action = "update" if force else "conflict"
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
    server: _Server,
    calendar: Collection,
    listing: dict[str, str],
    state: State,
    outcome: Outcome,
    dry_run: bool,
) -> None:
    """Delete what chancal put in this calendar that the plan no longer publishes."""
    wanted = {_key(resource_url(calendar.url, ev.uid)) for ev in calendar.events}
    prefix = _key(calendar.url)
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
    url: str,
    *,
    stamp: datetime,
    dry_run: bool = False,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Push what `workflow.publish` reconciled to the server, then record it in the lock.

    The workflow's step after `publish` and `refusal`, as `workflow.write` is for
    feeds. Credentials come from the environment. A run the server cut short
    still records what it did (the lock, and the state beside it) and raises
    PushInterrupted; `dry_run` writes nothing anywhere.
    """
    from chancal.publish.workflow import save_lock

    user, password = credentials()
    try:
        outcome = push(
            published.reconciled.plan,
            url,
            stamp=stamp,
            state_file=state_path(published.program.lock_path),
            transport=caldav_transport(url, user, password),
            dry_run=dry_run,
            force=force,
            progress=progress,
        )
    except PushInterrupted:
        if not dry_run:
            save_lock(published)
        raise
    if not dry_run:
        save_lock(published)
    return outcome
