"""Engine: retries on transient kinds only, per-attempt timeouts, the concurrency cap, memory, status."""

from __future__ import annotations

import asyncio
import random
import time
import tracemalloc
from dataclasses import replace
from typing import Any

import pytest
import structlog

from prober.errors import ProbeFailed
from prober.model import Outcome, Status
from prober.runtime import engine as engine_mod
from prober.runtime.engine import backoff  # the real one: the autouse fixture swaps engine_mod's
from tests.engine.conftest import Collected, assert_one_each, engine_for, hang_probe, make_jobs, ok_probe


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


class TestBackoff:
    @pytest.mark.parametrize(
        ("attempt", "base"), [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (6, 1.0), (20, 1.0)]
    )
    def test_pause_doubles_from_100_ms_to_a_1_s_cap_with_half_jitter(self, attempt: int, base: float) -> None:
        """The pause before retry `attempt`: 0.1 s doubled per attempt, capped at 1 s (README: jittered
        exponential backoff), times a jitter spread over 0.5-1.5."""
        random.seed(attempt)
        pauses = [backoff(attempt) for _ in range(2000)]
        assert 0.5 * base <= min(pauses) < 0.52 * base
        assert 1.48 * base < max(pauses) <= 1.5 * base


class TestTimeouts:
    async def test_slot_wait_does_not_count(self) -> None:
        """With concurrency 1, a probe that waits 1 s for its slot behind a slow one still has its whole
        0.5 s timeout: it answers at once and is ok (a clock started before the slot expires first)."""

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            await asyncio.sleep(1.0 if target.name == "h0" else 0)
            return Outcome({})

        first, second = make_jobs(2, timeout=0.5)
        first = replace(first, spec=replace(first.spec, timeout=30))
        engine, got = engine_for([first, second], probe, concurrency=1)
        await engine.run()
        assert [r.status for r in got.results] == [Status.OK, Status.OK]

    async def test_hung_hosts_cost_one_timeout_not_a_sum(self) -> None:
        """Forty hung probes in parallel with timeout 0.2 s end together after about one timeout, not
        after the 8 s they would take one after another (2 s of room for a loaded machine)."""
        jobs = make_jobs(40, timeout=0.2)
        engine, got = engine_for(jobs, hang_probe, concurrency=40)
        started = time.perf_counter()
        await engine.run()
        elapsed = time.perf_counter() - started
        assert set(got.kinds().values()) == {"timeout"} and len(got.results) == 40
        assert 0.19 <= elapsed < 0.2 + 2  # uvloop timers are ms-granular
        assert all(190 <= r.latency_ms < 2200 for r in got.results)


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


class TestPace:
    async def test_pace_runs_before_each_probe_and_outside_its_clock(self) -> None:
        """`pace(slot)` (watch --spread) is awaited before each job starts; its wait is no probe time."""
        order: list[tuple[str, Any]] = []

        async def pace(slot: int) -> None:
            order.append(("pace", slot))
            await asyncio.sleep(1.0 if slot == 0 else 0)

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            order.append(("probe", target.name))
            return Outcome({})

        collected = Collected()
        jobs = make_jobs(2)
        engine = engine_mod.Engine(
            jobs, collected, concurrency=1, probe_for=lambda kind: probe, resources=None, pace=pace
        )
        await engine.run()
        assert order == [("pace", 0), ("probe", "h0"), ("pace", 1), ("probe", "h1")]
        assert collected.by_index()[0].latency_ms < 500  # the 1 s pause came before the clock


