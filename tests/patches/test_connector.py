"""The direct-connect HTTP connector: taken for one plain address, aiohttp's path otherwise."""

from __future__ import annotations

import socket
from collections import Counter
from typing import Any

import aiohappyeyeballs
import pytest
from aiohttp import TCPConnector

from prober._patches import SWITCH, connector
from prober.runtime.resources import Resources
from tests.nopatches import needs_patch
from tests.probes.conftest import AppServer, free_port, run_probe
from tests.probes.httpapp import make_app, spec

direct = needs_patch("connector", "the native connect")


@pytest.fixture
def eyeballs_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts connects that went through aiohappyeyeballs (aiohttp's stock path)."""
    calls: Counter[str] = Counter()
    real = aiohappyeyeballs.start_connection

    async def counting(*args: Any, **kwargs: Any) -> socket.socket:
        calls["start_connection"] += 1
        return await real(*args, **kwargs)

    monkeypatch.setattr(aiohappyeyeballs, "start_connection", counting)
    return calls


async def test_guard_hook_matches_installed_aiohttp(monkeypatch: pytest.MonkeyPatch) -> None:
    """If an aiohttp upgrade changes the private hook or the state it reads, this fails (prober
    itself falls back to the stock connector)."""
    monkeypatch.delenv(SWITCH, raising=False)
    assert connector.HOOK_COMPATIBLE
    built = connector.make_connector(limit=0, force_close=True)
    try:
        assert type(built) is connector.DirectConnector and connector._has_state(built)
    finally:
        await built.close()


@direct
async def test_session_uses_the_direct_connector(resources: Resources) -> None:
    assert type(resources.http_session().connector) is connector.DirectConnector


@direct
async def test_ip_literal_skips_happy_eyeballs(resources: Resources, eyeballs_calls: Counter[str]) -> None:
    async with AppServer(make_app(Counter())) as server:
        _, record = await run_probe(spec(server.url("/ok")), resources)
    assert record["status"] == "ok" and record["http"]["status_code"] == 200
    assert eyeballs_calls["start_connection"] == 0


@direct
async def test_refused_is_still_refused(resources: Resources, eyeballs_calls: Counter[str]) -> None:
    """The error the native connect raises is classified like aiohttp's own."""
    _, record = await run_probe(spec(f"http://127.0.0.1:{free_port()}/"), resources)
    assert record["error"]["kind"] == "refused"
    assert "127.0.0.1" in record["error"]["message"]
    assert eyeballs_calls["start_connection"] == 0


async def test_bound_local_address_keeps_aiohttp_path(eyeballs_calls: Counter[str]) -> None:
    """A connector bound to a local address uses aiohttp's own connect (it binds before connecting)."""
    import aiohttp

    async with AppServer(make_app(Counter())) as server:
        conn = connector.make_connector(limit=0, force_close=True, local_addr=("127.0.0.1", 0))
        url = server.url("/ok")
        async with aiohttp.ClientSession(connector=conn) as session, session.get(url) as response:
            assert response.status == 200
    assert eyeballs_calls["start_connection"] == 1


def test_ipv6_zone_keeps_aiohttp_path() -> None:
    """A link-local address's zone lives in the sockaddr only, so such a connect is left to aiohttp."""
    zoned = (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::1", 80, 0, 2))
    plain = (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 80, 0, 0))
    v4 = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80))
    assert connector._scoped(zoned)
    assert not connector._scoped(plain) and not connector._scoped(v4)


@direct
async def test_ipv6_loopback_connects_directly(resources: Resources, eyeballs_calls: Counter[str]) -> None:
    """An IPv6 literal without a zone takes the native connect too."""
    from aiohttp import web

    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this interpreter")
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "::1", 0)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        pytest.skip(f"no ::1 here: {exc}")
    try:
        port = runner.addresses[0][1]
        _, record = await run_probe(spec(f"http://[::1]:{port}/"), resources, address="::1")
    finally:
        await runner.cleanup()
    assert record["status"] == "ok" and record["http"]["status_code"] == 200
    assert eyeballs_calls["start_connection"] == 0


async def test_switched_off_is_aiohttps_connector(
    monkeypatch: pytest.MonkeyPatch, eyeballs_calls: Counter[str]
) -> None:
    """PROBER_NO_PATCHES=1: the session's connector is aiohttp's own, every connect goes through
    aiohappyeyeballs, and answers and refusals are recorded as on the native path."""
    monkeypatch.setenv(SWITCH, "1")
    res = Resources()
    try:
        assert type(res.http_session().connector) is TCPConnector
        async with AppServer(make_app(Counter())) as server:
            _, record = await run_probe(spec(server.url("/ok")), res)
        assert record["status"] == "ok" and record["http"]["status_code"] == 200
        _, refused = await run_probe(spec(f"http://127.0.0.1:{free_port()}/"), res)
        assert refused["error"]["kind"] == "refused" and "127.0.0.1" in refused["error"]["message"]
    finally:
        await res.aclose()
    assert eyeballs_calls["start_connection"] == 2
