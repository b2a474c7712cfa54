"""DNS servers for the dns probe tests, on loopback only: dnsmasq (a real server, one per test session)
and an in-process asyncio server (UDP and TCP on one port) whose replies each test chooses."""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import pwd
import random
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rrset

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
ZONE = "test.lan"
# What the dnsmasq fixture serves (tests assert on these values).
RECORDS = {
    "web.test.lan": "127.9.9.9",
    "web2.test.lan": "127.9.9.10",
    "v6.test.lan": "fd00::53",
    "txt.test.lan": "v=spf1 -all",
    "mx": "mail.test.lan",
    "srv": "_sip._tcp.test.lan",
    "alias.test.lan": "web2.test.lan",
    "ptr": "10.9.9.127.in-addr.arpa",
    "many.test.lan": [f"127.8.0.{i}" for i in range(1, 41)],
}


def _dnsmasq_args(address: str, port: int, pid_file: Path) -> list[str]:
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    many = [f"--host-record=many.{ZONE},{ip}" for ip in RECORDS["many.test.lan"]]
    return [
        DNSMASQ,
        "--no-daemon",
        "--no-resolv",
        "--no-hosts",
        "--conf-file=/dev/null",
        f"--port={port}",
        f"--listen-address={address}",
        "--bind-interfaces",
        f"--pid-file={pid_file}",
        f"--user={user}",
        f"--group={group}",
        "--log-facility=-",
        # Authoritative for the zone: SOA and NS answers, NXDOMAIN for names it does not hold, and
        # REFUSED for any other zone (no upstream: nothing ever leaves this machine).
        f"--auth-server=ns1.{ZONE},{address}",
        f"--auth-zone={ZONE}",
        f"--auth-soa=2026113001,hostmaster.{ZONE}",
        f"--host-record=web.{ZONE},127.9.9.9",
        f"--host-record=web2.{ZONE},127.9.9.10",
        f"--host-record=v6.{ZONE},fd00::53",
        f"--txt-record=txt.{ZONE},v=spf1 -all",
        f"--mx-host={ZONE},mail.{ZONE},10",
        f"--srv-host=_sip._tcp.{ZONE},sip.{ZONE},5060,1,2",
        f"--cname=alias.{ZONE},web2.{ZONE}",
        f"--ptr-record=10.9.9.127.in-addr.arpa,web2.{ZONE}",
        f"--caa-record={ZONE},0,issue,letsencrypt.org",
        *many,
    ]


