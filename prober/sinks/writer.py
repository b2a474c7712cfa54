"""Writing off the caller's thread: a writer thread behind a bounded queue, and what a failed write means."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import select
import threading
from collections import deque
from collections.abc import Callable

from prober import logs
from prober.model import StopReason

# Why records can no longer be written: the reader left (exit 141), or a write failed (exit 2).
OUTPUT_CLOSED = StopReason.OUTPUT_CLOSED
OUTPUT_ERROR = StopReason.OUTPUT_ERROR
# How often the writer thread empties its queue: records reach the reader within ~10 ms. Waking
# it per chunk instead would cost a futex round trip per record.
FLUSH_S = 0.01


def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` with as few write() calls as the fd allows (one, for a pipe and ≤ 4096 bytes).

    A non-blocking fd (stdout shared with a parent that set O_NONBLOCK) is waited on, not spun on.
    """
    view = memoryview(data)
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


def failure(fd: int, exc: OSError) -> StopReason:
    """What a failed write to fd means (OUTPUT_CLOSED or OUTPUT_ERROR, logged once as an error).

    fd is pointed at /dev/null, so nothing (interpreter shutdown included) fails on it again.
    """
    closed = isinstance(exc, BrokenPipeError) or exc.errno in (errno.EPIPE, errno.EBADF)
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    if closed:
        return OUTPUT_CLOSED
    logs.get().error("cannot write results; stopping the sweep", error=exc.strerror or str(exc))
    return OUTPUT_ERROR


class ThreadWriter:
    """Writes queued chunks to fd on its own thread, so a slow reader never blocks the producer's thread.

    Each chunk weighs what it holds (lines, results). From `limit` queued items on, `full()` is true and
    `room()` waits without blocking the event loop: the engine starts no new probe until the reader
    catches up, while probes in flight finish with their true timings. Only a producer that ignores
    `room()` and reaches twice the limit is blocked in `put` (a last resort that bounds memory).
    After a failed write (`lost` says why) the queue is dropped and later chunks are discarded.
    """

    def __init__(
        self,
        fd: int,
        *,
        limit: int,
        on_lost: Callable[[StopReason], None] | None = None,
        name: str = "prober-out",
    ) -> None:
        self.fd, self.limit, self.on_lost = fd, limit, on_lost
        self.hard_limit = 2 * limit
        self.lost: StopReason | None = None
        self.queued = 0  # items not yet written, including the batch being written
        self.peak = 0  # the most items ever queued (tests assert the bound on it)
        self._chunks: deque[tuple[bytes, int]] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._room = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._warned = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> ThreadWriter:
        self._thread.start()
        return self

    def full(self) -> bool:
        return self.queued >= self.limit and self.lost is None

    def put(self, chunk: bytes, weight: int = 1) -> None:
        """Queue a chunk; blocks only while `hard_limit` items are queued."""
        with self._cond:
            while self.queued >= self.hard_limit and self.lost is None:
                self._warn()
                self._cond.wait()
            if self.lost is None:
                self._chunks.append((chunk, weight))
                self.queued += weight
                self.peak = max(self.peak, self.queued)

    async def room(self) -> None:
        """Wait, with the event loop free, until fewer than `limit` items are queued."""
        while self.full():
            self._warn()
            self._loop = asyncio.get_running_loop()
            self._room.clear()
            if self.full():  # checked again: the thread may have made room since
                await self._room.wait()

    def wait_room(self, timeout: float) -> None:
        """Block up to `timeout` seconds while the queue is full (for a thread that has no event loop)."""
        with self._cond:
            if self.full():
                self._warn()
                self._cond.wait(timeout)

    def drain(self) -> None:
        """Wait until every chunk queued so far is written (or the output is lost); keep the thread."""
        with self._cond:
            while self.queued and self.lost is None and self._thread.is_alive():
                self._cond.wait(FLUSH_S)

    def close(self) -> None:
        """Write every queued chunk (unless the output is lost), then stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join()

    def _warn(self) -> None:
        if not self._warned:
            self._warned = True
            logs.get().warning("output reader is slow; the sweep waits for it", queued=self.queued)

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._chunks and not self._closing:
                    self._cond.wait(FLUSH_S)
                batch, self._chunks = self._chunks, deque()
                if self._closing and not batch:
                    return
            for chunk, _ in batch:
                if self.lost is None:
                    self._write(chunk)
            with self._cond:
                self.queued -= sum(weight for _, weight in batch)
                self._cond.notify_all()  # room again for a producer held in put() or wait_room()
            self._wake_loop()

    def _write(self, chunk: bytes) -> None:
        try:
            write_all(self.fd, chunk)
        except OSError as exc:
            reason = failure(self.fd, exc)
            with self._cond:
                self.lost = reason
                self._cond.notify_all()
            if self.on_lost is not None:
                self.on_lost(reason)

    def _wake_loop(self) -> None:
        if self._loop is not None and not self.full():
            # RuntimeError: that loop has finished, so nobody waits on it any more.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._room.set)
