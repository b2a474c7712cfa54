"""One sweep in this process: fresh per-sweep resources, the engine, the JSONL sink, stop signals."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from prober import logs
from prober.masking import Redactor
from prober.model import Job, Result
from prober.plan import SweepSettings
from prober.probes import probe_for
from prober.record import to_record
from prober.runtime.engine import Engine
from prober.runtime.resources import Resources
from prober.runtime.signals import STOP_SIGNALS, leave_now
from prober.sinks.jsonl import BackgroundJsonlSink
from prober.sinks.summary import Summary

FDS_PER_PROBE = 2
FD_RESERVE = 64
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SweepOutcome:
    """What running a plan gives, in one process or over workers: the summary fed by every record,
    why the sweep stopped early (None: it did not), how long it ran, and whether the output was lost."""

    summary: Summary
    stop_reason: str | None
    duration: float
    output_closed: bool


def fd_budget(concurrency: int) -> int:
    """Raise RLIMIT_NOFILE to its hard limit and cap concurrency to what it allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    allowed = max(1, (soft - FD_RESERVE) // FDS_PER_PROBE)
    if concurrency > allowed:
        logs.get().warning(
            "concurrency capped by the open-file limit", asked=concurrency, capped=allowed, nofile=soft
        )
        return allowed
    return concurrency


def build_engine(
    jobs: Sequence[Job],
    emit: Callable[[Result], None],
    *,
    concurrency: int,
    deadline: float | None,
    share: float = 1.0,
    room: Callable[[], Awaitable[None]] | None = None,
) -> tuple[Engine, Resources]:
    """An engine over `jobs` with fresh per-sweep resources, concurrency capped by the fd limit;
    `share` is this process's part of sweep-wide rates (1/N under --workers N); `room` is the
    output's backpressure (see Engine)."""
    # One Redactor for the engine (error messages, warnings) and the probes (remote text they quote).
    redactor = Redactor()
    resources = Resources(concurrency=concurrency, jobs=jobs, share=share, redactor=redactor)
    engine = Engine(
        jobs,
        emit,
        concurrency=fd_budget(concurrency),
        probe_for=probe_for,
        resources=resources,
        deadline=deadline,
        redactor=redactor,
        room=room,
    )
    return engine, resources


async def execute(
    jobs: Sequence[Job],
    settings: SweepSettings,
    *,
    out_fd: int,
    run_id: str,
    handle_signals: bool = True,
    records: Callable[[dict[str, Any]], None] | None = None,
) -> SweepOutcome:
    """Run the plan, streaming records to out_fd (and each record's dict to `records`, e.g. --prom-file)."""
    summary = Summary(len(jobs))
    engine_ref: list[Engine] = []
    # Writes happen on a thread: a slow reader must not stall the loop and inflate every latency.
    sink = BackgroundJsonlSink(out_fd, run_id, on_closed=lambda reason: engine_ref[0].stop(reason))

    def emit(result: Result) -> None:
        summary(result)
        if records is None:
            sink(result)
        else:  # the record is built once for both
            record = to_record(result, run_id)
            sink.write(record)
            records(record)

    engine, resources = build_engine(
        jobs, emit, concurrency=settings.concurrency, deadline=settings.deadline, room=sink.room
    )
    engine_ref.append(engine)
    loop = asyncio.get_running_loop()
    interrupts: list[int] = []
    if handle_signals:
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, _on_signal, engine, interrupts)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # held since planning ended
    started = time.perf_counter()
    sink.start()
    try:
        stop_reason = await engine.run()
    finally:
        summary.loop_lag_max_ms = engine.lag.max_ms
        try:
            await asyncio.to_thread(sink.close)  # every record is out before the sweep line
        finally:
            if handle_signals:
                signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
                for signum in STOP_SIGNALS:
                    loop.remove_signal_handler(signum)
            await resources.aclose()
    duration = time.perf_counter() - started
    return SweepOutcome(summary, stop_reason, duration, sink.closed)


def _on_signal(engine: Engine, interrupts: list[int]) -> None:
    """First SIGINT/SIGTERM: stop cleanly (records for all). Second: the user insists, e.g. because
    the output reader is stuck and the remaining records can never be written; leave at once."""
    interrupts.append(1)
    if len(interrupts) == 1:
        engine.stop("cancelled")
        return
    leave_now()


def run_loop(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, on uvloop when it is installed (PROBER_UVLOOP=0 turns it off)."""
    if os.environ.get("PROBER_UVLOOP", "1") != "0":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                return runner.run(coro)
    return asyncio.run(coro)


__all__ = ["SweepOutcome", "build_engine", "execute", "fd_budget", "run_loop"]
