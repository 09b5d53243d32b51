"""The built-in interaction kinds and whether each serves accountability or collaboration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

Purpose = Literal["accountability", "collaboration"]
Mode = Literal["on_site", "virtual"]


@dataclass(frozen=True, slots=True)
class KindSpec:
    """What a kind of interaction is, before any tier or partner shapes it."""

    id: str
    title: str
    purpose: Purpose
    duration: timedelta
    mode: Mode
    template: str  # name of the agenda template under templates/agendas/


# Kinds that evaluate the partner: the joint marketing strategy session keeps its
# `strategy_gap` from these (custom kinds join them with `review: true`).
REVIEW_KINDS: tuple[str, ...] = ("annual_review", "quarterly_business_review")

BUILTIN_KINDS: dict[str, KindSpec] = {
    k.id: k
    for k in (
        KindSpec(
            "monthly_check_in",
            "Monthly check-in",
            "accountability",
            timedelta(minutes=30),
            "virtual",
            "monthly_check_in",
        ),
        KindSpec(
            "quarterly_business_review",
            "Quarterly business review",
            "accountability",
            timedelta(hours=2),
            "virtual",
            "quarterly_business_review",
        ),
        KindSpec(
            "annual_review",
            "Annual performance review and target alignment",
            "accountability",
            timedelta(hours=3),
            "on_site",
            "annual_review",
        ),
        KindSpec(
            "product_training",
            "Product and sales training",
            "collaboration",
            timedelta(hours=2),
            "virtual",
            "product_training",
        ),
        KindSpec(
            "partner_conference",
            "Partner conference",
            "collaboration",
            timedelta(days=2),
            "on_site",
            "partner_conference",
        ),
        KindSpec(
            "capability_workshop",
            "Capability workshop",
            "collaboration",
            timedelta(hours=3),
            "on_site",
            "capability_workshop",
        ),
        KindSpec(
            "coaching_session",
            "Coaching session",
            "collaboration",
            timedelta(hours=1),
            "virtual",
            "coaching_session",
        ),
        KindSpec(
            "site_visit", "Site visit", "collaboration", timedelta(days=2), "on_site", "site_visit"
        ),
        KindSpec(
            "joint_marketing_strategy",
            "Joint marketing strategy session",
            "collaboration",
            timedelta(hours=3),
            "on_site",
            "joint_marketing_strategy",
        ),
        KindSpec(
            "information_exchange",
            "Information exchange",
            "collaboration",
            timedelta(hours=1, minutes=30),
            "virtual",
            "information_exchange",
        ),
    )
}
