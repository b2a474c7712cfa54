"""HTTP probe against real aiohttp and raw asyncio servers on loopback: answers, hostile hosts, TLS."""

from __future__ import annotations

import asyncio
import contextlib
import time
import tracemalloc
from collections import Counter
from typing import Any

import pytest
from aiohttp import web

from prober.inventory.fields import status_ranges
from prober.model import HTTPSpec
from prober.probes.resources import Resources
from tests.probes.conftest import AppServer, CertFactory, RawServer, free_port, reset, run_probe

TIMEOUT = 0.3  # for hosts that never answer
FAST = 2.0  # for hosts that answer: generous, so a loaded machine cannot turn them into timeouts
MARGIN = 0.5  # generous: timing is checked, not benchmarked


def spec(url: str, **kw: Any) -> HTTPSpec:
    kw.setdefault("timeout", FAST)
    kw.setdefault("retries", 0)
    return HTTPSpec(name="web", url=url, **kw)


def make_app(hits: Counter[str]) -> web.Application:
    """Routes for ordinary answers; `hits` counts requests per path."""

    async def count(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
        hits[request.path] += 1
        return response

    async def ok(request: web.Request) -> web.StreamResponse:
        return await count(request, web.Response(text="service is ok\n"))

    async def down(request: web.Request) -> web.StreamResponse:
        return await count(request, web.Response(status=503, text="maintenance\n"))

    async def status(request: web.Request) -> web.StreamResponse:
        return await count(request, web.Response(status=int(request.match_info["code"])))

    async def redirect(request: web.Request) -> web.StreamResponse:
        return await count(request, web.Response(status=302, headers={"Location": "/ok"}))

    async def loop(request: web.Request) -> web.StreamResponse:
        return await count(request, web.Response(status=302, headers={"Location": "/loop"}))

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.1)
        return await count(request, web.Response(text="ok"))

    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = 100
        await response.prepare(request)
        for _ in range(100):
            await response.write(b"o")
            await asyncio.sleep(1)
        return response

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b"ok" + b"z" * 16382
        while True:
            await response.write(chunk)
            hits["endless_chunks"] += 1

    app = web.Application()
    for path, handler in [
        ("/ok", ok),
        ("/down", down),
        ("/status/{code}", status),
        ("/redirect", redirect),
        ("/loop", loop),
        ("/slow", slow),
        ("/drip", drip),
        ("/endless", endless),
    ]:
        app.router.add_get(path, handler)
    return app


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

    async def test_endless_body_without_regex_is_not_read(
        self, server: AppServer, resources: Resources
    ) -> None:
        """Without body_regex an endless chunked body is not read: ok, quickly."""
        started = time.perf_counter()
        _, record = await run_probe(spec(server.url("/endless")), resources)
        assert record["status"] == "ok" and time.perf_counter() - started < 1

    async def test_endless_body_with_regex_stops_at_the_cap(
        self, server: AppServer, resources: Resources
    ) -> None:
        """With body_regex an endless body is read up to body_max_bytes only, then judged."""
        started = time.perf_counter()
        probe_spec = spec(server.url("/endless"), body_regex="never-there", body_max_bytes=50_000)
        _, record = await run_probe(probe_spec, resources)
        assert record["error"]["kind"] == "assertion"
        assert time.perf_counter() - started < 1
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
        assert TIMEOUT <= elapsed < TIMEOUT + MARGIN
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

    async def test_body_drip_without_regex_is_ok(self, server: AppServer, resources: Resources) -> None:
        """Headers then a dripping body: without body_regex the status alone is judged, quickly."""
        _, record = await run_probe(spec(server.url("/drip")), resources)
        assert record["status"] == "ok" and record["latency_ms"] < 1000

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
        """A server answering with something that is not HTTP gives kind protocol."""

        async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\x00\xff\xfe garbage\r\n\r\n")
            await reader.read()

        async with RawServer(garbage) as srv:
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/"), resources)
        assert record["error"]["kind"] == "protocol"
        assert len(record["error"]["message"]) < 200

    async def test_refused(self, resources: Resources) -> None:
        """A closed port gives kind refused, with a short 'address:port: reason' message."""
        port = free_port()
        _, record = await run_probe(spec(f"http://127.0.0.1:{port}/"), resources)
        assert record["error"]["kind"] == "refused"
        assert record["error"]["message"] == f"127.0.0.1:{port}: Connection refused"


