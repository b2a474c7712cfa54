"""Fixtures for engine tests: jobs with fake specs and an engine runner collecting results."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from prober.model import Job, Outcome, Result, Target
from prober.probes.tcp import TCPSpec
from prober.record import to_record
from prober.runtime import engine as engine_mod
from prober.runtime.engine import Engine
from tests.probes.loops import *  # noqa: F403  (every async test on asyncio and uvloop)
from tests.probes.records import check_record

FakeProbe = Callable[[Any, Any, Any], Awaitable[Any]]


def make_jobs(
    count: int, *, timeout: float = 1.0, retries: int = 0, latency_warn: float | None = None
) -> list[Job]:
    """`count` TCP jobs on distinct fake hosts; the fake probes never touch the network."""
    spec = TCPSpec(name="fake", port=1, timeout=timeout, retries=retries, latency_warn=latency_warn)
    return [Job(i, Target(f"h{i}", f"192.0.2.{i % 250}", "g"), spec) for i in range(count)]


class Collected:
    """An emit callable that keeps every Result it is given, each checked against the record schema."""

    def __init__(self) -> None:
        self._results: list[Result] = []
        self.invalid: list[str] = []

    def __call__(self, result: Result) -> None:
        try:
            check_record(to_record(result, "run-engine"))  # every record has the documented shape
        except AssertionError as exc:
            # The engine answers an emit failure with a plain "internal" record, which would hide
            # the invalid one: keep it, so that reading the results fails the test.
            self.invalid.append(f"{result!r}: {exc}")
            raise
        self._results.append(result)

    @property
    def results(self) -> list[Result]:
        assert not self.invalid, f"the engine emitted invalid records: {self.invalid}"
        return self._results

    def by_index(self) -> dict[int, Result]:
        return {r.job.index: r for r in self.results}

    def kinds(self) -> dict[int, str | None]:
        return {r.job.index: (r.error.kind if r.error else None) for r in self.results}


def engine_for(
    jobs: list[Job], probe: FakeProbe, *, concurrency: int = 4, deadline: float | None = None
) -> tuple[Engine, Collected]:
    """An Engine running `probe` for every job, and the collector its results go to."""
    collected = Collected()
    engine = Engine(
        jobs,
        collected,
        concurrency=concurrency,
        probe_for=lambda kind: probe,
        resources=None,
        deadline=deadline,
    )
    return engine, collected


async def ok_probe(target: Any, spec: Any, res: Any) -> Outcome:
    """A fake probe that succeeds at once."""
    return Outcome({"port": spec.port})


async def hang_probe(target: Any, spec: Any, res: Any) -> Outcome:
    """A fake probe that never finishes on its own."""
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries pause 10 ms instead of ~100 ms so the suite stays fast."""
    monkeypatch.setattr(engine_mod, "backoff", lambda attempt: 0.01)


def assert_one_each(jobs: list[Job], collected: Collected) -> None:
    """Exactly one Result per planned job, no more, no fewer."""
    indexes = [r.job.index for r in collected.results]
    assert sorted(indexes) == [job.index for job in jobs]
