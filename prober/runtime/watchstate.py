"""What `prober watch` knows about itself: its own metrics, its health, and the cached /metrics text.

The probes' exposition is rendered once per sweep (10,000 hosts: ~0.05-0.1 s of CPU, ~8 MB), not per
scrape; a scrape joins that text with the few lines below, which are rendered each time.
"""

from __future__ import annotations

import gzip
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from prober.record import iso_ts

STARTING, OK, FAILING = "starting", "ok", "failing"


class Families(Collector):
    """A Collector over families already built (what generate_latest takes)."""

    def __init__(self, families: Iterable[Any]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Any]:
        return self.families


_PROCESS = ProcessCollector(registry=None)  # process_cpu_seconds_total, resident memory, open fds


class WatchStats:
    """Counters and gauges of the watch loop (not of the probes), and the health they add up to."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.sweeps = 0  # sweeps that ran to their sweep line
        self.missed_ticks = 0
        self.sweep_errors = 0  # sweeps that failed to run at all
        self.error: str | None = None  # why the last sweep failed to run (None: it ran)
        self.output_errors = 0
        self.reloads: Counter[str] = Counter()
        self.reload_error: str | None = None
        self.reload_ts = time.time()
        self.planned = 0
        self.running_since: float | None = None
        self.stall_after = float("inf")  # a sweep running longer is stuck (see spread.longest_sweep)
        self.last_end: float | None = None
        self.render_seconds = 0.0
        self.probe_requests: Counter[int] = Counter()

    def health(self) -> tuple[int, dict[str, Any]]:
        """/healthz: 200 while starting or when the last sweep ran; 503 when it failed to run. Failing
        probes never make prober unhealthy: they are the fleet's health, in /metrics."""
        error = self.error or self._stalled()
        status = FAILING if error else OK if self.last_end is not None else STARTING
        body: dict[str, Any] = {
            "status": status,
            "sweeps": self.sweeps,
            "sweep_running": self.running_since is not None,
            "last_sweep_end": iso_ts(self.last_end) if self.last_end is not None else None,
            "last_sweep_age_seconds": round(time.time() - self.last_end, 3) if self.last_end else None,
            "interval_seconds": self.interval,
            "missed_ticks": self.missed_ticks,
            "planned_probes": self.planned,
            "error": error,
            "reload": {"ok": self.reload_error is None, "error": self.reload_error},
        }
        return (503 if status == FAILING else 200), body

    def _stalled(self) -> str | None:
        running = time.time() - self.running_since if self.running_since is not None else 0.0
        if running <= self.stall_after:
            return None
        limit = self.stall_after
        return f"the sweep has run for {running:.0f} s: stuck (twice the longest it can take: {limit:.0f} s)"

    def families(self) -> list[Any]:
        gauge, counter = GaugeMetricFamily, CounterMetricFamily
        reloads = counter("prober_watch_reloads", "Inventory reloads by result", labels=["result"])
        for result in ("success", "failure"):
            reloads.add_metric([result], self.reloads[result])
        requests = counter("prober_watch_probe_requests", "/probe requests by HTTP status", labels=["code"])
        for code, count in sorted(self.probe_requests.items()):
            requests.add_metric([str(code)], count)
        return [
            gauge("prober_watch_interval_seconds", "Seconds between sweep starts", value=self.interval),
            counter(
                "prober_watch_missed_ticks",
                "Ticks that came while a sweep was still running (the next sweep started late)",
                value=self.missed_ticks,
            ),
            gauge(
                "prober_watch_sweep_running",
                "1 while a sweep runs",
                value=int(self.running_since is not None),
            ),
            counter("prober_watch_sweep_errors", "Sweeps that failed to run", value=self.sweep_errors),
            counter("prober_watch_output_errors", "Sweeps whose -o output failed", value=self.output_errors),
            reloads,
            gauge(
                "prober_watch_last_reload_successful",
                "1 if the last inventory reload worked (0: the previous inventory is still used)",
                value=int(self.reload_error is None),
            ),
            gauge(
                "prober_watch_last_reload_success_timestamp_seconds",
                "When the inventory in use was loaded",
                value=self.reload_ts,
            ),
            gauge("prober_watch_planned_probes", "Probes the inventory in use plans", value=self.planned),
            gauge(
                "prober_watch_render_seconds",
                "How long rendering the probes' metrics took after the last sweep",
                value=self.render_seconds,
            ),
            requests,
        ]

    def render(self) -> bytes:
        return generate_latest(Families([*self.families(), *_PROCESS.collect()]))


class MetricsCache:
    """The probes' exposition as of the last sweep, and its gzip form made on the first scrape asking."""

    def __init__(self) -> None:
        self.body = b""
        self._gzipped: bytes | None = None

    def set(self, body: bytes) -> None:
        self.body, self._gzipped = body, None

    def gzipped(self) -> bytes:
        """Level 1: ~10x smaller for this repetitive text at a fraction of level 6's CPU."""
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=1, mtime=0)
        return self._gzipped


__all__ = ["Families", "MetricsCache", "WatchStats"]
