"""What each planned event says (title, agenda, place, people); who the plan's people are."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

from chancal.kinds import BUILTIN_KINDS
from chancal.models import Config, Manager, Partner
from chancal.plan import (
    SHARED_KEY_PREFIX,
    AllDay,
    Event,
    ManagerInfo,
    PartnerInfo,
    Person,
    Span,
    TierInfo,
    Timed,
    make_uid,
)
from chancal.planner import agenda
from chancal.planner.constraints import Side, local_datetime, week_start
from chancal.planner.placement import Item
from chancal.planner.rules import FollowSpec, RuleSpec, tier_rules
from chancal.resources import agenda_template

VIDEO_CALL = "Video call"
# Meeting platforms by the host of their links (and its subdomains): LOCATION names them.
PLATFORMS = {
    "zoom.us": "Zoom",
    "teams.microsoft.com": "Microsoft Teams",
    "meet.google.com": "Google Meet",
    "webex.com": "Webex",
}


def platform_name(url: str) -> str:
    """Name the meeting platform of a link: "Zoom" for https://acme.zoom.us/j/1, else its host."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    for domain, name in PLATFORMS.items():
        if host == domain or host.endswith("." + domain):
            return name
    return host


class EventWriter:
    """Writes the events of one make_plan call (what a partner's rule shares is cached)."""

    def __init__(self, config: Config, pid: str) -> None:
        self.config = config
        self.program = config.program
        self.pid = pid
        # Derived from the program's name by regular expressions: once, not per partner's rule.
        self.vendor = config.program.vendor
        self.tiers = {t.id: t for t in config.tiers}
        self._attendees: dict[tuple[str, tuple[str, ...] | None], tuple[Person, ...]] = {}
        self._fixed_cache: dict[tuple[str, str, str], tuple[Any, Any, tuple[Any, ...]]] = {}

    def forget(self) -> None:
        """Drop what is cached for the partners just written (a partner has one manager)."""
        self._fixed_cache.clear()

    def event(self, partner: Partner, manager: Manager, item: Item) -> Event:
        """Write the event of one placed item."""
        spec, follow, occ = item.spec, item.follow, item.occ
        assert item.day is not None
        fixed = self._fixed(partner, manager, spec, follow)
        kind, base_title, titled, template, values, location = fixed[:6]
        if occ.focus_area:
            base_title = f"{base_title}: {occ.focus_area}"
        elif follow is None and titled == 1:
            base_title = f"{base_title} {occ.period_text}"
        elif titled == 2 and occ.count > 1:
            base_title = f"{base_title} ({occ.index} of {occ.count})"
        if fixed[13]:
            base_title = f"{base_title} ({item.follow_number})"
        title = f"{base_title}{fixed[6]}"
        values = {
            **values,
            "period": occ.period_text,
            "title": title,
            "exchange": str(occ.index),
            "exchanges": str(occ.count),
        }
        if occ.focus_area:
            values["focus_area"] = occ.focus_area
        description = template.fill(values)
        if kind == "information_exchange" and "We share:" not in description:
            description += (
                f"\nWe share: {values['we_share']}\n{partner.name} shares: {values['they_share']}"
            )
        if fixed[14]:
            description = f"Join: {fixed[14]}" + (f"\n\n{description}" if description else "")
        span: Span
        if item.days:
            span = AllDay(_day(item.day), _day(item.day + item.days))
        else:
            assert item.start is not None
            span = Timed(
                local_datetime(item.start, partner.timezone),
                local_datetime(item.start + item.seconds, partner.timezone),
            )
        return Event(
            key=item.key,
            uid=make_uid(self.pid, item.key),
            partner_id=partner.id,
            manager_id=manager.id,
            rule_id=spec.id,
            kind=kind,
            purpose=fixed[7],
            title=title,
            span=span,
            timezone=partner.timezone,
            mode=fixed[8],
            location=location,
            description=description,
            focus_area=occ.focus_area,
            organizer=fixed[9],
            attendees=fixed[10],
            reminders=spec.reminders,
            partner_ids=fixed[11],
            direction=fixed[12],
            conference=fixed[14],
        )

    def _fixed(
        self, partner: Partner, manager: Manager, spec: RuleSpec, follow: FollowSpec | None
    ) -> tuple[Any, ...]:
        """What every event of one partner's rule (or follow-up) shares, computed once.

        Returns kind, base title, title style (1: period, 2: "n of m", 0: none),
        agenda template, agenda values, location, title suffix, purpose, mode,
        organizer, attendees, partner ids, direction, whether follow-ups are numbered,
        meeting link (virtual events: the rule's, else the partner's, manager's or program's).
        """
        key = (partner.id, spec.id, follow.slug if follow else "")
        found = self._fixed_cache.get(key)
        if found is not None and found[0] is spec and found[1] is follow:
            return found[2]
        kind = follow.kind if follow else spec.kind
        purpose = follow.purpose if follow else spec.purpose
        mode = follow.mode if follow else spec.mode
        base_title = follow.title if follow else spec.title
        custom_title = follow.custom_title if follow else spec.custom_title
        direction = spec.direction if follow is None else None
        if kind == "site_visit" and direction is None:
            direction = "to_partner"
        program_name = self.program.name
        vendor = self.vendor
        if direction == "to_us":
            direction_text = f"{partner.name} visits {vendor}"
        elif direction == "to_partner":
            direction_text = f"{manager.name} visits {partner.name}"
        else:
            direction_text = f"{manager.name} and {partner.name}"
        titled = 0
        if follow is None and not custom_title and self._periodic(spec):
            titled = 1
        elif kind == "information_exchange":
            titled = 2
        numbered = follow is not None and _follow_count(spec, follow.slug) > 1
        suffix = f": {direction_text}" if kind == "site_visit" else f": {partner.name}"
        focus_areas = agenda.listing(partner.focus_areas)
        values = {
            "partner_name": partner.name,
            "manager_name": manager.name,
            "program_name": program_name,
            "organization": vendor,
            "focus_area": focus_areas,
            "focus_areas": focus_areas,
            "we_share": agenda.listing(partner.sharing.we_share),
            "they_share": agenda.listing(partner.sharing.they_share),
            "direction_text": direction_text,
        }
        conference = ""
        if mode == "virtual":
            conference = (
                spec.rule.conference
                or partner.conference
                or manager.conference
                or self.program.conference
                or ""
            )
        if follow is None and spec.location:
            location = spec.location
        elif mode == "virtual":
            location = platform_name(conference) if conference else VIDEO_CALL
        elif direction == "to_us":
            location = self.program.location or manager.location or vendor
        else:
            location = partner.location or partner.name
        fixed = (
            kind,
            base_title,
            titled,
            agenda.compiled(follow.agenda if follow else spec.agenda),
            values,
            location,
            suffix,
            purpose,
            mode,
            Person(manager.name, manager.email, "manager"),
            self._people(partner, spec.attendees),
            (partner.id,),
            direction,
            numbered,
            conference,
        )
        self._fixed_cache[key] = (spec, follow, fixed)
        return fixed

    @staticmethod
    def _periodic(spec: RuleSpec) -> bool:
        cadence = spec.rule.cadence
        return (
            spec.purpose == "accountability"
            and cadence is not None
            and cadence.kind in ("annual", "semiannual", "quarterly")
        )

    def _people(self, partner: Partner, roles: tuple[str, ...] | None) -> tuple[Person, ...]:
        key = (partner.id, roles)
        found = self._attendees.get(key)
        if found is None:
            found = tuple(
                Person(c.name, c.email, c.role)
                for c in partner.contacts
                if roles is None or c.role.lower() in roles
            )
            self._attendees[key] = found
        return found

    def shared(self) -> list[Event]:
        """The program's shared events (all-day, fixed dates, every invited partner)."""
        tz = self.program.timezone
        out = []
        for shared in self.program.shared_events:
            invited = tuple(
                sorted(
                    p.id
                    for p in self.config.partners
                    if shared.tiers is None or p.tier in shared.tiers
                )
            )
            key = f"{SHARED_KEY_PREFIX}/{shared.id}"
            kind = BUILTIN_KINDS.get(shared.kind)
            custom = self.config.kinds.get(shared.kind)
            purpose = kind.purpose if kind else custom.purpose if custom else "collaboration"
            template = (
                agenda_template(kind.template)
                if kind
                else (custom.agenda if custom and custom.agenda else "$title")
            )
            description = shared.description or agenda.render(
                template,
                {
                    "title": shared.title,
                    "program_name": self.program.name,
                    "organization": self.vendor,
                },
            )
            out.append(
                Event(
                    key=key,
                    uid=make_uid(self.pid, key),
                    partner_id=None,
                    manager_id=None,
                    rule_id=shared.id,
                    kind=shared.kind,
                    purpose=purpose,
                    title=shared.title,
                    span=AllDay(shared.start, (shared.end or shared.start) + timedelta(days=1)),
                    timezone=tz,
                    mode="on_site",
                    location=shared.location or self.program.location,
                    description=description,
                    reminders=self.program.reminders,
                    partner_ids=invited,
                )
            )
        return out

    def partner_infos(self) -> tuple[PartnerInfo, ...]:
        """Describe every partner for the plan, by id."""
        return tuple(
            PartnerInfo(
                id=p.id,
                name=p.name,
                tier=p.tier,
                manager_id=p.manager,
                country=p.country,
                timezone=p.timezone,
                focus_areas=p.focus_areas,
                we_share=p.sharing.we_share,
                they_share=p.sharing.they_share,
            )
            for p in sorted(self.config.partners, key=lambda p: p.id)
        )

    def manager_infos(self, side_of: Callable[[Manager], Side]) -> tuple[ManagerInfo, ...]:
        """Describe every manager for the plan, by id; `side_of` gives their working week."""
        out = []
        for m in sorted(self.config.managers, key=lambda m: m.id):
            capacity = m.capacity or self.program.capacity
            travel = m.travel or self.program.travel
            out.append(
                ManagerInfo(
                    id=m.id,
                    name=m.name,
                    email=m.email,
                    timezone=m.timezone,
                    meetings_per_week=capacity.meetings_per_week,
                    hours_per_week=capacity.hours_per_week,
                    site_visits_per_month=travel.site_visits_per_month,
                    week_start=week_start(side_of(m).weekdays),
                )
            )
        return tuple(out)

    def tier_infos(self) -> tuple[TierInfo, ...]:
        """Describe every tier for the plan, by id, with the kinds its rules plan."""
        out = []
        for tier in sorted(self.config.tiers, key=lambda t: t.id):
            kinds: dict[str, None] = {}
            for rule in tier_rules(tier.id, self.tiers):
                kinds[rule.kind] = None
                for follow in rule.follow_ups or ():
                    kinds[follow.kind] = None
            out.append(
                TierInfo(
                    id=tier.id,
                    description=tier.description,
                    rank=tier.rank,
                    rule_kinds=tuple(kinds),
                    max_silence=tier.max_silence,
                )
            )
        return tuple(out)


def _follow_count(spec: RuleSpec, follow_slug: str) -> int:
    return sum(len(f.offsets) for f in spec.follow_ups if f.slug == follow_slug)


def _day(ordinal: int) -> date:
    return date.fromordinal(ordinal)
