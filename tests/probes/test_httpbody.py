"""The response body: decoded as the server encoded it, capped on decoded bytes, always read."""

from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest

from prober.probes.http.body import ACCEPT_ENCODING
from prober.runtime.resources import Resources
from tests.probes.bodyservers import (
    PAGE,
    answer,
    bare,
    bomb_member,
    compressing_app,
    endless,
    nginx_binary,
    nginx_gzip,
    raw_deflate,
)
from tests.probes.conftest import AppServer, RawServer, free_port, run_probe
from tests.probes.httpapp import spec

OK = r"<p>service is ok</p>"


class TestCompressedBodies:
    @pytest.mark.parametrize("coding", ["gzip", "deflate", "auto"])
    async def test_compressing_server(self, resources: Resources, coding: str) -> None:
        """A server that compresses (gzip; deflate zlib-wrapped; negotiated from Accept-Encoding):
        body_regex sees the decoded page, and body_bytes is the decoded size."""
        seen: list[str] = []
        async with AppServer(compressing_app(seen)) as srv:
            _, record = await run_probe(spec(srv.url(f"/{coding}"), body_regex=OK), resources)
        assert record["status"] == "ok", record["error"]
        assert record["http"]["body_bytes"] == len(PAGE)
        assert seen == [ACCEPT_ENCODING] == ["gzip, deflate"]

    async def test_mismatch_shows_decoded_text(self, resources: Resources) -> None:
        """A gzip page that does not match fails as assertion and the record shows readable text."""
        async with AppServer(compressing_app([])) as srv:
            _, record = await run_probe(spec(srv.url("/gzip"), body_regex="^maintenance"), resources)
        assert record["error"]["kind"] == "assertion"
        assert record["http"]["body"].startswith("<html><head><title>status</title>")

    async def test_users_accept_encoding_wins(self, resources: Resources) -> None:
        """An Accept-Encoding header in the inventory replaces prober's; the page is then plain."""
        seen: list[str] = []
        async with AppServer(compressing_app(seen)) as srv:
            probe_spec = spec(srv.url("/auto"), body_regex=OK, headers=(("accept-encoding", "identity"),))
            _, record = await run_probe(probe_spec, resources)
        assert record["status"] == "ok" and seen == ["identity"]

    @pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed")
    async def test_nginx_gzip_on(self, resources: Resources, tmp_path: Path) -> None:
        """nginx with `gzip on` compresses the page for prober's Accept-Encoding; the probe decodes it."""
        port = free_port()
        with nginx_gzip(tmp_path, port):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            request = f"GET /index.html HTTP/1.1\r\nHost: x\r\nAccept-Encoding: {ACCEPT_ENCODING}\r\n\r\n"
            writer.write(request.encode())
            head = await reader.readuntil(b"\r\n\r\n")
            writer.close()
            assert b"Content-Encoding: gzip" in head  # the server really compresses
            _, record = await run_probe(spec(f"http://127.0.0.1:{port}/index.html", body_regex=OK), resources)
        assert record["status"] == "ok", record["error"]
        assert record["http"]["body_bytes"] == len(PAGE)

    @pytest.mark.parametrize("pause", [0.0, 0.05])
    async def test_raw_deflate(self, resources: Resources, pause: float) -> None:
        """`deflate` without the zlib header is decoded too, also when its first byte comes alone."""
        data = raw_deflate(PAGE)
        async with RawServer(answer("deflate", data[:1], data[1:], pause=pause)) as srv:
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/", body_regex=OK), resources)
        assert record["status"] == "ok", record["error"]
        assert record["http"]["body_bytes"] == len(PAGE)

    async def test_gzip_members_are_concatenated(self, resources: Resources) -> None:
        """A gzip body of several members decodes to all of them (as Go's and Python's readers do)."""
        data = gzip.compress(PAGE[:1000]) + gzip.compress(PAGE[1000:])
        async with RawServer(answer("x-gzip", data)) as srv:
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/", body_regex=OK), resources)
        assert record["status"] == "ok", record["error"]
        assert record["http"]["body_bytes"] == len(PAGE)

    async def test_unknown_coding_passes_through(self, resources: Resources) -> None:
        """A coding prober never asked for (br) is not decoded: the regex sees the bytes as sent."""
        async with RawServer(answer("br", b"service is ok")) as srv:
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/", body_regex="is ok$"), resources)
        assert record["status"] == "ok" and record["http"]["body_bytes"] == 13


