"""asyncssh exceptions through classify: raised for real by servers that drop, refuse or misbehave."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncssh
import pytest

from prober.classify import classify
from prober.model import TRANSIENT_KINDS
from tests.ssh.conftest import run_jobs


async def dropped_once(server: Any, pairs: list[Any]) -> Any:
    """Run the sweep and, once the host's commands are running, abort its connection from the server
    side (a reboot, a killed sshd); later connections are left alone."""
    sweep = asyncio.ensure_future(run_jobs(pairs, concurrency=len(pairs)))
    for _ in range(400):
        if server.stats.active:
            break
        await asyncio.sleep(0.01)
    assert server.stats.active, "the command never started"
    server.stats.drop_all()
    return await sweep


class TestDroppedConnection:
    async def test_connection_lost_is_reset_and_retried(self, sim_server) -> None:
        """The server drops the connection mid-command: asyncssh's ConnectionLost is `reset`, which
        is transient, so the probe is tried again on a new connection and ends ok."""
        server = await sim_server()
        spec = server.spec(command="sleep 0.5; echo done", retries=1)
        sweep = await dropped_once(server, [(server.target(), spec)])
        (record,) = sweep.records
        assert record["status"] == "ok" and record["attempts"] == 2, record
        assert record["ssh"]["stdout"] == "done\n"
        assert server.stats.logins == 2

    async def test_without_retries_the_record_says_reset(self, sim_server) -> None:
        server = await sim_server()
        sweep = await dropped_once(server, [(server.target(), server.spec(command="sleep 2", retries=0))])
        (record,) = sweep.records
        assert record["error"]["kind"] == "reset" and record["attempts"] == 1, record

    async def test_combined_checks_dropped_are_each_retried(self, sim_server, tmp_path, monkeypatch) -> None:
        """A drop while a combined script runs reaches the checks still running in it (`cat` takes
        0.5 s on this host); each is retried on a new connection and ends ok."""
        slow = tmp_path / "bin"
        slow.mkdir()
        (slow / "cat").write_text('#!/bin/sh\nsleep 0.5\nexec /bin/cat "$@"\n')
        (slow / "cat").chmod(0o755)
        monkeypatch.setenv("PATH", f"{slow}:/usr/bin:/bin")
        server = await sim_server()
        specs = [{"check": "memory"}, {"check": "load", "warn": 1e6, "crit": 1e6}]
        pairs = [(server.target(), server.spec(name=f"c{i}", retries=1, **p)) for i, p in enumerate(specs)]
        sweep = await dropped_once(server, pairs)
        assert [(r["status"], r["attempts"]) for r in sweep.records] == [("ok", 2)] * 2, sweep.records
        assert server.stats.logins == 2  # one handshake before the drop, one shared by both retries


class TestAsyncsshMapping:
    @pytest.mark.parametrize(
        ("exc", "kind"),
        [
            (asyncssh.ConnectionLost("Connection lost"), "reset"),
            (asyncssh.HostKeyNotVerifiable("Host key is not trusted"), "host_key"),
            (asyncssh.PermissionDenied("Permission denied"), "auth"),
            (asyncssh.ChannelOpenError(asyncssh.OPEN_CONNECT_FAILED, "Connection refused"), "refused"),
            (asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "prohibited"), "protocol"),
            (asyncssh.ProtocolError("Invalid packet"), "protocol"),
            (asyncssh.KeyExchangeFailed("No matching kex"), "protocol"),
            (asyncssh.ServiceNotAvailable("Unexpected service"), "protocol"),
        ],
    )
    def test_kind(self, exc: BaseException, kind: str) -> None:
        """Each asyncssh error maps to its kind, with asyncssh's reason as the message; never internal."""
        assert classify(exc) == (kind, str(exc))

    def test_only_connection_lost_is_transient(self) -> None:
        """Of asyncssh's errors only a lost connection is retried (a MaxStartups drop, a reboot)."""
        retried = {classify(asyncssh.ConnectionLost("x"))[0], classify(asyncssh.PermissionDenied("x"))[0]}
        assert retried & set(TRANSIENT_KINDS) == {"reset"}
