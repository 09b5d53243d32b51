"""Property tests: no input file, however broken, gives a traceback; only a clean error."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from chancal.cli import app
from chancal.errors import ConfigError
from chancal.loader import loads

EXAMPLE = (Path(__file__).resolve().parent.parent / "examples" / "partners.yaml").read_text(
    encoding="utf-8"
)
LINES = EXAMPLE.splitlines(keepends=True)
NASTY = [
    "\t",
    "&a ",
    "*a",
    "<<: *a",
    "!!binary ",
    "!!python/object:os.system ",
    "? ",
    "{",
    "[",
    "]",
    "- ",
    ": ",
    "'",
    '"',
    "#",
    "|",
    ">",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "~",
    "9" * 40,
    "-1e400",
    ".nan",
    "2027-02-30",
    "2027-13-01T25:61",
    "\u202e",
    "\U0001f600",
    "\u00e9",
    "\ufeff",
    "Acme [EU] [bold]",
    "\r\n",
    "99999999999w",
    "every 0 weeks",
    "FREQ=YEARLY;COUNT=99999999999999999999",
]


@st.composite
def mutated_example(draw: st.DrawFn) -> str:
    """The realistic example with a few lines deleted, swapped, or spiked with odd text."""
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "swap", "inject", "value", "duplicate"]))
        if action == "delete":
            del lines[i]
        elif action == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif action == "inject":
            at = draw(st.integers(0, len(lines[i])))
            piece = draw(st.sampled_from(NASTY) | st.text(max_size=5))
            lines[i] = lines[i][:at] + piece + lines[i][at:]
        elif action == "value" and ": " in lines[i]:
            key = lines[i].split(": ", 1)[0]
            lines[i] = f"{key}: {draw(st.sampled_from(NASTY))}\n"
        else:
            lines.insert(i, lines[i])
        if not lines:
            break
    return "".join(lines)


def _clean(text: str | bytes) -> None:
    try:
        loads(text, "fuzz.yaml")
    except ConfigError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.line >= 1 and problem.column >= 1
            assert str(problem).startswith("fuzz.yaml:")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_example())
def test_mutated_example_loads_or_fails_cleanly(text: str) -> None:
    """A damaged realistic program loads or raises ConfigError with located problems."""
    _clean(text)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_arbitrary_text_fails_cleanly(text: str | bytes) -> None:
    """Any text or bytes at all loads or raises ConfigError; nothing else escapes."""
    _clean(text)


@settings(max_examples=25, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=30,
    )
)
def test_arbitrary_yaml_structures_fail_cleanly(value: object) -> None:
    """Any YAML-shaped data, placed at the top or under a section, fails cleanly."""
    import yaml

    _clean(yaml.safe_dump(value))
    _clean(
        EXAMPLE.replace(
            "partners:\n",
            "partners: "
            + yaml.safe_dump(value, default_flow_style=True).strip()
            + "\nold_partners:\n",
            1,
        )
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_example())
def test_cli_exits_0_or_2_without_traceback(text: str) -> None:
    """`chancal validate` on a damaged program exits 0 or 2 and never shows a traceback."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "partners.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
