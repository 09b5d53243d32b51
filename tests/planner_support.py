"""Small program builders shared by the planner tests."""

from __future__ import annotations

import textwrap

import yaml

from chancal.models import Config

BASE = """\
version: 1
program:
  name: Test Program
  id: test
  year: {year}
  fiscal_year_start: "{fy}"
  timezone: America/New_York
  country: US
  location: HQ Boston
  spacing: {{max_per_week: 1, min_days_between: 3}}
  {program_extra}
managers:
  - id: alex
    name: Alex Rivera
    email: alex@example.com
    timezone: {manager_tz}
    country: {manager_country}
  - id: bea
    name: Bea Stone
    email: bea@example.com
    timezone: America/New_York
    country: US
tiers:
  - id: t
    rules:
{rules}
partners:
{partners}
"""

PARTNER = """\
  - id: {id}
    name: {name}
    tier: t
    manager: {manager}
    country: {country}
    timezone: {tz}
    focus_areas: [solution selling, pipeline management]
    sharing: {{we_share: [roadmap], they_share: [forecast]}}
    contacts:
      - {{name: Ann Lee, email: ann@{id}.example, role: owner}}
      - {{name: Bo Kim, email: bo@{id}.example, role: sales}}
{extra}"""


def partner(
    id: str = "acme",
    *,
    name: str = "Acme [EU]",
    manager: str = "alex",
    country: str = "US",
    tz: str = "America/New_York",
    extra: str = "",
) -> str:
    """One partner entry (extra: more YAML lines, indented 4 spaces)."""
    return PARTNER.format(id=id, name=name, manager=manager, country=country, tz=tz, extra=extra)


def program(
    rules: str,
    partners: str | None = None,
    *,
    year: int = 2027,
    fy: str = "01-01",
    program_extra: str = "",
    manager_tz: str = "America/New_York",
    manager_country: str = "US",
) -> Config:
    """Build and validate a program whose one tier 't' has `rules` (YAML list items)."""
    text = BASE.format(
        year=year,
        fy=fy,
        program_extra=program_extra,
        manager_tz=manager_tz,
        manager_country=manager_country,
        rules=textwrap.indent(textwrap.dedent(rules).strip("\n"), "      "),
        partners=partners if partners is not None else partner(),
    )
    # Validated by the models only: these fixtures are known to be cross-reference clean.
    return Config.model_validate(yaml.safe_load(text))
