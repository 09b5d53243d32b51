# ruff: noqa: E501  # expected messages are kept whole, one per line, to compare at a glance
"""Each validation rule, with a literal bad file and the exact messages expected.

Every case edits one small valid program (BASE) and lists every problem the
loader must report, each as `file:line:column: path: message`.
"""

from __future__ import annotations

import pytest

from chancal.errors import ConfigError
from chancal.loader import loads

BASE = """\
version: 1
program:
  name: Test
  year: 2027
  timezone: Europe/Berlin
  country: DE
  blackouts:
    - {start: 2027-12-24, end: 2027-12-31, reason: Holidays}
  shared_events:
    - {id: conf, title: Conference, start: 2027-05-18, end: 2027-05-19, tiers: [gold]}
kinds:
  council: {title: Advisory council, purpose: collaboration, duration: 2h}
managers:
  - id: ann
    name: Ann
    email: ann@example.com
    timezone: Europe/Berlin
    country: DE
tiers:
  - id: base
    rules:
      - {id: review, kind: quarterly_business_review, cadence: quarterly}
      - {id: visit, kind: site_visit, cadence: once, window: {in: [H1]}}
  - id: gold
    extends: base
    change:
      - {id: review, cadence: monthly}
    rules:
      - {id: council, kind: council, cadence: semiannual}
partners:
  - id: acme
    name: Acme [EU]
    tier: gold
    manager: ann
    country: DE
    subdivision: BE
    timezone: Europe/Berlin
    contacts:
      - {name: Bo, email: bo@acme.example, role: sales}
    focus_areas: [selling]
    blackouts:
      - {start: 2027-08-01, end: 2027-08-15, reason: Summer}
    overrides:
      drop: [visit]
"""

