"""check: load — the 1-minute load average from /proc/loadavg, divided by nproc when per_cpu is set."""

from __future__ import annotations

from prober.probes.ssh.checks.base import Check, Output, Reading, Unreadable, require_success, threshold
from prober.probes.ssh.spec import SSHSpec


def command(spec: SSHSpec) -> str:
    return "cat /proc/loadavg && nproc"


def judge(spec: SSHSpec, out: Output) -> Reading:
    require_success(out, "cat /proc/loadavg && nproc")
    lines = out.text().split()
    try:
        load1, cpus = float(lines[0]), int(lines[5])
    except (IndexError, ValueError):
        raise Unreadable("cannot parse /proc/loadavg and nproc output") from None
    if cpus < 1:
        raise Unreadable(f"nproc reported {cpus} CPUs")
    value = round(load1 / cpus, 3) if spec.per_cpu else load1
    unit = "per cpu" if spec.per_cpu else "load"
    return threshold("load", value, unit, spec, "1-min load", load1=load1, cpus=cpus, per_cpu=spec.per_cpu)


CHECK = Check(command, judge)
