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
from datetime import date, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

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


def _parse(text: str, name: str) -> tuple[Source, Any, list[Problem]]:
    # Pausing the collector while building many small objects roughly halves load time.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    problems: list[Problem] = []
    try:
        root = _compose(text)
        source = Source(name, root)
        if root is None:
            return source, None, problems
        builder = _Builder(source, 4 * len(text) + 100_000, problems)
        return source, builder.build(root, ()), problems
    except yaml.MarkedYAMLError as exc:
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
        raise ConfigError(
            [Problem(name, 1, 1, "", f"the document is nested more than {_MAX_DEPTH} levels deep")]
        ) from None
    finally:
        if gc_was_enabled:
            gc.enable()


class _TooDeep(Exception):
    """The document nests collections deeper than any program file needs."""


_MAX_DEPTH = 200
_SURELY_SHALLOW = 2_000


def _compose(text: str) -> yaml.Node | None:
    """Compose the node tree, refusing absurd nesting before libyaml sees it.

    libyaml's composer recurses in C: around 20,000 nested levels it crashes
    the interpreter (a segfault, not an exception) and well before that it
    slows down quadratically. Nesting depth cannot exceed the number of flow
    brackets plus the longest line, so ordinary files skip the check; others
    pay one pass of the (iterative) event parser that stops at the limit.
    """
    if not _composer_can_crash():
        return yaml.compose(text, Loader=_Loader)
    longest = max((len(line) for line in text.splitlines()), default=0)
    if text.count("[") + text.count("{") + longest > _SURELY_SHALLOW:
        depth = 0
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > _MAX_DEPTH:
                    raise _TooDeep
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    return yaml.compose(text, Loader=_Loader)


@cache
def _composer_can_crash() -> bool:
    """Tell whether deep nesting could crash the composer (then `_compose` measures first).

    The pure-Python composer raises RecursionError, which we catch; recent
    libyaml builds refuse more than 1,000 levels by themselves. Probing costs
    about a millisecond, once.
    """
    if not getattr(yaml, "__with_libyaml__", False):
        return False
    probe = "[" * 1100 + "]" * 1100
    try:
        yaml.compose(probe, Loader=_Loader)
    except yaml.YAMLError:
        return False
    return True


class _Builder:
    """Turn composed nodes into plain values, collecting structural problems as it goes."""

    def __init__(self, source: Source, budget: int, problems: list[Problem]) -> None:
        self.source = source
        self.budget = budget
        self.problems = problems

    def build(self, node: yaml.Node, path: tuple[Any, ...]) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise _TooLarge
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            first: dict[Any, yaml.Node] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.problems.append(
                        _at(
                            self.source,
                            key_node,
                            path,
                            "YAML merge keys ('<<') are not supported; repeat the keys",
                        )
                    )
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    self.problems.append(
                        _at(self.source, key_node, path, "keys must be plain words")
                    )
                    continue
                key = self.build(key_node, path)
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    key = str(key_node.value)
                if key in out:
                    line = first[key].start_mark.line + 1
                    self.problems.append(
                        _at(
                            self.source,
                            key_node,
                            (*path, key),
                            f"duplicate key '{key}' (first at line {line})",
                        )
                    )
                    continue
                first[key] = key_node
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
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
        if str(given) in choices:
            return f"'{given}' must be written plainly as {expected}, without quotes or tags"
        hint = _did_you_mean(str(given), choices) if isinstance(given, str) else ""
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
