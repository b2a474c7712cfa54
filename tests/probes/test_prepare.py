"""The per-kind preparation: what the plan's probes share is built once, before any clock starts."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

from prober.model import Job, Result, Target
from prober.probes import probe_for, registry
from prober.probes.http.spec import HTTPSpec
from prober.probes.ssh.spec import SSHSpec
from prober.probes.tcp import TCPSpec
from prober.regex import BYTES, TEXT
from prober.runtime.engine import Engine
from prober.runtime.prepare import prepare
from prober.runtime.resources import Resources
from tests.probes.conftest import loopback_sshd

TARGET = Target("h", "127.0.0.1", "g")


def _jobs(*specs: object) -> list[Job]:
    return [Job(i, TARGET, spec) for i, spec in enumerate(specs)]  # type: ignore[arg-type]


class TestWhatIsPrepared:
    def test_each_kind_prepares_from_the_plans_distinct_specs(self, tmp_path: Path) -> None:
        """One TLS context per (verify, CA file) of the specs that may use TLS, each pattern compiled
        once in the mode its probe uses, the probe kinds' modules imported."""
        specs = [
            HTTPSpec(name="a", url="https://example.test/", body_regex="ok"),
            HTTPSpec(name="b", url="https://example.test/x", body_regex="ok", verify_tls=False),
            HTTPSpec(name="c", url="http://example.test/", body_regex="up"),
            TCPSpec(name="t", port=25, expect="^220 "),
        ]
        prepared = prepare(_jobs(*specs * 3))
        assert set(prepared.ssl) == {(True, None), (False, None)}
        assert set(prepared.patterns) == {("ok", TEXT), ("up", TEXT), ("^220 ", BYTES)}
        assert prepared.kinds == {"http", "tcp"}
        assert {name for name, kind in registry.kinds().items() if kind.prepare} >= {"http", "tcp", "ssh"}

    def test_preparing_again_builds_nothing_new(self) -> None:
        """What a parent prepared before forking is reused as it is: the same objects."""
        jobs = _jobs(HTTPSpec(name="a", url="https://example.test/", body_regex="ok"))
        prepared = prepare(jobs)
        context, pattern = prepared.ssl[(True, None)], prepared.patterns[("ok", TEXT)]
        again = prepare(jobs, prepared)
        assert again.ssl[(True, None)] is context and again.patterns[("ok", TEXT)] is pattern


class TestSetupFailures:
    async def test_one_record_per_affected_probe_with_its_kind(self, tmp_path: Path) -> None:
        """A missing key (auth), an unreadable known_hosts (host_key) and a missing CA file (tls) fail
        exactly the probes that use them, once each, while a healthy SSH probe on the same host is ok."""
        ssh = await loopback_sshd(tmp_path)
        server, port, key, known = ssh.server, ssh.port, ssh.key, ssh.known_hosts
        broken = tmp_path / "broken_known_hosts"
        broken.write_text("@bogus-marker host ssh-ed25519 AAAA\n")
        base = {"port": port, "user": "t", "agent": False, "command": "true", "timeout": 5.0, "retries": 0}
        specs = {
            "ok": SSHSpec(name="ok", key=str(key), known_hosts=str(known), **base),
            "auth": SSHSpec(name="auth", key=str(tmp_path / "missing"), known_hosts=str(known), **base),
            "host_key": SSHSpec(name="host_key", key=str(key), known_hosts=str(broken), **base),
            "tls": HTTPSpec(
                name="tls", url="https://127.0.0.1:9/", ca_file=str(tmp_path / "ca.pem"), retries=0
            ),
        }
        targets = [Target(f"h{i}", "127.0.0.1", "g") for i in range(3)]
        jobs = [Job(i, t, s) for i, (t, s) in enumerate((t, s) for t in targets for s in specs.values())]
        results: list[Result] = []
        resources = Resources(concurrency=4)
        try:
            await Engine(jobs, results.append, concurrency=4, probe_for=probe_for, resources=resources).run()
        finally:
            await resources.aclose()
            server.close()
        assert len(results) == len(jobs)
        for name in specs:
            kinds = [r.error.kind if r.error else "ok" for r in results if r.job.spec.name == name]
            assert kinds == [name] * 3, (name, kinds)
        assert all(r.attempts == 1 for r in results)


class TestStopWhilePreparing:
    async def test_stop_during_preparation_records_every_probe(self, monkeypatch) -> None:
        """A signal while preparing stops it: every planned probe gets a cancelled record, none ran."""

        def slow(jobs, prepared, stop):  # type: ignore[no-untyped-def]
            stop.wait(10)  # until the stop request reaches the preparing thread

        real_get, tcp = registry.get, dataclasses.replace(registry.get("tcp"), prepare=slow)
        monkeypatch.setattr(registry, "get", lambda name: tcp if name == "tcp" else real_get(name))
        jobs = _jobs(*(TCPSpec(name=f"t{i}", port=9) for i in range(5)))
        results: list[Result] = []
        resources = Resources()
        engine = Engine(jobs, results.append, concurrency=2, probe_for=probe_for, resources=resources)
        asyncio.get_running_loop().call_later(0.2, engine.stop, "cancelled")
        started = time.perf_counter()
        assert await engine.run() == "cancelled"
        assert time.perf_counter() - started < 2
        assert [(r.error.kind if r.error else None, r.attempts) for r in results] == [("cancelled", 0)] * 5

    async def test_deadline_counts_the_preparation(self, monkeypatch) -> None:
        """--deadline covers preparation: one that outlasts it leaves every probe a deadline record."""
        real_get = registry.get
        tcp = dataclasses.replace(real_get("tcp"), prepare=lambda jobs, prepared, stop: stop.wait(10))
        monkeypatch.setattr(registry, "get", lambda name: tcp if name == "tcp" else real_get(name))
        jobs = _jobs(TCPSpec(name="t", port=9))
        results: list[Result] = []
        engine = Engine(
            jobs,
            results.append,
            concurrency=1,
            probe_for=probe_for,
            resources=Resources(),
            deadline=0.2,
        )
        assert await engine.run() == "deadline"
        assert results[0].error is not None and results[0].error.kind == "deadline"
