"""A stdout reader that starts late, in one process and under --workers: no false timeouts, every line."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.fleet import Fleet, addresses
from bench.inventories import patterns, prober_inventory
from tests.conftest import ROOT, cli_env

PORT = 18482
HOSTS = 1000
STALL_S = 4.0  # twice the probe timeout: a probe frozen through the stall can only end as `timeout`


def _late_reader_sweep(inventory: Path, workers: str) -> tuple[int, list[dict[str, object]], str]:
    """Run a sweep whose stdout pipe (one page, 4096 bytes) nobody reads for STALL_S seconds after the
    sweep starts; then read everything. Returns (exit code, records, stderr)."""
    read_fd, write_fd = os.pipe()
    fcntl.fcntl(read_fd, fcntl.F_SETPIPE_SZ, 4096)
    proc = subprocess.Popen(
        [sys.executable, "-m", "prober", "sweep", str(inventory), "--workers", workers],
        stdout=write_fd,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=cli_env(),
        cwd=ROOT,
    )
    os.close(write_fd)
    assert proc.stderr is not None
    stderr = b""
    while b"sweep starting" not in stderr:  # imports and planning are done: probes start now
        line = proc.stderr.readline()
        assert line, stderr
        stderr += line
    time.sleep(STALL_S)
    with os.fdopen(read_fd, "rb") as out:
        stdout = out.read()
    stderr += proc.stderr.read()
    code = proc.wait(timeout=60)
    return code, [json.loads(line) for line in stdout.splitlines()], stderr.decode()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_reader_that_starts_late_causes_no_false_timeout(
    workers: str, fleet: Fleet, tmp_path: Path, loopback_block: int
) -> None:
    """1,000 healthy TCP hosts on loopback and a reader that starts 4 s late (twice the probe timeout):
    every probe is ok with its true latency, whether one process or two workers do the probing."""
    fleet.python_servers("tcp", addresses(loopback_block, HOSTS), PORT)
    inventory = prober_inventory(
        tmp_path / "inv.yaml",
        {"port": f"{{type: tcp, port: {PORT}}}"},
        patterns(loopback_block, HOSTS),
        timeout="2s",
    )
    code, lines, stderr = _late_reader_sweep(inventory, workers)
    assert "Traceback" not in stderr
    probes = [r for r in lines if r["event"] == "probe"]
    assert lines[-1]["event"] == "sweep" and len(probes) == HOSTS
    assert lines[-1]["counts"] == {"ok": HOSTS, "warn": 0, "fail": 0}, lines[-1]["errors"]
    assert code == 0
    # A probe frozen through the stall would report ≥ 4,000 ms even if it were not cut at 2 s.
    assert max(r["latency_ms"] for r in probes) < STALL_S * 1000 / 2  # type: ignore[type-var]
