"""In-process sweeps of 1,000 hostile hosts: no file descriptor leak, bounded memory, one record each."""

from __future__ import annotations

import asyncio
import gc
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from prober.cli import sweep
from prober.runtime.execute import execute
from prober.runtime.records import Recorder
from prober.sinks.base import FanOut
from prober.sinks.jsonl import BackgroundJsonlSink
from prober.sinks.summary import Summary
from tests.cli.hostile import ServerProcess, free_port

ROLES = ("refused", "hung", "reset", "http_ok")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"{field} not in /proc/self/status")


def address(block: int, index: int) -> str:
    return f"127.{block}.{index // 250}.{index % 250 + 1}"


def write_inventory(path: Path, block: int, port: int, per_role: int) -> dict[str, str]:
    """One group per role, `per_role` hosts each on 127.<block>.x.y; return {host: role}."""
    roles: dict[str, str] = {}
    lines = [
        "defaults: {timeout: 2s, retries: 0, concurrency: 256}",
        "probes:",
        f'  web: {{type: http, url: "http://{{address}}:{port}/", expect_status: [200]}}',
        f'  banner: {{type: tcp, port: {port}, send: "GET / HTTP/1.0\\r\\n\\r\\n", expect: "^HTTP/1"}}',
        "groups:",
    ]
    for number, role in enumerate(ROLES):
        lines += [f"  {role}:", "    probes: [web, banner]", "    hosts:"]
        if role == "hung":  # a short timeout for the hosts that need one; generous for the rest
            lines[-1:-1] = ["    overrides: {web: {timeout: 300ms}, banner: {timeout: 300ms}}"]
        for index in range(number * per_role, (number + 1) * per_role):
            roles[f"h{index:04d}"] = role
            lines.append(f"      h{index:04d}: {{address: {address(block, index)}}}")
    path.write_text("\n".join(lines) + "\n")
    return roles


async def run_sweep(inventory: Path, out: Path) -> list[dict[str, Any]]:
    _, settings, jobs = sweep.load(str(inventory), sweep.SweepFlags())
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    summary = Summary(len(jobs))
    records = BackgroundJsonlSink(fd, "leak")
    fanout = FanOut([summary, records], queue=records)
    try:
        recorder = Recorder("leak")
        outcome = await execute(jobs, settings, fanout=fanout, recorder=recorder, handle_signals=False)
        await asyncio.to_thread(fanout.close)
    finally:
        os.close(fd)
    assert outcome.stop_reason is None and sum(summary.by_status.values()) == len(jobs)
    text = await asyncio.to_thread(out.read_text)
    return [json.loads(line) for line in text.splitlines()]


class TestHostileFleetResources:
    @pytest.mark.timeout(120)  # two sweeps of 1,000 hosts: ~6 s idle
    async def test_no_fd_growth_over_1000_hostile_hosts(self, tmp_path: Path, loopback_block: int) -> None:
        """Two sweeps of 1,000 refused/hung/reset/healthy hosts (HTTP and TCP) leave the fd count as is."""
        port = free_port(f"127.{loopback_block}.0.1")
        roles = write_inventory(tmp_path / "inv.yaml", loopback_block, port, per_role=250)
        plan = [
            [role, address(loopback_block, index), port]
            for index, role in enumerate(roles.values())
            if role != "refused"
        ]
        servers = ServerProcess(plan, tmp_path)  # the servers' work must not slow the sweep's loop
        try:
            await run_sweep(tmp_path / "inv.yaml", tmp_path / "warm.jsonl")  # one-time lazy setup
            await asyncio.sleep(0.3)  # let the black holes see their clients go
            gc.collect()
            fds_before, rss_before = open_fds(), rss_mb()
            for round_ in range(2):
                recs = await run_sweep(tmp_path / "inv.yaml", tmp_path / f"run{round_}.jsonl")
                assert len({(r["host"], r["probe"]) for r in recs}) == len(recs) == 2000
                kinds = Counter((roles[r["host"]], r["error"]["kind"] if r["error"] else "ok") for r in recs)
                assert kinds == {
                    ("refused", "refused"): 500,
                    ("hung", "timeout"): 500,
                    ("reset", "reset"): 500,
                    ("http_ok", "ok"): 500,
                }
            await asyncio.sleep(0.3)
            gc.collect()
            fds_after, rss_after = open_fds(), rss_mb()
        finally:
            servers.close()
        assert fds_after - fds_before <= 4, f"fds {fds_before} → {fds_after}"
        assert rss_after - rss_before < 50, f"RSS {rss_before:.0f} → {rss_after:.0f} MB"
        print(
            f"\nfds {fds_before} → {fds_after}; RSS {rss_before:.0f} → {rss_after:.0f} MB,"
            f" peak {rss_mb('VmHWM'):.0f} MB"
        )
