"""Hand-built plans and parser helpers shared by the ICS and feed tests (no tests here)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from chancal.plan import AllDay, Event, ManagerInfo, PartnerInfo, Person, Plan, Timed, make_uid

STAMP = datetime(2022, 6, 1, 8, 30, tzinfo=UTC)
PROGRAM = "test-program"

# Partners in zones that matter for interoperability: northern and southern
# hemisphere DST, a zone without DST, and two zones whose rules changed inside
# the planning year (Mexico dropped DST after October 2022; Egypt brought it
# back in April 2023).
ZONES = {
    "nyc": "America/New_York",
    "ber": "Europe/Berlin",
    "syd": "Australia/Sydney",
    "kol": "Asia/Kolkata",
    "mex": "America/Mexico_City",
    "cai": "Africa/Cairo",
}

# (partner, local start, hours): winter and summer time for each zone, days
# around the transitions, and the fall-back hour itself.
TIMED = [
    ("nyc", datetime(2022, 7, 12, 10), 2),
    ("nyc", datetime(2022, 11, 5, 9), 1),
    ("nyc", datetime(2022, 11, 7, 9), 1),
    ("nyc", datetime(2023, 1, 17, 14, 30), 2),
    ("nyc", datetime(2023, 3, 13, 9), 1),
    ("ber", datetime(2022, 7, 20, 9), 3),
    ("ber", datetime(2022, 10, 31, 9), 1),
    ("ber", datetime(2023, 2, 1, 16), 1),
    ("ber", datetime(2023, 3, 27, 8), 1),
    ("syd", datetime(2022, 7, 4, 10), 2),
    ("syd", datetime(2022, 10, 3, 9), 1),
    ("syd", datetime(2023, 1, 10, 11), 2),
    ("syd", datetime(2023, 4, 3, 9), 1),
    ("kol", datetime(2022, 8, 1, 10), 2),
    ("kol", datetime(2023, 1, 9, 15), 1),
    ("mex", datetime(2022, 8, 10, 10), 2),
    ("mex", datetime(2022, 11, 14, 10), 2),
    ("mex", datetime(2023, 4, 12, 10), 2),
    ("cai", datetime(2022, 9, 6, 10), 1),
    ("cai", datetime(2023, 6, 6, 10), 1),
]


def partner_person(pid: str, n: int) -> Person:
    """Return a contact of a test partner."""
    return Person(f"Contact {n}, {pid.upper()}", f"c{n}@{pid}.example", "contact")


def timed_event(
    pid: str,
    local: datetime,
    hours: float,
    *,
    n: int = 0,
    title: str | None = None,
    description: str = "Agenda line one\nline two; with, punctuation\\",
    location: str = "Video call",
    fold: int = 0,
    **changes: object,
) -> Event:
    """Build a timed event of a test partner at a local wall time."""
    tzid = ZONES[pid]
    zone = ZoneInfo(tzid)
    start = local.replace(tzinfo=zone, fold=fold)
    key = f"{pid}/review/{n}"
    fields: dict[str, object] = {
        "key": key,
        "uid": make_uid(PROGRAM, key),
        "partner_id": pid,
        "manager_id": "mgr-a" if pid in ("nyc", "ber", "syd") else "mgr-b",
        "rule_id": "review",
        "kind": "quarterly_business_review",
        "purpose": "accountability",
        "title": title if title is not None else f"Review {n}: Partner {pid.upper()}",
        "span": Timed(start, (start.astimezone(UTC) + timedelta(hours=hours)).astimezone(zone)),
        "timezone": tzid,
        "mode": "virtual",
        "location": location,
        "description": description,
        "organizer": Person("Mia Manager", "mia@vendor.example", "manager"),
        "attendees": (partner_person(pid, 1), partner_person(pid, 2)),
        "reminders": (timedelta(days=1), timedelta(minutes=30)),
        "partner_ids": (pid,),
    }
    fields.update(changes)
    return Event(**fields)  # type: ignore[arg-type]


def all_day_event(pid: str, start: date, days: int, *, n: int = 0, **changes: object) -> Event:
    """Build an all-day (possibly multi-day) event of a test partner."""
    key = f"{pid}/visit/{n}"
    fields: dict[str, object] = {
        "key": key,
        "uid": make_uid(PROGRAM, key),
        "partner_id": pid,
        "manager_id": "mgr-a" if pid in ("nyc", "ber", "syd") else "mgr-b",
        "rule_id": "visit",
        "kind": "site_visit",
        "purpose": "collaboration",
        "title": f"Site visit at Partner {pid.upper()}",
        "span": AllDay(start, start + timedelta(days=days)),
        "timezone": ZONES[pid],
        "mode": "on_site",
        "location": "Main office, Street 1",
        "description": "Visit",
        "organizer": Person("Mia Manager", "mia@vendor.example", "manager"),
        "attendees": (partner_person(pid, 1),),
        "reminders": (timedelta(days=1),),
        "partner_ids": (pid,),
    }
    fields.update(changes)
    return Event(**fields)  # type: ignore[arg-type]


def conference() -> Event:
    """Build the shared partner conference: all-day, no owner, every partner invited."""
    key = "program/partner-conference"
    return Event(
        key=key,
        uid=make_uid(PROGRAM, key),
        partner_id=None,
        manager_id=None,
        rule_id="partner-conference",
        kind="partner_conference",
        purpose="collaboration",
        title="Partner conference",
        span=AllDay(date(2023, 5, 9), date(2023, 5, 12)),
        timezone="Europe/Berlin",
        mode="on_site",
        location="Berlin, Messe",
        description="Keynotes, awards, partner meetings",
        partner_ids=tuple(sorted(ZONES)),
    )


def make_plan_by_hand(events: list[Event] | None = None) -> Plan:
    """Return a fiscal-year plan (July 2022 to June 2023) with partners in every test zone."""
    if events is None:
        events = [
            timed_event(pid, local, hours, n=i) for i, (pid, local, hours) in enumerate(TIMED)
        ]
        events += [
            all_day_event("ber", date(2022, 9, 12), 1, n=1),
            all_day_event("syd", date(2023, 2, 20), 2, n=2),
            conference(),
        ]
    partners = tuple(
        PartnerInfo(
            id=pid,
            name=f"Partner {pid.upper()}",
            tier="growth",
            manager_id="mgr-a" if pid in ("nyc", "ber", "syd") else "mgr-b",
            country="XX",
            timezone=tzid,
        )
        for pid, tzid in sorted(ZONES.items())
    )
    managers = (
        ManagerInfo("mgr-a", "Mia Manager", "mia@vendor.example", "Europe/Berlin", 12, 16, 2),
        ManagerInfo("mgr-b", "Bo Manager", "bo@vendor.example", "America/Chicago", 12, 16, 2),
    )
    return Plan(
        program_id=PROGRAM,
        program_name="Test Program",
        timezone="Europe/Berlin",
        year_start=date(2022, 7, 1),
        year_end=date(2023, 7, 1),
        events=tuple(events),
        partners=partners,
        managers=managers,
    )


def instant(value: object) -> object:
    """Return a parsed DTSTART/DTEND value in a comparable form (UTC instant or date)."""
    if isinstance(value, datetime):
        assert value.tzinfo is not None, "a timed value came back floating"
        return value.astimezone(UTC)
    return value


def reference_event(ev: Event, stamp: datetime) -> icalendar.Event:
    """Build the VEVENT with icalendar's object model: the reference for value encoding."""
    vevent = icalendar.Event()
    vevent.add("uid", ev.uid)
    vevent.add("dtstamp", ev.stamp or stamp)
    vevent.add("dtstart", ev.start)
    vevent.add("dtend", ev.end)
    vevent.add("summary", ev.title)
    if ev.description:
        vevent.add("description", ev.description)
    if ev.location:
        vevent.add("location", ev.location)
    vevent.add("categories", [ev.kind, ev.purpose])
    if ev.conference:  # RFC 7986
        vevent.add("conference", ev.conference, parameters={"VALUE": "URI"})
        vevent.add("url", ev.conference)
    if ev.organizer:
        vevent.add(
            "organizer", f"mailto:{ev.organizer.email}", parameters={"CN": ev.organizer.name}
        )
    for person in ev.attendees:
        vevent.add(
            "attendee",
            f"mailto:{person.email}",
            parameters={
                "CN": person.name,
                "CUTYPE": "INDIVIDUAL",
                "ROLE": "REQ-PARTICIPANT",
                "PARTSTAT": "NEEDS-ACTION",
                "RSVP": "FALSE",
            },
        )
    vevent.add("status", ev.status)
    vevent.add("sequence", ev.sequence)
    vevent.add("transp", "OPAQUE")
    vevent.add("class", "PUBLIC")
    for reminder in sorted(set(ev.reminders), reverse=True):
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", -reminder)
        alarm.add("description", ev.title)
        vevent.add_component(alarm)
    return vevent


