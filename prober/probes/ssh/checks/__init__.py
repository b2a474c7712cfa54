"""Built-in SSH host checks: each family turns a spec into a POSIX sh command and judges its output."""

from __future__ import annotations

from prober.probes.ssh.checks import disk, load, memory, nagios, process, systemd
from prober.probes.ssh.checks.base import Check, Reading

CHECKS: dict[str, Check] = {
    "disk": disk.CHECK,
    "memory": memory.CHECK,
    "load": load.CHECK,
    "process": process.CHECK,
    "systemd": systemd.CHECK,
    "nagios": nagios.CHECK,
}

__all__ = ["CHECKS", "Check", "Reading"]
