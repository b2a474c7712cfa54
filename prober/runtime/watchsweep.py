"""One sweep of `prober watch`: the engine over the plan; each record updates the metrics and, with
`-o FILE`, is appended to the file, followed by the sweep line.

Unlike `prober sweep` (runtime/execute.py) a sweep here handles no signals (the watch loop does), waits
for each probe's start time when spread (Engine.pace), reuses what an unchanged plan prepared (TLS
contexts, SSH keys, known_hosts: read again on reload) and does not stop when its output fails: the
metrics matter more than the file, which is reopened for the next sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prober import logs
from prober.budget import Budget
from prober.exits import Exit
from prober.model import Job, Result
from prober.plan import SweepSettings
from prober.record import new_run_id
from prober.runtime.engine import Engine
from prober.runtime.execute import build_engine
from prober.runtime.prepare import Prepared
from prober.runtime.records import Recorder
from prober.sinks.base import FanOut, Sink
from prober.sinks.gate import Gate
from prober.sinks.jsonl import BackgroundJsonlSink
from prober.sinks.prom import PromMetrics
from prober.sinks.summary import Summary


@dataclass(frozen=True, slots=True)
class SweepDone:
    """What one watch sweep gives back: its sweep line, and whether its JSONL output failed."""

    line: dict[str, Any]
    output_lost: bool


class Output:
    """`-o FILE`, opened for appending; reopened after a failed write (the writer points a failed
    fd at /dev/null), so a full disk that frees up gets the next sweeps again."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = self._open()

    def _open(self) -> int:
        # O_NONBLOCK only for the open: a FIFO without a reader fails (ENXIO) instead of hanging.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
        os.set_blocking(fd, True)
        return fd

    def reopen(self) -> None:
        try:
            fd = self._open()
        except OSError as exc:
            logs.get().error("cannot reopen the output", output=self.path, error=exc.strerror or str(exc))
            return
        os.close(self.fd)
        self.fd = fd

    def close(self) -> None:
        os.close(self.fd)


async def _daemon_thread(function: Callable[[], None]) -> None:
    """function() in a daemon thread. Not the loop's executor: an output nobody reads keeps the
    writer blocked forever, and asyncio.run would wait for that thread when the watch stops."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle() -> None:
        if not done.done():  # cancelled: a stop left without waiting
            done.set_result(None)

    def run() -> None:
        try:
            function()
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
                loop.call_soon_threadsafe(settle)

    threading.Thread(target=run, name="prober-watch-close", daemon=True).start()
    await done


async def sweep_once(
    jobs: Sequence[Job],
    settings: SweepSettings,
    metrics: PromMetrics,
    *,
    budgets: Mapping[str, tuple[int, Budget]],
    prepared: Prepared,
    output: Output | None = None,
    pace: Callable[[int], Awaitable[None]] | None = None,
    started: Callable[[Engine], None] = lambda engine: None,
) -> SweepDone:
    """Run the plan once; `started(engine)` lets the caller stop it. Records go to `metrics` as they
    come; the sweep line, with each group's budget verdict as `prober sweep` writes it, is returned
    (and appended to the output after every record)."""
    run_id = new_run_id()
    recorder = Recorder(run_id)
    summary, gate = Summary(len(jobs)), Gate(budgets)
    sink = BackgroundJsonlSink(output.fd, run_id) if output is not None else None
    sinks: list[Sink] = [summary, gate] if sink is None else [summary, gate, sink]
    fanout = FanOut(sinks, queue=sink)

    def emit(result: Result) -> None:
        record = recorder(result)
        metrics.update(record)
        fanout.record(record)

    engine, resources = build_engine(
        jobs, emit, concurrency=settings.concurrency, deadline=settings.deadline, room=fanout.room_fn()
    )
    engine.pace = pace
    resources.prepared = prepared  # kept from sweep to sweep of one plan: prepare() adds what is missing
    started(engine)
    begun = time.perf_counter()
    fanout.start()
    line: dict[str, Any] = {}
    try:
        try:
            stop_reason = await engine.run()
        finally:
            await resources.aclose()
        code = Exit.OK if gate.passed else Exit.FAILED
        line = {
            "event": "sweep",
            "run_id": run_id,
            **summary.sweep_fields(),
            "duration_ms": round((time.perf_counter() - begun) * 1000, 1),
            "loop_lag_max_ms": engine.lag.max_ms,
            "exit_code": int(code),
            "stopped": stop_reason,
            **gate.sweep_fields(),
        }
    finally:
        # Every record and the sweep line are out (or the output is lost) before the next sweep.
        await _daemon_thread(lambda: fanout.close(line or None))
    return SweepDone(line, sink is not None and sink.lost is not None)


__all__ = ["Output", "SweepDone", "sweep_once"]
