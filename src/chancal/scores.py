"""The health check's values: principles, statuses, findings and the report of a whole plan.

Values only, so the views can draw a scorecard from a `HealthReport` without
importing the check that made it (`chancal.health`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from chancal.plan import PartnerInfo

Principle = Literal[
    "capability", "site_visits", "strategy", "sharing", "balance", "investment", "spread"
]
Status = Literal["pass", "warn", "fail", "n/a"]
Number = int | float | str

PRINCIPLES: tuple[Principle, ...] = (
    "capability",
    "site_visits",
    "strategy",
    "sharing",
    "balance",
    "investment",
    "spread",
)
PRINCIPLE_TITLES: Mapping[Principle, str] = {
    "capability": "targeted capability development",
    "site_visits": "site visits both ways",
    "strategy": "joint marketing strategy session, not an evaluation",
    "sharing": "two-way information sharing",
    "balance": "collaboration at least matching accountability",
    "investment": "investment by tier",
    "spread": "touchpoints spread out: no long silences, no pile-ups",
}
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail", "n/a")
_SEVERITY: Mapping[Status, int] = {"n/a": 0, "pass": 1, "warn": 2, "fail": 3}


@dataclass(frozen=True, slots=True)
class Finding:
    """One principle scored for one partner: what was seen and what would fix it."""

    principle: Principle
    partner_id: str
    status: Status
    seen: str
    fix: str = ""
    numbers: tuple[tuple[str, Number], ...] = ()


@dataclass(frozen=True, slots=True)
class PartnerScore:
    """Every principle scored for one partner, in `PRINCIPLES` order."""

    partner: PartnerInfo
    findings: tuple[Finding, ...]

    @property
    def status(self) -> Status:
        """The worst status of the partner's findings."""
        return worst(f.status for f in self.findings)

    def finding(self, principle: Principle) -> Finding:
        """Return the finding of one principle."""
        return self.findings[PRINCIPLES.index(principle)]


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The scorecard of a whole plan."""

    program_id: str
    program_name: str
    partners: tuple[PartnerScore, ...]

    def counts(self) -> dict[Status, int]:
        """Count findings by status."""
        counts: dict[Status, int] = dict.fromkeys(STATUSES, 0)
        for score in self.partners:
            for finding in score.findings:
                counts[finding.status] += 1
        return counts

    @property
    def failed(self) -> bool:
        """Whether any finding failed (what `--strict` gates on)."""
        return any(f.status == "fail" for s in self.partners for f in s.findings)


def worst(statuses: Iterable[Status]) -> Status:
    """Return the most severe status (n/a when there is none)."""
    return max(statuses, key=_SEVERITY.__getitem__, default="n/a")
