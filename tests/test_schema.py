"""The JSON Schema, checked by the tool users run: check-jsonschema.

Every shipped program passes it; a misspelt key fails it; and for times and
durations the schema and the loader agree value by value, so an editor never
flags a line that `chancal validate` accepts, nor the other way round.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from chancal.models import ClockTime, Duration
from chancal.schema import schema_json

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schema" / "partners.schema.json"
PROGRAMS = [
    *sorted((ROOT / "examples").glob("*.yaml")),
    ROOT / "templates" / "partners.yaml",
    ROOT / "src" / "chancal" / "templates" / "partners.yaml",
]


def check_jsonschema(schema: Path, *instances: Path) -> subprocess.CompletedProcess[str]:
    """Run check-jsonschema as a user would (ECMAScript regular expressions, formats on)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--schemafile",
            str(schema),
            *map(str, instances),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_shipped_programs_and_the_init_starter_pass(tmp_path: Path) -> None:
    """Examples, templates and what `chancal init` writes pass, against the schema init writes."""
    subprocess.run(
        [sys.executable, "-m", "chancal", "init", str(tmp_path / "new")],
        check=True,
        capture_output=True,
    )
    starter = tmp_path / "new" / "partners.yaml"
    result = check_jsonschema(tmp_path / "new" / "partners.schema.json", starter, *PROGRAMS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_a_misspelt_key_is_refused(tmp_path: Path) -> None:
    """Unknown keys are errors in the schema, as in the loader."""
    text = (ROOT / "examples" / "minimal.yaml").read_text("utf-8")
    assert "  timezone: Europe/London\n" in text
    broken = tmp_path / "partners.yaml"
    broken.write_text(text.replace("  timezone: Europe/London\n", "  timezon: Europe/London\n", 1))
    result = check_jsonschema(SCHEMA, broken)
    assert result.returncode == 1
    assert "'timezon' was unexpected" in result.stdout


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_every_default_matches_its_own_pattern() -> None:
    """A default such as `1h` or `09:00` is written as the file would write it."""
    schema = json.loads(schema_json())
    checked = 0
    for node in _walk(schema):
        if "pattern" in node and "default" in node:
            defaults = node["default"] if isinstance(node["default"], list) else [node["default"]]
            for value in defaults:
                assert re.fullmatch(node["pattern"], value), (node, value)
                checked += 1
        items = node.get("items", {})
        if isinstance(node.get("default"), list) and "pattern" in items:
            for value in node["default"]:
                assert re.fullmatch(items["pattern"], value), (node, value)
                checked += 1
    hours = schema["$defs"]["WorkingHours"]["properties"]
    assert (hours["start"]["default"], hours["end"]["default"]) == ("09:00", "17:00")
    assert checked >= 6


TIMES: list[object] = [
    "09:00", "00:00", "23:59", "17:30",
    "9:00", "24:00", "09:60", "0900", "09:00:00", "09:00Z", "09:00+01:00", " 09:00",
    "09:00\n", "\u0660\u0669:\u0660\u0660", "", "noon", 540, 9.5, True, None,
]  # fmt: skip
DURATIONS: list[object] = [
    "1h", "30m", "1h30m", "2d", "6w", "0m", "1w2d3h4m", "100d",
    "-1h", "-0m", "1h 30m", " 1h", "1h\n", "1 h", "1H", "1.5h", "h", "30", "",
    "\u0661h", "PT1H", 120, 1.5, False, None,
]  # fmt: skip


def _schema_of(pattern_name: str) -> dict[str, Any]:
    """The property schema the generated schema gives a time or a duration."""
    schema = json.loads(schema_json())
    if pattern_name == "time":
        found = dict(schema["$defs"]["WorkingHours"]["properties"]["start"])
    else:
        found = dict(schema["$defs"]["CustomKind"]["properties"]["duration"])
    found.pop("default", None)
    return found


@pytest.mark.parametrize(
    ("name", "adapter", "values"),
    [("time", TypeAdapter(ClockTime), TIMES), ("duration", TypeAdapter(Duration), DURATIONS)],
)
def test_schema_and_loader_agree(
    tmp_path: Path, name: str, adapter: TypeAdapter[Any], values: list[object]
) -> None:
    """Each value passes check-jsonschema exactly when the loader's models accept it.

    (The loader also refuses a duration too long for Python, near 2.7 million
    years, which no pattern can say; no such value is listed here.)
    """
    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps(
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "array",
                "items": _schema_of(name),
            }
        )
    )
    instance = tmp_path / "values.json"
    instance.write_text(json.dumps(values))
    result = subprocess.run(
        [
            sys.executable, "-m", "check_jsonschema", "--output-format", "json",
            "--schemafile", str(schema), str(instance),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    report = json.loads(result.stdout)
    refused_by_schema = {
        int(error["path"].removeprefix("$[").removesuffix("]")) for error in report["errors"]
    }

    def loader_accepts(value: object) -> bool:
        try:
            adapter.validate_python(value)
        except ValidationError:
            return False
        return True

    disagreements = [
        (value, "schema" if i in refused_by_schema else "loader")
        for i, value in enumerate(values)
        if (i in refused_by_schema) == loader_accepts(value)
    ]
    assert disagreements == [], "(value, the side that refuses it)"
    accepted = [v for i, v in enumerate(values) if i not in refused_by_schema]
    assert len(accepted) in (4, 8)  # the well-formed ones at the head of each list
