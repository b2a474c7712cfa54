"""Whole sweeps whose set-up is heavy (50,000-line known_hosts, a bcrypt-protected key) against OpenSSH
sshd and HTTP servers on loopback: at a 1 s timeout no probe times out falsely and the event loop never
stalls, because the set-up is done before any probe's clock starts (the sweep line's loop_lag_max_ms)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from prober.sim import knownfile
from tests.cli.hostile import ServerProcess, free_port
from tests.conftest import run_cli
from tests.nopatches import needs_patch
from tests.ssh.conftest import SSHD, TEST_USER, Keys, _ensure_user, _wait_listening

HOSTS = 20
SSHD_LISTEN_MAX = 16  # OpenSSH's MAX_LISTEN_SOCKS
LAG_LIMIT_MS = 50.0
PASSPHRASE = "correct horse battery staple"


@dataclass
class Fleet:
    """HOSTS HTTP servers and one sshd listening on HOSTS addresses, all on 127.<block>.x.y."""

    http: list[str]
    http_port: int
    ssh: list[str]
    ssh_port: int
    host_public: str  # 'ssh-ed25519 AAAA…' of the sshd's host key
    dir: Path


def _sshd_config(addrs: list[str], port: int, host_key: Path, authorized: Path) -> str:
    listens = "".join(f"ListenAddress {a}:{port}\n" for a in addrs)
    return (
        f"{listens}HostKey {host_key}\nPidFile none\nUsePAM no\nStrictModes no\nUseDNS no\n"
        f"AuthorizedKeysFile {authorized}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        f"PubkeyAuthentication yes\nAllowUsers {TEST_USER}\nMaxStartups 1000:30:1000\nLogLevel ERROR\n"
    )


@pytest.fixture(scope="module")
def fleet(keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    if not os.path.exists(SSHD) or shutil.which("ssh-keygen") is None:
        pytest.skip("OpenSSH sshd and ssh-keygen are needed (apt-get install openssh-server)")
    if os.geteuid() != 0:
        pytest.skip("starting sshd with a throwaway user needs root")
    _ensure_user()
    block = random.randint(100, 250)
    http = [f"127.{block}.1.{i + 1}" for i in range(HOSTS)]
    ssh = [f"127.{block}.2.{i + 1}" for i in range(HOSTS)]
    root = Path(tempfile.mkdtemp(prefix="prober-sshd-"))  # sshd reads authorized_keys as the user
    os.chmod(root, 0o755)
    host_key = root / "host_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    authorized = root / "authorized_keys"
    authorized.write_text(keys.client_public)
    os.chmod(authorized, 0o644)
    ssh_port, http_port = free_port(ssh[0]), free_port(http[0])
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    servers = ServerProcess([["http_ok", a, http_port] for a in http], tmp_path_factory.mktemp("http"))
    procs = []
    try:
        for start in range(0, HOSTS, SSHD_LISTEN_MAX):
            chunk = ssh[start : start + SSHD_LISTEN_MAX]
            config = root / f"sshd_config_{start}"
            config.write_text(_sshd_config(chunk, ssh_port, host_key, authorized))
            log = root / f"sshd_{start}.log"
            with log.open("wb") as sink:
                procs.append(
                    subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=sink, stderr=sink)
                )
            for address in chunk:
                _wait_listening(address, ssh_port, procs[-1], log)
        public = " ".join(host_key.with_suffix(".pub").read_text().split()[:2])
        yield Fleet(http, http_port, ssh, ssh_port, public, root)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        servers.close()
        shutil.rmtree(root, ignore_errors=True)


def _known_hosts(fleet: Fleet, path: Path, hashed: bool, lines: int = 50_000) -> Path:
    real = [knownfile.line(a, fleet.ssh_port, fleet.host_public, hashed_name=hashed) for a in fleet.ssh]
    return knownfile.write(path, real, lines, hashed_names=hashed)


def _inventory(fleet: Fleet, path: Path, known_hosts: Path, key: Path, **ssh: str) -> Path:
    extra = "".join(f", {k}: {v}" for k, v in ssh.items())
    path.write_text(
        "defaults: {timeout: 1s, retries: 0, concurrency: 64}\n"
        "probes:\n"
        f'  web: {{type: http, url: "http://{{address}}:{fleet.http_port}/", body_regex: "^ok$"}}\n'
        f"  up: {{type: ssh, port: {fleet.ssh_port}, user: {TEST_USER}, key: {key},"
        f' known_hosts: {known_hosts}, agent: false, command: "echo up", stdout_regex: "^up$"{extra}}}\n'
        "groups:\n"
        f"  web: {{probes: [web], hosts: {json.dumps(fleet.http)}}}\n"
        f"  app: {{probes: [up], hosts: {json.dumps(fleet.ssh)}}}\n"
    )
    return path


def _sweep(inventory: Path, *args: str, env: dict[str, str] | None = None) -> tuple[dict[str, Any], str]:
    done = run_cli("sweep", str(inventory), *args, env=env)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines and lines[-1]["event"] == "sweep", done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    return lines[-1], done.stderr


def _lag_allowed(baseline: dict[str, Any]) -> float:
    """50 ms; or, when the same sweep without the heavy set-up already ran late (a machine shared
    with other test runs deschedules a busy process for 100 ms and more), not much later than it."""
    return max(LAG_LIMIT_MS, 1.5 * baseline["loop_lag_max_ms"] + 20)


def _sweep_against_baseline(
    heavy: Path, light: Path, *args: str, env: dict[str, str] | None = None
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Sweep with the heavy set-up, then the same fleet without it, until the heavy sweep has no
    failure and its worst loop lag is within _lag_allowed (at most 3 pairs): one of prober's own
    stalls (decoding 50,000 keys on the loop: ~1 s) would show in every pair."""
    pairs = []
    for _ in range(3):
        pairs.append((_sweep(heavy, *args, env=env)[0], _sweep(light, *args, env=env)[0]))
        sweep, baseline = pairs[-1]
        if sweep["counts"]["ok"] == 2 * HOSTS and sweep["loop_lag_max_ms"] <= _lag_allowed(baseline):
            break
    return pairs