# (case, text replaced in BASE, replacement, every problem expected)
CASES: list[tuple[str, str, str, list[str]]] = [
    (
        "unknown-key",
        "    subdivision: BE",
        "    subdivison: BE",
        [
            "t.yaml:36:5: partners[0].subdivison: unknown key 'subdivison'; did you mean 'subdivision'?"
        ],
    ),
    (
        "unknown-key-top",
        "kinds:",
        "kind:",
        [
            "t.yaml:11:1: kind: unknown key 'kind'; did you mean 'kinds'?",
            "t.yaml:29:29: tiers[1].rules[0].kind: unknown kind 'council'; known: annual_review, capability_workshop, coaching_session, information_exchange, joint_marketing_strategy, monthly_check_in, partner_conference, product_training, quarterly_business_review, site_visit",
        ],
    ),
    (
        "unknown-tier",
        "    tier: gold",
        "    tier: glod",
        ["t.yaml:33:11: partners[0].tier: unknown tier 'glod'; did you mean 'gold'?"],
    ),
    (
        "unknown-manager",
        "    manager: ann",
        "    manager: anna",
        ["t.yaml:34:14: partners[0].manager: unknown manager 'anna'; did you mean 'ann'?"],
    ),
    (
        "unknown-extends",
        "    extends: base",
        "    extends: bsae",
        ["t.yaml:25:14: tiers[1].extends: unknown tier 'bsae'; did you mean 'base'?"],
    ),
    (
        "extends-cycle",
        "  - id: base\n",
        "  - id: base\n    extends: gold\n",
        [
            "t.yaml:21:14: tiers[0].extends: 'extends' makes a cycle: base -> gold -> base; remove one link",
            "t.yaml:26:14: tiers[1].extends: 'extends' makes a cycle: gold -> base -> gold; remove one link",
        ],
    ),
    (
        "extends-self",
        "    extends: base",
        "    extends: gold",
        ["t.yaml:25:14: tiers[1].extends: 'extends' makes a cycle: gold -> gold; remove one link"],
    ),
    (
        "duplicate-manager",
        "tiers:\n",
        "  - {id: ann, name: Ann B, email: annb@example.com, timezone: UTC, country: DE}\ntiers:\n",
        ["t.yaml:19:10: managers[1].id: duplicate id 'ann' (first used at managers[0])"],
    ),
    (
        "duplicate-tier",
        "partners:\n",
        "  - {id: base}\npartners:\n",
        ["t.yaml:30:10: tiers[2].id: duplicate id 'base' (first used at tiers[0])"],
    ),
    (
        "duplicate-partner",
        "    overrides:\n      drop: [visit]\n",
        "    overrides:\n      drop: [visit]\n  - {id: acme, name: Acme 2, tier: base, manager: ann, country: DE, timezone: UTC}\n",
        ["t.yaml:45:10: partners[1].id: duplicate id 'acme' (first used at partners[0])"],
    ),
    (
        "duplicate-shared-event",
        "    - {id: conf, title: Conference, start: 2027-05-18, end: 2027-05-19, tiers: [gold]}\n",
        "    - {id: conf, title: Conference, start: 2027-05-18, end: 2027-05-19, tiers: [gold]}\n    - {id: conf, title: Again, start: 2027-06-18}\n",
        [
            "t.yaml:11:12: program.shared_events[1].id: duplicate id 'conf' (first used at program.shared_events[0])"
        ],
    ),
    (
        "duplicate-rule",
        "      - {id: visit, kind: site_visit",
        "      - {id: review, kind: site_visit",
        [
            "t.yaml:23:14: tiers[0].rules[1].id: duplicate id 'review' (first used at tiers[0].rules[0])",
            "t.yaml:44:14: partners[0].overrides.drop[0]: unknown rule to drop 'visit'; known: council, review",
        ],
    ),
    (
        "duplicate-focus-area",
        "[selling]",
        "[selling, selling]",
        [
            "t.yaml:40:28: partners[0].focus_areas[1]: duplicate focus area 'selling' (first used at partners[0].focus_areas[0])"
        ],
    ),
    (
        "bad-timezone",
        "    timezone: Europe/Berlin\n    contacts",
        "    timezone: Europe/Berln\n    contacts",
        [
            "t.yaml:37:15: partners[0].timezone: unknown time zone 'Europe/Berln'; use an IANA name such as 'Europe/Berlin'"
        ],
    ),
    (
        "unknown-country",
        "    country: DE\n    subdivision",
        "    country: XX\n    subdivision",
        [
            "t.yaml:35:14: partners[0].country: unknown country 'XX'; use an ISO 3166 code such as 'DE'"
        ],
    ),
    (
        "country-hint",
        "    country: DE\n    subdivision",
        "    country: de\n    subdivision",
        ["t.yaml:35:14: partners[0].country: unknown country 'de'; did you mean 'DE'?"],
    ),
    (
        "unknown-subdivision",
        "    subdivision: BE",
        "    subdivision: BX",
        [
            "t.yaml:36:18: partners[0].subdivision: unknown subdivision 'BX' of DE; did you mean 'HB'?"
        ],
    ),
    (
        "bad-email",
        "bo@acme.example",
        "bo-at-acme.example",
        [
            "t.yaml:39:27: partners[0].contacts[0].email: 'bo-at-acme.example' is not an email "
            "address; write it like name@example.com (no spaces, quotes or ;,:\\ characters, "
            "up to 64 characters before the @)"
        ],
    ),
    (
        "bad-id",
        "  - id: acme",
        "  - id: Acme",
        [
            "t.yaml:31:9: partners[0].id: 'Acme' is not a valid id; use lower-case letters, digits, '-' and '_' (for example 'acme-eu')"
        ],
    ),
    (
        "blackout-outside-year",
        "{start: 2027-08-01, end: 2027-08-15",
        "{start: 2028-08-01, end: 2028-08-15",
        [
            "t.yaml:42:9: partners[0].blackouts[0]: blackout 2028-08-01 to 2028-08-15 lies outside the planning year 2027-01-01 to 2027-12-31; remove it"
        ],
    ),
    (
        "blackout-partly-after-year",
        "{start: 2027-12-24, end: 2027-12-31",
        "{start: 2027-12-24, end: 2028-01-02",
        [
            "t.yaml:8:32: program.blackouts[0].end: 2028-01-02 is outside the planning year 2027-01-01 to 2027-12-31; clip the blackout or drop it"
        ],
    ),
    (
        "blackout-partly-before-year",
        "{start: 2027-08-01, end: 2027-08-15",
        "{start: 2026-12-28, end: 2027-01-03",
        [
            "t.yaml:42:17: partners[0].blackouts[0].start: 2026-12-28 is outside the planning year 2027-01-01 to 2027-12-31; clip the blackout or drop it"
        ],
    ),
    (
        "manager-blackout-outside-year",
        "    country: DE\ntiers",
        "    country: DE\n    blackouts: [{start: 2026-07-01, reason: Leave}]\ntiers",
        [
            "t.yaml:19:17: managers[0].blackouts[0]: blackout 2026-07-01 to 2026-07-01 lies outside the planning year 2027-01-01 to 2027-12-31; remove it"
        ],
    ),
    (
        "fiscal-year-blackout-before-year",
        "  year: 2027\n  timezone: Europe/Berlin\n  country: DE\n  blackouts:\n    - {start: 2027-12-24, end: 2027-12-31",
        "  year: 2027\n  fiscal_year_start: '04-01'\n  timezone: Europe/Berlin\n  country: DE\n  blackouts:\n    - {start: 2027-03-29, end: 2027-04-02",
        [
            "t.yaml:9:15: program.blackouts[0].start: 2027-03-29 is outside the planning year 2027-04-01 to 2028-03-31; clip the blackout or drop it"
        ],
    ),
    (
        "blackout-reversed",
        "{start: 2027-08-01, end: 2027-08-15",
        "{start: 2027-08-15, end: 2027-08-01",
        ["t.yaml:42:9: partners[0].blackouts[0]: blackout ends before it starts"],
    ),
    (
        "shared-event-outside-year",
        "start: 2027-05-18, end: 2027-05-19",
        "start: 2026-05-18, end: 2026-05-19",
        [
            "t.yaml:10:44: program.shared_events[0].start: 2026-05-18 is outside the planning year 2027-01-01 to 2027-12-31",
            "t.yaml:10:61: program.shared_events[0].end: 2026-05-19 is outside the planning year 2027-01-01 to 2027-12-31",
        ],
    ),
    (
        "shared-event-unknown-tier",
        "tiers: [gold]",
        "tiers: [golden]",
        [
            "t.yaml:10:81: program.shared_events[0].tiers[0]: unknown tier 'golden'; did you mean 'gold'?"
        ],
    ),
    (
        "shared-event-unknown-kind",
        "{id: conf, title",
        "{id: conf, kind: conference, title",
        [
            "t.yaml:10:24: program.shared_events[0].kind: unknown kind 'conference'; did you mean 'partner_conference'?"
        ],
    ),
    (
        "rule-dates-outside-year",
        "cadence: semiannual}",
        "dates: [2027-03-01, 2028-03-01]}",
        [
            "t.yaml:29:58: tiers[1].rules[0].dates[1]: 2028-03-01 is outside the planning year 2027-01-01 to 2027-12-31"
        ],
    ),
    (
        "window-between-outside-year",
        "window: {in: [H1]}",
        "window: {between: [2026-12-01, 2027-01-31]}",
        [
            "t.yaml:23:73: tiers[0].rules[1].window.between[0]: 2026-12-01 is outside the planning year 2027-01-01 to 2027-12-31"
        ],
    ),
    (
        "window-too-short",
        "window: {in: [H1]}",
        "window: {after: quarter_end, from: 1w, to: 1w}",
        [
            "t.yaml:23:62: tiers[0].rules[1].window: the window spans 1d but the event lasts 2d; widen the window or shorten 'duration'"
        ],
    ),
    (
        "window-too-short-between",
        "window: {in: [H1]}",
        "window: {between: [2027-03-01, 2027-03-01]}",
        [
            "t.yaml:23:62: tiers[0].rules[1].window: the window spans 1d but the event lasts 2d; widen the window or shorten 'duration'"
        ],
    ),
    (
        "window-two-forms",
        "window: {in: [H1]}",
        "window: {in: [H1], between: [2027-03-01, 2027-03-05]}",
        [
            "t.yaml:23:62: tiers[0].rules[1].window: a window is one of: after/before an anchor with from/to, 'in' named quarters or halves, or 'between' two dates"
        ],
    ),
    (
        "window-no-to",
        "window: {in: [H1]}",
        "window: {after: quarter_end, from: 1w}",
        [
            "t.yaml:23:62: tiers[0].rules[1].window: an anchored window needs 'to' (for example to: 4w)"
        ],
    ),
    (
        "drop-unknown-rule",
        "drop: [visit]",
        "drop: [vist]",
        [
            "t.yaml:44:14: partners[0].overrides.drop[0]: unknown rule to drop 'vist'; did you mean 'visit'?"
        ],
    ),
    (
        "change-unknown-rule",
        "      - {id: review, cadence: monthly}",
        "      - {id: reveiw, cadence: monthly}",
        [
            "t.yaml:27:14: tiers[1].change[0].id: unknown rule to change 'reveiw'; did you mean 'review'?"
        ],
    ),
    (
        "rule-already-inherited",
        "      - {id: council, kind: council",
        "      - {id: visit, kind: council",
        [
            "t.yaml:29:14: tiers[1].rules[0].id: rule 'visit' is inherited already; list it under 'change' to edit it"
        ],
    ),
    (
        "unknown-kind",
        "kind: quarterly_business_review",
        "kind: quarterly_review",
        [
            "t.yaml:22:28: tiers[0].rules[0].kind: unknown kind 'quarterly_review'; did you mean 'quarterly_business_review'?"
        ],
    ),
    (
        "unknown-follow-up-kind",
        "cadence: semiannual}",
        "cadence: semiannual, follow_ups: [{kind: coaching, after: [2w]}]}",
        [
            "t.yaml:29:79: tiers[1].rules[0].follow_ups[0].kind: unknown kind 'coaching'; did you mean 'coaching_session'?"
        ],
    ),
    (
        "custom-kind-builtin-id",
        "  council: {title",
        "  site_visit: {title",
        [
            "t.yaml:12:3: kinds.site_visit: 'site_visit' is a built-in kind; give your kind another id",
            "t.yaml:29:29: tiers[1].rules[0].kind: unknown kind 'council'; known: annual_review, capability_workshop, coaching_session, information_exchange, joint_marketing_strategy, monthly_check_in, partner_conference, product_training, quarterly_business_review, site_visit",
        ],
    ),
    (
        "custom-kind-no-purpose",
        "purpose: collaboration, ",
        "",
        ["t.yaml:12:12: kinds.council.purpose: missing required key 'purpose'"],
    ),
    (
        "custom-kind-collaborative-review",
        "purpose: collaboration, duration: 2h}",
        "purpose: collaboration, duration: 2h, review: true}",
        [
            "t.yaml:12:12: kinds.council: a review is accountability: set 'purpose: accountability' or drop 'review: true'"
        ],
    ),
    (
        "agenda-unknown-placeholder",
        "cadence: semiannual}",
        "cadence: semiannual, agenda: 'Plan with $partnername'}",
        [
            "t.yaml:29:78: tiers[1].rules[0].agenda: unknown placeholder '$partnername'; did you mean '$partner_name'?"
        ],
    ),
    (
        "agenda-unknown-braced-placeholder",
        "duration: 2h}",
        "duration: 2h, agenda: '${title} for ${partner}s'}",
        [
            "t.yaml:12:98: kinds.council.agenda: unknown placeholder '${partner}'; did you mean '${partner_name}'?"
        ],
    ),
    (
        "agenda-placeholder-nothing-close",
        "cadence: semiannual}",
        "cadence: semiannual, follow_ups: [{kind: coaching_session, after: [2w], agenda: 'Spend $budget'}]}",
        [
            "t.yaml:29:125: tiers[1].rules[0].follow_ups[0].agenda: unknown placeholder '$budget'; known: $partner_name, $manager_name, $program_name, $organization, $title, $period, $focus_area, $focus_areas, $we_share, $they_share, $direction_text, $exchange, $exchanges (write '$$' for a dollar sign)"
        ],
    ),
    (
        "agenda-stray-dollar",
        "{id: review, cadence: monthly}",
        "{id: review, cadence: monthly, agenda: 'A $5 budget, $$ and $ signs'}",
        [
            "t.yaml:27:51: tiers[1].change[0].agenda: a '$' that starts no placeholder; write '$$' for a dollar sign",
            "t.yaml:27:69: tiers[1].change[0].agenda: a '$' that starts no placeholder; write '$$' for a dollar sign",
        ],
    ),
    (
        "agenda-escaped-then-unknown",
        "{id: review, cadence: monthly}",
        "{id: review, cadence: monthly, agenda: '$$partnername or $partnername'}",
        [
            "t.yaml:27:66: tiers[1].change[0].agenda: unknown placeholder '$partnername'; did you mean '$partner_name'?"
        ],
    ),
    (
        "agenda-block-scalar-in-override",
        "      drop: [visit]\n",
        "      drop: [visit]\n      change:\n        - id: review\n          agenda: |\n            Numbers for $partner_name\n              and $manger_name's plan\n",
        [
            "t.yaml:49:19: partners[0].overrides.change[0].agenda: unknown placeholder '$manger_name'; did you mean '$manager_name'?"
        ],
    ),
    (
        "agenda-in-change-follow-up",
        "{id: review, cadence: monthly}",
        "{id: review, follow_ups: [{kind: coaching, after: [1w], agenda: $Title}]}",
        [
            "t.yaml:27:42: tiers[1].change[0].follow_ups[0].kind: unknown kind 'coaching'; did you mean 'coaching_session'?",
            "t.yaml:27:73: tiers[1].change[0].follow_ups[0].agenda: unknown placeholder '$Title'; did you mean '$title'?",
        ],
    ),
    (
        "no-recurrence",
        "{id: council, kind: council, cadence: semiannual}",
        "{id: council, kind: council}",
        [
            "t.yaml:29:9: tiers[1].rules[0]: a rule needs exactly one of 'cadence', 'dates' or 'rrule'"
        ],
    ),
    (
        "two-recurrences",
        "cadence: semiannual}",
        "cadence: semiannual, dates: [2027-03-01]}",
        [
            "t.yaml:29:9: tiers[1].rules[0]: a rule needs exactly one of 'cadence', 'dates' or 'rrule' (got cadence, dates)"
        ],
    ),
    (
        "bad-cadence",
        "cadence: semiannual}",
        "cadence: twice a year}",
        [
            "t.yaml:29:47: tiers[1].rules[0].cadence: unknown cadence 'twice a year'; use one of once, annual, semiannual, quarterly, monthly, per_focus_area, 'every N weeks' or 'N per year' (or give 'dates' or 'rrule' instead)"
        ],
    ),
    (
        "bad-duration",
        "duration: 2h}",
        "duration: 2 hours}",
        [
            "t.yaml:12:72: kinds.council.duration: '2 hours' is not a duration; write it like 30m, 1h30m, 2d or 6w"
        ],
    ),
    (
        "duration-without-unit",
        "duration: 2h}",
        "duration: 120}",
        [
            "t.yaml:12:72: kinds.council.duration: '120' has no unit; write it like 30m, 1h30m, 2d or 6w"
        ],
    ),
    (
        "negative-duration",
        "cadence: semiannual}",
        "cadence: semiannual, duration: -1h}",
        [
            "t.yaml:29:69: tiers[1].rules[0].duration: '-1h' is negative;"
            " a duration is written without a sign"
        ],
    ),
    (
        "zero-duration",
        "cadence: semiannual}",
        "cadence: semiannual, duration: 0m}",
        ["t.yaml:29:69: tiers[1].rules[0].duration: a duration must be positive"],
    ),
    (
        "bad-date",
        "{start: 2027-08-01, end: 2027-08-15",
        "{start: 2027-08-01, end: 2027-08-32",
        [
            "t.yaml:42:34: partners[0].blackouts[0].end: '2027-08-32' is not a date; write it as YYYY-MM-DD"
        ],
    ),
    (
        "bad-mode",
        "cadence: semiannual}",
        "cadence: semiannual, mode: onsite}",
        [
            "t.yaml:29:65: tiers[1].rules[0].mode: 'onsite' is not allowed; use 'on_site' or 'virtual'; did you mean 'on_site'?"
        ],
    ),
    (
        "bad-version",
        "version: 1",
        "version: 2",
        ["t.yaml:1:10: version: '2' is not allowed; use 1"],
    ),
    (
        "bad-fiscal-start",
        "  year: 2027\n",
        "  year: 2027\n  fiscal_year_start: 02-29\n",
        ["t.yaml:5:22: program.fiscal_year_start: '02-29' is not a day of the year"],
    ),
    (
        "working-hours-reversed",
        "    timezone: Europe/Berlin\n    country: DE\ntiers",
        "    timezone: Europe/Berlin\n    country: DE\n    working_hours: {start: '17:00', end: '09:00'}\ntiers",
        ["t.yaml:19:20: managers[0].working_hours: working hours must end after they start"],
    ),
    (
        "no-working-days",
        "  country: DE\n  blackouts",
        "  country: DE\n  working_days: []\n  blackouts",
        ["t.yaml:7:17: program.working_days: the program needs at least one working day"],
    ),
    (
        "bad-weekday",
        "  country: DE\n  blackouts",
        "  country: DE\n  working_days: [mon, tues]\n  blackouts",
        [
            "t.yaml:7:23: program.working_days[1]: 'tues' is not allowed; use 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun'; did you mean 'tue'?"
        ],
    ),
    (
        "missing-key",
        "    name: Ann\n",
        "",
        ["t.yaml:14:5: managers[0].name: missing required key 'name'"],
    ),
    (
        "no-managers",
        "managers:\n  - id: ann\n    name: Ann\n    email: ann@example.com\n    timezone: Europe/Berlin\n    country: DE\n",
        "managers: []\n",
        [
            "t.yaml:13:11: managers: needs at least 1 item",
            "t.yaml:29:14: partners[0].manager: unknown manager 'ann'; there is no manager to refer to",
        ],
    ),
    (
        "bad-key-and-unknown-tier",
        "    tier: gold\n    manager: ann\n    country: DE\n    subdivision: BE",
        "    tier: glod\n    manager: ann\n    country: DE\n    subdivison: BE",
        [
            "t.yaml:33:11: partners[0].tier: unknown tier 'glod'; did you mean 'gold'?",
            "t.yaml:36:5: partners[0].subdivison: unknown key 'subdivison'; did you mean 'subdivision'?",
        ],
    ),
    (
        "duplicate-keys",
        "    tier: gold\n",
        "    tier: gold\n    tier: base\n    manager: ann\n",
        [
            "t.yaml:34:5: partners[0].tier: duplicate key 'tier' (first at line 33)",
            "t.yaml:36:5: partners[0].manager: duplicate key 'manager' (first at line 35)",
        ],
    ),
    (
        "yaml-syntax",
        "    focus_areas: [selling]",
        "    focus_areas: [selling",
        [
            "t.yaml:41:14: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence)"
        ],
    ),
    (
        "yaml-tab",
        "    name: Ann",
        "\tname: Ann",
        [
            "t.yaml:15:1: YAML syntax error: found a tab character that violates indentation (while scanning a plain scalar)"
        ],
    ),
    (
        "merge-key",
        "  - id: ann\n",
        "  - id: ann\n    <<: {x: 1}\n",
        ["t.yaml:15:5: managers[0]: YAML merge keys ('<<') are not supported; repeat the keys"],
    ),
    (
        "bad-year-and-unknown-manager",
        "  year: 2027\n",
        "  year: next\n",
        [
            "t.yaml:4:9: program.year: 'next' is not a whole number",
            "t.yaml:34:14: partners[0].manager: unknown manager 'bob'; known: ann",
        ],
    ),
]


