"""What changed between two results files: newly failing, still failing, recovered, added, removed."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterable
from typing import Any, NamedTuple

from prober.exits import Exit
from prober.results.baseline import Baseline, Key, Outcome
from prober.sinks.safetext import one_line

# Listed in this order: what needs attention first.
CHANGES = ("newly_failing", "still_failing", "recovered", "added", "removed")
_ORDER = {change: index for index, change in enumerate(CHANGES)}
EXIT_UNCHANGED, EXIT_NEW_FAILURE = int(Exit.OK), int(Exit.FAILED)  # like the gate


class Change(NamedTuple):
    """One (host, probe) whose outcome changed, or that still fails; None where it is absent."""

    change: str
    host: str
    probe: str
    group: str
    before: Outcome | None
    after: Outcome | None


def classify(before: Outcome | None, after: Outcome | None) -> str | None:
    """The change from `before` to `after`, or None when neither fails and both exist.

    A failure is new unless the probe already failed before: a probe absent from the old file that
    fails in the new one is newly failing (as `--baseline` counts it), not merely added."""
    if after is None:
        return "removed"
    if after.status == "fail":
        return "still_failing" if before is not None and before.status == "fail" else "newly_failing"
    if before is None:
        return "added"
    return "recovered" if before.status == "fail" else None


def compare(old: Baseline, new: Baseline) -> list[Change]:
    """Every change, newly failing first, then by group, host and probe."""
    changes = []
    for key, after in new.outcomes.items():
        change = classify(old.outcomes.get(key), after)
        if change is not None:
            changes.append(_change(change, key, old.outcomes.get(key), after))
    for key, before in old.outcomes.items():
        if key not in new.outcomes:
            changes.append(_change("removed", key, before, None))
    changes.sort(key=lambda c: (_ORDER[c.change], c.group, c.host, c.probe))
    return changes


def _change(change: str, key: Key, before: Outcome | None, after: Outcome | None) -> Change:
    group = (after or before).group  # type: ignore[union-attr]  # one of them exists
    return Change(change, key[0], key[1], group, before, after)


def counts(changes: Iterable[Change]) -> dict[str, int]:
    seen = Counter(change.change for change in changes)
    return {change: seen[change] for change in CHANGES}


def exit_code(changes: Iterable[Change]) -> int:
    """Like the gate: 2 when anything newly fails, else 0."""
    return EXIT_NEW_FAILURE if any(c.change == "newly_failing" for c in changes) else EXIT_UNCHANGED


def _side(outcome: Outcome | None) -> dict[str, Any] | None:
    if outcome is None:
        return None
    return {"status": outcome.status, "kind": outcome.kind, "message": outcome.message}


def change_record(change: Change) -> dict[str, Any]:
    """The JSON line written for one change."""
    return {
        "event": "change",
        "change": change.change,
        "host": change.host,
        "probe": change.probe,
        "group": change.group,
        "before": _side(change.before),
        "after": _side(change.after),
    }


def diff_record(old: Baseline, new: Baseline, changes: list[Change]) -> dict[str, Any]:
    """The last JSON line: both files, their run ids, the count of each change, the exit code."""
    return {
        "event": "diff",
        "old": {"path": old.path, "run_ids": old.run_ids, "probes": len(old.outcomes)},
        "new": {"path": new.path, "run_ids": new.run_ids, "probes": len(new.outcomes)},
        "counts": counts(changes),
        "exit_code": exit_code(changes),
    }


def _state(outcome: Outcome | None) -> str:
    if outcome is None:
        return "-"
    return outcome.kind or outcome.status


def message(change: Change) -> str:
    """The new message, else the old one (why a recovered or removed probe had failed)."""
    for side in (change.after, change.before):
        if side is not None and side.message:
            return side.message
    return ""


def table(changes: list[Change], width: int | None = None) -> str:
    """A table for a terminal: one row per change, remote text on one line and cut to the width."""
    width = width or shutil.get_terminal_size((120, 24)).columns
    header = ("CHANGE", "GROUP", "HOST", "PROBE", "BEFORE", "AFTER", "MESSAGE")
    rows = [
        (
            c.change.replace("_", " "),
            one_line(c.group, 24),
            one_line(c.host, 40),
            one_line(c.probe, 24),
            _state(c.before),
            _state(c.after),
            one_line(message(c)),
        )
        for c in changes
    ]
    sizes = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header[:-1])]
    lines = []
    for row in [header, *rows]:
        left = "  ".join(cell.ljust(size) for cell, size in zip(row, sizes, strict=False))
        room = max(width - len(left) - 2, 20)
        last = row[-1] if len(row[-1]) <= room else row[-1][: room - 1] + "…"
        lines.append(f"{left}  {last}".rstrip())
    return "\n".join(lines)


def footer(changes: list[Change]) -> str:
    """One line: the count of each change and the exit code."""
    seen = counts(changes)
    parts = ", ".join(f"{seen[c]} {c.replace('_', ' ')}" for c in CHANGES)
    return f"prober diff: {parts} (exit {exit_code(changes)})"


__all__ = ["CHANGES", "Change", "change_record", "classify", "compare", "diff_record", "exit_code", "table"]
