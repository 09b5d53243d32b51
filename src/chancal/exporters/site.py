"""The static calendar site, rendered purely: a plan, scores and a map of paths in, HTML out.

Pages come from the jinja2 templates shipped in `chancal/templates/site/`,
with autoescaping on, so a partner named `<script>` reads as text. Nothing
here touches a file or reads a clock: the year grid is the terminal view's
(`views.grid_cells`), times are shown in the reader's zone (the partner's on
a partner page, the manager's on a manager page) with locale-free names, and
every list is in plan order, so the same year gives the same bytes.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from chancal.exporters.layout import partners_by_manager
from chancal.exporters.views import (
    MONTHS,
    GridCell,
    ManagerLoad,
    Weeks,
    grid_cells,
    kind_codes,
    kind_label,
)
from chancal.plan import AllDay, Event, ManagerInfo, PartnerInfo, Plan
from chancal.scores import PRINCIPLE_TITLES, PartnerScore

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
STATUS_TEXT: Mapping[str, tuple[str, str]] = {
    "pass": ("\u2713", "pass"),
    "warn": ("!", "warning"),
    "fail": ("\u2717", "fail"),
    "n/a": ("\u2013", "not promised by the tier"),
}
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")  # fmt: skip
MODE_TEXT: Mapping[str, str] = {"on_site": "on site", "virtual": "virtual"}


@dataclass(frozen=True, slots=True)
class Links:
    """Where the site's files are (relative to `--out`, '/'-separated) and how to reach them.

    `pages`, `feeds` and `tables` map an owner (`("partner", id)`,
    `("manager", id)`, `("all", "")`) to its page, its ICS feed and its CSV
    table; an owner missing from `feeds` or `tables` has none on this site.
    `base_url` (ending in '/') makes subscribe links absolute. A private site
    lists no partner or manager on its index.
    """

    pages: Mapping[tuple[str, str], str]
    feeds: Mapping[tuple[str, str], str] = field(default_factory=dict)
    tables: Mapping[tuple[str, str], str] = field(default_factory=dict)
    base_url: str | None = None
    private: bool = False
    index: str = "index.html"
    stylesheet: str = "site.css"


@dataclass(frozen=True, slots=True)
class Entry:
    """One event on an agenda, as the reader's clock shows it."""

    uid: str
    cancelled: bool
    purpose: str
    kind: str
    code: str
    title: str
    start_iso: str  # <time datetime>: an instant with its offset, or a date
    end_iso: str
    day: str  # "Tue 2027-01-12"
    when: str  # "09:00-10:30 CET (UTC+01:00)" or "all day" / "3 days, to Thu 2027-01-14"
    mode: str
    location: str
    conference: str
    description: str
    partners: tuple[str, ...] = ()  # on a manager's page: whose event it is
    people: tuple[str, ...] = ()  # organizer and attendees, by name (their emails are in the feed)


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("chancal", "templates/site"),
        autoescape=True,  # every user text is escaped, in attributes too
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


def stylesheet() -> bytes:
    """The site's one stylesheet (`site.css`): screen, print and contrast rules."""
    return _environment().get_template("site.css").render().encode("utf-8")


def _href(here: str, target: str) -> str:
    """A relative link from the page at `here` to the file at `target`."""
    return posixpath.relpath(target, posixpath.dirname(here) or ".")