class TestHTTPS:
    async def test_ca_signed_with_ca_file(self, certs: CertFactory, resources: Resources) -> None:
        """A certificate signed by the CA given in ca_file verifies: ok, and the record is not insecure."""
        leaf = certs.leaf()
        async with AppServer(make_app(Counter()), leaf.server_context()) as srv:
            _, record = await run_probe(spec(srv.url("/ok"), ca_file=str(certs.ca_file)), resources)
        assert record["status"] == "ok" and "insecure" not in record

    @pytest.mark.parametrize(
        ("case", "needle"),
        [("self_signed", "self-signed"), ("expired", "expired"), ("wrong_host", "mismatch")],
    )
    async def test_bad_certificates_are_tls(
        self, certs: CertFactory, resources: Resources, case: str, needle: str
    ) -> None:
        """Self-signed, expired and wrong-hostname certificates fail with kind tls and a short reason."""
        leaf = {
            "self_signed": lambda: certs.leaf(self_signed=True),
            "expired": lambda: certs.leaf(days=-2),
            "wrong_host": lambda: certs.leaf(names=("other.test",)),
        }[case]()
        async with AppServer(make_app(Counter()), leaf.server_context()) as srv:
            _, record = await run_probe(
                spec(srv.url("/ok"), ca_file=str(certs.ca_file), retries=2), resources
            )
        assert record["error"]["kind"] == "tls"
        assert record["attempts"] == 1
        message = record["error"]["message"]
        assert needle in message and len(message) < 200 and message.count("certificate verify failed") <= 1

    async def test_redirect_from_http_to_bad_https_is_verified(
        self, certs: CertFactory, resources: Resources
    ) -> None:
        """An http:// URL redirecting to https:// with a self-signed certificate fails tls when followed."""
        leaf = certs.leaf(self_signed=True)
        async with AppServer(make_app(Counter()), leaf.server_context()) as tls_srv:

            async def to_tls(request: web.Request) -> web.Response:
                return web.Response(status=302, headers={"Location": tls_srv.url("/ok")})

            app = web.Application()
            app.router.add_get("/", to_tls)
            async with AppServer(app) as plain:
                probe_spec = spec(plain.url("/"), follow_redirects=True, ca_file=str(certs.ca_file))
                _, record = await run_probe(probe_spec, resources)
        assert record["error"]["kind"] == "tls" and "self-signed" in record["error"]["message"]

    async def test_verify_off_is_ok_and_marked_insecure(
        self, certs: CertFactory, resources: Resources
    ) -> None:
        """verify_tls false accepts a self-signed certificate and marks the record insecure."""
        leaf = certs.leaf(self_signed=True)
        async with AppServer(make_app(Counter()), leaf.server_context()) as srv:
            _, record = await run_probe(spec(srv.url("/ok"), verify_tls=False), resources)
        assert record["status"] == "ok" and record["insecure"] is True

    async def test_cert_min_days_warns(self, certs: CertFactory, resources: Resources) -> None:
        """A valid certificate expiring sooner than cert_min_days gives warn with cert_days_left."""
        leaf = certs.leaf(days=10)
        async with AppServer(make_app(Counter()), leaf.server_context()) as srv:
            probe_spec = spec(srv.url("/ok"), ca_file=str(certs.ca_file), cert_min_days=30)
            _, record = await run_probe(probe_spec, resources)
        assert record["status"] == "warn" and "expires in" in record["warning"]
        assert 9.9 <= record["http"]["cert_days_left"] <= 10.0

    async def test_cert_min_days_satisfied(self, certs: CertFactory, resources: Resources) -> None:
        """A certificate valid longer than cert_min_days is ok and still reports cert_days_left."""
        leaf = certs.leaf(days=100)
        async with AppServer(make_app(Counter()), leaf.server_context()) as srv:
            probe_spec = spec(srv.url("/ok"), ca_file=str(certs.ca_file), cert_min_days=30)
            _, record = await run_probe(probe_spec, resources)
        assert record["status"] == "ok" and record["warning"] is None
        assert 99.9 <= record["http"]["cert_days_left"] <= 100.0

    @pytest.mark.parametrize(
        ("answer", "connections"),
        [(b"200 OK\r\nContent-Length: 900\r\n\r\nok", 1), (b"204 No Content\r\n\r\n", 2)],
    )
    async def test_cert_expiry_read_from_the_answering_connection(
        self, certs: CertFactory, resources: Resources, answer: bytes, connections: int
    ) -> None:
        """cert_min_days reads the certificate of the connection that answered while aiohttp holds it
        (body still coming); once released (no body) it makes a second handshake."""
        leaf = certs.leaf(days=20)

        async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(asyncio.IncompleteReadError):
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 " + answer)
                await writer.drain()
            await reader.read()

        async with RawServer(http, leaf.server_context()) as srv:
            url = f"https://127.0.0.1:{srv.port}/"
            probe_spec = spec(url, ca_file=str(certs.ca_file), cert_min_days=30)
            _, record = await run_probe(probe_spec, resources)
            await asyncio.sleep(0.05)
            assert srv.connections == connections
        assert record["status"] == "warn" and 19.9 <= record["http"]["cert_days_left"] <= 20

    async def test_expired_with_verify_off_fails(self, certs: CertFactory, resources: Resources) -> None:
        """With verification off, cert_min_days still fails an expired certificate with kind tls."""
        leaf = certs.leaf(days=-3, self_signed=True)
        async with AppServer(make_app(Counter()), leaf.server_context()) as srv:
            probe_spec = spec(srv.url("/ok"), verify_tls=False, cert_min_days=7)
            _, record = await run_probe(probe_spec, resources)
        assert record["error"]["kind"] == "tls" and "expired" in record["error"]["message"]
        assert -3.1 <= record["http"]["cert_days_left"] <= -2.9
        assert record["insecure"] is True
