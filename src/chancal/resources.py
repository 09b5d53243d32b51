"""Files shipped inside the package: the starter program, agenda templates, output schemas."""

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


OUTPUTS = ("plan", "check", "diff")
"""The commands whose `--format json` output has a JSON Schema (`chancal schema --output`)."""


def output_schema(name: str) -> str:
    """Return the JSON Schema (draft 2020-12) of a command's JSON output, one of `OUTPUTS`."""
    if name not in OUTPUTS:
        raise ValueError(f"no output schema {name!r}; expected one of {', '.join(OUTPUTS)}")
    folder = files("chancal") / "schemas"
    return (folder / f"{name}.schema.json").read_text(encoding="utf-8")
