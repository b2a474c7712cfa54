"""An aiohttp application with ordinary and hostile routes, and a short-timeout HTTPSpec builder."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from aiohttp import web

from prober.probes.http.spec import HTTPSpec

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
