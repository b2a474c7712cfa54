"""One shared SSH connection per host: handshake counts, caps, pacing, failures, replacement, jump hosts."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

from prober.model import Job, Target
from prober.probes.ssh import probe as ssh
from prober.probes.ssh.pool import SSHPool, planned
from prober.probes.ssh.spec import SSHSpec
from prober.runtime.resources import Resources
from prober.sim import sshd
from tests.ssh.conftest import run_jobs

FIVE = [
    {"check": "disk", "path": "/"},
    {"check": "memory"},
    {"check": "load", "per_cpu": True},
    {"check": "process", "process": "no-such-proc-q", "min": 0},
    {"command": "uptime"},
]


class TestSharing:
    async def test_five_checks_one_handshake(self, sim_server) -> None:
        """Five SSH probes queued on one host cost one login; the four checks share one session."""
        server = await sim_server()
        pairs = [(server.target(), server.spec(name=f"p{i}", **p)) for i, p in enumerate(FIVE)]
        sweep = await run_jobs(pairs, concurrency=8)
        assert [r["status"] for r in sweep.records] == ["ok"] * 5, sweep.records
        assert server.stats.connections == 1
        assert server.stats.logins == 1
        assert server.stats.sessions == 2  # the combined checks, and the plain command on its own

    async def test_commands_keep_a_channel_each(self, sim_server) -> None:
        """Plain commands and plugins queued on one host run on parallel channels, never combined."""
        server = await sim_server()
        pairs = [(server.target(), server.spec(name=f"p{i}", command="sleep 0.3")) for i in range(3)]
        pairs.append((server.target(), server.spec(name="n", check="nagios", command="sleep 0.3")))
        sweep = await run_jobs(pairs, concurrency=8)
        assert all(r["status"] == "ok" for r in sweep.records), sweep.records
        assert (server.stats.logins, server.stats.sessions) == (1, 4)
        assert server.stats.max_active == 4

    async def test_sequential_probes_reuse_the_connection(self, sim_server) -> None:
        """One worker runs five probes one after another: one login, a channel each."""
        server = await sim_server()
        pairs = [(server.target(), server.spec(name=f"p{i}", **p)) for i, p in enumerate(FIVE)]
        sweep = await run_jobs(pairs, concurrency=1)
        assert [r["status"] for r in sweep.records] == ["ok"] * 5, sweep.records
        assert (server.stats.logins, server.stats.sessions) == (1, 5)

    async def test_each_host_gets_its_own_connection(self, sim_server) -> None:
        """Three hosts with five probes each make three connections, whatever the worker count."""
        servers = [await sim_server() for _ in range(3)]
        pairs = [
            (s.target(f"h{s.port}"), s.spec(name=f"p{i}", **p)) for s in servers for i, p in enumerate(FIVE)
        ]
        for concurrency in (1, 4, 32):
            sweep = await run_jobs(pairs, concurrency=concurrency)
            assert all(r["status"] == "ok" for r in sweep.records)
        assert [s.stats.logins for s in servers] == [3, 3, 3]  # one per host per sweep

    async def test_connection_closed_after_last_planned_probe(self, sim_server, tmp_path: Path) -> None:
        """A host's connection closes once its last planned probe ends, while other hosts still run."""
        quick, slow = await sim_server(), await sim_server()
        flag = tmp_path / "release"
        pairs = [(quick.target("quick"), quick.spec(name=f"q{i}")) for i in range(3)]
        wait = f"while [ ! -e {flag} ]; do sleep 0.02; done"
        pairs.append((slow.target("slow"), slow.spec(name="s", command=wait, timeout=20)))
        task = asyncio.ensure_future(run_jobs(pairs, concurrency=4))
        for _ in range(500):
            if quick.stats.closed:
                break
            await asyncio.sleep(0.02)
        closed_while_running = quick.stats.closed == 1 and not task.done()
        flag.touch()
        assert closed_while_running
        sweep = await task
        assert all(r["status"] == "ok" for r in sweep.records)

    async def test_idle_connections_are_bounded(self, sim_server) -> None:
        """Hosts probed again later in the plan keep their connection, up to max_idle idle ones."""
        servers = [await sim_server() for _ in range(3)]
        pairs = [(s.target(f"h{i}"), s.spec(name=f"p{r}")) for r in range(2) for i, s in enumerate(servers)]
        jobs = tuple(Job(i, t, s) for i, (t, s) in enumerate(pairs))
        # Cumulative: max_idle 1 keeps only the last host idle, so h0 and h1 reconnect once each.
        for max_idle, logins in ((8, [1, 1, 1]), (1, [3, 3, 2])):
            res = Resources(concurrency=1)
            res._ssh_pool = SSHPool(res.ssh_options, planned(jobs), max_idle=max_idle)
            try:
                for target, spec in pairs:
                    async with res.ssh_pool().lease(target, spec) as lease:
                        await lease.run("true", 10)
            finally:
                await res.aclose()
            assert [s.stats.logins for s in servers] == logins
            assert [s.stats.connections for s in servers] == logins

    async def test_per_host_concurrency_caps_connections(self, sim_server) -> None:
        """per_host_concurrency 2 opens at most two connections for six slow probes on one host."""
        server = await sim_server()
        pairs = [
            (server.target(), server.spec(name=f"p{i}", command="sleep 0.2", per_host_concurrency=2))
            for i in range(6)
        ]
        sweep = await run_jobs(pairs, concurrency=6)
        assert all(r["status"] == "ok" for r in sweep.records)
        assert server.stats.connections == 2
        assert server.stats.max_active >= 2  # the channels ran in parallel

    async def test_ssh_rate_paces_handshakes(self, sim_server) -> None:
        """ssh_rate 20/s spaces ten new handshakes about 50 ms apart."""
        servers = [await sim_server() for _ in range(10)]
        pairs = [(s.target(f"h{i}"), s.spec(ssh_rate=20.0)) for i, s in enumerate(servers)]
        sweep = await run_jobs(pairs, concurrency=10)
        assert all(r["status"] == "ok" for r in sweep.records)
        assert sweep.seconds >= 0.4  # nine 50 ms gaps at least, however fast the machine

    async def test_ssh_rate_is_shared_across_workers(self, sim_server) -> None:
        """Under --workers 2 each process paces half the sweep's ssh_rate: 40/s becomes 20/s here."""
        servers = [await sim_server() for _ in range(10)]
        pairs = [(s.target(f"h{i}"), s.spec(ssh_rate=40.0)) for i, s in enumerate(servers)]
        jobs = tuple(Job(i, t, s) for i, (t, s) in enumerate(pairs))
        res = Resources(concurrency=10, share=0.5)
        res.ssh_jobs = planned(jobs)  # as the engine's prepare(jobs) counts them

        async def probe(target: Target, spec: SSHSpec) -> None:
            async with res.ssh_pool().lease(target, spec) as lease:
                await lease.run("true", 10)

        started = time.monotonic()
        try:
            await asyncio.gather(*(probe(t, s) for t, s in pairs))
        finally:
            await res.aclose()
        assert time.monotonic() - started >= 0.4  # nine 50 ms gaps; the full 40/s would take 0.225 s
        assert [s.stats.logins for s in servers] == [1] * 10


