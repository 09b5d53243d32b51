"""Errors a user can fix; anything else is a bug and keeps its traceback."""

from __future__ import annotations

from dataclasses import dataclass


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
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}"


class ConfigError(ChancalError):
    """The program file is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class UsageError(ChancalError):
    """The command line asks for something impossible (unknown partner id, bad path)."""
