"""Time the Prometheus sink over a fleet: record updates, render(), the library's path, the textfile.

    python bench/prom_render.py [--hosts 10000] [--repeat 3]

Records are shaped by prober's own to_record (an HTTPS health check and an SSH disk check per host,
1 host in 13 failing, two `labels:` vars each). CPU time of this process; the best of --repeat runs.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prometheus_client import generate_latest

from prober.model import ErrorInfo, Job, Result, Status, Target
from prober.probes.http.spec import HTTPSpec
from prober.probes.ssh.spec import SSHSpec
from prober.record import to_record
from prober.sinks.prom import PromMetrics


def records(hosts: int) -> list[dict[str, object]]:
    out = []
    now = time.time()
    for index in range(hosts):
        host = f"web{index:05d}.example.com"
        bad = index % 13 == 0
        target = Target(host, f"10.{index // 65536}.{index // 256 % 256}.{index % 256}", "web")
        health = Job(index, target, HTTPSpec(name="health", url=f"https://{host}/healthz"))
        error = ErrorInfo("timeout", "no answer within the probe timeout") if bad else None
        details = {"status_code": None if bad else 200, "cert_days_left": 41.5}
        disk = Job(index, target, SSHSpec(name="disk", check="disk"))
        check = {"check": {"name": "disk", "value": 40 + index % 50, "unit": "%", "warn": 80, "crit": 90}}
        for result in (
            Result(health, Status.FAIL if bad else Status.OK, 12.0 + index % 7, 1, now, error, None, details),
            Result(disk, Status.OK, 30.0, 1, now, None, None, {"exit_status": 0, "stdout": "", **check}),
        ):
            record = to_record(result, "20261130T120000Z-00000000")
            record["labels"] = {"dc": f"dc{index % 3}", "team": "ops"}
            out.append(record)
    return out


def best(function: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    items = records(args.hosts)
    metrics = PromMetrics()
    start = time.process_time()
    for item in items:
        metrics.update(item)
    first = time.process_time() - start
    tracemalloc.start()  # a second, traced build: tracing slows the first one down ~10x
    traced = PromMetrics()
    for item in items:
        traced.update(item)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del traced
    metrics.sweep(
        {
            "event": "sweep",
            "run_id": "20261130T120000Z-00000000",
            "planned": len(items),
            "counts": {"ok": 1, "warn": 0, "fail": 1},
            "by_group": {},
            "duration_ms": 1.0,
            "exit_code": 2,
        }
    )

    def steady() -> None:
        for item in items:
            metrics.update(item)

    again = best(steady, args.repeat)
    text = metrics.render()
    lines = text.count(b"\n")
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "prober.prom")
        rows = [
            ("records", f"{len(items)} ({args.hosts} hosts x 2 probes)"),
            ("exposition", f"{len(text) / 1e6:.1f} MB, {lines} lines"),
            ("memory held", f"{held / 1e6:.1f} MB ({held / len(items):.0f} B per (host, probe))"),
            ("first update of each key", f"{first:.3f} s CPU ({first / len(items) * 1e6:.1f} us/record)"),
            ("steady update", f"{again:.3f} s CPU ({again / len(items) * 1e6:.1f} us/record)"),
            ("render()", f"{best(metrics.render, args.repeat):.3f} s CPU"),
            (
                "generate_latest(collector)",
                f"{best(lambda: generate_latest(metrics), args.repeat):.3f} s CPU",
            ),
            ("write_textfile()", f"{best(lambda: metrics.write_textfile(path), args.repeat):.3f} s CPU"),
        ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
