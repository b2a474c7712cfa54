"""The gate's part of the human summary: the verdict in words, and every failing host by group,
collapsed past a screenful with a count and where the full list is."""

from __future__ import annotations

from collections.abc import Iterable

from prober.exits import Exit
from prober.sinks.gate import Gate, GroupGate
from prober.sinks.safetext import one_line

MIN_ROWS = 8  # host lines shown even on a tiny terminal


def verdict(gate: Gate, warnings: int, code: int) -> str:
    """One line: passed or failed, and what was allowed through (warnings, failures within budget)."""
    what = "failing hosts" if gate.fail_on == "fail" else "failing or warning hosts"
    if code == Exit.INTERRUPTED:
        return f"  gate: no verdict, the sweep was interrupted (exit {code})"
    if not gate.passed:
        over = [name for name, group in gate.groups.items() if not group.passed]
        names = ", ".join(over[:5]) + (f" and {len(over) - 5} more" if len(over) > 5 else "")
        return f"  gate FAILED (exit {code}): {len(over)} group(s) over budget: {names}"
    allowed = []
    if gate.failing_hosts():
        allowed.append(f"{gate.failing_hosts()} {what} within budget")
    if warnings and gate.fail_on == "fail":
        allowed.append(f"{warnings} warning(s)")
    tail = f": {', '.join(allowed)} allowed" if allowed else ""
    return f"  gate passed (exit {code}){tail}"


def failing_hosts(gate: Gate, *, rows: int, width: int, pointer: str) -> list[str]:
    """Each group with failing hosts, its count against its budget, then its hosts' names packed
    into lines of `width`; past `rows` lines the rest is counted and `pointer` says where it is."""
    lines: list[str] = []
    shown = 0
    rows = max(rows, MIN_ROWS)
    for name, group in gate.worst_first():
        if len(lines) + 2 > rows:
            break
        lines.append(f"    {one_line(name, 60)}: {_counts(gate, group)}")
        names = sorted(group.failing, key=lambda host: (not group.failing[host], host))
        packed = _pack(_labels(gate, group, names), width - 6)
        room = rows - len(lines)
        fits = packed if len(packed) <= room else packed[: room - 1]
        lines.extend(f"      {text}" for text, _ in fits)
        shown += sum(count for _, count in fits)
        if len(fits) < len(packed):
            break
    left = gate.failing_hosts() - shown
    if left > 0:
        lines.append(f"    … and {left} more failing hosts: {pointer}")
    return lines


def _counts(gate: Gate, group: GroupGate) -> str:
    budget = f"max_fail {group.budget.text} allows {group.allowed}"
    state = "within budget" if group.passed else "OVER BUDGET"
    if gate.baseline is None:
        return f"{len(group.failing)} of {group.hosts} hosts failing, {budget}: {state}"
    still = len(group.failing) - group.counted
    return f"{group.counted} of {group.hosts} hosts newly failing ({still} still failing), {budget}: {state}"


def _labels(gate: Gate, group: GroupGate, names: Iterable[str]) -> list[str]:
    if gate.baseline is None:
        return [one_line(name, 80) for name in names]
    return [one_line(name, 80) + ("" if group.failing[name] else " (still)") for name in names]


def _pack(names: list[str], width: int) -> list[tuple[str, int]]:
    """Names joined by ', ' into lines of at most `width` characters: (line, names on it)."""
    packed: list[tuple[str, int]] = []
    line: list[str] = []
    size = 0
    for name in names:
        if line and size + 2 + len(name) > width:
            packed.append((", ".join(line), len(line)))
            line, size = [], 0
        size += len(name) + (2 if line else 0)
        line.append(name)
    if line:
        packed.append((", ".join(line), len(line)))
    return packed


__all__ = ["failing_hosts", "verdict"]
