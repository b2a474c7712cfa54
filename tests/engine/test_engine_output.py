"""The engine and its output: backpressure from a stalled reader, and a sink that keeps failing."""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
from typing import Any

import pytest

from prober.model import Job, Outcome, Result
from prober.runtime.engine import Engine
from prober.sinks.jsonl import BackgroundJsonlSink
from tests.engine.conftest import Collected, make_jobs

QUEUE_BOUND = 8192  # README: "new probes wait while 8,192 lines are queued"
STALL_S = 2.0


async def instant(*args: Any) -> Outcome:
    return Outcome({})


async def hang(*args: Any) -> Outcome:
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


def stalled_pipe() -> tuple[int, int]:
    """A one-page pipe (4096 bytes) that nobody reads yet."""
    read_fd, write_fd = os.pipe()
    fcntl.fcntl(read_fd, fcntl.F_SETPIPE_SZ, 4096)
    return read_fd, write_fd


def read_later(read_fd: int, delay: float) -> tuple[threading.Timer, list[bytes]]:
    """Start reading read_fd to EOF on a thread after `delay` seconds (the loop may be blocked)."""
    lines: list[bytes] = []

    def read() -> None:
        with os.fdopen(read_fd, "rb") as stream:
            lines.extend(stream)

    timer = threading.Timer(delay, read)
    timer.start()
    return timer, lines


async def worst_tick_gap(stop: asyncio.Event, every: float = 0.01) -> float:
    """How late a 10 ms timer ever fired until `stop` is set: what a probe's deadline timer would see."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(every)
        worst = max(worst, loop.time() - before - every)
    return worst


class TestBackpressure:
    async def test_a_stalled_reader_stops_new_probes_not_the_loop(self) -> None:
        """20,000 instant probes and a reader that starts 2 s late: no more than 8,192 lines (+ one per
        probe in flight) ever queue up, new probes wait, the event loop keeps its timers on time, and
        once the reader comes every record arrives."""
        read_fd, write_fd = stalled_pipe()
        timer, lines = read_later(read_fd, STALL_S)
        sink = BackgroundJsonlSink(write_fd, "run").start()
        plan = make_jobs(20_000)
        engine = Engine(
            plan, sink, concurrency=50, probe_for=lambda kind: instant, resources=None, room=sink.room
        )
        stop = asyncio.Event()
        ticker = asyncio.create_task(worst_tick_gap(stop))
        try:
            assert await engine.run() is None
        finally:
            stop.set()
            await asyncio.to_thread(sink.close)
            os.close(write_fd)
            await asyncio.to_thread(timer.join)
        assert sink.writer.peak <= QUEUE_BOUND + 50
        assert await ticker < 0.5  # blocked on the queue, the loop would be ~2 s late
        assert sorted(int(line.split(b'"host":"h')[1].split(b'"')[0]) for line in lines) == list(
            range(20_000)
        )

    async def test_records_for_a_stop_wait_for_room_too(self) -> None:
        """A deadline that leaves 20,000 jobs unfinished behind a stalled reader: their records are
        queued within the bound too, without blocking the loop."""
        read_fd, write_fd = stalled_pipe()
        timer, lines = read_later(read_fd, STALL_S)
        sink = BackgroundJsonlSink(write_fd, "run").start()

        engine = Engine(
            make_jobs(20_000),
            sink,
            concurrency=5,
            probe_for=lambda kind: hang,
            resources=None,
            deadline=0.1,
            room=sink.room,
        )
        stop = asyncio.Event()
        ticker = asyncio.create_task(worst_tick_gap(stop))
        try:
            assert await engine.run() == "deadline"
        finally:
            stop.set()
            await asyncio.to_thread(sink.close)
            os.close(write_fd)
            await asyncio.to_thread(timer.join)
        assert sink.writer.peak <= QUEUE_BOUND
        assert await ticker < 0.5
        assert len(lines) == 20_000

    async def test_cancelling_the_run_while_it_waits_for_room_still_records_every_job(self) -> None:
        """run() cancelled while its stop records wait for room (reader stalled): it still records every
        job (the remaining ones at once), then lets the cancellation through."""
        read_fd, write_fd = stalled_pipe()
        sink = BackgroundJsonlSink(write_fd, "run", max_lines=10).start()
        engine = Engine(
            make_jobs(100),
            sink,
            concurrency=2,
            probe_for=lambda kind: hang,
            resources=None,
            deadline=0.05,
            room=sink.room,
        )
        task = asyncio.create_task(engine.run())
        for _ in range(1000):  # up to 10 s for the deadline's records to fill the queue
            if sink.writer.full():
                break
            await asyncio.sleep(0.01)
        assert sink.writer.full()
        timer, lines = read_later(read_fd, 0.5)  # the cancelled run then queues past the bound
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.to_thread(sink.close)
        os.close(write_fd)
        await asyncio.to_thread(timer.join)
        assert len(lines) == 100


class TestSinkFailure:
    async def test_a_sink_failing_twice_stops_the_sweep_as_internal(self) -> None:
        """When even the plain `internal` record for a job cannot be written, that worker dies: the run
        reports `internal`, and every other job is still recorded exactly once."""

        class Broken(Collected):
            def __call__(self, result: Result) -> None:
                if result.job.index == 3:
                    raise OSError("the sink is broken")
                super().__call__(result)

        out = Broken()
        engine = Engine(make_jobs(20), out, concurrency=4, probe_for=lambda kind: instant, resources=None)
        assert await engine.run() == "internal"
        assert sorted(r.job.index for r in out.results) == [i for i in range(20) if i != 3]

    async def test_jobs_left_by_the_only_worker_are_lost_to_an_internal_error(self) -> None:
        """With one worker, its death leaves the rest of the plan: each job is recorded `internal`,
        never started (attempts 0, no latency), saying the engine lost it."""

        class Broken(Collected):
            def __call__(self, result: Result) -> None:
                if result.job.index == 3 and result.error is not None:
                    raise OSError("the sink is broken")
                super().__call__(result)

        async def fails(target: Any, spec: Any, res: Any) -> Outcome:
            raise ConnectionRefusedError(111, "Connection refused")

        out = Broken()
        engine = Engine(make_jobs(8), out, concurrency=1, probe_for=lambda kind: fails, resources=None)
        assert await engine.run() == "internal"
        lost = [r for r in out.results if r.job.index > 3]
        assert [r.job.index for r in lost] == [4, 5, 6, 7]
        assert {(r.error.kind, r.error.message, r.attempts, r.latency_ms) for r in lost if r.error} == {
            ("internal", "the engine lost this probe to an internal error", 0, None)
        }

    async def test_a_sink_failing_once_is_an_internal_record(self) -> None:
        """A result the sink rejects once becomes one `internal` record; the run itself is not stopped."""
        calls: list[Job] = []

        class Picky(Collected):
            def __call__(self, result: Result) -> None:
                calls.append(result.job)
                if result.job.index == 3 and result.error is None:
                    raise TypeError("unserialisable details")
                super().__call__(result)

        out = Picky()
        engine = Engine(make_jobs(20), out, concurrency=4, probe_for=lambda kind: instant, resources=None)
        assert await engine.run() is None
        assert out.kinds() == {i: ("internal" if i == 3 else None) for i in range(20)}
