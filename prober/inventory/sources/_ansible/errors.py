"""Where something was read from, and the error a source raises: one or more Problems."""

from __future__ import annotations

from dataclasses import dataclass

from prober.errors import Problem


@dataclass(frozen=True, slots=True)
class Where:
    """A place in an inventory source: file, line (when known) and key path."""

    file: str
    line: int | None = None
    key: str = ""

    def problem(self, message: str, key: str | None = None) -> Problem:
        return Problem(self.file, self.line, self.key if key is None else key, message)


class SourceError(Exception):
    """A source (or one reading of it: as a script, as YAML, as INI) cannot be used."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def fail(where: Where, message: str, key: str | None = None) -> SourceError:
    """The error for one problem at one place (raise it)."""
    return SourceError([where.problem(message, key)])
