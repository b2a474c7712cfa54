"""Hostile SSH hosts (issue 5): every case ends within its deadline, with the right kind, memory bounded."""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from prober.model import Target
from prober.probes.ssh.spec import SSHSpec
from prober.sim import sshd
from tests.ssh.conftest import run_jobs, run_one


def _hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _reset_hwm() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak RSS (VmHWM)
    except OSError:
        return False
    return True


async def _hostile(mode: str, address: str = "127.0.0.1") -> tuple[asyncio.Server, int]:
    server = await sshd.start_hostile(address, 0, mode)
    return server, server.sockets[0].getsockname()[1]


class TestBeforeLogin:
    async def test_banner_then_silence_times_out(self) -> None:
        """A server that sends its banner and then nothing ends in a timeout within the deadline."""
        server, port = await _hostile("silent_banner")
        try:
            spec = SSHSpec(
                name="s", command="true", port=port, known_hosts="/dev/null", timeout=0.3, retries=0
            )
            started = time.perf_counter()
            record = await run_one(Target("silent", "127.0.0.1", "g"), spec)
        finally:
            server.close()
        assert record["error"]["kind"] == "timeout"
        assert time.perf_counter() - started < 0.3 * 2 + 1

    async def test_login_timeout_is_separate(self) -> None:
        """login_timeout shorter than the probe timeout ends the handshake first and says so."""
        server, port = await _hostile("silent_banner")
        try:
            spec = SSHSpec(
                name="s",
                command="true",
                port=port,
                known_hosts="/dev/null",
                timeout=3,
                login_timeout=0.2,
                retries=0,
            )
            started = time.perf_counter()
            record = await run_one(Target("silent", "127.0.0.1", "g"), spec)
        finally:
            server.close()
        assert record["error"]["kind"] == "timeout"
        assert "within 0.2s" in record["error"]["message"]
        assert time.perf_counter() - started < 0.2 * 2 + 1

    async def test_connect_timeout_is_separate(self, blackhole: int) -> None:
        """connect_timeout bounds the TCP connect alone, well inside a longer probe timeout."""
        spec = SSHSpec(
            name="c", command="true", port=blackhole, known_hosts="/dev/null", timeout=3, connect_timeout=0.2,
            retries=0,
        )  # fmt: skip
        started = time.perf_counter()
        record = await run_one(Target("blackhole", "127.0.0.1", "g"), spec)
        assert record["error"]["kind"] == "timeout"
        assert "TCP connect" in record["error"]["message"] and "within 0.2s" in record["error"]["message"]
        assert time.perf_counter() - started < 0.2 * 2 + 1

    async def test_endless_garbage_before_banner(self) -> None:
        """Endless non-SSH lines are a protocol error once the client has read 1,024 of them (~200 KB,
        milliseconds of work), long before the 30 s timeout: memory stays bounded."""
        server, port = await _hostile("garbage")
        reset = _reset_hwm()
        before = _hwm_kb()
        try:
            spec = SSHSpec(
                name="g", command="true", port=port, known_hosts="/dev/null", timeout=30, retries=0
            )
            record = await run_one(Target("garbage", "127.0.0.1", "g"), spec)
        finally:
            server.close()
        assert record["error"]["kind"] == "protocol", record["error"]
        assert "banner" in record["error"]["message"].lower()
        if reset:
            assert _hwm_kb() - before < 50_000

    async def test_refused_port(self) -> None:
        """A closed port fails with kind refused."""
        server, port = await _hostile("silent_banner")
        server.close()
        await server.wait_closed()
        spec = SSHSpec(name="r", command="true", port=port, known_hosts="/dev/null", timeout=1, retries=0)
        record = await run_one(Target("closed", "127.0.0.1", "g"), spec)
        assert record["error"]["kind"] == "refused"


