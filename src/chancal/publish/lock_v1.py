"""Read a format-1 lock once, so a program published by an older chancal keeps its UIDs.

Format 1 was one space-separated line per event and kept only what it needed
to compare (times, ids, kind, title and a hash of the rest), not what a feed
said. Its entries come back marked `upgraded`: the first publish with this
chancal sends every event again with a higher SEQUENCE (the safe choice when
the old content is unknown) and writes the lock in format 2 from then on.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Literal, cast
from urllib.parse import unquote

from chancal.errors import ConfigError, Problem
from chancal.plan import Status
from chancal.publish.lock import (
    Content,
    FeedOwner,
    Lock,
    LockEntry,
    Shown,
    _instant,
    _zone_ok,
)

_LINE = re.compile(
    r"(?P<key>\S+) (?P<start>\S+)\[(?P<zone>[^\]\s]+)\] (?P<end>\S+)"
    r" (?P<status>CONFIRMED|TENTATIVE|CANCELLED)"
    r" seq=(?P<seq>\d+) hash=[0-9a-f]{16} stamp=(?P<stamp>\d{8}T\d{6}Z) uid=(?P<uid>\S+)"
    r" partner=(?P<partner>\S+) manager=(?P<manager>\S+) kind=(?P<kind>\S+) title=(?P<title>.*)"
)
_OWNER = re.compile(r"@(?P<kind>partner|manager) (?P<id>\S+) tz=(?P<tz>\S+) name=(?P<name>.*)")


def upgrade(text: str, name: str) -> Lock:
    """Read a format-1 lock as format-2 entries marked `upgraded`; locate every problem."""
    problems: list[Problem] = []
    entries: list[LockEntry] = []
    owners: list[FeedOwner] = []
    for line_no, raw in enumerate(text.split("\n")[1:], start=2):
        line = raw.removesuffix("\r")
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("@"):
            owner = _OWNER.fullmatch(line)
            if owner is None or not _zone_ok(owner["tz"]):
                problems.append(Problem(name, line_no, 1, "", "malformed feed line"))
                continue
            kind = cast(Literal["partner", "manager"], owner["kind"])
            owners.append(FeedOwner(kind, unquote(owner["id"]), owner["tz"], _text(owner["name"])))
            continue
        entry = _entry(line)
        if entry is None:
            problems.append(
                Problem(
                    name,
                    line_no,
                    1,
                    "",
                    "malformed format-1 lock line; fix it or rebuild the lock with 'chancal lock'",
                )
            )
            continue
        entries.append(entry)
    if problems:
        raise ConfigError(problems)
    program_ids = {e.uid.rpartition("@")[2].removesuffix(".chancal") for e in entries}
    program_id = program_ids.pop() if len(program_ids) == 1 else None
    entries.sort(key=lambda e: e.key)
    owners.sort(key=lambda o: (o.kind, o.id))
    return Lock(program_id, tuple(entries), tuple(owners))


def _entry(line: str) -> LockEntry | None:
    m = _LINE.fullmatch(line)
    if m is None or not _zone_ok(m["zone"]):
        return None
    try:
        start, end = _instant(m["start"], m["zone"]), _instant(m["end"], m["zone"])
        stamp = datetime.strptime(m["stamp"], "%Y%m%dT%H%M%S%z")
        title = _text(m["title"])
    except ValueError:
        return None
    partner, manager = unquote(m["partner"]), unquote(m["manager"])
    content: Content = {
        "title": title,
        "kind": unquote(m["kind"]),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "timezone": m["zone"],
        "partner": None if partner == "-" else partner,
        "manager": None if manager == "-" else manager,
    }
    feeds = ["all"]
    if content["partner"]:
        feeds.append(f"partner/{partner}")
    if content["manager"]:
        feeds.append(f"manager/{manager}")
    return LockEntry(
        key=unquote(m["key"]),
        uid=unquote(m["uid"]),
        status=cast(Status, m["status"]),
        sequence=int(m["seq"]),
        stamp=stamp,
        feeds=tuple(sorted(feeds)),
        content=Shown.of(content),
        upgraded=True,
    )


def _text(value: str) -> str:
    found = json.loads(value)
    if not isinstance(found, str):
        raise ValueError("not a JSON string")
    return found
