"""Pickling the values a year is made of as a call of their class, with their fields read in C.

Every process that plans managers sends its events, lock entries and their
parts back to this one pickled (`chancal.pool`). Python 3.11 pickles a
slotted dataclass through `__getstate__` and `__setstate__` written in Python:
each call lists the class's fields again (`dataclasses.fields`) and sets them
one `object.__setattr__` at a time. At 10,000 partners, sending each
manager's part of the year and reading it back took a third to a half as
long as making it (benchmarks/README.md, "Less sent between processes, and
no wait for the workers"). `by_fields` pickles an instance as its class
and the tuple of its fields (one `operator.attrgetter` call, in C), and
unpickling calls the class: the dataclass's own `__init__`, so
`__post_init__` checks run as when the value was first made.
"""

from __future__ import annotations

from dataclasses import fields
from operator import attrgetter
from typing import Any, TypeVar

T = TypeVar("T")


def by_fields(cls: type[T]) -> type[T]:
    """Make `cls`, a dataclass whose fields are all `__init__` arguments, pickle as a call."""
    every = fields(cls)  # type: ignore[arg-type]
    # attrgetter of one name gives the value, not a tuple; no value type has one field.
    if len(every) < 2 or any(not f.init or f.kw_only for f in every):
        raise TypeError(f"{cls.__name__}: needs two or more fields, all positional in __init__")
    values = attrgetter(*(f.name for f in every))

    def __reduce__(self: Any) -> tuple[type[T], tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[method-assign]
    return cls
