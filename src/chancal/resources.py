"""Files shipped inside the package: the starter program and the agenda templates."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


def starter_program() -> str:
    """Return the commented starter `partners.yaml` that `chancal init` writes."""
    return (files("chancal") / "templates" / "partners.yaml").read_text(encoding="utf-8")


@cache
def agenda_template(name: str) -> str:
    """Return the agenda template of a built-in kind (or the generic one for custom kinds)."""
    folder = files("chancal") / "templates" / "agendas"
    path = folder / f"{name}.txt"
    if not path.is_file():
        path = folder / "custom.txt"
    return path.read_text(encoding="utf-8")
