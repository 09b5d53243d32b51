"""YAML file -> `Config`; the one place where YAML and pydantic errors become `ConfigError`.

The parser's events (C parser when available) are turned into plain Python
values by our own small walk, which lets us
- report every problem with its file, line and column (nodes are composed
  again, only when a problem needs locating),
- refuse alias bombs ("billion laughs") by budgeting the values we build,
  and absurd nesting by counting levels as we go,
- read `NO` (Norway) and `17:00` as the strings users mean, not YAML 1.1's
  boolean and sexagesimal integer.
"""

from __future__ import annotations

import gc
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from chancal.errors import ConfigError, Problem
from chancal.models import Config
from chancal.suggest import did_you_mean

try:  # the C parser is 3-5x faster on large files; fall back where libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_SCALARS = yaml.constructor.SafeConstructor()
_TRUE_FALSE = {"true", "false"}


class _TooLarge(Exception):
    """The document expands to far more values than its text could hold."""


@dataclass(frozen=True, slots=True)
class Located:
    """A loaded program together with the source text that locates its values."""

    config: Config
    source: Source


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
            with _gc_paused():
                self._root = yaml.compose(self.text, Loader=_Loader)
            self._composed = True
        return self._root

    def find(self, path: Sequence[str | int]) -> tuple[yaml.Node | None, yaml.Node | None]:
        """Return (value node, key node) at `path`, or the deepest node that exists."""
        return _find(self.root, path, self._indexes)

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


def load(path: Path) -> Located:
    """Read, parse and validate a program file; raise ConfigError listing every problem."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            [
                Problem(
                    name, 1, 1, "", "file not found; run 'chancal init' to write a starter program"
                )
            ]
        ) from None
    except OSError as exc:
        raise ConfigError([Problem(name, 1, 1, "", f"cannot read file: {exc.strerror}")]) from None
    return loads(raw, name)


def loads(raw: bytes | str, name: str = "<string>") -> Located:
    """Parse and validate program text; raise ConfigError listing every problem."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            raise ConfigError(
                [
                    Problem(
                        name,
                        line,
                        column,
                        "",
                        f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                        "save it as UTF-8",
                    )
                ]
            ) from None
    else:
        text = raw
    # Validation builds as many objects again as parsing: keep the collector paused
    # throughout (nothing here makes reference cycles).
    with _gc_paused():
        return _load_text(text, name)


def _load_text(text: str, name: str) -> Located:
    source, data, problems = _parse(text, name)
    if not isinstance(data, dict):
        problems.append(
            source.problem(
                (),
                "a program file is a mapping with version, program, managers, tiers and partners",
            )
        )
        raise ConfigError(sorted(problems, key=_order))

    # Imported here: cross-reference checks need `holidays`, which the parse step does not.
    from chancal.validation import check

    try:
        config = Config.model_validate(data)
        suppressed: set[tuple[str | int, ...]] = set()
    except ValidationError as exc:
        problems.extend(_problems(exc, source, data))
        # Keep going with what did validate, so that one bad key does not hide an
        # unknown tier three partners further down: every problem at once.
        suppressed = set()
        config = _salvage(Config, data, (), suppressed)
    problems.extend(check(config, source, suppressed))
    if problems:
        raise ConfigError(_dedupe(sorted(problems, key=_order)))
    return Located(config, source)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    out: list[Problem] = []
    for p in problems:
        if not out or out[-1] != p:
            out.append(p)
    return out


