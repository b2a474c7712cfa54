"""What the HTML report shows, accumulated record by record in bounded memory (latencies: 8 bytes each)."""

from __future__ import annotations

import heapq
import itertools
from array import array
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from prober.results.baseline import Baseline

FAILURES_SHOWN = 500  # rows in the failures table, picked round-robin across (group, kind)
SLOWEST = 20
MESSAGE_MAX = 300


class Row(NamedTuple):
    """One probe as a table row shows it."""

    group: str
    host: str
    probe: str
    status: str
    kind: str
    message: str
    latency_ms: float | None


def row_of(record: dict[str, Any]) -> Row:
    error = record.get("error") or {}
    message = error.get("message") or record.get("warning") or ""
    return Row(
        record["group"],
        record["host"],
        record["probe"],
        record["status"],
        error.get("kind", ""),
        message[:MESSAGE_MAX],
        record.get("latency_ms"),
    )


@dataclass
class Latencies:
    """Every latency of one probe name, by status (for the stacked histogram)."""

    by_status: dict[str, array[float]] = field(default_factory=lambda: defaultdict(lambda: array("d")))
    no_latency: int = 0  # probes that never ran (deadline, cancelled before starting)

    def add(self, status: str, latency: float | None) -> None:
        if latency is None:
            self.no_latency += 1
        else:
            self.by_status[status].append(latency)

    def count(self) -> int:
        return self.no_latency + sum(len(series) for series in self.by_status.values())

    def all(self) -> list[float]:
        return sorted(itertools.chain.from_iterable(self.by_status.values()))


class ReportData:
    """A sink: `record(dict)` per probe record, `close(sweep_line)` once; then the page can be rendered."""

    def __init__(self, baseline: Baseline | None = None) -> None:
        self.baseline = baseline
        self.current = Baseline() if baseline is not None else None  # this run's outcomes, for the diff
        self.by_group: dict[str, Counter[str]] = defaultdict(Counter)
        self.by_kind: Counter[str] = Counter()
        self.total: Counter[str] = Counter()
        self.latency: dict[str, Latencies] = defaultdict(Latencies)
        self._failures: dict[tuple[str, str], list[Row]] = {}
        self._slowest: list[tuple[float, int, Row]] = []
        self._seq = 0
        self.run_ids: dict[str, None] = {}
        self.first_ts = self.last_ts = ""
        self.sweep: dict[str, Any] | None = None
        self.insecure = 0

    def record(self, record: dict[str, Any]) -> None:
        status = record["status"]
        self.total[status] += 1
        self.by_group[record["group"]][status] += 1
        self.latency[record["probe"]].add(status, record.get("latency_ms"))
        self.run_ids.setdefault(str(record.get("run_id", "")), None)
        self._times(record.get("ts"))
        if record.get("insecure") is True:
            self.insecure += 1
        if self.current is not None:
            self.current.add(record)
        if record.get("error"):
            kind = record["error"]["kind"]
            self.by_kind[kind] += 1
            bucket = self._failures.setdefault((record["group"], kind), [])
            if len(bucket) < FAILURES_SHOWN:
                bucket.append(row_of(record))
        latency = record.get("latency_ms")
        if latency is not None and (len(self._slowest) < SLOWEST or latency > self._slowest[0][0]):
            self._seq += 1  # ties keep the first seen; Rows never get compared
            item = (latency, -self._seq, row_of(record))
            (heapq.heappush if len(self._slowest) < SLOWEST else heapq.heappushpop)(self._slowest, item)

    def _times(self, ts: object) -> None:
        if isinstance(ts, str):
            if not self.first_ts or ts < self.first_ts:
                self.first_ts = ts
            if ts > self.last_ts:
                self.last_ts = ts

    def close(self, sweep: dict[str, Any] | None = None) -> None:
        self.sweep = sweep

    def failures(self) -> list[Row]:
        """At most FAILURES_SHOWN failures, taken round-robin across (group, kind), sorted for reading."""
        picked = itertools.islice(
            (row for round_ in itertools.zip_longest(*self._failures.values()) for row in round_ if row),
            FAILURES_SHOWN,
        )
        return sorted(picked, key=lambda row: (row.group, row.host, row.probe))

    def slowest(self) -> list[Row]:
        return [row for _, _, row in sorted(self._slowest, reverse=True)]


__all__ = ["FAILURES_SHOWN", "SLOWEST", "Latencies", "ReportData", "Row"]