class TestFailures:
    async def test_handshake_failure_shared_by_waiters(self, sim_server, tmp_path: Path) -> None:
        """Five probes waiting on one failed handshake all fail with the same kind after one attempt."""
        server = await sim_server()
        empty = tmp_path / "kh"
        empty.write_text("")
        pairs = [(server.target(), server.spec(name=f"p{i}", known_hosts=str(empty))) for i in range(5)]
        sweep = await run_jobs(pairs, concurrency=5)
        assert {r["error"]["kind"] for r in sweep.records} == {"host_key"}
        assert server.stats.connections == 1

    async def test_hung_host_one_timeout_for_all_probes(self) -> None:
        """Five probes on a host that sends a banner then nothing cost one handshake and about one timeout."""
        server = await sshd.start_hostile("127.0.0.1", 0, "silent_banner")
        port = server.sockets[0].getsockname()[1]
        spec = SSHSpec(name="x", command="true", port=port, known_hosts="/dev/null", timeout=0.3, retries=0)
        pairs = [(Target("hung", "127.0.0.1", "g"), replace(spec, name=f"p{i}")) for i in range(5)]
        try:
            sweep = await run_jobs(pairs, concurrency=5)
        finally:
            server.close()
        assert {r["error"]["kind"] for r in sweep.records} == {"timeout"}
        assert sweep.handshakes == 1
        assert sweep.seconds < 0.3 * 2 + 1

    async def test_broken_connection_is_replaced(self, sim_server) -> None:
        """A shared connection dropped by the server is detected and replaced by the next probe."""
        server = await sim_server()
        res = Resources()
        try:
            first = await ssh.probe(server.target(), server.spec(), res)
            server.stats.drop_all()
            second = await ssh.probe(server.target(), server.spec(), res)  # the close may not be seen yet
            await asyncio.sleep(0.05)
            server.stats.drop_all()
            await asyncio.sleep(0.05)
            third = await ssh.probe(server.target(), server.spec(), res)
        finally:
            await res.aclose()
        assert (
            first.details["exit_status"] == second.details["exit_status"] == third.details["exit_status"] == 0
        )
        assert server.stats.logins == 3


