"""Engine stop paths in-process (fake probe functions): early stop, deadline, backoff; loop-lag warning."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import structlog

from prober.model import Job, Outcome, Result, Target
from prober.probes.tcp import TCPSpec
from prober.runtime.engine import Engine
from prober.runtime.looplag import LagWatch


@pytest.fixture(autouse=True)
def fast_backoff() -> None:
    """Overrides this folder's 10 ms retry pause: these stops must land during the real backoff."""


def jobs(count: int, retries: int = 0, timeout: float = 30.0) -> list[Job]:
    spec = TCPSpec(name="t", port=1, retries=retries, timeout=timeout)
    return [Job(i, Target(f"h{i}", "127.0.0.1", "g"), spec) for i in range(count)]


def engine_for(plan: list[Job], probe: Any, out: list[Result], **kwargs: Any) -> Engine:
    return Engine(plan, out.append, probe_for=lambda kind: probe, resources=None, **kwargs)


async def hang(*args: Any) -> Outcome:
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


class TestEngineStop:
    async def test_stop_before_run_starts_nothing(self) -> None:
        """A stop requested before run() (a signal at start-up) records every job cancelled, probing none."""
        called: list[int] = []

        async def probe(*args: Any) -> Outcome:
            called.append(1)
            return Outcome({})

        out: list[Result] = []
        engine = engine_for(jobs(5), probe, out, concurrency=2)
        engine.stop()  # the default reason: cancelled
        assert await engine.run() == "cancelled"
        assert called == []
        assert sorted(r.job.index for r in out) == list(range(5))
        assert {(r.error.kind, r.attempts) for r in out if r.error} == {("cancelled", 0)}

    async def test_deadline_records_in_flight_and_unstarted(self) -> None:
        """Deadline with hung probes: in-flight (attempts 1) and never-started (0) jobs all say deadline."""
        out: list[Result] = []
        engine = engine_for(jobs(5), hang, out, concurrency=2, deadline=0.2)
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await engine.run() == "deadline"
        assert loop.time() - started < 1.5
        assert len(out) == 5 and {r.error.kind for r in out if r.error} == {"deadline"}
        assert sorted(r.attempts for r in out) == [0, 0, 0, 1, 1]

    async def test_stop_during_retry_backoff(self) -> None:
        """A stop while a job sleeps between retries records it cancelled, with the attempts it made."""

        async def refused(*args: Any) -> Outcome:
            raise ConnectionRefusedError("refused")

        out: list[Result] = []
        engine = engine_for(jobs(1, retries=10), refused, out, concurrency=1)
        asyncio.get_running_loop().call_later(0.25, engine.stop, "cancelled")
        assert await engine.run() == "cancelled"
        (result,) = out
        assert result.error is not None and result.error.kind == "cancelled"
        assert result.attempts >= 1

    async def test_stop_twice_keeps_the_first_reason(self) -> None:
        """The deadline firing after a signal does not relabel the cancelled records."""
        out: list[Result] = []
        engine = engine_for(jobs(3), hang, out, concurrency=3, deadline=0.3)
        asyncio.get_running_loop().call_later(0.1, engine.stop, "cancelled")
        assert await engine.run() == "cancelled"
        await asyncio.sleep(0.3)
        assert {r.error.kind for r in out if r.error} == {"cancelled"} and len(out) == 3


class TestLoopLagWarning:
    async def test_blocked_loop_is_reported(self) -> None:
        """A loop blocked well past a quarter of the shortest timeout gets one warning naming the lag,
        and the worst lag is kept for the sweep line; the watch goes on after warning."""
        watch = LagWatch(0.2, every=0.02)
        with structlog.testing.capture_logs() as logged:
            watch.start()
            await asyncio.sleep(0.05)
            time.sleep(0.3)  # noqa: ASYNC251 - on purpose: what 1,000 busy probes look like to a timer
            await asyncio.sleep(0.05)
            time.sleep(0.4)  # noqa: ASYNC251 - a second, longer stall: still measured, not re-warned
            await asyncio.sleep(0.05)
            watch.stop()
        (entry,) = [e for e in logged if "running late" in e["event"]]
        assert entry["log_level"] == "warning" and entry["lag_ms"] >= 200
        assert 370 <= watch.max_ms < 2000

    async def test_idle_loop_is_not_reported(self) -> None:
        """A loop that keeps time produces no warning and a small worst lag."""
        watch = LagWatch(4.0, every=0.02)
        with structlog.testing.capture_logs() as logged:
            watch.start()
            await asyncio.sleep(0.3)
            watch.stop()
        assert not [e for e in logged if "running late" in e["event"]]
        assert 0 <= watch.max_ms < 200
