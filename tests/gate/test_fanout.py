"""The one sink interface and its fan-out: every record to every sink, a sink that fails to close does
not stop the others, and a sink can stop the engine (real loopback servers, in process)."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

from prober.cli import sweep
from prober.errors import InputError, Problem
from prober.runtime.execute import execute
from prober.runtime.records import Recorder
from prober.sinks.base import FanOut, Record
from tests.cli.hostile import free_port


class Kept:
    def __init__(self) -> None:
        self.records: list[Record] = []
        self.closed_with: Any = "not closed"

    def record(self, record: Record) -> None:
        self.records.append(record)

    def close(self, sweep: Record | None = None) -> None:
        self.closed_with = sweep


class Broken(Kept):
    def close(self, sweep: Record | None = None) -> None:
        problem = Problem("/full/junit.xml", None, "--junit", "cannot write: No space left on device")
        raise InputError([problem])


class TestFanOut:
    def test_every_sink_gets_every_record_and_the_sweep_line(self) -> None:
        """Two sinks around a broken one: both see each record and are closed; the failure is kept."""
        first, broken, last = Kept(), Broken(), Kept()
        fanout = FanOut([first, broken, last])
        for index in range(3):
            fanout.record({"index": index})
        fanout.close({"event": "sweep"})
        assert [r["index"] for r in last.records] == [0, 1, 2] == [r["index"] for r in first.records]
        assert first.closed_with == last.closed_with == {"event": "sweep"}
        assert fanout.failed == ["/full/junit.xml: --junit: cannot write: No space left on device"]

    def test_a_stop_asked_before_anyone_listens_is_delivered_on_bind(self) -> None:
        """A sink that gives up before the engine exists: whoever binds later is told at once."""
        fanout = FanOut([])
        fanout.stop("output_closed")
        heard: list[str] = []
        fanout.bind(heard.append)
        assert heard == ["output_closed"] and fanout.stopped == "output_closed"


    def test_an_os_error_at_close_names_the_sink(self) -> None:
        class Full(Kept):
            def close(self, sweep: Record | None = None) -> None:
                raise OSError(28, "No space left on device")

        class Odd(Kept):
            def close(self, sweep: Record | None = None) -> None:
                raise OSError("gone")

        after = Kept()
        fanout = FanOut([Full(), Odd(), after])
        fanout.close(None)
        assert fanout.failed == ["Full: No space left on device", "Odd: gone"]
        assert after.closed_with is None

    def test_stop_keeps_the_first_reason_and_tells_the_listener_each_time(self) -> None:
        heard: list[str] = []
        fanout = FanOut([])
        fanout.bind(heard.append)
        fanout.stop("output_error")
        fanout.stop("output_closed")
        assert fanout.stopped == "output_error" and heard == ["output_error", "output_closed"]

    def test_start_starts_the_sinks_that_have_a_thread(self) -> None:
        class Threaded(Kept):
            started = 0

            def start(self) -> None:
                self.started += 1

        threaded = Threaded()
        FanOut([Kept(), threaded]).start()
        assert threaded.started == 1

    async def test_backpressure_is_the_queues_or_none(self) -> None:
        """Without a bounded sink nothing waits; with one, room, full, wait_room and drain are its own."""
        calls: list[Any] = []

        class Queue:
            async def room(self) -> None:
                calls.append("room")

            def full(self) -> bool:
                return True

            def wait_room(self, timeout: float) -> None:
                calls.append(("wait_room", timeout))

            def drain(self) -> None:
                calls.append("drain")

        free = FanOut([])
        await free.room()
        free.wait_room(1.0)
        free.drain()
        assert free.room_fn() is None and free.full() is False and calls == []
        bounded = FanOut([], queue=Queue())
        room = bounded.room_fn()
        assert room is not None
        await room()
        bounded.wait_room(2.5)
        bounded.drain()
        assert bounded.full() is True and calls == ["room", ("wait_room", 2.5), "drain"]


class StopAtFirst(Kept):
    def __init__(self) -> None:
        super().__init__()
        self.fanout: FanOut | None = None

    def record(self, record: Record) -> None:
        super().record(record)
        if len(self.records) == 1 and self.fanout is not None:
            self.fanout.stop("output_closed")


class TestSinkStopsTheEngine:
    async def test_a_sink_stops_probes_in_flight(self, tmp_path: Path) -> None:
        """10 hosts that never answer (timeout 10 s) and one refused host: a sink that asks to stop at
        the first record ends the sweep within seconds; every planned probe still has one record."""
        block = random.randint(100, 250)
        port = free_port(f"127.{block}.0.1")

        async def never(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(60)

        server = await asyncio.start_server(never, f"127.{block}.0.1", port)
        inventory = tmp_path / "inv.yaml"
        hung = ", ".join(f"h{i}: {{address: 127.{block}.0.1}}" for i in range(10))
        inventory.write_text(
            "defaults: {timeout: 10s, retries: 0}\n"
            f'probes: {{t: {{type: tcp, port: {port}, expect: "^x"}}}}\n'
            "groups:\n"
            f"  hung: {{probes: [t], hosts: {{{hung}}}}}\n"
            f"  down: {{probes: [t], hosts: {{d: {{address: 127.{block}.0.2}}}}}}\n"
        )
        _, settings, jobs = sweep.load(str(inventory), sweep.SweepFlags())
        stopper = StopAtFirst()
        fanout = stopper.fanout = FanOut([stopper])
        started, recorder = time.monotonic(), Recorder("r")
        try:
            outcome = await execute(jobs, settings, fanout=fanout, recorder=recorder, handle_signals=False)
        finally:
            server.close()
        assert outcome.stop_reason == "output_closed" and time.monotonic() - started < 5
        assert sorted(r["host"] for r in stopper.records) == sorted(job.target.name for job in jobs)
        assert stopper.records[0]["error"]["kind"] == "refused"
        assert {r["error"]["kind"] for r in stopper.records[1:]} == {"cancelled"}
