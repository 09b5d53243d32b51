"""Human durations such as `30m`, `1h30m`, `2d` and `6w`."""

from __future__ import annotations

import re
from datetime import timedelta

# The one syntax of a duration, shared by the loader and the JSON Schema (where
# editors check it): ASCII digits, each followed by a unit, no sign, no spaces.
DURATION_PATTERN = r"^([0-9]+[wdhm])+$"
_WHOLE = re.compile(DURATION_PATTERN)
_PART = re.compile(r"([0-9]+)([wdhm])")
_UNIT_MINUTES = {"w": 7 * 24 * 60, "d": 24 * 60, "h": 60, "m": 1}


def parse_duration(text: str) -> timedelta:
    """Parse `1h30m`-style text; raise ValueError with a hint when it is not one.

    A duration is never negative: `-1h` is refused here, as the schema refuses it.
    """
    if _WHOLE.fullmatch(text) is None:
        if _WHOLE.fullmatch(text.strip().removeprefix("-").strip()) is not None:
            raise ValueError(f"'{text}' is negative; a duration is written without a sign")
        raise ValueError(f"'{text}' is not a duration; write it like 30m, 1h30m, 2d or 6w")
    minutes = sum(int(n) * _UNIT_MINUTES[u] for n, u in _PART.findall(text))
    try:
        return timedelta(minutes=minutes)
    except OverflowError:
        # timedelta tops out near 2.7 million years; pydantic reports only ValueError nicely
        raise ValueError(f"'{text}' is too long a duration") from None


def format_duration(value: timedelta) -> str:
    """Format a timedelta back into the shortest human duration."""
    minutes = int(value.total_seconds() // 60)
    sign = "-" if minutes < 0 else ""
    minutes = abs(minutes)
    if minutes == 0:
        return "0m"
    parts = []
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_MINUTES[unit]
        if minutes >= size:
            parts.append(f"{minutes // size}{unit}")
            minutes %= size
    return sign + "".join(parts)
