"""YAML file -> `Config`; the one place where YAML and pydantic errors become `ConfigError`.

The YAML is composed into a node tree (C parser when available) and turned
into plain Python values by our own small walk, which lets us
- report every problem with its file, line and column (we keep the nodes),
- refuse alias bombs ("billion laughs") by budgeting the nodes we build,
- read `NO` (Norway) and `17:00` as the strings users mean, not YAML 1.1's
  boolean and sexagesimal integer.
"""

from __future__ import annotations

import difflib
import gc
import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from chancal.errors import ConfigError, Problem
from chancal.models import Config

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
    """A loaded program together with the YAML nodes that locate its values."""

    config: Config
    source: Source


@dataclass(frozen=True, slots=True)
class Source:
    """The file name and node tree, to turn a value's path into line and column."""

    file: str
    root: yaml.Node | None

    def problem(self, path: Sequence[str | int], message: str, *, key: bool = False) -> Problem:
        """Locate `path` (e.g. ("partners", 3, "tier")) and build a Problem for it."""
        node, found_key = _find(self.root, path)
        target = found_key if key and found_key is not None else node
        line, column = (
            (target.start_mark.line + 1, target.start_mark.column + 1) if target else (1, 1)
        )
        return Problem(self.file, line, column, format_path(path), message)


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
            raise ConfigError(
                [Problem(name, line, 1, "", "the file is not UTF-8 text; save it as UTF-8")]
            ) from None
    else:
        text = raw
    source, data = _parse(text, name)
    if not isinstance(data, dict):
        raise ConfigError(
            [
                source.problem(
                    (),
                    "a program file is a mapping with version, program, managers, tiers"
                    " and partners",
                )
            ]
        )
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(sorted(_problems(exc, source), key=_order)) from None

    # Imported here: cross-reference checks need `holidays`, which the parse step does not.
    from chancal.validation import check

    problems = check(config, source)
    if problems:
        raise ConfigError(sorted(problems, key=_order))
    return Located(config, source)


def _order(p: Problem) -> tuple[int, int, str]:
    return (p.line, p.column, p.message)


def _parse(text: str, name: str) -> tuple[Source, Any]:
    # Pausing the collector while building many small objects roughly halves load time.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        root = yaml.compose(text, Loader=_Loader)
        source = Source(name, root)
        if root is None:
            return source, None
        budget = [4 * len(text) + 100_000]
        return source, _build(root, budget, source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"YAML syntax error: {exc.problem or exc.context}"
        if exc.context and exc.problem:
            message += f" ({exc.context})"
        raise ConfigError([Problem(name, line, column, "", message)]) from None
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
    except RecursionError:
        raise ConfigError([Problem(name, 1, 1, "", "the document is nested too deeply")]) from None
    finally:
        if gc_was_enabled:
            gc.enable()


def _build(node: yaml.Node, budget: list[int], source: Source, path: tuple[Any, ...] = ()) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooLarge
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise ConfigError(
                    [
                        source.problem(
                            path, "YAML merge keys ('<<') are not supported; repeat the keys"
                        )
                    ]
                )
            key = _build(key_node, budget, source, path)
            if not isinstance(key, (str, int)):
                raise ConfigError([_at(source, key_node, path, "keys must be plain words")])
            if key in out:
                raise ConfigError([_at(source, key_node, path, f"duplicate key '{key}'")])
            out[key] = _build(value_node, budget, source, (*path, key))
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, budget, source, (*path, i)) for i, child in enumerate(node.value)]
    return _scalar(node)


def _at(source: Source, node: yaml.Node, path: Sequence[str | int], message: str) -> Problem:
    return Problem(
        source.file,
        node.start_mark.line + 1,
        node.start_mark.column + 1,
        format_path(path),
        message,
    )


def _scalar(node: yaml.Node) -> Any:
    value = node.value
    tag = node.tag
    if tag == "tag:yaml.org,2002:bool" and value.lower() not in _TRUE_FALSE:
        return value  # yes/no/on/off stay words: `country: NO` is Norway
    if tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and ":" in value:
        return value  # YAML 1.1 reads 17:00 as 1020 (base 60); users mean a time
    if tag == "tag:yaml.org,2002:timestamp" and ("T" in value or " " in value.strip()):
        return value  # keep date-times as text so pydantic names the field in its error
    if tag.startswith("tag:yaml.org,2002:") and tag.rsplit(":", 1)[1] in (
        "null",
        "bool",
        "int",
        "float",
        "str",
        "timestamp",
    ):
        try:
            return _SCALARS.construct_object(node)
        except (ValueError, yaml.constructor.ConstructorError):
            return value  # e.g. 2027-02-30: let pydantic report it against its field
    return value


# -- turning pydantic errors into located, hinted problems ------------------------------


def _problems(exc: ValidationError, source: Source) -> Iterator[Problem]:
    seen: set[tuple[str, str]] = set()
    for error in exc.errors(include_url=False):
        loc = [p for p in error["loc"] if isinstance(p, int) or not _is_internal(p)]
        kind = error["type"]
        if kind == "extra_forbidden":
            field = str(loc[-1])
            message = f"unknown key '{field}'"
            hint = _did_you_mean(field, _allowed_keys(loc[:-1]))
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
        hint = _did_you_mean(str(given), choices) if isinstance(given, str) else ""
        return f"'{given}' is not allowed; use {expected}{hint}"
    if error["type"] in ("date_from_datetime_parsing", "date_parsing", "date_type"):
        return f"'{error.get('input')}' is not a date; write it as YYYY-MM-DD"
    if error["type"] in ("time_parsing", "time_type"):
        return f"'{error.get('input')}' is not a time of day; write it as HH:MM"
    return message[0].lower() + message[1:] if message else message


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


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


def _unwrap_model(tp: Any) -> type[BaseModel] | None:
    for arg in _args(tp):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _find(
    root: yaml.Node | None, path: Sequence[str | int]
) -> tuple[yaml.Node | None, yaml.Node | None]:
    """Return (value node, key node) at `path`, or the deepest node that exists."""
    node, key_node = root, None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == part or (isinstance(part, int) and k.value == str(part)):
                    node, key_node = v, k
                    break
            else:
                return node, None
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node, key_node = node.value[part], None
        else:
            return node, None
    return node, key_node
