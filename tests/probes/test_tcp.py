"""TCP probe against real asyncio servers on loopback: connect, banners, send/expect, hostile peers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prober.probes.tcp import TCPSpec
from prober.runtime.resources import Resources
from tests.probes.conftest import RawServer, free_port, reset, run_probe

TIMEOUT = 0.3  # for hosts that never answer
FAST = 2.0  # for hosts that answer: generous, so a loaded machine cannot turn them into timeouts
MARGIN = 0.5


def spec(port: int, **kw: Any) -> TCPSpec:
    kw.setdefault("timeout", FAST)
    kw.setdefault("retries", 0)
    return TCPSpec(name="svc", port=port, **kw)


async def banner_then_wait(banner: bytes) -> Any:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(banner)
        await writer.drain()
        await reader.read()

    return handler


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()


class TestConnect:
    async def test_connect_ok(self, resources: Resources) -> None:
        """A listening port is ok and the record carries tcp.port."""
        async with RawServer(silent) as srv:
            _, record = await run_probe(spec(srv.port), resources)
            await asyncio.sleep(0.01)
            assert srv.connections == 1
        assert record["status"] == "ok" and record["tcp"]["port"] == srv.port

    async def test_refused(self, resources: Resources) -> None:
        """A port that was bound then closed is refused, with a plain message, after every retry."""
        _, record = await run_probe(spec(free_port(), retries=1), resources)
        assert record["error"] == {"kind": "refused", "message": "Connection refused"}
        assert record["attempts"] == 2

    async def test_accepts_never_sends_with_expect_times_out(self, resources: Resources) -> None:
        """A server that accepts and never sends a banner costs one timeout: kind timeout."""
        async with RawServer(silent) as srv:
            started = time.perf_counter()
            _, record = await run_probe(spec(srv.port, expect="^SSH-2.0-", timeout=TIMEOUT), resources)
        assert record["error"]["kind"] == "timeout"
        assert TIMEOUT - 0.02 <= time.perf_counter() - started < TIMEOUT + MARGIN  # uvloop: ms timers

    async def test_syn_dropped_times_out_per_attempt(
        self, resources: Resources, syn_dropping_port: int
    ) -> None:
        """A port that drops SYNs times out; each retry costs one more timeout, no more."""
        started = time.perf_counter()
        _, record = await run_probe(spec(syn_dropping_port, timeout=TIMEOUT, retries=1), resources)
        elapsed = time.perf_counter() - started
        assert record["error"]["kind"] == "timeout" and record["attempts"] == 2
        assert 2 * TIMEOUT - 0.04 <= elapsed < 2 * TIMEOUT + 1


class TestBanner:
    async def test_expect_matches_banner(self, resources: Resources) -> None:
        """expect matching the first bytes is ok and the banner is in the record."""
        async with RawServer(await banner_then_wait(b"SSH-2.0-OpenSSH_9.6\r\n")) as srv:
            _, record = await run_probe(spec(srv.port, expect="^SSH-2\\.0-"), resources)
        assert record["status"] == "ok"
        assert record["tcp"]["banner"].startswith("SSH-2.0-OpenSSH_9.6")

    async def test_banner_mismatch_is_assertion(self, resources: Resources) -> None:
        """A wrong banner on a connection kept open fails with kind assertion after a pause, not a timeout."""
        async with RawServer(await banner_then_wait(b"220 smtp ready\r\n")) as srv:
            started = time.perf_counter()
            _, record = await run_probe(spec(srv.port, expect="^SSH-", retries=1), resources)
        assert time.perf_counter() - started < 1  # judged after a short pause, not at the timeout
        assert record["error"]["kind"] == "assertion" and record["attempts"] == 1
        assert record["error"]["message"] == "first 16 bytes did not match '^SSH-'"
        assert record["tcp"]["banner"] == "220 smtp ready\r\n"

    async def test_banner_in_pieces(self, resources: Resources) -> None:
        """A banner arriving in several small pieces still matches once it is complete."""

        async def pieces(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            for piece in (b"+PO", b"NG", b"\r\n"):
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0.02)
            await reader.read()

        async with RawServer(pieces) as srv:
            _, record = await run_probe(spec(srv.port, expect="^\\+PONG\r\n"), resources)
        assert record["status"] == "ok"

    async def test_send_then_expect(self, resources: Resources) -> None:
        """`send` is written first and `expect` matches the server's answer to it."""

        async def pong(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            line = await reader.readline()
            writer.write(b"+PONG\r\n" if line == b"PING\r\n" else b"-ERR\r\n")
            await writer.drain()
            await reader.read()

        async with RawServer(pong) as srv:
            _, record = await run_probe(spec(srv.port, send="PING\r\n", expect="^\\+PONG"), resources)
            _, wrong = await run_probe(spec(srv.port, send="HELLO\r\n", expect="^\\+PONG"), resources)
        assert record["status"] == "ok" and record["tcp"]["banner"] == "+PONG\r\n"
        assert wrong["error"]["kind"] == "assertion" and wrong["tcp"]["banner"] == "-ERR\r\n"

    async def test_server_closes_immediately(self, resources: Resources) -> None:
        """A server closing the connection before any byte fails expect as assertion: 'connection closed'."""

        async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        async with RawServer(close) as srv:
            _, record = await run_probe(spec(srv.port, expect="^SSH-", retries=2), resources)
        assert record["error"]["kind"] == "assertion"
        assert record["error"]["message"] == "connection closed did not match '^SSH-'"
        assert record["attempts"] == 1

    async def test_reset_is_reset(self, resources: Resources) -> None:
        """A server resetting (SO_LINGER 0) right after accept is kind reset when a banner is expected.

        Chosen over 'assertion': an RST is a network failure, transient and retried, unlike a FIN
        which is the server's answer.
        """

        async def rst(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            reset(writer)

        async with RawServer(rst) as srv:
            _, record = await run_probe(spec(srv.port, expect="^SSH-", retries=1), resources)
        assert record["error"] == {"kind": "reset", "message": "Connection reset by peer"}
        assert record["attempts"] == 2

    async def test_reset_after_partial_banner(self, resources: Resources) -> None:
        """A reset after part of a banner that has not matched yet is still kind reset."""

        async def partial(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"SSH-1.")
            await writer.drain()
            await asyncio.sleep(0.05)
            reset(writer)

        async with RawServer(partial) as srv:
            _, record = await run_probe(spec(srv.port, expect="^SSH-2"), resources)
        assert record["error"]["kind"] == "reset"

    async def test_endless_stream_is_bounded(self, resources: Resources) -> None:
        """A server streaming endless data that never matches stops at read_max_bytes, quickly."""

        async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while True:
                writer.write(b"\xff\xfe garbage \x00" * 4096)
                await writer.drain()

        async with RawServer(flood) as srv:
            started = time.perf_counter()
            _, record = await run_probe(spec(srv.port, expect="^SSH-"), resources)
        assert record["error"]["kind"] == "assertion"
        assert record["error"]["message"] == "first 4096 bytes did not match '^SSH-'"
        assert time.perf_counter() - started < 1
        assert len(record["tcp"]["banner"]) <= 201  # invalid UTF-8 replaced, text capped

    async def test_send_without_expect(self, resources: Resources) -> None:
        """`send` alone succeeds once the payload is written; the server receives it."""
        received: list[bytes] = []

        async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            received.append(await reader.read())

        async with RawServer(sink) as srv:
            _, record = await run_probe(spec(srv.port, send="QUIT\r\n"), resources)
            for _ in range(50):
                if received:
                    break
                await asyncio.sleep(0.01)
        assert record["status"] == "ok" and received == [b"QUIT\r\n"]
