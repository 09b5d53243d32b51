"""VTIMEZONE blocks: icalendar's transitions, with onsets where RFC 5545 puts them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from dateutil import tz as dateutil_tz

from chancal.exporters.vtimezone import onset_local_time, vtimezone_block

ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/Mexico_City",  # DST abolished after October 2022
    "Africa/Cairo",  # DST reintroduced in April 2023
    "America/Santiago",  # transitions at midnight
    "Australia/Lord_Howe",  # a half-hour DST shift
    "Europe/Dublin",  # negative DST in the tz database
    "Europe/London",  # at UTC+0 in January
    "Pacific/Chatham",
    "UTC",
]


def observances(block: bytes) -> list[icalendar.cal.Component]:
    """Parse a VTIMEZONE block into its STANDARD/DAYLIGHT components."""
    cal = icalendar.Calendar.from_ical(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + block + b"END:VCALENDAR\r\n"
    )
    (vtimezone,) = cal.walk("VTIMEZONE")
    return list(vtimezone.subcomponents)


def onsets(component: icalendar.cal.Component) -> list[datetime]:
    """Every onset of one observance, as naive local times."""
    assert "RDATE" not in component, "one observance per transition, DTSTART only"
    assert "RRULE" not in component
    return [component.decoded("DTSTART")]


@pytest.mark.parametrize("tzid", ZONES)
@pytest.mark.parametrize("years", [(2022, 2023), (2027, 2027)])
def test_every_onset_is_a_real_transition_in_tzoffsetfrom(
    tzid: str, years: tuple[int, int]
) -> None:
    """Each onset, read as local time in TZOFFSETFROM (RFC 5545 3.6.5), is a real transition.

    The block opens with the last real transition before the window (so a server
    that re-serialises it, such as Radicale, keeps January right), then has every
    transition inside the window.
    """
    zone = ZoneInfo(tzid)
    block = vtimezone_block(tzid, *years)
    first = years[0]
    window = datetime(first, 1, 1)
    seen = 0
    for index, component in enumerate(observances(block)):
        offset_from = component.decoded("TZOFFSETFROM")
        offset_to = component.decoded("TZOFFSETTO")
        for local in onsets(component):
            if offset_from == offset_to:  # nothing to open with: a made-up first observance
                assert (index, local) == (0, window)
                assert _transitions(zone, first - 1, first - 1) == 0  # none to open with
                continue
            moment = (local - offset_from).replace(tzinfo=UTC)
            assert (moment - timedelta(seconds=1)).astimezone(zone).utcoffset() == offset_from
            assert moment.astimezone(zone).utcoffset() == offset_to
            if local < window:  # the opening observance: in force on 1 January
                assert index == 0
                assert datetime(first, 1, 1, tzinfo=zone).utcoffset() == offset_to
                continue
            seen += 1
    assert seen == _transitions(zone, first, years[1])


def _transitions(zone: ZoneInfo, first: int, last: int) -> int:
    """Count offset changes between local midnight of 1 January `first` and the end of `last`."""
    moment = datetime(first, 1, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(last + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    count = 0
    offset = moment.astimezone(zone).utcoffset()
    while moment < end:
        moment += timedelta(hours=1)  # any step shorter than the gap between changes
        now = moment.astimezone(zone).utcoffset()
        count += now != offset
        offset = now
    return count


@pytest.mark.parametrize(
    ("tzid", "written", "offsets", "onset"),
    [
        # icalendar's spring-forward onsets are the first wall time after the gap
        ("America/New_York", datetime(2027, 3, 14, 3), (-5, -4), datetime(2027, 3, 14, 2)),
        ("Europe/Berlin", datetime(2027, 3, 28, 3), (1, 2), datetime(2027, 3, 28, 2)),
        ("Australia/Sydney", datetime(2027, 10, 3, 3), (10, 11), datetime(2027, 10, 3, 2)),
        # fall-back onsets are already in TZOFFSETFROM and stay as they are
        ("America/New_York", datetime(2027, 11, 7, 2), (-4, -5), datetime(2027, 11, 7, 2)),
        ("Australia/Sydney", datetime(2027, 4, 4, 3), (11, 10), datetime(2027, 4, 4, 3)),
    ],
)
def test_onset_local_time(
    tzid: str, written: datetime, offsets: tuple[int, int], onset: datetime
) -> None:
    """Onsets move to the wall time before the change, whichever side icalendar wrote."""
    before, after = (timedelta(hours=h) for h in offsets)
    assert onset_local_time(ZoneInfo(tzid), written, before, after) == onset


def test_icalendar_still_writes_late_spring_onsets() -> None:
    """Pins the upstream defect the correction exists for; if this fails, the fix may go."""
    raw = icalendar.Timezone.from_tzid(
        "America/New_York", first_date=date(2027, 1, 1), last_date=date(2028, 1, 1)
    ).to_ical()
    assert b"DTSTART:20270314T030000" in raw
    assert b"DTSTART:20270314T020000" in vtimezone_block("America/New_York", 2027, 2027)


@pytest.mark.parametrize("tzid", ZONES)
def test_dateutil_reads_the_block_like_zoneinfo(tzid: str) -> None:
    """dateutil's tzical (what vobject uses) gives zoneinfo's offset at every hour of 2027."""
    block = vtimezone_block(tzid, 2027, 2027).decode()
    read = dateutil_tz.tzical(__import__("io").StringIO(block)).get(tzid)
    zone = ZoneInfo(tzid)
    moment = datetime(2027, 1, 1, 12, tzinfo=UTC)
    while moment.year == 2027:
        assert moment.astimezone(read).utcoffset() == moment.astimezone(zone).utcoffset(), moment
        moment += timedelta(hours=5)


def test_blocks_are_cached_and_crlf() -> None:
    """The same (zone, years) is built once; every line ends CRLF."""
    first = vtimezone_block("Europe/Berlin", 2027, 2028)
    assert vtimezone_block("Europe/Berlin", 2027, 2028) is first
    assert first.endswith(b"END:VTIMEZONE\r\n")
    assert b"\n" not in first.replace(b"\r\n", b"")


def test_vobject_reads_every_year_of_a_long_block() -> None:
    """A block over four years reads right in vobject in each summer (no RDATE lists)."""
    from test_ics_support import vobject_read

    block = vtimezone_block("Europe/Berlin", 2025, 2028).decode()
    block = block.replace("TZID:Europe/Berlin", "TZID:Chancal Test Zone")
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:{year}\r\nDTSTAMP:20250101T000000Z\r\n"
        f'DTSTART;TZID="Chancal Test Zone":{year}0715T100000\r\nEND:VEVENT\r\n'
        for year in range(2025, 2029)
    )
    text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + block + events + "END:VCALENDAR\r\n"
    for vevent in vobject_read(text).vevent_list:
        assert vevent.dtstart.value.utcoffset() == timedelta(hours=2), vevent.uid.value


@pytest.mark.parametrize(
    "tzid",
    [
        "Asia/Kolkata",
        "America/Sao_Paulo",
        "Asia/Tokyo",
        "Asia/Dubai",
        "Africa/Johannesburg",
        "UTC",
        "Etc/GMT+5",
        "Pacific/Kiritimati",
        "Atlantic/Reykjavik",
    ],
)
def test_fixed_offset_zones_are_built_as_icalendar_builds_them(tzid: str) -> None:
    """The shortcut for zones without transitions gives icalendar's own bytes."""
    from chancal.exporters.vtimezone import _fixed_offset, _fixed_offset_component

    zone, first, last = ZoneInfo(tzid), date(2027, 1, 1), date(2029, 1, 1)
    assert _fixed_offset(zone, first, last)
    ours = _fixed_offset_component(tzid, zone, first, last).to_ical()
    assert ours == icalendar.Timezone.from_tzid(tzid, first_date=first, last_date=last).to_ical()
    assert vtimezone_block(tzid, 2027, 2028) == ours


