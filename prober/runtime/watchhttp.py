"""`prober watch`'s HTTP endpoints (aiohttp, on the watch's own event loop): /metrics, /healthz, /probe.

/metrics is the probes' text as rendered after the last sweep plus the watch's own metrics, gzipped
when the scraper asks (Prometheus does); /healthz is JSON, 200 or 503 (runtime/watchstate.py); /probe
answers as blackbox_exporter does (runtime/probeone.py). Nothing is logged per request.
"""

from __future__ import annotations

import functools
import gzip
from typing import TYPE_CHECKING

import orjson
from aiohttp import web

from prober import logs
from prober.errors import InputError, Problem
from prober.runtime import probeone

if TYPE_CHECKING:
    from prober.runtime.watch import Watch

TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"
SHUTDOWN_S = 1.0  # how long a stop waits for requests in flight (a /probe is cancelled after it)
INDEX = (
    "prober watch\n\n"
    "/metrics   the latest result of every probe, and the sweeps' metrics\n"
    "/healthz   liveness (JSON; 503 when sweeps fail to run)\n"
    "/probe?target=HOST[:PORT]&module=PROBE   one probe now, answered as blackbox_exporter does\n"
)


def app_for(watch: Watch) -> web.Application:
    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/metrics", functools.partial(metrics, watch))
    app.router.add_get("/healthz", functools.partial(healthz, watch))
    app.router.add_get("/probe", functools.partial(probe, watch))
    return app


async def index(request: web.Request) -> web.Response:
    return web.Response(text=INDEX)


async def start(watch: Watch, host: str, port: int) -> web.AppRunner:
    """Serve on host:port (port 0: any free one, logged); InputError (exit 3) if it cannot listen."""
    runner = web.AppRunner(app_for(watch), access_log=None, shutdown_timeout=SHUTDOWN_S)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise InputError(
            [Problem(where, None, "--listen", f"cannot listen: {exc.strerror or exc}")]
        ) from None
    bound = runner.addresses  # the port really used (port 0: the kernel picks one)
    watch.bound = (str(bound[0][0]), int(bound[0][1])) if bound else (host, port)
    logs.get().info("watch listening", address=f"{watch.bound[0]}:{watch.bound[1]}")
    return runner


async def metrics(watch: Watch, request: web.Request) -> web.Response:
    own = watch.stats.render()
    headers = {"Content-Type": TEXT_FORMAT}
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        # Two gzip members read as one stream: the cached one, and the few lines rendered now.
        headers["Content-Encoding"] = "gzip"
        return web.Response(body=watch.cache.gzipped() + gzip.compress(own, 1, mtime=0), headers=headers)
    return web.Response(body=watch.cache.body + own, headers=headers)


async def healthz(watch: Watch, request: web.Request) -> web.Response:
    status, body = watch.stats.health()
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


async def probe(watch: Watch, request: web.Request) -> web.Response:
    query = request.query
    try:
        job = probeone.resolve(
            watch.latest, query.get("target", ""), query.get("module") or probeone.DEFAULT_MODULE,
            watch.options.any_target,
        )  # fmt: skip
        timeout = probeone.scrape_timeout(
            request.headers.get("X-Prometheus-Scrape-Timeout-Seconds"), job.spec.timeout
        )
    except probeone.Refused as exc:
        watch.stats.probe_requests[exc.status] += 1
        return web.Response(status=exc.status, text=exc.message + "\n")
    async with watch.probe_slots:
        watch.probe_prepared = probeone.fresh(watch.probe_prepared)
        record, elapsed = await probeone.probe_once(job, timeout, watch.probe_prepared)
    text = probeone.exposition(record, timeout, elapsed)
    watch.stats.probe_requests[200] += 1
    if query.get("debug") == "true":  # as blackbox: what happened, then the metrics
        shown = orjson.dumps(record, option=orjson.OPT_INDENT_2).decode()
        return web.Response(
            text=f"Result of the probe:\n{shown}\n\n\nMetrics that would have been returned:\n{text.decode()}"
        )
    return web.Response(body=text, headers={"Content-Type": TEXT_FORMAT})


__all__ = ["app_for", "start"]