def _report(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[tuple[Any, ...]]:
    return [(s["errors"], s["loop_lag_max_ms"], b["errors"], b["loop_lag_max_ms"]) for s, b in pairs]


# asyncssh's own matcher tests every hashed line on every connection, on the loop: at a 1 s timeout
# with 50,000 of them, the probes time out (README, "Library patches").
INDEX = needs_patch("hostmatch", "50,000 hashed known_hosts lines within a 1 s timeout")


@pytest.mark.sshd
class TestFleetScaleKnownHosts:
    @pytest.mark.parametrize(
        "hashed", [False, pytest.param(True, marks=INDEX)], ids=["plain", "hashed"]
    )
    def test_no_false_timeouts_and_no_loop_stall(
        self, fleet: Fleet, keys: Keys, tmp_path: Path, hashed: bool
    ) -> None:
        """20 HTTP + 20 SSH hosts, a 50,000-line known_hosts, timeout 1 s: all 40 ok (0 timeouts) and
        the worst loop lag in the sweep line is at most 50 ms."""
        known = _known_hosts(fleet, tmp_path / "known_hosts", hashed)
        heavy = _inventory(fleet, tmp_path / "heavy.yaml", known, keys.client_path)
        small = _known_hosts(fleet, tmp_path / "small_known_hosts", hashed, lines=HOSTS)
        light = _inventory(fleet, tmp_path / "light.yaml", small, keys.client_path)
        pairs = _sweep_against_baseline(heavy, light, "--workers", "1")
        sweep, baseline = pairs[-1]
        assert sweep["counts"] == {"ok": 2 * HOSTS, "warn": 0, "fail": 0}, _report(pairs)
        assert sweep["loop_lag_max_ms"] <= _lag_allowed(baseline), _report(pairs)
        for sweep, _ in pairs:
            assert set(sweep["errors"]) <= {"timeout"}, sweep["errors"]  # never a wrong verdict

    @INDEX
    def test_changed_key_in_a_large_file_is_host_key(self, fleet: Fleet, keys: Keys, tmp_path: Path) -> None:
        """Real OpenSSH whose key differs from its (hashed) line: every SSH probe is host_key, HTTP is ok."""
        other = f"ssh-ed25519 {knownfile.ed25519_blob(os.urandom(32))}"
        real = [knownfile.line(a, fleet.ssh_port, other, hashed_name=True) for a in fleet.ssh]
        known = knownfile.write(tmp_path / "known_hosts", real, 50_000, hashed_names=True)
        sweep, _ = _sweep(_inventory(fleet, tmp_path / "inv.yaml", known, keys.client_path))
        assert sweep["counts"] == {"ok": HOSTS, "warn": 0, "fail": HOSTS}
        assert sweep["errors"] == {"host_key": HOSTS}


@pytest.mark.sshd
class TestPassphraseProtectedKey:
    @pytest.fixture
    def encrypted_key(self, keys: Keys, tmp_path: Path) -> Path:
        """The client key re-written by ssh-keygen with a passphrase and 64 bcrypt KDF rounds (~0.3-1 s
        to decrypt here: more than a probe's whole budget if it landed on a probe's clock)."""
        path = tmp_path / "id_encrypted"
        shutil.copy(keys.client_path, path)
        os.chmod(path, 0o600)
        subprocess.run(
            ["ssh-keygen", "-q", "-p", "-a", "64", "-N", PASSPHRASE, "-P", "", "-f", str(path)], check=True
        )
        return path

    @pytest.mark.parametrize("workers", ["1", "2"])
    def test_mixed_sweep_has_no_false_timeouts(
        self, fleet: Fleet, keys: Keys, tmp_path: Path, encrypted_key: Path, workers: str
    ) -> None:
        """The key is decrypted before any clock starts: 40 ok at a 1 s timeout, with one process and
        with two workers (whose parent decrypts it once before forking, so no worker spends time on it)."""
        known = _known_hosts(fleet, tmp_path / "known_hosts", hashed=False, lines=1_000)
        inventory = _inventory(
            fleet, tmp_path / "inv.yaml", known, encrypted_key, passphrase_env="PROBER_TEST_PASSPHRASE"
        )
        env = {"PROBER_TEST_PASSPHRASE": PASSPHRASE}
        light = _inventory(fleet, tmp_path / "light.yaml", known, keys.client_path)
        pairs = _sweep_against_baseline(inventory, light, "--workers", workers, env=env)
        sweep, baseline = pairs[-1]
        assert sweep["counts"] == {"ok": 2 * HOSTS, "warn": 0, "fail": 0}, _report(pairs)
        assert sweep["loop_lag_max_ms"] <= _lag_allowed(baseline), _report(pairs)
        if workers == "2":
            _, stderr = _sweep(inventory, "--workers", "2", env=env)
            prepared = [json.loads(x)["prepared_ms"] for x in stderr.splitlines() if "probes starting" in x]
            assert len(prepared) == 2 and max(prepared) < 200, prepared  # nothing left to decrypt