@pytest.mark.parametrize(
    ("tzid", "fixed"),
    [("Europe/Berlin", False), ("America/Mexico_City", True), ("Africa/Cairo", False)],
)
def test_fixed_offset_detection(tzid: str, fixed: bool) -> None:
    """Zones with any change of offset in the covered years take icalendar's full search."""
    from chancal.exporters.vtimezone import _fixed_offset

    assert _fixed_offset(ZoneInfo(tzid), date(2027, 1, 1), date(2028, 1, 1)) is fixed


@pytest.mark.parametrize(
    "tzid", ["America/Santiago", "Pacific/Auckland", "Australia/Sydney", "Asia/Tokyo"]
)
def test_a_block_reserialised_by_vobject_keeps_every_month(tzid: str) -> None:
    """What a CalDAV server such as Radicale serves back (via vobject) still reads right."""
    import io

    import vobject
    from dateutil import tz

    block = vtimezone_block(tzid, 2027, 2027)
    calendar = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + block + b"END:VCALENDAR\r\n"
    served = vobject.readOne(calendar.decode()).serialize()
    read = tz.tzical(io.StringIO(served)).get(tzid)
    zone = ZoneInfo(tzid)
    for month in range(1, 13):
        local = datetime(2027, month, 15, 12)
        assert local.replace(tzinfo=read).utcoffset() == local.replace(tzinfo=zone).utcoffset()
