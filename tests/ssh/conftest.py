"""SSH test fixtures: keys, in-process asyncssh servers, a real OpenSSH sshd, and a tiny sweep runner."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from prober.model import Job, Result, Target
from prober.probes import probe_for
from prober.probes.ssh.spec import SSHSpec
from prober.record import to_record
from prober.runtime.engine import Engine
from prober.runtime.resources import Resources
from prober.sim import sshd


@dataclass
class Keys:
    """A client key pair and a server host key, written to files where a spec needs them."""

    dir: Path
    client: asyncssh.SSHKey
    host: asyncssh.SSHKey
    client_path: Path
    client_public: str


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    root = tmp_path_factory.mktemp("sshkeys")
    client = asyncssh.generate_private_key("ssh-ed25519")
    host = asyncssh.generate_private_key("ssh-ed25519")
    client_path = root / "id_ed25519"
    client.write_private_key(str(client_path))
    os.chmod(client_path, 0o600)
    return Keys(root, client, host, client_path, client.export_public_key().decode())


def known_hosts_line(address: str, port: int, key: asyncssh.SSHKey) -> str:
    name = address if port == 22 else f"[{address}]:{port}"
    return f"{name} {key.export_public_key().decode().strip()}\n"


@dataclass
class SimServer:
    """A running in-process asyncssh server and the files a spec needs to reach it."""

    address: str
    port: int
    stats: sshd.ServerStats
    known_hosts: Path
    key: Path
    server: Any = None

    def spec(self, **params: Any) -> SSHSpec:
        base: dict[str, Any] = {
            "name": "ssh",
            "port": self.port,
            "user": "tester",
            "key": str(self.key),
            "known_hosts": str(self.known_hosts),
            "agent": False,
            "timeout": 5.0,
            "retries": 0,
        }
        base.update(params)
        if "command" not in base and "check" not in base:
            base["command"] = "echo hello"
        return SSHSpec(**base)

    def target(self, name: str = "h1") -> Target:
        return Target(name, self.address, "g")


@pytest.fixture
async def sim_server(keys: Keys, tmp_path: Path) -> AsyncIterator[Any]:
    """Factory: `await sim_server(**start_sshd kwargs)` → SimServer on 127.0.0.1, closed after the test."""
    servers: list[Any] = []
    all_stats: list[sshd.ServerStats] = []

    async def start(address: str = "127.0.0.1", **kwargs: Any) -> SimServer:
        stats = sshd.ServerStats()
        all_stats.append(stats)
        server = await sshd.start_sshd(address, 0, keys.host, keys.client_public, stats=stats, **kwargs)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        known = tmp_path / f"known_hosts_{port}"
        known.write_text(known_hosts_line(address, port, keys.host))
        return SimServer(address, port, stats, known, keys.client_path, server)

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()
    # Let sessions still killing their commands finish before the loop closes.
    for _ in range(50):
        if all(stats.active == 0 for stats in all_stats):
            break
        await asyncio.sleep(0.02)


@dataclass
class Sweep:
    """What run_jobs returns: records in plan order and the resources used (for pool counters)."""

    records: list[dict[str, Any]]
    results: list[Result]
    resources: Resources
    seconds: float
    handshakes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


async def run_jobs(
    pairs: Sequence[tuple[Target, SSHSpec]], *, concurrency: int = 16, secrets: bool = False
) -> Sweep:
    """Run (target, spec) pairs through the real engine and record builder, as a sweep would."""
    jobs = tuple(Job(i, t, s) for i, (t, s) in enumerate(pairs))
    resources = Resources(concurrency=concurrency)
    results: list[Result] = []
    engine = Engine(jobs, results.append, concurrency=concurrency, probe_for=probe_for, resources=resources)
    started = time.perf_counter()
    try:
        await engine.run()
    finally:
        pool = resources._ssh_pool
        handshakes = pool.handshakes if pool is not None else 0
        await resources.aclose()
    seconds = time.perf_counter() - started
    results.sort(key=lambda r: r.job.index)
    records = [to_record(r, "test") for r in results]
    return Sweep(records, results, resources, seconds, handshakes)


async def run_one(target: Target, spec: SSHSpec) -> dict[str, Any]:
    return (await run_jobs([(target, spec)])).records[0]


def with_spec(spec: SSHSpec, **changes: Any) -> SSHSpec:
    return replace(spec, **changes)


# ---------------------------------------------------------------- real OpenSSH

SSHD = "/usr/sbin/sshd"
TEST_USER = "prober-test"


def _free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


def _ensure_user() -> None:
    """The throwaway login user; created once, with no password and no home of its own."""
    try:
        subprocess.run(["id", TEST_USER], check=True, capture_output=True)
        return
    except subprocess.CalledProcessError:
        pass
    subprocess.run(
        ["useradd", "--system", "-M", "-d", "/nonexistent", "-s", "/bin/sh", "-p", "*", TEST_USER],
        check=True,
        capture_output=True,
    )


@dataclass
class OpenSSH:
    """A running Debian sshd on loopback with its own host key, user and authorized key."""

    address: str
    port: int
    known_hosts: Path
    key: Path
    log: Path
    dir: Path

    def spec(self, **params: Any) -> SSHSpec:
        base: dict[str, Any] = {
            "name": "ssh",
            "port": self.port,
            "user": TEST_USER,
            "key": str(self.key),
            "known_hosts": str(self.known_hosts),
            "agent": False,
            "timeout": 10.0,
            "retries": 0,
        }
        base.update(params)
        if "command" not in base and "check" not in base:
            base["command"] = "echo hello"
        return SSHSpec(**base)

    def target(self, name: str = "openssh") -> Target:
        return Target(name, self.address, "real")

    def plugins(self) -> Path:
        """A directory inside the sshd dir that the throwaway user can read and run files from."""
        path = self.dir / "plugins"
        path.mkdir(mode=0o755, exist_ok=True)
        return path

    def accepted_logins(self) -> int:
        return self.log.read_text(errors="replace").count(f"Accepted publickey for {TEST_USER}")


def _wait_listening(address: str, port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection((address, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("sshd did not start listening")


@contextlib.contextmanager
def running_sshd(keys: Keys, extra_config: str = "") -> Iterator[OpenSSH]:
    """Debian's sshd in the foreground (-D -e) on a 127.x port; `extra_config` lines are appended."""
    if not os.path.exists(SSHD):
        pytest.skip(f"{SSHD} is not installed (apt-get install openssh-server)")
    if os.geteuid() != 0:
        pytest.skip("starting sshd with a throwaway user needs root")
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is missing")
    _ensure_user()
    # Not under pytest's tmp dir: that is mode 0700 and sshd reads authorized_keys as the user.
    root = Path(tempfile.mkdtemp(prefix="prober-sshd-"))
    os.chmod(root, 0o755)
    host_key = root / "ssh_host_ed25519_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    authorized = root / "authorized_keys"
    authorized.write_text(keys.client_public)
    os.chmod(authorized, 0o644)
    address = "127.0.0.1"
    port = _free_port(address)
    config = root / "sshd_config"
    config.write_text(
        f"ListenAddress {address}:{port}\nHostKey {host_key}\nPidFile none\nUsePAM no\nStrictModes no\n"
        f"AuthorizedKeysFile {authorized}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        f"PubkeyAuthentication yes\nAllowUsers {TEST_USER}\nMaxStartups 1000:30:1000\nMaxSessions 50\n"
        f"LogLevel VERBOSE\nPermitRootLogin no\nUseDNS no\n{extra_config}"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    log = root / "sshd.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=sink, stderr=sink)
    try:
        _wait_listening(address, port, proc, log)
        public = host_key.with_suffix(".pub").read_text().split()
        known = root / "known_hosts"
        known.write_text(f"[{address}]:{port} {public[0]} {public[1]}\n")
        yield OpenSSH(address, port, known, keys.client_path, log, root)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def openssh(keys: Keys) -> Iterator[OpenSSH]:
    """Debian's sshd on loopback, shared by the tests that need the real thing."""
    with running_sshd(keys) as server:
        yield server


def loop_time() -> float:
    return asyncio.get_running_loop().time()


@pytest.fixture
def ssh_agent(keys: Keys, tmp_path: Path) -> Iterator[str]:
    """A real ssh-agent (foreground, its own socket) holding the client key; yields the socket path."""
    if shutil.which("ssh-agent") is None or shutil.which("ssh-add") is None:
        pytest.skip("ssh-agent/ssh-add are not installed (openssh-client)")
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
        subprocess.run(["ssh-add", "-q", str(keys.client_path)], env=env, check=True, capture_output=True)
        yield str(sock)
    finally:
        agent.terminate()
        agent.wait()


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A loopback port whose accept queue is full, so new TCP connects hang (SYNs are dropped)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    try:
        yield port
    finally:
        for sock in [*fillers, server]:
            sock.close()
