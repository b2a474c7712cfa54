"""Fixtures for probe tests: in-process loopback servers, generated certificates, a one-job runner."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from prober.model import Job, ProbeSpec, Result, Target
from prober.probes import probe_for
from prober.record import to_record
from prober.runtime.engine import Engine
from prober.runtime.resources import Resources
from tests.probes.loops import *  # noqa: F403  (every async test on asyncio and uvloop)
from tests.probes.records import check_record

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def resources() -> AsyncIterator[Resources]:
    """Per-test shared probe resources (HTTP session, SSL contexts), closed afterwards."""
    res = Resources(concurrency=8)
    yield res
    await res.aclose()


async def run_probe(
    spec: ProbeSpec, res: Resources, address: str = "127.0.0.1"
) -> tuple[Result, dict[str, Any]]:
    """Run one job through the real engine and return its Result and validated record."""
    results: list[Result] = []
    job = Job(0, Target("host-a", address, "grp"), spec)
    engine = Engine([job], results.append, concurrency=1, probe_for=probe_for, resources=res)
    await engine.run()
    (result,) = results
    record = to_record(result, "run-test")
    check_record(record)
    return result, record


def free_port() -> int:
    """A loopback port that was bound and closed, so nothing listens there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def syn_dropping_port() -> Iterator[int]:
    """A loopback port whose SYNs go unanswered, without root: a listener with backlog 0 that never
    accepts, its queue filled first; Linux then drops further SYNs (like an nftables drop rule)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers: list[socket.socket] = []
    try:
        for _ in range(16):
            filler = socket.socket()
            filler.settimeout(0.1)
            fillers.append(filler)
            try:
                filler.connect(("127.0.0.1", port))
            except TimeoutError:
                break  # the queue is full: from now on SYNs are dropped
        else:
            pytest.skip("this kernel kept accepting connections on a full backlog-0 listener")
        yield port
    finally:
        for sock in [*fillers, listener]:
            sock.close()


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with SO_LINGER 0 so the peer gets a TCP RST instead of a FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class RawServer:
    """An asyncio TCP server on 127.0.0.1 running `handler` per connection; aborts them all on close."""

    def __init__(self, handler: Handler, ssl_context: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.ssl_context = ssl_context
        self.writers: set[asyncio.StreamWriter] = set()
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.add(writer)
        try:
            with contextlib.suppress(Exception):
                await self.handler(reader, writer)
        finally:
            writer.transport.abort()  # a finished handler leaves no socket behind

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(
            self._serve, "127.0.0.1", 0, backlog=1024, ssl=self.ssl_context
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()
        await self.server.wait_closed()


class AppServer:
    """An aiohttp application served on a loopback socket, optionally over TLS."""

    def __init__(self, app: web.Application, ssl_context: ssl.SSLContext | None = None) -> None:
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        self.ssl_context = ssl_context
        self.port = 0

    async def __aenter__(self) -> AppServer:
        await self.runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self.runner, sock, ssl_context=self.ssl_context).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()

    def url(self, path: str = "/") -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"


# --- certificates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertFiles:
    """PEM files of one certificate, its key, and the DER bytes for direct inspection."""

    cert: Path
    key: Path
    der: bytes
    not_after: dt.datetime

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


class CertFactory:
    """Issues test certificates: a CA, leaves it signs, and self-signed leaves."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "prober test CA")])
        self.ca_name = name
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key()), critical=False
            )
        )
        self.ca_cert = builder.sign(self.ca_key, hashes.SHA256())
        self.ca_file = directory / "ca.pem"
        self.ca_file.write_bytes(self.ca_cert.public_bytes(serialization.Encoding.PEM))
        self._count = 0

    def leaf(
        self,
        *,
        days: float = 90,
        names: tuple[str, ...] = ("127.0.0.1",),
        self_signed: bool = False,
        not_before_days: float = -1,
    ) -> CertFiles:
        """A server certificate valid `days` from now (negative: already expired) for `names`."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
        sans: list[x509.GeneralName] = []
        for name in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        not_after = now + dt.timedelta(days=days)
        not_before = min(now + dt.timedelta(days=not_before_days), not_after - dt.timedelta(days=1))
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject if self_signed else self.ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        )
        if not self_signed:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()), critical=False
            )
        cert = builder.sign(key if self_signed else self.ca_key, hashes.SHA256())
        self._count += 1
        cert_path = self.directory / f"leaf{self._count}.pem"
        key_path = self.directory / f"leaf{self._count}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return CertFiles(
            cert_path, key_path, cert.public_bytes(serialization.Encoding.DER), cert.not_valid_after_utc
        )


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertFactory:
    """One test CA per session; leaves are issued per test."""
    return CertFactory(tmp_path_factory.mktemp("certs"))


@dataclass
class LoopbackSSH:
    """An in-process asyncssh server on 127.0.0.1 with a fresh host key; a client key and a
    known_hosts naming the server, written to files for a spec."""

    server: Any
    port: int
    key: Path
    known_hosts: Path


async def loopback_sshd(tmp_path: Path) -> LoopbackSSH:
    """Start one (close `.server` when done)."""
    import asyncssh

    from prober.sim import sshd

    host, client = asyncssh.generate_private_key("ssh-ed25519"), asyncssh.generate_private_key("ssh-ed25519")
    key = tmp_path / "id_loopback"
    client.write_private_key(str(key))
    server = await sshd.start_sshd("127.0.0.1", 0, host, client.export_public_key().decode())
    port = server.sockets[0].getsockname()[1]
    known = tmp_path / "known_hosts_loopback"
    known.write_text(f"[127.0.0.1]:{port} {host.export_public_key().decode()}")
    return LoopbackSSH(server, port, key, known)
