"""`internal` means a bug in prober: no hostile HTTP, TLS or TCP server of the suite may produce it.

Every hostile case the other tests use (tests/probes/test_hostile_sweep.py, test_http.py, test_https.py,
test_tcp.py, tests/cli/hostile.py) is run here once more, through the real engine and probes, and its
record must carry any kind but `internal`. The SSH cases are in tests/ssh/test_no_internal.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from prober.model import ProbeSpec
from prober.probes.tcp import TCPSpec
from prober.runtime.resources import Resources
from tests.cli import hostile as cli_hostile
from tests.probes import test_hostile_sweep as sweep_cases
from tests.probes.conftest import AppServer, CertFactory, RawServer, free_port, reset, run_probe
from tests.probes.httpapp import make_app, spec

HUNG = 0.3  # timeout for servers that never answer


class Lab:
    """Starts the servers a case needs and closes them after the test."""

    def __init__(self, stack: contextlib.AsyncExitStack, certs: CertFactory) -> None:
        self.stack = stack
        self.certs = certs
        self.ca_file = str(certs.ca_file)

    async def raw(self, handler: Any) -> int:
        return (await self.stack.enter_async_context(RawServer(handler))).port

    async def app(self, path: str, cert: str | None = None) -> str:
        leaf = {
            None: None,
            "self_signed": lambda: self.certs.leaf(self_signed=True),
            "expired": lambda: self.certs.leaf(days=-2),
            "wrong_host": lambda: self.certs.leaf(names=("other.test",)),
        }[cert]
        tls = leaf().server_context() if leaf else None
        server = await self.stack.enter_async_context(AppServer(make_app(Counter()), tls))
        return server.url(path)

    async def closed(self) -> int:
        return free_port()


def banner(data: bytes, then: str = "wait") -> Callable[..., Awaitable[None]]:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        if then == "reset":
            await asyncio.sleep(0.05)
            reset(writer)
        elif then == "close":
            writer.close()
        else:
            await reader.read()

    return handler


async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        writer.write(b"\xff\xfe garbage \x00" * 4096)
        await writer.drain()


async def processing_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    while True:
        writer.write(b"HTTP/1.1 102 Processing\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.01)


async def plain_on_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(100)
    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()
    await reader.read()


async def drop_hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(10)
    reset(writer)


def http(port: int, tls: bool = False, **kw: Any) -> ProbeSpec:
    return spec(f"{'https' if tls else 'http'}://127.0.0.1:{port}/", **kw)


def tcp(port: int, **kw: Any) -> ProbeSpec:
    kw.setdefault("timeout", 2.0)
    return TCPSpec(name="svc", port=port, retries=0, **kw)


def raw(handler: Any) -> Callable[[Lab], Awaitable[Any]]:
    return lambda lab: lab.raw(handler)


def app(path: str, cert: str | None = None) -> Callable[[Lab], Awaitable[Any]]:
    return lambda lab: lab.app(path, cert)


def closed() -> Callable[[Lab], Awaitable[Any]]:
    return lambda lab: lab.closed()


# case → (the server it starts: its port or URL, the spec probing it)
CASES: dict[str, tuple[Callable[[Lab], Awaitable[Any]], Callable[[Any, Lab], ProbeSpec]]] = {
    # tests/probes/test_hostile_sweep.py and test_http.py
    "http silent": (raw(sweep_cases.silent), lambda p, _: http(p, timeout=HUNG)),
    "https silent": (raw(sweep_cases.silent), lambda p, _: http(p, True, timeout=HUNG)),
    "reset on accept": (raw(sweep_cases.rst), lambda p, _: http(p)),
    "close without answer": (raw(sweep_cases.close), lambda p, _: http(p)),
    "garbage instead of http": (raw(sweep_cases.garbage), lambda p, _: http(p)),
    "1 MB header line": (raw(sweep_cases.header_flood), lambda p, _: http(p)),
    "body drip, body_regex": (raw(sweep_cases.drip), lambda p, _: http(p, timeout=HUNG, body_regex="y")),
    "refused": (closed(), lambda p, _: http(p)),
    "endless 102 Processing": (raw(processing_forever), lambda p, _: http(p, timeout=HUNG)),
    "503": (app("/down"), lambda u, _: spec(u)),
    "redirect loop": (app("/loop"), lambda u, _: spec(u, follow_redirects=True)),
    "endless body, body_regex": (app("/endless"), lambda u, _: spec(u, body_regex="nope")),
    "body drip, no regex": (app("/drip"), lambda u, _: spec(u, timeout=HUNG)),
    # tests/probes/test_https.py
    "self-signed": (app("/ok", "self_signed"), lambda u, lab: spec(u, ca_file=lab.ca_file)),
    "expired": (app("/ok", "expired"), lambda u, lab: spec(u, ca_file=lab.ca_file)),
    "expired, verify off": (app("/ok", "expired"), lambda u, _: spec(u, verify_tls=False, cert_min_days=9)),
    "wrong host name": (app("/ok", "wrong_host"), lambda u, lab: spec(u, ca_file=lab.ca_file)),
    "plain http on a tls port": (raw(plain_on_tls), lambda p, _: http(p, True)),
    "reset on ClientHello": (raw(drop_hello), lambda p, _: http(p, True)),
    # tests/probes/test_tcp.py and tests/cli/hostile.py
    "tcp silent, expect": (raw(sweep_cases.silent), lambda p, _: tcp(p, expect="^SSH-", timeout=HUNG)),
    "tcp reset": (raw(sweep_cases.rst), lambda p, _: tcp(p, expect="^SSH-")),
    "tcp refused": (closed(), lambda p, _: tcp(p)),
    "tcp wrong banner": (raw(banner(b"220 smtp ready\r\n")), lambda p, _: tcp(p, expect="^SSH-")),
    "tcp reset mid-banner": (raw(banner(b"SSH-", "reset")), lambda p, _: tcp(p, expect="^SSH-2")),
    "tcp close after a banner": (raw(banner(b"x", "close")), lambda p, _: tcp(p, expect="^y")),
    "tcp endless stream": (raw(flood), lambda p, _: tcp(p, expect="^SSH-")),
    "cli black hole": (raw(cli_hostile.black_hole()), lambda p, _: http(p, timeout=HUNG)),
    "cli reset": (raw(cli_hostile.reset()), lambda p, _: http(p)),
    "cli healthy": (raw(cli_hostile.http_ok()), lambda p, _: http(p)),
}


@pytest.fixture
async def lab(certs: CertFactory) -> AsyncIterator[Lab]:
    async with contextlib.AsyncExitStack() as stack:
        yield Lab(stack, certs)


class TestNoInternal:
    @pytest.mark.parametrize("case", list(CASES))
    async def test_hostile_server_is_never_internal(self, case: str, lab: Lab, resources: Resources) -> None:
        """Each hostile server of the suite ends in a named failure kind (or ok), never `internal`."""
        server, build = CASES[case]
        _, record = await run_probe(build(await server(lab), lab), resources)  # checks the record's shape
        assert (record["error"] or {}).get("kind") != "internal", record["error"]

    async def test_redirect_to_file_url_is_not_internal(self, resources: Resources) -> None:
        """A redirect to file:// (aiohttp's NonHttpUrlRedirectClientError) is a named failure: protocol."""

        async def to_file(request: web.Request) -> web.Response:
            return web.Response(status=302, headers={"Location": "file:///etc/passwd"})

        app = web.Application()
        app.router.add_get("/", to_file)
        async with AppServer(app) as server:
            _, record = await run_probe(spec(server.url("/"), follow_redirects=True), resources)
        assert record["status"] == "fail" and record["error"]["kind"] == "protocol", record["error"]
