"""Records from real probes keep the documented shape and stay under 4 KiB with hostile remote text."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from aiohttp import web

from prober.probes.http.spec import HTTPSpec
from prober.probes.tcp import TCPSpec
from prober.runtime.resources import Resources
from prober.sinks.jsonl import LINE_MAX, dumps
from tests.probes.conftest import AppServer, RawServer, run_probe

# Invalid UTF-8, NULs, control characters and 4-byte characters: the worst case for JSON size.
NASTY = (b"\xff\xfe\x00\x01\x1b[31m" + "💥é".encode() + b"\xed\xa0\x80") * 100_000


class TestRecordShape:
    async def test_huge_http_body_keeps_line_small(self, resources: Resources) -> None:
        """A 1 MB hostile body that fails body_regex yields a valid record line under 4 KiB."""

        async def nasty(request: web.Request) -> web.Response:
            return web.Response(body=NASTY)

        app = web.Application()
        app.router.add_get("/", nasty)
        async with AppServer(app) as srv:
            probe_spec = HTTPSpec(
                name="web", url=srv.url("/"), body_regex="x" * 2000, body_max_bytes=2_000_000, timeout=2
            )
            _, record = await run_probe(probe_spec, resources)
        assert record["error"]["kind"] == "assertion"
        line = dumps(record)
        assert len(line) <= LINE_MAX
        parsed = json.loads(line)
        assert parsed["http"]["body"].startswith("\ufffd\ufffd\x00")
        assert len(parsed["error"]["message"]) <= 300

    async def test_hostile_banner_keeps_line_small(self, resources: Resources) -> None:
        """A banner of invalid UTF-8 and control bytes yields a valid record line under 4 KiB."""

        async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(NASTY[:65536])
            await writer.drain()
            await reader.read()

        async with RawServer(flood) as srv:
            probe_spec = TCPSpec(name="svc", port=srv.port, expect="^SSH-", read_max_bytes=65536, timeout=2)
            _, record = await run_probe(probe_spec, resources)
        line = dumps(record)
        assert len(line) <= LINE_MAX and json.loads(line)["tcp"]["port"] == srv.port

    async def test_timestamp_and_identity_fields(self, resources: Resources) -> None:
        """ts is ISO 8601 UTC with milliseconds and 'Z'; host, address, group and probe come from the job."""

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()

        async with RawServer(silent) as srv:
            _, record = await run_probe(TCPSpec(name="svc", port=srv.port), resources)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["ts"])
        expected: dict[str, Any] = {"host": "host-a", "address": "127.0.0.1", "group": "grp", "probe": "svc"}
        assert {k: record[k] for k in expected} == expected
        assert record["type"] == "tcp" and record["event"] == "probe" and record["run_id"] == "run-test"
