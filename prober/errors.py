"""The exception tree of prober; foreign exceptions are translated to records in engine/classify.

ProberError                 base of everything prober raises on purpose
├── InventoryError          bad input: carries every Problem found (file:line, key, message)
├── InputError              other bad input (a results file, an output path): carries its Problem
├── ProbeFailed             a probe got a wrong answer: carries an error kind and details
├── SetupError              a per-sweep resource (key, known_hosts) could not be built
└── Stopped                 preparing a sweep was asked to stop
"""

from __future__ import annotations

from dataclasses import dataclass


class ProberError(Exception):
    """Base of every exception prober raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input file, pinned to where it is."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class InventoryError(ProberError):
    """The inventory could not be used; `problems` lists every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class InputError(ProberError):
    """A results file or an output path could not be used; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ProbeFailed(ProberError):
    """The target answered, but not as the probe spec expects."""

    def __init__(self, kind: str, message: str, **details: object) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details = details


class Stopped(ProberError):
    """Preparing a sweep was asked to stop (a signal, or the sweep's deadline)."""


class SetupError(ProberError):
    """A resource shared by many probes (a key, a known_hosts file) is unusable."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
