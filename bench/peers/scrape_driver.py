"""Load for the `watch` scenario: scrape `/probe?target=T&module=M` for every target once per interval, as
a Prometheus server with one scrape job per target would (each target at its own fixed offset in the
interval, its scrape timeout in X-Prometheus-Scrape-Timeout-Seconds), against blackbox_exporter or
`prober watch`.

Prints `measuring` when the warm-up intervals are over, then one JSON line at the end: requests in the
measured intervals, probe_success 1 and 0 in the last interval, HTTP errors, scrapes that started late
(the driver itself fell behind: the row is then not a fair measurement).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys

import aiohttp
from common import read_lines  # type: ignore[import-not-found]

LATE_S = 1.0  # a scrape starting this much after its slot counts as late


def offset(target: str, interval: float) -> float:
    """A fixed point in the interval per target (Prometheus hashes each target to an offset too)."""
    return int.from_bytes(hashlib.sha1(target.encode()).digest()[:8], "big") / 2**64 * interval


async def scrape(session: aiohttp.ClientSession, url: str, budget: float) -> bool | None:
    """probe_success of one /probe answer (None: no answer within the scrape timeout)."""
    headers = {"X-Prometheus-Scrape-Timeout-Seconds": f"{budget:g}"}
    try:
        async with session.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=budget)) as reply:
            body = await reply.text()
    except (TimeoutError, aiohttp.ClientError, OSError):
        return None
    for line in body.splitlines():
        if line.startswith("probe_success"):
            return float(line.split()[-1]) == 1.0
    return None


async def drive(args: argparse.Namespace) -> dict[str, int]:
    targets = read_lines(args.targets)
    slots = sorted((offset(t, args.interval), t) for t in targets)
    counts = {"requests": 0, "ok": 0, "fail": 0, "errors": 0, "late": 0}
    connector = aiohttp.TCPConnector(limit=args.connections, force_close=False)
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Task[None]] = set()
    async with aiohttp.ClientSession(connector=connector) as session:
        start = loop.time()
        for number in range(args.warmup + args.intervals):
            if number == args.warmup:
                print("measuring", flush=True)
            last = number == args.warmup + args.intervals - 1
            base = start + number * args.interval
            for at, target in slots:
                delay = base + at - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif -delay > LATE_S:
                    counts["late"] += 1
                url = f"{args.base}/probe?target={target}&module={args.module}"
                measured = number >= args.warmup
                task = loop.create_task(one(session, url, args.timeout, counts, measured, last))
                pending.add(task)
                task.add_done_callback(pending.discard)
            await asyncio.sleep(max(0.0, base + args.interval - loop.time()))
        if pending:
            await asyncio.wait(pending)
    return counts


async def one(
    session: aiohttp.ClientSession,
    url: str,
    budget: float,
    counts: dict[str, int],
    measured: bool,
    last: bool,
) -> None:
    counts["requests"] += measured
    success = await scrape(session, url, budget)
    if success is None:
        counts["errors"] += 1
    elif last:
        counts["ok" if success else "fail"] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base", help="exporter URL, e.g. http://127.0.0.1:9115")
    parser.add_argument("targets", help="file with one target per line")
    parser.add_argument("--module", required=True)
    parser.add_argument("--interval", type=float, default=15.0)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--intervals", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=10.0, help="scrape timeout (Prometheus' default)")
    parser.add_argument("--connections", type=int, default=512)
    args = parser.parse_args()
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        counts = runner.run(drive(args))
    print(json.dumps(counts), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
