"""The worker side of `--workers`: run a share of the plan and stream its results to the parent."""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import signal
import struct
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from prober.model import Job, Result, StopReason
from prober.sinks.writer import ThreadWriter

if TYPE_CHECKING:
    import asyncio

    from prober.plan import SweepSettings
    from prober.runtime.records import Recorder

BATCH_ITEMS = 256
BATCH_SECONDS = 0.02
FRAME = struct.Struct("!I")
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
EXIT_PARENT_GONE = 75

Item = tuple[int, bytes]  # (the job's position in the whole plan, its JSON line)


def die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this child when the parent dies, even by SIGKILL: no orphan keeps
    probing for a parent that can no longer record anything."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(EXIT_PARENT_GONE)


def run_child(
    jobs: Sequence[Job],
    indices: Sequence[int],
    workers: int,
    settings: SweepSettings,
    recorder: Recorder,
    wfd: int,
) -> int:
    """Run the jobs at `indices` and stream items to wfd; returns the exit status."""
    from prober.runtime.execute import run_loop
    from prober.runtime.signals import STOP_SIGNALS

    # Until the engine's loop handles them, both signals interrupt like Ctrl-C. The parent held
    # them blocked while forking; a signal that arrived since is delivered right here.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    local, global_index = _share(jobs, indices)
    stream = _ChildStream(wfd, global_index, recorder)
    concurrency = math.ceil(settings.concurrency / workers)
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    except KeyboardInterrupt:
        stream.finish(StopReason.CANCELLED)
        return 0
    try:
        stop_reason = run_loop(_run_share(local, settings, concurrency, stream, 1 / workers))
    except KeyboardInterrupt:
        stop_reason = StopReason.CANCELLED
    stream.finish(stop_reason)
    return 0


def _share(jobs: Sequence[Job], indices: Sequence[int]) -> tuple[list[Job], Callable[[int], int]]:
    """This child's jobs, and how a job's index maps to its position in the whole plan.

    A plan numbered by position (build_plan's) is used as it is: the jobs' own index is the one the
    parent expects back. Otherwise each job is renumbered 0..n-1 here. (Making a Job per probe cost
    ~5 MB per worker for a 100k-probe plan, on top of the parent's.)"""
    local = [jobs[i] for i in indices]
    if all(job.index == i for job, i in zip(local, indices, strict=True)):
        return local, int
    return [Job(k, job.target, job.spec) for k, job in enumerate(local)], indices.__getitem__


async def _run_share(
    jobs: list[Job], settings: SweepSettings, concurrency: int, stream: _ChildStream, share: float
) -> StopReason | None:
    import asyncio

    from prober.runtime.execute import build_engine

    engine, resources = build_engine(
        jobs, stream.emit, concurrency=concurrency, deadline=settings.deadline, share=share, room=stream.room
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, engine.stop, StopReason.CANCELLED)
    stream.loop = loop
    stream.stop = engine.stop
    try:
        return await engine.run()
    finally:
        stream.send(("lag", engine.lag.max_ms))
        await resources.aclose()


class _ChildStream:
    """Batches results into pickled frames that a writer thread sends to the parent: the event loop never
    writes to the pipe, so a parent that is slow to read never stalls this child's probes."""

    def __init__(
        self, wfd: int, global_index: Callable[[int], int], recorder: Callable[[Result], dict[str, Any]]
    ) -> None:
        from prober.sinks.jsonl import QUEUE_LINES, dumps

        self.global_index = global_index
        self._to_record, self._dumps = recorder, dumps
        self.batch: list[Item] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop: Callable[[StopReason], None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.writer = ThreadWriter(wfd, limit=QUEUE_LINES, on_lost=self._parent_gone, name="prober-child")
        self.writer.start()

    def room(self) -> Awaitable[None]:
        return self.writer.room()

    def emit(self, result: Result) -> None:
        line = self._dumps(self._to_record(result))
        self.batch.append((self.global_index(result.job.index), line))
        if len(self.batch) >= BATCH_ITEMS:
            self.flush()
        elif self._timer is None and self.loop is not None:
            self._timer = self.loop.call_later(BATCH_SECONDS, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.batch:
            batch, self.batch = self.batch, []
            self.send(("items", batch), len(batch))

    def send(self, message: tuple[str, Any], weight: int = 1) -> None:
        payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self.writer.put(FRAME.pack(len(payload)) + payload, weight)

    def finish(self, stop_reason: StopReason | None) -> None:
        """Send what is left and the stop reason, and wait until the parent has it all."""
        self.flush()
        self.send(("done", stop_reason))
        self.writer.close()

    def _parent_gone(self, reason: StopReason) -> None:
        # On the writer thread: nobody will read this child's results any more, so stop probing.
        if self.loop is not None and self.stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has finished already
                self.loop.call_soon_threadsafe(self.stop, reason)
