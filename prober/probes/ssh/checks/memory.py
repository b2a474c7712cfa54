"""check: memory — % of memory in use, 100 * (MemTotal - MemAvailable) / MemTotal from /proc/meminfo."""

from __future__ import annotations

from prober.probes.ssh.checks.base import Check, Output, Reading, Unreadable, require_success, threshold
from prober.probes.ssh.spec import SSHSpec


def command(spec: SSHSpec) -> str:
    return "cat /proc/meminfo"


def parse(text: str) -> dict[str, int]:
    """'MemTotal:  16318412 kB' lines → {'MemTotal': 16318412} (kB)."""
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            values[name.strip()] = int(fields[0])
    return values


def judge(spec: SSHSpec, out: Output) -> Reading:
    require_success(out, "cat /proc/meminfo")
    info = parse(out.text())
    total = info.get("MemTotal")
    if not total:
        raise Unreadable("no MemTotal in /proc/meminfo")
    available = info.get("MemAvailable")
    estimated = available is None
    if available is None:  # kernels before 3.14: the usual approximation
        available = info.get("MemFree", 0) + info.get("Buffers", 0) + info.get("Cached", 0)
    used = round(100.0 * (total - available) / total, 1)
    extra = {"total_kb": total, "available_kb": available, "estimated": estimated}
    return threshold("memory", used, "%", spec, "memory used", **extra)


CHECK = Check(command, judge)
