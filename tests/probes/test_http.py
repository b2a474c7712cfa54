"""HTTP probe against real aiohttp and raw asyncio servers on loopback: answers and hostile hosts."""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
from collections import Counter
from typing import Any

import pytest

from prober.inventory.fields import status_ranges
from prober.runtime.resources import Resources
from tests.probes.conftest import AppServer, RawServer, free_port, reset, run_probe
from tests.probes.httpapp import MARGIN, TIMEOUT, make_app, spec


@pytest.fixture
async def server() -> Any:
    hits: Counter[str] = Counter()
    async with AppServer(make_app(hits)) as srv:
        srv.hits = hits  # type: ignore[attr-defined]
        yield srv


class TestAnswers:
    async def test_ok_with_body_regex(self, server: AppServer, resources: Resources) -> None:
        """A 200 whose body matches body_regex is ok, with status_code and url in the record."""
        _, record = await run_probe(spec(server.url("/ok"), body_regex=r"is ok$"), resources)
        assert record["status"] == "ok" and record["error"] is None
        assert record["http"]["status_code"] == 200 and record["http"]["url"] == server.url("/ok")
        assert record["attempts"] == 1 and record["latency_ms"] > 0
        assert record["http"]["body_bytes"] == len("service is ok\n")

    async def test_503_is_http_status(self, server: AppServer, resources: Resources) -> None:
        """A 503 under the default expectation fails with kind http_status and keeps the status code."""
        _, record = await run_probe(spec(server.url("/down"), retries=2), resources)
        assert record["error"]["kind"] == "http_status"
        assert record["error"]["message"] == "HTTP 503 not in expected 200-399"
        assert record["http"]["status_code"] == 503
        assert record["attempts"] == 1  # a wrong answer is never retried

    async def test_body_mismatch_is_assertion(self, server: AppServer, resources: Resources) -> None:
        """A 200 whose body does not match body_regex fails with kind assertion and shows the body."""
        _, record = await run_probe(spec(server.url("/ok"), body_regex="^healthy"), resources)
        assert record["error"]["kind"] == "assertion"
        assert "'^healthy'" in record["error"]["message"]
        assert record["http"]["body"] == "service is ok\n"
        assert record["http"]["status_code"] == 200

    @pytest.mark.parametrize(
        ("expect", "code", "ok"),
        [
            (["2xx"], 204, True),
            (["2xx"], 302, False),
            (["200-299"], 299, True),
            (["200-299"], 300, False),
            ([503], 503, True),
            ([200, "4xx"], 404, True),
            ([200, "4xx"], 500, False),
        ],
    )
    async def test_expect_status_forms(
        self, server: AppServer, resources: Resources, expect: list[Any], code: int, ok: bool
    ) -> None:
        """expect_status accepts codes, classes (2xx) and ranges (200-299) as the inventory writes them."""
        probe_spec = spec(server.url(f"/status/{code}"), expect_status=status_ranges(expect))
        _, record = await run_probe(probe_spec, resources)
        assert record["http"]["status_code"] == code
        assert (record["status"] == "ok") is ok
        if not ok:
            assert record["error"]["kind"] == "http_status"

    async def test_redirect_not_followed_by_default(self, server: AppServer, resources: Resources) -> None:
        """A 302 is reported as 302 (ok under 200-399) and its Location is never requested."""
        _, record = await run_probe(spec(server.url("/redirect")), resources)
        assert record["status"] == "ok" and record["http"]["status_code"] == 302
        assert server.hits["/ok"] == 0  # type: ignore[attr-defined]

    async def test_redirect_followed_when_asked(self, server: AppServer, resources: Resources) -> None:
        """With follow_redirects the final 200 is judged and the record counts one redirect."""
        probe_spec = spec(server.url("/redirect"), follow_redirects=True, body_regex="ok")
        _, record = await run_probe(probe_spec, resources)
        assert record["status"] == "ok" and record["http"]["status_code"] == 200
        assert record["http"]["redirects"] == 1
        assert server.hits["/ok"] == 1  # type: ignore[attr-defined]

    async def test_redirect_loop_is_protocol(self, server: AppServer, resources: Resources) -> None:
        """A redirect loop with follow_redirects stops after max_redirects with kind protocol."""
        probe_spec = spec(server.url("/loop"), follow_redirects=True, max_redirects=3)
        _, record = await run_probe(probe_spec, resources)
        assert record["error"]["kind"] == "protocol"
        assert "redirect" in record["error"]["message"].lower()
        assert 1 < server.hits["/loop"] <= 4  # type: ignore[attr-defined]  # bounded by max_redirects

    async def test_latency_warn(self, server: AppServer, resources: Resources) -> None:
        """An answer slower than latency_warn is recorded as warn, not fail."""
        _, record = await run_probe(spec(server.url("/slow"), latency_warn=0.05), resources)
        assert record["status"] == "warn" and "latency_warn" in record["warning"]
        assert record["http"]["status_code"] == 200

    async def test_endless_body_without_regex_is_read_to_the_cap(
        self, server: AppServer, resources: Resources
    ) -> None:
        """Without body_regex an endless chunked body is still read, up to body_max_bytes: ok, quickly."""
        started = time.perf_counter()
        _, record = await run_probe(spec(server.url("/endless")), resources)
        assert record["status"] == "ok" and time.perf_counter() - started < 1
        assert record["http"]["body_bytes"] == 65536

    async def test_endless_body_with_regex_stops_at_the_cap(
        self, server: AppServer, resources: Resources
    ) -> None:
        """With body_regex an endless body is read up to body_max_bytes only (bounded memory), then judged."""
        started = time.perf_counter()
        probe_spec = spec(server.url("/endless"), body_regex="never-there", body_max_bytes=50_000)
        tracemalloc.start()
        _, record = await run_probe(probe_spec, resources)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert record["error"]["kind"] == "assertion"
        assert time.perf_counter() - started < 1
        assert peak < 2_000_000, f"peak {peak} bytes"  # client and in-process server together
        assert len(record["http"]["body"]) <= 201
        _, record = await run_probe(spec(server.url("/endless"), body_regex="^okzz"), resources)
        assert record["status"] == "ok"


