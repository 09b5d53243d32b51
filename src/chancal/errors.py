"""Errors a user can fix; anything else is a bug and keeps its traceback."""

from __future__ import annotations

from dataclasses import dataclass

# Control characters (C0, DEL, C1), line and paragraph separators and the bidirectional
# overrides: printed raw, they move the cursor, recolour a terminal, start a new line
# that a CI parser would read as another `file:line:col:` problem, or reorder text.
_CONTROLS = [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F)]
_CONTROLS += range(0x2066, 0x206A)
_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
_ESCAPES = {
    code: _NAMED.get(code, f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    for code in _CONTROLS
}


def printable(text: str) -> str:
    """Return `text` with every control character written as an escape (`\\x1b`, `\\n`).

    User text (names, values, file names) goes through here before it reaches a
    terminal or a log, so it can neither drive the terminal nor forge a line.
    """
    return text.translate(_ESCAPES)


class ChancalError(Exception):
    """A problem the user can fix; the CLI prints it without a traceback."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem in an input file."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return printable(f"{self.file}:{self.line}:{self.column}: {where}{self.message}")


class ConfigError(ChancalError):
    """The program file is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class UsageError(ChancalError):
    """The command line asks for something impossible (unknown partner id, bad path)."""
