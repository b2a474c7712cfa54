"""check: nagios — any monitoring-plugins command: exit 0/1/2/3 → ok/warn/fail/fail, perfdata parsed."""

from __future__ import annotations

from prober.model import Status
from prober.probes.ssh.checks import perfdata
from prober.probes.ssh.checks.base import Check, Output, Reading, Unreadable
from prober.probes.ssh.spec import SSHSpec

_STATES = {
    0: ("OK", Status.OK),
    1: ("WARNING", Status.WARN),
    2: ("CRITICAL", Status.FAIL),
    3: ("UNKNOWN", Status.FAIL),
}


def command(spec: SSHSpec) -> str:
    return spec.command or "false"


def judge(spec: SSHSpec, out: Output) -> Reading:
    if out.exit_status not in _STATES:
        raise Unreadable(f"plugin exited {out.exit_status} (not 0-3): {out.reason()}")
    state, status = _STATES[out.exit_status]
    message, perf = perfdata.split_output(out.text())
    check = {
        "name": "nagios",
        "value": out.exit_status,
        "unit": None,
        "warn": None,
        "crit": None,
        "state": state,
        "output": message[:200],
        "perfdata": perfdata.parse(perf),
    }
    text = message[:200] or f"plugin state {state}"
    return Reading(status, None if status is Status.OK else text, check)


CHECK = Check(command, judge)
