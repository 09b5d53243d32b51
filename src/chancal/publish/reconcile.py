"""A fresh plan reconciled with the lock: what subscribers get next, and what changed.

Rules, event by event (`reconcile`):

- before `today` and published: frozen. Subscribers keep exactly what they
  were given (times, organizer, attendees, SEQUENCE, the feeds it was in),
  whatever the program says now; it stays in the lock for the rest of the year.
- in plan and lock, same content and feeds: the lock's UID, SEQUENCE and
  DTSTAMP, so the feed bytes stay identical;
- content or time changed: SEQUENCE + 1, DTSTAMP = the run's stamp;
- in the plan, cancelled in the lock: restored with SEQUENCE + 1;
- new: SEQUENCE 0;
- in the lock only and still ahead: published as CANCELLED with SEQUENCE + 1
  in every feed that had it, and kept until its last day is before `today`;
- an event that leaves a feed while still ahead (its partner moved to another
  manager, a partner left a shared event) leaves a CANCELLED copy in that
  feed, kept until its last day is before `today`;
- outside the planning year: retired from the lock (a new year starts afresh).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from chancal.changes import CHANGE_KINDS, Change, ChangeKind, summarize
from chancal.plan import (
    ALL_FEED,
    Event,
    ManagerInfo,
    PartnerInfo,
    Plan,
    Span,
    audience,
    managers_of,
)
from chancal.publish.lock import (
    Content,
    FeedOwner,
    Lines,
    Lock,
    LockEntry,
    Shown,
    Source,
    Withdrawn,
    event_shown,
    published_event,
)


@dataclass(frozen=True, slots=True)
class Reconciled:
    """The plan as it is to be published, the lock that records it, and what changed."""

    plan: Plan
    lock: Lock
    changes: tuple[Change, ...]  # none when they stayed where they were made (`Part`)
    counts: Mapping[ChangeKind, int]  # of every change, by kind (`changes.summarize`)


@dataclass(frozen=True, slots=True)
class Part:
    """Some of the plan's events reconciled with their partners' lock entries (`reconcile_part`)."""

    events: list[Event]  # as published, withdrawn copies included, in no order
    entries: list[LockEntry]
    changes: list[Change]
    # The UID of each event new to the lock; not its key (it is in the message of a bug
    # only): 27 MB of a first export's main process at 10,000 partners
    # (benchmarks/README.md, "One copy of each value").
    added: list[str]
    feeds: frozenset[str]  # the feeds its events name as the lock remembers them (`Event.feeds`)
    counts: Mapping[ChangeKind, int]  # its changes by kind: all the CLI's reports need


def reconcile(plan: Plan, lock: Lock, *, today: date, stamp: datetime) -> Reconciled:
    """Apply the lock to a fresh plan (see the module's rules); pure, no I/O."""
    part = reconcile_part(plan, plan.events, lock.entries, today=today, stamp=stamp)
    uid_owner = {e.uid: e.key for e in lock.entries} if part.added else {}
    return merge(plan, lock.owners, [part], uid_owner.get)


def reconcile_part(
    plan: Plan,
    events: Sequence[Event],
    entries: Iterable[LockEntry],
    *,
    today: date,
    stamp: datetime,
    manager_of: Mapping[str, str] | None = None,
) -> Part:
    """Reconcile some of the plan's events with the lock entries of the same partners.

    Every event's key begins with its partner's id, so the events and entries
    of different partners never meet: reconciling them partner by partner (a
    manager's partners in each process, say) and merging the parts (`merge`)
    gives what reconciling the whole year at once does. `plan` gives the
    year, the partners and managers, and the diagnostics that explain moves.
    `manager_of` (`managers_of(plan.partners)`) may be given by a caller that reconciles
    many parts of one plan: built for each part, it cost 2-3 ms a manager at
    10,000 partners, a quarter of reconciling a manager's events.
    """
    if stamp.tzinfo is None:
        raise ValueError("stamp must be timezone-aware")
    stamp = stamp.astimezone(UTC).replace(microsecond=0)
    counts = Counter(e.key for e in events)
    if len(counts) != len(events):
        twice = sorted(k for k, n in counts.items() if n > 1)
        # Two events under one key would share a UID: a planner bug, never a lock.
        raise ValueError(f"the plan holds these event keys twice: {', '.join(twice[:5])}")
    if manager_of is None:
        manager_of = managers_of(plan.partners)
    run = _Run(plan, entries, today, stamp, manager_of)
    for event in events:
        run.planned(event)
    for old in run.locked.values():
        run.locked_only(old)
    feeds = frozenset(name for e in run.events for name in e.feeds or ())
    return Part(run.events, run.entries, run.changes, run.added, feeds, summarize(run.changes))


def merge(
    plan: Plan,
    owners: Sequence[FeedOwner],
    parts: Iterable[Part],
    uid_owner: Callable[[str], str | None],
    written: Iterable[Lines] = (),
    source: Source | None = None,
) -> Reconciled:
    """The reconciled year from its parts; `owners`: the lock's, `uid_owner`: its UIDs' keys.

    `written`: lines of the new lock that parts send instead of entries
    (copied from `source`, the lock read, where they are its stretches).
    A UID is never reused: an event new to the lock whose UID the lock holds
    for another key is refused (ValueError).
    """
    parts = list(parts)
    for part in parts:
        for uid in part.added:
            owner = uid_owner(uid)
            if owner is not None:  # never its own key: that is in the lock, so not new
                raise ValueError(f"UID {uid} of a new event is locked for {owner}; never reused")
    events = sorted((e for part in parts for e in part.events), key=_order)
    partners, managers = _owners_of(plan, owners, frozenset().union(*(p.feeds for p in parts)))
    result = replace(plan, events=tuple(events), partners=partners, managers=managers)
    feed_owners = [FeedOwner("partner", p.id, p.timezone, p.name) for p in partners]
    feed_owners += [FeedOwner("manager", m.id, m.timezone, m.name) for m in managers]
    feed_owners.sort(key=lambda o: (o.kind, o.id))
    entries = sorted((e for part in parts for e in part.entries), key=lambda e: e.key)
    lines = tuple(sorted(written, key=lambda lines: lines.first_key))
    lock = Lock(plan.program_id, tuple(entries), tuple(feed_owners), lines, source)
    changes = _in_report_order([c for part in parts for c in part.changes])
    counts = {kind: sum(part.counts[kind] for part in parts) for kind in CHANGE_KINDS}
    return Reconciled(result, lock, changes, counts)


class _Run:
    """One reconcile: the published events, the new lock entries and the changes so far."""

    def __init__(
        self,
        plan: Plan,
        entries: Iterable[LockEntry],
        today: date,
        stamp: datetime,
        manager_of: Mapping[str, str],
    ) -> None:
        self.plan, self.today, self.stamp = plan, today, stamp
        self.locked = {e.key: e for e in entries}
        self.manager_of = manager_of
        self.moved_reasons = {
            (d.partner_id, d.rule_id, d.day): d.message
            for d in reversed(plan.diagnostics)
            if d.code == "moved"
        }
        self.done: set[str] = set()
        self.events: list[Event] = []
        self.entries: list[LockEntry] = []
        self.changes: list[Change] = []
        self.added: list[str] = []

    def frozen(self, old: LockEntry) -> bool:
        """Published, live and started before today: subscribers keep it as it is."""
        return not old.upgraded and old.status != "CANCELLED" and old.day < self.today

    def planned(self, event: Event) -> None:
        old = self.locked.get(event.key)
        if old is not None and self.frozen(old):
            return  # `locked_only` publishes what subscribers have
        self.done.add(event.key)
        feeds = audience(event, self.manager_of)
        content = event_shown(event)
        if old is None:
            self.added.append(event.uid)
            entry = LockEntry(event.key, event.uid, event.status, 0, self.stamp, feeds, content)
            self._note("added", self._keep(entry, event), None)
            return
        withdrawn = self._withdrawn(old, feeds)
        # A copy coming back to a feed it was cancelled in must outrank the cancellation.
        returning = any(_still(w, feeds) != w.feeds for w in old.withdrawn)
        kind: ChangeKind | None = None
        if old.status == "CANCELLED":
            sequence, kind = self._next_sequence(old), "restored"
        elif old.content != content or old.status != event.status or returning:
            sequence = self._next_sequence(old)
            kind = "changed" if _same_start(old.span, event.span) else "moved"
        else:
            sequence = old.sequence
        if kind is None and old.feeds == feeds and withdrawn == old.withdrawn:
            if old.content.json != content.json:  # the same, spaced or ordered by hand
                old = replace(old, content=content)
            self._keep(old, event)  # the common case on every CI run: the entry as it is
            return
        entry = LockEntry(
            event.key,
            old.uid,
            event.status,
            sequence,
            old.stamp if kind is None else self.stamp,
            feeds,
            content,
            withdrawn,
        )
        published = self._keep(entry, event)
        if kind is not None:
            reason = self.moved_reasons.get((event.partner_id, event.rule_id, event.day), "")
            self._note(kind, published, old, reason=reason if kind == "moved" else "")

    def locked_only(self, old: LockEntry) -> None:
        """Every lock entry the plan did not decide: frozen, cancelled, kept or retired."""
        if old.key in self.done:
            return
        if not (self.plan.year_start <= old.day < self.plan.year_end):
            self._note("retired", self._event(old), old)
            return
        if self.frozen(old):
            withdrawn = tuple(w for w in old.withdrawn if not self._over(w.content))
            entry = old if withdrawn == old.withdrawn else replace(old, withdrawn=withdrawn)
            self._keep(entry)
            return
        if old.last_day < self.today:
            self._note("retired", self._event(old), old)
            return
        if old.status == "CANCELLED":
            self._keep(old)
            return
        feeds = old.feeds
        if old.upgraded and old.content.value().get("partner") is None:
            # Format 1 did not record who was invited: tell every partner still here.
            shared = self._event(old)
            everyone = tuple(sorted(p.id for p in self.plan.partners))
            feeds = audience(replace(shared, feeds=None, partner_ids=everyone), {})
        cancelled = replace(
            old,
            status="CANCELLED",
            sequence=old.sequence + 1,
            stamp=self.stamp,
            feeds=feeds,
            withdrawn=self._withdrawn(old, feeds),
        )
        self._keep(cancelled)
        self._note("cancelled", self._event(cancelled), old)

    # -- helpers ----------------------------------------------------------

    def _keep(self, entry: LockEntry, planned: Event | None = None) -> Event:
        """Record the entry; publish it (the planned event, if any) and its withdrawn copies."""
        if planned is None:
            # Decoded once, both to publish it and to write it back canonical (it was
            # read from the lock and never compared with the plan): a frozen entry
            # was decoded twice, 0.4 s of a 10,000-partner re-export in July.
            content = entry.content.value()
            if not entry.content.canonical:
                entry = replace(entry, content=Shown.of(content))
            event = self._event(entry, content)
        else:
            event = _as_published(planned, entry)
        self.entries.append(entry)
        self.events.append(event)
        for w in entry.withdrawn:
            self.events.append(
                published_event(
                    entry.key,
                    entry.uid,
                    w.content,
                    status="CANCELLED",
                    sequence=w.sequence,
                    stamp=w.stamp,
                    feeds=w.feeds,
                )
            )
        return event

    def _event(self, entry: LockEntry, content: Content | None = None) -> Event:
        """The event the entry publishes (`content`: its content, if already decoded)."""
        return published_event(
            entry.key,
            entry.uid,
            entry.content if content is None else content,
            status=entry.status,
            sequence=entry.sequence,
            stamp=entry.stamp,
            feeds=entry.feeds,
        )

    def _withdrawn(self, old: LockEntry, feeds: tuple[str, ...]) -> tuple[Withdrawn, ...]:
        """The cancelled copies the entry keeps once it goes to `feeds` only."""
        if feeds == old.feeds and not old.withdrawn:
            return ()  # nearly every entry: it stays in its feeds and never left one
        kept = [
            Withdrawn(still, w.sequence, w.stamp, w.content)
            for w in old.withdrawn
            if (still := _still(w, feeds)) and not self._over(w.content)
        ]
        if old.status != "CANCELLED" and not old.upgraded:
            left = tuple(f for f in old.feeds if f not in feeds and f != ALL_FEED)
            if left:
                kept.append(
                    Withdrawn(left, old.sequence + 1, self.stamp, old.content.canonical_form())
                )
        return tuple(kept)

    def _over(self, shown: Shown) -> bool:
        end = shown.end
        last = date.fromisoformat(end[:10])
        return (last if "T" in end else date.fromordinal(last.toordinal() - 1)) < self.today

    def _next_sequence(self, old: LockEntry) -> int:
        return max([old.sequence, *(w.sequence for w in old.withdrawn)]) + 1

    def _note(
        self, kind: ChangeKind, event: Event, old: LockEntry | None, *, reason: str = ""
    ) -> None:
        self.changes.append(_change(kind, event, old, reason=reason))


def _owners_of(
    plan: Plan, owners: Sequence[FeedOwner], feeds: frozenset[str]
) -> tuple[tuple[PartnerInfo, ...], tuple[ManagerInfo, ...]]:
    """The plan's partners and managers, plus every gone one whose feed still has events.

    A removed partner's subscribers still poll its feed: it is written with
    the cancellations and the past, named as the lock remembers it.
    """
    known: dict[tuple[str, str], FeedOwner] = {(o.kind, o.id): o for o in owners}
    have = {f"partner/{p.id}" for p in plan.partners}
    have |= {f"manager/{m.id}" for m in plan.managers}
    missing = sorted(feeds - have - {ALL_FEED})
    partners = list(plan.partners)
    managers = list(plan.managers)
    zone = plan.timezone
    for name in missing:
        kind, _, ident = name.partition("/")
        owner = known.get((kind, ident))
        label, tz = (owner.name, owner.timezone) if owner else (ident, zone)
        if kind == "partner":
            partners.append(PartnerInfo(ident, label, "", "", "", tz))
        else:
            managers.append(ManagerInfo(ident, label, "", tz, 0, 0.0, 0))
    return tuple(partners), tuple(managers)


def _as_published(planned: Event, entry: LockEntry) -> Event:
    """The planned event as the entry publishes it: its UID, SEQUENCE, DTSTAMP and feeds.

    Spelled out rather than `dataclasses.replace`, which cost 11 us an event
    (2 s of a 10,000-partner reconcile) against 5 us; a test fails if a field
    of `Event` is missing here.
    """
    return Event(
        key=planned.key,
        uid=entry.uid,
        partner_id=planned.partner_id,
        manager_id=planned.manager_id,
        rule_id=planned.rule_id,
        kind=planned.kind,
        purpose=planned.purpose,
        title=planned.title,
        span=planned.span,
        timezone=planned.timezone,
        mode=planned.mode,
        location=planned.location,
        description=planned.description,
        conference=planned.conference,
        focus_area=planned.focus_area,
        organizer=planned.organizer,
        attendees=planned.attendees,
        reminders=planned.reminders,
        status=planned.status,
        sequence=entry.sequence,
        partner_ids=planned.partner_ids,
        stamp=entry.stamp,
        direction=planned.direction,
        feeds=entry.feeds,
    )


def _still(w: Withdrawn, feeds: Sequence[str]) -> tuple[str, ...]:
    return tuple(f for f in w.feeds if f not in feeds)


def _same_start(a: Span, b: Span) -> bool:
    # An all-day start is never the same as a timed one, even at midnight.
    return type(a) is type(b) and a.start == b.start


def _order(event: Event) -> tuple[datetime, str, tuple[str, ...]]:
    return (event.start_instant, event.key, event.feeds or ())


def _change(kind: ChangeKind, event: Event, old: LockEntry | None, *, reason: str = "") -> Change:
    details: list[str] = []
    if old is not None and kind in ("changed", "moved"):
        if old.title != event.title:
            details.append("title")
        if old.span != event.span:
            details.append("time")
        if old.status != event.status:
            details.append("status")
        if old.feeds != event.feeds:
            details.append("feeds")
        if not details:
            details.append("details")
    return Change(
        kind=kind,
        key=event.key,
        uid=event.uid,
        partner_id=event.partner_id,
        manager_id=event.manager_id,
        title=event.title,
        old_start=old.start if old is not None else None,
        new_start=None if kind in ("cancelled", "retired") else event.start,
        sequence=event.sequence,
        old_title=old.title if old is not None and old.title != event.title else None,
        details=tuple(details),
        reason=reason,
    )


def _in_report_order(changes: Sequence[Change]) -> tuple[Change, ...]:
    """Partner by partner (shared events last), each by day then key."""

    def order(c: Change) -> tuple[bool, str, int, str]:
        when = c.new_start or c.old_start
        day = when.toordinal() if when is not None else 0
        return (c.partner_id is None, c.partner_id or "", day, c.key)

    return tuple(sorted(changes, key=order))
