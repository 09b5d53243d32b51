"""The order of a plan's events and diagnostics: the same whichever process planned what."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from chancal.plan import Diagnostic, Event, Timed

_MIDNIGHT: dict[tuple[str, date], float] = {}


def event_order(event: Event) -> tuple[float, str]:
    """By start instant (an all-day event at midnight in its zone), then key."""
    span = event.span
    if isinstance(span, Timed):
        return span.start.timestamp(), event.key
    cached = _MIDNIGHT.get((event.timezone, span.start))
    if cached is None:
        cached = datetime.combine(span.start, time(), ZoneInfo(event.timezone)).timestamp()
        _MIDNIGHT[(event.timezone, span.start)] = cached
    return cached, event.key


_SEVERITY = {"error": 0, "warning": 1, "info": 2}


def diagnostic_order(d: Diagnostic) -> tuple[str, int, date, str, str, str]:
    """By partner, severity, day, rule, code and message."""
    return (
        d.partner_id or "",
        _SEVERITY[d.severity],
        d.day or date.min,
        d.rule_id or "",
        d.code,
        d.message,
    )