def _order(p: Problem) -> tuple[int, int, str]:
    return (p.line, p.column, p.message)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (building many small objects: about half the time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _parse(text: str, name: str) -> tuple[Source, Any, list[Problem]]:
    problems: list[Problem] = []
    source = Source(name, text)
    try:
        with _gc_paused():
            data = _Builder(source, 4 * len(text) + 100_000, problems).document()
        return source, data, problems
    except yaml.MarkedYAMLError as exc:
        if "maximum nesting depth" in str(exc.problem):
            # Newer libyaml builds refuse deep nesting themselves (while scanning ahead,
            # before our own depth limit is reached): report it the same way everywhere.
            raise _too_deep(name) from None
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"YAML syntax error: {exc.problem or exc.context}"
        if exc.context and exc.problem:
            message += f" ({exc.context})"
        raise ConfigError([Problem(name, line, column, "", message)]) from None
    except yaml.reader.ReaderError as exc:
        # Raised for characters YAML forbids (control characters, lone surrogates).
        # The C reader gives the character as a number, the pure-Python one as text.
        code = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or " ")
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise ConfigError(
            [
                Problem(
                    name,
                    line,
                    column,
                    "",
                    f"character U+{code:04X} is not allowed in YAML; remove it",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(name, 1, 1, "", f"YAML error: {exc}")]) from None
    except _TooLarge:
        raise ConfigError(
            [
                Problem(
                    name,
                    1,
                    1,
                    "",
                    "the document expands (through aliases) to far more values "
                    "than its text holds; refusing it to protect memory",
                )
            ]
        ) from None
    except (_TooDeep, RecursionError):
        raise _too_deep(name) from None


def _too_deep(name: str) -> ConfigError:
    return ConfigError(
        [Problem(name, 1, 1, "", f"the document is nested more than {_MAX_DEPTH} levels deep")]
    )


class _TooDeep(Exception):
    """The document nests collections deeper than any program file needs."""


_MAX_DEPTH = 200
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_CONSTRUCTED = {
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "str", "timestamp")
}
_RESOLVER: Any = yaml.resolver.Resolver()  # untyped in the stubs


class _AnyCharacter(frozenset[str | None]):
    """Every first character (a resolver registered for any of them disables the shortcut)."""

    def __contains__(self, item: object) -> bool:
        return True


# A plain scalar whose first character starts none of YAML 1.1's implicit types
# (most words: names, ids, emails) is a string: no pattern needs trying.
_TYPED_FIRST: frozenset[str | None] = (
    frozenset(_RESOLVER.yaml_implicit_resolvers)
    if None not in _RESOLVER.yaml_implicit_resolvers
    else _AnyCharacter()  # pragma: no cover - PyYAML registers no such resolver
)
# value, how many nodes it stands for, and for a scalar its tag and text
_Anchored = tuple[Any, int, str | None, str | None]


