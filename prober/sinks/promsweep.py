"""The sweep line as Prometheus families: its duration, probes by status and error kind, when it ended."""

from __future__ import annotations

import calendar
import time
from collections.abc import Mapping
from typing import Any

from prometheus_client.core import GaugeMetricFamily

from prober.sinks.promfamilies import STATUSES, epoch


def families(line: Mapping[str, Any], now: float | None) -> list[GaugeMetricFamily]:
    """The families of one sweep line; `now` is when it ended (None: taken from the line itself)."""
    duration = float(line["duration_ms"]) / 1000
    counts = line["counts"]
    planned = float(line["planned"])
    ended = now if now is not None else ended_at(line, duration)
    probes = GaugeMetricFamily("prober_sweep_probes", "Probes of the last sweep by status", labels=["status"])
    for status in STATUSES:
        probes.add_metric([status], float(counts.get(status, 0)))
    errors = GaugeMetricFamily(
        "prober_sweep_errors", "Probes of the last sweep by error kind", labels=["kind"]
    )
    for kind, count in sorted((line.get("errors") or {}).items()):
        errors.add_metric([str(kind)], float(count))
    out = [
        GaugeMetricFamily("prober_sweep_duration_seconds", "How long the last sweep took", value=duration),
        GaugeMetricFamily("prober_sweep_planned_probes", "Probes the last sweep planned", value=planned),
        probes,
        errors,
        GaugeMetricFamily(
            "prober_last_sweep_timestamp_seconds",
            "When the last sweep ended, in seconds since the epoch",
            value=ended,
        ),
        GaugeMetricFamily(
            "prober_sweep_exit_code",
            "Exit code of the last sweep (0 ok, 1 warn, 2 fail, 130 interrupted)",
            value=float(line.get("exit_code") or 0),
        ),
    ]
    lag = line.get("loop_lag_max_ms")
    if lag is not None:  # present once the sweep line carries it
        help_text = "How late the event loop ran at worst during the last sweep (timers fired late by this)"
        out.append(GaugeMetricFamily("prober_sweep_loop_lag_max_seconds", help_text, value=float(lag) / 1000))
    return out


def ended_at(line: Mapping[str, Any], duration: float) -> float:
    """When a sweep ended: its `ts` if it has one, else its run_id's start (to the second) plus its
    duration, else now. A sweep read back from a file keeps its own time, not the reading's."""
    if isinstance(line.get("ts"), str):
        return epoch(line["ts"])
    started = str(line.get("run_id", ""))[:16]  # 20261127T072918Z-5bb35cb6
    try:
        return calendar.timegm(time.strptime(started, "%Y%m%dT%H%M%SZ")) + duration
    except ValueError:
        return time.time()
