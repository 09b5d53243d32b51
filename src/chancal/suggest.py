"""The one "did you mean ...?" hint that every error message about an unknown name uses."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str], *, cutoff: float = 0.6) -> str:
    """Return `; did you mean 'x'?` for the closest choice, or "" when none is close."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=cutoff)
    return f"; did you mean '{close[0]}'?" if close else ""