class _Builder:
    """Turn the parser's events into plain values, collecting structural problems as it goes.

    Built straight from the event stream rather than from a composed node
    tree: a node costs Python objects and calls of its own, and the C composer
    recurses (deep nesting crashes the interpreter). Walking events keeps our
    own depth count, so nesting is refused as soon as it passes `_MAX_DEPTH`,
    before anything deeper is read. Nodes are composed only to locate a
    problem (`Source.root`), once the whole document is known to be sound.
    """

    def __init__(self, source: Source, budget: int, problems: list[Problem]) -> None:
        self.source = source
        self.budget = budget
        self.problems = problems
        self.parser = _Loader(source.text)
        self.next_event: Callable[[], Any] = self.parser.get_event
        self.path: list[Any] = []  # where the collection being built sits
        self.anchors: dict[str, _Anchored | None] = {}  # None: its node is still being built
        self.anchor_marks: dict[str, Any] = {}
        self.plain: dict[str, Any] = {}  # plain scalar text -> value (the text implies the tag)
        self.known_keys: dict[str, str | int] = {}  # the same, for keys
        self.duplicates: list[tuple[tuple[Any, ...], Any, Any]] = []

    def document(self) -> Any:
        """Build the single document of the text (None when there is none)."""
        get = self.next_event
        try:
            get()  # StreamStartEvent
            if isinstance(get(), StreamEndEvent):
                return None
            data = self.node(get(), 0)
            get()  # DocumentEndEvent
            event = get()
            if not isinstance(event, StreamEndEvent):
                raise yaml.composer.ComposerError(
                    "expected a single document in the stream",
                    None,
                    "but found another document",
                    event.start_mark,
                )
        finally:
            self.parser.dispose()
        # Only now that the whole document is read (and its nesting known to be
        # bounded) are nodes safe to compose: they say where each key first appeared.
        firsts: dict[tuple[Any, ...], dict[Any, int]] = {}
        for path, key, mark in self.duplicates:
            if path not in firsts:
                firsts[path] = _first_key_lines(self.source.find(path)[0])
            line = firsts[path].get(key, mark.line + 1)
            message = f"duplicate key '{key}' (first at line {line})"
            self.problems.append(_at(self.source, mark, (*path, key), message))
        return data

    def spend(self, nodes: int) -> None:
        self.budget -= nodes
        if self.budget < 0:
            raise _TooLarge

    def node(self, event: Any, depth: int) -> Any:
        """Build the node that `event` starts, reading the events that complete it."""
        if isinstance(event, ScalarEvent):
            self.spend(1)
            value = self.scalar(event)
            if event.anchor is not None:
                self.anchor(event, (value, 1, self.tag(event), event.value))
            return value
        if isinstance(event, AliasEvent):
            return self.alias(event)[0]
        if depth >= _MAX_DEPTH:
            raise _TooDeep
        anchor: str | None = event.anchor
        if anchor is not None:
            self.anchor(event, None)
        before = self.budget
        self.spend(1)
        out: Any = (
            self.sequence(depth + 1)
            if isinstance(event, SequenceStartEvent)
            else self.mapping(depth + 1)
        )
        if anchor is not None:
            self.anchors[anchor] = (out, before - self.budget, None, None)
        return out

    # `sequence` and `mapping` take plain and quoted scalars (most of a file) inline;
    # anything else goes through `node`. Their items are spent from the budget in one
    # go at the end: until then only text has been read, and aliases spend at once.

    def sequence(self, depth: int) -> list[Any]:
        out: list[Any] = []
        get = self.next_event
        path = self.path
        typed = _TYPED_FIRST
        while True:
            event = get()
            if type(event) is ScalarEvent and event.tag is None and event.anchor is None:
                value = event.value
                if event.implicit[0] and (not value or value[0] in typed):
                    value = self.plain_scalar(value)
                out.append(value)
            elif type(event) is SequenceEndEvent:
                self.spend(len(out))
                return out
            else:
                path.append(len(out))
                out.append(self.node(event, depth))
                path.pop()

    def mapping(self, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        get = self.next_event
        path = self.path
        typed = _TYPED_FIRST
        known_keys = self.known_keys
        while True:
            event = get()
            key: Any = None
            if (
                type(event) is ScalarEvent
                and event.tag is None
                and event.anchor is None
                and event.implicit[0]
            ):
                text = event.value
                key = text if text and text[0] not in typed else known_keys.get(text)
            elif type(event) is MappingEndEvent:
                self.spend(2 * len(out))
                return out
            if key is None:
                found = self.key(event, depth)
                if found is None:
                    self.skip(get(), depth)
                    continue
                key = found[0]
            if key in out:
                self.duplicates.append((tuple(path), key, event.start_mark))
                self.skip(get(), depth)
                continue
            event = get()
            if type(event) is ScalarEvent and event.tag is None and event.anchor is None:
                value = event.value
                if event.implicit[0] and (not value or value[0] in typed):
                    value = self.plain_scalar(value)
                out[key] = value
            else:
                path.append(key)
                out[key] = self.node(event, depth)
                path.pop()

    def key(self, event: Any, depth: int) -> tuple[str | int] | None:
        """Return the key that `event` spells, or None (reported) when it cannot be a key."""
        tag: str | None = None
        text: str | None = None
        plain = False  # a plain key's meaning depends on its text alone: remember it
        if isinstance(event, AliasEvent):
            value, _, tag, text = self.alias(event)
        elif isinstance(event, ScalarEvent):
            tag, text = self.tag(event), event.value
            value = self.construct(tag, text)
            if event.anchor is not None:
                self.anchor(event, (value, 1, tag, text))
            plain = event.tag is None and event.anchor is None and event.implicit[0]
        else:
            self.skip(event, depth)
        if tag == _MERGE:
            message = "YAML merge keys ('<<') are not supported; repeat the keys"
        elif tag is None or text is None:
            message = "keys must be plain words"
        else:
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                value = text
            if plain:
                self.known_keys[text] = value
            return (value,)
        self.problems.append(_at(self.source, event.start_mark, self.path, message))
        return None

    def skip(self, event: Any, depth: int) -> None:
        """Read past the node that `event` starts; what is inside is not reported on."""
        # Built all the same: anchors inside it may be used further on.
        problems, duplicates = len(self.problems), len(self.duplicates)
        path = len(self.path)
        try:
            self.node(event, depth)
        finally:
            del self.problems[problems:], self.duplicates[duplicates:], self.path[path:]

    def anchor(self, event: Any, anchored: _Anchored | None) -> None:
        name: str = event.anchor
        if name in self.anchors:
            raise yaml.composer.ComposerError(
                "found duplicate anchor; first occurrence",
                self.anchor_marks[name],
                "second occurrence",
                event.start_mark,
            )
        self.anchor_marks[name] = event.start_mark
        self.anchors[name] = anchored

    def alias(self, event: Any) -> _Anchored:
        if event.anchor not in self.anchors:
            raise yaml.composer.ComposerError(None, None, "found undefined alias", event.start_mark)
        anchored = self.anchors[event.anchor]
        if anchored is None:  # an alias inside its own anchor would expand forever
            raise _TooLarge
        # Each alias spends what its node stands for, so a "billion laughs" file is
        # refused here, before anything downstream expands the shared values.
        self.spend(anchored[1])
        return anchored

    def tag(self, event: Any) -> str:
        tag: str | None = event.tag
        if tag is not None and tag != "!":
            return tag
        if not event.implicit[0]:
            return _STR  # quoted, or the non-specific tag '!'
        resolved: str = _RESOLVER.resolve(yaml.ScalarNode, event.value, (True, False))
        return resolved

    def scalar(self, event: Any) -> Any:
        value: str = event.value
        if event.tag is not None:
            return self.construct(self.tag(event), value)
        if not event.implicit[0] or (value and value[0] not in _TYPED_FIRST):
            return value  # quoted, or a plain word
        return self.plain_scalar(value)

    def plain_scalar(self, text: str) -> Any:
        """Return the value of an untagged plain scalar (cached: only its text matters)."""
        try:
            return self.plain[text]
        except KeyError:
            tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
            value = self.plain[text] = self.construct(tag, text)
            return value

    def construct(self, tag: str, value: str) -> Any:
        if tag == _STR:
            return value
        return _scalar(tag, value)


def _at(source: Source, mark: Any, path: Sequence[str | int], message: str) -> Problem:
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return Problem(source.file, line, column, format_path(path), message)


def _scalar(tag: str, value: str) -> Any:
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


# -- turning pydantic errors into located, hinted problems ------------------------------


def _user_loc(loc: tuple[int | str, ...], data: Any) -> tuple[str | int, ...]:
    """Drop the validator names pydantic puts into locations, keeping the user's keys.

    A part found in the data is the user's, even when it looks like pydantic's
    (a key `Acme [EU]`); one that is not found is pydantic's when it looks so.
    """
    out: list[str | int] = []
    current: Any = data
    for part in loc:
        found = (isinstance(current, dict) and part in current) or (
            isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        )
        if found:
            current = current[part]
        elif isinstance(part, str) and _is_internal(part):
            continue
        else:
            current = None
        out.append(part)
    return tuple(out)


def _problems(exc: ValidationError, source: Source, data: Any) -> Iterator[Problem]:
    seen: set[tuple[str, str]] = set()
    errors = exc.errors(include_url=False)
    locs = [_user_loc(e["loc"], data) for e in errors]
    # pydantic adds "should have at least 1 item" to a list whose only items failed:
    # the items' own errors say what is wrong, the count is noise.
    inner = {loc[:n] for loc in locs for n in range(len(loc))}
    for error, located in zip(errors, locs, strict=True):
        loc = list(located)
        kind = error["type"]
        if kind == "too_short" and located in inner:
            continue
        if loc and loc[-1] == "[key]":
            problem = source.problem(loc[:-1], _message(error), key=True)
        elif kind == "extra_forbidden":
            field = str(loc[-1])
            message = f"unknown key '{field}'"
            hint = did_you_mean(field, _allowed_keys(loc[:-1]))
            problem = source.problem(loc, message + hint, key=True)
        elif kind == "missing":
            problem = source.problem(loc[:-1], f"missing required key '{loc[-1]}'")
            problem = Problem(
                problem.file, problem.line, problem.column, format_path(loc), problem.message
            )
        else:
            message = _message(error)
            problem = source.problem(loc, message)
        marker = (problem.path, problem.message)
        if marker not in seen:
            seen.add(marker)
            yield problem


def _is_internal(part: str) -> bool:
    # pydantic adds validator names to locations inside unions and annotated types
    return ("[" in part and part != "[key]") or part.startswith("function-")


def _message(error: Any) -> str:
    message: str = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if error["type"] == "literal_error":
        given = error.get("input")
        expected = error.get("ctx", {}).get("expected", "")
        choices = [c.strip().strip("'") for c in expected.replace(" or ", ",").split(",")]
        if str(given) in choices:
            return f"'{given}' must be written plainly as {expected}, without quotes or tags"
        hint = did_you_mean(str(given), choices) if isinstance(given, str) else ""
        return f"'{given}' is not allowed; use {expected}{hint}"
    if error["type"] in ("date_from_datetime_parsing", "date_parsing", "date_type"):
        return f"'{error.get('input')}' is not a date; write it as YYYY-MM-DD"
    if error["type"] in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a mapping of keys and values, not {_kind_of(error.get('input'))}"
    if error["type"] == "too_short":
        least = error.get("ctx", {}).get("min_length", 1)
        return f"needs at least {least} item{'' if least == 1 else 's'}"
    if error["type"] in ("int_parsing", "int_type", "int_from_float"):
        return f"{_kind_of(error.get('input'))} is not a whole number"
    if error["type"] in ("tuple_type", "list_type"):
        return f"expected a list, not {_kind_of(error.get('input'))}"
    if error["type"] in ("time_parsing", "time_type"):
        return f"'{error.get('input')}' is not a time of day; write it as HH:MM"
    return message[0].lower() + message[1:] if message else message


def _kind_of(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "an empty value"
    return f"'{value}'"


def _allowed_keys(loc: Sequence[str | int]) -> list[str]:
    """Names the keys a model at `loc` accepts, walking the model types along the path."""
    current: Any = Config
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    model = _unwrap_model(current)
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _step(tp: Any, part: str | int) -> Any:
    model = _unwrap_model(tp)
    if model is not None and isinstance(part, str):
        for name, field in model.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    for arg in _args(tp):
        origin = typing.get_origin(arg)
        if origin in (tuple, list) and isinstance(part, int):
            return typing.get_args(arg)[0]
        if origin is dict and isinstance(part, str):
            return typing.get_args(arg)[1]
    return None


def _args(tp: Any) -> list[Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(tp) if a is not type(None)]
    if origin is typing.Annotated:
        return _args(typing.get_args(tp)[0])
    return [tp]


def _optional(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _optional(typing.get_args(tp)[0])
    return origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp)


def _unwrap_model(tp: Any) -> type[BaseModel] | None:
    for arg in _args(tp):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _find(
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


def _first_key_lines(node: yaml.Node | None) -> dict[Any, int]:
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
    value = node.value if node.tag == _STR else _scalar(node.tag, node.value)
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return node.value
    return value


# -- salvaging what did validate, so cross-reference checks can still run --------------

_Path = tuple[str | int, ...]
_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(tp: Any) -> TypeAdapter[Any]:
    try:
        return _ADAPTERS[tp]
    except KeyError:
        adapter = _ADAPTERS[tp] = TypeAdapter(tp)
        return adapter
    except TypeError:  # unhashable metadata: build it each time (only on the error path)
        return TypeAdapter(tp)


def _field_type(field: FieldInfo) -> Any:
    if field.metadata:
        return typing.Annotated[(field.annotation, *field.metadata)]
    return field.annotation


def _salvage(tp: Any, raw: Any, path: _Path, suppressed: set[_Path], fallback: Any = ...) -> Any:
    """Validate `raw` as `tp`, keeping every part that is valid.

    A part that is not valid becomes its field default, or a stand-in of the
    right type whose path goes into `suppressed`; pydantic has already
    reported it, and checks must not report it again with a confusing message.
    Model validators do not run on salvaged models: their errors are reported.
    """
    try:
        return _adapter(tp).validate_python(raw)
    except ValidationError:
        pass
    model = _unwrap_model(tp)
    if model is not None and isinstance(raw, dict):
        values: dict[str, Any] = {}
        for name, field in model.model_fields.items():
            key = field.alias or name
            ftp = _field_type(field)
            default = ... if field.is_required() else field.get_default(call_default_factory=True)
            if key in raw:
                values[name] = _salvage(ftp, raw[key], (*path, key), suppressed, default)
            elif default is ...:
                suppressed.add((*path, key))
                values[name] = _stand_in(ftp, None, (*path, key), suppressed)
            else:
                values[name] = default
        return model.model_construct(**values)
    for arg in _args(tp):
        origin = typing.get_origin(arg)
        args = typing.get_args(arg)
        if origin in (tuple, list) and isinstance(raw, list):
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(
                    _salvage(args[0], item, (*path, i), suppressed) for i, item in enumerate(raw)
                )
            if len(args) == len(raw):
                return tuple(
                    _salvage(t, item, (*path, i), suppressed)
                    for i, (t, item) in enumerate(zip(args, raw, strict=True))
                )
        if origin is dict and isinstance(raw, dict):
            return {
                str(k): _salvage(args[1], v, (*path, str(k)), suppressed) for k, v in raw.items()
            }
    if fallback is not ...:
        return fallback
    suppressed.add(path)
    return _stand_in(tp, raw, path, suppressed)


def _stand_in(tp: Any, raw: Any, path: _Path, suppressed: set[_Path]) -> Any:
    """A value of type `tp` for a part that did not validate (its path is suppressed)."""
    if _optional(tp):
        return None
    args = _args(tp)
    arg = args[0] if args else tp
    origin = typing.get_origin(arg)
    if origin is typing.Literal:
        return typing.get_args(arg)[0]
    if origin is tuple or arg is tuple:
        return ()
    if origin is dict or arg is dict:
        return {}
    model = _unwrap_model(arg)
    if model is not None:
        return _salvage(model, raw if isinstance(raw, dict) else {}, path, suppressed)
    # A string keeps the user's text: `tier: Strategic` (a bad id) still names its tier,
    # so partners that use it are not also reported as pointing at an unknown tier.
    stand_ins: dict[Any, Any] = {
        str: raw if isinstance(raw, str) else "",
        int: 0,
        float: 0.0,
        bool: False,
        date: date(2000, 1, 1),
        time: time(0),
        timedelta: timedelta(0),
    }
    return stand_ins.get(arg)
