"""The planner: a validated program in, a dated year of events and diagnostics out (pure)."""

from __future__ import annotations

from chancal.planner.build import make_plan

__all__ = ["make_plan"]
