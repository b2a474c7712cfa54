"""check: process — how many processes have exactly this name (pgrep -x), against min and max."""

from __future__ import annotations

import shlex

from prober.model import SSHSpec, Status
from prober.probes.checks.base import Check, Output, Reading, Unreadable


def command(spec: SSHSpec) -> str:
    # exec: the shell would otherwise be one more process, and count itself for name "sh".
    return f"exec pgrep -c -x -- {shlex.quote(spec.process or '')}"


def judge(spec: SSHSpec, out: Output) -> Reading:
    # pgrep: 0 = some matched, 1 = none matched (still prints 0), 2/3 = error.
    text = out.text().strip()
    if out.exit_status not in (0, 1) or not text.isdigit():
        raise Unreadable(f"pgrep exited {out.exit_status}: {out.reason()}")
    count = int(text)
    check = {
        "name": "process",
        "value": count,
        "unit": "processes",
        "warn": None,
        "crit": None,
        "process": spec.process,
        "min": spec.min,
        "max": spec.max,
    }
    if count < spec.min:
        return Reading(Status.FAIL, f"{count} {spec.process} processes, fewer than min {spec.min}", check)
    if spec.max is not None and count > spec.max:
        return Reading(Status.FAIL, f"{count} {spec.process} processes, more than max {spec.max}", check)
    return Reading(Status.OK, None, check)


CHECK = Check(command, judge)
