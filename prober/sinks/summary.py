"""Summary sink: counts by status and group, slowest probes, failures by kind; the exit code."""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from typing import Any

from prober.model import Result, Status

EXIT_OK, EXIT_WARN, EXIT_FAIL, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
SLOWEST = 5
EXAMPLES = 3
GROUPS_SHOWN = 20
STOP_REASONS = {
    "cancelled": "interrupted (SIGINT/SIGTERM); unfinished probes recorded as cancelled",
    "deadline": "the sweep deadline passed; unfinished probes recorded as deadline",
    "internal": "an internal error stopped the engine",
}


class Summary:
    """Accumulates what the human summary and the final `sweep` line need, in O(groups) memory."""

    def __init__(self, planned: int) -> None:
        self.planned = planned
        self.by_status: Counter[str] = Counter()
        self.by_group: dict[str, Counter[str]] = defaultdict(Counter)
        self.by_kind: Counter[str] = Counter()
        self.kind_examples: dict[str, list[str]] = defaultdict(list)
        self._slowest: list[tuple[float, str]] = []
        # The event loop's worst lag during the sweep (the worst process's under --workers): a
        # timer checked every 20 ms fired this late at worst. Large values mean timings are suspect.
        self.loop_lag_max_ms: float | None = None

    def __call__(self, result: Result) -> None:
        status = result.status.value
        job = result.job
        self.by_status[status] += 1
        self.by_group[job.target.group][status] += 1
        if result.error is not None:
            self.by_kind[result.error.kind] += 1
            examples = self.kind_examples[result.error.kind]
            if len(examples) < EXAMPLES:
                examples.append(f"{job.target.name}/{job.spec.name}: {result.error.message}")
        latency = result.latency_ms
        # The label is built only for a result that can enter the slowest list (most cannot).
        if latency is not None and (len(self._slowest) < SLOWEST or latency >= self._slowest[0][0]):
            item = (latency, f"{job.target.name}/{job.spec.name}")
            if len(self._slowest) < SLOWEST:
                heapq.heappush(self._slowest, item)
            else:
                heapq.heappushpop(self._slowest, item)

    def exit_code(self, max_fail: tuple[float, bool] | None, stop_reason: str | None) -> int:
        """0 all ok; 1 warnings (or failures within --max-fail); 2 failures; 130 interrupted."""
        if stop_reason == "cancelled":
            return EXIT_INTERRUPTED
        fails = self.by_status[Status.FAIL.value]
        if fails:
            if max_fail is None:
                return EXIT_FAIL
            amount, percent = max_fail
            budget = amount * self.planned / 100 if percent else amount
            return EXIT_FAIL if fails > budget else EXIT_WARN
        return EXIT_WARN if self.by_status[Status.WARN.value] else EXIT_OK

    def sweep_record(
        self, run_id: str, duration_s: float, exit_code: int, stop_reason: str | None
    ) -> dict[str, Any]:
        counts = {s.value: self.by_status[s.value] for s in Status}
        return {
            "event": "sweep",
            "run_id": run_id,
            "planned": self.planned,
            "counts": counts,
            "by_group": {g: {s.value: c[s.value] for s in Status} for g, c in sorted(self.by_group.items())},
            "errors": dict(sorted(self.by_kind.items())),
            "duration_ms": round(duration_s * 1000, 1),
            "loop_lag_max_ms": self.loop_lag_max_ms,
            "exit_code": exit_code,
            "stopped": stop_reason,
        }

    def render(self, duration_s: float, exit_code: int, stop_reason: str | None = None) -> str:
        """The human summary printed to stderr at the end of a sweep."""
        counts = " ".join(f"{s.value}={self.by_status[s.value]}" for s in Status)
        lines = [f"prober: {self.planned} probes in {duration_s:.2f}s: {counts} (exit {exit_code})"]
        if stop_reason:
            lines.append(f"  stopped early: {STOP_REASONS.get(stop_reason, stop_reason)}")
        # Worst groups first, so a fleet of thousands of groups still fits on a screen.
        groups = sorted(self.by_group.items(), key=lambda item: (-item[1]["fail"], -item[1]["warn"], item[0]))
        for group, counter in groups[:GROUPS_SHOWN]:
            row = " ".join(f"{s.value}={counter[s.value]}" for s in Status)
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
        return "\n".join(lines)
