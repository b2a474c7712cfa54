"""latency_ms of a probe the sweep stopped: null only when it never started (attempts 0); otherwise the
time its last attempt took, or had taken when it was stopped (--deadline, SIGINT, SIGTERM)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from prober.model import Outcome
from prober.runtime import engine as engine_mod
from tests.engine.conftest import assert_one_each, engine_for, hang_probe, make_jobs

DEADLINE = 0.3


class TestDeadline:
    async def test_in_flight_probes_report_the_time_they_ran(self) -> None:
        """At the deadline, the 2 probes in flight report about the deadline's time (they ran that long);
        the 3 never started report null with attempts 0."""
        jobs = make_jobs(5, timeout=30)
        engine, got = engine_for(jobs, hang_probe, concurrency=2, deadline=DEADLINE)
        started = time.perf_counter()
        assert await engine.run() == "deadline"
        elapsed_ms = (time.perf_counter() - started) * 1000
        assert_one_each(jobs, got)
        ran = [r for r in got.results if r.attempts == 1]
        never = [r for r in got.results if r.attempts == 0]
        assert len(ran) == 2 and len(never) == 3
        assert {r.latency_ms for r in never} == {None}
        for result in ran:
            assert result.latency_ms is not None
            assert DEADLINE * 1000 * 0.9 <= result.latency_ms <= elapsed_ms, result.latency_ms

    async def test_stopped_between_retries_reports_the_last_attempt(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A probe waiting to retry when the deadline passes reports its last attempt's duration (about
        50 ms here), not the time since that attempt began."""
        monkeypatch.setattr(engine_mod, "backoff", lambda attempt: 3600.0)
        durations: list[float] = []

        async def refused_after_a_while(target: Any, spec: Any, res: Any) -> Outcome:
            began = time.perf_counter()
            await asyncio.sleep(0.05)
            durations.append((time.perf_counter() - began) * 1000)
            raise ConnectionRefusedError(111, "Connection refused")

        jobs = make_jobs(1, timeout=30, retries=3)
        engine, got = engine_for(jobs, refused_after_a_while, concurrency=1, deadline=DEADLINE)
        assert await engine.run() == "deadline"
        (result,) = got.results
        assert result.error is not None and result.error.kind == "deadline"
        assert result.attempts == 1 and len(durations) == 1
        assert result.latency_ms is not None
        assert durations[0] <= result.latency_ms < durations[0] + 50  # the attempt, plus engine overhead
