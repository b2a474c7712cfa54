"""Checks batched on one host run at once, each under its own budget: a hung one is `timeout` alone."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ssh.conftest import Keys, OpenSSH, run_jobs, running_sshd


def session_of(pid: int) -> int:
    """The session id of a process (field 6 of /proc/PID/stat; the name may hold spaces)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[3])


def in_session(sid: int) -> list[int]:
    """Every process still in session `sid`: sshd starts each session's command as a session leader."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if session_of(int(entry.name)) == sid:
                    pids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass  # gone meanwhile
    return pids


def pgrep(pattern: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


class HangingDf:
    """A `df` first on sshd's PATH that never returns, like one stuck on a stale NFS mount: it starts
    a child and then becomes another, both copies of sleep under a name of their own."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "fakebin"
        self.dir.mkdir(mode=0o755)
        self.name = f"prbhang_{uuid.uuid4().hex[:8]}"
        sleeper = self.dir / self.name
        shutil.copy("/bin/sleep", sleeper)
        df = self.dir / "df"
        df.write_text(f"#!/bin/sh\n{sleeper} 600 &\nexec {sleeper} 601\n")
        df.chmod(0o755)
        os.chmod(root, 0o755)  # the throwaway user must reach fakebin

    def running(self) -> list[int]:
        return pgrep(str(self.dir / self.name))


@pytest.fixture
def hanging_df_sshd(keys: Keys) -> Iterator[tuple[OpenSSH, HangingDf]]:
    """A real sshd whose sessions find the hanging df first on their PATH (sshd's SetEnv)."""
    root = Path(f"/tmp/prober-hang-{uuid.uuid4().hex[:8]}")
    root.mkdir()
    try:
        fake = HangingDf(root)
        with running_sshd(keys, f"SetEnv PATH={fake.dir}:/usr/bin:/bin\n") as server:
            yield server, fake
    finally:
        for pid in pgrep(str(root)):
            os.kill(pid, 9)
        shutil.rmtree(root, ignore_errors=True)


async def wait_for(predicate, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return bool(predicate())


class TestHungCheckOnOpenSSH:
    async def test_a_hung_df_is_timeout_alone_and_leaves_nothing_running(self, hanging_df_sshd) -> None:
        """With df hanging on the host, the other four checks of the batch come back ok without
        waiting for it; the disk check is `timeout` within its budget; the hung processes and
        everything else of that SSH session are gone afterwards."""
        server, fake = hanging_df_sshd
        timeout = 6.0
        specs = {
            "disk": {"check": "disk", "path": "/"},
            "mem": {"check": "memory", "warn": 100, "crit": 100},
            "load": {"check": "load", "warn": 1e6, "crit": 1e6},
            "sshd": {"check": "process", "process": "sshd", "min": 1},
            "cpus": {"check": "load", "per_cpu": True, "warn": 1e6, "crit": 1e6},
        }
        pairs = [(server.target(), server.spec(name=n, timeout=timeout, **p)) for n, p in specs.items()]
        sweep = asyncio.ensure_future(run_jobs(pairs, concurrency=8))
        assert await wait_for(lambda: len(fake.running()) == 2, timeout), "the fake df never started"
        sid = session_of(fake.running()[0])
        result = await sweep

        disk, *others = result.records
        assert result.handshakes == 1
        assert [r["status"] for r in others] == ["ok"] * 4, others
        assert disk["status"] == "fail" and disk["error"]["kind"] == "timeout", disk
        assert disk["latency_ms"] <= timeout * 1000 + 500
        # The others did not wait for the hung one: each answered well before its budget ran out.
        assert max(r["latency_ms"] for r in others) < disk["latency_ms"] - 2000, result.records
        # Stopped on the host, not merely abandoned by the client: nothing of the session is left.
        assert await wait_for(lambda: not fake.running(), 3.0), fake.running()
        assert await wait_for(lambda: not in_session(sid), 3.0), in_session(sid)

    async def test_a_hung_df_alone_is_stopped_on_the_host_too(self, hanging_df_sshd) -> None:
        """One probe at a time: the memory check opens the connection, then the disk check runs
        alone on it and hangs: it is `timeout`, and its processes are killed on the host, not left
        behind to pile up sweep after sweep."""
        server, fake = hanging_df_sshd
        pairs = [
            (server.target(), server.spec(name="mem", check="memory", warn=100, crit=100, timeout=6.0)),
            (server.target(), server.spec(name="disk", check="disk", path="/", timeout=3.0)),
        ]
        sweep = asyncio.ensure_future(run_jobs(pairs, concurrency=1))
        assert await wait_for(lambda: len(fake.running()) == 2, 10), "the fake df never started"
        sid = session_of(fake.running()[0])
        result = await sweep
        mem, disk = result.records
        assert result.handshakes == 1 and mem["status"] == "ok", result.records
        assert disk["error"]["kind"] == "timeout" and disk["latency_ms"] <= 3000 + 500, disk
        assert await wait_for(lambda: not fake.running(), 3.0), fake.running()
        assert await wait_for(lambda: not in_session(sid), 3.0), in_session(sid)
