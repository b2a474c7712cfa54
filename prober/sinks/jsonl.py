"""JSON Lines sink: one record per line, written as each result arrives, one write() per line."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import select
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson

from prober import logs
from prober.model import Result
from prober.record import to_record
from prober.sinks import fit
from prober.sinks.safetext import no_workflow_commands_json as inert

# A write() of at most PIPE_BUF bytes is atomic on a pipe, so readers never see torn lines.
LINE_MAX = 4096
# Lines a slow reader may fall behind by before the sweep waits for it (~3 MiB of typical records).
QUEUE_LINES = 8192
# How often the writer thread empties its buffer: records reach the reader within ~10 ms.
FLUSH_S = 0.01


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


def write_line(fd: int, line: bytes) -> None:
    """Write all of `line` with as few write() calls as the fd allows (one, for a pipe and ≤ LINE_MAX).

    A non-blocking fd (stdout shared with a parent that set O_NONBLOCK) is waited on, not spun on.
    """
    view = memoryview(line)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            poller = select.poll()
            poller.register(fd, select.POLLOUT)
            poller.poll()
            continue
        except InterruptedError:
            continue
        view = view[written:]


class JsonlSink:
    """Writes records to a file descriptor. When it cannot (reader gone: "output_closed"; disk full or
    I/O error: "output_error"), it stops writing and tells `on_closed` why."""

    def __init__(self, fd: int, run_id: str, on_closed: Callable[[str], None] | None = None) -> None:
        self.fd = fd
        self.run_id = run_id
        self.on_closed = on_closed
        self.closed = False

    def __call__(self, result: Result) -> None:
        self.write(to_record(result, self.run_id))

    def write(self, obj: dict[str, Any], cap: bool = True) -> None:
        """Queue or write one record; `cap=False` only for the single final sweep line."""
        if not self.closed:
            self._put(dumps(obj, cap))

    def _put(self, line: bytes) -> None:
        self._write(line)

    def _write(self, line: bytes) -> None:
        try:
            write_line(self.fd, line)
        except OSError as exc:
            if isinstance(exc, BrokenPipeError) or exc.errno in (errno.EPIPE, errno.EBADF):
                self._closed_by_reader()
            else:
                self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        self.closed = True
        logs.get().error("cannot write results; stopping the sweep", error=exc.strerror or str(exc))
        self._notify_closed("output_error")

    def _closed_by_reader(self) -> None:
        # The reader went away (`| head`): point the fd at /dev/null so nothing else
        # (including interpreter shutdown) raises again, then stop the sweep quietly.
        self.closed = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.fd)
        os.close(devnull)
        self._notify_closed("output_closed")

    def _notify_closed(self, reason: str) -> None:
        if self.on_closed is not None:
            self.on_closed(reason)


class BackgroundJsonlSink(JsonlSink):
    """A JsonlSink whose writes happen on a writer thread, so a slow reader never blocks the event loop.

    Lines wait in a bounded buffer that the thread empties every FLUSH_S (one write() per line still):
    waking it per line would cost a futex round trip per record. Only a reader more than max_lines
    behind makes `__call__` block (backpressure: memory stays bounded), and a warning says so once.
    """

    def __init__(
        self,
        fd: int,
        run_id: str,
        on_closed: Callable[[str], None] | None = None,
        max_lines: int = QUEUE_LINES,
    ) -> None:
        super().__init__(fd, run_id, on_closed)
        self._lines: deque[bytes] = deque()
        self._max_lines = max_lines
        self._cond = threading.Condition()
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._drain, name="prober-jsonl", daemon=True)
        self._warned = False

    def start(self) -> BackgroundJsonlSink:
        """Start the writer thread; call from the event loop that should hear about a closed reader."""
        self._loop = asyncio.get_running_loop()
        self._thread.start()
        return self

    def close(self) -> None:
        """Write every buffered line, then stop the writer thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join()

    def _put(self, line: bytes) -> None:
        with self._cond:
            while len(self._lines) >= self._max_lines and not self.closed:
                if not self._warned:
                    self._warned = True
                    logs.get().warning(
                        "output reader is slow; the sweep waits for it", queued=self._max_lines
                    )
                self._cond.notify_all()
                self._cond.wait()
            self._lines.append(line)

    def _drain(self) -> None:
        while True:
            with self._cond:
                if not self._lines and not self._closing:
                    self._cond.wait(FLUSH_S)
                batch, self._lines = self._lines, deque()
                done = self._closing and not batch
                self._cond.notify_all()  # room again for a producer held by backpressure
            if done:
                return
            for line in batch:
                if not self.closed:
                    self._write(line)

    def _notify_closed(self, reason: str) -> None:
        if self.on_closed is not None and self._loop is not None:
            # RuntimeError: the loop already finished, so there is nothing left to stop.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self.on_closed, reason)
