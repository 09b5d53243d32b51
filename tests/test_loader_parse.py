"""The loader's own walk over YAML events: values, anchors, limits and the lazily composed nodes."""

from __future__ import annotations

import gc
from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from chancal.errors import ConfigError
from chancal.loader import _TYPED_FIRST, _parse, load, loads

ROOT = Path(__file__).resolve().parent.parent


def parsed(text: str) -> tuple[object, list[str]]:
    _, data, problems = _parse(text, "f.yaml")
    return data, sorted(str(p) for p in problems)


def refused(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _parse(text, "f.yaml")
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("word", "word"),
        ("'quoted 1'", "quoted 1"),
        ('"12"', "12"),
        ("12", 12),
        ("-3", -3),
        ("0x1f", 31),
        ("1.5", 1.5),
        ("~", None),
        ("null", None),
        ("", None),
        ("true", True),
        ("False", False),
        ("no", "no"),
        ("On", "On"),
        ("2027-05-18", date(2027, 5, 18)),
        ("2027-05-18T10:00", "2027-05-18T10:00"),
        ("2027-02-30", "2027-02-30"),
        ("17:00", "17:00"),
        ("!!str 12", "12"),
        ("!!int 12", 12),
        ("!!int", ""),
        ("!!float ''", ""),
        ("!!bool maybe", "maybe"),
        ("!!timestamp soon", "soon"),
        ("! 12", 12),  # PyYAML resolves the non-specific tag like no tag
        ("Acme [EU]", "Acme [EU]"),
    ],
)
def test_scalar_values(value: str, expected: object) -> None:
    """Scalars become the values users mean; a tag that does not fit its text leaves the text."""
    data, problems = parsed(f"a: {value}\n")
    assert data == {"a": expected}
    assert type(data["a"]) is type(expected)  # type: ignore[index]
    assert problems == []


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=12))
def test_plain_word_shortcut_matches_yaml_resolution(word: str) -> None:
    """A plain scalar whose first character no implicit type starts is resolved as a string."""
    if word[0] in _TYPED_FIRST:
        return
    resolved = yaml.resolver.Resolver().resolve(yaml.ScalarNode, word, (True, False))  # type: ignore[no-untyped-call]
    assert resolved == "tag:yaml.org,2002:str"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &x [1, 2]\nb: *x\n", {"a": [1, 2], "b": [1, 2]}),
        ("a: &x {c: 1}\nb: [*x, *x]\n", {"a": {"c": 1}, "b": [{"c": 1}, {"c": 1}]}),
        ("a: &k key\n*k : 2\n", {"a": "key", "key": 2}),
        ("&k 7: x\nb: *k\n", {7: "x", "b": 7}),
        ("- &s yes\n- *s\n", ["yes", "yes"]),
    ],
)
def test_anchors_and_aliases(text: str, expected: object) -> None:
    """Aliases stand for their anchored values, also as keys."""
    assert parsed(text) == (expected, [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: *nowhere\n", "f.yaml:1:4: YAML syntax error: found undefined alias"),
        (
            "a: &x 1\nb: &x 2\n",
            "f.yaml:2:4: YAML syntax error: second occurrence "
            "(found duplicate anchor; first occurrence)",
        ),
        (
            "a: 1\n---\nb: 2\n",
            "f.yaml:2:1: YAML syntax error: but found another document "
            "(expected a single document in the stream)",
        ),
        (
            "a: &x [1, *x]\n",
            "f.yaml:1:1: the document expands (through aliases) to far more values than its "
            "text holds; refusing it to protect memory",
        ),
    ],
)
def test_alias_and_document_errors(text: str, expected: str) -> None:
    """Broken anchors, a second document and a self-containing alias are refused, located."""
    assert refused(text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected_data", "expected_problems"),
    [
        (
            "a: 1\n<<: {b: 2}\n",
            {"a": 1},
            ["f.yaml:2:1: YAML merge keys ('<<') are not supported; repeat the keys"],
        ),
        (
            "a: &m [1]\n*m : 2\nc: 3\n",
            {"a": [1], "c": 3},
            ["f.yaml:2:1: keys must be plain words"],
        ),
        (
            "p:\n  ? [1, 2]\n  : {x: 1, x: 2}\n  q: 1\n",
            {"p": {"q": 1}},
            ["f.yaml:2:5: p: keys must be plain words"],
        ),
        (
            "a: 1\nb:\n  c: 1\n  c: {d: 1, d: 2}\na: 2\n",
            {"a": 1, "b": {"c": 1}},
            [
                "f.yaml:4:3: b.c: duplicate key 'c' (first at line 3)",
                "f.yaml:5:1: a: duplicate key 'a' (first at line 1)",
            ],
        ),
        (
            "0x1: a\n1: b\ntrue: c\ntrue: d\n",
            {1: "a", "true": "c"},
            [
                "f.yaml:2:1: [1]: duplicate key '1' (first at line 1)",
                "f.yaml:4:1: true: duplicate key 'true' (first at line 3)",
            ],
        ),
        (
            "a: &x 1\na: *x\nb: *x\n",
            {"a": 1, "b": 1},
            ["f.yaml:2:1: a: duplicate key 'a' (first at line 1)"],
        ),
    ],
)
def test_key_problems(text: str, expected_data: object, expected_problems: list[str]) -> None:
    """Bad and duplicate keys are reported at their own place; their values are left out unread.

    Anchors inside a left-out value still count for aliases further on.
    """
    assert parsed(text) == (expected_data, expected_problems)


