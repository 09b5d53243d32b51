"""Keeping what did validate: a `Config` of a program's valid parts, its invalid ones stood in for.

Pydantic stops at a model with any error; the loader still wants every
cross-reference problem of the file at once (an unknown tier three partners
after a bad key), so it checks the salvaged config, skipping the paths
pydantic has already reported.
"""

from __future__ import annotations

import types
import typing
from datetime import date, time, timedelta
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo


def type_args(tp: Any) -> list[Any]:
    """Return the types a field may hold: a union's members but None, under Annotated."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        # Each member unwrapped too: `Dates | None` is salvaged date by date, like a tuple.
        return [t for a in typing.get_args(tp) if a is not type(None) for t in type_args(a)]
    if origin is typing.Annotated:
        return type_args(typing.get_args(tp)[0])
    return [tp]


def _optional(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _optional(typing.get_args(tp)[0])
    return origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp)


def model_of(tp: Any) -> type[BaseModel] | None:
    """Return the model among the types a field may hold, if any."""
    for arg in type_args(tp):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


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


def salvage(tp: Any, raw: Any, path: _Path, suppressed: set[_Path], fallback: Any = ...) -> Any:
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
    if isinstance(raw, (str, list)) and len(raw) > _max_length(tp):
        # Never kept, not even item by item: checks must not walk a 100,000-item list
        # nor quote a megabyte of text the length limit has already refused.
        suppressed.add(path)
        return _stand_in(tp, None, path, suppressed)
    model = model_of(tp)
    if model is not None and isinstance(raw, dict):
        values: dict[str, Any] = {}
        for name, field in model.model_fields.items():
            key = field.alias or name
            ftp = _field_type(field)
            default = ... if field.is_required() else field.get_default(call_default_factory=True)
            if key in raw:
                values[name] = salvage(ftp, raw[key], (*path, key), suppressed, default)
            elif default is ...:
                suppressed.add((*path, key))
                values[name] = _stand_in(ftp, None, (*path, key), suppressed)
            else:
                values[name] = default
        return model.model_construct(**values)
    for arg in type_args(tp):
        origin = typing.get_origin(arg)
        args = typing.get_args(arg)
        if origin in (tuple, list) and isinstance(raw, list):
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(
                    salvage(args[0], item, (*path, i), suppressed) for i, item in enumerate(raw)
                )
            if len(args) == len(raw):
                return tuple(
                    salvage(t, item, (*path, i), suppressed)
                    for i, (t, item) in enumerate(zip(args, raw, strict=True))
                )
        if origin is dict and isinstance(raw, dict):
            return {
                str(k): salvage(args[1], v, (*path, str(k)), suppressed) for k, v in raw.items()
            }
    if fallback is not ...:
        return fallback
    suppressed.add(path)
    return _stand_in(tp, raw, path, suppressed)


def _max_length(tp: Any) -> float:
    """The smallest `max_length` on `tp` (through Annotated and unions), or infinity."""
    most = float("inf")
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        inner, *metadata = typing.get_args(tp)
        for item in metadata:
            for each in (item, *getattr(item, "metadata", ())):
                if getattr(each, "max_length", None) is not None:
                    most = min(most, each.max_length)
        return min(most, _max_length(inner))
    if origin in (typing.Union, types.UnionType):
        return min((_max_length(a) for a in typing.get_args(tp)), default=most)
    return most


def _stand_in(tp: Any, raw: Any, path: _Path, suppressed: set[_Path]) -> Any:
    """A value of type `tp` for a part that did not validate (its path is suppressed)."""
    if _optional(tp):
        return None
    args = type_args(tp)
    arg = args[0] if args else tp
    origin = typing.get_origin(arg)
    if origin is typing.Literal:
        return typing.get_args(arg)[0]
    if origin is tuple or arg is tuple:
        return ()
    if origin is dict or arg is dict:
        return {}
    model = model_of(arg)
    if model is not None:
        return salvage(model, raw if isinstance(raw, dict) else {}, path, suppressed)
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
