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


@dataclass(frozen=True, slots=True)
class Target:
    """A host as the inventory names it, with the group that planned it."""

    name: str
    address: str
    group: str
    vars: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseSpec:
    """Parameters common to every probe kind."""

    kind: ClassVar[str] = ""
    name: str
    timeout: float = 2.0
    retries: int = 1
    latency_warn: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HTTPSpec(BaseSpec):
    """An HTTP(S) request and what its answer must look like."""

    kind: ClassVar[str] = "http"
    url: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    headers_env: tuple[tuple[str, str], ...] = ()  # (header, environment variable holding its value)
    safe_headers: tuple[str, ...] = ()  # lower-case header names whose values are shown (redact.py)
    safe_query: tuple[str, ...] = ()  # lower-case query parameters whose values are shown
    expect_status: tuple[tuple[int, int], ...] = ((200, 399),)
    body_regex: str | None = None
    body_max_bytes: int = 65536
    verify_tls: bool = True
    ca_file: str | None = None
    follow_redirects: bool = False
    max_redirects: int = 5
    allow_insecure_redirects: bool = False  # follow https → http (records then say insecure)
    cert_min_days: float | None = None

    @property
    def uses_tls(self) -> bool:
        """True for https URLs, whatever the case of the scheme ("HTTPS://" is valid too)."""
        return self.url[:8].lower() == "https://"

    @property
    def may_use_tls(self) -> bool:
        """True when a TLS connection can happen: an https URL, or redirects followed to one."""
        return self.uses_tls or self.follow_redirects


@dataclass(frozen=True, slots=True, kw_only=True)
class TCPSpec(BaseSpec):
    """A TCP connect, optionally a payload sent and a regex on the first bytes back."""

    kind: ClassVar[str] = "tcp"
    port: int
    send: str | None = None
    send_env: str | None = None  # environment variable holding the payload (a secret: masked)
    expect: str | None = None
    read_max_bytes: int = 4096


@dataclass(frozen=True, slots=True, kw_only=True)
class SSHSpec(BaseSpec):
    """An SSH login running one command (or a built-in host check), judged by its result."""

    kind: ClassVar[str] = "ssh"
    command: str | None = None
    port: int = 22
    user: str | None = None
    key: str | None = None
    known_hosts: str | None = "~/.ssh/known_hosts"
    password_env: str | None = None
    passphrase_env: str | None = None
    agent: bool = True
    insecure_ignore_host_key: bool = False
    expect_exit: int = 0
    stdout_regex: str | None = None
    stdout_max_bytes: int = 65536
    # Connection: a bastion ("user@host:port"), ~/.ssh/config, timeouts inside the probe's deadline.
    jump: str | None = None
    ssh_config: bool = False
    connect_timeout: float | None = None  # TCP connect; None: the probe timeout
    login_timeout: float | None = None  # SSH handshake and auth; None: the probe timeout
    per_host_concurrency: int = 1  # connections per host shared by its SSH probes
    ssh_rate: float | None = None  # new handshakes per second across the sweep
    # Built-in checks (issue 3): check is one of disk, memory, load, process, systemd, nagios.
    check: str | None = None
    path: str = "/"
    inodes: bool = False
    warn: float | None = None
    crit: float | None = None
    per_cpu: bool = False
    process: str | None = None
    min: int = 1
    max: int | None = None
    unit: str | None = None


ProbeSpec = HTTPSpec | TCPSpec | SSHSpec
SPEC_CLASSES: dict[str, type[BaseSpec]] = {c.kind: c for c in (HTTPSpec, TCPSpec, SSHSpec)}


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
