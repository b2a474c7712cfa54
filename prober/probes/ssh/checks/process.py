"""check: process — how many processes have exactly this name (pgrep -x), not counting the probe's own."""

from __future__ import annotations

import shlex

from prober.model import Status
from prober.probes.ssh.checks.base import Check, Output, Reading, Unreadable
from prober.probes.ssh.spec import SSHSpec


def command(spec: SSHSpec) -> str:
    """pgrep's matches, less those in this SSH session (the probe's own shells, and in a combined
    script its helpers: sh, sleep, dd, head...), whose id is field 6 of /proc/PID/stat. The name
    may hold spaces, which shift the fields `read` splits: one `x` per word of it. Without /proc
    (not Linux) every match counts, as before."""
    name = spec.process or ""
    skip = " ".join(["x"] * (4 + max(1, len(name.split()))))
    return (
        f'{{ pgrep -x -- {shlex.quote(name)} || echo "E $?"; }}'
        " | { read -r x x x x x me x 2>/dev/null < /proc/$$/stat || me=; n=0; while read -r p c; do"
        ' case $p in E) [ "$c" = 1 ] && echo 0; exit "$c";; esac;'
        ' if [ -z "$me" ]; then n=$((n + 1));'
        f' elif read -r {skip} s x 2>/dev/null < /proc/$p/stat; then [ "$s" = "$me" ] || n=$((n + 1)); fi;'
        " done; echo $n; }"
    )


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
