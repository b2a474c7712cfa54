"""Interim (1xx) responses: bounded in number and bytes, inside the deadline, harmless to neighbours."""

from __future__ import annotations

import asyncio
import functools
import time
import tracemalloc

import pytest
from aiohttp import TCPConnector
from aiohttp.client_proto import ResponseHandler

from prober._patches import SWITCH, interim
from prober.model import Job, Result, Target
from prober.probes import probe_for
from prober.record import to_record
from prober.runtime.engine import Engine
from prober.runtime.resources import Resources
from tests.nopatches import needs_patch
from tests.probes.conftest import CertFactory, Handler, RawServer, run_probe
from tests.probes.httpapp import MARGIN, TIMEOUT, spec
from tests.probes.records import check_record

PROCESSING = b"HTTP/1.1 102 Processing\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nservice is ok"


def interim_then_ok(*interims: bytes) -> Handler:
    """The given interim responses, then a 200."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"".join(interims) + OK)
        await writer.drain()
        await reader.read()

    return handler


def interim_forever(message: bytes, pause: float = 0.0) -> Handler:
    """`message` (an interim response) repeated until the client leaves: in 64 KB blocks as fast as
    loopback takes them, or one at a time every `pause` seconds."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        block = message * max(1, 65536 // len(message)) if not pause else message
        while True:
            writer.write(block)
            await writer.drain()
            if pause:
                await asyncio.sleep(pause)

    return handler


def interim_dripped(message: bytes, pause: float) -> Handler:
    """`message` repeated forever, one byte every `pause` seconds."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        while True:
            for byte in message:
                writer.write(bytes((byte,)))
                await writer.drain()
                await asyncio.sleep(pause)

    return handler


def early_hints(links: int, size: int) -> bytes:
    """A 103 Early Hints carrying `links` Link headers of about `size` bytes each."""
    link = "Link: </" + "a" * size + ">; rel=preload\r\n"
    return b"HTTP/1.1 103 Early Hints\r\n" + link.encode() * links + b"\r\n"


async def test_guard_matches_installed_aiohttp(monkeypatch: pytest.MonkeyPatch) -> None:
    """aiohttp's connectors build their protocol from a partial of ResponseHandler, whose feed_data
    takes the parsed message first: if an upgrade changes either, this fails (the 1xx bound would
    silently be gone)."""
    monkeypatch.delenv(SWITCH, raising=False)
    assert interim.COMPATIBLE
    connector = TCPConnector()
    try:
        assert interim.install(connector)
        factory = connector._factory
        assert isinstance(factory, functools.partial) and factory.func is interim.InterimGuard
    finally:
        await connector.close()


@needs_patch("interim", "bounding interim (1xx) responses")
class TestInterim:
    async def test_guard_is_installed(self, resources: Resources) -> None:
        """The sweep's session builds guarded protocols."""
        factory = resources.http_session().connector._factory  # type: ignore[union-attr]
        assert factory.func is interim.InterimGuard

    async def test_interim_answers_within_the_bound_are_skipped(self, resources: Resources) -> None:
        """100, 103 with Link headers and 102s up to MAX_INTERIM, then a 200: judged on the 200."""
        interims = [b"HTTP/1.1 100 Continue\r\n\r\n", early_hints(3, 60)]
        interims += [PROCESSING] * (interim.MAX_INTERIM - 2)
        async with RawServer(interim_then_ok(*interims)) as srv:
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/", body_regex="is ok$"), resources)
        assert record["status"] == "ok", record["error"]
        assert record["http"]["status_code"] == 200

    async def test_one_interim_too_many_is_protocol(self, resources: Resources) -> None:
        """MAX_INTERIM + 1 interim answers before the 200: protocol, saying why."""
        async with RawServer(interim_then_ok(*[PROCESSING] * (interim.MAX_INTERIM + 1))) as srv:
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/"), resources)
        assert record["error"]["kind"] == "protocol"
        assert record["error"]["message"] == "invalid HTTP response: more than 10 interim (1xx) responses"

    async def test_flood_fails_fast_with_bounded_memory(self, resources: Resources) -> None:
        """`102 Processing` forever, as fast as loopback goes: protocol well before the 2 s deadline,
        the connection closed (the server sees it), and little memory."""
        async with RawServer(interim_forever(PROCESSING)) as srv:
            tracemalloc.start()
            started = time.perf_counter()
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/", timeout=2.0), resources)
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        assert record["error"]["kind"] == "protocol"
        assert elapsed < 1.0, elapsed
        assert peak < 8_000_000, f"peak {peak} bytes"  # one 256 KB read parsed at most, plus the server

    async def test_flood_over_tls(self, certs: CertFactory, resources: Resources) -> None:
        """The same flood over TLS: protocol, fast (closing a TLS transport also stops its reads)."""
        leaf = certs.leaf()
        async with RawServer(interim_forever(PROCESSING), leaf.server_context()) as srv:
            probe_spec = spec(f"https://127.0.0.1:{srv.port}/", ca_file=str(certs.ca_file), timeout=2.0)
            started = time.perf_counter()
            _, record = await run_probe(probe_spec, resources)
        assert record["error"]["kind"] == "protocol"
        assert time.perf_counter() - started < 1.0

    async def test_huge_interim_headers_are_protocol(self, resources: Resources) -> None:
        """103s of 20 Link headers of 4 KB each, forever: over 64 KiB of interim headers → protocol."""
        async with RawServer(interim_forever(early_hints(20, 4000))) as srv:
            started = time.perf_counter()
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/", timeout=2.0), resources)
        assert record["error"]["kind"] == "protocol"
        assert record["error"]["message"].endswith("interim (1xx) responses over 64 KiB of headers")
        assert time.perf_counter() - started < 1.0

    async def test_oversized_interim_header_line_is_protocol(self, resources: Resources) -> None:
        """A 102 with a 1 MB header line is refused by the parser's own line limit: protocol."""
        message = b"HTTP/1.1 102 Processing\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n"
        async with RawServer(interim_forever(message)) as srv:
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/", timeout=2.0), resources)
        assert record["error"]["kind"] in ("protocol", "reset")  # reset: uvloop sees the close first

    async def test_slow_interim_drip_ends_at_the_deadline(self, resources: Resources) -> None:
        """One 102 every 0.1 s (under the count bound within the timeout): timeout, on time."""
        async with RawServer(interim_forever(PROCESSING, pause=0.1)) as srv:
            started = time.perf_counter()
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/", timeout=TIMEOUT), resources)
        assert record["error"]["kind"] == "timeout"
        assert TIMEOUT - 0.02 <= time.perf_counter() - started < TIMEOUT + MARGIN

    async def test_interim_dripped_byte_by_byte_ends_at_the_deadline(self, resources: Resources) -> None:
        """A 103 whose header bytes come one per 20 ms: timeout, on time."""
        async with RawServer(interim_dripped(early_hints(1, 200), pause=0.02)) as srv:
            started = time.perf_counter()
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/", timeout=TIMEOUT), resources)
        assert record["error"]["kind"] == "timeout"
        assert time.perf_counter() - started < TIMEOUT + MARGIN

    async def test_neighbour_is_not_harmed(self) -> None:
        """A flooding host and a healthy host answering in 0.3 s, at concurrency 2: the healthy one is
        ok (3 rounds), the flood fails as protocol, both well inside their 2 s timeout."""

        async def slow_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            await asyncio.sleep(0.3)
            writer.write(OK)
            await writer.drain()

        async with RawServer(interim_forever(PROCESSING)) as flood, RawServer(slow_ok) as healthy:
            for _ in range(3):
                results: list[Result] = []
                jobs = [
                    Job(0, Target("flood", "127.0.0.1", "g"), spec(f"http://127.0.0.1:{flood.port}/")),
                    Job(1, Target("healthy", "127.0.0.1", "g"), spec(f"http://127.0.0.1:{healthy.port}/")),
                ]
                res = Resources(concurrency=2)
                started = time.perf_counter()
                await Engine(jobs, results.append, concurrency=2, probe_for=probe_for, resources=res).run()
                elapsed = time.perf_counter() - started
                await res.aclose()
                records = {r.job.target.name: to_record(r, "run-1xx") for r in results}
                for record in records.values():
                    check_record(record)
                assert records["healthy"]["status"] == "ok", records["healthy"]["error"]
                assert records["flood"]["error"]["kind"] == "protocol"
                assert elapsed < 1.5, elapsed


