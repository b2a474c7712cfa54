"""Memory over 1,000 sweeps: flat. Many quick sweeps of a small inventory at a tiny interval.

In this process (the servers run in another), so Python's own allocation count is exact: after a
warm-up, 1,000 more sweeps (records to the metrics and to -o, /metrics rendered, /probe and /metrics
scraped meanwhile) must not leave more allocated blocks or live objects behind (measured here: +350 to
+410 pymalloc blocks, the same number of objects, +0.23 MB of RSS). RSS is bounded more loosely: the
allocator's per-thread arenas (preparation, rendering and the JSONL writer run in threads) keep filling
for a while (with a process: 54.3 MB at sweep 259, 57.2 MB at 474, 57.9 MB at 1,240, 58.0 MB at 3,686).
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import urllib.request
from pathlib import Path

from prober.cli.sweep import SweepFlags, load
from prober.runtime.probeone import Plan
from prober.runtime.watch import Watch, WatchOptions
from prober.runtime.watchsweep import Output
from tests.cli.hostile import ServerProcess, free_port
from tests.watch.conftest import inventory

WARM_UP = 200
SWEEPS = 1000
BLOCKS_GROWTH_MAX = 2000  # pymalloc blocks: a leak of 2 objects per sweep would exceed it
RSS_GROWTH_MAX = 4 * 2**20


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return bytes(response.read())


class TestMemory:
    def test_flat_over_1000_sweeps(self, loopback_block: int, tmp_path: Path) -> None:
        """Allocated blocks and live objects within a few hundred of the warm-up's after 1,000 more
        sweeps, RSS within 4 MB, the /metrics text the same size, no file descriptor left open."""
        hosts = [f"127.{loopback_block}.0.{i}" for i in (1, 2, 3, 4)]
        port = free_port(hosts[0])
        servers = ServerProcess([["http_ok", address, port] for address in hosts[:3]], tmp_path)
        path = inventory(tmp_path / "small.yaml", port, {"web": hosts}, timeout="1s")
        plan = Plan(*load(str(path), SweepFlags()))
        output = Output(str(tmp_path / "out.jsonl"))
        options = WatchOptions(interval=0.001, listen=("127.0.0.1", 0))
        watch = Watch(options, lambda: Plan(*load(str(path), SweepFlags())), plan, output)
        samples: list[tuple[int, int, int, int, int]] = []  # blocks, objects, RSS, fds, /metrics lines

        async def between_sweeps(count: int) -> None:
            while watch.stats.sweeps < count or watch.stats.running_since is not None:  # noqa: ASYNC110
                await asyncio.sleep(0.001)  # polling: the watch has no event for "a sweep ended"

        def sample() -> None:
            gc.collect()
            fds = len(os.listdir("/proc/self/fd"))
            # The prom sink memoises value texts (float → str) up to 10,000 (prom._CACHE_MAX): two blocks
            # each, bounded, and filling here with each sweep's new latencies; counted apart.
            memo = 2 * len(watch.metrics._values)
            lines = watch.cache.body.count(b"\n")
            samples.append((sys.getallocatedblocks() - memo, len(gc.get_objects()), rss(), fds, lines))

        async def drive() -> None:
            for count in (WARM_UP, WARM_UP + SWEEPS):
                await between_sweeps(count)
                assert watch.bound is not None
                base = f"http://127.0.0.1:{watch.bound[1]}"
                await asyncio.to_thread(fetch, f"{base}/probe?target={hosts[0]}&module=web")
                await asyncio.to_thread(fetch, f"{base}/metrics")
                await between_sweeps(watch.stats.sweeps + 1)
                sample()
            watch.stop()

        async def main() -> int:
            driver = asyncio.ensure_future(drive())
            code = await watch.run()
            await driver
            return code

        try:
            assert asyncio.run(main()) == 0
        finally:
            servers.close()
        (blocks0, objects0, rss0, fds0, text0), (blocks1, objects1, rss1, fds1, text1) = samples
        assert blocks1 - blocks0 < BLOCKS_GROWTH_MAX, samples
        assert objects1 - objects0 < BLOCKS_GROWTH_MAX / 4, samples
        assert rss1 - rss0 < RSS_GROWTH_MAX, samples
        assert (fds1, text1) == (fds0, text0), samples
        assert watch.stats.sweeps >= WARM_UP + SWEEPS