@pytest.mark.parametrize(
    ("text", "nested_too_deep"),
    [
        ("a: " + "[" * 199 + "]" * 199 + "\n", False),
        ("a: " + "[" * 200 + "]" * 200 + "\n", True),
        ("".join("  " * i + "- \n" for i in range(200)), False),
        ("".join("  " * i + "-\n" for i in range(201)), True),
        ("a: 1\na: " + "{b: " * 300 + "1" + "}" * 300 + "\n", True),
        ("x: " + "[" * 100_000 + "\n", True),
    ],
)
def test_nesting_limit(text: str, nested_too_deep: bool) -> None:
    """200 levels of nesting load; one more is refused, also inside a value that is left out.

    The walk stops at the limit, so 100,000 open brackets are refused without
    reading on (the C composer would crash the interpreter on them).
    """
    message = "f.yaml:1:1: the document is nested more than 200 levels deep"
    if nested_too_deep:
        assert refused(text) == [message]
    else:
        _, data, _ = _parse(text, "f.yaml")
        assert data is not None


def test_budget_counts_alias_expansions() -> None:
    """Aliases that expand to far more values than the text holds are refused."""
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i, name in enumerate("bcdefg"):
        previous = "abcdefg"[i]
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    assert refused("\n".join(lines) + "\n")[0].endswith("refusing it to protect memory")
    # The same file three levels shallower (10,000 values) is fine.
    _, data, _ = _parse("\n".join(lines[:4]) + "\n", "f.yaml")
    assert len(data["d"]) == 10  # type: ignore[index]


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("text", ["version: 1\n", "a: [\n", "a: *x\n"])
def test_garbage_collector_state_is_restored(enabled: bool, text: str) -> None:
    """Loading pauses the garbage collector and leaves it as it was, also after an error."""
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with pytest.raises(ConfigError):
            loads(text)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_valid_program_keeps_no_node_tree() -> None:
    """A valid program composes no YAML nodes, yet can still locate a path on request."""
    located = load(ROOT / "examples" / "partners.yaml")
    assert located.source._composed is False
    problem = located.source.problem(("partners", 1, "tier"), "example")
    text = (ROOT / "examples" / "partners.yaml").read_text(encoding="utf-8").splitlines()
    assert text[problem.line - 1][problem.column - 1 :].startswith(located.config.partners[1].tier)
    assert problem.path == "partners[1].tier"


KEYS = ["a", "b", "1", "01", "0x1", "true", "True", "~", "null", "2027-01-01", "'1'", "1.0", "x y"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(KEYS), min_size=1, max_size=40),
    st.lists(
        st.sampled_from(["a", "b", "1", "true", "x y", "zz", "null", "2027-01-01"])
        | st.integers(0, 3)
    ),
)
def test_key_index_finds_what_a_scan_finds(keys: list[str], parts: list[str | int]) -> None:
    """Locating a key in a large mapping through its index gives the node a scan gives."""
    from chancal.source import find_node

    root = yaml.compose("".join(f"{k}: {i}\n" for i, k in enumerate(keys)), Loader=yaml.SafeLoader)
    indexes: dict[int, dict[object, int]] = {}
    for part in parts:
        assert find_node(root, [part], indexes) == find_node(root, [part])


def test_equal_values_and_given_fields_are_kept_once() -> None:
    """A loaded program holds one string per text and one set per combination of given
    fields, and every model still says which fields its own entry gave."""
    config = load(ROOT / "examples" / "partners.yaml").config
    by_id = {p.id: p for p in config.partners}
    north, hafen = by_id["northwind"], by_id["hafen-systemhaus"]
    assert north.contacts[0].role == hafen.contacts[0].role == "managing director"
    assert north.contacts[0].role is hafen.contacts[0].role
    assert north.focus_areas[0] == hafen.focus_areas[0] == "solution selling"
    assert north.focus_areas[0] is hafen.focus_areas[0]
    given = [c.model_fields_set for p in config.partners for c in p.contacts]
    assert all(s == {"name", "email", "role"} for s in given)
    assert len({id(s) for s in given}) == 1
    managers = {m.id: m for m in config.managers}
    assert "working_hours" in managers["claire"].model_fields_set
    assert "working_hours" not in managers["mei"].model_fields_set
    # A copy that changes a field says so in its own set, not in the one it shared.
    text = (ROOT / "examples" / "minimal.yaml").read_text(encoding="utf-8")
    twins = loads(text + text[text.index("  - id: acme") :].replace("acme", "zenith")).config
    acme, zenith = twins.partners
    assert acme.model_fields_set is zenith.model_fields_set
    copy = acme.model_copy(update={"working_hours": managers["claire"].working_hours})
    assert "working_hours" in copy.model_fields_set
    assert "working_hours" not in zenith.model_fields_set
