"""`--nagios`: prober as a Nagios/Icinga check: one status line with performance data on stdout.

Format (monitoring-plugins guidelines, "Plugin Output" and "Performance data"):
`PROBER CRITICAL - 3 of 120 probes failed; over budget: web (3 of 40 hosts failing, max_fail 2) |
ok=117;;;0;120 warn=0;;;0;120 fail=3;;;0;120 duration=2.310s;;;0; web_failing_hosts=3;;2;0;40`
(one line). Each perfdata item is `'label'=value[UOM];[warn];[crit];[min];[max]`; a group's item has
its budget as the critical threshold (a plain number N is the range 0..N, so more failing hosts than
the budget is critical, as the gate says). Group items are limited to GROUP_ITEMS groups, by name,
so the line stays within Nagios' 8 KiB of plugin output and the set of labels stays stable.
"""

from __future__ import annotations

from prober.exits import Nagios
from prober.model import StopReason
from prober.sinks.gate import Gate
from prober.sinks.summary import Summary

GROUP_ITEMS = 20
UNKNOWN_WHY: dict[str, str] = {  # by StopReason (a results file read back gives its text)
    StopReason.CANCELLED: "the sweep was interrupted",
    StopReason.OUTPUT_ERROR: "results could not be written",
    StopReason.OUTPUT_CLOSED: "results could not be written (reader gone)",
}


def state(gate: Gate, summary: Summary, stopped: str | None, lost: bool) -> Nagios:
    """CRITICAL: the gate failed; WARNING: warnings, or failing hosts within budget; OK: all ok;
    UNKNOWN: the check could not complete (interrupted, results not written)."""
    if lost or stopped == StopReason.CANCELLED:
        return Nagios.UNKNOWN
    if not gate.passed:
        return Nagios.CRITICAL
    if summary.by_status["fail"] or summary.by_status["warn"]:
        return Nagios.WARNING
    return Nagios.OK


def label(name: str) -> str:
    """A perfdata label, quoted when it holds a space, '=' or a quote ('' for a literal quote)."""
    if any(c in name for c in " ='"):
        return "'" + name.replace("'", "''") + "'"
    return name


def status_line(
    code: Nagios, gate: Gate, summary: Summary, duration_s: float, why: str | None = None
) -> str:
    planned, counts = summary.planned, summary.by_status
    if code is Nagios.UNKNOWN:
        text = UNKNOWN_WHY.get(why or "", why or "the check could not complete")
    elif counts["fail"]:
        text = f"{counts['fail']} of {planned} probes failed"
    elif counts["warn"]:
        text = f"{counts['warn']} of {planned} probes warn"
    else:
        text = f"all {planned} probes ok"
    over = [(name, group) for name, group in gate.worst_first() if not group.passed]
    if code is Nagios.UNKNOWN:  # no verdict: the failures may be the stop's own (cancelled)
        pass
    elif over:
        shown = "; ".join(
            f"{name} ({group.counted} of {group.hosts} hosts failing, max_fail {group.allowed})"
            for name, group in over[:3]
        )
        text += f"; over budget: {shown}" + (f" and {len(over) - 3} more groups" if len(over) > 3 else "")
    elif gate.failing_hosts():
        text += f"; {gate.failing_hosts()} failing hosts within budget"
    perf = [f"{s}={counts[s]};;;0;{planned}" for s in ("ok", "warn", "fail")]
    perf.append(f"duration={duration_s:.3f}s;;;0;")
    for name in sorted(gate.groups)[:GROUP_ITEMS]:
        group = gate.groups[name]
        perf.append(f"{label(name + '_failing_hosts')}={group.counted};;{group.allowed};0;{group.hosts}")
    return f"PROBER {code.name} - {text.replace('|', '/')} | {' '.join(perf)}"


__all__ = ["GROUP_ITEMS", "label", "state", "status_line"]