def test_base_is_valid() -> None:
    """The unedited program loads without problems, so each case isolates its edit."""
    assert loads(BASE, "t.yaml").config.partners[0].name == "Acme [EU]"


# (case, text replaced in BASE, replacement): each still loads without a problem
VALID_EDITS: list[tuple[str, str, str]] = [
    (
        "agenda-known-placeholders",
        "cadence: semiannual}",
        "cadence: semiannual, agenda: '$title with ${partner_name} ($period, $focus_areas)'}",
    ),
    (
        "agenda-escaped-dollar",
        "duration: 2h}",
        "duration: 2h, agenda: 'Budget: $$5000 for $$$title'}",
    ),
    ("agenda-plain-text", "{id: review, cadence: monthly}", "{id: review, agenda: 'Numbers'}"),
    (
        "fiscal-year-blackout-in-next-calendar-year",
        "  year: 2027\n  timezone: Europe/Berlin\n  country: DE\n  blackouts:\n    - {start: 2027-12-24, end: 2027-12-31",
        "  year: 2027\n  fiscal_year_start: '04-01'\n  timezone: Europe/Berlin\n  country: DE\n  blackouts:\n    - {start: 2028-02-07, end: 2028-02-11",
    ),
    (
        "blackout-on-the-year-edges",
        "{start: 2027-08-01, end: 2027-08-15",
        "{start: 2027-01-01, end: 2027-12-31",
    ),
]


