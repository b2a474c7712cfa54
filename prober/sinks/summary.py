"""Summary sink: counts by status, group and error kind, the slowest probes; the sweep line's counts."""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from typing import Any

from prober.model import StopReason
from prober.sinks.base import Record
from prober.sinks.safetext import one_line

STATUSES = ("ok", "warn", "fail")
SLOWEST = 5
EXAMPLES = 3
GROUPS_SHOWN = 20
STOP_REASONS: dict[str, str] = {  # by StopReason (a results file read back gives its text)
    StopReason.CANCELLED: "interrupted (SIGINT/SIGTERM); unfinished probes recorded as cancelled",
    StopReason.DEADLINE: "the sweep deadline passed; unfinished probes recorded as deadline",
    StopReason.INTERNAL: "an internal error stopped the engine",
}


class Summary:
    """Accumulates what the human summary and the final `sweep` line count, in O(groups) memory."""

    def __init__(self, planned: int) -> None:
        self.planned = planned
        self.by_status: Counter[str] = Counter()
        self.by_group: dict[str, Counter[str]] = defaultdict(Counter)
        self.by_kind: Counter[str] = Counter()
        self.kind_examples: dict[str, list[str]] = defaultdict(list)
        self._slowest: list[tuple[float, str]] = []

    def record(self, record: Record) -> None:
        status = record["status"]
        self.by_status[status] += 1
        self.by_group[record["group"]][status] += 1
        error = record["error"]
        if error is not None:
            kind = error["kind"]
            self.by_kind[kind] += 1
            examples = self.kind_examples[kind]
            if len(examples) < EXAMPLES:
                examples.append(one_line(f"{record['host']}/{record['probe']}: {error['message']}", 200))
        latency = record["latency_ms"]
        # The label is built only for a result that can enter the slowest list (most cannot).
        if latency is not None and (len(self._slowest) < SLOWEST or latency >= self._slowest[0][0]):
            item = (latency, f"{record['host']}/{record['probe']}")
            if len(self._slowest) < SLOWEST:
                heapq.heappush(self._slowest, item)
            else:
                heapq.heappushpop(self._slowest, item)

    def close(self, sweep: Record | None = None) -> None:
        """Nothing to write: the sweep's end prints `render` (see prober.runtime.finish)."""

    def sweep_fields(self) -> dict[str, Any]:
        """The sweep line's counts: planned, by status, by group, by error kind."""
        return {
            "planned": self.planned,
            "counts": {s: self.by_status[s] for s in STATUSES},
            "by_group": {g: {s: c[s] for s in STATUSES} for g, c in sorted(self.by_group.items())},
            "errors": dict(sorted(self.by_kind.items())),
        }

    def counts_text(self) -> str:
        return " ".join(f"{s}={self.by_status[s]}" for s in STATUSES)

    def render(self, duration_s: float, exit_code: int, stop_reason: str | None = None) -> list[str]:
        """The counting part of the human summary (the gate adds its verdict and failing hosts)."""
        counts = self.counts_text()
        lines = [f"prober: {self.planned} probes in {duration_s:.2f}s: {counts} (exit {exit_code})"]
        if stop_reason:
            lines.append(f"  stopped early: {STOP_REASONS.get(stop_reason, stop_reason)}")
        # Worst groups first, so a fleet of thousands of groups still fits on a screen.
        groups = sorted(self.by_group.items(), key=lambda item: (-item[1]["fail"], -item[1]["warn"], item[0]))
        for group, counter in groups[:GROUPS_SHOWN]:
            row = " ".join(f"{s}={counter[s]}" for s in STATUSES)
            lines.append(f"  group {group:<20} {row}")
        if len(groups) > GROUPS_SHOWN:
            lines.append(f"  … and {len(groups) - GROUPS_SHOWN} more groups (see the sweep line)")
        if self._slowest:
            lines.append("  slowest:")
            for latency, label in sorted(self._slowest, reverse=True):
                lines.append(f"    {latency:9.1f} ms  {label}")
        if self.by_kind:
            lines.append("  failures by kind:")
            for kind, count in self.by_kind.most_common():
                lines.append(f"    {kind:<12} {count}")
                lines.extend(f"      {example}" for example in self.kind_examples[kind])
        return lines


__all__ = ["GROUPS_SHOWN", "STATUSES", "STOP_REASONS", "Summary"]