class TestHostile:
    async def test_accepts_and_never_answers(self, resources: Resources) -> None:
        """A server that accepts and never answers costs one timeout: kind timeout."""

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()

        async with RawServer(silent) as srv:
            started = time.perf_counter()
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/", timeout=TIMEOUT), resources)
        elapsed = time.perf_counter() - started
        assert record["error"]["kind"] == "timeout"
        assert TIMEOUT - 0.02 <= elapsed < TIMEOUT + MARGIN  # uvloop timers are ms-granular
        assert record["http"]["status_code"] is None

    async def test_syn_dropped(self, resources: Resources, syn_dropping_port: int) -> None:
        """A host dropping SYNs costs one timeout: kind timeout."""
        started = time.perf_counter()
        _, record = await run_probe(
            spec(f"http://127.0.0.1:{syn_dropping_port}/", timeout=TIMEOUT), resources
        )
        assert record["error"]["kind"] == "timeout"
        assert time.perf_counter() - started < TIMEOUT + MARGIN

    async def test_body_drip_with_regex_times_out(self, server: AppServer, resources: Resources) -> None:
        """Headers then a body dripping 1 byte/s: with body_regex the probe times out at its deadline."""
        started = time.perf_counter()
        _, record = await run_probe(spec(server.url("/drip"), body_regex="o{50}", timeout=TIMEOUT), resources)
        assert record["error"]["kind"] == "timeout"
        assert time.perf_counter() - started < TIMEOUT + MARGIN

    async def test_body_drip_without_regex_times_out(self, server: AppServer, resources: Resources) -> None:
        """Headers then a body dripping 1 byte/s: the body is read even without body_regex, so the
        probe times out at its deadline instead of calling the host healthy."""
        started = time.perf_counter()
        _, record = await run_probe(spec(server.url("/drip"), timeout=TIMEOUT), resources)
        assert record["error"]["kind"] == "timeout"
        assert time.perf_counter() - started < TIMEOUT + MARGIN

    async def test_huge_header_line(self, resources: Resources) -> None:
        """A 10 MB header line ends quickly as protocol or reset, with bounded client memory."""
        chunk = b"a" * 65536

        async def huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nX-Big: ")
            for _ in range(160):  # 10 MB, never more than one chunk buffered on the server side
                writer.write(chunk)
                await writer.drain()
            writer.write(b"\r\n\r\n")

        async with RawServer(huge) as srv:
            tracemalloc.start()
            started = time.perf_counter()
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/"), resources)
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        assert record["error"]["kind"] in ("protocol", "reset")
        assert elapsed < 1
        assert peak < 4_000_000, f"peak {peak} bytes"
        assert len(record["error"]["message"]) < 200

    async def test_tls_handshake_never_completes(self, resources: Resources) -> None:
        """A TLS port that accepts TCP but never answers the handshake times out."""

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()

        async with RawServer(silent) as srv:
            started = time.perf_counter()
            _, record = await run_probe(spec(f"https://127.0.0.1:{srv.port}/", timeout=TIMEOUT), resources)
        assert record["error"]["kind"] == "timeout"
        assert time.perf_counter() - started < TIMEOUT + MARGIN

    async def test_reset_after_accept(self, resources: Resources) -> None:
        """A server resetting the connection right after accept gives kind reset."""

        async def rst(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            reset(writer)

        async with RawServer(rst) as srv:
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/", retries=1), resources)
        assert record["error"]["kind"] == "reset"
        assert record["attempts"] == 2  # transient: retried once
        assert srv.connections == 2

    async def test_close_without_answer(self, resources: Resources) -> None:
        """A server closing the connection after reading the request gives kind reset, said once."""

        async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.close()

        async with RawServer(close) as srv:
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/"), resources)
        assert record["error"]["kind"] == "reset"
        assert len(record["error"]["message"]) < 120

    async def test_garbage_instead_of_http(self, resources: Resources) -> None:
        """A server speaking first with something that is not HTTP fails with a plain message."""

        async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\x00\xff\xfe garbage\r\n\r\n")
            await reader.read()

        async with RawServer(garbage) as srv:
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/"), resources)
        # On asyncio's loop the request goes out first and the parser rejects the answer (protocol);
        # on uvloop the banner arrives before the request is written and aiohttp can only say the
        # connection was closed under it (reset). Both are failures with a plain message.
        assert record["error"]["kind"] in ("protocol", "reset")
        assert record["error"]["message"] in (
            "invalid HTTP response: Bad status line: Expected HTTP/, RTSP/ or ICE/",
            "connection closed before the request was sent (the server hung up or spoke first)",
        )

    async def test_url_password_never_in_the_record(self, resources: Resources) -> None:
        """A password in the URL is sent as basic auth but appears nowhere in the record."""
        seen: list[str] = []

        async def auth(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            seen.append(head.decode())
            writer.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()

        async with RawServer(auth) as srv:
            url = f"http://deploy:s3cret-pw@127.0.0.1:{srv.port}/"
            _, record = await run_probe(spec(url), resources)
        assert record["error"]["kind"] == "http_status" and record["http"]["status_code"] == 401
        assert "Authorization: Basic" in seen[0]
        assert "s3cret-pw" not in json.dumps(record)
        assert record["http"]["url"] == f"http://<redacted>:<redacted>@127.0.0.1:{srv.port}/"

    async def test_refused(self, resources: Resources) -> None:
        """A closed port gives kind refused, with a short 'address:port: reason' message."""
        port = free_port()
        _, record = await run_probe(spec(f"http://127.0.0.1:{port}/"), resources)
        assert record["error"]["kind"] == "refused"
        assert record["error"]["message"] == f"127.0.0.1:{port}: Connection refused"
