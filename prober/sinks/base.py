"""One sink type and the fan-out a sweep feeds: every probe record to every sink, then the sweep line.

A sink has `record(record)` for each probe record (the dict written as one JSON line) and
`close(sweep)` with the final sweep line (None when there is none, e.g. a results file cut short).
The same sinks are fed live by a sweep (one process or the parent of --workers, which sees every
record) and from a file by `prober report` (prober.cli.report.replay).

A sink never sees the engine. When it can no longer do its job in a way that makes probing pointless
(the JSONL sink's reader left, or its disk is full) it calls the fan-out's `stop(reason)`; whoever
runs the sweep decides what stopping means (the engine's stop in one process, stopping the workers
under --workers) by `bind`ing it. `stop` may be called from any thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from prober import logs
from prober.errors import InputError
from prober.model import StopReason

Record = dict[str, Any]
StopFn = Callable[[StopReason], None]


class Sink(Protocol):
    """What a live sweep and a results file both feed: each probe record, then the sweep line."""

    def record(self, record: Record) -> None: ...

    def close(self, sweep: Record | None = None) -> None: ...


class Serialized(dict[str, Any]):
    """A record that carries its JSON line, made where the record was made (a worker process), so the
    JSONL sink writes that line as it is instead of serialising the record a second time."""

    __slots__ = ("line",)

    def __init__(self, record: Record, line: bytes) -> None:
        super().__init__(record)
        self.line = line


class Backpressure(Protocol):
    """A sink with a bounded queue (JSONL behind a slow reader): the sweep waits for room."""

    async def room(self) -> None: ...

    def full(self) -> bool: ...

    def wait_room(self, timeout: float) -> None: ...

    def drain(self) -> None: ...


class FanOut:
    """Feeds every record to each sink in order, closes them all, and relays a sink's stop request.

    A sink that fails at close (its file cannot be written) does not keep the others from closing:
    the failure is logged as an error and kept in `failed` (the sweep then exits 2)."""

    def __init__(self, sinks: Sequence[Sink], *, queue: Backpressure | None = None) -> None:
        self.sinks = list(sinks)
        self.queue = queue  # the one sink whose slow reader holds the sweep back, if any
        self.stopped: StopReason | None = None  # why a sink asked to stop, or None
        self.failed: list[str] = []
        self._stop: StopFn | None = None

    def bind(self, stop: StopFn) -> None:
        """Who stops the sweep when a sink asks (called once the engine or the workers exist)."""
        self._stop = stop
        if self.stopped is not None:  # a sink asked before anybody could listen
            stop(self.stopped)

    def stop(self, reason: StopReason) -> None:
        """A sink cannot go on (e.g. OUTPUT_CLOSED): stop probing. Safe from any thread."""
        if self.stopped is None:
            self.stopped = reason
        if self._stop is not None:
            self._stop(reason)

    def start(self) -> None:
        """Start the sinks that work on a thread of their own (after --workers forked: threads do
        not survive a fork)."""
        for sink in self.sinks:
            start = getattr(sink, "start", None)
            if start is not None:
                start()

    def record(self, record: Record) -> None:
        for sink in self.sinks:
            sink.record(record)

    def close(self, sweep: Record | None = None) -> None:
        for sink in self.sinks:
            try:
                sink.close(sweep)
            except InputError as exc:  # an output that could not be written, named with its path
                self._failed("; ".join(str(problem) for problem in exc.problems))
            except OSError as exc:
                self._failed(f"{type(sink).__name__}: {exc.strerror or exc}")

    def _failed(self, message: str) -> None:
        self.failed.append(message)
        with contextlib.suppress(OSError):
            logs.get().error("cannot write an output", error=message)

    async def room(self) -> None:
        """Wait (the event loop free) while the bounded sink is far behind; for the engine."""
        if self.queue is not None:
            await self.queue.room()

    def room_fn(self) -> Callable[[], Awaitable[None]] | None:
        return self.room if self.queue is not None else None

    def full(self) -> bool:
        return self.queue is not None and self.queue.full()

    def wait_room(self, timeout: float) -> None:
        if self.queue is not None:
            self.queue.wait_room(timeout)

    def drain(self) -> None:
        """Wait until the bounded sink has written every record so far (a thread's blocking call):
        the sweep waits for it while stop signals still work, before the sweep line is made."""
        if self.queue is not None:
            self.queue.drain()


__all__ = ["Backpressure", "FanOut", "Record", "Serialized", "Sink", "StopFn"]
