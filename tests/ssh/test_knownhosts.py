"""known_hosts prepared per sweep: the same answers as asyncssh's own matcher, decided before the clocks."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from prober.model import Job, Target
from prober.probes import probe_for
from prober.probes.ssh import knownhash, knownhosts
from prober.runtime.engine import Engine
from prober.runtime.prepare import Prepared, prepare
from prober.runtime.resources import Resources
from prober.sim import knownfile, sshd
from tests.nopatches import needs_patch
from tests.ssh.conftest import Keys, SimServer, run_jobs


def _public(key: asyncssh.SSHKey) -> str:
    return key.export_public_key().decode().strip()


def _rich_file(keys: list[asyncssh.SSHKey], rsa: asyncssh.SSHKey) -> str:
    """Every kind of line asyncssh knows: exact, several names, [host]:port, hashed, wildcard,
    negation, CIDR, @cert-authority, @revoked, an unreadable key, comments, odd spacing."""
    pub = [_public(k) for k in keys]
    return "\n".join(
        [
            "# comment",
            "",
            f"a.example.com {pub[0]}",
            f"a.example.com {_public(rsa)}",
            f"b.example.com,10.0.0.2 {pub[1]}",
            f"[c.example.com]:2222 {pub[2]}",
            f"{knownfile.hashed('d.example.com')} {pub[3]}",
            f"{knownfile.hashed('[10.0.0.4]:2222')} {pub[3]}",
            f"*.wild.example.com {pub[4]}",
            f"*.neg.example.com,!bad.neg.example.com {pub[4]}",
            f"10.1.0.0/16 {pub[5]}",
            f"@cert-authority *.example.com {pub[5]}",
            f"@revoked * {pub[2]}",
            "e.example.com ssh-ed25519 AAAAnotakey",
            f"f.example.com,f.example.com {pub[1]}",
            f"  {knownfile.hashed('10.0.0.4')} {pub[0]}  ",
            f"g|x {pub[0]}",
            f"@revoked {knownfile.hashed('a.example.com')} {_public(rsa)}",
            f"{knownfile.hashed('')} {pub[4]}",
        ]
    )


HOSTS = ["a.example.com", "b.example.com", "c.example.com", "d.example.com", "x.wild.example.com"]
HOSTS += ["ok.neg.example.com", "bad.neg.example.com", "e.example.com", "f.example.com", "g|x"]
HOSTS += ["10.0.0.2", "10.0.0.4", "10.1.2.3", "nowhere.example.org", ""]
ADDRS = ["", "10.0.0.2", "10.0.0.4", "10.1.2.3", "192.168.0.1"]
QUERIES = [(h, a, p) for h, a, p in itertools.product(HOSTS, ADDRS, [None, 2222]) if h or a]


def _norm(found: Any) -> list[list[bytes]]:
    return [[key.public_data for key in bucket] for bucket in found]


@pytest.fixture(scope="module")
def rich() -> str:
    keys = [asyncssh.generate_private_key("ssh-ed25519") for _ in range(6)]
    return _rich_file(keys, asyncssh.generate_private_key("ssh-rsa", key_size=2048))


class TestSameAnswersAsAsyncssh:
    def test_every_lookup_matches_asyncssh(self, rich: str) -> None:
        """Host keys, CA keys and revoked keys, in asyncssh's order, for names planned or not."""
        reference = asyncssh.import_known_hosts(rich)
        ours = knownhosts.PreparedKnownHosts(knownhosts.scan(rich))
        for query in QUERIES:
            assert _norm(ours.match(*query)) == _norm(reference.match(*query)), query

    def test_prepared_lookups_hash_and_decode_nothing_more(self, rich: str, monkeypatch) -> None:
        """Once prepared for the plan's lookups, matching computes no HMAC and decodes no key."""
        reference = asyncssh.import_known_hosts(rich)
        ours = knownhosts.PreparedKnownHosts(knownhosts.scan(rich))
        ours.prepare(QUERIES)
        work: list[str] = []
        monkeypatch.setattr(knownhash, "match", lambda *a, **k: work.append("hmac"))
        monkeypatch.setattr(knownhosts, "_decode", lambda *a: work.append("decode"))
        for query in QUERIES:
            assert _norm(ours.match(*query)) == _norm(reference.match(*query)), query
        assert work == []

    @pytest.mark.parametrize(
        "line",
        [
            "lonely-field",
            "@bogus host ssh-ed25519 AAAA",
            "@revoked onlytwo",
            f"|1|x|y|z ssh-ed25519 {knownfile.ed25519_blob(bytes(32))}",
            f"|2|c2FsdA==|aGFzaA== ssh-ed25519 {knownfile.ed25519_blob(bytes(32))}",
        ],
    )
    def test_lines_asyncssh_refuses_are_refused(self, line: str) -> None:
        """A line asyncssh refuses makes the whole file unreadable here too (same verdict: host_key)."""
        with pytest.raises(ValueError):
            asyncssh.import_known_hosts(line)
        with pytest.raises(ValueError):
            knownhosts.scan(line)

    def test_hashed_line_with_unreadable_key_is_skipped_as_asyncssh_does(self) -> None:
        """asyncssh skips a line whose key it cannot read before looking at its (bad) hash."""
        line = "|2|bad|hash ssh-ed25519 notakey"
        assert _norm(asyncssh.import_known_hosts(line).match("h", "", None)) == [[]] * 7
        assert knownhosts.scan(line).lines == [line]


