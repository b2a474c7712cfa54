"""A sweep of 1,000 hostile HTTP and TCP hosts: one record each, bounded time, no leaked descriptors."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import time
from collections import Counter

from prober._patches import enabled
from prober.model import Job, ProbeSpec, Result, Target
from prober.probes import probe_for
from prober.probes.http.spec import HTTPSpec
from prober.probes.tcp import TCPSpec
from prober.record import to_record
from prober.runtime.engine import Engine
from prober.runtime.resources import Resources
from tests.probes.bodyservers import bomb_member, endless
from tests.probes.conftest import RawServer, free_port, reset
from tests.probes.records import check_record

HUNG_TIMEOUT = 0.3  # hosts that never answer: this is what the sweep's wall time is made of
FAST_TIMEOUT = 5.0  # hosts that fail at once: generous, so a loaded machine cannot turn them into timeouts
CONC = 250
HUNG = {"silent", "tls", "drip", "tcp-silent"}


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()


async def rst(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    reset(writer)


async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"\x00\xff garbage that is not HTTP\r\n\r\n")
    await reader.read()


async def header_flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nX-Big: ")
    chunk = b"a" * 65536
    for _ in range(16):  # 1 MB here; the 10 MB case has its own test
        writer.write(chunk)
        await writer.drain()


async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    for _ in range(1000):
        writer.write(b"x")
        await writer.drain()
        await asyncio.sleep(0.1)


async def interim_flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    block = b"HTTP/1.1 102 Processing\r\n\r\n" * 2500
    while True:
        writer.write(block)
        await writer.drain()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def sweep(jobs: list[Job]) -> tuple[list[Result], float]:
    """Run `jobs` through the engine with fresh resources; return the results and the wall time."""
    results: list[Result] = []
    res = Resources(concurrency=CONC)
    engine = Engine(jobs, results.append, concurrency=CONC, probe_for=probe_for, resources=res)
    started = time.perf_counter()
    await engine.run()
    elapsed = time.perf_counter() - started
    await res.aclose()
    return results, elapsed


async def settle(target: int) -> int:
    """Wait up to 2 s for the open descriptor count to drop to `target`; return the count."""
    for _ in range(100):
        if open_fds() <= target:
            break
        await asyncio.sleep(0.02)
    return open_fds()


class TestHostileSweep:
    async def test_thousand_hostile_hosts(self) -> None:
        """1,000 hostile probes: exactly one valid record each, the right kinds, a few timeouts of wall
        time at concurrency 250, and no descriptor left open afterwards."""
        handlers = {"silent": silent, "rst": rst, "close": close, "garbage": garbage}
        handlers |= {"flood": header_flood, "drip": drip, "interim": interim_flood}
        handlers |= {"bomb": endless("gzip", bomb_member())}
        async with contextlib.AsyncExitStack() as stack:
            servers = {name: await stack.enter_async_context(RawServer(h)) for name, h in handlers.items()}
            refused = free_port()
            cases: list[tuple[ProbeSpec, set[str]]] = [
                (HTTPSpec(name="silent", url=f"http://127.0.0.1:{servers['silent'].port}/"), {"timeout"}),
                (HTTPSpec(name="tls", url=f"https://127.0.0.1:{servers['silent'].port}/"), {"timeout"}),
                (HTTPSpec(name="rst", url=f"http://127.0.0.1:{servers['rst'].port}/"), {"reset"}),
                (HTTPSpec(name="close", url=f"http://127.0.0.1:{servers['close'].port}/"), {"reset"}),
                (
                    HTTPSpec(name="garbage", url=f"http://127.0.0.1:{servers['garbage'].port}/"),
                    {"protocol", "reset"},
                ),  # reset on uvloop
                (
                    HTTPSpec(name="flood", url=f"http://127.0.0.1:{servers['flood'].port}/"),
                    {"protocol", "reset"},
                ),
                (
                    HTTPSpec(name="drip", url=f"http://127.0.0.1:{servers['drip'].port}/", body_regex="y"),
                    {"timeout"},
                ),
                (HTTPSpec(name="refused", url=f"http://127.0.0.1:{refused}/"), {"refused"}),
            ]
            if enabled():  # without the 1xx guard each flood holds the loop past its deadline (README)
                interim = HTTPSpec(name="interim", url=f"http://127.0.0.1:{servers['interim'].port}/")
                cases.append((interim, {"protocol"}))
            cases += [
                (
                    HTTPSpec(name="bomb", url=f"http://127.0.0.1:{servers['bomb'].port}/", body_regex="y"),
                    {"assertion"},
                ),
                (TCPSpec(name="tcp-silent", port=servers["silent"].port, expect="^SSH-"), {"timeout"}),
                (TCPSpec(name="tcp-rst", port=servers["rst"].port, expect="^SSH-"), {"reset"}),
                (TCPSpec(name="tcp-refused", port=refused), {"refused"}),
            ]
            jobs = []
            expected: dict[str, set[str]] = {}
            for i in range(1000):
                base, kinds = cases[i % len(cases)]
                timeout = HUNG_TIMEOUT if base.name in HUNG else FAST_TIMEOUT
                probe_spec = dataclasses.replace(base, timeout=timeout, retries=0)
                jobs.append(Job(i, Target(f"h{i}", "127.0.0.1", "hostile"), probe_spec))
                expected[probe_spec.name] = kinds
            # Warm-up: one probe per case creates what is made once (SSL contexts, the resolver's
            # threads, uvloop's wake-up handles), so only per-connection leaks are counted below.
            await sweep(jobs[: len(cases)])
            fds_ready = await settle(open_fds())
            results, elapsed = await sweep(jobs)
            # Server handlers end once the client side is gone; a socket the probes left open keeps
            # its server-side peer alive too, so the count would stay above fds_ready.
            fds_swept = await settle(fds_ready)
        assert sorted(r.job.index for r in results) == list(range(1000))
        assert fds_swept <= fds_ready, (fds_ready, fds_swept)
        wrong = Counter(
            (r.job.spec.name, r.error.kind if r.error else None)
            for r in results
            if r.error is None or r.error.kind not in expected[r.job.spec.name]
        )
        assert not wrong, wrong
        for result in results:
            check_record(to_record(result, "run-hostile"))
        # 308 hung probes at 250 at once: two waves of one timeout (~0.6 s idle, ~1 s measured).
        # One after another they would cost 92 s; the bound leaves room for a loaded machine.
        assert elapsed < 8, elapsed
