"""The engine: the only owner of time, retries and status; every job ends as exactly one Result."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from prober import logs
from prober.classify import classify
from prober.errors import ProbeFailed
from prober.masking import Redactor
from prober.model import TRANSIENT_KINDS, ErrorInfo, Job, Outcome, Result, Status, StopReason
from prober.probes import ProbeFn
from prober.runtime.looplag import LagWatch

if TYPE_CHECKING:
    from prober.runtime.resources import Resources

Emit = Callable[[Result], None]
MESSAGE_MAX = 300  # characters of an error message kept in a record (lines stay under 4 KiB)
# A probe a stop left unfinished: its error kind and message, by stop reason.
UNFINISHED = {
    StopReason.DEADLINE: ErrorInfo("deadline", "the sweep deadline passed before this probe finished"),
    StopReason.CANCELLED: ErrorInfo("cancelled", "the sweep was interrupted before this probe finished"),
    StopReason.INTERNAL: ErrorInfo("internal", "the engine lost this probe to an internal error"),
}


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


@dataclass(frozen=True, slots=True)
class Failed:
    """One attempt that failed: why (already masked and cut), and the details a ProbeFailed carried."""

    error: ErrorInfo
    details: dict[str, Any]


def backoff(attempt: int) -> float:
    """Jittered exponential pause before retry `attempt` (1-based): ~0.1 s, 0.2 s, … capped at 1 s."""
    return min(1.0, 0.1 * 2.0 ** (attempt - 1)) * random.uniform(0.5, 1.5)


class Engine:
    """Runs a plan with a fixed pool of workers pulling from one iterator (no task per job)."""

    def __init__(
        self,
        jobs: Sequence[Job],
        emit: Emit,
        *,
        concurrency: int,
        probe_for: Callable[[str], ProbeFn[Any]],
        resources: Resources | None,
        deadline: float | None = None,
        redactor: Redactor | None = None,
        room: Callable[[], Awaitable[None]] | None = None,
        pace: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.jobs = jobs
        self.emit = emit
        self.concurrency = max(1, concurrency)
        self.probe_for = probe_for
        self.resources = resources  # None: nothing to prepare (the engine's tests)
        # What each probe is given. None only with stand-in probes that take no resources.
        self._probe_resources = cast("Resources", resources)
        self.deadline = deadline
        # Masks each probe's secrets out of its error message and warning (the probes' own
        # Resources should hold the same Redactor; a separate one computes the same masks).
        self.redactor = redactor if redactor is not None else Redactor()
        # Awaited before each new probe or record: the output's backpressure (a reader far behind).
        self.room = room
        # Awaited with a job's position before it starts (`prober watch --spread`: its start time):
        # the wait comes before the probe's clock, so it never eats into the probe's timeout.
        self.pace = pace
        self.announce = True  # the "probes starting" line (off for `prober watch`'s one-probe /probe runs)
        self.stop_reason: StopReason | None = None
        self._recorded = bytearray(len(jobs))
        # Per running job: attempts made, when the last one started, and its duration once it ended
        # (so a job stopped mid-sweep still reports the time its last attempt took or has taken).
        self._attempts: dict[int, tuple[int, float, float | None]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._preparing: asyncio.Future[Any] | None = None
        self.lag = LagWatch(min((job.spec.timeout for job in jobs), default=1.0))

    def stop(self, reason: StopReason = StopReason.CANCELLED) -> None:
        """Stop starting probes and cancel those in flight; unfinished jobs get `reason` records."""
        if self.stop_reason is None:
            self.stop_reason = reason
            if self._preparing is not None:
                self._preparing.cancel()
            for worker in self._workers:
                worker.cancel()

    async def run(self) -> StopReason | None:
        """Prepare the sweep, then run every job; return None, or why the sweep was cut short."""
        loop = asyncio.get_running_loop()
        # The sweep deadline covers preparation too; a probe's deadline starts with the probe.
        timer = loop.call_later(self.deadline, self.stop, StopReason.DEADLINE) if self.deadline else None
        try:
            await self._prepare()
            # Lag is watched while probes are timed: during preparation no clock runs, and its thread
            # competes with the loop for the GIL (up to ~0.2 s late on a loaded machine, harmlessly).
            self.lag.start()
            pending = enumerate(self.jobs)  # positions, not Job.index: the engine trusts no numbering
            # A stop requested before the run (a signal while starting up) starts no probe at all.
            count = min(self.concurrency, len(self.jobs)) if self.stop_reason is None else 0
            self._workers = [loop.create_task(self._worker(pending)) for _ in range(count)]
            # return_exceptions: one broken worker must not cancel its siblings.
            outcomes = await asyncio.gather(*self._workers, return_exceptions=True)
        except asyncio.CancelledError:
            # run() itself was cancelled (the caller's task): still one record per job, then obey.
            self.stop(StopReason.CANCELLED)
            if self._workers:
                await asyncio.wait(self._workers)
            self._record_unfinished()
            raise
        finally:
            self.lag.stop()
            if timer is not None:
                timer.cancel()
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError):
                self.stop_reason = self.stop_reason or StopReason.INTERNAL
        try:
            for slot, result in self._unfinished():
                if self.room is not None:
                    await self.room()  # a stop can leave many records: still bounded, loop still free
                self._record(slot, result)
        except asyncio.CancelledError:
            self._record_unfinished()
            raise
        return self.stop_reason

    async def _prepare(self) -> None:
        """The resources' preparation (imports, TLS contexts, keys, known_hosts, regexes) before any
        probe's clock starts. stop() ends it; if it fails, probes build what they need themselves."""
        if self.resources is None or self.stop_reason is not None:
            return
        started = time.perf_counter()
        self._preparing = asyncio.ensure_future(self.resources.prepare(self.jobs))
        try:
            await self._preparing
            prepare_ms = round((time.perf_counter() - started) * 1000, 1)
            if self.announce:
                logs.get().info("probes starting", prepared_ms=prepare_ms, probes=len(self.jobs))
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # run() itself is being cancelled
        except Exception as exc:
            logs.get().error(
                "preparing the sweep failed; probes prepare what they need as they run",
                error=f"{type(exc).__name__}: {exc}",
            )
        finally:
            self._preparing = None

    def _record_unfinished(self) -> None:
        for slot, result in self._unfinished():
            self._record(slot, result)

    def _unfinished(self) -> Iterator[tuple[int, Result]]:
        error = UNFINISHED.get(self.stop_reason or StopReason.CANCELLED, UNFINISHED[StopReason.CANCELLED])
        now = time.perf_counter()
        for slot, job in enumerate(self.jobs):
            if not self._recorded[slot]:
                attempts, started, spent = self._attempts.get(slot, (0, now, None))
                latency = None if attempts == 0 else spent if spent is not None else _ms(now - started)
                yield slot, Result(job, Status.FAIL, latency, attempts, time.time(), error)

    def _record(self, slot: int, result: Result) -> None:
        self._recorded[slot] = 1
        self._attempts.pop(slot, None)
        try:
            self.emit(result)
        except Exception as exc:
            # The sink could not take this result (e.g. unserialisable details): still write one
            # record for the job. If even this plain record fails, the sink is broken: propagate.
            message = f"the result could not be written: {type(exc).__name__}"
            error = ErrorInfo("internal", message)
            self.emit(Result(result.job, Status.FAIL, result.latency_ms, result.attempts, time.time(), error))

    async def _worker(self, pending: Iterator[tuple[int, Job]]) -> None:
        for slot, job in pending:
            if self.stop_reason is not None:
                return  # stop() was called, even if a probe swallowed the cancellation
            if self.pace is not None:
                await self.pace(slot)
            self._record(slot, await self._run_job(slot, job))
            # Yield once per job: a run of probes that fail without awaiting anything would
            # otherwise starve the deadline timer, signal handlers and the other workers.
            await asyncio.sleep(0)
            if self.room is not None:
                await self.room()  # start nothing new while the output reader is far behind

    async def _run_job(self, slot: int, job: Job) -> Result:
        try:
            probe = self.probe_for(job.spec.kind)
        except Exception as exc:
            lost = ErrorInfo("internal", f"no probe for type {job.spec.kind!r}: {type(exc).__name__}: {exc}")
            return Result(job, Status.FAIL, None, 0, time.time(), self._cap(lost, job))
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            self._attempts[slot] = (attempt, started, None)
            tried = await self._attempt(probe, job)
            latency_ms = _ms(time.perf_counter() - started)
            self._attempts[slot] = (attempt, started, latency_ms)  # what a stop from now on reports
            if isinstance(tried, Outcome):
                return self._success(job, tried, latency_ms, attempt)
            if self.stop_reason is not None:
                # Most likely the stop's own cancellation, turned into an error by a library:
                # leave the job to _record_unfinished, which records it with the stop reason.
                raise asyncio.CancelledError
            if tried.error.kind in TRANSIENT_KINDS and attempt <= job.spec.retries:
                await asyncio.sleep(backoff(attempt))
                continue
            error, details = tried.error, tried.details
            return Result(job, Status.FAIL, latency_ms, attempt, time.time(), error, None, details)

    async def _attempt(self, probe: ProbeFn[Any], job: Job) -> Outcome | Failed:
        """One try under the per-probe deadline; any exception becomes a Failed."""
        details: dict[str, Any] = {}
        deadline = asyncio.timeout(job.spec.timeout)
        try:
            async with deadline:
                outcome = await probe(job.target, job.spec, self._probe_resources)
            if not isinstance(outcome, Outcome):
                kind, message = "internal", f"the probe returned {type(outcome).__name__}, not an Outcome"
                return Failed(ErrorInfo(kind, message), {})
            return outcome
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise  # the sweep is stopping: never swallow it
            kind, message = "internal", "the probe was cancelled from inside"
        except Exception as exc:
            kind, message = classify(exc)
            if deadline.expired():
                kind, message = "timeout", f"no answer within the probe timeout ({job.spec.timeout:g} s)"
            elif isinstance(exc, ProbeFailed):
                details = dict(exc.details)
        return Failed(self._cap(ErrorInfo(kind, message), job), details)

    def _cap(self, error: ErrorInfo, job: Job) -> ErrorInfo:
        return ErrorInfo(error.kind, self._capped(error.message, job))

    def _capped(self, text: str, job: Job) -> str:
        """An error message or warning: the probe's secrets masked, then cut to MESSAGE_MAX characters,
        the cut edge masked again. The edge is always checked: the text may have been cut before
        (classify, a check's output)."""
        mask = self.redactor.mask(job.spec)
        if mask:
            return mask.cut(mask.text(text), MESSAGE_MAX - 1, edge=True)
        return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"

    def _success(self, job: Job, outcome: Outcome, latency_ms: float, attempts: int) -> Result:
        warning = outcome.warning
        if warning is not None:  # a check's warning quotes remote output
            warning = self._capped(warning, job)
        limit = job.spec.latency_warn
        if warning is None and limit is not None and latency_ms > limit * 1000:
            warning = f"latency {latency_ms:.0f} ms over latency_warn {limit * 1000:.0f} ms"
        status = Status.WARN if warning else Status.OK
        return Result(job, status, latency_ms, attempts, time.time(), None, warning, outcome.details)
