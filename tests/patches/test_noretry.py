"""One connection per attempt: aiohttp's hidden re-send is off, patched or through the public fallback."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from prober._patches import SWITCH, noretry
from prober.runtime.resources import Resources
from tests.probes.conftest import Handler, RawServer, reset, run_probe
from tests.probes.httpapp import spec


async def close_after_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Reads the request, then closes without answering (aiohttp: ServerDisconnectedError)."""
    await reader.readuntil(b"\r\n\r\n")
    writer.close()


async def reset_after_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Reads the request, then resets the connection (aiohttp: ClientOSError or a disconnect)."""
    await reader.readuntil(b"\r\n\r\n")
    reset(writer)


HANDLERS = {"close": close_after_request, "reset": reset_after_request}


def test_guard_matches_installed_aiohttp() -> None:
    """ClientSession still declares `_retry_connection` (and takes client middlewares for the
    fallback): if an aiohttp upgrade drops it, this fails (prober would use the fallback)."""
    assert noretry.COMPATIBLE and noretry.MIDDLEWARES


async def test_the_attribute_is_aiohttps_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new session has it on; make_session turns it off and adds no middleware."""
    monkeypatch.delenv(SWITCH, raising=False)
    async with aiohttp.ClientSession() as stock:
        assert stock._retry_connection is True
    async with noretry.make_session() as session:
        assert session._retry_connection is False and not session._middlewares


async def _attempt(handler: Handler, switch: str | None, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, int]:
    """One GET with retries 0 through prober's session: (record, connections the server saw)."""
    if switch is not None:
        monkeypatch.setenv(SWITCH, switch)
    res = Resources()
    try:
        async with RawServer(handler) as srv:
            _, record = await run_probe(spec(f"http://127.0.0.1:{srv.port}/"), res)
            connections = srv.connections
    finally:
        await res.aclose()
    return record, connections


@pytest.mark.parametrize("handler", sorted(HANDLERS))
async def test_one_connection_per_attempt_both_ways(handler: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The host drops the connection: one attempt, one connection, kind reset, with the attribute and
    with the middleware (PROBER_NO_PATCHES=1), and the same message both ways."""
    patched, patched_connections = await _attempt(HANDLERS[handler], "", monkeypatch)
    fallback, fallback_connections = await _attempt(HANDLERS[handler], "1", monkeypatch)
    assert (patched_connections, fallback_connections) == (1, 1)
    assert patched["attempts"] == fallback["attempts"] == 1
    assert patched["error"]["kind"] == "reset"
    assert patched["error"] == fallback["error"]


async def test_stock_session_sends_twice() -> None:
    """What both prevent: aiohttp as it comes sends a GET twice to a host that closes after reading."""
    async with RawServer(close_after_request) as srv, aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await session.get(f"http://127.0.0.1:{srv.port}/")
        assert srv.connections == 2


async def test_fallback_keeps_other_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """The middleware leaves a refused connect (never re-sent) as it is: kind refused."""
    monkeypatch.setenv(SWITCH, "1")
    async with noretry.make_session() as session:
        assert session._middlewares == (noretry.no_resend,)
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(aiohttp.ClientConnectorError):
            await session.get(f"http://127.0.0.1:{port}/")
