"""The JSON outputs of `plan`, `check` and `diff`: a `format`, a schema chancal prints, filters.

Real output of the bundled example is validated against the schema that
`chancal schema --output NAME` prints (JSON Schema draft 2020-12, with the
`jsonschema` library); each schema refuses a wrong document, so the checks can
fail; `--partner` and `--manager` narrow the JSON as they narrow the text views.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from chancal.cli import app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "partners.yaml"
DAY = ["--today", "2027-01-04"]
STAMP = ["--stamp", "2027-01-01T00:00:00Z"]
OUTPUTS = ("plan", "check", "diff")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def document(*args: str) -> dict[str, Any]:
    code, out, err = run(*args, "--format", "json")
    assert code == 0, err
    loaded: dict[str, Any] = json.loads(out)
    return loaded


def schema_of(name: str) -> dict[str, Any]:
    code, out, err = run("schema", "--output", name)
    assert code == 0, err
    loaded: dict[str, Any] = json.loads(out)
    return loaded


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = schema_of(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def errors(name: str, doc: object) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator(name).iter_errors(doc)]


@pytest.fixture
def program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bundled example in a fresh folder (so its lock is written there)."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    target = tmp_path / "partners.yaml"
    shutil.copy(EXAMPLE, target)
    return target


@pytest.fixture
def diffed(program: Path) -> Path:
    """The example locked, then edited: a renamed partner and a dropped one."""
    code, _, err = run("lock", str(program), *DAY, *STAMP)
    assert code == 0, err
    text = program.read_text(encoding="utf-8")
    assert "name: Northwind Traders" in text
    program.write_text(
        text.replace("name: Northwind Traders", "name: Northwind [EU] Traders"), encoding="utf-8"
    )
    return program


@pytest.mark.parametrize("name", OUTPUTS)
def test_schemas_are_draft_2020_12(name: str) -> None:
    """Each printed schema is a valid draft 2020-12 schema and names its format."""
    schema = schema_of(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["format"] == {"const": 1}


def test_default_schema_is_still_the_program_file() -> None:
    """Without --output, `chancal schema` prints the program file's schema, as before."""
    schema = json.loads(run("schema")[1])
    assert schema["title"] == "chancal program file, version 1"
    assert "managers" in schema["properties"]


def test_unknown_output_is_a_usage_error() -> None:
    code, _, err = run("schema", "--output", "lock")
    assert code == 2
    assert "plan" in err and "check" in err and "diff" in err


def test_plan_json_matches_its_schema() -> None:
    doc = document("plan", str(EXAMPLE), *DAY)
    assert doc["format"] == 1
    assert doc["filter"] == {"partner_id": None, "manager_id": None}
    assert doc["events"]
    assert errors("plan", doc) == []


def test_check_json_matches_its_schema() -> None:
    doc = document("check", str(EXAMPLE), *DAY)
    assert doc["format"] == 1
    assert doc["findings"]
    assert errors("check", doc) == []


def test_diff_json_matches_its_schema(diffed: Path) -> None:
    """With a lock (changed events, an old title) and without one (every event added)."""
    doc = document("diff", str(diffed), *DAY)
    assert doc["format"] == 1
    assert doc["summary"]["changed"] > 0
    assert any(c["old_title"] for c in doc["changes"])
    assert errors("diff", doc) == []
    (diffed.parent / "chancal.lock").unlink()
    fresh = document("diff", str(diffed), *DAY)
    assert fresh["summary"]["added"] == len(fresh["changes"]) > 0
    assert errors("diff", fresh) == []


@pytest.mark.parametrize("name", OUTPUTS)
def test_each_schema_refuses_a_wrong_document(name: str) -> None:
    """An empty object, a wrong format and a misspelt key are all refused."""
    assert errors(name, {})
    assert errors(name, [])
    good = {
        "plan": lambda: document("plan", str(EXAMPLE), *DAY),
        "check": lambda: document("check", str(EXAMPLE), *DAY),
        "diff": lambda: json.loads(run("diff", str(EXAMPLE), *DAY, "--format", "json")[1]),
    }[name]()
    assert errors(name, good) == []
    assert errors(name, {**good, "format": 2})
    assert errors(name, {**good, "sumary": good["summary"]})
    del good["summary"]
    assert errors(name, good)


