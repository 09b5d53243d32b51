"""Agenda texts: kind templates (string.Template) filled with the partner's and the event's facts.

Placeholders that are not known stay as written (`safe_substitute`), so a
custom agenda with a stray `$` never fails a plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from string import Template

TO_BE_AGREED = "to be agreed"


@lru_cache(maxsize=1024)
def template(text: str) -> Template:
    """Return the compiled template of an agenda text (cached: one per distinct text)."""
    return Template(text)


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill an agenda template; unknown placeholders are left as they are."""
    return template(text).safe_substitute(values).strip()


def listing(items: Iterable[str]) -> str:
    """Join topics for an agenda line; an empty list reads 'to be agreed'."""
    return ", ".join(items) or TO_BE_AGREED
