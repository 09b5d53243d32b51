"""The program file's text, and where each value sits: `partners[3].tier` -> line and column.

A path is found the way the loader read it (`0x1:` is the key 1, `NO:` is
Norway), so the one reading of YAML 1.1 scalars that both need lives here too.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import yaml

from chancal.errors import Problem

try:  # the C parser is 3-5x faster on large files; fall back where libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

YamlLoader = _Loader  # what the loader parses with and `Source.root` composes with

_SCALARS = yaml.constructor.SafeConstructor()
_TRUE_FALSE = {"true", "false"}
STR_TAG = "tag:yaml.org,2002:str"
_CONSTRUCTED = {
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "str", "timestamp")
}


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (building many small objects: about half the time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Source:
    """The file name and text, to turn a value's path into line and column."""

    __slots__ = ("_composed", "_indexes", "_root", "file", "text")

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self._root: yaml.Node | None = None
        self._composed = False
        self._indexes: dict[int, dict[object, int]] = {}

    @property
    def root(self) -> yaml.Node | None:
        """The node tree of the text, composed on first use.

        A valid program never needs it, and the nodes of a large file cost
        more time and memory than the values built from it. Only ask for it
        once the text has loaded (`loads` refuses deep nesting, which could
        crash the C composer).
        """
        if not self._composed:
            with gc_paused():
                self._root = yaml.compose(self.text, Loader=YamlLoader)
            self._composed = True
        return self._root

    def find(self, path: Sequence[str | int]) -> tuple[yaml.Node | None, yaml.Node | None]:
        """Return (value node, key node) at `path`, or the deepest node that exists."""
        return find_node(self.root, path, self._indexes)

    def problem(
        self,
        path: Sequence[str | int],
        message: str,
        *,
        key: bool = False,
        excerpt: tuple[str, int] | None = None,
    ) -> Problem:
        """Locate `path` (e.g. ("partners", 3, "tier")) and build a Problem for it.

        `excerpt` (text, n) points inside a string value instead: at the n-th
        (from 0) appearance of `text` in it, such as one `$placeholder` of an agenda.
        """
        node, found_key = self.find(path)
        target = found_key if key and found_key is not None else node
        line, column = (
            (target.start_mark.line + 1, target.start_mark.column + 1) if target else (1, 1)
        )
        if excerpt is not None and isinstance(node, yaml.ScalarNode):
            line, column = _inside(self.text, node, *excerpt) or (line, column)
        return Problem(self.file, line, column, format_path(path), message)


def _inside(text: str, node: yaml.ScalarNode, excerpt: str, n: int) -> tuple[int, int] | None:
    """Return the line and column of the n-th `excerpt` in a scalar's source text, if there.

    Quoting, folding and block indentation never make or break a `$name`, so the
    n-th appearance in the value is the n-th in the source; a value that spells it
    with escapes (`\\x24`) is not found, and the caller points at the value instead.
    """
    start, end = node.start_mark.index, node.end_mark.index
    at = start - 1
    for _ in range(n + 1):
        at = text.find(excerpt, at + 1, end)
        if at < 0:
            return None
    before = text[start:at]
    breaks = before.count("\n")
    if not breaks:
        return node.start_mark.line + 1, node.start_mark.column + 1 + len(before)
    return node.start_mark.line + 1 + breaks, len(before) - before.rfind("\n")


def format_path(path: Sequence[str | int]) -> str:
    """Render ("partners", 3, "tier") as `partners[3].tier`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def read_scalar(tag: str, value: str) -> Any:
    """Read a plain scalar as users mean it: YAML 1.1 types, but `NO`, `17:00` stay text."""
    if tag == "tag:yaml.org,2002:bool" and value.lower() not in _TRUE_FALSE:
        return value  # yes/no/on/off stay words: `country: NO` is Norway
    if tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and ":" in value:
        return value  # YAML 1.1 reads 17:00 as 1020 (base 60); users mean a time
    if tag == "tag:yaml.org,2002:timestamp" and ("T" in value or " " in value.strip()):
        return value  # keep date-times as text so pydantic names the field in its error
    if tag in _CONSTRUCTED:
        # The constructor's functions themselves, not `construct_object`, which
        # would remember every node it ever saw.
        construct = yaml.constructor.SafeConstructor.yaml_constructors[tag]
        try:
            return construct(_SCALARS, yaml.ScalarNode(tag, value))
        except (ValueError, LookupError, AttributeError, yaml.constructor.ConstructorError):
            # e.g. 2027-02-30, or `!!int` on no digits (an IndexError inside PyYAML):
            # let pydantic report the text against its field.
            return value
    return value


def find_node(
    root: yaml.Node | None,
    path: Sequence[str | int],
    indexes: dict[int, dict[object, int]] | None = None,
) -> tuple[yaml.Node | None, yaml.Node | None]:
    """Return (value node, key node) at `path`, or the deepest node that exists.

    `indexes` caches the position of each key of large mappings, so that
    locating many problems in one mapping does not scan it once per problem.
    """
    node, key_node = root, None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            i = _key_position(node, part, indexes)
            if i is None:
                return node, None
            key_node, node = node.value[i]
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node, key_node = node.value[part], None
        else:
            return node, None
    return node, key_node


def _key_position(
    node: yaml.MappingNode, part: str | int, indexes: dict[int, dict[object, int]] | None
) -> int | None:
    """Return where the first key that `part` names sits in a mapping node, or None."""
    pairs = node.value
    if indexes is None or len(pairs) < 16:
        for i, (k, _) in enumerate(pairs):
            if (
                k.value == part
                or (isinstance(part, int) and k.value == str(part))
                or _key_of(k) == part
            ):
                return i
        return None
    index = indexes.get(id(node))
    if index is None:
        index = indexes[id(node)] = {}
        for i, (k, _) in enumerate(pairs):
            if isinstance(k, yaml.ScalarNode):
                index.setdefault(k.value, i)
                index.setdefault(_key_of(k), i)
    found = [index.get(part), index.get(str(part)) if isinstance(part, int) else None]
    return min((i for i in found if i is not None), default=None)


def first_key_lines(node: yaml.Node | None) -> dict[Any, int]:
    """Map each key of a mapping node to the line where it first appears (one pass)."""
    lines: dict[Any, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            lines.setdefault(_key_of(key_node), key_node.start_mark.line + 1)
    return lines


def _key_of(node: yaml.Node) -> object:
    """Return the key that `_Builder` makes of a key node (`0x1:` is 1, `true:` is 'true')."""
    if not isinstance(node, yaml.ScalarNode):
        return None
    value = node.value if node.tag == STR_TAG else read_scalar(node.tag, node.value)
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return node.value
    return value