class TestCommands:
    async def test_command_that_never_exits_times_out(self, sim_server) -> None:
        """A command that never exits ends the probe at its deadline; the host's connection stays usable."""
        server = await sim_server()
        target = server.target()
        pairs = [
            (target, server.spec(name="hang", command="sleep 600", timeout=0.3)),
            (target, server.spec(name="ok")),
        ]
        sweep = await run_jobs(pairs, concurrency=1)
        assert sweep.records[0]["error"]["kind"] == "timeout"
        assert sweep.records[0]["latency_ms"] < (0.3 * 2 + 1) * 1000
        assert sweep.records[1]["status"] == "ok"
        assert server.stats.logins == 1

    async def test_fifty_megabytes_of_output(self, sim_server) -> None:
        """A command printing 50 MB is read to its end (exit status 0: `head` wrote every byte) with
        client memory bounded, and yields an ok record under 4 KiB. Streaming 50 MB over loopback
        takes ~1 s here; the 30 s timeout leaves room for a loaded machine, so ok is the only verdict."""
        server = await sim_server()
        reset = _reset_hwm()
        before = _hwm_kb()
        spec = server.spec(command="head -c 50000000 /dev/zero", timeout=30)
        record = await run_one(server.target(), spec)
        assert record["status"] == "ok", record["error"]
        assert record["ssh"]["exit_status"] == 0 and record["ssh"]["stdout"].startswith("\x00")
        assert len(orjson.dumps(record)) < 4096
        if reset:
            assert _hwm_kb() - before < 40_000  # 50 MB never held at once

    async def test_channel_closed_without_exit_status(self, sim_server) -> None:
        """A channel closed without an exit status is a fail with kind protocol."""
        server = await sim_server(behaviour="no_exit_status")
        record = await run_one(server.target(), server.spec())
        assert record["status"] == "fail"
        assert record["error"]["kind"] == "protocol"
        assert record["ssh"]["exit_status"] is None

    async def test_check_without_exit_status_is_protocol(self, sim_server) -> None:
        """A built-in check whose channel closes without a status fails with protocol too."""
        server = await sim_server(behaviour="no_exit_status")
        record = await run_one(server.target(), server.spec(check="memory", warn=90, crit=95))
        assert record["error"]["kind"] == "protocol"


class TestHostileFleet:
    @pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc/self/fd")
    async def test_no_fd_leak_one_record_each(self, sim_server, tmp_path: Path) -> None:
        """A sweep over 200 hostile SSH hosts gives one valid record each and leaks no descriptors."""
        servers: list[asyncio.Server] = []
        pairs: list[tuple[Target, SSHSpec]] = []
        base = SSHSpec(name="x", command="true", port=1, known_hosts="/dev/null", timeout=0.25, retries=0)
        for i in range(100):
            address = f"127.0.{200 + i // 50}.{i % 50 + 1}"
            mode = "silent_banner" if i % 2 else "garbage"
            server, port = await _hostile(mode, address)
            servers.append(server)
            pairs.append((Target(f"h{i}", address, "g"), replace(base, port=port)))
        good = await sim_server()
        quiet = await sim_server(behaviour="no_exit_status")
        for i in range(50):
            pairs.append((good.target(f"slow{i}"), good.spec(name=f"s{i}", command="sleep 5", timeout=0.25)))
            pairs.append((quiet.target(f"q{i}"), quiet.spec(name=f"q{i}")))
        fds_before = len(os.listdir("/proc/self/fd"))
        try:
            sweep = await run_jobs(pairs, concurrency=100)
        finally:
            for server in servers:
                server.close()
        await asyncio.sleep(0.2)
        assert len(sweep.records) == len(pairs) == 200
        assert sorted(r["probe"] + r["host"] for r in sweep.records) == sorted(
            s.name + t.name for t, s in pairs
        )
        for record in sweep.records:
            json.loads(orjson.dumps(record))
            assert record["status"] == "fail"
        assert sweep.seconds < 0.25 * 2 + 3
        assert len(os.listdir("/proc/self/fd")) <= fds_before + 5