def _free_udp_tcp_port(address: str) -> int:
    """A port free for both UDP and TCP on `address` (bound, then closed)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((address, 0))
            port = int(udp.getsockname()[1])
            with socket.socket() as tcp, contextlib.suppress(OSError):
                tcp.bind((address, port))
                return port
    raise RuntimeError("no free port")


def _answers(address: str, port: int) -> bool:
    query = dns.message.make_query(f"web.{ZONE}", "A")
    with contextlib.suppress(Exception):
        return dns.query.udp(query, address, port=port, timeout=0.2).rcode() == dns.rcode.NOERROR
    return False


@dataclass
class Dnsmasq:
    """A running dnsmasq on `address`:`port` (UDP and TCP)."""

    address: str
    port: int
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def server(self) -> str:
        return f"{self.address}:{self.port}"


@contextlib.contextmanager
def dnsmasq(directory: Path) -> Iterator[Dnsmasq]:
    """Start dnsmasq on a random 127.x.y.z (so parallel sessions never meet), wait until it answers."""
    address = f"127.{random.randint(64, 250)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    port = _free_udp_tcp_port(address)
    log = (directory / "dnsmasq.log").open("wb")
    args = _dnsmasq_args(address, port, directory / "dnsmasq.pid")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _answers(address, port):
            if process.poll() is not None or time.monotonic() > deadline:
                output = (directory / "dnsmasq.log").read_text()[-2000:]
                raise RuntimeError(f"dnsmasq did not start: {output}")
            time.sleep(0.05)
        yield Dnsmasq(address, port, process)
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


# --- the in-process server -----------------------------------------------------------------------

# (query, wire bytes as received, "udp" or "tcp") → bytes to send back, or None to stay silent.
Reply = Callable[[dns.message.Message | None, bytes, str], Awaitable[bytes | None]]


def response(query: dns.message.Message, *records: str, rcode: int = dns.rcode.NOERROR) -> bytes:
    """The reply to `query` holding `records` ("name ttl IN type data" each)."""
    reply = dns.message.make_response(query)
    reply.set_rcode(rcode)
    for text in records:
        name, ttl, rdclass, rdtype, data = text.split(None, 4)
        reply.answer.append(dns.rrset.from_text(name, int(ttl), rdclass, rdtype, data))
    return reply.to_wire(max_size=65535)


def truncated(query: dns.message.Message) -> bytes:
    """An empty reply with the TC bit: "ask again over TCP"."""
    reply = dns.message.make_response(query)
    reply.flags |= dns.flags.TC
    return reply.to_wire()


class _UDP(asyncio.DatagramProtocol):
    def __init__(self, server: FakeDNS) -> None:
        self.server = server
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.server.queries.append(("udp", data))
        task = asyncio.get_running_loop().create_task(self._answer(data, addr))
        self.server.tasks.add(task)
        task.add_done_callback(self.server.tasks.discard)

    async def _answer(self, data: bytes, addr: tuple[str, int]) -> None:
        wire = await self.server.reply(_parsed(data), data, "udp")
        if wire is None or self.transport is None:
            return
        if wire:
            self.transport.sendto(wire, addr)
            return
        # asyncio's sendto drops an empty datagram: send it through a duplicate of the socket.
        fileno = self.transport.get_extra_info("socket").fileno()
        with socket.fromfd(fileno, socket.AF_INET, socket.SOCK_DGRAM) as raw:
            raw.sendto(b"", addr)


def _parsed(data: bytes) -> dns.message.Message | None:
    try:
        return dns.message.from_wire(data)
    except Exception:
        return None


class FakeDNS:
    """An asyncio DNS server on a loopback address (UDP and TCP on one port; or `tcp=False`: UDP only,
    its TCP port held closed) answering with `reply`."""

    def __init__(self, reply: Reply, *, tcp: bool = True, address: str = "127.0.0.1", port: int = 0) -> None:
        self.reply = reply
        self.with_tcp = tcp
        self.address = address
        self.queries: list[tuple[str, bytes]] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.writers: set[asyncio.StreamWriter] = set()
        self.udp: Any = None
        self.tcp: asyncio.Server | None = None
        self.closed_tcp: socket.socket | None = None
        self.port = port

    @property
    def server(self) -> str:
        return f"{self.address}:{self.port}"

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            while True:
                (size,) = struct.unpack("!H", await reader.readexactly(2))
                data = await reader.readexactly(size)
                self.queries.append(("tcp", data))
                wire = await self.reply(_parsed(data), data, "tcp")
                if wire is None:
                    writer.transport.abort()  # None over TCP: hang up without a reply
                    return
                writer.write(struct.pack("!H", len(wire)) + wire)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.transport.abort()
            self.writers.discard(writer)

    async def __aenter__(self) -> FakeDNS:
        loop = asyncio.get_running_loop()
        wanted = self.port
        for _ in range(50):
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UDP(self), local_addr=(self.address, wanted)
            )
            self.udp = transport
            self.port = transport.get_extra_info("sockname")[1]
            try:
                if not self.with_tcp:  # bound, never listening: a TCP connect there gets RST
                    self.closed_tcp = socket.socket()
                    self.closed_tcp.bind((self.address, self.port))
                    return self
                self.tcp = await asyncio.start_server(self._serve_tcp, self.address, self.port)
                return self
            except OSError:  # that port is taken over TCP: another one (unless one was asked for)
                transport.close()
                if wanted:
                    raise
        raise RuntimeError("no port free for both UDP and TCP")

    async def __aexit__(self, *exc: object) -> None:
        if self.closed_tcp is not None:
            self.closed_tcp.close()
        if self.udp is not None:
            self.udp.close()
        if self.tcp is not None:
            self.tcp.close()
            for writer in list(self.writers):
                writer.transport.abort()
            await self.tcp.wait_closed()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
