"""The loader on whole files: the examples load, and broken files fail cleanly and located."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chancal.errors import ConfigError
from chancal.loader import load, loads

ROOT = Path(__file__).resolve().parent.parent
INVALID = ROOT / "tests" / "fixtures" / "invalid"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_load(path: Path) -> None:
    """Every shipped example is a valid program."""
    assert load(path).config.version == 1


def test_realistic_example_covers_the_issue() -> None:
    """examples/partners.yaml has what the other issues' tests rely on."""
    config = load(ROOT / "examples" / "partners.yaml").config
    assert len(config.managers) >= 3
    assert {t.id for t in config.tiers} == {"strategic", "growth", "transactional"}
    assert len(config.partners) >= 12
    assert len({p.country for p in config.partners}) >= 8
    assert {"AU", "BR", "ZA"} <= {p.country for p in config.partners}  # southern hemisphere
    assert any(p.working_days and p.working_days[0] == "sun" for p in config.partners)
    assert any(p.fiscal_year_start not in (None, "01-01") for p in config.partners)
    assert all(p.focus_areas for p in config.partners)
    assert any(p.blackouts for p in config.partners)
    assert config.kinds
    assert config.program.year == 2027


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "empty.yaml",
            "empty.yaml:1:1: a program file is a mapping with version, program, managers, "
            "tiers and partners",
        ),
        (
            "latin1.yaml",
            "latin1.yaml:3:12: the file is not UTF-8 text (byte 0xe9); save it as UTF-8",
        ),
        (
            "billion_laughs.yaml",
            "billion_laughs.yaml:1:1: the document expands (through aliases) to far more "
            "values than its text holds; refusing it to protect memory",
        ),
    ],
)
def test_broken_files(name: str, expected: str) -> None:
    """A file that is not a program at all gets one located problem, not a traceback."""
    problems = problems_of(INVALID / name)
    assert [p.split("/")[-1] for p in problems] == [expected]


def test_deep_nesting_is_refused() -> None:
    """50,000 nested lists are refused (libyaml would crash the interpreter composing them).

    Newer libyaml builds stop at 1,000 levels themselves; older ones need our own
    limit. Either way: one located problem about nesting.
    """
    problems = problems_of(INVALID / "deep_nesting.yaml")
    assert [p.split("/")[-1] for p in problems] in (
        ["deep_nesting.yaml:1:1: the document is nested more than 200 levels deep"],
        [
            "deep_nesting.yaml:1:1009: YAML syntax error: exceeded maximum nesting depth"
            " (while increasing flow level)"
        ],
    )


def test_missing_file(tmp_path: Path) -> None:
    """A missing file says so and points at `chancal init`."""
    path = tmp_path / "partners.yaml"
    assert problems_of(path) == [
        f"{path}:1:1: file not found; run 'chancal init' to write a starter program"
    ]


def test_directory(tmp_path: Path) -> None:
    """A directory given as the file is reported, not crashed on."""
    assert problems_of(tmp_path) == [
        f"{tmp_path}:1:1: not a regular file: a folder; give the program file inside it"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [1, 2\n", "<string>:2:1: YAML syntax error: did not find expected ',' or ']'"),
        (
            "a: b: c\n",
            "<string>:1:5: YAML syntax error: mapping values are not allowed in this context",
        ),
        ("a: 'open\n", "<string>:2:1: YAML syntax error: found unexpected end of stream"),
        ("a: *nowhere\n", "<string>:1:4: YAML syntax error: found undefined alias"),
        ("a: 1\n\x07\n", "<string>:2:1: character U+0007 is not allowed in YAML; remove it"),
    ],
)
def test_yaml_errors_have_line_and_column(text: str, expected: str) -> None:
    """YAML syntax errors carry the line and column where the parser stopped."""
    with pytest.raises(ConfigError) as caught:
        loads(text)
    assert str(caught.value.problems[0]).startswith(expected)


def test_all_duplicate_keys_are_reported() -> None:
    """Every duplicated key is reported, each at its own line, with the first one's line."""
    text = "version: 1\nversion: 1\nprogram: {}\nprogram: {}\nmanagers: []\nmanagers: []\n"
    with pytest.raises(ConfigError) as caught:
        loads(text, "f.yaml")
    duplicates = [str(p) for p in caught.value.problems if "duplicate" in p.message]
    assert duplicates == [
        "f.yaml:2:1: version: duplicate key 'version' (first at line 1)",
        "f.yaml:4:1: program: duplicate key 'program' (first at line 3)",
        "f.yaml:6:1: managers: duplicate key 'managers' (first at line 5)",
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("NO", "NO"), ("yes", "yes"), ("'17:00'", "17:00"), ("17:00", "17:00")],
)
def test_yaml_11_surprises_stay_text(value: str, expected: str) -> None:
    """Norway's `NO` and a bare `17:00` stay the text the user wrote."""
    from chancal.loader import _parse

    _, data, problems = _parse(f"a: {value}\n", "f")
    assert data == {"a": expected}
    assert problems == []


def test_billion_laughs_is_refused_within_bounds() -> None:
    """The alias bomb is refused quickly under a 512 MB memory cap in a fresh interpreter."""
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (512 * 2**20, 512 * 2**20))\n"
        "from pathlib import Path\n"
        "from chancal.loader import load\n"
        "from chancal.errors import ConfigError\n"
        "try:\n"
        f"    load(Path({str(INVALID / 'billion_laughs.yaml')!r}))\n"
        "except ConfigError as e:\n"
        "    print(e.problems[0].message)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "refusing it to protect memory" in done.stdout
