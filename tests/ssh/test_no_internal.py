"""`internal` means a bug in prober: no hostile SSH case of the suite may produce it.

The cases of tests/ssh/test_hostile.py, test_probe.py and test_pool.py (silent or garbage servers,
channels closed without a status, hung and huge commands, bad host keys and client keys, bastions
that refuse), run in one sweep through the real engine, pool and records. The HTTP, TLS and TCP
cases are in tests/probes/test_no_internal.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from prober.model import Target
from prober.probes.ssh.spec import SSHSpec
from prober.sim import sshd
from tests.ssh.conftest import known_hosts_line, run_jobs

BIG_INVALID_UTF8 = "head -c 1000000 /dev/zero | tr '\\0' '\\377'"


async def hostile(mode: str) -> tuple[asyncio.Server, int]:
    server = await sshd.start_hostile("127.0.0.1", 0, mode)
    return server, server.sockets[0].getsockname()[1]


def files(tmp_path: Path, good: Any, servers: list[Any]) -> tuple[Path, Path, Path, Path]:
    """known_hosts of every server, an empty one, one with a changed key for `good`, a foreign key."""
    known = tmp_path / "known_all"
    known.write_text("".join(Path(s.known_hosts).read_text() for s in servers))
    empty = tmp_path / "empty"
    empty.write_text("")
    changed = tmp_path / "changed"
    changed.write_text(
        known_hosts_line(good.address, good.port, asyncssh.generate_private_key("ssh-ed25519"))
    )
    other_key = tmp_path / "other_key"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(other_key))
    return known, empty, changed, other_key


class TestNoInternal:
    async def test_every_hostile_ssh_case(
        self, sim_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Each hostile SSH case of the suite ends as a named kind (or ok), never `internal`."""
        monkeypatch.delenv("PROBER_NO_SUCH_PASSWORD", raising=False)
        good = await sim_server()
        quiet = await sim_server(behaviour="no_exit_status")
        bastion = await sim_server(forwarding=True)
        closed_bastion = await sim_server(forwarding=False)
        behind = await sim_server()
        gone = await sim_server()
        gone.server.close()
        await gone.server.wait_closed()
        servers = [await hostile(mode) for mode in ("silent_banner", "garbage", "silent_banner")]
        servers[2][0].close()  # a closed port: refused
        known, empty, changed, other_key = files(
            tmp_path, good, [good, bastion, closed_bastion, behind, gone]
        )
        raw = SSHSpec(name="raw", command="true", known_hosts="/dev/null", timeout=0.3, retries=0)
        cases: dict[str, tuple[Target, SSHSpec]] = {
            "banner then silence": (Target("s", "127.0.0.1", "g"), replace(raw, port=servers[0][1])),
            "garbage before the banner": (Target("g", "127.0.0.1", "g"), replace(raw, port=servers[1][1])),
            "refused": (Target("r", "127.0.0.1", "g"), replace(raw, port=servers[2][1], timeout=2)),
            "no exit status": (quiet.target("q1"), quiet.spec(name="q1")),
            "check, no exit status": (quiet.target("q2"), quiet.spec(name="q2", check="memory", crit=95)),
            "command never exits": (good.target(), good.spec(name="hang", command="sleep 600", timeout=0.3)),
            "killed by a signal": (good.target(), good.spec(name="kill", command="kill -9 $$")),
            "invalid utf-8, 1 MB": (good.target(), good.spec(name="big", command=BIG_INVALID_UTF8)),
            "exit 3": (good.target(), good.spec(name="exit", command="exit 3")),
            "unknown host key": (good.target("u"), good.spec(known_hosts=str(empty))),
            "changed host key": (good.target("c"), good.spec(known_hosts=str(changed))),
            "missing known_hosts": (good.target("m"), good.spec(known_hosts=str(tmp_path / "nope"))),
            "wrong client key": (good.target("k"), good.spec(key=str(other_key))),
            "missing key file": (good.target("f"), good.spec(key=str(tmp_path / "nokey"))),
            "unset password variable": (good.target("p"), good.spec(password_env="PROBER_NO_SUCH_PASSWORD")),
            "bastion refuses forwarding": (
                behind.target("b1"),
                behind.spec(jump=f"{closed_bastion.address}:{closed_bastion.port}", known_hosts=str(known)),
            ),
            "closed port behind a bastion": (
                gone.target("b2"),
                gone.spec(jump=f"tester@{bastion.address}:{bastion.port}", known_hosts=str(known)),
            ),
        }  # fmt: skip
        try:
            sweep = await run_jobs(list(cases.values()), concurrency=8)
        finally:
            for server, _ in servers[:2]:
                server.close()
        assert len(sweep.records) == len(cases)
        internal = {
            name: record["error"]
            for name, record in zip(cases, sweep.records, strict=True)
            if (record["error"] or {}).get("kind") == "internal"
        }
        assert not internal, internal