@pytest.mark.parametrize(
    ("old", "new"), [c[1:] for c in VALID_EDITS], ids=[c[0] for c in VALID_EDITS]
)
def test_accepts_valid_edits(old: str, new: str) -> None:
    """Known placeholders, `$$` and blackouts inside a fiscal planning year load cleanly."""
    assert old in BASE
    loads(BASE.replace(old, new, 1), "t.yaml")


@pytest.mark.parametrize(
    ("purpose", "review"),
    [("accountability", True), ("accountability", False), ("collaboration", False)],
)
def test_custom_kind_review_with_accountability_is_accepted(purpose: str, review: bool) -> None:
    """A custom kind may be a review when it serves accountability; `review` defaults to false."""
    text = BASE.replace(
        "purpose: collaboration, duration: 2h}",
        f"purpose: {purpose}, duration: 2h, review: {str(review).lower()}}}",
    )
    assert loads(text, "t.yaml").config.kinds["council"].review is review
    assert loads(BASE, "t.yaml").config.kinds["council"].review is False


@pytest.mark.parametrize(
    ("old", "new", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_reports_exact_problems(old: str, new: str, expected: list[str]) -> None:
    """Reports exactly the expected located problems, all at once, and nothing else."""
    assert old in BASE
    text = BASE.replace(old, new, 1)
    if "year: next" in new:  # two independent problems in two sections
        text = text.replace("    manager: ann", "    manager: bob")
    with pytest.raises(ConfigError) as caught:
        loads(text, "t.yaml")
    assert [str(p) for p in caught.value.problems] == expected
