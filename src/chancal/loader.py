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

import re
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from chancal.errors import ConfigError, Problem
from chancal.limits import check_size, read_capped, read_stdin
from chancal.models import SHARED_FIELDS_SETS, Config
from chancal.salvage import model_of, salvage, type_args
from chancal.source import (
    STR_TAG,
    Source,
    YamlLoader,
    first_key_lines,
    format_path,
    gc_paused,
    read_scalar,
)
from chancal.suggest import did_you_mean


class _TooLarge(Exception):
    """The document expands to far more values than its text could hold."""


@dataclass(frozen=True, slots=True)
class Located:
    """A loaded program together with the source text that locates its values."""

    config: Config
    source: Source


STDIN = "-"
"""The file name that means standard input, as for most command-line tools."""


def load(path: Path) -> Located:
    """Read, parse and validate a program file; raise ConfigError listing every problem.

    `-` reads the program from standard input (its problems name `<stdin>`).
    """
    name = str(path)
    if name == STDIN:
        return loads(read_stdin(), "<stdin>")
    try:
        raw = read_capped(path)
    except FileNotFoundError:
        raise ConfigError(
            [
                Problem(
                    name, 1, 1, "", "file not found; run 'chancal init' to write a starter program"
                )
            ]
        ) from None
    return loads(raw, name)


def loads(raw: bytes | str, name: str = "<string>") -> Located:
    """Parse and validate program text; raise ConfigError listing every problem."""
    check_size(len(raw), name)
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
    with gc_paused():
        return _load_text(text, name)


def _load_text(text: str, name: str) -> Located:
    source, data, problems = _parse(text, name)
    if isinstance(data, (dict, list)) and _MAY_HOLD_CONTROLS.search(text):
        problems.extend(_controls(source, data, ()))
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
        config = Config.model_validate(data, context={SHARED_FIELDS_SETS: {}})
        suppressed: set[tuple[str | int, ...]] = set()
    except ValidationError as exc:
        problems.extend(_problems(exc, source, data))
        # Keep going with what did validate, so that one bad key does not hide an
        # unknown tier three partners further down: every problem at once.
        suppressed = set()
        config = salvage(Config, data, (), suppressed)
    problems.extend(check(config, source, suppressed))
    if problems:
        raise ConfigError(_dedupe(sorted(problems, key=_order)))
    return Located(config, source)


