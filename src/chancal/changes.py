"""What publishing changes for subscribers: `Change` values and their counts by kind.

Values only: the lock (`chancal.publish.reconcile`) makes them, the diff exporter
and the CLI report them, and neither needs the lock to read them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Literal, NamedTuple

ChangeKind = Literal["added", "moved", "changed", "cancelled", "restored", "retired"]
CHANGE_KINDS: tuple[ChangeKind, ...] = (
    "added",
    "moved",
    "changed",
    "cancelled",
    "restored",
    "retired",
)


class Change(NamedTuple):
    """One difference a reviewer should see between the lock and the fresh plan.

    A named tuple: a first export reports every event as added (90,000 and
    more in a large program), and tuples are built several times faster.
    """

    kind: ChangeKind
    key: str
    uid: str
    partner_id: str | None
    manager_id: str | None
    title: str
    old_start: date | datetime | None  # None for added
    new_start: date | datetime | None  # None for cancelled and retired
    sequence: int  # the SEQUENCE subscribers get (cancelled: of the cancellation)
    old_title: str | None = None  # set when the title changed
    details: tuple[str, ...] = ()  # what changed: "title", "time", "status", "details"
    reason: str = ""  # the planner's diagnostic, for moved events


def summarize(changes: Iterable[Change]) -> Mapping[ChangeKind, int]:
    """Count changes by kind, every kind present (zero if none), in a fixed order."""
    counts: dict[ChangeKind, int] = dict.fromkeys(CHANGE_KINDS, 0)
    for c in changes:
        counts[c.kind] += 1
    return counts
