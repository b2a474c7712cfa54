"""Frozen data passed down the pipeline: targets, probe specs, jobs and results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar


class Status(StrEnum):
    """Verdict of one probe."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


ERROR_KINDS: frozenset[str] = frozenset(
    {
        "timeout",
        "refused",
        "dns",
        "tls",
        "reset",
        "http_status",
        "assertion",
        "auth",
        "host_key",
        "protocol",
        "deadline",
        "cancelled",
        "internal",
    }
)
# Failures worth another attempt: the network may behave next time, a wrong answer will not.
TRANSIENT_KINDS: frozenset[str] = frozenset({"timeout", "refused", "reset"})


class StopReason(StrEnum):
    """Why a sweep stopped before every probe ran (the sweep line's `stopped`). A probe it left
    unfinished is recorded with error kind `cancelled`, `deadline` or `internal` (an output that was
    lost stops the sweep like a signal: `cancelled`)."""

    CANCELLED = "cancelled"  # SIGINT/SIGTERM (exit 130)
    DEADLINE = "deadline"  # the sweep's --deadline passed
    INTERNAL = "internal"  # the engine lost a worker task or process to a bug
    OUTPUT_CLOSED = "output_closed"  # the results' reader left (exit 141)
    OUTPUT_ERROR = "output_error"  # results could not be written, e.g. a full disk (exit 2)


@dataclass(frozen=True, slots=True)
class Target:
    """A host as the inventory names it, with the group that planned it."""

    name: str
    address: str
    group: str
    vars: Mapping[str, Any] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)  # the inventory's `labels:` vars, as text


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseSpec:
    """Parameters common to every probe kind."""

    kind: ClassVar[str] = ""
    name: str
    timeout: float = 2.0
    retries: int = 1
    latency_warn: float | None = None


# Each kind's spec subclasses BaseSpec in its own module (prober/probes/<kind>); see the registry.
ProbeSpec = BaseSpec


@dataclass(frozen=True, slots=True)
class Job:
    """One planned probe: a target and a fully resolved spec."""

    index: int
    target: Target
    spec: ProbeSpec


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """Why a probe failed: one of ERROR_KINDS and a human message."""

    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a probe returns on success: per-kind details and an optional warning."""

    details: dict[str, Any]
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """The verdict on one job; exactly one exists per planned job."""

    job: Job
    status: Status
    latency_ms: float | None
    attempts: int
    ts: float
    error: ErrorInfo | None = None
    warning: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
