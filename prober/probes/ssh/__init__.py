"""The SSH probe kind: a command or a built-in host check on each host's one shared connection, host
keys checked against known_hosts read at fleet scale."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from prober.model import Job
from prober.probes.registry import Metric, MetricSample, ProbeKind
from prober.probes.ssh.spec import SSHSpec, combinations, cross_checks
from prober.runtime.prepare import Prepared, distinct_specs, pattern

RECORD_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "exit_status": {"type": ["integer", "null"]},
        "stdout": {"type": ["string", "null"]},
        "port": {"type": "integer"},
    },
    "required": ["exit_status", "stdout"],
}


def _record(spec: SSHSpec, details: Mapping[str, Any]) -> dict[str, Any]:
    return {"exit_status": details.get("exit_status"), "stdout": details.get("stdout"), "port": spec.port}


def _insecure(spec: SSHSpec) -> bool:
    return spec.insecure_ignore_host_key


def _secrets(spec: SSHSpec) -> list[str]:
    """The password and key passphrase, read from the variables the inventory names."""
    names = (spec.password_env, spec.passphrase_env)
    return [value for name in names if name and (value := os.environ.get(name)) is not None]


def _prepare(jobs: Sequence[Job], prepared: Prepared, stop: threading.Event | None) -> None:
    """Output patterns, client options (keys, bcrypt included), known_hosts for every planned lookup."""
    from prober.probes.ssh import prepare as sshprep

    for spec in distinct_specs(jobs):
        if spec.stdout_regex:
            pattern(prepared, spec.stdout_regex)
    sshprep.prepare(jobs, prepared, stop)


def _libraries() -> None:
    from prober._patches import asyncsshload

    asyncsshload.load()  # asyncssh without running gcc and ld to look for liboqs (before any import of it)
    from prober._patches import sshlog

    sshlog.install()  # skips log formatting nobody reads (see its docstring)


SSH_EXIT = Metric("prober_ssh_exit_status", "Exit status of the SSH command, absent when none came back")


def _metrics(section: Mapping[str, Any], record: Mapping[str, Any]) -> Iterable[MetricSample]:
    if section.get("exit_status") is not None:
        yield SSH_EXIT, (), float(section["exit_status"])


KIND = ProbeKind(
    name="ssh",
    spec=SSHSpec,
    probe="prober.probes.ssh.probe:probe",
    record=_record,
    record_schema=RECORD_SCHEMA,
    doc="an SSH login running a command or a built-in host check, judged by its result",
    insecure=_insecure,
    secrets=_secrets,
    prepare=_prepare,
    libraries=_libraries,
    cross_checks=cross_checks,
    combinations=combinations,
    metrics=_metrics,
)

__all__ = ["KIND", "SSHSpec"]
