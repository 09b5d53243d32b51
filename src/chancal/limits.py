"""How much chancal reads and plans: input file sizes, text lengths, events per rule and year.

Every limit is written once, here, so that the models, validation, the loader
and the lock reader cannot disagree, and the README quotes these numbers.
Each is generous for a real program and keeps a hostile or broken one from
costing minutes and gigabytes: a 100 MB partner name once took a minute and
4.4 GB, and `chancal validate /dev/zero` grew without end.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

from chancal.errors import ConfigError, Problem, UsageError

MAX_FILE_ENV = "CHANCAL_MAX_FILE_MB"
DEFAULT_MAX_FILE_MB = 16
"""A program file's limit: twice the 10,000-partner benchmark program (7.4 MB)."""
LOCK_FACTOR = 64
"""A lock may be this many times the program limit (1 GiB by default): it holds every
event with its texts, about 30-40 times the bytes of the program that made it."""

# Texts, in characters. Names reach titles, file names and terminals; agendas and
# descriptions are the longest texts a calendar shows.
MAX_ID = 100
MAX_NAME = 200
MAX_LABEL = 200  # kinds, roles, countries, focus areas, topics, blackout reasons
MAX_LOCATION = 500
MAX_URL = 2_000
MAX_EMAIL = 254  # RFC 5321's longest address
MAX_RRULE = 1_000
MAX_TEXT = 10_000  # agendas and descriptions

# Lists that multiply the events of a year or the work per event.
MAX_DATES = 366
MAX_FOLLOW_UPS = 10
MAX_REMINDERS = 10
MAX_PEOPLE = 100  # contacts of a partner, attendees of a rule
MAX_TOPICS = 50  # focus areas, shared topics, health terms

# Events: one a day at most per rule (and its follow-ups), and a year per partner
# that a manager could still hold.
MAX_EVENTS_PER_RULE = 366
MAX_EVENTS_PER_PARTNER = 1_000
MAX_EVENTS_PER_YEAR = 500_000
"""Events a program may ask for at the default file limit: twice the 10,000-partner benchmark
program. `max_events_per_year` scales it with CHANCAL_MAX_FILE_MB."""
MAX_RRULES = 100  # different rrule texts in a program, each expanded once


def max_file_bytes() -> int:
    """The program file's limit in bytes: CHANCAL_MAX_FILE_MB megabytes (default 16)."""
    text = os.environ.get(MAX_FILE_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_FILE_MB * 1024 * 1024
    if not text.isdigit() or int(text) < 1:
        raise UsageError(
            f"{MAX_FILE_ENV}={text!r} is not a size; give a whole number of megabytes, "
            f"e.g. {MAX_FILE_ENV}=64 (default {DEFAULT_MAX_FILE_MB})"
        )
    return int(text) * 1024 * 1024


def max_events_per_year() -> int:
    """The events a program's rules may ask for in a year: in proportion to the file limit.

    A program whose file needs a raised CHANCAL_MAX_FILE_MB is meant to be big,
    so the one setting that says so raises this bound with it (64 MB: 2,000,000
    events, enough for the 50,000-partner benchmark); a lowered limit lowers it.
    """
    return MAX_EVENTS_PER_YEAR * max_file_bytes() // (DEFAULT_MAX_FILE_MB * 1024 * 1024)


def file_mb_for_events(events: int) -> int:
    """The smallest CHANCAL_MAX_FILE_MB whose `max_events_per_year` admits `events`."""
    return -(-events * DEFAULT_MAX_FILE_MB // MAX_EVENTS_PER_YEAR)


def max_lock_bytes() -> int:
    """The lock's limit in bytes: LOCK_FACTOR times the program file's."""
    return LOCK_FACTOR * max_file_bytes()


def _too_large(name: str, limit: int, what: str) -> ConfigError:
    file_mb = max_file_bytes() // (1024 * 1024)
    share = f" ({LOCK_FACTOR} times {MAX_FILE_ENV})" if what == "lock" else ""
    return ConfigError(
        [
            Problem(
                name,
                1,
                1,
                "",
                f"the {what} is larger than {limit // (1024 * 1024)} MB{share}, chancal's "
                f"limit; if it is meant to be, raise it with {MAX_FILE_ENV}={2 * file_mb}",
            )
        ]
    )


def check_size(
    size: int, name: str, *, limit: int | None = None, what: str = "program file"
) -> None:
    """Raise ConfigError if `size` bytes exceed the limit (the program file's by default)."""
    limit = max_file_bytes() if limit is None else limit
    if size > limit:
        raise _too_large(name, limit, what)


def read_stdin(name: str = "<stdin>") -> bytes:
    """Read standard input, at most the program file's limit (never all of /dev/zero)."""
    limit = max_file_bytes()
    data = sys.stdin.buffer.read(limit + 1)
    check_size(len(data), name, limit=limit)
    return data


def read_capped(path: Path, *, limit: int | None = None, what: str = "program file") -> bytes:
    """Read a regular file of at most `limit` bytes (the program file's by default).

    FileNotFoundError passes through for the caller's own message; a FIFO, a
    device or a folder is refused before it is opened (opening a FIFO would wait
    for a writer, reading /dev/zero would never end), and reading stops one byte
    past the limit whatever the file claims its size is.
    """
    return b"".join(capped_lines(path, limit=limit, what=what, whole=True))


def capped_lines(
    path: Path, *, limit: int | None = None, what: str = "program file", whole: bool = False
) -> Iterator[bytes]:
    """A regular file's lines as bytes (`whole`: its bytes in one piece), as `read_capped` checks.

    One line at a time, so a large lock is never held whole; no line is read
    past the limit either.
    """
    name = str(path)
    limit = max_file_bytes() if limit is None else limit
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise ConfigError([Problem(name, 1, 1, "", f"not a regular file: {_kind(mode)}")])
        with path.open("rb") as handle:
            left = limit + 1
            while left > 0:
                piece = handle.read(left) if whole else handle.readline(left)
                if not piece:
                    break
                left -= len(piece)
                check_size(limit + 1 - left, name, limit=limit, what=what)
                yield piece
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError([Problem(name, 1, 1, "", f"cannot read file: {exc.strerror}")]) from None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder; give the program file inside it"
    if stat.S_ISFIFO(mode):
        return "a pipe; give a file, or '-' to read standard input"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device; give a file, or '-' to read standard input"
    return "give a file, or '-' to read standard input"