class TestHashedMatching:
    def test_hmac_matches_ssh_keygen_format(self) -> None:
        """Each name finds exactly the hashed lines written for it, in file order."""
        lines = [(*knownhash.parse(knownfile.hashed(name)), n) for n, name in enumerate(["a", "b", "a", "c"])]
        assert knownhash.match(lines, ["a", "b", "zz"]) == {"a": [0, 2], "b": [1], "zz": []}

    def test_processes_give_the_thread_answer(self, monkeypatch) -> None:
        """Above the threshold the lines are split over worker processes: the same pairs come back."""
        names = [f"[10.0.{i}.1]:22" for i in range(40)]
        entries = [(*knownhash.parse(knownfile.hashed(names[i % 40])), i) for i in range(400)]
        expected = knownhash.match(entries, names)
        monkeypatch.setattr(knownhash, "PARALLEL_PAIRS", 1)
        monkeypatch.setattr(knownhash, "_cpus", lambda: 2)
        assert knownhash.match(entries, names) == expected
        assert expected[names[3]] == list(range(3, 400, 40))

    def test_stop_request_ends_matching(self) -> None:
        """A stop request (a signal during preparation) ends the matching within a fraction of a second."""
        entries = [(*knownhash.parse(knownfile.hashed(f"h{i}")), i) for i in range(20_000)]
        stop = threading.Event()
        threading.Timer(0.2, stop.set).start()
        started = time.perf_counter()
        with pytest.raises(knownhash.Stopped):
            knownhash.match(entries, [f"n{i}" for i in range(2_000)], stop)  # 40M pairs: ~20 s
        assert time.perf_counter() - started < 5


def _jobs(servers: list[SimServer], **params: Any) -> list[tuple[Target, Any]]:
    return [(s.target(f"h{i}"), s.spec(**params)) for i, s in enumerate(servers)]


class TestVerdictsOnRealServers:
    """In-process asyncssh servers; the known_hosts is 20,000 lines around the line that matters."""

    @pytest.mark.parametrize("hashed_name", [False, True], ids=["plain", "hashed"])
    async def test_known_key_is_accepted(
        self, sim_server, keys: Keys, tmp_path: Path, hashed_name: bool
    ) -> None:
        server = await sim_server()
        entry = knownfile.line(server.address, server.port, _public(keys.host), hashed_name=hashed_name)
        path = knownfile.write(tmp_path / "kh", [entry], 20_000, hashed_names=hashed_name)
        sweep = await run_jobs(_jobs([server], known_hosts=str(path)))
        assert sweep.records[0]["status"] == "ok", sweep.records[0]["error"]

    @pytest.mark.parametrize(
        "case", ["unknown", "changed", "revoked"], ids=["unknown host", "changed key", "revoked key"]
    )
    async def test_wrong_host_key_is_host_key(
        self, sim_server, keys: Keys, tmp_path: Path, case: str
    ) -> None:
        """Unknown host, changed key, revoked key: each is a host_key failure, never accepted."""
        server = await sim_server()
        other = _public(asyncssh.generate_private_key("ssh-ed25519"))
        real = knownfile.line(server.address, server.port, _public(keys.host))
        lines = {
            "unknown": [],
            "changed": [knownfile.line(server.address, server.port, other)],
            "revoked": [real, knownfile.line("*", 22, _public(keys.host), marker="revoked")],
        }[case]
        path = knownfile.write(tmp_path / "kh", lines, 20_000)
        sweep = await run_jobs(_jobs([server], known_hosts=str(path)))
        assert sweep.records[0]["error"]["kind"] == "host_key", sweep.records[0]

    async def test_ca_signed_host_certificate_is_accepted(self, keys: Keys, tmp_path: Path) -> None:
        """A host certificate signed by a CA named in an @cert-authority line is accepted; an
        @cert-authority line for another CA is not enough."""
        ca = asyncssh.generate_private_key("ssh-ed25519")
        host = asyncssh.generate_private_key("ssh-ed25519")
        cert = ca.generate_host_certificate(host, "srv", principals=["127.0.0.1"])
        server = await sshd.start_sshd("127.0.0.1", 0, (host, cert), keys.client_public)  # type: ignore[arg-type]
        sim = SimServer(
            "127.0.0.1", server.sockets[0].getsockname()[1], sshd.ServerStats(), tmp_path, keys.client_path
        )
        records = {}
        try:
            for name, authority in {
                "ours": ca,
                "other": asyncssh.generate_private_key("ssh-ed25519"),
            }.items():
                ca_line = knownfile.line("*", 22, _public(authority), marker="cert-authority")
                path = knownfile.write(tmp_path / f"kh-{name}", [ca_line], 20_000)
                sweep = await run_jobs([(sim.target(), sim.spec(known_hosts=str(path)))])
                records[name] = sweep.records[0]
        finally:
            server.close()
        assert records["ours"]["status"] == "ok", records["ours"]
        assert records["other"]["error"]["kind"] == "host_key"


