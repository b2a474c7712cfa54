"""The simulator's HTTP servers: one aiohttp app answering per host role, on many addresses."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aiohttp import web

ROLE_KEY = web.AppKey("roles", dict)


async def _healthz(request: web.Request) -> web.Response:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    role = request.app[ROLE_KEY].get(sockname[0] if sockname else "", "http_ok")
    if role == "http_503":
        return web.Response(status=503, text="unavailable: maintenance\n")
    if role == "http_slow":
        await asyncio.sleep(0.3)
    return web.Response(text="ok\n")


class HttpFleet:
    """Serves GET /healthz on every address given, behaving as each address's role says."""

    def __init__(self, roles: Mapping[str, str]) -> None:
        app = web.Application()
        app[ROLE_KEY] = dict(roles)
        app.router.add_get("/healthz", _healthz)
        app.router.add_get("/", _healthz)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False)

    async def start(self, addresses: list[str], port: int) -> None:
        await self.runner.setup()
        for address in addresses:
            await web.TCPSite(self.runner, address, port, reuse_address=True).start()

    async def stop(self) -> None:
        await self.runner.cleanup()
