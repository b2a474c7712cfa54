"""One sweep in this process: fresh per-sweep resources, the engine feeding the fan-out, stop signals."""

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
from prober.model import Job, Result, StopReason
from prober.plan import SweepSettings
from prober.probes import probe_for
from prober.runtime.engine import Engine
from prober.runtime.records import Recorder
from prober.runtime.resources import Resources
from prober.runtime.signals import STOP_SIGNALS, leave_now
from prober.sinks.base import FanOut

FDS_PER_PROBE = 2
FD_RESERVE = 64
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SweepOutcome:
    """What running a plan gives, in one process or over workers (the records went to the fan-out):
    why the sweep stopped early (None: it did not), how long it ran, and the event loop's worst lag
    (the worst worker's under --workers; None if not measured)."""

    stop_reason: StopReason | None
    duration: float
    loop_lag_max_ms: float | None = None


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
    resources = Resources(concurrency=concurrency, share=share, redactor=redactor)
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
    fanout: FanOut,
    recorder: Recorder,
    handle_signals: bool = True,
) -> SweepOutcome:
    """Run the plan, feeding every record to the fan-out (which the caller closes with the sweep line).

    A sink that asks to stop (the JSONL sink's reader left) stops the engine; a sink with a bounded
    queue (JSONL behind a slow reader) holds new probes back through the engine's `room`."""

    def emit(result: Result) -> None:
        fanout.record(recorder(result))

    engine, resources = build_engine(
        jobs, emit, concurrency=settings.concurrency, deadline=settings.deadline, room=fanout.room_fn()
    )
    loop = asyncio.get_running_loop()
    fanout.bind(lambda reason: _call_soon(loop, engine.stop, reason))
    interrupts: list[int] = []
    if handle_signals:
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, _on_signal, engine, interrupts)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # held since planning ended
    started = time.perf_counter()
    fanout.start()
    try:
        stop_reason = await engine.run()
    finally:
        try:
            # Every record is out before the sweep line, while a second signal can still leave at
            # once (a reader that never reads again).
            await asyncio.to_thread(fanout.drain)
        finally:
            if handle_signals:
                signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
                for signum in STOP_SIGNALS:
                    loop.remove_signal_handler(signum)
            await resources.aclose()
    return SweepOutcome(stop_reason, time.perf_counter() - started, engine.lag.max_ms)


def _call_soon(
    loop: asyncio.AbstractEventLoop, stop: Callable[[StopReason], None], reason: StopReason
) -> None:
    """Stop the engine from any thread (a sink's writer thread included)."""
    if loop.is_closed():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        stop(reason)
    else:
        with contextlib.suppress(RuntimeError):  # the loop finished meanwhile: nothing left to stop
            loop.call_soon_threadsafe(stop, reason)


def _on_signal(engine: Engine, interrupts: list[int]) -> None:
    """First SIGINT/SIGTERM: stop cleanly (records for all). Second: the user insists, e.g. because
    the output reader is stuck and the remaining records can never be written; leave at once."""
    interrupts.append(1)
    if len(interrupts) == 1:
        engine.stop(StopReason.CANCELLED)
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
