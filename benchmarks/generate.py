"""Write a chancal program with N partners, for benchmarks (issues 7 and 17).

    python benchmarks/generate.py 10000 --seed 7 --out /tmp/partners-10000.yaml
    python benchmarks/generate.py 10000 --portfolio overloaded   # issue 7's shape

The output is deterministic for a given N, seed and portfolio: every choice
comes from one `random.Random(seed)` drawing from literal tuples in a fixed
order, so neither the hash seed nor the machine changes a byte. The tiers are
the starter's (`chancal init`), copied verbatim, so the benchmark plans the same
extends chain users start from. Partners are spread over 40 countries with their
real IANA time zones, Sunday-Thursday working weeks where that is the custom,
fiscal years that start in April or July where that is common, several contacts,
two to four focus areas, sharing topics, local blackouts and, for some,
overrides of their tier's plan.

Two portfolio shapes (`--portfolio`):

- `realistic` (the default): managers own 10 to 40 partners each, as real
  channel teams do, and each manager's weekly capacity and travel are sized to
  the portfolio with room to spare (`capacity_lines`), so the year fits.
- `overloaded`: managers own 50 to 200 partners each (at most 30 visited ones),
  issue 7's throughput shape. Their meetings outgrow their working weeks, so
  every manager gets an `over-demand` warning and the events that do not fit
  are `unplaced` errors (`chancal export --allow-unplaced` publishes the rest).
  For a given N and seed, `--portfolio overloaded` writes the program this
  script wrote before issue 17 (only the first comment line differs).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path
from typing import Literal

Portfolio = Literal["realistic", "overloaded"]
PORTFOLIOS: tuple[Portfolio, ...] = ("realistic", "overloaded")
# Partners per manager, (fewest, most, most common), by portfolio shape.
PORTFOLIO_SIZES: dict[Portfolio, tuple[int, int, int]] = {
    "realistic": (10, 40, 20),
    "overloaded": (50, 200, 60),
}

YEAR = 2027

SUN_THU = "[sun, mon, tue, wed, thu]"

# code, IANA zones (weighted by listing order), subdivisions worth naming, cities,
# working week (None = the program's mon-fri), common fiscal year starts, weight.
Country = tuple[
    str, tuple[str, ...], tuple[str, ...], tuple[str, ...], str | None, tuple[str, ...], int
]
COUNTRIES: tuple[Country, ...] = (
    ("US", ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
     ("CA", "NY", "TX", "IL", "WA", "MA"), ("Boston", "Chicago", "Austin", "Seattle", "Denver"),
     None, ("01-01", "10-01", "07-01"), 12),
    ("CA", ("America/Toronto", "America/Vancouver", "America/Edmonton"), ("ON", "BC", "AB", "QC"),
     ("Toronto", "Vancouver", "Calgary", "Montréal"), None, ("01-01", "11-01"), 4),
    ("MX", ("America/Mexico_City", "America/Monterrey"), (), ("Ciudad de México", "Monterrey"),
     None, ("01-01",), 3),
    ("BR", ("America/Sao_Paulo",), ("SP", "RJ", "MG"), ("São Paulo", "Rio de Janeiro"),
     None, ("01-01",), 3),
    ("AR", ("America/Argentina/Buenos_Aires",), (), ("Buenos Aires", "Córdoba"), None,
     ("01-01",), 1),
    ("CL", ("America/Santiago",), (), ("Santiago",), None, ("01-01",), 1),
    ("CO", ("America/Bogota",), (), ("Bogotá", "Medellín"), None, ("01-01",), 1),
    ("PE", ("America/Lima",), (), ("Lima",), None, ("01-01",), 1),
    ("GB", ("Europe/London",), ("ENG", "SCT"), ("London", "Manchester", "Edinburgh"), None,
     ("04-01", "01-01"), 6),
    ("IE", ("Europe/Dublin",), (), ("Dublin", "Cork"), None, ("01-01",), 2),
    ("DE", ("Europe/Berlin",), ("BY", "BE", "HH", "NW", "BW"), ("München", "Berlin", "Hamburg"),
     None, ("01-01", "10-01"), 7),
    ("AT", ("Europe/Vienna",), (), ("Wien", "Graz"), None, ("01-01",), 2),
    ("CH", ("Europe/Zurich",), ("ZH", "GE", "BE"), ("Zürich", "Genève"), None, ("01-01",), 2),
    ("FR", ("Europe/Paris",), (), ("Paris", "Lyon", "Toulouse"), None, ("01-01",), 5),
    ("BE", ("Europe/Brussels",), (), ("Bruxelles", "Antwerpen"), None, ("01-01",), 2),
    ("NL", ("Europe/Amsterdam",), (), ("Amsterdam", "Utrecht", "Eindhoven"), None, ("01-01",), 3),
    ("ES", ("Europe/Madrid",), ("MD", "CT"), ("Madrid", "Barcelona"), None, ("01-01",), 3),
    ("PT", ("Europe/Lisbon",), (), ("Lisboa", "Porto"), None, ("01-01",), 1),
    ("IT", ("Europe/Rome",), (), ("Milano", "Roma", "Torino"), None, ("01-01",), 3),
    ("SE", ("Europe/Stockholm",), (), ("Stockholm", "Göteborg"), None, ("01-01",), 2),
    ("NO", ("Europe/Oslo",), (), ("Oslo", "Bergen"), None, ("01-01",), 1),
    ("DK", ("Europe/Copenhagen",), (), ("København", "Aarhus"), None, ("01-01",), 1),
    ("FI", ("Europe/Helsinki",), (), ("Helsinki", "Espoo"), None, ("01-01",), 1),
    ("PL", ("Europe/Warsaw",), (), ("Warszawa", "Kraków"), None, ("01-01",), 2),
    ("CZ", ("Europe/Prague",), (), ("Praha", "Brno"), None, ("01-01",), 1),
    ("TR", ("Europe/Istanbul",), (), ("İstanbul", "Ankara"), None, ("01-01",), 1),
    ("IL", ("Asia/Jerusalem",), (), ("Tel Aviv", "Haifa"), SUN_THU, ("01-01",), 2),
    ("AE", ("Asia/Dubai",), (), ("Dubai", "Abu Dhabi"), SUN_THU, ("01-01",), 2),
    ("SA", ("Asia/Riyadh",), (), ("Riyadh", "Jeddah"), SUN_THU, ("01-01",), 1),
    ("EG", ("Africa/Cairo",), (), ("Cairo", "Alexandria"), SUN_THU, ("07-01",), 1),
    ("ZA", ("Africa/Johannesburg",), (), ("Johannesburg", "Cape Town"), None, ("03-01",), 2),
    ("KE", ("Africa/Nairobi",), (), ("Nairobi",), None, ("07-01",), 1),
    ("IN", ("Asia/Kolkata",), ("MH", "KA", "DL", "TN"), ("Mumbai", "Bengaluru", "Chennai"),
     None, ("04-01",), 5),
    ("SG", ("Asia/Singapore",), (), ("Singapore",), None, ("04-01", "01-01"), 2),
    ("MY", ("Asia/Kuala_Lumpur",), (), ("Kuala Lumpur", "Penang"), None, ("01-01",), 1),
    ("ID", ("Asia/Jakarta",), (), ("Jakarta", "Surabaya"), None, ("01-01",), 1),
    ("JP", ("Asia/Tokyo",), (), ("東京", "Osaka", "Nagoya"), None, ("04-01",), 4),
    ("KR", ("Asia/Seoul",), (), ("Seoul", "Busan"), None, ("01-01",), 2),
    ("AU", ("Australia/Sydney", "Australia/Melbourne", "Australia/Perth"), ("NSW", "VIC", "WA"),
     ("Sydney", "Melbourne", "Perth"), None, ("07-01",), 3),
    ("NZ", ("Pacific/Auckland",), (), ("Auckland", "Wellington"), None, ("04-01",), 1),
)  # fmt: skip

# Sales regions: (name, where its managers sit: country and zone, its countries).
# Managers own partners of their own region, so their working hours overlap.
REGIONS = (
    ("North America", "US", "America/New_York", ("US", "CA", "MX")),
    ("Latin America", "BR", "America/Sao_Paulo", ("BR", "AR", "CL", "CO", "PE")),
    ("UK, Ireland and Nordics", "GB", "Europe/London", ("GB", "IE", "SE", "NO", "DK", "FI")),
    ("Central Europe", "DE", "Europe/Berlin", ("DE", "AT", "CH", "PL", "CZ")),
    ("Western Europe", "FR", "Europe/Paris", ("FR", "BE", "NL", "ES", "PT", "IT")),
    ("Middle East and Africa", "AE", "Asia/Dubai", ("TR", "IL", "AE", "SA", "EG", "ZA", "KE")),
    ("India", "IN", "Asia/Kolkata", ("IN",)),
    ("South-East Asia", "SG", "Asia/Singapore", ("SG", "MY", "ID")),
    ("Japan and Korea", "JP", "Asia/Tokyo", ("JP", "KR")),
    ("Oceania", "AU", "Australia/Sydney", ("AU", "NZ")),
)
BY_CODE = {c[0]: c for c in COUNTRIES}
Region = tuple[str, str, str, tuple[str, ...]]

FIRST = (
    "Alex", "Maria", "Jana", "Tom", "Priya", "Kenji", "Fatima", "Lucas", "Sofia", "Omar",
    "Chen", "Aisha", "Mateo", "Emma", "Noah", "Olivia", "Yuki", "Lars", "Ingrid", "Raj",
    "Zoë", "Björn", "José", "Chloé", "Ahmed", "Mei", "Daniel", "Sara", "Ivan", "Amara",
)  # fmt: skip
LAST = (
    "Rivera", "Weber", "Schulz", "Sharma", "Tanaka", "Haddad", "Silva", "Rossi", "Kim", "Nguyen",
    "Müller", "O'Brien", "García", "Dubois", "Nowak", "Johansson", "Okafor", "Cohen", "Lee",
    "Novák", "Kowalski", "Santos", "Fischer", "Yamamoto", "Patel", "Martin", "Costa", "Berg",
)  # fmt: skip
NAME_A = (
    "Northwind", "Bluepeak", "Contoso", "Fabrikam", "Tailspin", "Litware", "Adatum", "Proseware",
    "Lucerne", "Wingtip", "Margie", "Alpine", "Coho", "Woodgrove", "Trey", "Humongous", "Graphic",
    "Nordlicht", "Sol", "Kaiyō", "Aurora", "Cedar", "Summit", "Harbor", "Orion", "Vértice",
)  # fmt: skip
NAME_B = (
    "Distribution", "Systems", "IT Solutions", "Networks", "Technologies", "Partners", "Digital",
    "Data", "Cloud Services", "Integration", "Consulting", "Trading", "Computers", "Solutions",
)  # fmt: skip
NAME_C = ("", "", "", "", " GmbH", " Ltd", " S.A.", " Inc.", " B.V.", " K.K.", " Pty Ltd", " AG")
FOCUS_AREAS = (
    "solution selling", "pipeline management", "cloud migration", "security services",
    "managed services", "vertical marketing", "technical pre-sales", "customer success",
    "renewals", "partner-led demand generation", "value-based pricing", "negotiation",
    "industry: healthcare", "industry: manufacturing", "public sector tenders",
)  # fmt: skip
WE_SHARE = (
    "product roadmap", "marketing calendar", "pricing changes", "campaign results",
    "competitive intelligence", "enablement plan", "lead routing rules",
)  # fmt: skip
THEY_SHARE = (
    "sell-through by segment", "competitor pricing", "pipeline forecast", "win/loss notes",
    "customer feedback", "inventory levels", "hiring plans",
)  # fmt: skip
ROLES = ("managing director", "sales lead", "marketing manager", "technical lead", "ops")
# Large programs are pyramids: few strategic partners, many transactional ones.
TIER_MIX = (("strategic", 8), ("growth", 27), ("transactional", 65))
# Partners a manager visits (growth and strategic: two 2-day site visits a year each,
# on-site workshops and strategy sessions), by portfolio shape. The cap turns the
# excess into transactional partners, as in real programs where big portfolios are
# the transactional long tail. Overloaded: a manager can be on site on ~120 days a
# year at most (the overall mix of a 10,000-partner program is then about 7%
# strategic, 23% growth, 70% transactional). Realistic: 8, because the visits, the
# on-site workshops and strategy sessions all fall in the first half, beside the
# first-quarter reviews; with 12 or more, a 35-partner manager's second quarter had
# no free hour left and whole workshops went unplaced (measured on seeds 1-3 at
# 1,000 partners), so the year would not fit (about 5% strategic, 22% growth).
MAX_VISITED: dict[Portfolio, int] = {"realistic": 8, "overloaded": 30}
# What one partner of each tier costs its manager a year under the starter's tiers
# (measured on generated programs): timed meetings, their hours, 2-day trips to the
# partner, days on site (both directions).
TIER_LOAD = {
    "strategic": (30, 44.0, 1, 4),
    "growth": (23, 31.0, 1, 4),
    "transactional": (11, 18.5, 0, 0),
}


def starter_tiers() -> str:
    """Return the `tiers:` section of the starter program, verbatim."""
    root = Path(__file__).resolve().parent.parent / "src" / "chancal" / "templates"
    text = (root / "partners.yaml").read_text(encoding="utf-8")
    start = text.index("\ntiers:\n") + 1
    end = text.index("\npartners:", start) + 1
    return text[start:end]


def q(text: str) -> str:
    """Quote a scalar as a YAML double-quoted string (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def slug(text: str) -> str:
    """Lower-case id from a name: letters and digits, words joined by '-'."""
    out = []
    for ch in text.lower():
        out.append(ch if ("a" <= ch <= "z" or "0" <= ch <= "9") else " ")
    return "-".join("".join(out).split()) or "p"


def manager_sizes(n: int, rng: random.Random, portfolio: Portfolio = "realistic") -> list[int]:
    """Split n partners into portfolios of the shape's size range (smaller only if n is)."""
    fewest, most, mode = PORTFOLIO_SIZES[portfolio]
    sizes: list[int] = []
    remaining = n
    while remaining > most:
        # Most portfolios are small; a few managers carry the most. Leaving at
        # least `fewest` keeps the last portfolio inside the range too.
        size = min(round(rng.triangular(fewest, most, mode)), remaining - fewest)
        sizes.append(size)
        remaining -= size
    sizes.append(remaining)
    return sizes


def tier_mix(size: int, rng: random.Random, most_visited: int) -> list[str]:
    """Tiers of one manager's partners: the pyramid mix, at most `most_visited` visited ones."""
    tiers = [t for t, _ in TIER_MIX]
    weights = [w for _, w in TIER_MIX]
    out = rng.choices(tiers, weights, k=size)
    visited = 0
    for k, tier in enumerate(out):
        if tier != "transactional":
            visited += 1
            if visited > most_visited:
                out[k] = "transactional"
    return out


def capacity_lines(tiers: list[str]) -> list[str]:
    """A manager's weekly limits and travel, scaled to fit the portfolio.

    The limits are sized to the portfolio's yearly load (TIER_LOAD) with room
    for the way reviews cluster after quarter ends (x2 over ~44 working weeks),
    and trips to partners (all in the first half) over ~5 months. A realistic
    portfolio (10 to 40 partners) then fits its manager's year. An overloaded
    one (50 to 200) is a team's worth of meetings: the limits grow with it, but
    one person's working days do not, so the planner names the over-demand and
    leaves the excess unplaced; what that shape measures is the planner and
    exporter at volume and under pressure.
    """
    meetings = sum(TIER_LOAD[t][0] for t in tiers)
    hours = sum(TIER_LOAD[t][1] + 8 * TIER_LOAD[t][3] for t in tiers)
    trips = sum(TIER_LOAD[t][2] for t in tiers)
    per_week = max(12, math.ceil(meetings / 44 * 2))
    hours_per_week = max(16, math.ceil(hours / 44 * 2))
    visits = max(2, math.ceil(trips / 5 * 2))
    return [
        f"    capacity: {{meetings_per_week: {per_week}, hours_per_week: {hours_per_week}}}",
        f"    travel: {{site_visits_per_month: {visits}}}",
    ]


def manager_regions(count: int, rng: random.Random, portfolio: Portfolio) -> list[list[Region]]:
    """Give each manager one or more regions: big regions get more managers.

    Overloaded programs cover every region, so a manager of a small one holds
    several (issue 7's shape). Realistic managers hold one region each, so their
    partners' working hours overlap theirs; a small program covers fewer regions.
    """
    if count <= len(REGIONS) and portfolio == "realistic":
        return [[region] for region in REGIONS[:count]]
    if count <= len(REGIONS):
        out: list[list[Region]] = [[] for _ in range(count)]
        for r, region in enumerate(REGIONS):
            out[r % count].append(region)
        return out
    weights = [sum(BY_CODE[c][6] for c in region[3]) for region in REGIONS]
    extra = rng.choices(REGIONS, weights, k=count - len(REGIONS))
    return [[region] for region in (*REGIONS, *extra)]


def countries_for(size: int, regions: list[Region], rng: random.Random) -> list[Country]:
    """Countries of one manager's partners: each of the territory once, then by market size."""
    countries = [BY_CODE[c] for region in regions for c in region[3]]
    first = countries[:size]
    rest = rng.choices(countries, [c[6] for c in countries], k=size - len(first))
    return first + rest


def blackout_lines(rng: random.Random, code: str) -> list[str]:
    """Local blackouts that partners in `code` typically declare."""
    out: list[str] = []
    if code in ("FR", "IT", "ES") and rng.random() < 0.8:
        out.append(f'{{start: {YEAR}-08-02, end: {YEAR}-08-20, reason: "Summer closure"}}')
    if code in ("CN", "SG", "MY") and rng.random() < 0.5:
        out.append(f'{{start: {YEAR}-02-05, end: {YEAR}-02-12, reason: "Lunar New Year"}}')
    if code in ("SA", "AE", "EG", "ID", "MY") and rng.random() < 0.6:
        out.append(f'{{start: {YEAR}-03-08, end: {YEAR}-03-12, reason: "Eid al-Fitr"}}')
    if code == "JP" and rng.random() < 0.7:
        out.append(f'{{start: {YEAR}-04-29, end: {YEAR}-05-05, reason: "Golden Week"}}')
    if rng.random() < 0.35:
        month = rng.randint(1, 11)
        day = rng.randint(1, 20)
        length = rng.randint(1, 6)
        reason = rng.choice(("Inventory count", "Sales kick-off", "Office move", "Audit"))
        out.append(
            f"{{start: {YEAR}-{month:02d}-{day:02d}, end: {YEAR}-{month:02d}-{day + length:02d}, "
            f'reason: "{reason}"}}'
        )
    return out


def overrides(rng: random.Random, tier: str, focus: list[str]) -> list[str]:
    """Some partners edit their tier's plan, the way real programs accumulate exceptions."""
    roll = rng.random()
    if roll < 0.06 and tier != "transactional":
        return [
            "    overrides:",
            "      drop: [visit-us]  # they cannot travel this year",
        ]
    if roll < 0.14:
        return [
            "    overrides:",
            "      rules:",
            "        - id: roadmap-briefing",
            "          kind: product_training",
            "          title: Roadmap briefing",
            "          cadence: semiannual",
            "          duration: 1h",
        ]
    if roll < 0.18 and focus:
        return [
            "    overrides:",
            "      change:",
            "        - id: exchange",
            "          cadence: quarterly",
        ]
    return []


def generate(n: int, seed: int = 1, portfolio: Portfolio = "realistic") -> str:
    """Return the YAML text of a program with `n` partners in portfolios of the given shape."""
    if portfolio not in PORTFOLIOS:
        raise ValueError(f"unknown portfolio {portfolio!r}; choose one of {PORTFOLIOS}")
    rng = random.Random(seed)
    flag = "" if portfolio == "realistic" else f" --portfolio {portfolio}"
    lines: list[str] = [
        f"# Generated by benchmarks/generate.py {n} --seed {seed}{flag}; do not edit.",
        "version: 1",
        "",
        "program:",
        f"  name: {q(f'Benchmark Channel Program ({n} partners)')}",
        "  id: bench",
        f"  year: {YEAR}",
        '  fiscal_year_start: "01-01"',
        "  timezone: America/New_York",
        "  country: US",
        "  subdivision: MA",
        "  location: Example Corp HQ, 1 Main Street, Boston",
        "  working_days: [mon, tue, wed, thu, fri]",
        '  working_hours: {start: "09:00", end: "17:00"}',
        "  blackouts:",
        f"    - {{start: {YEAR}-12-20, end: {YEAR}-12-31, reason: Year-end freeze}}",
        f"    - {{start: {YEAR}-07-01, end: {YEAR}-07-02, reason: Fiscal close}}",
        "  shared_events:",
        "    - id: partner-conference",
        f"      title: Partner Conference {YEAR}",
        f"      start: {YEAR}-05-18",
        f"      end: {YEAR}-05-19",
        "      location: Boston Convention Center",
        "    - id: strategic-summit",
        f"      title: Strategic Partner Summit {YEAR}",
        f"      start: {YEAR}-10-12",
        "      location: Example Corp HQ, Boston",
        "      tiers: [strategic]",
        "  reminders: [1d, 30m]",
        "  capacity: {meetings_per_week: 40, hours_per_week: 40}",
        "  travel: {site_visits_per_month: 8}",
        "  spacing: {max_per_week: 2, min_days_between: 2}",
        "  strategy_gap: 21d",
        "",
        "managers:",
    ]
    sizes = manager_sizes(n, rng, portfolio)
    territories = manager_regions(len(sizes), rng, portfolio)
    portfolio_tiers = [tier_mix(size, rng, MAX_VISITED[portfolio]) for size in sizes]
    managers: list[str] = []
    for i, regions in enumerate(territories):
        _, home_country, home_zone, _ = regions[0]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        mid = f"{slug(first)}-{slug(last)}-{i + 1}"
        managers.append(mid)
        lines += [
            f"  - id: {mid}",
            f"    name: {q(f'{first} {last}')}",
            f"    email: {slug(first)}.{slug(last)}.{i + 1}@example.com",
            f"    timezone: {home_zone}",
            f"    country: {home_country}",
            f"    location: {q(' / '.join(r[0] for r in regions))}",
            '    working_hours: {start: "08:00", end: "18:00"}',
            *capacity_lines(portfolio_tiers[i]),
        ]
        if rng.random() < 0.5:
            month = rng.randint(6, 9)
            lines.append(
                f"    blackouts: [{{start: {YEAR}-{month:02d}-03, end: {YEAR}-{month:02d}-14, "
                'reason: "Vacation"}]'
            )
    lines.append("")
    lines.append(starter_tiers().rstrip("\n"))
    lines += ["", "partners:"]

    portfolios = [
        countries_for(size, regions, rng) for size, regions in zip(sizes, territories, strict=True)
    ]
    owners = [mid for mid, size in zip(managers, sizes, strict=True) for _ in range(size)]
    assigned = [country for countries in portfolios for country in countries]
    partner_tiers = [tier for tiers in portfolio_tiers for tier in tiers]
    used_ids: set[str] = set()
    for i in range(n):
        country = assigned[i]
        code, zones, subdivisions, cities, week, fiscal, _ = country
        tz = zones[0] if rng.random() < 0.6 else rng.choice(zones)
        name = f"{rng.choice(NAME_A)} {rng.choice(NAME_B)}{rng.choice(NAME_C)}"
        if rng.random() < 0.03:
            name += f" [{code}]"  # bracketed names must print as written, never as markup
        pid = f"{slug(name)}-{slug(code)}"
        if pid in used_ids:
            pid = f"{pid}-{i + 1}"
        used_ids.add(pid)
        tier = partner_tiers[i]
        city = rng.choice(cities)
        domain = f"{slug(name).replace('-', '')[:20]}{i + 1}.example"
        lines += [
            f"  - id: {pid}",
            f"    name: {q(name)}",
            f"    tier: {tier}",
            f"    manager: {owners[i]}",
            f"    country: {code}",
        ]
        if subdivisions and rng.random() < 0.5:
            lines.append(f"    subdivision: {rng.choice(subdivisions)}")
        lines += [
            f"    timezone: {tz}",
            f"    location: {q(f'{name}, {rng.randint(1, 250)} Main Road, {city}')}",
        ]
        if week is not None:
            lines.append(f"    working_days: {week}")
        if rng.random() < 0.15:
            start, end = rng.choice((("08:00", "16:00"), ("08:30", "17:30"), ("10:00", "18:00")))
            lines.append(f'    working_hours: {{start: "{start}", end: "{end}"}}')
        fy = rng.choice(fiscal)
        if fy != "01-01":
            lines.append(f'    fiscal_year_start: "{fy}"')
        lines.append("    contacts:")
        for k in range(rng.randint(1, 3)):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            lines.append(
                f"      - {{name: {q(f'{first} {last}')}, "
                f"email: {slug(first)}.{slug(last)}{k}@{domain}, role: {q(ROLES[k])}}}"
            )
        focus = rng.sample(FOCUS_AREAS, rng.randint(2, 4))
        lines.append(f"    focus_areas: [{', '.join(q(f) for f in focus)}]")
        lines += [
            "    sharing:",
            f"      we_share: [{', '.join(q(s) for s in rng.sample(WE_SHARE, 2))}]",
            f"      they_share: [{', '.join(q(s) for s in rng.sample(THEY_SHARE, 2))}]",
        ]
        blackouts = blackout_lines(rng, code)
        if blackouts:
            lines.append("    blackouts:")
            lines += [f"      - {b}" for b in blackouts]
        lines += overrides(rng, tier, focus)
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and write the program."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of partners")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--portfolio",
        choices=PORTFOLIOS,
        default="realistic",
        help="realistic: 10 to 40 partners per manager, a year that fits (default); "
        "overloaded: 50 to 200, more meetings than working weeks hold",
    )
    parser.add_argument("--out", type=Path, help="output file (default: stdout)")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("N must be at least 1")
    text = generate(args.n, args.seed, args.portfolio)
    if args.out is None:
        sys.stdout.buffer.write(text.encode("utf-8"))
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)  # `--out big/partners.yaml` just works
        args.out.write_bytes(text.encode("utf-8"))
        print(
            f"wrote {args.out}: {args.n} partners ({args.portfolio}), "
            f"{math.ceil(len(text) / 1024)} KiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
