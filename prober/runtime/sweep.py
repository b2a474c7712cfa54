"""One sweep end to end: load → plan → engine → sinks → exit code. The CLI's core, keyword-only."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from prober import logs
from prober.errors import InventoryError
from prober.inventory import Inventory, load_inventory
from prober.inventory.loader import parse_max_fail
from prober.masking import Redactor
from prober.model import Job, Result
from prober.plan import SweepSettings, build_plan, settings_for
from prober.probes import probe_for
from prober.record import new_run_id
from prober.runtime.engine import Engine
from prober.runtime.output import STDOUT, close_output, open_output
from prober.runtime.resources import Resources
from prober.runtime.signals import STOP_SIGNALS, leave_now, signals_held
from prober.sinks.jsonl import BackgroundJsonlSink, JsonlSink
from prober.sinks.summary import EXIT_FAIL, EXIT_OK, EXIT_WARN, Summary
from prober.sinks.writer import write_all

EXIT_OUTPUT_CLOSED = 141  # what a shell reports for a writer killed by SIGPIPE
# Why records could not be written → exit code: the reader left (like SIGPIPE), or a write failed.
OUTPUT_LOST = {"output_closed": EXIT_OUTPUT_CLOSED, "output_error": EXIT_FAIL}
FDS_PER_PROBE = 2
FD_RESERVE = 64


@dataclass(frozen=True, kw_only=True)
class SweepFlags:
    """CLI flags; None means 'use the inventory's value'."""

    concurrency: int | None = None
    timeout: float | None = None
    retries: int | None = None
    deadline: float | None = None
    max_fail: str | None = None
    limit: list[str] | None = None
    workers: int | None = None  # None: usable CPUs when the plan is large enough (prober.runtime.workers)


def load(path: str, flags: SweepFlags) -> tuple[Inventory, SweepSettings, tuple[Job, ...]]:
    """Inventory, merged settings and plan; InventoryError on any bad input."""
    inventory = load_inventory(path)
    settings = settings_for(
        inventory,
        concurrency=flags.concurrency,
        timeout=flags.timeout,
        retries=flags.retries,
        deadline=flags.deadline,
        max_fail=flags.max_fail,
    )
    return inventory, settings, build_plan(inventory, settings, flags.limit)


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
    jobs: Sequence[Job], settings: SweepSettings, *, out_fd: int, run_id: str, handle_signals: bool = True
) -> tuple[Summary, str | None, float, bool]:
    """Run the plan, streaming records to out_fd; return (summary, stop reason, seconds, output closed)."""
    summary = Summary(len(jobs))
    engine_ref: list[Engine] = []
    # Writes happen on a thread: a slow reader must not stall the loop and inflate every latency.
    sink = BackgroundJsonlSink(out_fd, run_id, on_closed=lambda reason: engine_ref[0].stop(reason))

    def emit(result: object) -> None:
        summary(result)  # type: ignore[arg-type]
        sink(result)  # type: ignore[arg-type]

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
    return summary, stop_reason, duration, sink.closed


def _on_signal(engine: Engine, interrupts: list[int]) -> None:
    """First SIGINT/SIGTERM: stop cleanly (records for all). Second: the user insists, e.g. because
    the output reader is stuck and the remaining records can never be written; leave at once."""
    interrupts.append(1)
    if len(interrupts) == 1:
        engine.stop("cancelled")
        return
    leave_now()


def finish(
    summary: Summary,
    settings: SweepSettings,
    *,
    stop_reason: str | None,
    duration: float,
    out_fd: int,
    run_id: str,
    quiet: bool = False,
) -> int:
    """Write the sweep line and the human summary; return the exit code."""
    max_fail = parse_max_fail(settings.max_fail) if settings.max_fail else None
    code = summary.exit_code(max_fail, stop_reason)
    if stop_reason in OUTPUT_LOST:  # nowhere to write the sweep line or the rest: stop quietly
        return OUTPUT_LOST[stop_reason]
    sink = JsonlSink(out_fd, run_id)
    sink.write(summary.sweep_record(run_id, duration, code, stop_reason), cap=False)
    if sink.lost:
        return OUTPUT_LOST[sink.lost]
    if not quiet:
        _print_summary(summary.render(duration, code, stop_reason))
    if logs.stderr_error() and code in (EXIT_OK, EXIT_WARN):
        return EXIT_FAIL  # the records are out, but diagnostics or the summary were lost
    return code


def run(path: str, flags: SweepFlags, *, output: str | None = None, quiet: bool = False) -> int:
    """`prober sweep`: the whole sweep; InventoryError propagates for the CLI to report.

    Until the output is open (planning, waiting for a FIFO's reader), a stop signal ends prober at
    once (exit 130, see prober.runtime.signals); then signals are held until the sweep's handlers take them.
    """
    _, settings, jobs = load(path, flags)
    out_fd = open_output(output)
    with signals_held():
        code = _sweep(jobs, settings, out_fd, quiet, _workers(flags.workers, len(jobs)))
        return code if out_fd == STDOUT else close_output(out_fd, code)


def _print_summary(text: str) -> None:
    # Not print(): a text stream drops what a partial write() left (seen under PYTHONUNBUFFERED=1 with
    # a slow stderr reader after a uvloop sweep: 1,661 of 5,757 bytes written, the rest lost).
    try:
        sys.stderr.flush()
        encoding = sys.stderr.encoding or "utf-8"
        write_all(sys.stderr.fileno(), (text + "\n").encode(encoding, "backslashreplace"))
    except OSError as exc:
        logs.stderr_failed(exc)


def _sweep(jobs: Sequence[Job], settings: SweepSettings, out_fd: int, quiet: bool, workers: int) -> int:
    run_id = new_run_id()
    log = logs.get()
    log.info(
        "sweep starting", run_id=run_id, probes=len(jobs), concurrency=settings.concurrency, workers=workers
    )
    if workers > 1:
        from prober.runtime.workers import run_workers

        outcome = run_workers(jobs, settings, workers=workers, out_fd=out_fd, run_id=run_id)
    else:
        outcome = run_loop(execute(jobs, settings, out_fd=out_fd, run_id=run_id))
    summary, stop_reason, duration, _ = outcome
    return finish(
        summary,
        settings,
        stop_reason=stop_reason,
        duration=duration,
        out_fd=out_fd,
        run_id=run_id,
        quiet=quiet,
    )


def _workers(asked: int | None, planned: int) -> int:
    """--workers, or the default for this plan size; never more processes than probes."""
    from prober.runtime.workers import default_workers

    return max(1, min(asked, planned)) if asked else default_workers(planned)


def run_loop(coro):  # type: ignore[no-untyped-def]
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


__all__ = ["InventoryError", "SweepFlags", "execute", "finish", "load", "run"]
