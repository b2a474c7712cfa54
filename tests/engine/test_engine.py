"""Engine behaviour with fake probe functions: one record per job, deadlines, retries, concurrency."""

from __future__ import annotations

import asyncio
import contextlib
import time
import tracemalloc
from typing import Any

import pytest

from prober import engine as engine_mod
from prober.errors import ProbeFailed
from prober.model import Outcome, Status
from tests.engine.conftest import assert_one_each, engine_for, make_jobs


async def ok_probe(target: Any, spec: Any, res: Any) -> Outcome:
    return Outcome({"port": spec.port})


async def hang_probe(target: Any, spec: Any, res: Any) -> Outcome:
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries pause 10 ms instead of ~100 ms so the suite stays fast."""
    monkeypatch.setattr(engine_mod, "backoff", lambda attempt: 0.01)


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


class TestRetries:
    @pytest.mark.parametrize(
        ("exc", "kind"),
        [
            (TimeoutError(), "timeout"),
            (ConnectionRefusedError(111, "Connection refused"), "refused"),
            (ConnectionResetError(104, "Connection reset by peer"), "reset"),
        ],
    )
    async def test_transient_kinds_are_retried(self, exc: Exception, kind: str) -> None:
        """Timeout, refused and reset are retried `retries` times; attempts counts every try."""
        calls = 0

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            nonlocal calls
            calls += 1
            raise exc

        jobs = make_jobs(1, retries=2)
        engine, got = engine_for(jobs, probe)
        await engine.run()
        (result,) = got.results
        assert result.error.kind == kind and result.attempts == 3 and calls == 3

    @pytest.mark.parametrize("kind", ["assertion", "http_status", "tls", "protocol", "auth", "host_key"])
    async def test_wrong_answers_are_not_retried(self, kind: str) -> None:
        """A wrong answer (assertion, http_status, tls, ...) is final after one attempt."""
        calls = 0

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            nonlocal calls
            calls += 1
            raise ProbeFailed(kind, "wrong answer", status_code=503)

        jobs = make_jobs(1, retries=3)
        engine, got = engine_for(jobs, probe)
        await engine.run()
        (result,) = got.results
        assert result.error.kind == kind and result.attempts == 1 and calls == 1
        assert result.details == {"status_code": 503}

    async def test_success_after_a_transient_failure(self) -> None:
        """A host refusing once then answering is ok with attempts == 2."""
        calls = 0

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise ConnectionRefusedError(111, "Connection refused")
            return Outcome({})

        jobs = make_jobs(1, retries=1)
        engine, got = engine_for(jobs, probe)
        await engine.run()
        (result,) = got.results
        assert result.status is Status.OK and result.error is None and result.attempts == 2

    async def test_retries_zero_means_one_attempt(self) -> None:
        """With retries 0 a timeout is final after a single attempt."""
        jobs = make_jobs(1, retries=0, timeout=0.05)
        engine, got = engine_for(jobs, hang_probe)
        await engine.run()
        (result,) = got.results
        assert result.error.kind == "timeout" and result.attempts == 1


class TestTimeouts:
    async def test_slot_wait_does_not_count(self) -> None:
        """With concurrency 1, two 0.2 s probes each with timeout 0.3 s both succeed."""

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            await asyncio.sleep(0.2)
            return Outcome({})

        jobs = make_jobs(2, timeout=0.3)
        engine, got = engine_for(jobs, probe, concurrency=1)
        await engine.run()
        assert [r.status for r in got.results] == [Status.OK, Status.OK]

    async def test_hung_hosts_cost_one_timeout_not_a_sum(self) -> None:
        """Eight hung probes in parallel with timeout 0.2 s end together after about one timeout."""
        jobs = make_jobs(8, timeout=0.2)
        engine, got = engine_for(jobs, hang_probe, concurrency=8)
        started = time.perf_counter()
        await engine.run()
        elapsed = time.perf_counter() - started
        assert set(got.kinds().values()) == {"timeout"}
        assert 0.2 <= elapsed < 0.2 * 2 + 1
        assert all(190 <= r.latency_ms < 1200 for r in got.results)


class TestConcurrency:
    @pytest.mark.parametrize("limit", [1, 3, 16])
    async def test_cap_is_reached_and_never_exceeded(self, limit: int) -> None:
        """The number of probes running at once reaches the concurrency setting and never exceeds it."""
        running = peak = 0

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.005)
            running -= 1
            return Outcome({})

        jobs = make_jobs(60)
        engine, got = engine_for(jobs, probe, concurrency=limit)
        await engine.run()
        assert_one_each(jobs, got)
        assert peak == limit

    async def test_no_task_per_job_and_flat_memory(self) -> None:
        """A 20k-job plan runs with about `concurrency` tasks alive and small peak memory growth."""
        concurrency = 50
        jobs = make_jobs(20_000)
        task_counts: list[int] = []
        count = 0

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            nonlocal count
            count += 1
            if count % 500 == 0:
                task_counts.append(len(asyncio.all_tasks()))
            return Outcome({})

        recorded = 0

        def emit(result: Any) -> None:
            nonlocal recorded
            recorded += 1

        eng = engine_mod.Engine(
            jobs, emit, concurrency=concurrency, probe_for=lambda k: probe, resources=None
        )
        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        await eng.run()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert recorded == 20_000
        assert concurrency <= max(task_counts) <= concurrency + 3  # workers + the test task
        # A task per job would hold ~20k coroutines and tasks (tens of MB); workers need well under 1 MB.
        assert peak - base < 1_000_000, f"peak growth {peak - base} bytes"


class TestStatus:
    async def test_latency_warn_turns_ok_into_warn(self) -> None:
        """A probe slower than latency_warn is recorded as warn with a message naming the limit."""

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            await asyncio.sleep(0.06 if target.name == "h0" else 0)
            return Outcome({})

        jobs = make_jobs(2, latency_warn=0.03)
        engine, got = engine_for(jobs, probe)
        await engine.run()
        slow, fast = got.by_index()[0], got.by_index()[1]
        assert slow.status is Status.WARN and "latency_warn" in slow.warning and slow.error is None
        assert fast.status is Status.OK and fast.warning is None

    async def test_probe_warning_is_warn(self) -> None:
        """An Outcome carrying a warning gives status warn and keeps the message."""

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            return Outcome({}, "certificate expires in 3.0 days")

        jobs = make_jobs(1)
        engine, got = engine_for(jobs, probe)
        await engine.run()
        assert got.results[0].status is Status.WARN
        assert got.results[0].warning == "certificate expires in 3.0 days"

    async def test_long_messages_are_capped(self) -> None:
        """An error message of 100 kB is cut to a few hundred characters in the record."""

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            raise ProbeFailed("assertion", "x" * 100_000)

        jobs = make_jobs(1)
        engine, got = engine_for(jobs, probe)
        await engine.run()
        assert 10 < len(got.results[0].error.message) <= 512


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
