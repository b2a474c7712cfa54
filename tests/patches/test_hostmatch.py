"""known_hosts matched by prober's index (asyncssh's pattern helpers) or, switched off, by asyncssh itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncssh
import pytest

from prober._patches import SWITCH, hostmatch
from prober.probes.ssh import knownhosts
from prober.sim import knownfile
from tests.ssh.conftest import Keys, run_jobs, run_one
from tests.ssh.test_knownhosts import QUERIES, _norm, _rich_file


def test_guard_matches_installed_asyncssh() -> None:
    """asyncssh.misc.ip_address and asyncssh.pattern.HostPatternList import and answer as the index
    expects: if an asyncssh upgrade moves or changes them, this fails (prober would read known_hosts
    with asyncssh.read_known_hosts). tests/ssh/test_knownhosts.py checks the index's answers."""
    assert hostmatch.COMPATIBLE


@pytest.fixture(scope="module")
def rich_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    keys = [asyncssh.generate_private_key("ssh-ed25519") for _ in range(6)]
    path = tmp_path_factory.mktemp("kh") / "known_hosts"
    path.write_text(_rich_file(keys, asyncssh.generate_private_key("ssh-rsa", key_size=2048)))
    return path


@pytest.mark.parametrize("switch", ["", "1"])
def test_read_gives_asyncssh_answers_both_ways(
    rich_path: Path, monkeypatch: pytest.MonkeyPatch, switch: str
) -> None:
    """knownhosts.read: the index, or with PROBER_NO_PATCHES=1 asyncssh's own SSHKnownHosts; the
    answers to every lookup are asyncssh's either way."""
    monkeypatch.setenv(SWITCH, switch)
    known = knownhosts.read(str(rich_path))
    expected_type = asyncssh.SSHKnownHosts if switch else knownhosts.PreparedKnownHosts
    assert type(known) is expected_type
    reference = asyncssh.read_known_hosts(str(rich_path))
    for query in QUERIES:
        assert _norm(known.match(*query)) == _norm(reference.match(*query)), query


@pytest.mark.parametrize("switch", ["", "1"])
async def test_probe_checks_hashed_lines_both_ways(
    sim_server: Any, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, switch: str
) -> None:
    """A host found by a hashed line among 2,000 is ok, and a host whose hashed line holds another
    key is host_key, with the index and with asyncssh's matching (PROBER_NO_PATCHES=1)."""
    monkeypatch.setenv(SWITCH, switch)
    server = await sim_server()
    public = keys.host.export_public_key().decode().strip()
    good = knownfile.line("127.0.0.1", server.port, public, hashed_name=True)
    path = knownfile.write(tmp_path / "kh", [good], 2_000, hashed_names=True)
    sweep = await run_jobs([(server.target(), server.spec(known_hosts=str(path)))])
    assert sweep.records[0]["status"] == "ok", sweep.records[0]["error"]
    (known,) = sweep.resources.prepared.known_hosts.values()
    assert type(known) is (asyncssh.SSHKnownHosts if switch else knownhosts.PreparedKnownHosts)
    other = f"ssh-ed25519 {knownfile.ed25519_blob(bytes(32))}"
    bad = knownfile.line("127.0.0.1", server.port, other, hashed_name=True)
    wrong = knownfile.write(tmp_path / "kh2", [bad], 2_000, hashed_names=True)
    refused = await run_one(server.target(), server.spec(known_hosts=str(wrong)))
    assert refused["error"]["kind"] == "host_key"
