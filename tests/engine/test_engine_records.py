"""Engine: exactly one record per job under exceptions, junk, the sweep deadline, stop and cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from typing import Any

import pytest

from prober.model import Outcome, Status
from prober.runtime import engine as engine_mod
from tests.engine.conftest import assert_one_each, engine_for, hang_probe, make_jobs, ok_probe


class TestOneRecordPerJob:
    @pytest.mark.parametrize(
        "exc", [ValueError("bad"), KeyError("k"), RuntimeError(""), ZeroDivisionError(), AssertionError("x")]
    )
    async def test_arbitrary_exception_becomes_internal(self, exc: Exception) -> None:
        """A probe raising any exception yields one fail record of kind internal and the sweep goes on."""

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            if target.name == "h3":
                raise exc
            return Outcome({})

        jobs = make_jobs(10, retries=2)
        engine, got = engine_for(jobs, probe, concurrency=2)
        assert await engine.run() is None
        assert_one_each(jobs, got)
        bad = got.by_index()[3]
        assert bad.status is Status.FAIL and bad.error is not None and bad.error.kind == "internal"
        assert bad.attempts == 1
        assert type(exc).__name__ in bad.error.message
        assert all(r.status is Status.OK for r in got.results if r.job.index != 3)

    @pytest.mark.parametrize("value", [None, {"port": 1}, "ok", 42])
    async def test_probe_returning_a_non_outcome_is_internal(self, value: Any) -> None:
        """A probe that returns something other than an Outcome is a bug: fail, internal, sweep goes on."""

        async def probe(target: Any, spec: Any, res: Any) -> Any:
            return value if target.name == "h0" else Outcome({})

        jobs = make_jobs(5)
        engine, got = engine_for(jobs, probe, concurrency=1)
        await engine.run()
        assert_one_each(jobs, got)
        assert got.kinds() == {0: "internal", 1: None, 2: None, 3: None, 4: None}

    async def test_probe_lookup_failure_is_internal(self) -> None:
        """When no probe function can be found for a kind, each such job fails internal; none is lost."""
        jobs = make_jobs(6)
        collected: list[Any] = []

        def probe_for(kind: str) -> Any:
            raise ModuleNotFoundError("No module named 'asyncssh'")

        eng = engine_mod.Engine(jobs, collected.append, concurrency=2, probe_for=probe_for, resources=None)
        await eng.run()
        assert sorted(r.job.index for r in collected) == list(range(6))
        assert {r.error.kind for r in collected} == {"internal"}
        message = "no probe for type 'tcp': ModuleNotFoundError: No module named 'asyncssh'"
        assert {(r.error.message, r.attempts, r.latency_ms) for r in collected} == {(message, 0, None)}

    @pytest.mark.parametrize(
        ("reason", "kind", "message"),
        [
            ("deadline", "deadline", "the sweep deadline passed before this probe finished"),
            ("cancelled", "cancelled", "the sweep was interrupted before this probe finished"),
            ("output_closed", "cancelled", "the sweep was interrupted before this probe finished"),
        ],
    )
    async def test_a_stop_records_unfinished_jobs_with_its_reason(
        self, reason: str, kind: str, message: str
    ) -> None:
        """Jobs a stop leaves (in flight or never started) say why; a sink's reason (the reader left)
        is an interruption; run() returns the reason as given."""
        jobs = make_jobs(4)
        eng, got = engine_for(jobs, hang_probe, concurrency=2)
        asyncio.get_running_loop().call_later(0.1, eng.stop, reason)
        assert await eng.run() == reason
        assert {(r.error.kind, r.error.message) for r in got.results if r.error} == {(kind, message)}
        assert sorted(r.attempts for r in got.results) == [0, 0, 1, 1]
        assert len(got.results) == 4

    async def test_emit_failure_still_records_the_job(self) -> None:
        """If writing a result raises (unserialisable details), the job is recorded once as internal."""
        jobs = make_jobs(4)
        seen: list[Any] = []

        def emit(result: Any) -> None:
            if result.details.get("bad"):
                raise TypeError("Type is not JSON serializable: set")
            seen.append(result)

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            return Outcome({"bad": {1}} if target.name == "h1" else {})

        eng = engine_mod.Engine(jobs, emit, concurrency=1, probe_for=lambda k: probe, resources=None)
        await eng.run()
        assert sorted(r.job.index for r in seen) == [0, 1, 2, 3]
        bad = next(r for r in seen if r.job.index == 1)
        assert bad.status is Status.FAIL and bad.error.kind == "internal" and not bad.details


class TestEdges:
    async def test_empty_plan(self) -> None:
        """An empty plan runs, records nothing and reports no stop reason."""
        engine, got = engine_for([], ok_probe, concurrency=8, deadline=0.1)
        assert await engine.run() is None and got.results == []

    async def test_job_numbering_is_not_trusted(self) -> None:
        """Jobs with duplicate or out-of-range indexes (built by a library user) still get one record each."""
        base = make_jobs(4)
        jobs = [dataclasses.replace(job, index=i) for job, i in zip(base, [10, 5, 7, 5], strict=True)]
        engine, got = engine_for(jobs, ok_probe, concurrency=2, deadline=5)
        assert await engine.run() is None
        assert sorted(r.job.index for r in got.results) == [5, 5, 7, 10]

    async def test_deadline_not_reached(self) -> None:
        """A sweep finishing before its deadline is not cut short: every job ok, no stop reason."""
        jobs = make_jobs(20)
        engine, got = engine_for(jobs, ok_probe, concurrency=100, deadline=5)
        assert await engine.run() is None
        assert_one_each(jobs, got)
        assert {r.status for r in got.results} == {Status.OK}


class TestDeadline:
    async def test_in_flight_and_unstarted_jobs_get_deadline(self) -> None:
        """At the sweep deadline, in-flight and never-started jobs get kind deadline; finished ones stay."""

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            if target.name in ("h0", "h1"):
                return Outcome({})
            await asyncio.sleep(3600)
            return Outcome({})

        jobs = make_jobs(10, timeout=30)
        engine, got = engine_for(jobs, probe, concurrency=3, deadline=0.2)
        started = time.perf_counter()
        assert await engine.run() == "deadline"
        elapsed = time.perf_counter() - started
        assert elapsed < 0.2 * 2 + 1
        assert_one_each(jobs, got)
        kinds = got.kinds()
        assert kinds[0] is None and kinds[1] is None
        assert all(kinds[i] == "deadline" for i in range(2, 10))
        attempts = {i: got.by_index()[i].attempts for i in range(2, 10)}
        assert sorted(attempts.values()) == [0] * 5 + [1] * 3  # 3 in flight, 5 never started

    async def test_deadline_interrupts_retry_backoff(self) -> None:
        """A job waiting between retries when the deadline passes gets a deadline record with its attempts."""

        async def refused(target: Any, spec: Any, res: Any) -> Outcome:
            raise ConnectionRefusedError(111, "Connection refused")

        jobs = make_jobs(1, retries=10_000)
        engine, got = engine_for(jobs, refused, concurrency=1, deadline=0.2)
        assert await engine.run() == "deadline"
        (result,) = got.results
        assert result.error.kind == "deadline" and result.attempts > 1


class TestStop:
    async def test_stop_mid_run_records_cancelled(self) -> None:
        """stop() mid-run cancels in-flight probes and records every unfinished job as cancelled."""
        calls = 0

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            nonlocal calls
            calls += 1
            if calls <= 4:
                return Outcome({})
            await asyncio.sleep(3600)
            return Outcome({})

        jobs = make_jobs(50, timeout=30)
        engine, got = engine_for(jobs, probe, concurrency=4)
        asyncio.get_running_loop().call_later(0.1, engine.stop, "cancelled")
        assert await engine.run() == "cancelled"
        assert_one_each(jobs, got)
        kinds = list(got.kinds().values())
        assert kinds.count(None) == 4 and kinds.count("cancelled") == 46
        assert calls == 8  # 4 finished, 4 in flight; nothing started after stop()

    async def test_stop_is_honoured_by_a_probe_that_swallows_cancellation(self) -> None:
        """A misbehaving probe that swallows CancelledError cannot make the engine start more jobs."""
        started: list[str] = []

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            started.append(target.name)
            with contextlib.suppress(asyncio.CancelledError):  # the bug under test
                await asyncio.sleep(3600)
            return Outcome({})

        jobs = make_jobs(20, timeout=30)
        engine, got = engine_for(jobs, probe, concurrency=2)
        asyncio.get_running_loop().call_later(0.05, engine.stop, "cancelled")
        await asyncio.wait_for(engine.run(), 2)
        assert_one_each(jobs, got)
        assert len(started) == 2
        assert list(got.kinds().values()).count("cancelled") >= 18

    async def test_cancelling_run_itself_still_records_every_job(self) -> None:
        """Cancelling the task awaiting run() records every unfinished job as cancelled, then propagates."""
        jobs = make_jobs(30, timeout=30)
        engine, got = engine_for(jobs, hang_probe, concurrency=5)
        task = asyncio.ensure_future(engine.run())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert_one_each(jobs, got)
        assert set(got.kinds().values()) == {"cancelled"}

    async def test_cancellation_turned_into_an_error_is_not_retried(self) -> None:
        """A probe whose library turns the stop's cancellation into a reset is recorded as cancelled, once."""
        calls = 0

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            nonlocal calls
            calls += 1
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                raise ConnectionResetError(104, "Connection reset by peer") from None
            return Outcome({})

        jobs = make_jobs(3, timeout=30, retries=5)
        engine, got = engine_for(jobs, probe, concurrency=3)
        asyncio.get_running_loop().call_later(0.05, engine.stop, "cancelled")
        assert await asyncio.wait_for(engine.run(), 2) == "cancelled"
        assert_one_each(jobs, got)
        assert set(got.kinds().values()) == {"cancelled"}
        assert calls == 3 and {r.attempts for r in got.results} == {1}

    async def test_stop_before_run_probes_nothing(self) -> None:
        """An engine stopped before it runs probes nothing and records every job as cancelled."""
        calls: list[int] = []

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            calls.append(1)
            return Outcome({})

        jobs = make_jobs(5)
        engine, got = engine_for(jobs, probe)
        engine.stop("cancelled")
        assert await engine.run() == "cancelled"
        assert not calls
        assert set(got.kinds().values()) == {"cancelled"}


class TestCancelledFromInside:
    async def test_cancelled_error_raised_by_probe_is_internal(self) -> None:
        """A CancelledError raised by the probe itself is an internal failure and the worker carries on."""

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            if target.name == "h1":
                raise asyncio.CancelledError()
            return Outcome({})

        jobs = make_jobs(4, retries=2)
        engine, got = engine_for(jobs, probe, concurrency=1)
        assert await engine.run() is None
        assert got.kinds() == {0: None, 1: "internal", 2: None, 3: None}
        assert got.by_index()[1].attempts == 1

    async def test_cancelled_inner_task_is_internal(self) -> None:
        """A probe awaiting a sub-task that gets cancelled is an internal failure, not a dead worker."""

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            inner = asyncio.ensure_future(asyncio.sleep(10))
            asyncio.get_running_loop().call_soon(inner.cancel)
            await inner
            return Outcome({})

        jobs = make_jobs(3)
        engine, got = engine_for(jobs, probe, concurrency=1)
        assert await engine.run() is None
        assert set(got.kinds().values()) == {"internal"}
