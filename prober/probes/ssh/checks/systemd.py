"""check: systemd — `systemctl is-active UNIT`: active is ok, a transition is warn, anything else fail."""

from __future__ import annotations

import shlex

from prober.model import Status
from prober.probes.ssh.checks.base import Check, Output, Reading, Unreadable
from prober.probes.ssh.spec import SSHSpec

_TRANSIENT = {"activating", "reloading", "refreshing"}
_KNOWN = {"active", "inactive", "failed", "deactivating", "maintenance", *_TRANSIENT}


def command(spec: SSHSpec) -> str:
    return f"systemctl is-active -- {shlex.quote(spec.unit or '')}"


def judge(spec: SSHSpec, out: Output) -> Reading:
    lines = out.text().strip().splitlines()
    state = lines[0].strip() if lines else ""
    if state not in _KNOWN:
        # "unknown" too: systemctl prints it for units it has never heard of.
        raise Unreadable(f"systemctl is-active exited {out.exit_status}: {state or out.reason()}")
    check = {
        "name": "systemd",
        "value": state,
        "unit": None,
        "warn": None,
        "crit": None,
        "service": spec.unit,
    }
    if state == "active":
        return Reading(Status.OK, None, check)
    if state in _TRANSIENT:
        return Reading(Status.WARN, f"{spec.unit} is {state}", check)
    return Reading(Status.FAIL, f"{spec.unit} is {state}", check)


CHECK = Check(command, judge)
