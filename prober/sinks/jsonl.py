"""JSON Lines sink: one record per line, written as each result arrives, one write() per line.

`BackgroundJsonlSink` is the sweep's: a sink of the fan-out (prober.sinks.base) whose writes happen
on a writer thread; `JsonlSink` writes in the caller's thread."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import orjson

from prober.model import Result, StopReason
from prober.record import to_record
from prober.sinks import fit
from prober.sinks.base import Record, Serialized
from prober.sinks.safetext import no_workflow_commands_json as inert
from prober.sinks.writer import ThreadWriter, failure, write_all

# A write() of at most PIPE_BUF bytes is atomic on a pipe, so readers never see torn lines.
LINE_MAX = 4096
# Lines a slow reader may fall behind by before new probes wait for it (~3 MiB of typical records).
QUEUE_LINES = 8192


def dumps(obj: dict[str, Any], cap: bool = True) -> bytes:
    """One JSON line, cut below LINE_MAX if needed (unless `cap` is False): long texts are shortened,
    never a key dropped, so a cut record still matches the schema (prober/sinks/fit.py).

    Remote text is written with '##[' escaped as '##\\u005b' (the same JSON value): a GitHub Actions
    runner obeys legacy '##[command]' anywhere in a line of a CI log, and stdout is often that log."""
    line = inert(orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE))
    if len(line) <= LINE_MAX or not cap:
        return line
    budget = LINE_MAX
    while len(line := inert(fit.fitted(obj, budget))) > LINE_MAX:
        # Each '##[' escaped is 8 bytes where the cut counted 3: cutting 3/8 of the excess is enough
        # when the text cut is all '##[', less than enough (so another round) when it is not.
        budget -= (len(line) - LINE_MAX) * 3 // 8 + 1
    return line


class JsonlSink:
    """Writes records to a file descriptor. When it cannot (reader gone: OUTPUT_CLOSED; disk full or
    I/O error: OUTPUT_ERROR), it stops writing, keeps the reason in `lost` and tells `on_closed`."""

    def __init__(self, fd: int, run_id: str, on_closed: Callable[[StopReason], None] | None = None) -> None:
        self.fd = fd
        self.run_id = run_id
        self.on_closed = on_closed
        self.lost: StopReason | None = None

    @property
    def closed(self) -> bool:
        return self.lost is not None

    def __call__(self, result: Result) -> None:
        self.write(to_record(result, self.run_id))

    def record(self, record: Record) -> None:
        """A probe record (the fan-out's sink interface); a worker's record comes with its line."""
        if not self.closed:
            self._put(record.line if isinstance(record, Serialized) else dumps(record))

    def write(self, obj: dict[str, Any], cap: bool = True) -> None:
        """Queue or write one record; `cap=False` only for the single final sweep line."""
        if not self.closed:
            self._put(dumps(obj, cap))

    def _put(self, line: bytes) -> None:
        try:
            write_all(self.fd, line)
        except OSError as exc:
            self._lost(failure(self.fd, exc))

    def _lost(self, reason: StopReason) -> None:
        self.lost = reason
        if self.on_closed is not None:
            self.on_closed(reason)


class BackgroundJsonlSink(JsonlSink):
    """A JsonlSink whose writes happen on a writer thread (one write() per line), so a slow reader never
    blocks the event loop. A reader more than max_lines behind makes `room()` wait, which the engine
    awaits before starting each probe: memory stays bounded and probes in flight keep true timings."""

    def __init__(
        self,
        fd: int,
        run_id: str,
        on_closed: Callable[[StopReason], None] | None = None,
        max_lines: int = QUEUE_LINES,
    ) -> None:
        super().__init__(fd, run_id, on_closed)
        self.writer = ThreadWriter(fd, limit=max_lines, on_lost=self._lost_on_thread, name="prober-jsonl")
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> BackgroundJsonlSink:
        """Start the writer thread. Started from an event loop, `on_closed` runs on that loop;
        otherwise (the parent of --workers) on the writer thread."""
        with contextlib.suppress(RuntimeError):
            self._loop = asyncio.get_running_loop()
        self.writer.start()
        return self

    async def room(self) -> None:
        await self.writer.room()

    def full(self) -> bool:
        return self.writer.full()

    def wait_room(self, timeout: float) -> None:
        self.writer.wait_room(timeout)

    def drain(self) -> None:
        """Wait until every record queued so far is written (or the output is lost)."""
        self.writer.drain()

    def close(self, sweep: Record | None = None) -> None:
        """Write every queued line and then the sweep line (never cut: it lists every group), then
        stop the writer thread."""
        if sweep is not None:
            self.write(sweep, cap=False)
        self.writer.close()

    def _put(self, line: bytes) -> None:
        self.writer.put(line)

    def _lost_on_thread(self, reason: StopReason) -> None:
        self.lost = reason
        if self.on_closed is None:
            return
        if self._loop is None:
            self.on_closed(reason)
            return
        # RuntimeError: the loop already finished, so there is nothing left to stop.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self.on_closed, reason)
