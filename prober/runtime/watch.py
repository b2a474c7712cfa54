"""`prober watch`: sweeps on a ticker, reloads on SIGHUP and every `refresh`, stops cleanly on SIGTERM.

- Ticker: a sweep starts every `interval`, never two at once. A sweep that outlasts the interval delays
  the next one, which starts as soon as it ends; each tick that passed meanwhile counts in
  `prober_watch_missed_ticks_total`, and the schedule starts again from there (no burst to catch up).
- Reload (SIGHUP, and every `refresh`): the inventory is read again in a thread (the loop keeps
  serving and probing); a good one is used from the next sweep on, and the probes it no longer plans
  leave /metrics; a bad one is logged with every problem and counted, and the previous one stays.
- Stop (SIGINT, SIGTERM): the sweep in flight stops at once, its unfinished probes are recorded as
  `cancelled`, its sweep line is written, and the exit is 0. A second signal leaves at once (130).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from prober import logs
from prober.errors import InventoryError
from prober.exits import Exit
from prober.model import StopReason
from prober.runtime.engine import Engine
from prober.runtime.prepare import Prepared
from prober.runtime.probeone import Plan
from prober.runtime.signals import STOP_SIGNALS, leave_now
from prober.runtime.spread import Spread, longest_sweep, window
from prober.runtime.watchstate import MetricsCache, WatchStats
from prober.runtime.watchsweep import Output, sweep_once
from prober.sinks.prom import PromMetrics

RELOAD_SIGNALS = frozenset({signal.SIGHUP})
STUCK_GRACE_S = 2.0  # past the longest probe timeout, how long a stop waits for a stuck output
EXIT_OK, EXIT_OUTPUT_STUCK = Exit.OK, Exit.FAILED
PROBLEMS_LOGGED = 20


@dataclass(frozen=True, kw_only=True)
class WatchOptions:
    interval: float
    spread: bool = False
    refresh: float | None = None
    listen: tuple[str, int] = ("127.0.0.1", 9115)
    any_target: bool = True  # /probe: any host[:port] (True) or only the inventory's hosts


class Watch:
    """The watch loop's state; `run()` serves and sweeps until stopped."""

    def __init__(
        self, options: WatchOptions, load: Callable[[], Plan], plan: Plan, output: Output | None
    ) -> None:
        self.options, self.load, self.output = options, load, output
        self.stats = WatchStats(options.interval)
        self.metrics = PromMetrics()
        self.cache = MetricsCache()
        self.latest = plan  # the newest good inventory (/probe uses it; sweeps switch at their start)
        self.plan = plan
        self._pending: Plan | None = plan
        self._spread: Spread | None = None
        self._prepared = Prepared()
        self.probe_prepared = Prepared()
        self._engine: Engine | None = None
        self.probe_slots = asyncio.Semaphore(max(1, plan.settings.concurrency))  # /probe's own cap
        self._stopping: asyncio.Event | None = None
        self._signals = 0
        self._reloading: asyncio.Task[None] | None = None
        self._reload_again = False
        self.bound: tuple[str, int] | None = None

    # --- the loop ---------------------------------------------------------------------------------
    async def run(self) -> int:
        """Listen, sweep on the ticker until a stop signal; 0, or 2 if a stuck output lost records."""
        from prober.runtime import watchhttp

        self._stopping = asyncio.Event()
        runner = await watchhttp.start(self, *self.options.listen)
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, self.stop)
        for signum in RELOAD_SIGNALS:
            loop.add_signal_handler(signum, self.request_reload, "SIGHUP")
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS | RELOAD_SIGNALS)
        refresher = loop.create_task(self._refresh()) if self.options.refresh else None
        try:
            return await self._until_stopped(loop.create_task(self._ticker()))
        finally:
            signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS | RELOAD_SIGNALS)
            for signum in STOP_SIGNALS | RELOAD_SIGNALS:
                loop.remove_signal_handler(signum)
            for task in (refresher, self._reloading):
                if task is not None:
                    task.cancel()
            await runner.cleanup()
            if self.output is not None:
                self.output.close()

    async def _until_stopped(self, ticker: asyncio.Task[None]) -> int:
        assert self._stopping is not None
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({ticker, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        grace = max((job.spec.timeout for job in self.plan.jobs), default=1.0) + STUCK_GRACE_S
        done, _ = await asyncio.wait({ticker}, timeout=grace)
        if done:
            ticker.result()  # a bug in the loop itself surfaces here
            return EXIT_OK
        ticker.cancel()  # a sweep line stuck behind an output nobody reads: leave without it
        logs.get().error("the output is not being written; leaving without the remaining records")
        return EXIT_OUTPUT_STUCK

    def stop(self) -> None:
        """SIGINT/SIGTERM: stop the sweep in flight (cancelled records) and the loop; the second leaves."""
        self._signals += 1
        if self._signals > 1:
            leave_now()
        logs.get().info("watch stopping")
        assert self._stopping is not None
        self._stopping.set()
        if self._engine is not None:
            self._engine.stop(StopReason.CANCELLED)

    async def _ticker(self) -> None:
        assert self._stopping is not None
        loop = asyncio.get_running_loop()
        interval = self.options.interval
        tick = loop.time()
        while not self._stopping.is_set():
            await self._sweep()
            if self._stopping.is_set():
                return
            late = loop.time() - tick
            if late > interval:
                missed = math.ceil(late / interval) - 1
                self.stats.missed_ticks += missed
                logs.get().warning("sweep outlasted the interval; the next starts now", missed_ticks=missed)
                tick = loop.time()
                continue
            tick += interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), tick - loop.time())

    async def _sweep(self) -> None:
        self._switch()
        spread = self._spread
        if spread is not None:
            spread.reset()
        stats = self.stats
        stats.running_since = time.time()
        try:
            done = await sweep_once(
                spread.jobs if spread is not None else self.plan.jobs,
                self.plan.settings,
                self.metrics,
                budgets=self.plan.budgets(),
                prepared=self._prepared,
                output=self.output,
                pace=spread.pace if spread is not None else None,
                started=self._started,
            )
        except Exception as exc:  # it could not run: /healthz says so, the next tick tries again
            stats.sweep_errors += 1
            stats.error = f"{type(exc).__name__}: {exc}"
            logs.get().error("the sweep failed to run", error=stats.error)
            return
        finally:
            self._engine, stats.running_since = None, None
        stats.error = None
        if done.output_lost and self.output is not None:
            stats.output_errors += 1
            self.output.reopen()
        self.metrics.sweep(done.line, now=time.time())
        stats.sweeps += 1
        stats.last_end = time.time()
        line = done.line
        logs.get().info(
            "sweep done", run_id=line["run_id"], counts=line["counts"], duration_ms=line["duration_ms"]
        )
        if not self._stopping or not self._stopping.is_set():
            await self._render()

    def _started(self, engine: Engine) -> None:
        self._engine = engine
        if self._stopping is not None and self._stopping.is_set():
            engine.stop(StopReason.CANCELLED)  # stopped while the sweep was being set up

    def _switch(self) -> None:
        """From this sweep on, use the newest good inventory (if a reload brought one)."""
        plan, self._pending = self._pending, None
        if plan is None:
            return
        self.plan, self._prepared = plan, Prepared()  # files the plan names are read again
        self.metrics.retain((job.target.name, job.spec.name) for job in plan.jobs)
        self.stats.planned = len(plan.jobs)
        seconds = window(self.options.interval, plan.jobs) if self.options.spread else 0.0
        if self.options.spread and not seconds:
            logs.get().warning("--spread: the interval leaves no room to spread the probes in")
        self._spread = Spread(plan.jobs, seconds) if seconds else None
        self.stats.stall_after = 2 * longest_sweep(plan, seconds) + self.options.interval

    async def _render(self) -> None:
        """Render the probes' metrics once per sweep, off the loop (~0.05 s per 10,000 probes)."""

        def render() -> tuple[bytes, float]:
            started = time.thread_time()
            return self.metrics.render(), time.thread_time() - started

        body, self.stats.render_seconds = await asyncio.to_thread(render)
        self.cache.set(body)

    # --- reloading ----------------------------------------------------------------------------------
    def request_reload(self, why: str) -> None:
        """SIGHUP or the refresh timer: read the inventory again (once more if one is being read)."""
        if self._reloading is not None and not self._reloading.done():
            self._reload_again = True
            return
        self._reloading = asyncio.get_running_loop().create_task(self._reload(why))

    async def _reload(self, why: str) -> None:
        while True:
            self._reload_again = False
            try:
                plan = await asyncio.to_thread(self.load)
            except InventoryError as exc:
                self._reload_failed(why, [str(problem) for problem in exc.problems])
            except Exception as exc:  # not bad input but a failure to read it: the same, say which
                self._reload_failed(why, [f"{type(exc).__name__}: {exc}"])
            else:
                self.latest = self._pending = plan
                self.stats.reloads["success"] += 1
                self.stats.reload_error, self.stats.reload_ts = None, time.time()
                logs.get().info("inventory reloaded", why=why, probes=len(plan.jobs))
            if not self._reload_again:
                return

    def _reload_failed(self, why: str, problems: list[str]) -> None:
        self.stats.reloads["failure"] += 1
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        self.stats.reload_error = problems[0] + more
        logs.get().error(
            "inventory reload failed; still using the previous inventory",
            why=why,
            problems=problems[:PROBLEMS_LOGGED],
            count=len(problems),
        )

    async def _refresh(self) -> None:
        assert self.options.refresh is not None
        while True:
            await asyncio.sleep(self.options.refresh)
            self.request_reload("refresh")


__all__ = ["Watch", "WatchOptions"]