# YAML refuses raw control characters except tab, line feed, CR and NEL; escapes in
# double quotes ("\e", "\x00") make any. Without a backslash or one of these raw
# characters, no value can hold one: large files skip the walk below.
_MAY_HOLD_CONTROLS = re.compile(r"[\\\r\x85\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _controls(source: Source, value: Any, path: tuple[Any, ...]) -> Iterator[Problem]:
    """Report each key and text holding a control character (tab and line feed allowed).

    Names and titles reach terminals, CI logs and calendar apps: an escape
    sequence or a NUL in them is a mistake or an attack, never meant.
    """
    items: Any = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(key, str) and (found := _CONTROL.search(key)):
            yield source.problem((*path, key), _control_message(found[0], "key"), key=True)
        if isinstance(item, str):
            if found := _CONTROL.search(item):
                yield source.problem((*path, key), _control_message(found[0], "value"))
        elif isinstance(item, (dict, list)):
            yield from _controls(source, item, (*path, key))


def _control_message(char: str, where: str) -> str:
    return (
        f"the {where} holds the control character U+{ord(char):04X}; remove it "
        "(names and texts may hold tabs and line breaks, nothing else invisible)"
    )


def _dedupe(problems: list[Problem]) -> list[Problem]:
    out: list[Problem] = []
    for p in problems:
        if not out or out[-1] != p:
            out.append(p)
    return out


def _order(p: Problem) -> tuple[int, int, str]:
    return (p.line, p.column, p.message)


def _parse(text: str, name: str) -> tuple[Source, Any, list[Problem]]:
    problems: list[Problem] = []
    source = Source(name, text)
    try:
        with gc_paused():
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
_CORE = "tag:yaml.org,2002:"
_MERGE = _CORE + "merge"
# Explicit tags a program may use: the non-specific '!' and the core schema's own.
# Any other (`!!python/name:...`, `!!binary`, `!local`) is refused, never dropped.
_ALLOWED_TAGS = frozenset(
    {None, "!"}
    | {_CORE + name for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")}
)
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
        self.parser = YamlLoader(source.text)
        self.next_event: Callable[[], Any] = self.parser.get_event
        self.path: list[Any] = []  # where the collection being built sits
        self.anchors: dict[str, _Anchored | None] = {}  # None: its node is still being built
        self.anchor_marks: dict[str, Any] = {}
        self.plain: dict[str, Any] = {}  # plain scalar text -> value (the text implies the tag)
        # Text -> the first string of that text: the program's values are kept as read, and
        # a role or a topic written on every partner is then one string, not thousands.
        self.texts: dict[str, str] = {}
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
                firsts[path] = first_key_lines(self.source.find(path)[0])
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
        if getattr(event, "tag", None) not in _ALLOWED_TAGS:
            self.refuse_tag(event)
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
        texts = self.texts
        while True:
            event = get()
            if type(event) is ScalarEvent and event.tag is None and event.anchor is None:
                value = event.value
                if event.implicit[0] and (not value or value[0] in typed):
                    value = self.plain_scalar(value)
                else:
                    value = texts.setdefault(value, value)
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
        texts = self.texts
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
                else:
                    value = texts.setdefault(value, value)
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
            if event.tag not in _ALLOWED_TAGS and event.tag != _MERGE:
                self.refuse_tag(event)
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

    def refuse_tag(self, event: Any) -> None:
        """Report an explicit YAML tag other than the core ones (`!!python/...`, `!custom`)."""
        tag: str = event.tag
        shown = "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag
        message = f"YAML tag '{shown}' is not supported; remove it (write the value plainly)"
        self.problems.append(_at(self.source, event.start_mark, self.path, message))
        if isinstance(event, ScalarEvent):
            event.tag = None  # read the text as it stands, so the rest of the file is checked

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
            return STR_TAG  # quoted, or the non-specific tag '!'
        resolved: str = _RESOLVER.resolve(yaml.ScalarNode, event.value, (True, False))
        return resolved

    def scalar(self, event: Any) -> Any:
        value: str = event.value
        if event.tag is not None:
            return self.construct(self.tag(event), value)
        if not event.implicit[0] or (value and value[0] not in _TYPED_FIRST):
            return self.texts.setdefault(value, value)  # quoted, or a plain word
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
        if tag == STR_TAG:
            return value
        return read_scalar(tag, value)


def _at(source: Source, mark: Any, path: Sequence[str | int], message: str) -> Problem:
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return Problem(source.file, line, column, format_path(path), message)


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
    if error["type"] == "string_too_long":
        # Never the value itself: it may be megabytes long.
        most = error.get("ctx", {}).get("max_length", 0)
        given = len(error.get("input") or "")
        return f"the text is {given:,} characters long; the limit is {most:,}: shorten it"
    if error["type"] == "too_long":
        ctx = error.get("ctx", {})
        most, given = ctx.get("max_length", 0), ctx.get("actual_length")
        count = f"{given:,} items" if isinstance(given, int) else f"more than {most:,} items"
        return f"the list has {count}; the limit is {most:,}"
    if error["type"] == "too_short":
        least = error.get("ctx", {}).get("min_length", 1)
        return f"needs at least {least} item{'' if least == 1 else 's'}"
    if error["type"] in ("int_parsing", "int_type", "int_from_float"):
        return f"{_kind_of(error.get('input'))} is not a whole number"
    if error["type"] in ("tuple_type", "list_type"):
        return f"expected a list, not {_kind_of(error.get('input'))}"
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
    model = model_of(current)
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _step(tp: Any, part: str | int) -> Any:
    model = model_of(tp)
    if model is not None and isinstance(part, str):
        for name, field in model.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    for arg in type_args(tp):
        origin = typing.get_origin(arg)
        if origin in (tuple, list) and isinstance(part, int):
            return typing.get_args(arg)[0]
        if origin is dict and isinstance(part, str):
            return typing.get_args(arg)[1]
    return None