class TestBoundedDecoding:
    async def test_gzip_bomb_is_capped_on_decoded_bytes(self, resources: Resources) -> None:
        """Endless 16 MB gzip members: decoding stops at body_max_bytes, fast, with bounded memory."""
        async with RawServer(endless("gzip", bomb_member())) as srv:
            probe_spec = spec(f"http://127.0.0.1:{srv.port}/", body_regex="never", body_max_bytes=1_000_000)
            tracemalloc.start()
            started = time.perf_counter()
            _, record = await run_probe(probe_spec, resources)
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        assert record["error"]["kind"] == "assertion"
        assert record["http"]["body_bytes"] == 1_000_000
        assert elapsed < 1.5, elapsed
        assert peak < 6_000_000, f"peak {peak} bytes"  # the 1 MB cap, joined once, plus the server

    @pytest.mark.parametrize("regex", [None, "x"])
    async def test_endless_empty_members_are_bounded(self, resources: Resources, regex: str | None) -> None:
        """gzip members that decode to nothing, forever: reading stops after body_max_bytes + 64 KiB
        of compressed bytes and the (empty) body is judged."""
        async with RawServer(endless("gzip", gzip.compress(b"") * 100)) as srv:
            probe_spec = spec(f"http://127.0.0.1:{srv.port}/", body_regex=regex, body_max_bytes=1000)
            started = time.perf_counter()
            _, record = await run_probe(probe_spec, resources)
        assert time.perf_counter() - started < 1.5
        assert record["status"] == ("ok" if regex is None else "fail")
        if regex:
            assert record["error"]["kind"] == "assertion" and record["http"]["body"] == ""

    @pytest.mark.parametrize(
        ("coding", "body", "reason"),
        [
            ("gzip", b"service is ok, but not gzip", "incorrect header check"),
            ("gzip", gzip.compress(PAGE)[:12] + b"\xff" * 40, "invalid"),
            ("deflate", zlib.compress(PAGE)[:-30] + b"\x00" * 30, ""),
            ("gzip", gzip.compress(PAGE)[:-100], "the compressed stream ends early"),
            ("gzip", gzip.compress(PAGE) + b"trailing garbage", "incorrect header check"),
            ("deflate", b"x", "the compressed stream ends early"),
        ],
    )
    async def test_corrupt_body_is_protocol(
        self, resources: Resources, coding: str, body: bytes, reason: str
    ) -> None:
        """A compressed body that cannot be decoded (not compressed, corrupt, cut short, trailing garbage)
        fails as protocol, keeping the status code, with or without body_regex."""
        async with RawServer(answer(coding, body)) as srv:
            for regex in (None, "ok"):
                probe_spec = spec(f"http://127.0.0.1:{srv.port}/", body_regex=regex)
                _, record = await run_probe(probe_spec, resources)
                assert record["error"]["kind"] == "protocol"
                message = record["error"]["message"]
                assert message.startswith(f"{coding} body cannot be decoded: {reason}"), message
                assert record["http"]["status_code"] == 200

    async def test_empty_gzip_body_is_empty(self, resources: Resources) -> None:
        """`Content-Encoding: gzip` with no body bytes is an empty body, not a corrupt one."""
        async with RawServer(answer("gzip")) as srv:
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/"), resources)
        assert record["status"] == "ok" and record["http"]["body_bytes"] == 0


class TestBodyAlwaysRead:
    async def test_body_cut_short_is_protocol(self, resources: Resources) -> None:
        """A server closing before Content-Length bytes fails as protocol even without body_regex."""

        async def short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly a part")
            await writer.drain()
            writer.close()

        async with RawServer(short) as srv:
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/"), resources)
        assert record["error"]["kind"] == "protocol"
        assert record["error"]["message"].startswith("invalid response body")

    @pytest.mark.parametrize(
        ("method", "status_line", "headers"),
        [
            ("HEAD", "200 OK", "Content-Length: 100000\r\n"),
            ("GET", "204 No Content", ""),
            ("GET", "304 Not Modified", "Content-Length: 100000\r\n"),
        ],
    )
    async def test_no_body_expected(
        self, resources: Resources, method: str, status_line: str, headers: str
    ) -> None:
        """HEAD, 204 and 304 have no body: ok at once with body_bytes 0, even if the server then
        holds the connection open after announcing a length."""
        async with RawServer(bare(status_line, headers)) as srv:
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/", method=method), resources)
        assert record["status"] == "ok", record["error"]
        assert record["http"]["body_bytes"] == 0 and record["latency_ms"] < 1000