class TestPrepare:
    async def test_preparation_is_timed_before_any_probe(self) -> None:
        """The resources' prepare() runs before the first probe and its time is logged with the plan's
        size on the "probes starting" line."""
        order: list[str] = []

        class Resources:
            async def prepare(self, jobs: Any) -> None:
                assert len(jobs) == 3  # the engine hands its jobs over (Resources never holds the plan)
                await asyncio.sleep(0.3)
                order.append("prepared")

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            order.append(target.name)
            return Outcome({})

        collected = Collected()
        engine = engine_mod.Engine(
            make_jobs(3), collected, concurrency=1, probe_for=lambda kind: probe, resources=Resources()
        )
        with structlog.testing.capture_logs() as logged:
            await engine.run()
        assert order == ["prepared", "h0", "h1", "h2"]
        (line,) = [entry for entry in logged if entry["event"] == "probes starting"]
        assert line["probes"] == 3 and 300 <= line["prepared_ms"] < 5000
        assert isinstance(line["prepared_ms"], float) and line["prepared_ms"] == round(line["prepared_ms"], 1)


    @staticmethod
    def preparing(jobs: int, prepare: Any) -> tuple[engine_mod.Engine, Collected]:
        resources = type("Resources", (), {"prepare": staticmethod(prepare)})()
        collected = Collected()
        engine = engine_mod.Engine(
            make_jobs(jobs), collected, concurrency=2, probe_for=lambda kind: ok_probe, resources=resources
        )
        return engine, collected

    async def test_a_failed_preparation_is_logged_and_probes_still_run(self) -> None:
        async def prepare(jobs: Any) -> None:
            raise RuntimeError("no CA bundle")

        engine, collected = self.preparing(2, prepare)
        with structlog.testing.capture_logs() as logged:
            assert await engine.run() is None
        assert [r.status for r in collected.results] == [Status.OK, Status.OK]
        (line,) = [entry for entry in logged if entry["log_level"] == "error"]
        assert line["event"].startswith("preparing the sweep failed")
        assert line["error"] == "RuntimeError: no CA bundle"

    async def test_a_stop_while_preparing_ends_the_run_normally(self) -> None:
        """stop() (a signal) while preparing: run() returns "cancelled", every job recorded unstarted."""

        async def prepare(jobs: Any) -> None:
            await asyncio.sleep(3600)

        engine, collected = self.preparing(3, prepare)
        asyncio.get_running_loop().call_later(0.1, engine.stop, "cancelled")
        assert await engine.run() == "cancelled"
        assert {(r.error.kind, r.attempts) for r in collected.results if r.error} == {("cancelled", 0)}
        assert len(collected.results) == 3

    async def test_cancelling_run_while_preparing_raises_after_recording_every_job(self) -> None:
        """run() itself cancelled while preparing: the cancellation propagates (never swallowed), and
        every job is recorded cancelled first."""

        async def prepare(jobs: Any) -> None:
            await asyncio.sleep(3600)

        engine, collected = self.preparing(3, prepare)
        task = asyncio.ensure_future(engine.run())
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert {(r.error.kind, r.attempts) for r in collected.results if r.error} == {("cancelled", 0)}
        assert len(collected.results) == 3


class TestStatus:
    async def test_latency_warn_turns_ok_into_warn(self) -> None:
        """A probe slower than latency_warn is recorded as warn with a message naming the limit; one
        that answers at once stays ok (0.3 s of room for a loaded machine)."""

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            await asyncio.sleep(0.6 if target.name == "h0" else 0)
            return Outcome({})

        jobs = make_jobs(2, latency_warn=0.3)
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

    async def test_latency_warn_boundary(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Exactly latency_warn is still ok; 0.5 ms over it warns (the engine's clock, set by the probe)."""
        now = [100.0]
        clock = type("Clock", (), {"perf_counter": lambda: now[0], "time": time.time})
        monkeypatch.setattr(engine_mod, "time", clock)
        took = {"h0": 2.0, "h1": 2.0005}

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            now[0] += took[target.name]
            return Outcome({})

        engine, got = engine_for(make_jobs(2, latency_warn=2.0), probe, concurrency=1)
        await engine.run()
        exact, over = got.by_index()[0], got.by_index()[1]
        assert (exact.latency_ms, exact.status, exact.warning) == (2000.0, Status.OK, None)
        assert (over.latency_ms, over.status) == (2000.5, Status.WARN)
        assert over.warning == "latency 2000 ms over latency_warn 2000 ms"

    async def test_long_warnings_are_capped_like_messages(self) -> None:
        """A probe's warning (a check quoting remote output) is cut to 300 characters as an error
        message is, whether or not its spec has secrets to mask."""
        lengths = {"h0": 5000, "h1": 300}

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            return Outcome({}, "w" * lengths[target.name])

        engine, got = engine_for(make_jobs(2), probe)
        await engine.run()
        warnings = {r.job.target.name: r.warning for r in got.results}
        assert warnings == {"h0": "w" * 299 + "…", "h1": "w" * 300}

    async def test_long_messages_are_capped(self) -> None:
        """An error message is cut to exactly 300 characters, the last one an ellipsis; a message of
        300 characters is kept whole."""
        lengths = {"h0": 100_000, "h1": 301, "h2": 300}

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            raise ProbeFailed("assertion", "x" * lengths[target.name])

        jobs = make_jobs(3)
        engine, got = engine_for(jobs, probe)
        await engine.run()
        messages = {r.job.target.name: r.error.message for r in got.results}
        assert messages["h0"] == messages["h1"] == "x" * 299 + "…"
        assert messages["h2"] == "x" * 300