def concat(path: Path, servers: list) -> None:  # type: ignore[type-arg]
    path.write_text("".join(Path(s.known_hosts).read_text() for s in servers))


class TestJumpHost:
    async def test_jump_host_shared_by_targets(self, sim_server, tmp_path: Path) -> None:
        """Three targets reached through one bastion: one bastion login, one login per target."""
        bastion = await sim_server(forwarding=True)
        targets = [await sim_server() for _ in range(3)]
        known = tmp_path / "kh_all"
        concat(known, [bastion, *targets])
        jump = f"tester@{bastion.address}:{bastion.port}"
        pairs = [
            (t.target(f"t{i}"), t.spec(jump=jump, known_hosts=str(known))) for i, t in enumerate(targets)
        ]
        sweep = await run_jobs(pairs, concurrency=3)
        assert all(r["status"] == "ok" for r in sweep.records), sweep.records
        assert bastion.stats.logins == 1
        assert [t.stats.logins for t in targets] == [1, 1, 1]

    async def test_jump_host_refusing_forwarding_fails(self, sim_server, tmp_path: Path) -> None:
        """A bastion that refuses to forward gives a failed record, not a hang or a crash."""
        bastion = await sim_server(forwarding=False)
        target = await sim_server()
        known = tmp_path / "kh_two"
        concat(known, [bastion, target])
        spec = target.spec(jump=f"{bastion.address}:{bastion.port}", known_hosts=str(known))
        sweep = await run_jobs([(target.target(), spec)])
        assert sweep.records[0]["status"] == "fail"
        # asyncssh answers "connect failed" here; OpenSSH says "administratively prohibited".
        assert sweep.records[0]["error"]["kind"] in ("refused", "protocol")

    async def test_jump_host_to_closed_port_is_refused(self, sim_server, tmp_path: Path) -> None:
        """A target port closed behind the bastion is reported as refused, like a direct connect."""
        bastion = await sim_server(forwarding=True)
        target = await sim_server()
        known = tmp_path / "kh_closed"
        concat(known, [bastion, target])
        target.server.close()
        await target.server.wait_closed()
        spec = target.spec(jump=f"{bastion.address}:{bastion.port}", known_hosts=str(known))
        sweep = await run_jobs([(target.target(), spec)])
        assert sweep.records[0]["error"]["kind"] == "refused", sweep.records[0]["error"]
