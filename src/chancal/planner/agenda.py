"""Agenda texts: kind templates (string.Template) filled with the partner's and the event's facts.

Placeholders that are not known stay as written (`safe_substitute`), so a
custom agenda with a stray `$` never fails a plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from string import Template

TO_BE_AGREED = "to be agreed"

# Every name the planner fills into an agenda. Validation refuses any other `$name`
# in a user's text, so a typo is caught when the file is read instead of being
# published into calendars as written.
PLACEHOLDERS: tuple[str, ...] = (
    "partner_name",
    "manager_name",
    "program_name",
    "organization",
    "title",
    "period",
    "focus_area",
    "focus_areas",
    "we_share",
    "they_share",
    "direction_text",
    "exchange",
    "exchanges",
)


@lru_cache(maxsize=1024)
def template(text: str) -> Template:
    """Return the compiled template of an agenda text (cached: one per distinct text)."""
    return Template(text)


class _AsWritten(dict[str, str]):
    """Values for a compiled agenda; an unknown placeholder reads as it was written."""

    def __missing__(self, key: str) -> str:
        name, _, braced = key.partition("#")
        if not braced:
            return f"${name}"
        return self.get(name, f"${{{name}}}")


class Agenda:
    """An agenda text compiled once to a `str.format_map` pattern (C speed, per event).

    Equivalent to `Template(text).safe_substitute(values)`: `$$` reads `$`, a
    stray `$` stays, and an unknown `$name` or `${name}` stays as written.
    """

    __slots__ = ("_pattern",)

    def __init__(self, text: str) -> None:
        parts: list[str] = []
        last = 0
        for match in Template.pattern.finditer(text):
            parts.append(_literal(text[last : match.start()]))
            if match.group("escaped") is not None:
                parts.append("$")
            elif match.group("named") is not None:
                parts.append("{" + match.group("named") + "}")
            elif match.group("braced") is not None:
                parts.append("{" + match.group("braced") + "#b}")
            else:
                parts.append("$")  # invalid: a lone `$` stays
            last = match.end()
        parts.append(_literal(text[last:]))
        self._pattern = "".join(parts)

    def fill(self, values: Mapping[str, str]) -> str:
        """Return the filled agenda, stripped."""
        return self._pattern.format_map(_AsWritten(values)).strip()


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


@lru_cache(maxsize=1024)
def compiled(text: str) -> Agenda:
    """Return the compiled agenda of a text (cached: one per distinct text)."""
    return Agenda(text)


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill an agenda template; unknown placeholders are left as they are."""
    return template(text).safe_substitute(values).strip()


def listing(items: Iterable[str]) -> str:
    """Join topics for an agenda line; an empty list reads 'to be agreed'."""
    return ", ".join(items) or TO_BE_AGREED
