"""VTIMEZONE blocks for the feeds: built by `icalendar`, corrected where parsers would misread them.

Calendar apps differ in where they take an event's offset from: some look the
TZID up in their own time-zone database, others (libical, ical.js, dateutil
through vobject) read only the VTIMEZONE inside the file. So the VTIMEZONE
must describe exactly the transitions the tz database has for the years the
feed covers. `icalendar` computes those transitions from zoneinfo; this
module caches its output per (tzid, years) and fixes the one defect below.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

_SECOND = timedelta(seconds=1)


@lru_cache(maxsize=1024)
def vtimezone_block(tzid: str, first_year: int, last_year: int) -> bytes:
    """Return the folded CRLF VTIMEZONE of `tzid` for the years `first_year` to `last_year`."""
    from icalendar import Timezone

    zone = ZoneInfo(tzid)
    first = date(first_year, 1, 1)
    last = date(last_year + 1, 1, 1)
    if _fixed_offset(zone, first, last):
        component = _fixed_offset_component(tzid, zone, first, last)
        onsets = _onsets(component, zone)
    else:
        # icalendar starts the block with a made-up observance at `first`
        # (TZOFFSETFROM equal to TZOFFSETTO). A server that re-serialises the
        # VTIMEZONE (Radicale, through vobject) can turn that into a block that
        # puts the events before the first real transition an hour off, in
        # zones on daylight time on 1 January (Santiago, Auckland, Sydney).
        # So the block starts with the last real transition before `first`:
        # icalendar builds the year before too, and what precedes it is dropped.
        earlier = first.replace(year=first_year - 1)
        component = Timezone.from_tzid(tzid, first_date=earlier, last_date=last)
        onsets = _onsets(component, zone)
        start = datetime(first_year, 1, 1)
        real = [i for i, o in enumerate(onsets) if o[2] != o[3] and o[0] <= start]
        if real:
            onsets = onsets[real[-1] :]
            component.pop("COMMENT", None)  # it names the year before, which is gone
            component.add("COMMENT", f"This timezone only works from {first} to {last}.")
        else:  # no transition in the year before: the window's own block
            component = Timezone.from_tzid(tzid, first_date=first, last_date=last)
            onsets = _onsets(component, zone)
    component.subcomponents = []
    for onset, kind, offset_from, offset_to, name in onsets:
        observance = kind()
        observance.TZOFFSETFROM = offset_from
        observance.TZOFFSETTO = offset_to
        observance.add("TZNAME", name)
        observance.DTSTART = onset
        component.add_component(observance)
    data: bytes = component.to_ical()
    return data if data.endswith(b"\r\n") else data + b"\r\n"


_Onset = tuple[datetime, Any, timedelta, timedelta, Any]
"""An observance's onset: (local time, STANDARD or DAYLIGHT, offset from, offset to, name)."""


def _onsets(component: Any, zone: ZoneInfo) -> list[_Onset]:
    """Every onset of `component`'s observances, in time order, corrected (`_corrected`).

    One observance per transition, each with only its DTSTART: icalendar
    lists later onsets as RDATEs, but ical.js (Thunderbird, Nextcloud) then
    ignores DTSTART as an onset and vobject keeps only the first value of a
    multi-valued RDATE, so both would lose transitions. DTSTART-only
    observances read the same in every parser.
    """
    onsets: list[_Onset] = []
    observance: Any  # icalendar's property union types are too wide to narrow usefully here
    for observance in component.subcomponents:
        offset_from: timedelta = observance["TZOFFSETFROM"].td
        offset_to: timedelta = observance["TZOFFSETTO"].td
        rdates = observance.get("RDATE")
        locals_ = [observance["DTSTART"].dt] + [
            value.dt
            for rdate in (rdates if isinstance(rdates, list) else [rdates] if rdates else [])
            for value in rdate.dts
        ]
        for local in locals_:
            onset = _corrected(local, zone, offset_from, offset_to)
            onsets.append((onset, type(observance), offset_from, offset_to, observance["TZNAME"]))
    return sorted(onsets, key=lambda o: o[0])


def _fixed_offset(zone: ZoneInfo, first: date, last: date) -> bool:
    """Tell whether `zone` keeps one UTC offset from `first` to `last` (checked daily)."""
    moment = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    offset = moment.astimezone(zone).utcoffset()
    while moment < end:
        moment += timedelta(days=1)
        if moment.astimezone(zone).utcoffset() != offset:
            return False
    return True


def _fixed_offset_component(tzid: str, zone: ZoneInfo, first: date, last: date) -> Any:
    # What icalendar's from_tzid builds for a zone without transitions, built
    # directly: its search costs about 50 ms for each such zone (most of Asia,
    # Africa and South America), more than exporting thousands of events.
    # A test holds the two byte-identical.
    from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

    start = datetime(first.year, first.month, first.day, tzinfo=zone)
    component = Timezone()
    component.add("TZID", tzid)
    component.add("COMMENT", f"This timezone only works from {first} to {last}.")
    observance = TimezoneStandard() if start.dst() == timedelta(0) else TimezoneDaylight()
    observance.TZOFFSETFROM = start.utcoffset()
    observance.TZOFFSETTO = start.utcoffset()
    observance.add("TZNAME", start.tzname() or str(start.utcoffset()))
    observance.DTSTART = start.replace(tzinfo=None)
    component.add_component(observance)
    return component


def _corrected(
    local: datetime, zone: ZoneInfo, offset_from: timedelta, offset_to: timedelta
) -> datetime:
    # RFC 5545 (3.6.5) gives an observance's onset as local time *before* the
    # change, i.e. in TZOFFSETFROM; its own example has DAYLIGHT DTSTART 02:00
    # for New York. icalendar 6/7 writes the first wall-clock time *after* a
    # spring-forward gap (03:00), which libical and ical.js (Thunderbird,
    # Evolution, Nextcloud) convert with TZOFFSETFROM into an onset one hour
    # late. Rewrite each onset from the real transition instant.
    if offset_from == offset_to or not isinstance(local, datetime):
        return local
    onset = onset_local_time(zone, local, offset_from, offset_to)
    return local if onset is None else onset


def onset_local_time(
    zone: ZoneInfo, local: datetime, offset_from: timedelta, offset_to: timedelta
) -> datetime | None:
    """Return the RFC 5545 onset (naive, in `offset_from`) of the transition written as `local`.

    `local` is read either as wall time before or after the change; whichever
    lands on the instant where `zone` really switches from `offset_from` to
    `offset_to` wins. None if neither does (then the value is left alone).
    """
    for offset in (offset_from, offset_to):
        instant = (local - offset).replace(tzinfo=UTC)
        before = (instant - _SECOND).astimezone(zone).utcoffset()
        after = instant.astimezone(zone).utcoffset()
        if before == offset_from and after == offset_to:
            return (instant + offset_from).replace(tzinfo=None)
    return None
