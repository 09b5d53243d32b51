"""Property tests of `chancal validate` (issue 16): whatever the input, exit 0 or 2, one
located line per problem, nothing invisible printed, in bounded time and memory.

Three sources of input: random bytes, random YAML documents whose keys come from
the program file's own JSON Schema (so they get past the top level and into the
models), and the bundled example with lines damaged or values swapped for
hostile ones (sub-daily rrules, huge numbers, long texts and lists).
Deterministic: `derandomize=True` and no example database.
"""

from __future__ import annotations

import json
import re
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from chancal.cli import app
from chancal.schema import schema_json

EXAMPLE = (Path(__file__).resolve().parent.parent / "examples" / "partners.yaml").read_text("utf-8")
LINES = EXAMPLE.splitlines(keepends=True)
LOCATED = re.compile(r"^<stdin>:(\d+):(\d+): \S")
SUMMARY = re.compile(r"^(\d+) problems? found\.$")
# What `errors.printable` escapes: none of it may reach the terminal raw.
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
PEAK_BYTES = 64 * 1024 * 1024  # traced Python allocations of one small input
FUZZ = settings(
    deadline=timedelta(seconds=10),  # generous on a shared machine; the usual is 10-100 ms
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _keys(node: Any) -> set[str]:
    """Every property name anywhere in the JSON Schema."""
    found: set[str] = set()
    if isinstance(node, dict):
        found.update(node.get("properties", {}))
        for value in node.values():
            found |= _keys(value)
    elif isinstance(node, list):
        for value in node:
            found |= _keys(value)
    return found


KEYS = sorted(_keys(json.loads(schema_json())))
TOP = ["version", "program", "kinds", "managers", "tiers", "partners"]
HOSTILE = [
    "FREQ=SECONDLY",
    "FREQ=MINUTELY;COUNT=1000000",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31",
    "FREQ=DAILY;INTERVAL=99999999999999999999",
    "FREQ=WEEKLY;BYDAY=2TU",
    "FREQ=YEARLY;COUNT=99999999999999999999",
    "every 0 weeks",
    "366 per year",
    "99999999999w",
    "9" * 40,
    "-1e400",
    ".nan",
    "2027-02-30",
    "2027-13-01T25:61",
    "x" * 300,
    "a" * 20_000,
    "\\e[2J",
    "Acme [EU] [bold]",
    "\u202e",
    "24:00",
    "UTC",
    "localtime",
    "strategic",
    "per_focus_area",
]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True)
    | st.dates().map(str)
    | st.sampled_from(HOSTILE)
    | st.text(max_size=12)
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=40,
)


def validate(data: bytes) -> tuple[int, str]:
    """Run `chancal validate -` on `data`; assert the shape of what it says; return it."""
    tracemalloc.start()
    try:
        result = CliRunner().invoke(app, ["validate", "-"], input=data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"{peak / 1e6:.0f} MB traced"
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
    err = result.stderr
    assert "Traceback" not in err + result.stdout
    assert not CONTROL.search(err), repr(err)
    if result.exit_code == 0:
        assert err == "" and result.stdout.startswith("ok -: ")
        return 0, err
    lines = err.splitlines()
    summary = SUMMARY.match(lines[-1])
    assert summary, err
    # One located line per problem: a value cannot break a line nor forge another one.
    assert len(lines) - 1 == int(summary[1]), err
    for line in lines[:-1]:
        match = LOCATED.match(line)
        assert match and int(match[1]) >= 1 and int(match[2]) >= 1, line
    return 2, err


@settings(FUZZ, max_examples=80)
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes) -> None:
    """Any bytes at all: exit 0 or 2, every problem one located line."""
    validate(data)


@settings(FUZZ, max_examples=60)
@given(st.dictionaries(st.sampled_from(TOP), DOCUMENTS, min_size=1, max_size=6))
def test_random_documents_with_the_schemas_keys(document: dict[str, Any]) -> None:
    """Random documents shaped by the real keys: exit 2, one located line per problem."""
    validate(yaml.safe_dump(document, allow_unicode=True).encode("utf-8"))


@settings(FUZZ, max_examples=15)
@given(DOCUMENTS)
def test_random_values_inside_the_example(value: Any) -> None:
    """A random value in place of the partners, of a partner's name or of a rule's cadence."""
    flow = yaml.safe_dump(value, default_flow_style=True, width=10**9).strip()
    if "\n" in flow:  # a document end marker or a multi-line scalar: not a flow value
        return
    for old, new in (
        ("partners:\n", f"partners: {flow}\nold_partners:\n"),
        ("name: Northwind Traders\n", f"name: {flow}\n"),
        ("cadence: 2 per year\n", f"cadence: {flow}\n"),
    ):
        validate(EXAMPLE.replace(old, new, 1).encode("utf-8"))


@st.composite
def damaged_example(draw: st.DrawFn) -> str:
    """The example with a few lines deleted, duplicated, swapped or given hostile values."""
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "swap", "value", "inject"]))
        if action == "delete":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif action == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif action == "value" and ": " in lines[i]:
            key = lines[i].split(": ", 1)[0]
            lines[i] = f"{key}: {draw(st.sampled_from(HOSTILE))}\n"
        else:
            at = draw(st.integers(0, len(lines[i])))
            piece = draw(st.sampled_from(["- ", ": ", "&a ", "*a", "[", "{", "'", "\t"]))
            lines[i] = lines[i][:at] + piece + lines[i][at:]
        if not lines:
            break
    return "".join(lines)


@settings(FUZZ, max_examples=40)
@given(damaged_example())
def test_damaged_example(text: str) -> None:
    """The realistic program, damaged: exit 0 or 2, one located line per problem."""
    validate(text.encode("utf-8"))


def test_the_example_itself_is_valid() -> None:
    """The undamaged example validates (exit 0): the properties above can tell the two apart."""
    assert validate(EXAMPLE.encode("utf-8"))[0] == 0