def test_plan_event_refuses_a_wrong_start() -> None:
    """A timed event with a date-only start, or a purpose outside the two, is refused."""
    doc = document("plan", str(EXAMPLE), *DAY)
    timed = next(e for e in doc["events"] if not e["all_day"])
    assert errors("plan", {**doc, "events": [{**timed, "start": timed["start"][:10]}]})
    assert errors("plan", {**doc, "events": [{**timed, "purpose": "fun"}]})


def test_plan_json_for_a_partner_holds_only_that_partners_events() -> None:
    """--partner narrows events, partners, diagnostics and the counts; it still validates."""
    whole = document("plan", str(EXAMPLE), *DAY)
    doc = document("plan", str(EXAMPLE), *DAY, "--partner", "northwind")
    assert doc["filter"] == {"partner_id": "northwind", "manager_id": None}
    assert doc["events"]
    assert len(doc["events"]) < len(whole["events"])
    for event in doc["events"]:
        assert event["partner_id"] == "northwind" or "northwind" in event["partner_ids"]
    expected = [
        e["key"]
        for e in whole["events"]
        if e["partner_id"] == "northwind" or "northwind" in e["partner_ids"]
    ]
    assert [e["key"] for e in doc["events"]] == expected
    assert [p["id"] for p in doc["partners"]] == ["northwind"]
    assert [m["id"] for m in doc["managers"]] == ["alex"]
    assert all(d["partner_id"] == "northwind" for d in doc["diagnostics"])
    assert doc["summary"]["events"] == len(doc["events"])
    assert errors("plan", doc) == []


def test_plan_json_for_a_manager_holds_their_partners_events() -> None:
    whole = document("plan", str(EXAMPLE), *DAY)
    doc = document("plan", str(EXAMPLE), *DAY, "--manager", "alex")
    mine = {p["id"] for p in whole["partners"] if p["manager_id"] == "alex"}
    assert {p["id"] for p in doc["partners"]} == mine
    assert doc["events"] and len(doc["events"]) < len(whole["events"])
    for event in doc["events"]:
        seen = {event["partner_id"], *event["partner_ids"]}
        assert event["manager_id"] == "alex" or seen & mine
    assert errors("plan", doc) == []


def test_check_json_for_a_partner_or_manager() -> None:
    """--partner and --manager narrow the partners, findings and counts of the report."""
    whole = document("check", str(EXAMPLE), *DAY)
    one = document("check", str(EXAMPLE), *DAY, "--partner", "northwind")
    assert one["filter"] == {"partner_id": "northwind", "manager_id": None}
    assert [p["id"] for p in one["partners"]] == ["northwind"]
    assert {f["partner"] for f in one["findings"]} == {"northwind"}
    assert one["summary"]["partners"] == 1
    # Scored against the whole year: the same findings as in the full report.
    assert one["findings"] == [f for f in whole["findings"] if f["partner"] == "northwind"]
    assert errors("check", one) == []
    team = document("check", str(EXAMPLE), *DAY, "--manager", "alex")
    assert {p["manager"] for p in team["partners"]} == {"alex"}
    assert team["summary"]["partners"] == len(team["partners"]) > 1
    assert errors("check", team) == []


def test_diff_json_for_a_partner(diffed: Path) -> None:
    """The renamed partner's changes alone with its --partner; none for another partner."""
    doc = document("diff", str(diffed), *DAY, "--partner", "northwind")
    assert doc["filter"] == {"partner_id": "northwind", "manager_id": None}
    assert doc["changes"]
    assert {c["partner_id"] for c in doc["changes"]} == {"northwind"}
    assert errors("diff", doc) == []
    other = document("diff", str(diffed), *DAY, "--partner", "fabrikam")
    assert other["changes"] == []
    team = document("diff", str(diffed), *DAY, "--manager", "claire")
    assert team["changes"] == []


@pytest.mark.parametrize("command", OUTPUTS)
@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--partner", "northwnd", "unknown partner 'northwnd'; did you mean 'northwind'?"),
        ("--manager", "alx", "unknown manager 'alx'; did you mean 'alex'?"),
    ],
)
def test_unknown_ids_are_usage_errors(command: str, option: str, value: str, message: str) -> None:
    """Every command refuses an unknown id the way the text views do, exit 2."""
    code, out, err = run(command, str(EXAMPLE), *DAY, "--format", "json", option, value)
    assert code == 2
    assert out == ""
    assert message in err