class TestUnboundedWithoutThePatch:
    """PROBER_NO_PATCHES=1: interim responses are aiohttp's, unbounded (README, "Library patches")."""

    async def test_switch_leaves_aiohttps_protocol(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(SWITCH, "1")
        res = Resources()
        try:
            factory = res.http_session().connector._factory  # type: ignore[union-attr]
            assert factory.func is ResponseHandler
        finally:
            await res.aclose()

    async def test_many_interim_answers_are_skipped(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Past the bound, the final answer is taken as aiohttp takes it: ok."""
        monkeypatch.setenv(SWITCH, "1")
        res = Resources()
        try:
            async with RawServer(interim_then_ok(*[PROCESSING] * (3 * interim.MAX_INTERIM))) as srv:
                _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/"), res)
        finally:
            await res.aclose()
        assert record["status"] == "ok", record["error"]

    async def test_flood_still_ends_as_timeout(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A 102 flood still ends in one record, `timeout` (never internal), but late: the loop is held
        by the flood (measured here at a 1 s timeout: ~2 s on asyncio, 5-8 s on uvloop)."""
        monkeypatch.setenv(SWITCH, "1")
        res = Resources()
        try:
            async with RawServer(interim_forever(PROCESSING)) as srv:
                started = time.perf_counter()
                _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/", timeout=0.5), res)
        finally:
            await res.aclose()
        check_record(record)
        assert record["error"]["kind"] == "timeout"
        assert 0.5 <= time.perf_counter() - started < 30
