"""What a check is (a command and a judge) and how a numeric value meets warn/crit thresholds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prober.model import Status
from prober.probes.ssh.spec import SSHSpec


class Unreadable(Exception):
    """The check's output could not be evaluated (missing tool, unexpected format)."""


@dataclass(frozen=True, slots=True)
class Reading:
    """A judged check: status, a message for warn/fail, and the record's `check` object."""

    status: Status
    message: str | None
    check: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Output:
    """What the remote command produced (stdout and stderr already capped)."""

    stdout: bytes
    stderr: bytes
    exit_status: int

    def text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")

    def reason(self) -> str:
        """A short why for a failed command: its first stderr (or stdout) line."""
        for blob in (self.stderr, self.stdout):
            line = blob.decode("utf-8", errors="replace").strip().splitlines()
            if line:
                return line[0][:200]
        return "no output"


@dataclass(frozen=True, slots=True)
class Check:
    """One check family: the remote command for a spec and the judge of its output."""

    command: Callable[[SSHSpec], str]
    judge: Callable[[SSHSpec, Output], Reading]


def threshold(name: str, value: float, unit: str, spec: SSHSpec, what: str, **extra: Any) -> Reading:
    """ok below warn; warn at or past warn; fail at or past crit."""
    check = {"name": name, "value": value, "unit": unit, "warn": spec.warn, "crit": spec.crit, **extra}
    shown = f"{what} {value:g}{unit if unit == '%' else ' ' + unit}"
    if spec.crit is not None and value >= spec.crit:
        return Reading(Status.FAIL, f"{shown} at or past crit {spec.crit:g}", check)
    if spec.warn is not None and value >= spec.warn:
        return Reading(Status.WARN, f"{shown} at or past warn {spec.warn:g}", check)
    return Reading(Status.OK, None, check)


def worst(*readings: Reading) -> Reading:
    """The reading with the worst status (the first one on a tie)."""
    order = {Status.OK: 0, Status.WARN: 1, Status.FAIL: 2}
    return max(readings, key=lambda r: order[r.status])


def require_success(out: Output, tool: str) -> None:
    if out.exit_status != 0:
        raise Unreadable(f"{tool} exited {out.exit_status}: {out.reason()}")