class TestPreparation:
    def test_only_planned_hosts_are_decoded(self, tmp_path: Path, keys: Keys) -> None:
        """Preparing 300 planned hosts of a 50,000-line file decodes ~300 keys, not 50,000."""
        hosts = [f"127.9.{i // 250}.{i % 250 + 1}" for i in range(300)]
        real = [knownfile.line(h, 2222, _public(keys.host)) for h in hosts]
        path = knownfile.write(tmp_path / "kh", real, 50_000)
        known = knownhosts.load(str(path), [(h, h, 2222) for h in hosts])
        assert len(known._entries) == 300
        # asyncssh lists a key once per name that matched (host, then address): twice here.
        assert all(_norm(known.match(h, h, 2222))[0] == [keys.host.public_data] * 2 for h in hosts)

    def test_missing_known_hosts_becomes_a_stored_setup_error(self, tmp_path: Path, keys: Keys) -> None:
        """A missing file is one SetupError per spec, raised by each probe as kind host_key."""
        from prober.probes.ssh.spec import SSHSpec

        spec = SSHSpec(
            name="s", command="true", key=str(keys.client_path), known_hosts=str(tmp_path / "none")
        )
        prepared = prepare([Job(0, Target("h", "127.0.0.1", "g"), spec)], Prepared())
        (error,) = prepared.ssh.values()
        assert error.kind == "host_key" and "not found" in error.message

    @needs_patch("hostmatch", "hashed lines matched while preparing")
    async def test_named_host_is_matched_by_its_address_before_the_sweep(
        self, sim_server, keys: Keys, tmp_path: Path, monkeypatch
    ) -> None:
        """A target named `localhost` whose only (hashed) line names its address: accepted as asyncssh
        accepts it (it looks up the peer address too), with every HMAC computed while preparing
        (the name is resolved then), none on the event loop."""
        server = await sim_server()
        entry = knownfile.line("127.0.0.1", server.port, _public(keys.host), hashed_name=True)
        path = knownfile.write(tmp_path / "kh", [entry], 5_000, hashed_names=True)
        threads: list[str] = []
        real = knownhash.match

        def spy(*args: Any, **kwargs: Any) -> Any:
            threads.append(threading.current_thread().name)
            return real(*args, **kwargs)

        monkeypatch.setattr(knownhash, "match", spy)
        target = Target("named", "localhost", "g")
        sweep = await run_jobs([(target, server.spec(known_hosts=str(path)))])
        assert sweep.records[0]["status"] == "ok", sweep.records[0]["error"]
        assert threads and set(threads) == {"prober-prepare"}, threads

    async def test_ssh_config_is_evaluated_before_the_sweep(
        self, sim_server, keys: Keys, tmp_path: Path, monkeypatch
    ) -> None:
        """ssh_config: true: HostName, User, IdentityFile and HostKeyAlias come from ~/.ssh/config,
        read while preparing (the file can be gone when the probe runs), and the alias's hashed
        known_hosts line is matched then too."""
        server = await sim_server()
        home = tmp_path / "home"
        (home / ".ssh").mkdir(parents=True)
        config = home / ".ssh" / "config"
        config.write_text(
            "Host web-alias\n  HostName 127.0.0.1\n  User tester\n"
            f"  IdentityFile {keys.client_path}\n  HostKeyAlias fleet-web\n"
        )
        monkeypatch.setenv("HOME", str(home))
        entry = knownfile.line("fleet-web", server.port, _public(keys.host), hashed_name=True)
        path = knownfile.write(tmp_path / "kh", [entry], 5_000, hashed_names=True)
        spec = server.spec(user=None, key=None, ssh_config=True, known_hosts=str(path))
        jobs = (Job(0, Target("web", "web-alias", "g"), spec),)
        resources = Resources()
        await resources.prepare(jobs)
        config.unlink()
        threads: list[str] = []
        monkeypatch.setattr(knownhash, "match", lambda *a, **k: threads.append("late"))
        results: list[Any] = []
        await Engine(jobs, results.append, concurrency=1, probe_for=probe_for, resources=resources).run()
        await resources.aclose()
        assert results[0].error is None, results[0].error
        assert threads == []
