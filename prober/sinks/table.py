"""The terminal's view of a sweep: a table of the results that are not ok, by group and error kind.

Printed once the sweep is over (rows are grouped, so they cannot stream), to the output fd; every
remote text is one line with control characters replaced, so a server cannot move the cursor or
recolour the terminal. Bounded: ROWS rows per (group, kind) and TOTAL_ROWS in all, the rest counted."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from prober.sinks.base import Record
from prober.sinks.safetext import no_workflow_commands, one_line
from prober.sinks.writer import write_all

ROWS = 20  # per (group, kind)
TOTAL_ROWS = 400
HOST_WIDTH, PROBE_WIDTH = 28, 16


class TableSink:
    """Keeps the non-ok records (bounded), writes the table at close."""

    def __init__(self, fd: int, width: int = 120) -> None:
        self.fd = fd
        self.width = max(width, 60)
        self.rows: dict[tuple[str, str], list[tuple[str, str, Any, str]]] = defaultdict(list)
        self.count: Counter[tuple[str, str]] = Counter()
        self.statuses: Counter[str] = Counter()

    def record(self, record: Record) -> None:
        status = record["status"]
        self.statuses[status] += 1
        if status == "ok":
            return
        error = record["error"]
        key = (record["group"], error["kind"] if error else "warn")
        self.count[key] += 1
        if len(self.rows[key]) < ROWS:
            message = error["message"] if error else record.get("warning") or ""
            self.rows[key].append((record["host"], record["probe"], record["latency_ms"], message))

    def close(self, sweep: Record | None = None) -> None:
        write_all(self.fd, no_workflow_commands("\n".join(self.lines()) + "\n").encode("utf-8", "replace"))

    def lines(self) -> list[str]:
        total = sum(self.statuses.values())
        counts = ", ".join(f"{self.statuses[s]} {s}" for s in ("ok", "warn", "fail"))
        if not self.count:
            return [f"all {total} probes ok"]
        out: list[str] = []
        shown = 0
        # Failures before warnings, then the biggest (group, kind) first.
        for key in sorted(self.count, key=lambda k: (k[1] == "warn", -self.count[k], k)):
            if shown >= TOTAL_ROWS:
                break
            group, kind = key
            out += ["", f"{one_line(group, 60)} · {kind} · {self.count[key]} probe(s)"]
            for host, probe, latency, message in self.rows[key][: TOTAL_ROWS - shown]:
                out.append(self._row(host, probe, latency, message))
                shown += 1
            if self.count[key] > len(self.rows[key]):
                out.append(f"  … and {self.count[key] - len(self.rows[key])} more")
        left = sum(self.count.values()) - shown
        more = f"; {left} not shown (use --format jsonl or -o FILE for every record)" if left > 0 else ""
        return [*out[1:], "", f"{total} probes: {counts}{more}"]

    def _row(self, host: str, probe: str, latency: float | None, message: str) -> str:
        took = "-" if latency is None else f"{latency:.0f} ms"
        host, probe = one_line(host, HOST_WIDTH), one_line(probe, PROBE_WIDTH)
        head = f"  {host:<{HOST_WIDTH}} {probe:<{PROBE_WIDTH}} {took:>9}  "
        return head + one_line(message, max(20, self.width - len(head)))


__all__ = ["TableSink"]