def fields_of(component: Any) -> dict[str, Any]:
    """Decode every property (and subcomponent) of a parsed component for comparison."""
    fields: dict[str, Any] = {}
    for name in component:
        values = component[name] if isinstance(component[name], list) else [component[name]]
        decoded = []
        for value in values:
            params = {k: str(v) for k, v in getattr(value, "params", {}).items()}
            if name in ("DTSTART", "DTEND", "DTSTAMP"):
                decoded.append((instant(value.dt), params.get("VALUE")))
            elif name == "CATEGORIES":
                decoded.append(list(value.cats))
            elif name in ("TRIGGER",):
                decoded.append(value.dt)
            else:
                decoded.append((str(value), params))
        fields[name] = decoded
    fields["subcomponents"] = [fields_of(sub) for sub in component.subcomponents]
    return fields


def vobject_read(text: str) -> Any:
    """Parse with vobject as a fresh process would.

    vobject keeps one process-wide TZID -> tzinfo registry, and the first
    VTIMEZONE registered under a TZID wins: a later file's own VTIMEZONE for
    the same TZID (other years) would be ignored. Clearing it makes each parse
    read the file's own VTIMEZONEs, which is what these tests are about.
    """
    import vobject
    import vobject.icalendar

    registry = vars(vobject.icalendar)["__tzidMap"]
    utc = registry.get("UTC")
    registry.clear()
    if utc is not None:
        registry["UTC"] = utc
    return vobject.readOne(text)