def _offset(moment: datetime) -> str:
    delta = moment.utcoffset() or timedelta()
    minutes = int(delta.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def _day(value: date) -> str:
    return f"{WEEKDAYS[value.weekday()]} {value.isoformat()}"


def _entry(
    ev: Event, zone_name: str, codes: Mapping[str, str], names: Mapping[str, str] | None = None
) -> Entry:
    """The event as the agenda shows it; `names`: the partners worth naming (a manager's own)."""
    span = ev.span
    if isinstance(span, AllDay):
        last = span.end - timedelta(days=1)
        days = (span.end - span.start).days
        start_iso, end_iso = span.start.isoformat(), span.end.isoformat()
        day = _day(span.start)
        when = "all day" if days <= 1 else f"all day, {days} days, to {_day(last)}"
    else:
        zone = ZoneInfo(zone_name)
        start, end = span.start.astimezone(zone), span.end.astimezone(zone)
        start_iso, end_iso = start.isoformat(), end.isoformat()
        day = _day(start.date())
        ends = f"{end:%H:%M}" if end.date() == start.date() else f"{_day(end.date())} {end:%H:%M}"
        when = f"{start:%H:%M}\u2013{ends} {start.tzname()} ({_offset(start)}, {zone_name})"
    return Entry(
        uid=ev.uid,
        cancelled=ev.status == "CANCELLED",
        purpose=ev.purpose,
        kind=kind_label(ev.kind),
        code=codes.get(ev.kind, "?"),
        title=ev.title,
        start_iso=start_iso,
        end_iso=end_iso,
        day=day,
        when=when,
        mode=MODE_TEXT.get(ev.mode, ev.mode),
        location=ev.location,
        conference=ev.conference,
        description=ev.description,
        # A conference has every partner as viewer: name only the reader's own.
        partners=() if names is None else tuple(names[p] for p in ev.viewers if p in names),
        people=_people(ev),
    )


def _people(ev: Event) -> tuple[str, ...]:
    found = [] if ev.organizer is None else [f"{ev.organizer.name} (organizer)"]
    found += [p.name + (f" ({p.role})" if p.role else "") for p in ev.attendees]
    return tuple(dict.fromkeys(name for name in found if name.strip()))


@dataclass(frozen=True, slots=True)
class _Month:
    short: str  # "Jan" ("J" over a single week's column)
    full: str  # "January 2027", for readers and screen readers
    span: int


@dataclass(frozen=True, slots=True)
class _Column:
    monday: str
    label: str


class Site:
    """Every page of one plan's site; the grid, codes and loads are worked out once."""

    def __init__(
        self, plan: Plan, links: Links, scores: Mapping[str, PartnerScore] | None = None
    ) -> None:
        self.plan = plan
        self.links = links
        self.scores = scores or {}
        self.codes = kind_codes(plan.events)
        self.weeks = Weeks.of(plan)
        self.cells = grid_cells(plan, self.weeks, self.codes)
        self.partners = {p.id: p for p in plan.partners}
        self.managers = {m.id: m for m in plan.managers}
        self._loads: dict[str, dict[int, Any]] | None = None
        # The same on every page: worked out once, not once a page (10,000 pages).
        self.legend = self._legend()
        self.columns = self._columns()

    # -- pieces every page shares ------------------------------------------------

    def _common(self, here: str, title: str) -> dict[str, Any]:
        plan = self.plan
        return {
            "title": title,
            "program": plan.program_name,
            "period": f"{plan.year_start.isoformat()} to {plan.last_day.isoformat()}",
            "css": _href(here, self.links.stylesheet),
            "home": _href(here, self.links.index),
            "private": self.links.private,
            "legend": self.legend,
        }

    def _legend(self) -> list[dict[str, Any]]:
        purposes: dict[str, str] = {}
        for e in self.plan.events:
            purposes.setdefault(e.kind, e.purpose)
        return [
            {
                "purpose": purpose,
                "kinds": [
                    (self.codes[k], kind_label(k))
                    for k in sorted(
                        (k for k, p in purposes.items() if p == purpose),
                        key=lambda k: self.codes[k],
                    )
                ],
            }
            for purpose in ("accountability", "collaboration")
        ]

    def _columns(self) -> tuple[list[_Month], list[_Column]]:
        """Month names over their weeks (with colspans), and one column a week."""
        months: list[_Month] = []
        columns: list[_Column] = []
        for i in range(self.weeks.count):
            monday = self.weeks.monday(i)
            # A week belongs to the month holding most of it (its Thursday).
            month = monday + timedelta(days=3)
            full = f"{MONTH_NAMES[month.month - 1]} {month.year}"
            if months and months[-1].full == full:
                last = months[-1]
                months[-1] = replace(last, short=MONTHS[month.month - 1], span=last.span + 1)
            else:  # a month with one week in the year (its end or start): one letter fits
                months.append(_Month(MONTHS[month.month - 1][0], full, 1))
            columns.append(_Column(monday.isoformat(), str(monday.day)))
        return months, columns

    def _row(self, partner: PartnerInfo, here: str) -> dict[str, Any]:
        cells: list[dict[str, str] | None] = []  # code, "+" when more, purpose, title
        for i in range(self.weeks.count):
            cell: GridCell | None = self.cells.get((partner.id, i))
            if cell is None:
                cells.append(None)
                continue
            said = "; ".join(f"{e.title} ({e.day.isoformat()})" for e in cell.events)
            cells.append(
                {
                    "code": cell.code,
                    "more": "+" if cell.more else "",
                    "purpose": cell.purpose,
                    "title": f"week of {self.weeks.monday(i).isoformat()}: {said}",
                }
            )
        page = self.links.pages.get(("partner", partner.id))
        return {
            "name": partner.name,
            "href": None if page is None or page == here else _href(here, page),
            "cells": cells,
        }

    def _grid(self, groups: Sequence[tuple[ManagerInfo | None, Sequence[PartnerInfo]]], here: str,
              caption: str) -> dict[str, Any]:  # fmt: skip
        months, columns = self.columns
        return {
            "caption": caption,
            "months": months,
            "columns": columns,
            "groups": [
                {
                    "manager": manager.name if manager else "(no manager)",
                    "href": self._manager_href(manager, here),
                    "rows": [self._row(p, here) for p in partners],
                }
                for manager, partners in groups
            ],
        }

    def _manager_href(self, manager: ManagerInfo | None, here: str) -> str | None:
        """A link to the manager's page, never on a private site (it lists their partners)."""
        page = None if manager is None else self.links.pages.get(("manager", manager.id))
        if page is None or self.links.private or page == here:
            return None
        return _href(here, page)

    def _files(self, owner: tuple[str, str], here: str) -> dict[str, Any]:
        """Subscribe and download links of one owner's feed and table."""
        links = self.links
        feed, table = links.feeds.get(owner), links.tables.get(owner)
        subscribe: list[tuple[str, str]] = []
        if feed is not None and links.base_url is not None:
            url = links.base_url + feed
            subscribe = [
                ("webcal://" + url.split("://", 1)[1], "Subscribe in your calendar app (webcal)"),
                (url, "Subscription address (https)" if url.startswith("https") else
                 "Subscription address (http)"),
            ]  # fmt: skip
        return {
            "subscribe": subscribe,
            "ics": None if feed is None else _href(here, feed),
            "csv": None if table is None else _href(here, table),
        }

    def _render(self, template: str, context: Mapping[str, Any]) -> bytes:
        return _environment().get_template(template).render(context).encode("utf-8")

    # -- the pages ---------------------------------------------------------------

    def index(self) -> bytes:
        """The front page: the year at a glance by manager, a legend, every page linked.

        A private site's front page names no partner and no manager: their
        pages sit at private addresses that only their links reveal.
        """
        here = self.links.index
        plan = self.plan
        context = self._common(here, plan.program_name)
        if self.links.private:
            context.update(grid=None, managers=[], all_files=self._files(("all", ""), here))
            return self._render("index.html", context)
        groups = partners_by_manager(plan)
        managers = []
        for manager, partners in groups:
            page = self.links.pages.get(("manager", manager.id)) if manager else None
            managers.append(
                {
                    "name": manager.name if manager else "(no manager)",
                    "href": None if page is None else _href(here, page),
                    "partners": [
                        {"name": r["name"], "href": r["href"]}
                        for r in (self._row(p, here) for p in partners)
                    ],
                }
            )
        context.update(
            grid=self._grid(groups, here, f"{plan.program_name}: every partner's year by week"),
            managers=managers,
            all_files=self._files(("all", ""), here),
        )
        return self._render("index.html", context)

    def partner(self, partner_id: str, events: Sequence[Event]) -> bytes:
        """One partner's page: year grid, subscribe links, agenda in its zone, scorecard."""
        partner = self.partners[partner_id]
        here = self.links.pages[("partner", partner_id)]
        manager = self.managers.get(partner.manager_id)
        context = self._common(here, f"{partner.name}: {self.plan.program_name}")
        score = self.scores.get(partner_id)
        context.update(
            partner=partner,
            manager=manager.name if manager else partner.manager_id,
            manager_href=self._manager_href(manager, here),
            grid=self._grid([(manager, [partner])], here, f"The year of {partner.name} by week"),
            files=self._files(("partner", partner_id), here),
            agenda=[_entry(e, partner.timezone, self.codes) for e in events],
            scorecard=None if score is None else _scorecard(score),
        )
        return self._render("partner.html", context)

    def manager(self, manager_id: str, events: Sequence[Event]) -> bytes:
        """A manager's page: their partners, weekly load against capacity, agenda in their zone."""
        manager = self.managers[manager_id]
        here = self.links.pages[("manager", manager_id)]
        context = self._common(here, f"{manager.name}: {self.plan.program_name}")
        partners = [p for p in self.plan.partners if p.manager_id == manager_id]
        mine = {p.id: p.name for p in partners}
        context.update(
            manager=manager,
            partners=[
                {
                    "name": p.name,
                    "href": _href(here, self.links.pages[("partner", p.id)])
                    if ("partner", p.id) in self.links.pages
                    else None,
                }
                for p in partners
            ],
            files=self._files(("manager", manager_id), here),
            load=self._load(manager),
            agenda=[_entry(e, manager.timezone, self.codes, mine) for e in events],
        )
        return self._render("manager.html", context)

    def _load(self, manager: ManagerInfo) -> list[dict[str, Any]]:
        if self._loads is None:
            self._loads = ManagerLoad(self.plan).loads()
        load = self._loads.get(manager.id, {})
        weeks = Weeks.of(self.plan, manager.week_start)
        rows = []
        for i in range(weeks.count):
            week = load.get(i)
            if week is None:
                continue
            rows.append(
                {
                    "monday": weeks.monday(i).isoformat(),
                    "meetings": week.meetings,
                    "hours": f"{week.hours:.1f}",
                    "travel": week.travel_days,
                    "over": week.over(manager),
                }
            )
        return rows


def _scorecard(score: PartnerScore) -> list[dict[str, str]]:
    return [
        {
            "principle": PRINCIPLE_TITLES[f.principle],
            "status": f.status,
            "symbol": STATUS_TEXT[f.status][0],
            "word": STATUS_TEXT[f.status][1],
            "seen": f.seen,
            "fix": f.fix,
        }
        for f in score.findings
    ]
